//! `sm2-rdfc-2026` in the one verification routine: the per-check report of an
//! SM2 credential, its binding to the issuer's SM2 certificate under a
//! department root (never across algorithms), status lists signed by the SM2
//! issuer, malformed SM2 proofs and keys as report codes, and an SM2 issuer
//! ([`Sm2IssuerSigner`]) through `sign_credential`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::signer::{IssuerSigner, Sm2IssuerSigner};
use wallet_core::sm2_rdfc_2026::{Sm2IssuerKey, CRYPTOSUITE};
use wallet_core::status::{status_list_credential, Bitstring, StatusListCache, StatusPolicy, StatusPurpose};
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    CertificateValidity, DepartmentName, TrustAlgorithm, TrustKey, TrustList, TrustListContents, TrustStore,
};
use wallet_core::verification::{verify_credential, CheckResult, IssuerTrust, StatusSource, VerifyOptions};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("test time").with_timezone(&Utc)
}

const LIST_ISSUED: &str = "2026-06-01T00:00:00Z";

fn now() -> DateTime<Utc> {
    at(LIST_ISSUED) + Duration::hours(1)
}

fn window(from: &str, to: &str) -> CertificateValidity {
    CertificateValidity { not_before: at(from), not_after: at(to) }
}

/// The shipped health certificate without its proof, issued by `issuer`.
fn unsigned(issuer: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/qr/sample-health-certificate.signed.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("proof");
    doc["issuer"] = json!(issuer);
    doc
}

fn signed_at() -> DateTime<Utc> {
    at("2026-05-01T08:00:00Z")
}

/// A department root of `root_alg` certifying clinics with these keys, and its trust list.
fn trust_store(root_alg: TrustAlgorithm, clinics: &[&TrustKey]) -> TrustStore {
    let root_key = TrustKey::generate(root_alg);
    let root_pem = create_root(
        &DepartmentName {
            organization: "示例市卫生健康委员会".into(),
            common_name: "示例市卫生健康委员会根证书".into(),
        },
        &window("2025-01-01T00:00:00Z", "2045-01-01T00:00:00Z"),
        &root_key,
    )
    .unwrap();
    let root_der = certificate_pem_to_der(&root_pem).unwrap();
    let certificates = clinics
        .iter()
        .map(|key| {
            let csr = create_csr(*key, "示例市第一人民医院", "12110000MB0000001U", &key.did()).unwrap();
            let pem = issue_certificate(
                &csr,
                &root_pem,
                &root_key,
                &[HEALTH_CERTIFICATE_TYPE],
                &window("2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
                &random_serial(),
            )
            .unwrap();
            certificate_pem_to_der(&pem).unwrap()
        })
        .collect();
    let contents = TrustListContents {
        sequence: 1,
        issued_at: at(LIST_ISSUED),
        next_update: at(LIST_ISSUED) + Duration::days(2),
        roots: vec![root_der.clone()],
        issuer_certificates: certificates,
        crls: Vec::new(),
    };
    let this_update = at("2026-05-31T00:00:00Z");
    let crl = create_crl(&root_pem, &root_key, &[], this_update, this_update + Duration::days(30)).unwrap();
    let contents = TrustListContents { crls: vec![crl], ..contents };
    let list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).unwrap();
    TrustList::load(&list, &[&root_der], now(), Duration::days(1)).unwrap()
}

fn options(store: TrustStore) -> VerifyOptions {
    VerifyOptions::at(now()).with_trust(IssuerTrust::list(Arc::new(store)), true)
}

fn sm2_of(key: &TrustKey) -> Sm2IssuerKey {
    match key {
        TrustKey::Sm2(k) => k.clone(),
        TrustKey::P256(_) => panic!("not SM2"),
    }
}

fn p256_of(key: &TrustKey) -> IssuerKey {
    match key {
        TrustKey::P256(k) => k.clone(),
        TrustKey::Sm2(_) => panic!("not P-256"),
    }
}

#[track_caller]
fn assert_invalid(result: &CheckResult, code: &str) {
    match result {
        CheckResult::Invalid { code: c, reason } => {
            assert_eq!(c, code, "reason: {reason:?}");
            assert!(!reason.zh.is_empty() && !reason.en.is_empty());
        }
        other => panic!("expected invalid {code}, got {other:?}"),
    }
}

async fn sm2_credential(key: &Sm2IssuerKey) -> Value {
    wallet_core::sm2_rdfc_2026::sign(&unsigned(&key.did()), key, signed_at()).await.unwrap()
}

