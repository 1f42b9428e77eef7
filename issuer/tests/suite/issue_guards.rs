//! What the issuer refuses to sign, whichever route asks: a credential id it
//! already issued (VC-API), a type its certificate does not allow, a defined type
//! with another type smuggled in beside it.

use serde_json::{json, Value};

use crate::credential_types::trust_list_for;
use crate::support::requests::health_request;

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
    store: issuer::store::Store,
    _data: tempfile::TempDir,
}

async fn spawn(trusted_for: Option<&[&str]>) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    if let Some(types) = trusted_for {
        let key = issuer::signing_key::load_or_generate(data.path()).unwrap();
        let list = data.path().join("trust-list.json");
        std::fs::write(&list, trust_list_for(&key, types)).unwrap();
        settings.trust_list = Some(list);
    }
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    App { base, did, http, store, _data: data }
}

impl App {
    async fn issue(&self, credential: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/credentials/issue", self.base))
            .json(&json!({ "credential": credential }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn tree_size(&self) -> String {
        let note = self.http.get(format!("{}/log/checkpoint", self.base)).send().await.unwrap().text().await.unwrap();
        note.lines().nth(1).unwrap().to_owned()
    }

    async fn unchanged_since(&self, size: &str, count: u64) {
        assert_eq!(self.tree_size().await, size, "nothing logged");
        assert_eq!(self.store.count_credentials(None).await.unwrap(), count, "nothing stored");
    }

    fn credential(&self, id: Option<&str>, types: &[&str]) -> Value {
        let mut vc = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
            "type": types,
            "issuer": self.did,
            "credentialSubject": {"id": "did:example:123", "name": "Alice"}
        });
        if let Some(id) = id {
            vc["id"] = json!(id);
        }
        vc
    }
}

#[tokio::test]
async fn vc_api_refuses_an_id_already_issued_before_signing() {
    let app = spawn(None).await;
    let id = "urn:uuid:3f0e1c52-8a4e-4c1b-9d6a-0b8e2f1a7c11";
    let (status, body) = app.issue(&app.credential(Some(id), &["VerifiableCredential", "ExampleCredential"])).await;
    assert_eq!(status, 201, "{body:#}");
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());

    let (status, body) = app.issue(&app.credential(Some(id), &["VerifiableCredential", "ExampleCredential"])).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("credential_id_exists")), "{body:#}");
    assert!(body.get("verifiableCredential").is_none(), "nothing signed is returned");
    assert!(body["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()));
    app.unchanged_since(&size, count).await;

    // The id of a credential issued through the domain API cannot be reused either.
    let issued: Value = app
        .http
        .post(format!("{}/api/v1/health-certificates", app.base))
        .json(&health_request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    let (status, body) =
        app.issue(&app.credential(issued["id"].as_str(), &["VerifiableCredential", "ExampleCredential"])).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("credential_id_exists")), "{body:#}");
    app.unchanged_since(&size, count).await;
}

#[tokio::test]
async fn only_types_the_certificate_allows_are_signed_each_on_its_own() {
    let app = spawn(Some(&["HealthCertificate"])).await;
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    for types in [
        vec!["VerifiableCredential", "HealthCertificate", "DogVaccinationCertificate"],
        vec!["VerifiableCredential", "DogVaccinationCertificate", "HealthCertificate"],
        vec!["VerifiableCredential", "FoodBusinessLicence"],
        vec!["VerifiableCredential", "ExampleCredential"],
        vec!["VerifiableCredential", "HealthCertificate", "ExampleCredential"],
    ] {
        let (status, body) = app.issue(&app.credential(None, &types)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("credential_type_not_authorised")),
            "{types:?}: {body:#}"
        );
        assert!(body["message"]["en"].as_str().is_some_and(|m| !m.is_empty()));
    }
    app.unchanged_since(&size, count).await;
    // What the certificate allows is signed (a health certificate by its definition's rules).
    let certificate = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/ecert/v1"],
        "type": ["VerifiableCredential", "HealthCertificate"],
        "issuer": app.did,
        "credentialSubject": health_request()
    });
    let (status, body) = app.issue(&certificate).await;
    assert_eq!(status, 201, "{body:#}");
}

#[tokio::test]
async fn without_a_trust_list_a_defined_type_still_travels_alone() {
    let app = spawn(None).await;
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    let (status, body) = app
        .issue(&app.credential(None, &["VerifiableCredential", "HealthCertificate", "DogVaccinationCertificate"]))
        .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("credential_type_not_authorised")), "{body:#}");
    app.unchanged_since(&size, count).await;
    // The W3C suites' example credentials (no trust list: demo mode) are still signed.
    let (status, body) = app.issue(&app.credential(None, &["VerifiableCredential", "ExampleCredential"])).await;
    assert_eq!(status, 201, "{body:#}");
}

/// DESIGN.md, "Backdating": a `validFrom` before the issuer's authorisation (its
/// certificate's notBefore, yesterday here) is signed, with the verifier's
/// warning in the answer; a `validFrom` inside it gets none.
#[tokio::test]
async fn a_valid_from_before_the_issuers_authorisation_is_a_warning_in_the_answer() {
    let app = spawn(Some(&["HealthCertificate"])).await;
    let issue = |request: Value| {
        let http = app.http.clone();
        let url = format!("{}/api/v1/health-certificates", app.base);
        async move {
            let resp = http.post(url).json(&request).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    // The examination (validFrom) months before the certificate.
    let (status, body) = issue(health_request()).await;
    assert_eq!(status, 201, "{body:#}");
    let warnings = body["warnings"].as_array().unwrap_or_else(|| panic!("no warnings: {body:#}"));
    assert_eq!(warnings.len(), 1, "{body:#}");
    assert_eq!(warnings[0]["code"], "valid_from_before_authorisation");
    for lang in ["zh", "en"] {
        assert!(warnings[0]["message"][lang].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");
    }
    // An examination today: inside the authorisation, no warning.
    let mut today = health_request();
    today["examinationDate"] = json!(chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string());
    let (status, body) = issue(today).await;
    assert_eq!(status, 201, "{body:#}");
    assert!(body.get("warnings").is_none(), "{body:#}");
}

/// An OpenID4VCI offer is refused for a type the certificate does not allow,
/// when the clinic makes it, not after the citizen has spent its one token.
#[tokio::test]
async fn an_offer_for_a_type_the_certificate_does_not_allow_is_refused_when_made() {
    let app = spawn(Some(&["DogVaccinationCertificate"])).await;
    let offer = json!({"credentialConfigurationId": "HealthCertificate", "request": health_request()});
    let resp = app.http.post(format!("{}/api/v1/credential-offers", app.base)).json(&offer).send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!((status, body["error"].as_str()), (403, Some("credential_type_not_authorised")), "{body:#}");
    // The premise: an issuer allowed the type makes the same offer.
    let allowed = spawn(Some(&["HealthCertificate"])).await;
    let resp =
        allowed.http.post(format!("{}/api/v1/credential-offers", allowed.base)).json(&offer).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201, "{}", resp.text().await.unwrap());
}
