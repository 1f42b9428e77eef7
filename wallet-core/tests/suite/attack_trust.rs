//! Attacks on issuer trust and status: a genuine signature by a key whose
//! certificate does not cover this credential (type, time, revocation, root),
//! and status lists that are not the credential issuer's.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{status_list_credential, Bitstring, StatusListCache, StatusPolicy, StatusPurpose};
use wallet_core::trust::{
    bound_root, certificate_pem_to_der, create_csr, issue_certificate, CertificateError, RevocationEntry,
    RevocationReason, TrustAlgorithm, TrustKey,
};
use wallet_core::verification::{verify_credential, CheckResult, StatusSource, VerificationReport, VerifyOptions};

use crate::attack_common::*;

fn p256_of(key: &TrustKey) -> IssuerKey {
    match key {
        TrustKey::P256(k) => k.clone(),
        TrustKey::Sm2(_) => panic!("not P-256"),
    }
}

async fn verify(vc: &Value, options: &VerifyOptions) -> VerificationReport {
    verify_credential(vc, options).await.unwrap()
}

async fn health_certificate(key: &IssuerKey, created: chrono::DateTime<chrono::Utc>) -> Value {
    sign_credential(&unsigned(&key.did()), key, created).await.unwrap()
}

#[tokio::test]
async fn attack_a_certificate_for_another_credential_type_is_type_not_allowed() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &["DogVaccinationCertificate"], &usual_window(), &[0x31]);
    let vc = health_certificate(&p256_of(&clinic), signed_at()).await;
    let report = verify(&vc, &inspector(pki.store(vec![cert], &[]))).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_refused(&report, issuer_trust, "type_not_allowed");
    // Adding the allowed type next to the signed one changes the signature, not the trust.
    let mut both = vc.clone();
    both["type"] = json!(["VerifiableCredential", "DogVaccinationCertificate"]);
    let report = verify_credential(&both, &VerifyOptions::at(now())).await;
    assert!(report.map(|r| !r.verified).unwrap_or(true));
}

/// An agriculture bureau, whose root is bounded to dog vaccinations, certifies
/// a pet clinic for health certificates: carelessly, or a thief holding its
/// root key does. The key signs what any copy of the root lets it sign, so
/// the bound is read from the root the inspector is configured with.
#[tokio::test]
async fn attack_a_department_certifies_a_type_its_root_does_not_authorise() {
    const DOG: &str = "DogVaccinationCertificate";
    let bureau = Pki::new(TrustAlgorithm::P256, "示例市农业农村局");
    let bounded_pem = bound_root(&bureau.root_pem, &bureau.root_key, &[DOG]).unwrap();
    let bounded = certificate_pem_to_der(&bounded_pem).unwrap();
    let pet_clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = bureau.certify(&pet_clinic, &[HEALTH_CERTIFICATE_TYPE, DOG], &usual_window(), &[0x3a]);
    let vc = health_certificate(&p256_of(&pet_clinic), signed_at()).await;

    // The premise: an inspector configured with the unbounded root says valid.
    let unbounded_store = bureau.store(vec![cert.clone()], &[]);
    assert_eq!(unbounded_store.roots_authorising_any_type().len(), 1);
    let report = verify(&vc, &inspector(unbounded_store)).await;
    assert_eq!(report.checks.issuer_trust, CheckResult::Valid, "{report:#?}");
    assert!(report.verified);

    // Configured with the bounded root (the trust list still carries the
    // unbounded copy in its x5c: same name and key, so it loads), refused,
    // naming the types the department may authorise.
    let store = bureau.store_configured(vec![cert.clone()], &[], std::slice::from_ref(&bounded));
    assert!(store.roots_authorising_any_type().is_empty());
    let report = verify(&vc, &inspector(store.clone())).await;
    assert_refused(&report, issuer_trust, "type_not_authorised_by_root");
    let CheckResult::Invalid { reason, .. } = &report.checks.issuer_trust else { unreachable!() };
    assert!(reason.en.contains("示例市农业农村局") && reason.en.contains(DOG), "{}", reason.en);
    // What the root does authorise stays valid for the same certificate.
    let dog_types = vec!["VerifiableCredential".to_owned(), DOG.to_owned()];
    assert_eq!(store.check_issuer(&pet_clinic.did(), &dog_types, signed_at()), CheckResult::Valid);
    // The report lists only what the root may authorise among the certificate's types.
    let trusted = store.assess_issuer(&pet_clinic.did(), &dog_types, signed_at()).unwrap();
    assert_eq!(trusted.allowed_types, [DOG]);

    // The old copy left in the configuration beside the new one does not undo
    // the bound, in either order.
    for configured in [vec![bureau.root_der.clone(), bounded.clone()], vec![bounded.clone(), bureau.root_der.clone()]] {
        let store = bureau.store_configured(vec![cert.clone()], &[], &configured);
        assert!(store.roots_authorising_any_type().is_empty());
        assert_refused(&verify(&vc, &inspector(store)).await, issuer_trust, "type_not_authorised_by_root");
    }

    // The library does not issue beyond the bound from the bounded root.
    let csr = create_csr(&pet_clinic, "示例宠物医院", "12110000MB0000001U", &pet_clinic.did()).unwrap();
    let refused =
        issue_certificate(&csr, &bounded_pem, &bureau.root_key, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x3b]);
    assert!(matches!(refused, Err(CertificateError::InvalidCredentialTypes(ref m)) if m.contains(DOG)), "{refused:?}");
    // Nor re-signs a root with another department's key, or an empty bound.
    let other = TrustKey::generate(TrustAlgorithm::P256);
    assert!(matches!(bound_root(&bureau.root_pem, &other, &[DOG]), Err(CertificateError::RootKeyMismatch)));
    assert!(bound_root::<&str>(&bureau.root_pem, &bureau.root_key, &[]).is_err());
    assert!(bound_root(&bureau.root_pem, &bureau.root_key, &["VerifiableCredential"]).is_err());
}