#[tokio::test]
async fn an_sm2_credential_certified_by_an_sm2_root_verifies_with_every_check() {
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let vc = sm2_credential(&sm2_of(&clinic)).await;
    let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::Sm2, &[&clinic]))).await.unwrap();
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_eq!(report.checks.issuer_trust, CheckResult::Valid);
    assert_eq!(report.trusted_issuer.as_ref().and_then(|t| t.usci.as_deref()), Some("12110000MB0000001U"));
    // A P-256 department root may certify an SM2 clinic too.
    let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::P256, &[&clinic]))).await.unwrap();
    assert!(report.verified, "{report:#?}");
}

#[tokio::test]
async fn tampering_with_an_sm2_credential_is_bad_signature() {
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let mut vc = sm2_credential(&sm2_of(&clinic)).await;
    vc["credentialSubject"]["fullName"] = json!("王五");
    let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::Sm2, &[&clinic]))).await.unwrap();
    assert!(!report.verified);
    assert_invalid(&report.checks.signature, "bad_signature");
}

#[tokio::test]
async fn an_uncertified_sm2_key_is_an_unknown_issuer() {
    let certified = TrustKey::generate(TrustAlgorithm::Sm2);
    let other = Sm2IssuerKey::generate();
    let vc = sm2_credential(&other).await;
    let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::Sm2, &[&certified]))).await.unwrap();
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_invalid(&report.checks.issuer_trust, "unknown_issuer");
    assert!(!report.verified);
}

#[tokio::test]
async fn an_sm2_certificate_never_vouches_for_a_p256_proof_nor_the_reverse() {
    // A P-256 key signs in the name of the SM2-certified issuer.
    let sm2_clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let p256 = IssuerKey::generate();
    let claimed = sm2_clinic.did();
    let vc = sign_credential(&unsigned(&claimed), &p256, signed_at()).await.unwrap();
    let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::Sm2, &[&sm2_clinic]))).await.unwrap();
    assert!(!report.verified);
    assert_invalid(&report.checks.issuer_trust, "issuer_not_key_controller");
    // The same P-256 signature relabelled with the SM2 key's verification method.
    let mut relabelled = vc.clone();
    let sm2_key = sm2_of(&sm2_clinic);
    relabelled["proof"]["verificationMethod"] = json!(sm2_key.verification_method());
    let report =
        verify_credential(&relabelled, &options(trust_store(TrustAlgorithm::Sm2, &[&sm2_clinic]))).await.unwrap();
    assert!(!report.verified);
    assert!(report.checks.signature.is_invalid(), "{:?}", report.checks.signature);
    // An SM2 proof whose verification method names a P-256 certified key.
    let p256_clinic = TrustKey::generate(TrustAlgorithm::P256);
    let mut vc = sm2_credential(&Sm2IssuerKey::generate()).await;
    let p256_key = p256_of(&p256_clinic);
    vc["issuer"] = json!(p256_key.did());
    vc["proof"]["verificationMethod"] = json!(p256_key.verification_method());
    let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::P256, &[&p256_clinic]))).await.unwrap();
    assert!(!report.verified);
    assert_invalid(&report.checks.signature, "unsupported_key");
}

