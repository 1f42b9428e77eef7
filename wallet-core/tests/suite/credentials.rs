//! Signing and verification against the W3C spec vectors and our own
//! credentials, with every negative case an inspector can meet.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wallet_core::canonical::canonical_nquads;
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, CheckResult, VerifyOptions};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap()
}

fn test_key() -> IssuerKey {
    IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap()
}

fn at(s: &str) -> VerifyOptions {
    VerifyOptions::at(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

fn health_request() -> Value {
    json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    })
}

/// The unsigned credential of a shipped type, from a domain API request, as of 2026-03-15.
fn unsigned_of(type_name: &str, request: &Value, issuer: &str) -> Value {
    let def = TypeRegistry::shipped().unwrap().by_type(type_name).unwrap();
    let checked = def
        .check_request_keyed(request, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    crate::with_status_entries(def.to_unsigned_credential(&checked, &CredentialId::generate(), issuer))
}

async fn signed_health_certificate(key: &IssuerKey) -> Value {
    let unsigned = unsigned_of("HealthCertificate", &health_request(), &key.did());
    sign_credential(&unsigned, key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

// ---- W3C vc-di-ecdsa spec vectors (byte for byte) ----

#[tokio::test]
async fn canonical_document_matches_w3c_vector_byte_for_byte() {
    let canon = canonical_nquads(&fixture_json("w3c/unsigned.json")).await.unwrap();
    assert_eq!(canon, fixture("w3c/ecdsa-rdfc-2019-p256/canonDocECDSAP256.txt"));
    assert_eq!(sha256_hex(&canon), fixture("w3c/ecdsa-rdfc-2019-p256/docHashECDSAP256.txt").trim());
}

#[tokio::test]
async fn canonical_proof_configuration_and_combined_hash_match_w3c_vector() {
    let config = fixture_json("w3c/ecdsa-rdfc-2019-p256/proofConfigECDSAP256.json");
    let canon = canonical_nquads(&config).await.unwrap();
    assert_eq!(canon, fixture("w3c/ecdsa-rdfc-2019-p256/proofCanonECDSAP256.txt"));
    let proof_hash = sha256_hex(&canon);
    assert_eq!(proof_hash, fixture("w3c/ecdsa-rdfc-2019-p256/proofHashECDSAP256.txt").trim());
    let doc_hash = sha256_hex(&canonical_nquads(&fixture_json("w3c/unsigned.json")).await.unwrap());
    // ecdsa-rdfc-2019 §3.3.4: hashData = proofConfigHash ‖ transformedDocumentHash
    assert_eq!(format!("{proof_hash}{doc_hash}"), fixture("w3c/ecdsa-rdfc-2019-p256/combinedHashECDSAP256.txt").trim());
}

#[tokio::test]
async fn signed_w3c_vector_verifies_and_its_tampered_copy_does_not() {
    let signed = fixture_json("w3c/ecdsa-rdfc-2019-p256/signedECDSAP256.json");
    let report = verify_credential(&signed, &at("2024-01-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature, CheckResult::Valid, "{report:#?}");
    assert!(report.verified);
    // Its issuer is an https URL while the key is a did:key: verifies, with a warning.
    assert!(report.warnings.iter().any(|w| w.code == "issuer_not_key_controller"));

    let mut tampered = signed.clone();
    tampered["credentialSubject"]["alumniOf"] = json!("The School of Forgeries");
    let report = verify_credential(&tampered, &at("2024-01-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
    assert!(!report.verified);
}

// ---- our own credentials ----

#[tokio::test]
async fn signed_health_certificate_verifies() {
    let key = test_key();
    let vc = signed_health_certificate(&key).await;
    assert_eq!(vc["proof"]["cryptosuite"], "ecdsa-rdfc-2019");
    assert_eq!(vc["proof"]["type"], "DataIntegrityProof");
    assert_eq!(vc["proof"]["verificationMethod"], key.verification_method());
    assert_eq!(vc["proof"]["created"], "2026-03-15T08:00:00Z");
    let report = verify_credential(&vc, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_eq!(report.checks.validity_period, CheckResult::Valid);
    assert!(matches!(report.checks.issuer_trust, CheckResult::Unchecked { .. }));
    assert!(matches!(report.checks.anchoring, CheckResult::Unchecked { .. }));
    assert_eq!(report.issuer.as_deref(), Some(key.did().as_str()));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // JSON key order of the input is kept: the proof is appended last.
    assert_eq!(vc.as_object().unwrap().keys().next_back().map(String::as_str), Some("proof"));
}

#[tokio::test]
async fn signed_licence_verifies() {
    let key = test_key();
    let req = json!({
        "licenceNumber": "JY14401030012345", "licensee": "广州市越秀区好味道餐饮店",
        "unifiedSocialCreditCode": "91350100M000100Y43", "legalRepresentative": "李四",
        "businessAddress": "广州市越秀区中山五路100号", "businessScope": ["热食类食品制售", "冷食类食品制售"],
        "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-12-31T23:59:59Z"
    });
    let unsigned = unsigned_of("FoodBusinessLicence", &req, &key.did());
    let vc = sign_credential(&unsigned, &key, Utc::now()).await.unwrap();
    let report = verify_credential(&vc, &at("2027-01-01T00:00:00Z")).await.unwrap();
    assert!(report.verified, "{report:#?}");
    // Every item of businessScope is signed (a set: order carries no meaning).
    let mut widened = vc.clone();
    widened["credentialSubject"]["businessScope"] = json!(["热食类食品制售", "生食类食品制售"]);
    let report = verify_credential(&widened, &at("2027-01-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
    let mut added = vc.clone();
    added["credentialSubject"]["businessScope"].as_array_mut().unwrap().push(json!("生食类食品制售"));
    let report = verify_credential(&added, &at("2027-01-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
}

#[tokio::test]
async fn tampered_field_fails_the_signature_only() {
    let vc = signed_health_certificate(&test_key()).await;
    for (field, value) in [
        ("fullName", json!("欧阳晓雁")),
        ("examinationResult", json!("unqualified")),
        ("birthDate", json!("1991-07-24")),
    ] {
        let mut t = vc.clone();
        t["credentialSubject"][field] = value;
        let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
        assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"), "{field}");
        assert_eq!(report.checks.validity_period, CheckResult::Valid, "{field}");
        assert!(!report.verified);
    }
    // Extending validity is tampering too.
    let mut t = vc.clone();
    t["validUntil"] = json!("2099-01-01T00:00:00Z");
    let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.first_failure(), Some("bad_signature"));
}

#[tokio::test]
async fn tampered_signature_fails() {
    let vc = signed_health_certificate(&test_key()).await;
    let pv = vc["proof"]["proofValue"].as_str().unwrap().to_owned();
    // Change one base58 character in the middle (still valid base58).
    let mut chars: Vec<char> = pv.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let mut t = vc.clone();
    t["proof"]["proofValue"] = json!(chars.into_iter().collect::<String>());
    let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
    assert!(!report.verified);
}

#[tokio::test]
async fn signed_by_another_key_than_named_fails() {
    let key = test_key();
    let other = IssuerKey::from_pkcs8_pem(&fixture("keys/other-issuer.pem")).unwrap();
    let vc = signed_health_certificate(&other).await;
    let mut t = vc.clone();
    // Claim the proof was made by `key`.
    t["proof"]["verificationMethod"] = json!(key.verification_method());
    t["issuer"] = json!(key.did());
    let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
}

#[tokio::test]
async fn expired_and_not_yet_valid_are_their_own_failures() {
    let vc = signed_health_certificate(&test_key()).await;
    let report = verify_credential(&vc, &at("2027-03-12T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.validity_period.invalid_code(), Some("expired"));
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert!(!report.verified);
    let report = verify_credential(&vc, &at("2026-03-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.validity_period.invalid_code(), Some("not_yet_valid"));
    assert!(!report.verified);
    // The last second of validity is still valid.
    let report = verify_credential(&vc, &at("2027-03-11T23:59:59Z")).await.unwrap();
    assert!(report.verified);
}

#[tokio::test]
async fn unknown_key_type_is_reported_not_crashed() {
    let vc = signed_health_certificate(&test_key()).await;
    let mut t = vc.clone();
    // A secp256k1 did:key: a key type this verifier does not accept.
    let k1 = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";
    t["proof"]["verificationMethod"] = json!(format!("{k1}#{}", &k1[8..]));
    let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert!(report.checks.signature.is_invalid(), "{report:#?}");
    assert!(!report.verified);
}

#[tokio::test]
async fn unsupported_cryptosuite_is_invalid() {
    let vc = signed_health_certificate(&test_key()).await;
    let mut t = vc.clone();
    t["proof"]["cryptosuite"] = json!("bbs-2023");
    let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("unsupported_cryptosuite"));
    // ecdsa-jcs-2019 is accepted (#17): an ecdsa-rdfc-2019 signature relabelled as it does not verify.
    t["proof"]["cryptosuite"] = json!("ecdsa-jcs-2019");
    let report = verify_credential(&t, &at("2026-06-01T00:00:00Z")).await.unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
}

#[tokio::test]
async fn malformed_inputs_are_errors_not_reports() {
    let vc = signed_health_certificate(&test_key()).await;
    let opts = at("2026-06-01T00:00:00Z");
    assert_eq!(verify_credential(&json!([1, 2]), &opts).await.unwrap_err().code(), "not_an_object");
    let mut no_proof = vc.clone();
    no_proof.as_object_mut().unwrap().remove("proof");
    assert_eq!(verify_credential(&no_proof, &opts).await.unwrap_err().code(), "missing_proof");
    let mut unknown_ctx = vc.clone();
    unknown_ctx["@context"] = json!(["https://www.w3.org/ns/credentials/v2", "https://evil.example/ctx/v1"]);
    assert_eq!(verify_credential(&unknown_ctx, &opts).await.unwrap_err().code(), "unknown_context");
    let mut bad_pv = vc.clone();
    bad_pv["proof"]["proofValue"] = json!("not multibase at all!");
    assert!(
        verify_credential(&bad_pv, &opts).await.is_err() || !verify_credential(&bad_pv, &opts).await.unwrap().verified
    );
}

#[tokio::test]
async fn signing_refuses_bad_input() {
    let key = test_key();
    let vc = signed_health_certificate(&key).await;
    assert_eq!(sign_credential(&vc, &key, Utc::now()).await.unwrap_err().code(), "already_signed");
    let no_subject = json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "issuer": key.did()});
    assert!(sign_credential(&no_subject, &key, Utc::now()).await.is_err());
}

#[tokio::test]
async fn vc_1_1_credentials_get_the_data_integrity_context_and_verify() {
    let key = test_key();
    let v1 = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": key.did(),
        "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:1"}
    });
    let vc = sign_credential(&v1, &key, Utc::now()).await.unwrap();
    assert_eq!(
        vc["@context"],
        json!(["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/data-integrity/v2"])
    );
    let report = verify_credential(&vc, &at("2025-01-01T00:00:00Z")).await.unwrap();
    assert!(report.verified, "{report:#?}");
}

#[tokio::test]
async fn presentations_verify_each_credential_and_refuse_unsigned_self_assertions() {
    use wallet_core::verification::{verify_presentation, CredentialOutcome};
    let vc = signed_health_certificate(&test_key()).await;
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [vc]
    });
    let report = verify_presentation(&vp, &at("2026-06-01T00:00:00Z"), None, None).await.unwrap();
    assert!(report.verified, "{report:#?}");
    assert!(matches!(report.proof, CheckResult::Unchecked { .. }));
    assert!(report.warnings.iter().any(|w| w.code == "unsigned_presentation"));
    // Asking for a challenge from an unsigned presentation fails.
    let report = verify_presentation(&vp, &at("2026-06-01T00:00:00Z"), Some("abc"), None).await.unwrap();
    assert_eq!(report.proof.invalid_code(), Some("missing_proof"));
    assert!(!report.verified);
    // A tampered credential inside fails the presentation.
    let mut bad = vp.clone();
    bad["verifiableCredential"][0]["credentialSubject"]["fullName"] = json!("王小明");
    let report = verify_presentation(&bad, &at("2026-06-01T00:00:00Z"), None, None).await.unwrap();
    assert!(!report.verified);
    // A self-asserted credential in an unsigned presentation is not accepted.
    let self_asserted = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiablePresentation"],
        "holder": "did:example:holder",
        "verifiableCredential": [{
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
            "type": ["VerifiableCredential"],
            "issuer": "did:example:holder",
            "credentialSubject": {"id": "did:example:holder", "name": "me"}
        }]
    });
    let report = verify_presentation(&self_asserted, &at("2026-06-01T00:00:00Z"), None, None).await.unwrap();
    assert!(!report.verified, "{report:#?}");
    match &report.credentials[0] {
        CredentialOutcome::Report(r) => assert_eq!(r.checks.signature.invalid_code(), Some("self_asserted_unsigned")),
        other => panic!("{other:?}"),
    }
}

// ---- issuer trust through a department trust list ----

fn trust_store() -> std::sync::Arc<wallet_core::trust::TrustStore> {
    use wallet_core::trust::{certificate_pem_to_der, TrustList};
    let roots: Vec<Vec<u8>> = ["trust/health-commission-root.pem", "trust/market-supervision-root.pem"]
        .iter()
        .map(|p| certificate_pem_to_der(&fixture(p)).unwrap())
        .collect();
    let bytes = fixture("trust/trust-list.json").into_bytes();
    let now = DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z").unwrap().with_timezone(&Utc);
    std::sync::Arc::new(TrustList::load(&bytes, &roots, now, chrono::Duration::days(1)).unwrap())
}

fn trusted_at(s: &str, store: std::sync::Arc<wallet_core::trust::TrustStore>) -> VerifyOptions {
    use wallet_core::verification::IssuerTrust;
    let list =
        IssuerTrust::List { store, warn_after: chrono::Duration::hours(24), max_age: chrono::Duration::days(3650) };
    at(s).with_trust(list, true)
}

#[tokio::test]
async fn a_certified_clinic_is_trusted_for_health_certificates_only() {
    let store = trust_store();
    let key = test_key();
    let vc = signed_health_certificate(&key).await;
    let report = verify_credential(&vc, &trusted_at("2026-06-01T00:00:00Z", store.clone())).await.unwrap();
    assert_eq!(report.checks.issuer_trust, CheckResult::Valid, "{report:#?}");
    assert!(report.verified);
    let issuer = report.trusted_issuer.unwrap();
    assert_eq!(issuer.organization_name, "示例市第一人民医院体检中心");
    assert_eq!(issuer.did, key.did());

    // The same clinic issuing a licence: its certificate does not allow it.
    let req = json!({
        "licenceNumber": "JY14401030012345", "licensee": "好味道餐饮店", "unifiedSocialCreditCode": "91350100M000100Y43",
        "legalRepresentative": "李四", "businessAddress": "中山五路100号", "businessScope": ["热食类食品制售"],
        "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-12-31T23:59:59Z"
    });
    let unsigned = unsigned_of("FoodBusinessLicence", &req, &key.did());
    let licence = sign_credential(&unsigned, &key, Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()).await.unwrap();
    let report = verify_credential(&licence, &trusted_at("2026-06-01T00:00:00Z", store.clone())).await.unwrap();
    assert_eq!(report.checks.issuer_trust.invalid_code(), Some("type_not_allowed"));
    assert!(!report.verified);

    // The licensing office may issue licences.
    let office = IssuerKey::from_pkcs8_pem(&fixture("keys/other-issuer.pem")).unwrap();
    let unsigned = unsigned_of("FoodBusinessLicence", &req, &office.did());
    let licence =
        sign_credential(&unsigned, &office, Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()).await.unwrap();
    let report = verify_credential(&licence, &trusted_at("2026-06-01T00:00:00Z", store)).await.unwrap();
    assert!(report.verified, "{report:#?}");
}

#[tokio::test]
async fn an_uncertified_key_and_a_stale_list_are_not_trusted() {
    let store = trust_store();
    let stranger = IssuerKey::generate();
    let vc = signed_health_certificate(&stranger).await;
    let report = verify_credential(&vc, &trusted_at("2026-06-01T00:00:00Z", store.clone())).await.unwrap();
    assert_eq!(report.checks.issuer_trust.invalid_code(), Some("unknown_issuer"));
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert!(!report.verified);

    let vc = signed_health_certificate(&test_key()).await;
    let stale =
        at("2026-06-01T00:00:00Z").with_trust(wallet_core::verification::IssuerTrust::list(store.clone()), true);
    let report = verify_credential(&vc, &stale).await.unwrap();
    assert_eq!(report.checks.issuer_trust.invalid_code(), Some("stale_trust_list"));
    assert!(!report.verified);

    // Required trust with no list at all: not verified, and says why.
    let report =
        verify_credential(&vc, &at("2026-06-01T00:00:00Z").with_trust(Default::default(), true)).await.unwrap();
    assert!(matches!(&report.checks.issuer_trust, CheckResult::Unchecked { code, .. } if code == "no_trust_list"));
    assert!(!report.verified);
}

#[tokio::test]
async fn after_key_rotation_status_lists_signed_by_the_new_key_still_cover_old_credentials() {
    use wallet_core::status::{
        status_list_credential, Bitstring, StatusEntry, StatusListCache, StatusPolicy, StatusPurpose,
    };
    use wallet_core::trust::*;
    use wallet_core::verification::{IssuerTrust, StatusSource};
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let root_pem = fixture("trust/health-commission-root.pem");
    let root_key =
        decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), "test-only-passphrase").unwrap();
    let old_key = test_key();
    let new_key = IssuerKey::generate();
    let other_org = IssuerKey::generate();
    // A key the clinic retired (revoked, superseded) before the list was made.
    let retired_key = IssuerKey::generate();
    let retired_serial = random_serial();
    let validity = CertificateValidity {
        not_before: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        not_after: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
    };
    let certify_with = |key: &IssuerKey, usci: &str, serial: &[u8]| {
        let csr = create_csr(key, "示例市第一人民医院体检中心", usci, &key.did()).unwrap();
        certificate_pem_to_der(
            &issue_certificate(&csr, &root_pem, &root_key, &["HealthCertificate"], &validity, serial).unwrap(),
        )
        .unwrap()
    };
    let certify = |key: &IssuerKey, usci: &str| certify_with(key, usci, &random_serial());
    let contents = TrustListContents {
        sequence: 2,
        issued_at: now - chrono::Duration::hours(1),
        next_update: now + chrono::Duration::days(7),
        roots: vec![certificate_pem_to_der(&root_pem).unwrap()],
        issuer_certificates: vec![
            certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap(),
            certify(&new_key, "12110000MB0000001U"), // the clinic's new key: same organisation
            certify(&other_org, "91350100M000100Y43"), // another organisation
            certify_with(&retired_key, "12110000MB0000001U", &retired_serial), // the clinic's, retired
        ],
        crls: vec![create_crl(
            &root_pem,
            &root_key,
            &[RevocationEntry {
                serial: retired_serial.clone(),
                revoked_at: Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
                reason: RevocationReason::Superseded,
                invalidity_date: None,
            }],
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .unwrap()],
    };
    let list_bytes = build_trust_list(&contents, &root_key, &[certificate_pem_to_der(&root_pem).unwrap()]).unwrap();
    let store = std::sync::Arc::new(
        TrustList::load(&list_bytes, &[certificate_pem_to_der(&root_pem).unwrap()], now, chrono::Duration::days(1))
            .unwrap(),
    );

    // A credential signed with the OLD key, pointing at a revocation list.
    let url = "https://issuer.example.gov.cn/status/1";
    let suspension_url = "https://issuer.example.gov.cn/status/2";
    let mut unsigned = unsigned_of("HealthCertificate", &health_request(), &old_key.did());
    unsigned["credentialStatus"] = json!([
        StatusEntry::new(StatusPurpose::Revocation, 42, url).to_json(),
        StatusEntry::new(StatusPurpose::Suspension, 42, suspension_url).to_json()
    ]);
    let vc = sign_credential(&unsigned, &old_key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap();

    let verify_with_list_signed_by = |signer: IssuerKey| {
        let store = store.clone();
        let vc = vc.clone();
        async move {
            let bits = Bitstring::new(131_072);
            let mut cache = StatusListCache::default();
            for (url, purpose) in [(url, StatusPurpose::Revocation), (suspension_url, StatusPurpose::Suspension)] {
                let list = status_list_credential(
                    url,
                    &signer.did(),
                    purpose,
                    &bits,
                    now - chrono::Duration::hours(1),
                    now + chrono::Duration::days(7),
                );
                let list = sign_credential(&list, &signer, now - chrono::Duration::hours(1)).await.unwrap();
                cache.offer(url, &list, now, now).await.unwrap();
            }
            let trusted = at("2026-06-01T00:00:00Z")
                .with_trust(
                    IssuerTrust::List {
                        store,
                        warn_after: chrono::Duration::hours(24),
                        max_age: chrono::Duration::days(3650),
                    },
                    true,
                )
                .with_status(StatusSource::Cache { cache: cache.clone().into(), policy: StatusPolicy::default() });
            let untrusted = at("2026-06-01T00:00:00Z")
                .with_status(StatusSource::Cache { cache: cache.into(), policy: StatusPolicy::default() });
            (verify_credential(&vc, &trusted).await.unwrap(), verify_credential(&vc, &untrusted).await.unwrap())
        }
    };
    let (trusted, untrusted) = verify_with_list_signed_by(new_key.clone()).await;
    assert_eq!(trusted.checks.status, CheckResult::Valid, "{trusted:#?}");
    assert!(trusted.verified);
    // Without a trust list nothing says the new key is the clinic's.
    assert_eq!(untrusted.checks.status.invalid_code(), Some("status_list_wrong_issuer"));
    // Another organisation's key cannot vouch for the clinic's credentials.
    let (trusted, _) = verify_with_list_signed_by(other_org).await;
    assert_eq!(trusted.checks.status.invalid_code(), Some("status_list_wrong_issuer"));
    // Attack review 3: nor can a key of the clinic revoked before the list was
    // made (retired, expired, compromised): whoever holds it would clear the
    // revocations of every credential the clinic signed, its current key's too.
    let (trusted, _) = verify_with_list_signed_by(retired_key).await;
    assert_eq!(trusted.checks.status.invalid_code(), Some("status_list_wrong_issuer"), "{trusted:#?}");
}

// ---- issue #13: exact type authorisation, status lists bound to the assessed key ----

/// A trust list (health commission root, as of 2026-06-01) certifying the
/// clinic's fixture key for health certificates and each `(key, usci, types)`.
fn trust_with(extra: &[(&IssuerKey, &str, &[&str])]) -> std::sync::Arc<wallet_core::trust::TrustStore> {
    use wallet_core::trust::*;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let root_pem = fixture("trust/health-commission-root.pem");
    let root_key =
        decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), "test-only-passphrase").unwrap();
    let validity = CertificateValidity {
        not_before: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        not_after: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
    };
    let mut issuer_certificates = vec![certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap()];
    for (key, usci, types) in extra {
        let csr = create_csr(key, "示例市动物诊疗中心", usci, &key.did()).unwrap();
        let pem = issue_certificate(&csr, &root_pem, &root_key, types, &validity, &random_serial()).unwrap();
        issuer_certificates.push(certificate_pem_to_der(&pem).unwrap());
    }
    let contents = TrustListContents {
        sequence: 3,
        issued_at: now - chrono::Duration::hours(1),
        next_update: now + chrono::Duration::days(7),
        roots: vec![certificate_pem_to_der(&root_pem).unwrap()],
        issuer_certificates,
        crls: vec![create_crl(
            &root_pem,
            &root_key,
            &[],
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .unwrap()],
    };
    let bytes = build_trust_list(&contents, &root_key, &[certificate_pem_to_der(&root_pem).unwrap()]).unwrap();
    std::sync::Arc::new(
        TrustList::load(&bytes, &[certificate_pem_to_der(&root_pem).unwrap()], now, chrono::Duration::days(1)).unwrap(),
    )
}

/// An animal clinic certified only for dog vaccination certificates signs a
/// credential typed `[VerifiableCredential, HealthCertificate,
/// DogVaccinationCertificate]`: issuer trust fails naming `HealthCertificate`,
/// and nothing in the report calls it a health certificate.
#[tokio::test]
async fn a_type_the_issuer_is_not_authorised_for_cannot_ride_along() {
    let vet = IssuerKey::generate();
    let store = trust_with(&[(&vet, "91350100M000100Y43", &["DogVaccinationCertificate"])]);
    let dog_request = json!({
        "ownerName": "陈静", "dogName": "旺财", "breed": "中华田园犬", "dogSex": "male", "birthYear": 2022,
        "microchipNumber": "900123456789012", "vaccine": "rabies", "vaccinationDate": "2026-03-01",
        "vaccinationClinic": "示例市动物疫病预防控制中心"
    });
    let honest = unsigned_of("DogVaccinationCertificate", &dog_request, &vet.did());
    let mut smuggled = honest.clone();
    smuggled["type"] = json!(["VerifiableCredential", "HealthCertificate", "DogVaccinationCertificate"]);
    // With the contexts that define both types (the signature must verify).
    let health = unsigned_of("HealthCertificate", &health_request(), &vet.did());
    let mut contexts = smuggled["@context"].as_array().unwrap().clone();
    for c in health["@context"].as_array().unwrap() {
        if !contexts.contains(c) {
            contexts.push(c.clone());
        }
    }
    smuggled["@context"] = json!(contexts);
    let signed_at = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap();
    let smuggled = sign_credential(&smuggled, &vet, signed_at).await.unwrap();
    let report = verify_credential(&smuggled, &trusted_at("2026-06-01T00:00:00Z", store.clone())).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
    assert_eq!(report.checks.issuer_trust.invalid_code(), Some("type_not_allowed"), "{report:#?}");
    let CheckResult::Invalid { reason, .. } = &report.checks.issuer_trust else { unreachable!() };
    assert!(reason.en.contains("HealthCertificate") && reason.zh.contains("HealthCertificate"), "{reason}");
    assert!(!report.verified);
    assert!(report.trusted_issuer.is_none());
    let shown =
        wallet_core::ui_text::authorised_kind_name(&TypeRegistry::default(), &report, wallet_core::ui_text::Lang::En);
    assert!(!shown.to_lowercase().contains("health"), "{shown}");

    // Its honest credential verifies, and is named by its authorised type.
    let honest = sign_credential(&honest, &vet, signed_at).await.unwrap();
    let report = verify_credential(&honest, &trusted_at("2026-06-01T00:00:00Z", store)).await.unwrap();
    assert!(report.checks.issuer_trust.is_valid(), "{report:#?}");
    assert_eq!(report.trusted_issuer.as_ref().unwrap().authorised_types, ["DogVaccinationCertificate"]);
    let def = TypeRegistry::shipped().unwrap().by_type("DogVaccinationCertificate").unwrap().clone();
    assert_eq!(
        wallet_core::ui_text::authorised_kind_name(&TypeRegistry::default(), &report, wallet_core::ui_text::Lang::En),
        def.name.en
    );
}

/// The clinic's credential is revoked. An attacker adds a second, valid proof
/// by their own did:key (after or before the clinic's) and publishes, at the
/// same URL, a newer all-clear list signed by that key. Nothing changes:
/// trust is still the clinic's, only the clinic's list counts, and the
/// attacker's list neither displaces nor locks out the clinic's.
#[tokio::test]
async fn an_extra_proof_does_not_bring_its_own_status_list() {
    use wallet_core::status::{
        status_list_credential, Bitstring, StatusEntry, StatusListCache, StatusPolicy, StatusPurpose,
    };
    use wallet_core::verification::StatusSource;
    let clinic = test_key();
    let attacker = IssuerKey::generate();
    let store = trust_with(&[]);
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let url = "https://issuer.example.gov.cn/status/7";
    let mut unsigned = unsigned_of("HealthCertificate", &health_request(), &clinic.did());
    unsigned["credentialStatus"] = json!([StatusEntry::new(StatusPurpose::Revocation, 42, url).to_json()]);
    let signed_at = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap();
    let genuine = sign_credential(&unsigned, &clinic, signed_at).await.unwrap();
    let theirs = sign_credential(&unsigned, &attacker, signed_at).await.unwrap();
    let appended = {
        let mut vc = genuine.clone();
        vc["proof"] = json!([genuine["proof"].clone(), theirs["proof"].clone()]);
        vc
    };
    let prepended = {
        let mut vc = genuine.clone();
        vc["proof"] = json!([theirs["proof"].clone(), genuine["proof"].clone()]);
        vc
    };
    let list = |signer: &IssuerKey, revoked: bool, valid_from: DateTime<Utc>| {
        let mut bits = Bitstring::new(131_072);
        bits.set(42, revoked).unwrap();
        let unsigned = status_list_credential(
            url,
            &signer.did(),
            StatusPurpose::Revocation,
            &bits,
            valid_from,
            now + chrono::Duration::days(7),
        );
        let signer = signer.clone();
        async move { sign_credential(&unsigned, &signer, valid_from).await.unwrap() }
    };
    let clinic_list = list(&clinic, true, now - chrono::Duration::hours(2)).await;
    let attacker_list = list(&attacker, false, now - chrono::Duration::minutes(1)).await;

    // The attacker's list arrives first, then the clinic's older-dated one:
    // not refused as a rollback (lock-out), and then the attacker's again.
    let mut cache = StatusListCache::default();
    cache.offer(url, &attacker_list, now, now).await.unwrap();
    cache.offer(url, &clinic_list, now, now).await.expect("another signer's newer list must not lock the issuer's out");
    cache.offer(url, &attacker_list, now, now).await.unwrap();
    assert!(cache.get_signed_by(url, &clinic.did()).is_some(), "the attacker's list did not replace the clinic's");

    for (name, vc) in [("genuine", &genuine), ("appended", &appended), ("prepended", &prepended)] {
        let options = trusted_at("2026-06-01T00:00:00Z", store.clone())
            .with_status(StatusSource::Cache { cache: cache.clone().into(), policy: StatusPolicy::default() });
        let report = verify_credential(vc, &options).await.unwrap();
        assert!(report.checks.signature.is_valid(), "{name}: {report:#?}");
        assert!(report.checks.issuer_trust.is_valid(), "{name}: {report:#?}");
        assert_eq!(report.trusted_issuer.as_ref().unwrap().did, clinic.did(), "{name}");
        assert_eq!(report.checks.status.invalid_code(), Some("revoked"), "{name}: {report:#?}");
        assert!(!report.verified, "{name}");
    }

    // Only the attacker's list held: it does not count for the clinic's credential.
    let mut only_theirs = StatusListCache::default();
    only_theirs.offer(url, &attacker_list, now, now).await.unwrap();
    let options = trusted_at("2026-06-01T00:00:00Z", store)
        .with_status(StatusSource::Cache { cache: only_theirs.into(), policy: StatusPolicy::default() });
    let report = verify_credential(&appended, &options).await.unwrap();
    assert_eq!(report.checks.status.invalid_code(), Some("status_list_wrong_issuer"), "{report:#?}");
    assert!(!report.verified);
}

#[tokio::test]
async fn a_credential_pointing_at_related_resources_says_their_digests_were_not_checked() {
    let key = IssuerKey::generate();
    let mut vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": key.did(),
        "credentialSubject": {"id": "did:example:123"}
    });
    let plain = sign_credential(&vc, &key, Utc::now()).await.unwrap();
    let report = verify_credential(&plain, &VerifyOptions::default()).await.unwrap();
    assert!(report.warnings.iter().all(|w| w.code != "related_resource_not_checked"), "{report:#?}");
    vc["relatedResource"] = json!([{
        "id": "https://www.w3.org/ns/credentials/v2",
        "digestSRI": "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
    }]);
    let with_resource = sign_credential(&vc, &key, Utc::now()).await.unwrap();
    let report = verify_credential(&with_resource, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
    assert!(report.warnings.iter().any(|w| w.code == "related_resource_not_checked"), "{report:#?}");
}

/// Base58 decoding is quadratic in its input (100,000 characters took 1.7 s):
/// an oversized base58 `proofValue` or did:key verification method is refused
/// as unreadable before anything decodes it, and the library parsers that
/// decode did:keys refuse them too.
#[tokio::test]
async fn oversized_base58_proof_values_and_keys_are_refused_before_decoding() {
    let key = test_key();
    let vc = signed_health_certificate(&key).await;
    let options = at("2026-06-01T00:00:00Z");
    let mut long_value = vc.clone();
    long_value["proof"]["proofValue"] = serde_json::json!(format!("z{}", "2".repeat(200_000)));
    let long_id = format!("z{}", "2".repeat(100_000));
    let mut long_method = vc.clone();
    long_method["proof"]["verificationMethod"] = serde_json::json!(format!("did:key:{long_id}#{long_id}"));
    for (what, doc) in [("proofValue", long_value), ("verificationMethod", long_method)] {
        match verify_credential(&doc, &options).await {
            Err(e) => assert_eq!(e.code(), "unreadable_proof", "{what}"),
            Ok(report) => panic!("{what}: expected unreadable_proof, got a report {:?}", report.verified),
        }
    }
    assert!(wallet_core::keys::p256_key_from_did(&format!("did:key:{long_id}")).is_err());
    assert!(wallet_core::sm2_rdfc_2026::sm2_key_from_did(&format!("did:key:{long_id}")).is_err());
    // The bounds leave every real key and signature alone.
    assert!(verify_credential(&vc, &options).await.unwrap().verified);
}