#[tokio::test]
async fn attack_an_expired_issuer_certificate_is_refused() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let expired = window("2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &expired, &[0x32]);
    let vc = health_certificate(&p256_of(&clinic), signed_at()).await;
    assert_refused(
        &verify(&vc, &inspector(pki.store(vec![cert], &[]))).await,
        issuer_trust,
        "issuer_certificate_expired",
    );
}

#[tokio::test]
async fn attack_a_proof_backdated_before_the_certificate_is_refused() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x33]);
    let vc = health_certificate(&p256_of(&clinic), at("2025-12-01T00:00:00Z")).await;
    assert_refused(
        &verify(&vc, &inspector(pki.store(vec![cert], &[]))).await,
        issuer_trust,
        "issuer_certificate_expired",
    );
}

#[tokio::test]
async fn attack_a_compromised_key_cannot_backdate_past_its_revocation() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let serial = [0x35_u8];
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &serial);
    let revoked = RevocationEntry {
        serial: serial.to_vec(),
        revoked_at: at("2026-05-20T00:00:00Z"),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: Some(at("2026-03-01T00:00:00Z")),
    };
    let options = inspector(pki.store(vec![cert], &[revoked]));
    // Signed by the thief after revocation, dated before it but after the compromise.
    let vc = health_certificate(&p256_of(&clinic), at("2026-04-01T00:00:00Z")).await;
    assert_refused(&verify(&vc, &options).await, issuer_trust, "issuer_revoked");
}

#[tokio::test]
async fn attack_a_superseded_certificate_signs_nothing_new() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let serial = [0x36_u8];
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &serial);
    let revoked = RevocationEntry {
        serial: serial.to_vec(),
        revoked_at: at("2026-04-01T00:00:00Z"),
        reason: RevocationReason::CessationOfOperation,
        invalidity_date: None,
    };
    let options = inspector(pki.store(vec![cert], &[revoked]));
    let vc = health_certificate(&p256_of(&clinic), signed_at()).await;
    assert_refused(&verify(&vc, &options).await, issuer_trust, "issuer_revoked");
}

#[tokio::test]
async fn attack_a_certificate_from_an_unknown_root_is_untrusted() {
    let trusted = Pki::department();
    let rogue = Pki::new(TrustAlgorithm::P256, "示例市卫生健康委员会");
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    // The rogue root's certificate smuggled into the trusted department's list.
    let cert = rogue.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x37]);
    let vc = health_certificate(&p256_of(&clinic), signed_at()).await;
    assert_refused(&verify(&vc, &inspector(trusted.store(vec![cert], &[]))).await, issuer_trust, "untrusted_root");
}

const URL: &str = "https://issuer.example.gov.cn/status/3";

fn list_for(url: &str, issuer: &str, revoked_index: Option<usize>) -> Value {
    let mut bits = Bitstring::new(131_072);
    if let Some(index) = revoked_index {
        bits.set(index, true).unwrap();
    }
    status_list_credential(
        url,
        issuer,
        StatusPurpose::Revocation,
        &bits,
        now() - Duration::minutes(10),
        now() + Duration::days(1),
    )
}