#[tokio::test]
async fn malformed_sm2_proofs_and_keys_are_report_codes() {
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let key = sm2_of(&clinic);
    let vc = sm2_credential(&key).await;
    let store = || options(trust_store(TrustAlgorithm::Sm2, &[&clinic]));
    let good = vc["proof"]["proofValue"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("63-byte signature", json!(format!("z{}", bs58::encode([1_u8; 63]).into_string())), "bad_signature"),
        ("65-byte signature", json!(format!("z{}", bs58::encode([1_u8; 65]).into_string())), "bad_signature"),
        ("zero r and s", json!(format!("z{}", bs58::encode([0_u8; 64]).into_string())), "bad_signature"),
        ("not base58", json!("z0OIl"), "bad_signature"),
        ("base64url, not base58", json!(format!("u{}", &good[1..])), "bad_signature"),
    ];
    for (what, value, code) in cases {
        let mut bad = vc.clone();
        bad["proof"]["proofValue"] = value;
        let report = verify_credential(&bad, &store()).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!report.verified, "{what}");
        assert_invalid(&report.checks.signature, code);
    }
    let mb = wallet_core::sm2_rdfc_2026::public_key_multibase(&key.public_key());
    // x = 2^256 - 1 is beyond the field: no point has it.
    let mut not_on_curve = vec![0x86_u8, 0x24, 0x02];
    not_on_curve.extend([0xff_u8; 32]);
    let not_on_curve = format!("z{}", bs58::encode(not_on_curve).into_string());
    let methods = vec![
        ("other fragment", format!("did:key:{mb}#{}", Sm2IssuerKey::generate().did().trim_start_matches("did:key:"))),
        ("short key", format!("did:key:z{0}#z{0}", bs58::encode([0x86_u8, 0x24, 2, 1, 2]).into_string())),
        ("point not on the curve", format!("did:key:{not_on_curve}#{not_on_curve}")),
        ("not a did:key", "did:web:example.gov.cn#key-1".to_owned()),
    ];
    for (what, method) in methods {
        let mut bad = vc.clone();
        bad["proof"]["verificationMethod"] = json!(method);
        match verify_credential(&bad, &store()).await {
            Ok(report) => {
                assert!(!report.verified, "{what}");
                assert_invalid(&report.checks.signature, "unsupported_key");
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
    // A member the verifier does not check, and an SM2 proof in a proof set.
    let mut expires = vc.clone();
    expires["proof"]["expires"] = json!("2030-01-01T00:00:00Z");
    let report = verify_credential(&expires, &store()).await.unwrap();
    assert_invalid(&report.checks.signature, "unsupported_proof_member");
    let mut set = vc.clone();
    set["proof"] = json!([vc["proof"].clone()]);
    let report = verify_credential(&set, &store()).await.unwrap();
    assert_invalid(&report.checks.signature, "unsupported_cryptosuite");
}

#[tokio::test]
async fn an_sm2_issuer_signs_credentials_and_status_lists_that_verify() {
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let signer = Sm2IssuerSigner::new(sm2_of(&clinic), Arc::new(IssuerKey::generate()));
    assert_eq!(signer.did(), clinic.did());
    let url = "https://issuer.example.gov.cn/status/3";
    let mut vc = unsigned(&signer.did());
    let suspension_url = "https://issuer.example.gov.cn/status/4";
    vc["credentialStatus"] = json!([{
        "id": format!("{url}#94567"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "94567", "statusListCredential": url,
    }, {
        "id": format!("{suspension_url}#94567"), "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
        "statusListIndex": "94567", "statusListCredential": suspension_url,
    }]);
    let vc = sign_credential(&vc, &signer, signed_at()).await.unwrap();
    let suspension_list = sign_credential(
        &status_list_credential(
            suspension_url,
            &signer.did(),
            StatusPurpose::Suspension,
            &Bitstring::new(131_072),
            now() - Duration::minutes(10),
            now() + Duration::days(1),
        ),
        &signer,
        now() - Duration::minutes(10),
    )
    .await
    .unwrap();
    assert_eq!(vc["proof"]["cryptosuite"], CRYPTOSUITE);
    assert_eq!(vc["proof"]["verificationMethod"], json!(signer.verification_method()));

    let list_for = |revoked: bool| {
        let mut bits = Bitstring::new(131_072);
        bits.set(94_567, revoked).unwrap();
        status_list_credential(
            url,
            &signer.did(),
            StatusPurpose::Revocation,
            &bits,
            now() - Duration::minutes(10),
            now() + Duration::days(1),
        )
    };
    let check = |list: Value| {
        let vc = vc.clone();
        let clinic = &clinic;
        let suspension_list = suspension_list.clone();
        async move {
            let mut cache = StatusListCache::default();
            cache.offer(url, &list, now(), now()).await.unwrap();
            cache.offer(suspension_url, &suspension_list, now(), now()).await.unwrap();
            let options = options(trust_store(TrustAlgorithm::Sm2, &[clinic]))
                .with_status(StatusSource::Cache { cache: Arc::new(cache), policy: StatusPolicy::default() });
            verify_credential(&vc, &options).await.unwrap()
        }
    };
    let clear = sign_credential(&list_for(false), &signer, now() - Duration::minutes(10)).await.unwrap();
    assert_eq!(clear["proof"]["cryptosuite"], CRYPTOSUITE);
    let report = check(clear).await;
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.checks.status, CheckResult::Valid);
    let revoked = sign_credential(&list_for(true), &signer, now() - Duration::minutes(10)).await.unwrap();
    let report = check(revoked).await;
    assert!(!report.verified);
    assert_invalid(&report.checks.status, "revoked");

    // Neither a presentation nor an ecdsa-sd-2023 base proof is signed by an SM2 issuer.
    assert!(wallet_core::selective_disclosure::sign_base_with(
        &Default::default(),
        &unsigned(&signer.did()),
        &signer,
        signed_at(),
        &["/issuer".to_owned()],
    )
    .await
    .is_err());
}

#[tokio::test]
async fn the_compact_qr_form_carries_an_sm2_proof_and_gets_the_same_verdict() {
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let key = sm2_of(&clinic);
    let vc = sm2_credential(&key).await;
    let text = wallet_core::compact::encode_credential(&vc).unwrap();
    // Lossless: the suite is a one-term code, the did:key and the 64-byte
    // signature are bytes (compare the P-256 form of the same credential).
    assert_eq!(wallet_core::compact::decode_credential(&text).unwrap(), vc);
    let cbor = wallet_core::compact::encode_cbor(&vc).unwrap();
    assert!(!cbor.windows(CRYPTOSUITE.len()).any(|w| w == CRYPTOSUITE.as_bytes()), "the suite is a term code");
    let signature = bs58::decode(&vc["proof"]["proofValue"].as_str().unwrap()[1..]).into_vec().unwrap();
    assert!(cbor.windows(64).any(|w| w == signature.as_slice()), "the signature is carried as 64 raw bytes");
    let p256 = IssuerKey::generate();
    let p256_vc = sign_credential(&unsigned(&p256.did()), &p256, signed_at()).await.unwrap();
    let p256_len = wallet_core::compact::encode_credential(&p256_vc).unwrap().len();
    assert!(text.len() <= p256_len + 6, "SM2 QR text {} vs P-256 {p256_len}", text.len());

    let verdict = |vc: Value| {
        let clinic = &clinic;
        async move {
            let report = verify_credential(&vc, &options(trust_store(TrustAlgorithm::Sm2, &[clinic]))).await.unwrap();
            (report.verified, report.checks.signature.invalid_code().map(str::to_owned))
        }
    };
    let scanned = wallet_core::compact::decode_credential(&text).unwrap();
    assert_eq!(verdict(scanned).await, (true, None));
    assert_eq!(verdict(vc.clone()).await, (true, None));
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["fullName"] = json!("王五");
    let tampered_text = wallet_core::compact::encode_credential(&tampered).unwrap();
    let scanned = wallet_core::compact::decode_credential(&tampered_text).unwrap();
    let from_qr = verdict(scanned).await;
    assert_eq!(from_qr, (false, Some("bad_signature".to_owned())));
    assert_eq!(from_qr, verdict(tampered).await);
}

#[tokio::test]
async fn an_sm2_credential_in_a_presentation_and_no_sm2_presentation_proofs() {
    use wallet_core::issuance::{sign_presentation, PresentationPurpose};
    use wallet_core::verification::{verify_presentation, CredentialOutcome};
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let vc = sm2_credential(&sm2_of(&clinic)).await;
    let holder = IssuerKey::generate();
    let unsigned_vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did(),
        "verifiableCredential": [vc],
    });
    let vp = sign_presentation(
        &unsigned_vp,
        &holder,
        now() - Duration::minutes(1),
        None,
        None,
        PresentationPurpose::Authentication,
    )
    .await
    .unwrap();
    let options = options(trust_store(TrustAlgorithm::Sm2, &[&clinic]));
    let report = verify_presentation(&vp, &options, None, None).await.unwrap();
    assert_eq!(report.proof, CheckResult::Valid);
    match report.credentials.first() {
        Some(CredentialOutcome::Report(r)) => assert_eq!(r.checks.signature, CheckResult::Valid, "{r:#?}"),
        other => panic!("{other:?}"),
    }
    // An SM2 issuer does not sign presentations; an SM2 presentation proof is refused.
    let signer = Sm2IssuerSigner::new(sm2_of(&clinic), Arc::new(IssuerKey::generate()));
    assert!(sign_presentation(&unsigned_vp, &signer, now(), None, None, PresentationPurpose::Authentication)
        .await
        .is_err());
    let mut sm2_vp = unsigned_vp.clone();
    sm2_vp["holder"] = json!(clinic.did());
    let mut sm2_vp = wallet_core::sm2_rdfc_2026::sign(&sm2_vp, &sm2_of(&clinic), now()).await.unwrap();
    sm2_vp["proof"]["proofPurpose"] = json!("authentication");
    let report = verify_presentation(&sm2_vp, &options, None, None).await.unwrap();
    assert!(!report.verified);
    assert_invalid(&report.proof, "unsupported_cryptosuite");
}
