//! Attacks on the cryptosuites: a signature of one suite or curve presented
//! as another's, a key of one algorithm bound to a certificate of another,
//! JCS proofs whose context or JSON changed, hostile numbers, and proofs
//! dated where the trust check would look at the wrong time. Each names the
//! check that refuses it.

use chrono::Duration;
use serde_json::{json, Value};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::ecdsa_jcs_2019::{self, JcsProofError, SigningKey};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::p384_key::{sign_ecdsa_rdfc_2019, P384IssuerKey};
use wallet_core::sm2_rdfc_2026::Sm2IssuerKey;
use wallet_core::trust::{TrustAlgorithm, TrustKey};
use wallet_core::verification::{verify_credential, CheckResult, VerificationReport, VerifyOptions};

use crate::attack_common::*;

fn p256_of(key: &TrustKey) -> IssuerKey {
    match key {
        TrustKey::P256(k) => k.clone(),
        TrustKey::Sm2(_) => panic!("not P-256"),
    }
}

fn sm2_of(key: &TrustKey) -> Sm2IssuerKey {
    match key {
        TrustKey::Sm2(k) => k.clone(),
        TrustKey::P256(_) => panic!("not SM2"),
    }
}

/// A P-256 clinic certified for health certificates, and the inspector's options.
fn p256_clinic() -> (IssuerKey, VerifyOptions) {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[1, 2, 3]);
    (p256_of(&clinic), inspector(pki.store(vec![cert], &[])))
}

fn sm2_clinic() -> (Sm2IssuerKey, VerifyOptions) {
    let pki = Pki::new(TrustAlgorithm::Sm2, "示例市卫生健康委员会");
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[4, 5, 6]);
    (sm2_of(&clinic), inspector(pki.store(vec![cert], &[])))
}

async fn verify(vc: &Value, options: &VerifyOptions) -> VerificationReport {
    verify_credential(vc, options).await.unwrap_or_else(|e| panic!("malformed: {e}"))
}

async fn p256_signed(key: &IssuerKey) -> Value {
    sign_credential(&unsigned(&key.did()), key, signed_at()).await.unwrap()
}

async fn sm2_signed(key: &Sm2IssuerKey) -> Value {
    wallet_core::sm2_rdfc_2026::sign(&unsigned(&key.did()), key, signed_at()).await.unwrap()
}

fn jcs_signed(key: SigningKey<'_>, issuer: &str) -> Value {
    ecdsa_jcs_2019::sign_credential(&TypeRegistry::default(), &unsigned(issuer), key, signed_at()).unwrap()
}

#[tokio::test]
async fn attack_p256_signature_labelled_sm2_is_unsupported_key() {
    let (key, options) = p256_clinic();
    let mut vc = p256_signed(&key).await;
    assert!(verify(&vc, &options).await.verified, "the untouched credential verifies");
    vc["proof"]["cryptosuite"] = json!("sm2-rdfc-2026");
    assert_refused(&verify(&vc, &options).await, signature, "unsupported_key");
}

#[tokio::test]
async fn attack_sm2_signature_labelled_ecdsa_rdfc_2019_is_not_valid() {
    let (key, options) = sm2_clinic();
    let mut vc = sm2_signed(&key).await;
    assert!(verify(&vc, &options).await.verified, "the untouched credential verifies");
    vc["proof"]["cryptosuite"] = json!("ecdsa-rdfc-2019");
    // ssi resolves the SM2 did:key to a key it cannot use for ECDSA.
    assert_refused(&verify(&vc, &options).await, signature, "unsupported_key");
}

#[tokio::test]
async fn attack_sm2_signature_labelled_ecdsa_jcs_2019_is_unsupported_key() {
    let (key, options) = sm2_clinic();
    let mut vc = sm2_signed(&key).await;
    vc["proof"]["cryptosuite"] = json!("ecdsa-jcs-2019");
    assert_refused(&verify(&vc, &options).await, signature, "unsupported_key");
}