fn with_status(url: &str) -> impl Fn(Value) -> Value + '_ {
    move |mut doc: Value| {
        doc["credentialStatus"] = json!([{
            "id": format!("{url}#94567"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": "94567", "statusListCredential": url,
        }]);
        doc
    }
}

async fn cache_with(lists: &[(&str, Value)]) -> StatusSource {
    let mut cache = StatusListCache::default();
    for (url, list) in lists {
        cache.offer(url, list, now(), now()).await.unwrap();
    }
    StatusSource::Cache { cache: Arc::new(cache), policy: StatusPolicy::default() }
}

#[tokio::test]
async fn attack_a_status_list_signed_by_another_issuer_is_refused() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x38]);
    let key = p256_of(&clinic);
    let vc = sign_credential(&with_status(URL)(unsigned(&key.did())), &key, signed_at()).await.unwrap();
    // Someone else's "all clear" list at the issuer's URL (the issuer's real list says revoked).
    let other = IssuerKey::generate();
    let forged =
        sign_credential(&list_for(URL, &other.did(), None), &other, now() - Duration::minutes(10)).await.unwrap();
    let options = inspector(pki.store(vec![cert], &[])).with_status(cache_with(&[(URL, forged)]).await);
    let report = verify(&vc, &options).await;
    assert_refused(&report, status, "status_list_wrong_issuer");
}

#[tokio::test]
async fn attack_a_status_url_pointing_at_another_issuers_list_is_refused() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x39]);
    let key = p256_of(&clinic);
    // The issuer itself names a list of another issuer (which will never revoke it).
    let other = IssuerKey::generate();
    let other_url = "https://other.example.gov.cn/status/1";
    let vc = sign_credential(&with_status(other_url)(unsigned(&key.did())), &key, signed_at()).await.unwrap();
    let others_list =
        sign_credential(&list_for(other_url, &other.did(), None), &other, now() - Duration::minutes(10)).await.unwrap();
    let options = inspector(pki.store(vec![cert], &[])).with_status(cache_with(&[(other_url, others_list)]).await);
    assert_refused(&verify(&vc, &options).await, status, "status_list_wrong_issuer");
}

#[tokio::test]
async fn attack_a_revoked_credential_stays_revoked_under_a_relabelled_list() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x3a]);
    let key = p256_of(&clinic);
    let vc = sign_credential(&with_status(URL)(unsigned(&key.did())), &key, signed_at()).await.unwrap();
    let revoked =
        sign_credential(&list_for(URL, &key.did(), Some(94_567)), &key, now() - Duration::minutes(10)).await.unwrap();
    let options = inspector(pki.store(vec![cert], &[])).with_status(cache_with(&[(URL, revoked)]).await);
    assert_refused(&verify(&vc, &options).await, status, "revoked");
    // The holder edits the entry to point at another index: the signature breaks.
    let mut moved = vc.clone();
    moved["credentialStatus"][0]["statusListIndex"] = json!("94568");
    assert_refused(&verify(&moved, &options).await, signature, "bad_signature");
}

/// A clinic certified from April signs (inside its window) a health
/// certificate claiming validity from March 15, before the clinic was
/// authorised: the inspector is warned (`validFrom` is the examination date,
/// which may rightly precede the clinic's current certificate; see
/// `TrustStore::assess_issuer_from`), and the verdict stands on the rest.
#[tokio::test]
async fn attack_a_valid_from_before_the_issuers_authorisation_is_flagged() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let from_april = window("2026-04-01T00:00:00Z", "2028-01-01T00:00:00Z");
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &from_april, &[0x3b]);
    let options = inspector(pki.store(vec![cert], &[]));
    let key = p256_of(&clinic);
    let vc = health_certificate(&key, signed_at()).await;
    assert_eq!(vc["validFrom"], "2026-03-15T00:00:00Z");
    assert!(signed_at() > at("2026-04-01T00:00:00Z"), "signed inside the certificate's window");
    let report = verify(&vc, &options).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_flagged(&report, true);
    // One second before the authorisation is flagged too.
    let mut doc = unsigned(&key.did());
    doc["validFrom"] = json!("2026-03-31T23:59:59Z");
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    assert_flagged(&verify(&vc, &options).await, true);
    // From the first day of the authorisation on, nothing is flagged.
    doc["validFrom"] = json!("2026-04-01T00:00:00Z");
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    assert_flagged(&verify(&vc, &options).await, false);
    // Post-dated (validFrom after signing) is the validity check's business, not backdating.
    doc["validFrom"] = json!("2026-05-20T00:00:00Z");
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    assert_flagged(&verify(&vc, &options).await, false);
}

