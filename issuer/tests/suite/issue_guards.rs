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
    // What the certificate allows is signed.
    let (status, body) = app.issue(&app.credential(None, &["VerifiableCredential", "HealthCertificate"])).await;
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

/// The issuer's certificate starts yesterday; a health certificate's
/// `validFrom` is its examination date (2026-03-12): inspectors will be
/// warned `valid_from_before_authorisation`, so the issuance answer says so
/// too, on every route (same wallet-core rule), and says nothing for a
/// `validFrom` inside the authorisation.
#[tokio::test]
async fn the_issuance_answer_warns_of_a_valid_from_before_the_issuers_authorisation() {
    let app = spawn(Some(&["HealthCertificate"])).await;
    let warned = |body: &Value| {
        let warnings = body["warnings"].as_array().cloned().unwrap_or_default();
        let found = warnings.iter().find(|w| w["code"] == "valid_from_before_authorisation").cloned();
        if let Some(w) = &found {
            assert!(w["message"]["zh"].as_str().is_some_and(|m| m.contains("请核实")), "{w:#}");
            assert!(w["message"]["en"].as_str().is_some_and(|m| m.contains("claims validity from")), "{w:#}");
        }
        found.is_some()
    };
    // Domain API.
    let post = |body: Value| app.http.post(format!("{}/api/v1/health-certificates", app.base)).json(&body).send();
    let resp = post(health_request()).await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(warned(&body), "{body:#}");
    let mut today = health_request();
    today["examinationDate"] = json!(chrono::Utc::now().format("%Y-%m-%d").to_string());
    let body: Value = post(today).await.unwrap().json().await.unwrap();
    assert!(body["id"].is_string() && !warned(&body), "{body:#}");
    // VC-API.
    let mut vc = app.credential(None, &["VerifiableCredential", "HealthCertificate"]);
    vc["validFrom"] = json!("2026-01-01T00:00:00Z");
    let (status, body) = app.issue(&vc).await;
    assert_eq!(status, 201, "{body:#}");
    assert!(warned(&body), "{body:#}");
    vc["validFrom"] = json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let (status, body) = app.issue(&vc).await;
    assert_eq!(status, 201, "{body:#}");
    assert!(!warned(&body), "{body:#}");
    // Each batch row.
    let mut row = health_request();
    row["idempotencyKey"] = json!("batch-warn-1");
    let resp = app
        .http
        .post(format!("{}/api/v1/health-certificates/batch", app.base))
        .header("content-type", "application/x-ndjson")
        .body(format!("{row}\n"))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["results"][0]["outcome"], "issued", "{body:#}");
    assert!(warned(&body["results"][0]), "{body:#}");
}

/// A credential of a shipped type (its credentials always carry status
/// entries) issued through the VC-API gets this issuer's entries, `used`
/// for a single-use type; entries the caller wrote are refused before
/// anything is signed (they could name another credential's bit).
#[tokio::test]
async fn vc_api_gives_a_defined_type_its_status_entries_and_refuses_the_callers() {
    let app = spawn(None).await;
    let purposes = |vc: &Value| -> Vec<String> {
        vc["credentialStatus"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["statusPurpose"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let (status, body) = app.issue(&app.credential(None, &["VerifiableCredential", "HealthCertificate"])).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(purposes(&body["verifiableCredential"]), ["revocation", "suspension"]);
    let (status, body) = app.issue(&app.credential(None, &["VerifiableCredential", "MedicalInvoice"])).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(purposes(&body["verifiableCredential"]), ["revocation", "suspension", "used"]);
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    let mut own = app.credential(None, &["VerifiableCredential", "HealthCertificate"]);
    own["credentialStatus"] = json!([{"id": format!("{}/status/1#7", app.base), "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "7", "statusListCredential": format!("{}/status/1", app.base)}]);
    let (status, body) = app.issue(&own).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("status_entry_assigned_by_issuer")), "{body:#}");
    assert!(body["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()));
    app.unchanged_since(&size, count).await;
    // The W3C suites' credentials may still carry their own entries.
    let mut example = app.credential(None, &["VerifiableCredential", "ExampleCredential"]);
    example["credentialStatus"] = own["credentialStatus"].clone();
    let (status, body) = app.issue(&example).await;
    assert_eq!(status, 201, "{body:#}");
}
