//! `ecdsa-sd-2023` issuance (#17 item 3): the suite chosen by VC-API options and
//! by the domain API's `?cryptosuite=`, mandatory pointers from the type and the
//! request, refusals before anything is signed, and the log entry a verifier
//! holding only a derived credential can find.

use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::selective_disclosure::{anchoring_digest, derive_with, proof_kind, ProofKind};
use wallet_core::transparency::{InclusionBundle, LogKey, WitnessPolicy};
use wallet_core::verification::{verify_credential, VerifyOptions};

use crate::support::requests::health_request;

const PUBLIC_URL: &str = "https://issuer.example";
const ORIGIN: &str = "issuer.example/log";

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

async fn spawn() -> App {
    spawn_at(Some(PUBLIC_URL)).await
}

/// Without a public URL the issuer is its bound `http://` address (the test
/// wallet's transport speaks plain HTTP only).
async fn spawn_at(public_url: Option<&str>) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.public_url = public_url.map(str::to_owned);
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, did, http, _data: data }
}

impl App {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn log_size(&self) -> String {
        let note = self.http.get(format!("{}/log/checkpoint", self.base)).send().await.unwrap().text().await.unwrap();
        note.lines().nth(1).unwrap().to_owned()
    }

    fn credential(&self) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
            "type": ["VerifiableCredential", "ExampleCredential"],
            "issuer": self.did,
            "credentialSubject": {"id": "did:example:123", "name": "Alice", "age": 30}
        })
    }

    fn log_key(&self) -> LogKey {
        LogKey::ecdsa_p256(ORIGIN, &wallet_core::keys::p256_key_from_did(&self.did).unwrap()).unwrap()
    }

    /// The issuer's inclusion bundle of a credential verifies for `digest`.
    async fn included_as(&self, credential: &Value, digest: &[u8; 32]) -> bool {
        let uuid = credential["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
        let resp = self.http.get(format!("{}/credentials/{uuid}/inclusion", self.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let bundle = InclusionBundle::from_json(&resp.text().await.unwrap()).unwrap();
        bundle.verify(digest, &self.log_key(), &WitnessPolicy::none()).is_ok()
    }
}

fn kind(vc: &Value) -> ProofKind {
    proof_kind(vc["proof"]["proofValue"].as_str().unwrap_or(""))
}

async fn derive(base: &Value, selective: &[&str]) -> Value {
    let selective: Vec<String> = selective.iter().map(|s| (*s).to_owned()).collect();
    derive_with(&TypeRegistry::default(), base, &selective).await.unwrap()
}

#[tokio::test]
async fn vc_api_issues_a_base_proof_when_the_options_ask_and_logs_what_derived_credentials_carry() {
    let app = spawn().await;
    let options = json!({"type": "DataIntegrityProof", "cryptosuite": "ecdsa-sd-2023",
                         "mandatoryPointers": ["/credentialSubject/name"]});
    let (status, body) =
        app.post("/credentials/issue", &json!({"credential": app.credential(), "options": options})).await;
    assert_eq!(status, 201, "{body:#}");
    let base = &body["verifiableCredential"];
    assert_eq!(base["proof"]["cryptosuite"], "ecdsa-sd-2023");
    assert_eq!(kind(base), ProofKind::Base);

    // The requested pointer is mandatory: a derivation with nothing selected shows it.
    let derived = derive(base, &[]).await;
    assert_eq!(derived["credentialSubject"]["name"], "Alice");
    assert!(derived["credentialSubject"].get("age").is_none(), "{derived:#}");
    let report = verify_credential(&derived, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");

    // The log entry is the one a verifier computes from a derived credential alone.
    let digest = anchoring_digest(&derived).unwrap();
    assert!(app.included_as(base, &digest).await);
    let nquads = wallet_core::transparency::credential_digest(base).await.unwrap();
    assert!(!app.included_as(base, &nquads).await, "not the N-Quads digest of the base credential");

    // No options, or the default suite named: ecdsa-rdfc-2019, logged as before.
    for options in [Value::Null, json!({"cryptosuite": "ecdsa-rdfc-2019"})] {
        let (status, body) =
            app.post("/credentials/issue", &json!({"credential": app.credential(), "options": options})).await;
        assert_eq!(status, 201, "{body:#}");
        let vc = &body["verifiableCredential"];
        assert_eq!(vc["proof"]["cryptosuite"], "ecdsa-rdfc-2019");
        let digest = wallet_core::transparency::credential_digest(vc).await.unwrap();
        assert!(app.included_as(vc, &digest).await);
    }
}

#[tokio::test]
async fn vc_api_refuses_proof_options_it_cannot_honour_before_signing() {
    let app = spawn().await;
    let size = app.log_size().await;
    for (options, code) in [
        (
            json!({"cryptosuite": "ecdsa-sd-2023", "mandatoryPointers": ["/credentialSubject/invalidPointer"]}),
            "bad_mandatory_pointers",
        ),
        (
            json!({"cryptosuite": "ecdsa-sd-2023", "mandatoryPointers": "/credentialSubject/name"}),
            "bad_mandatory_pointers",
        ),
        (json!({"cryptosuite": "ecdsa-sd-2023", "mandatoryPointers": ["credentialSubject"]}), "bad_mandatory_pointers"),
        (json!({"cryptosuite": "ecdsa-sd-2023", "mandatoryPointers": vec!["/issuer"; 65]}), "bad_mandatory_pointers"),
        (json!({"cryptosuite": "ecdsa-rdfc-2019", "mandatoryPointers": ["/issuer"]}), "bad_mandatory_pointers"),
        (json!({"cryptosuite": "bbs-2023"}), "unsupported_cryptosuite"),
        (json!({"cryptosuite": 7}), "unsupported_cryptosuite"),
        (json!({"type": "Ed25519Signature2020"}), "unsupported_proof_type"),
        (json!(["ecdsa-sd-2023"]), "bad_options"),
    ] {
        let (status, body) =
            app.post("/credentials/issue", &json!({"credential": app.credential(), "options": options})).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(code)), "{options}: {body:#}");
        assert!(body["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");
        assert!(body["message"]["en"].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");
    }
    assert_eq!(app.log_size().await, size, "nothing signed or logged");
}

#[tokio::test]
async fn the_domain_api_issues_a_base_proof_per_request_for_types_that_declare_mandatory_fields() {
    let app = spawn().await;
    let (status, body) = app.post("/api/v1/health-certificates?cryptosuite=ecdsa-sd-2023", &health_request()).await;
    assert_eq!(status, 201, "{body:#}");
    let base = &body["credential"];
    assert_eq!(kind(base), ProofKind::Base);
    // The type's mandatory fields (and the status entries) come through; the birth date does not.
    let derived = derive(base, &[]).await;
    assert!(derived["credentialSubject"].get("fullName").is_some(), "{derived:#}");
    assert!(derived["credentialSubject"].get("examinationResult").is_some());
    assert!(derived["credentialSubject"].get("birthDate").is_none());
    assert!(derived.get("credentialStatus").is_some());
    let report = verify_credential(&derived, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
    assert!(app.included_as(base, &anchoring_digest(&derived).unwrap()).await);
    // The issuer's QR link shows what the holder would: the mandatory-only
    // derived credential, never the base proof (a verifier refuses that).
    let png = app
        .http
        .get(format!("{}{}", app.base, body["links"]["qrPng"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let scanned = wallet_core::compact::decode_credential(&wallet_core::qr::decode_image(&png).unwrap()).unwrap();
    assert_eq!(kind(&scanned), ProofKind::Derived, "{scanned:#}");
    assert!(scanned["credentialSubject"].get("birthDate").is_none(), "{scanned:#}");
    assert!(verify_credential(&scanned, &VerifyOptions::default()).await.unwrap().checks.signature.is_valid());

    // The same route without the parameter: ecdsa-rdfc-2019, as before.
    let (status, body) = app.post("/api/v1/health-certificates", &health_request()).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["credential"]["proof"]["cryptosuite"], "ecdsa-rdfc-2019");

    let size = app.log_size().await;
    let (status, body) = app.post("/api/v1/health-certificates?cryptosuite=bbs-2023", &health_request()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_cryptosuite")), "{body:#}");
    // A type whose definition declares no mandatory fields is not issued for selective disclosure.
    let licence = json!({
        "licensee": "广州市越秀区美味餐饮有限公司", "unifiedSocialCreditCode": "91440101MA5CYUGC7N",
        "businessAddress": "广州市越秀区北京路100号", "businessScope": ["热食类食品制售"],
        "licenceNumber": "JY14401040012345"
    });
    let (status, body) = app.post("/api/v1/licences?cryptosuite=ecdsa-sd-2023", &licence).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("selective_disclosure_not_offered")), "{body:#}");
    assert_eq!(app.log_size().await, size, "nothing signed or logged");
}

impl App {
    async fn batch(&self, query: &str, ndjson: String) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/health-certificates/batch{query}", self.base))
            .header("content-type", "application/x-ndjson")
            .body(ndjson)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn stored(&self, id: &str) -> Value {
        let uuid = id.trim_start_matches("urn:uuid:");
        let resp = self.http.get(format!("{}/credentials/{uuid}", self.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body: Value = resp.json().await.unwrap();
        body.get("credential").cloned().unwrap_or(body)
    }
}

fn ndjson(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| {
            let mut row = health_request();
            row["idempotencyKey"] = json!(k);
            format!("{row}\n")
        })
        .collect()
}

#[tokio::test]
async fn a_batch_with_cryptosuite_ecdsa_sd_2023_issues_base_proofs_per_row() {
    let app = spawn().await;
    let (status, body) = app.batch("?cryptosuite=ecdsa-sd-2023", ndjson(&["sd-1", "sd-2"])).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["summary"]["issued"], 2, "{body:#}");
    for row in body["results"].as_array().unwrap() {
        let base = app.stored(row["id"].as_str().unwrap()).await;
        assert_eq!(kind(&base), ProofKind::Base, "{base:#}");
        let derived = derive(&base, &[]).await;
        assert!(derived["credentialSubject"].get("birthDate").is_none(), "{derived:#}");
        let report = verify_credential(&derived, &VerifyOptions::default()).await.unwrap();
        assert!(report.checks.signature.is_valid(), "{report:#?}");
        assert!(app.included_as(&base, &anchoring_digest(&derived).unwrap()).await);
    }
    // The same keys without the parameter are another request (scope per suite): rdfc credentials.
    let (status, body) = app.batch("", ndjson(&["sd-1"])).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["results"][0]["outcome"], "issued", "{body:#}");
    let rdfc = app.stored(body["results"][0]["id"].as_str().unwrap()).await;
    assert_eq!(rdfc["proof"]["cryptosuite"], "ecdsa-rdfc-2019");
    // Replayed with the parameter: the base-proof credential again.
    let (_, again) = app.batch("?cryptosuite=ecdsa-sd-2023", ndjson(&["sd-1"])).await;
    assert_eq!(again["results"][0]["outcome"], "replayed", "{again:#}");
    // A suite the type does not offer refuses the whole batch before anything is signed.
    let size = app.log_size().await;
    let (status, body) = app.batch("?cryptosuite=bbs-2023", ndjson(&["sd-3"])).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_cryptosuite")), "{body:#}");
    assert_eq!(app.log_size().await, size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oid4vci_offer_of_the_sd_configuration_gives_the_wallet_a_base_proof_it_discloses_from() {
    use wallet_core::wallet::{StoreKey, Wallet};
    let app = spawn_at(None).await;
    // Metadata: the sd configuration for types with mandatory fields only.
    let meta: Value =
        reqwest::get(format!("{}/.well-known/openid-credential-issuer", app.base)).await.unwrap().json().await.unwrap();
    let configurations = &meta["credential_configurations_supported"];
    assert_eq!(
        configurations["HealthCertificate+ecdsa-sd-2023"]["credential_signing_alg_values_supported"],
        json!(["ecdsa-sd-2023"])
    );
    assert_eq!(
        configurations["HealthCertificate"]["credential_signing_alg_values_supported"],
        json!(["ecdsa-rdfc-2019"])
    );
    assert!(configurations.get("FoodBusinessLicence+ecdsa-sd-2023").is_none(), "{configurations:#}");
    // Offering it for a type without mandatory fields is refused when the offer is made.
    let licence_offer = json!({"credentialConfigurationId": "FoodBusinessLicence+ecdsa-sd-2023", "request": {}});
    let (status, body) = app.post("/api/v1/credential-offers", &licence_offer).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("selective_disclosure_not_offered")), "{body:#}");

    let offer = json!({"credentialConfigurationId": "HealthCertificate+ecdsa-sd-2023", "request": health_request()});
    let (status, body) = app.post("/api/v1/credential-offers", &offer).await;
    assert_eq!(status, 201, "{body:#}");
    let (uri, pin) =
        (body["credentialOfferUri"].as_str().unwrap().to_owned(), body["txCode"].as_str().unwrap().to_owned());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.bin");
    let (base, derived) = tokio::task::spawn_blocking(move || {
        let mut wallet = Wallet::open(&path, StoreKey::generate()).unwrap();
        let id = wallet.import_offer(&crate::oid4vci::StdTransport, &uri, Some(&pin)).unwrap();
        let base = wallet.get(&id).unwrap().credential.clone();
        let (derived, _qr) = wallet.disclose(&id, &["/credentialSubject/birthDate".to_owned()]).unwrap();
        (base, derived)
    })
    .await
    .unwrap();
    assert_eq!(kind(&base), ProofKind::Base, "{base:#}");
    assert_eq!(kind(&derived), ProofKind::Derived);
    assert_eq!(derived["credentialSubject"]["birthDate"], "1991-07-23");
    assert!(derived["credentialSubject"].get("fullNamePinyin").is_none(), "{derived:#}");
    assert!(derived["credentialSubject"].get("id").is_some(), "bound to the device key: {derived:#}");
    let report = verify_credential(&derived, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
}