#[tokio::test]
async fn attack_rdfc_signatures_labelled_ecdsa_jcs_2019_do_not_match() {
    // P-256 RDFC signature read as JCS: same key, other message.
    let (key, options) = p256_clinic();
    let mut vc = p256_signed(&key).await;
    vc["proof"]["cryptosuite"] = json!("ecdsa-jcs-2019");
    assert_refused(&verify(&vc, &options).await, signature, "bad_signature");
    // P-384 RDFC signature read as JCS.
    let p384 = P384IssuerKey::generate();
    let mut vc =
        sign_ecdsa_rdfc_2019(&TypeRegistry::default(), &unsigned(&p384.did()), &p384, signed_at()).await.unwrap();
    assert_eq!(verify(&vc, &VerifyOptions::at(now())).await.checks.signature, CheckResult::Valid);
    vc["proof"]["cryptosuite"] = json!("ecdsa-jcs-2019");
    assert_refused(&verify(&vc, &VerifyOptions::at(now())).await, signature, "bad_signature");
}

#[tokio::test]
async fn attack_jcs_signatures_labelled_rdfc_do_not_match() {
    let p384 = P384IssuerKey::generate();
    let mut vc = jcs_signed(SigningKey::P384(&p384), &p384.did());
    let options = VerifyOptions::at(now());
    assert_eq!(verify(&vc, &options).await.checks.signature, CheckResult::Valid);
    vc["proof"]["cryptosuite"] = json!("ecdsa-rdfc-2019");
    assert_refused(&verify(&vc, &options).await, signature, "bad_signature");
    let mut vc = jcs_signed(SigningKey::P384(&p384), &p384.did());
    vc["proof"]["cryptosuite"] = json!("sm2-rdfc-2026");
    // The JCS proof's own @context is a member no SM2 proof may have.
    assert_refused(&verify(&vc, &options).await, signature, "unsupported_proof_member");
    vc["proof"].as_object_mut().unwrap().remove("@context");
    assert_refused(&verify(&vc, &options).await, signature, "unsupported_key");
}

#[tokio::test]
async fn attack_a_signature_under_a_key_of_the_other_curve_does_not_match() {
    let options = VerifyOptions::at(now());
    // A P-384 JCS signature (96 bytes) under a P-256 key, and a P-256 one (64 bytes) under a P-384 key.
    let p384 = P384IssuerKey::generate();
    let p256 = IssuerKey::generate();
    let mut vc = jcs_signed(SigningKey::P384(&p384), &p256.did());
    vc["proof"]["verificationMethod"] = json!(p256.verification_method());
    assert_refused(&verify(&vc, &options).await, signature, "bad_signature");
    let mut vc = jcs_signed(SigningKey::P256(&p256), &p384.did());
    vc["proof"]["verificationMethod"] = json!(p384.verification_method());
    assert_refused(&verify(&vc, &options).await, signature, "bad_signature");
    // The verification method's fragment naming another key than its DID.
    let mut vc = jcs_signed(SigningKey::P256(&p256), &p256.did());
    let other = IssuerKey::generate();
    let fragment = other.did().trim_start_matches("did:key:").to_owned();
    vc["proof"]["verificationMethod"] = json!(format!("{}#{fragment}", p256.did()));
    assert_refused(&verify(&vc, &options).await, signature, "unsupported_key");
}

#[tokio::test]
async fn attack_a_p384_key_never_borrows_a_p256_certificate() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[7]);
    let options = inspector(pki.store(vec![cert], &[]));
    let p384 = P384IssuerKey::generate();
    // In the certified clinic's name: the key is not the issuer's.
    let vc = jcs_signed(SigningKey::P384(&p384), &clinic.did());
    let report = verify(&vc, &options).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_refused(&report, issuer_trust, "issuer_not_key_controller");
    // In its own name: no certificate names it.
    let vc = jcs_signed(SigningKey::P384(&p384), &p384.did());
    assert_refused(&verify(&vc, &options).await, issuer_trust, "unknown_issuer");
    let vc = sign_ecdsa_rdfc_2019(&TypeRegistry::default(), &unsigned(&p384.did()), &p384, signed_at()).await.unwrap();
    assert_refused(&verify(&vc, &options).await, issuer_trust, "unknown_issuer");
}

#[tokio::test]
async fn attack_an_sm2_key_never_borrows_a_p256_certificate() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[8]);
    let options = inspector(pki.store(vec![cert], &[]));
    let sm2 = Sm2IssuerKey::generate();
    let mut doc = unsigned(&clinic.did());
    doc["issuer"] = json!(clinic.did());
    let vc = wallet_core::sm2_rdfc_2026::sign(&doc, &sm2, signed_at()).await.unwrap();
    let report = verify(&vc, &options).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_refused(&report, issuer_trust, "issuer_not_key_controller");
    // The SM2 proof pointed at the certified P-256 key.
    let mut relabelled = vc.clone();
    relabelled["proof"]["verificationMethod"] = json!(p256_of(&clinic).verification_method());
    assert_refused(&verify(&relabelled, &options).await, signature, "unsupported_key");
}

