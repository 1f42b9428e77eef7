//! Issue #13 through HTTP: `POST /presentations/verify` accepts a presentation
//! of a holder-bound credential only when the credential subject's key signed
//! it, over the requested challenge and domain, for `authentication`.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::{sign_credential, sign_presentation, PresentationPurpose};
use wallet_core::keys::IssuerKey;

const CHALLENGE: &str = "9c1e-challenge";
const DOMAIN: &str = "inspector.example";

fn start_verifier() -> String {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// A health certificate bound to `holder` (its `credentialSubject.id`).
async fn bound_certificate(holder: &IssuerKey) -> Value {
    let issuer = IssuerKey::generate();
    let mut request = crate::support::requests::health_request();
    request["holderKey"] = wallet_core::holder::jwk_of(&holder.public_key());
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let checked = def
        .check_request_keyed(
            &request,
            Utc::now().date_naive(),
            Some(&wallet_core::credential::IdNumberKey::from_bytes([0x5a; 32])),
        )
        .unwrap();
    let (unsigned, lists) = crate::support::status_lists::with_status_entries(def.to_unsigned_credential(
        &checked,
        &CredentialId::generate(),
        &issuer.did(),
    ));
    lists.serve_signed_by(&issuer).await;
    sign_credential(&unsigned, &issuer, Utc::now() - Duration::minutes(5)).await.unwrap()
}

async fn presented(
    vc: &Value,
    by: &IssuerKey,
    holder: &str,
    challenge: Option<&str>,
    domain: Option<&str>,
    purpose: PresentationPurpose,
) -> Value {
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [vc]
    });
    sign_presentation(&vp, by, Utc::now() - Duration::seconds(10), challenge, domain, purpose).await.unwrap()
}

async fn post(verifier: &str, vp: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{verifier}/presentations/verify"))
        .json(&json!({"verifiablePresentation": vp, "options": {"challenge": CHALLENGE, "domain": DOMAIN}}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn error_codes(body: &Value) -> Vec<String> {
    body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn only_the_subjects_key_over_the_challenge_and_domain_presents_a_bound_credential() {
    let verifier = start_verifier();
    let holder = IssuerKey::generate();
    let stranger = IssuerKey::generate();
    let vc = bound_certificate(&holder).await;
    let auth = PresentationPurpose::Authentication;

    // The genuine presentation.
    let vp = presented(&vc, &holder, &holder.did(), Some(CHALLENGE), Some(DOMAIN), auth).await;
    let (status, body) = post(&verifier, &vp).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["verified"], true);
    assert_eq!(body["report"]["credentials"][0]["checks"]["holderBinding"]["result"], "valid", "{body:#}");

    // A random did:key over the right challenge and domain, as itself.
    let vp = presented(&vc, &stranger, &stranger.did(), Some(CHALLENGE), Some(DOMAIN), auth).await;
    let (status, body) = post(&verifier, &vp).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["verified"], false);
    assert!(error_codes(&body).contains(&"presentation_not_by_subject".to_owned()), "{body:#}");
    // ... or claiming to be the holder.
    let vp = presented(&vc, &stranger, &holder.did(), Some(CHALLENGE), Some(DOMAIN), auth).await;
    let (status, body) = post(&verifier, &vp).await;
    assert_eq!(status, 422, "{body:#}");
    assert!(error_codes(&body).contains(&"holder_not_key_controller".to_owned()), "{body:#}");

    // The subject's key, but not over this verifier's challenge or domain.
    for (challenge, domain, code) in [
        (Some("stale"), Some(DOMAIN), "challenge_mismatch"),
        (None, Some(DOMAIN), "challenge_mismatch"),
        (Some(CHALLENGE), Some("other.example"), "domain_mismatch"),
        (Some(CHALLENGE), None, "domain_mismatch"),
    ] {
        let vp = presented(&vc, &holder, &holder.did(), challenge, domain, auth).await;
        let (status, body) = post(&verifier, &vp).await;
        assert_eq!(status, 422, "{body:#}");
        assert_eq!(error_codes(&body), vec![code.to_owned()], "{body:#}");
    }

    // The subject's key, for the wrong purpose.
    let vp =
        presented(&vc, &holder, &holder.did(), Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::AssertionMethod)
            .await;
    let (status, body) = post(&verifier, &vp).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(error_codes(&body), vec!["wrong_proof_purpose".to_owned()], "{body:#}");
}
