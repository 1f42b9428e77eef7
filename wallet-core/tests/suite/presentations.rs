//! Issue #13: a presentation is bound to its holder. A credential whose
//! subject is a `did:key` verifies inside a presentation only when that key
//! signed the presentation, over the relying party's challenge and domain,
//! with proof purpose `authentication`; credential proofs must be
//! `assertionMethod`; where trust is required, the stated issuer must be the
//! signing key's controller.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::{sign_credential, sign_presentation, PresentationPurpose};
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{
    verify_credential, verify_presentation, CheckResult, CredentialOutcome, IssuerTrust, PresentationReport,
    VerifyOptions,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
const CHALLENGE: &str = "c-2f8a41";
const DOMAIN: &str = "inspector.example";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn issuer_key() -> IssuerKey {
    IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

/// A health certificate signed by `key`, stating `issuer`, bound to `holder` (when given).
async fn certificate(key: &IssuerKey, issuer: &str, holder: Option<&IssuerKey>) -> Value {
    let mut request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    if let Some(holder) = holder {
        request["holderKey"] = wallet_core::holder::jwk_of(&holder.public_key());
    }
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let unsigned = crate::with_status_entries(def.to_unsigned_credential(&checked, &CredentialId::generate(), issuer));
    sign_credential(&unsigned, key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap()
}

fn presentation_of(vc: &Value, holder: Option<&str>) -> Value {
    let mut vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [vc]
    });
    if let Some(holder) = holder {
        vp["holder"] = json!(holder);
    }
    vp
}

async fn signed_vp(
    vp: &Value,
    key: &IssuerKey,
    challenge: Option<&str>,
    domain: Option<&str>,
    purpose: PresentationPurpose,
) -> Value {
    sign_presentation(vp, key, now() - chrono::Duration::minutes(1), challenge, domain, purpose).await.unwrap()
}

async fn verify(vp: &Value) -> PresentationReport {
    verify_presentation(vp, &VerifyOptions::at(now()), Some(CHALLENGE), Some(DOMAIN)).await.unwrap()
}

fn credential_report(report: &PresentationReport) -> &wallet_core::verification::VerificationReport {
    match &report.credentials[0] {
        CredentialOutcome::Report(r) => r,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_subjects_key_over_the_challenge_and_domain_verifies() {
    let holder = IssuerKey::generate();
    let vc = certificate(&issuer_key(), &issuer_key().did(), Some(&holder)).await;
    assert_eq!(vc["credentialSubject"]["id"], holder.did());
    for named_holder in [None, Some(holder.did())] {
        let vp = presentation_of(&vc, named_holder.as_deref());
        let vp = signed_vp(&vp, &holder, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
        let report = verify(&vp).await;
        assert_eq!(report.proof, CheckResult::Valid, "{report:#?}");
        assert!(report.verified, "{report:#?}");
        let r = credential_report(&report);
        assert_eq!(r.checks.holder_binding, CheckResult::Valid);
        assert!(r.warnings.iter().all(|w| w.code != "holder_binding_not_presented"));
    }
}

#[tokio::test]
async fn a_random_did_key_over_the_right_challenge_is_not_the_holder() {
    let holder = IssuerKey::generate();
    let stranger = IssuerKey::generate();
    let vc = certificate(&issuer_key(), &issuer_key().did(), Some(&holder)).await;
    // Naming no holder, naming itself, or naming the real holder: none is the subject's key.
    for named_holder in [None, Some(stranger.did()), Some(holder.did())] {
        let vp = presentation_of(&vc, named_holder.as_deref());
        let vp = signed_vp(&vp, &stranger, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
        let report = verify(&vp).await;
        assert!(!report.verified, "{named_holder:?}: {report:#?}");
        let r = credential_report(&report);
        assert_eq!(r.checks.holder_binding.invalid_code(), Some("presentation_not_by_subject"), "{r:#?}");
        assert!(!r.verified);
    }
    // The stranger naming the real holder is also caught at the presentation level.
    let vp = presentation_of(&vc, Some(&holder.did()));
    let vp = signed_vp(&vp, &stranger, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
    assert_eq!(verify(&vp).await.proof.invalid_code(), Some("holder_not_key_controller"));
}

#[tokio::test]
async fn a_presentation_cannot_name_a_holder_whose_key_did_not_sign_it() {
    // A credential not bound to any subject key: the holder claim is all the
    // relying party has, so it must be the signer.
    let vc = certificate(&issuer_key(), &issuer_key().did(), None).await;
    let stranger = IssuerKey::generate();
    for claimed in
        ["did:example:alice".to_owned(), IssuerKey::generate().did(), "https://clinic.example/alice".to_owned()]
    {
        let vp = presentation_of(&vc, Some(&claimed));
        let vp = signed_vp(&vp, &stranger, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
        let report = verify(&vp).await;
        assert_eq!(report.proof.invalid_code(), Some("holder_not_key_controller"), "{claimed}: {report:#?}");
        assert!(!report.verified);
    }
    // The same presentation naming its signer as holder is fine.
    let vp = presentation_of(&vc, Some(&stranger.did()));
    let vp = signed_vp(&vp, &stranger, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
    assert_eq!(verify(&vp).await.proof, CheckResult::Valid);
}

#[tokio::test]
async fn a_self_asserted_credential_of_someone_else_is_not_secured_by_my_proof() {
    let alice = IssuerKey::generate();
    let mallory = IssuerKey::generate();
    let claim = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": alice.did(),
        "credentialSubject": {"id": alice.did()}
    });
    let vp = presentation_of(&claim, Some(&alice.did()));
    let vp = signed_vp(&vp, &mallory, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
    let report = verify(&vp).await;
    assert_eq!(report.proof.invalid_code(), Some("holder_not_key_controller"), "{report:#?}");
    assert!(!report.verified);
    // Signed by alice herself, the self-asserted claim is secured by the presentation.
    let vp = presentation_of(&claim, Some(&alice.did()));
    let vp = signed_vp(&vp, &alice, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
    assert_eq!(verify(&vp).await.proof, CheckResult::Valid);
}

#[tokio::test]
async fn the_subjects_key_with_a_wrong_or_missing_challenge_or_domain_fails() {
    let holder = IssuerKey::generate();
    let vc = certificate(&issuer_key(), &issuer_key().did(), Some(&holder)).await;
    let vp = presentation_of(&vc, Some(&holder.did()));
    let cases = [
        (Some("another-challenge"), Some(DOMAIN), "challenge_mismatch"),
        (None, Some(DOMAIN), "challenge_mismatch"),
        (Some(CHALLENGE), Some("other.example"), "domain_mismatch"),
        (Some(CHALLENGE), None, "domain_mismatch"),
    ];
    for (challenge, domain, want) in cases {
        let signed = signed_vp(&vp, &holder, challenge, domain, PresentationPurpose::Authentication).await;
        let report = verify(&signed).await;
        assert_eq!(report.proof.invalid_code(), Some(want), "{challenge:?} {domain:?}: {report:#?}");
        assert!(!report.verified);
    }
    // Unsigned, when a domain is asked: the domain cannot be checked.
    let report = verify_presentation(&vp, &VerifyOptions::at(now()), None, Some(DOMAIN)).await.unwrap();
    assert_eq!(report.proof.invalid_code(), Some("missing_proof"));

    // Two proofs: one over the challenge does not carry one over another.
    let good = signed_vp(&vp, &holder, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::Authentication).await;
    let other = signed_vp(&vp, &holder, Some("old"), Some(DOMAIN), PresentationPurpose::Authentication).await;
    let mut both = good.clone();
    both["proof"] = json!([good["proof"].clone(), other["proof"].clone()]);
    let report = verify(&both).await;
    assert_eq!(report.proof.invalid_code(), Some("challenge_mismatch"), "{report:#?}");
}

#[tokio::test]
async fn a_presentation_proof_for_assertion_is_refused() {
    let holder = IssuerKey::generate();
    let vc = certificate(&issuer_key(), &issuer_key().did(), Some(&holder)).await;
    let vp = presentation_of(&vc, Some(&holder.did()));
    let vp = signed_vp(&vp, &holder, Some(CHALLENGE), Some(DOMAIN), PresentationPurpose::AssertionMethod).await;
    let report = verify(&vp).await;
    assert_eq!(report.proof.invalid_code(), Some("wrong_proof_purpose"), "{report:#?}");
    assert!(!report.verified);
}

#[tokio::test]
async fn a_credential_proof_for_authentication_is_refused() {
    // A holder's authentication proof (e.g. lifted from a presentation) is not an issuance.
    let key = issuer_key();
    let vc = certificate(&key, &key.did(), None).await;
    let mut unsigned_vp = presentation_of(&vc, Some(&key.did()));
    unsigned_vp.as_object_mut().unwrap().remove("verifiableCredential");
    let mut unsigned = vc.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    let authn = signed_vp(&unsigned_vp, &key, None, None, PresentationPurpose::Authentication).await;
    // Re-sign the credential itself with purpose authentication: same key, same content.
    let vc_authn = {
        let mut v =
            sign_credential(&unsigned, &key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap();
        assert_eq!(v["proof"]["proofPurpose"], "assertionMethod");
        v["proof"]["proofPurpose"] = authn["proof"]["proofPurpose"].clone();
        v
    };
    let report = verify_credential(&vc_authn, &VerifyOptions::at(now())).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("wrong_proof_purpose"), "{report:#?}");
    assert!(!report.verified);
    let report = verify_credential(&vc, &VerifyOptions::at(now())).await.unwrap();
    assert!(report.verified, "{report:#?}");
}

#[tokio::test]
async fn an_unsigned_presentation_of_a_bound_credential_does_not_establish_the_holder() {
    let holder = IssuerKey::generate();
    let vc = certificate(&issuer_key(), &issuer_key().did(), Some(&holder)).await;
    let report = verify_presentation(&presentation_of(&vc, None), &VerifyOptions::at(now()), None, None).await.unwrap();
    let r = credential_report(&report);
    assert!(!r.checks.holder_binding.is_valid(), "{r:#?}");
    assert!(r.warnings.iter().any(|w| w.code == "holder_binding_not_presented"));
}

// ---- the stated issuer and the signing key ----

fn trust_store() -> std::sync::Arc<wallet_core::trust::TrustStore> {
    use wallet_core::trust::{certificate_pem_to_der, TrustList};
    let roots: Vec<Vec<u8>> = ["trust/health-commission-root.pem", "trust/market-supervision-root.pem"]
        .iter()
        .map(|p| certificate_pem_to_der(&fixture(p)).unwrap())
        .collect();
    let bytes = fixture("trust/trust-list.json").into_bytes();
    let listed = DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z").unwrap().with_timezone(&Utc);
    std::sync::Arc::new(TrustList::load(&bytes, &roots, listed, chrono::Duration::days(1)).unwrap())
}

#[tokio::test]
async fn a_trusted_key_cannot_vouch_for_a_made_up_issuer_where_trust_is_required() {
    let key = issuer_key();
    let list = || IssuerTrust::List {
        store: trust_store(),
        warn_after: chrono::Duration::hours(24),
        max_age: chrono::Duration::days(3650),
    };
    let genuine = certificate(&key, &key.did(), None).await;
    let report = verify_credential(&genuine, &VerifyOptions::at(now()).with_trust(list(), true)).await.unwrap();
    assert!(report.verified, "{report:#?}");

    for claimed in ["did:web:ministry.example", "https://nobody.example/issuer", &IssuerKey::generate().did()] {
        let forged = certificate(&key, claimed, None).await;
        let report = verify_credential(&forged, &VerifyOptions::at(now()).with_trust(list(), true)).await.unwrap();
        assert_eq!(report.checks.signature, CheckResult::Valid);
        assert_eq!(report.checks.issuer_trust.invalid_code(), Some("issuer_not_key_controller"), "{report:#?}");
        assert!(report.trusted_issuer.is_none());
        assert!(!report.verified);
        // Not required (VC-API, the W3C suites): reported as a warning, as before.
        let report = verify_credential(&forged, &VerifyOptions::at(now()).with_trust(list(), false)).await.unwrap();
        assert!(report.warnings.iter().any(|w| w.code == "issuer_not_key_controller"));
        assert!(report.verified, "{report:#?}");
    }
}