#[tokio::test]
async fn attack_a_jcs_proof_beside_another_proof_is_refused() {
    let (key, options) = p256_clinic();
    let rdfc = p256_signed(&key).await;
    let jcs = jcs_signed(SigningKey::P256(&key), &key.did());
    let mut set = rdfc.clone();
    set["proof"] = json!([rdfc["proof"].clone(), jcs["proof"].clone()]);
    assert_refused(&verify(&set, &options).await, signature, "unreadable_proof");
}

#[tokio::test]
async fn attack_a_jcs_proof_context_other_than_the_documents_is_refused() {
    let key = IssuerKey::generate();
    let vc = jcs_signed(SigningKey::P256(&key), &key.did());
    let options = VerifyOptions::at(now());
    assert_eq!(verify(&vc, &options).await.checks.signature, CheckResult::Valid);
    // The document's context swapped for another the verifier knows.
    let mut other = vc.clone();
    other["@context"] = json!([
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
        "https://w3id.org/ecert/v1"
    ]);
    assert_ne!(other["@context"], vc["proof"]["@context"]);
    assert_refused(&verify(&other, &options).await, signature, "proof_context_mismatch");
    // The proof's own context shortened: no longer the document's.
    let mut edited = vc.clone();
    edited["proof"]["@context"] = vc["@context"].clone();
    edited["proof"]["@context"].as_array_mut().unwrap().pop();
    assert_refused(&verify(&edited, &options).await, signature, "proof_context_mismatch");
    // Both shortened alike: the proof configuration is signed.
    edited["@context"] = edited["proof"]["@context"].clone();
    let report = verify_credential(&edited, &options).await;
    assert!(report.map(|r| r.checks.signature.invalid_code() == Some("bad_signature")).unwrap_or(true));
}

#[tokio::test]
async fn attack_jcs_json_changes_that_keep_the_meaning_still_verify_and_others_do_not() {
    let key = IssuerKey::generate();
    let vc = jcs_signed(SigningKey::P256(&key), &key.did());
    let options = VerifyOptions::at(now());
    // Key order and \u escapes are not signed (JCS sorts and unescapes): same verdict, same content.
    let text = serde_json::to_string(&vc).unwrap().replace("欧阳晓燕", "\\u6b27\\u9633\\u6653\\u71d5");
    let reread: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reread, vc);
    assert_eq!(verify(&reread, &options).await.checks.signature, CheckResult::Valid);
    // A look-alike (full-width Ｆ for F) is another string.
    let mut lookalike = vc.clone();
    lookalike["credentialSubject"]["sex"] = json!("Ｆ");
    assert_refused(&verify(&lookalike, &options).await, signature, "bad_signature");
    // A number where the issuer wrote a string.
    let mut number = vc.clone();
    number["credentialSubject"]["statusListIndexShadow"] = json!(1);
    assert!(!verify_credential(&number, &options).await.map(|r| r.verified).unwrap_or(false));
    // The sex changed: the RDF changes and so does the JSON.
    let mut changed = vc.clone();
    changed["credentialSubject"]["sex"] = json!("M");
    assert_refused(&verify(&changed, &options).await, signature, "bad_signature");
}

#[test]
fn attack_hostile_numbers_in_a_jcs_document_are_errors_not_panics() {
    let key = IssuerKey::generate();
    let vc = jcs_signed(SigningKey::P256(&key), &key.did());
    for literal in ["1e400", "-1e400", &"9".repeat(70), "1.0", "-0", "1E2"] {
        let text = serde_json::to_string(&vc).unwrap().replacen("\"sex\":\"F\"", &format!("\"sex\":{literal}"), 1);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let result = ecdsa_jcs_2019::verify(&doc);
        match literal {
            "1e400" | "-1e400" => {
                assert!(matches!(result, Err(JcsProofError::Canonicalization(_))), "{literal}: {result:?}")
            }
            _ if literal.len() > 64 => {
                assert!(matches!(result, Err(JcsProofError::Canonicalization(_))), "{literal}: {result:?}")
            }
            _ => assert_eq!(result, Err(JcsProofError::BadSignature), "{literal}"),
        }
    }
}