/// The report of a credential whose issuer is trusted: verified, with or
/// without the `valid_from_before_authorisation` warning (zh and en).
fn assert_flagged(report: &VerificationReport, flagged: bool) {
    assert!(report.verified, "{report:?}");
    assert_eq!(report.checks.issuer_trust, CheckResult::Valid);
    let warning = report.warnings.iter().find(|w| w.code == "valid_from_before_authorisation");
    assert_eq!(warning.is_some(), flagged, "{:?}", report.warnings);
    if let Some(w) = warning {
        assert!(w.message.en.contains("claims validity from") && w.message.zh.contains("请核实"), "{w:?}");
    }
}

/// After a key rotation the organisation's earlier certificate covered the
/// claimed start (a reissue keeps `validFrom`), but another organisation's
/// certificate, or one not listing the type, does not.
#[tokio::test]
async fn attack_a_valid_from_is_covered_only_by_the_same_organisations_earlier_authorisation() {
    let pki = Pki::department();
    let old = TrustKey::generate(TrustAlgorithm::P256);
    let new = TrustKey::generate(TrustAlgorithm::P256);
    let old_window = window("2026-01-01T00:00:00Z", "2026-04-15T00:00:00Z");
    let new_window = window("2026-04-10T00:00:00Z", "2028-01-01T00:00:00Z");
    let key = p256_of(&new);
    let vc = health_certificate(&key, signed_at()).await;
    let new_cert = pki.certify(&new, &[HEALTH_CERTIFICATE_TYPE], &new_window, &[0x40]);
    // The same organisation's previous key, certified for the type on March 15.
    let old_cert = pki.certify(&old, &[HEALTH_CERTIFICATE_TYPE], &old_window, &[0x41]);
    assert_flagged(&verify(&vc, &inspector(pki.store(vec![new_cert.clone(), old_cert], &[]))).await, false);
    // Another organisation certified then proves nothing about this one.
    let other = pki.certify_for(
        &old,
        ("示例市第二人民医院", "12110000MB0000002Y"),
        &[HEALTH_CERTIFICATE_TYPE],
        &old_window,
        &[0x42],
    );
    let report = verify(&vc, &inspector(pki.store(vec![new_cert.clone(), other], &[]))).await;
    assert_flagged(&report, true);
    // Nor the same organisation's certificate for another type.
    let dogs = pki.certify(&old, &["DogVaccinationCertificate"], &old_window, &[0x43]);
    let report = verify(&vc, &inspector(pki.store(vec![new_cert, dogs], &[]))).await;
    assert_flagged(&report, true);
}

/// Attack review 3: the thief of a clinic's compromised key signs an
/// all-clear status list for the clinic's credentials and serves it at the
/// genuine URL. Before the compromise is known the key's own lists count
/// (the premise); once the department's CRL says the key is compromised, a
/// list it dated after that no longer counts for anything it signed.
#[tokio::test]
async fn attack_a_compromised_keys_own_all_clear_list_does_not_count() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let serial = [0x3c_u8];
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &serial);
    let key = p256_of(&clinic);
    // Both entries a health certificate carries, on one list of both purposes.
    let mut doc = unsigned(&key.did());
    doc["credentialStatus"] = json!([
        {"id": format!("{URL}#94567"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "94567", "statusListCredential": URL},
        {"id": format!("{URL}#94568"), "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
         "statusListIndex": "94568", "statusListCredential": URL},
    ]);
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    let mut list = list_for(URL, &key.did(), None);
    list["credentialSubject"]["statusPurpose"] = json!(["revocation", "suspension"]);
    let all_clear = sign_credential(&list, &key, now() - Duration::minutes(10)).await.unwrap();
    let options =
        inspector(pki.store(vec![cert.clone()], &[])).with_status(cache_with(&[(URL, all_clear.clone())]).await);
    let premise = verify(&vc, &options).await;
    assert!(premise.checks.status.is_valid(), "the premise: its own list counts; {:#?}", premise.checks.status);
    let compromised = RevocationEntry {
        serial: serial.to_vec(),
        revoked_at: at("2026-05-20T00:00:00Z"),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: Some(at("2026-05-10T00:00:00Z")),
    };
    let options = inspector(pki.store(vec![cert], &[compromised])).with_status(cache_with(&[(URL, all_clear)]).await);
    let report = verify(&vc, &options).await;
    assert_eq!(report.checks.status.invalid_code(), Some("status_list_wrong_issuer"), "{report:#?}");
    assert!(!report.verified);
}
