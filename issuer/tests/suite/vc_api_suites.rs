//! `ecdsa-jcs-2019` and P-384 on the VC-API (#17 item 3): `options.cryptosuite`
//! `ecdsa-jcs-2019` with the issuer's P-256 key; with `--vc-api-p384` a
//! credential naming the P-384 key's DID is signed with it (`ecdsa-rdfc-2019`,
//! `ecdsa-jcs-2019`), `ecdsa-sd-2023` with it is refused; without the flag that
//! DID is another issuer's. Each signed credential verifies and is logged.

use serde_json::{json, Value};
use wallet_core::p384_key::P384IssuerKey;
use wallet_core::transparency::{InclusionBundle, LogKey, WitnessPolicy};
use wallet_core::verification::{verify_credential, VerifyOptions};

const ORIGIN: &str = "issuer.example/log";

struct App {
    base: String,
    did: String,
    p384: Option<P384IssuerKey>,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

async fn spawn(vc_api_p384: bool) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.public_url = Some("https://issuer.example".into());
    settings.vc_api_p384 = vc_api_p384;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    let p384 = std::fs::read_to_string(data.path().join("vc-api-p384-key.pem"))
        .ok()
        .map(|pem| P384IssuerKey::from_pkcs8_pem(&pem).unwrap());
    App { base, did, p384, http, _data: data }
}

fn credential(issuer: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:123", "name": "Alice", "age": 30}
    })
}

impl App {
    async fn issue(&self, credential: &Value, options: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/credentials/issue", self.base))
            .json(&json!({"credential": credential, "options": options}))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// The issuer's inclusion bundle of `vc` verifies for its N-Quads digest.
    async fn logged(&self, vc: &Value) -> bool {
        let digest = wallet_core::transparency::credential_digest(vc).await.unwrap();
        let uuid = vc["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
        let resp = self.http.get(format!("{}/credentials/{uuid}/inclusion", self.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let bundle = InclusionBundle::from_json(&resp.text().await.unwrap()).unwrap();
        let key = LogKey::ecdsa_p256(ORIGIN, &wallet_core::keys::p256_key_from_did(&self.did).unwrap()).unwrap();
        bundle.verify(&digest, &key, &WitnessPolicy::none()).is_ok()
    }
}

async fn assert_signature_valid(vc: &Value) {
    let report = verify_credential(vc, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
}

#[tokio::test]
async fn vc_api_signs_ecdsa_jcs_2019_with_the_issuers_key() {
    let app = spawn(false).await;
    assert!(app.p384.is_none(), "no P-384 key without --vc-api-p384");
    let (status, body) = app.issue(&credential(&app.did), json!({"cryptosuite": "ecdsa-jcs-2019"})).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = &body["verifiableCredential"];
    assert_eq!(vc["proof"]["cryptosuite"], "ecdsa-jcs-2019");
    assert_eq!(vc["proof"]["@context"], vc["@context"], "§3.4.5: the proof carries the document's @context");
    assert!(vc["proof"]["verificationMethod"].as_str().unwrap().starts_with(&format!("{}#", app.did)));
    wallet_core::ecdsa_jcs_2019::verify(vc).unwrap();
    assert_signature_valid(vc).await;
    assert!(app.logged(vc).await);

    let mut tampered = vc.clone();
    tampered["credentialSubject"]["age"] = json!(31);
    let report = verify_credential(&tampered, &VerifyOptions::default()).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));

    // Refused before signing: pointers for a suite without them; a P-384 DID the issuer does not hold.
    let (status, body) = app
        .issue(&credential(&app.did), json!({"cryptosuite": "ecdsa-jcs-2019", "mandatoryPointers": ["/issuer"]}))
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_mandatory_pointers")), "{body:#}");
    let stranger = P384IssuerKey::generate().did();
    let (status, body) = app.issue(&credential(&stranger), json!({"cryptosuite": "ecdsa-jcs-2019"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("issuer_mismatch")), "{body:#}");
}

#[tokio::test]
async fn with_vc_api_p384_a_credential_naming_the_p384_key_is_signed_with_it() {
    let app = spawn(true).await;
    let p384 = app.p384.as_ref().expect("--vc-api-p384 keeps a key in the data directory");
    let did = p384.did();
    assert!(did.starts_with("did:key:z82"), "{did}");
    for suite in ["ecdsa-rdfc-2019", "ecdsa-jcs-2019"] {
        let (status, body) = app.issue(&credential(&did), json!({"cryptosuite": suite})).await;
        assert_eq!(status, 201, "{suite}: {body:#}");
        let vc = &body["verifiableCredential"];
        assert_eq!(vc["proof"]["cryptosuite"], suite);
        assert_eq!(vc["proof"]["verificationMethod"], p384.verification_method());
        assert_signature_valid(vc).await;
        assert!(app.logged(vc).await, "{suite}: logged by the issuer's log");
    }
    // Issuer named as an object, no options: ecdsa-rdfc-2019 with P-384.
    let (status, body) = app
        .issue(
            &credential(&did)
                .as_object()
                .cloned()
                .map(|mut c| {
                    c.insert("issuer".into(), json!({"id": did, "name": "P-384 issuer"}));
                    Value::Object(c)
                })
                .unwrap(),
            Value::Null,
        )
        .await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["verifiableCredential"]["proof"]["verificationMethod"], p384.verification_method());

    // ecdsa-sd-2023 is P-256 only.
    let (status, body) = app.issue(&credential(&did), json!({"cryptosuite": "ecdsa-sd-2023"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_key_type")), "{body:#}");
    assert!(body["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");

    // The P-256 key still signs what names it.
    let (status, body) = app.issue(&credential(&app.did), json!({"cryptosuite": "ecdsa-jcs-2019"})).await;
    assert_eq!(status, 201, "{body:#}");
    assert!(body["verifiableCredential"]["proof"]["verificationMethod"].as_str().unwrap().starts_with("did:key:zDn"));
}