/// A proof dated after the verifier's clock: an issuer whose certificate
/// starts next month signs today and dates its proof into that window.
#[tokio::test]
async fn attack_a_proof_dated_in_the_future_is_not_trusted() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let future = window("2026-07-01T00:00:00Z", "2028-01-01T00:00:00Z");
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &future, &[9]);
    let options = inspector(pki.store(vec![cert], &[]));
    let key = p256_of(&clinic);
    let created = at("2026-07-02T00:00:00Z");
    assert!(created > now() + Duration::days(7));
    let vc = sign_credential(&unsigned(&key.did()), &key, created).await.unwrap();
    let report = verify(&vc, &options).await;
    assert!(!report.verified, "{report:#?}");
    assert_invalid(&report.checks.issuer_trust, "proof_created_in_future");
    // JCS and SM2 proofs alike.
    let vc = jcs_signed_at(SigningKey::P256(&key), &key.did(), created);
    assert_refused(&verify(&vc, &options).await, issuer_trust, "proof_created_in_future");
    // Within the clock-skew tolerance it is not refused for its date.
    let (key, options) = p256_clinic();
    let vc = sign_credential(&unsigned(&key.did()), &key, now() + Duration::minutes(2)).await.unwrap();
    assert!(verify(&vc, &options).await.verified);
}

fn jcs_signed_at(key: SigningKey<'_>, issuer: &str, created: chrono::DateTime<chrono::Utc>) -> Value {
    ecdsa_jcs_2019::sign_credential(&TypeRegistry::default(), &unsigned(issuer), key, created).unwrap()
}

#[tokio::test]
async fn attack_a_proof_created_after_the_credential_expired_does_not_make_it_valid() {
    let (key, options) = p256_clinic();
    let mut doc = unsigned(&key.did());
    doc["validFrom"] = json!("2026-01-01T00:00:00Z");
    doc["validUntil"] = json!("2026-02-01T00:00:00Z");
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    assert_refused(&verify(&vc, &options).await, |r| &r.checks.validity_period, "expired");
}

#[tokio::test]
async fn attack_sm2_proof_with_a_challenge_or_own_context_is_refused() {
    let (key, options) = sm2_clinic();
    let vc = sm2_signed(&key).await;
    for (member, value) in [
        ("challenge", json!("abc")),
        ("domain", json!("verifier.example")),
        ("@context", vc["@context"].clone()),
        ("previousProof", json!("urn:uuid:1")),
    ] {
        let mut bad = vc.clone();
        bad["proof"][member] = value;
        assert_refused(&verify(&bad, &options).await, signature, "unsupported_proof_member");
    }
    let mut purpose = vc.clone();
    purpose["proof"]["proofPurpose"] = json!("authentication");
    assert_refused(&verify(&purpose, &options).await, signature, "wrong_proof_purpose");
}

/// `ecdsa-jcs-2019` signs the JSON itself, but its verification (§3.4.2)
/// let the document's `@context` continue after the proof's. JCS covers every
/// member shown, yet an appended context changes what a signed member means
/// to a JSON-LD reader: a term named `qualified` turns the signed enumeration
/// value into another IRI, and the proof verified. The document's `@context`
/// must now be the proof's.
#[tokio::test]
async fn attack_contexts_appended_to_a_jcs_credential() {
    let key = IssuerKey::generate();
    let vc = jcs_signed(SigningKey::P256(&key), &key.did());
    let options = VerifyOptions::at(now());
    assert_eq!(verify(&vc, &options).await.checks.signature, CheckResult::Valid);
    assert_eq!(vc["credentialSubject"]["examinationResult"], "qualified");
    for appended in [
        json!({"qualified": "https://evil.example/vocab#unqualified"}),
        json!("https://www.w3.org/ns/credentials/examples/v2"),
        json!({"@vocab": "https://evil.example/vocab#"}),
        json!({"@base": "https://evil.example/"}),
    ] {
        let mut doc = vc.clone();
        doc["@context"].as_array_mut().unwrap().push(appended.clone());
        let report = verify(&doc, &options).await;
        assert!(!report.verified, "{appended}");
        assert_invalid(&report.checks.signature, "proof_context_mismatch");
    }
    // Appended contexts that redefine a shown term were, and are, not credentials.
    for appended in
        [json!({"fullName": "https://w3id.org/ecert/vocab#fullNamePinyin"}), json!({"examinationResult": null})]
    {
        let mut doc = vc.clone();
        doc["@context"].as_array_mut().unwrap().push(appended);
        assert_eq!(verify_credential(&doc, &options).await.unwrap_err().code(), "redefined_protected_term");
    }
}
