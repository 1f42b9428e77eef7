//! Status lists in a verifier bundle are verified when a credential first names
//! them, not when the bundle opens (issue #16): a tampered list in an otherwise
//! valid bundle is refused when used, exactly as an eagerly verified one was,
//! and a list nobody names is never verified.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{
    status_list_credential, Bitstring, StatusEntry, StatusListCache, StatusPolicy, StatusPurpose, MIN_STATUS_LIST_BITS,
};
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    usci_check_character, CertificateValidity, DepartmentName, TrustListContents,
};
use wallet_core::verification::{verify_credential, StatusSource};
use wallet_core::verifier_bundle::{
    open_bundle, sign_bundle, BundledStatusList, FreshnessPolicy, VerifierBundle, VERIFIER_BUNDLE_VERSION,
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Province {
    bundle: Vec<u8>,
    roots: Vec<Vec<u8>>,
    now: DateTime<Utc>,
    /// Per issuer: a credential naming its revocation and suspension lists.
    credentials: Vec<Value>,
    /// The lists as the department signed them into the bundle.
    lists: Vec<BundledStatusList>,
}

/// `issuers` issuers with two lists each; `tamper(n, purpose, list)` may change
/// a list after its issuer signed it (before the department signs the bundle).
async fn province(issuers: usize, tamper: impl Fn(usize, StatusPurpose, &mut Value)) -> Province {
    let root_key = IssuerKey::generate();
    let root_pem = create_root(
        &DepartmentName {
            organization: "示例省卫生健康委员会".into(), common_name: "示例省电子证照根证书".into()
        },
        &CertificateValidity { not_before: at("2025-01-01T00:00:00Z"), not_after: at("2045-01-01T00:00:00Z") },
        &root_key,
    )
    .unwrap();
    let root_der = certificate_pem_to_der(&root_pem).unwrap();
    let validity =
        CertificateValidity { not_before: at("2026-01-01T00:00:00Z"), not_after: at("2028-01-01T00:00:00Z") };
    let collected = at("2026-06-01T08:00:00Z");
    let mut certificates = Vec::new();
    let mut lists = Vec::new();
    let mut credentials = Vec::new();
    for n in 0..issuers {
        let key = IssuerKey::generate();
        let first_17 = format!("12110000MB{n:07}");
        let check = usci_check_character(&first_17).unwrap();
        let csr =
            create_csr(&key, &format!("示例市第{n}医院体检中心"), &format!("{first_17}{check}"), &key.did()).unwrap();
        let pem =
            issue_certificate(&csr, &root_pem, &root_key, &[HEALTH_CERTIFICATE_TYPE], &validity, &random_serial())
                .unwrap();
        certificates.push(certificate_pem_to_der(&pem).unwrap());
        let base = format!("https://issuer{n}.example.gov.cn/status");
        for (list_id, purpose) in [(1, StatusPurpose::Revocation), (2, StatusPurpose::Suspension)] {
            let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
            bits.set(9, true).unwrap();
            let url = format!("{base}/{list_id}");
            let unsigned =
                status_list_credential(&url, &key.did(), purpose, &bits, collected, collected + Duration::days(7));
            let mut credential = sign_credential(&unsigned, &key, collected).await.unwrap();
            tamper(n, purpose, &mut credential);
            lists.push(BundledStatusList { url, credential });
        }
        let mut unsigned: Value =
            serde_json::from_str(include_str!("../../../fixtures/credentials/sample-health-certificate.unsigned.json"))
                .unwrap();
        unsigned["issuer"] = json!(key.did());
        unsigned["credentialStatus"] = json!([
            StatusEntry::new(StatusPurpose::Revocation, 0, format!("{base}/1")).to_json(),
            StatusEntry::new(StatusPurpose::Suspension, 0, format!("{base}/2")).to_json(),
        ]);
        credentials.push(sign_credential(&unsigned, &key, at("2026-03-15T00:00:00Z")).await.unwrap());
    }
    let crl = create_crl(&root_pem, &root_key, &[], collected, collected + Duration::days(7)).unwrap();
    let contents = TrustListContents {
        sequence: 1,
        issued_at: collected,
        next_update: collected + Duration::days(7),
        roots: vec![root_der.clone()],
        issuer_certificates: certificates,
        crls: vec![crl],
    };
    let trust_list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).unwrap();
    let payload = VerifierBundle {
        version: VERIFIER_BUNDLE_VERSION,
        sequence: 1,
        issued_at: collected,
        trust_list: String::from_utf8(trust_list).unwrap(),
        status_lists: lists.clone(),
        checkpoints: Vec::new(),
        logs: Vec::new(),
        base_sequence: None,
    };
    let bundle = sign_bundle(&payload, &root_key, std::slice::from_ref(&root_der)).unwrap();
    Province { bundle, roots: vec![root_der], now: collected + Duration::hours(2), credentials, lists }
}

/// Flip one bit of the list's bitstring after it was signed: a different revocation
/// state under the issuer's (now invalid) signature.
fn clear_bit_9(list: &mut Value) {
    let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
    bits.set(0, true).unwrap();
    list["credentialSubject"]["encodedList"] = json!(bits.encode());
}

#[tokio::test]
async fn opening_verifies_no_status_list_and_a_scan_verifies_the_two_it_names_once() {
    let p = province(3, |_, _, _| {}).await;
    let opened = open_bundle(&p.bundle, &p.roots, p.now, FreshnessPolicy::default(), None).await.unwrap();
    assert!(opened.problems.is_empty(), "{:?}", opened.problems);
    assert_eq!(opened.verified_status_lists(), 0, "opening verifies no status list");
    let options = opened.verify_options(p.now);
    let report = verify_credential(&p.credentials[1], &options).await.unwrap();
    assert!(report.verified, "{report:#?}");
    assert_eq!(opened.verified_status_lists(), 2, "its revocation and suspension lists, not the others'");
    // Again, and from a clone of the bundle: the verdicts are kept and shared.
    let again = verify_credential(&p.credentials[1], &opened.clone().verify_options(p.now)).await.unwrap();
    assert!(again.verified);
    assert_eq!(opened.verified_status_lists(), 2);
    // Verifying everything (the old opening) finds nothing wrong.
    assert!(opened.verify_status_lists().await.is_empty());
    assert_eq!(opened.verified_status_lists(), 6);
}

#[tokio::test]
async fn a_tampered_list_in_a_valid_bundle_is_refused_when_used_as_an_eager_check_refused_it() {
    // Issuer 0's revocation list was changed after the issuer signed it; the
    // department's bundle signature over it is valid.
    let p = province(2, |n, purpose, list| {
        if n == 0 && purpose == StatusPurpose::Revocation {
            clear_bit_9(list);
        }
    })
    .await;
    let opened = open_bundle(&p.bundle, &p.roots, p.now, FreshnessPolicy::default(), None).await.unwrap();
    assert!(opened.problems.is_empty(), "not verified at opening: {:?}", opened.problems);
    assert_eq!(opened.verified_status_lists(), 0);

    // Issuer 1's credential does not name the tampered list: valid, and the
    // tampered list is still not verified.
    let options = opened.verify_options(p.now);
    let other = verify_credential(&p.credentials[1], &options).await.unwrap();
    assert!(other.verified, "{other:#?}");
    assert_eq!(opened.verified_status_lists(), 2);

    // Issuer 0's credential names it: refused, with the bad signature's code.
    let lazy = verify_credential(&p.credentials[0], &options).await.unwrap();
    assert!(!lazy.verified);
    assert_eq!(lazy.checks.status.invalid_code(), Some("status_list_bad_signature"), "{lazy:#?}");

    // The same result, code and reason as against the cache the eager opening
    // filled (every list verified at opening, a failure recorded at collection time).
    let mut eager = StatusListCache::new();
    for list in &p.lists {
        let _ = eager.offer(&list.url, &list.credential, opened.bundle.issued_at, p.now).await;
    }
    for list in &p.lists {
        if let Some(failure) = eager.last_failure(&list.url).cloned() {
            eager.record_failure(&list.url, failure.error, opened.bundle.issued_at);
        }
    }
    let policy = StatusPolicy::default();
    let eager_options =
        opened.verify_options(p.now).with_status(StatusSource::Cache { cache: Arc::new(eager), policy });
    for credential in &p.credentials {
        let was = verify_credential(credential, &eager_options).await.unwrap();
        let now = verify_credential(credential, &options).await.unwrap();
        assert_eq!(format!("{:?}", now.checks.status), format!("{:?}", was.checks.status));
        assert_eq!(now.verified, was.verified);
    }

    // Asked for, the tampered list is a problem, in the words opening used.
    let problems = opened.verify_status_lists().await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("status list https://issuer0.example.gov.cn/status/1: "), "{problems:?}");
}

#[tokio::test]
async fn a_list_tampered_after_the_department_signed_the_bundle_fails_the_bundle() {
    let p = province(1, |_, _, _| {}).await;
    // Any change under the department's signature refuses the whole file.
    let text = String::from_utf8(p.bundle.clone()).unwrap();
    let mut jws: Value = serde_json::from_str(&text).unwrap();
    // The payload is the bundle JSON as a string (unencoded), under the signature.
    let mut payload: Value = serde_json::from_str(jws["payload"].as_str().unwrap()).unwrap();
    clear_bit_9(&mut payload["statusLists"][0]["credential"]);
    jws["payload"] = json!(payload.to_string());
    let tampered = serde_json::to_vec(&jws).unwrap();
    let err = open_bundle(&tampered, &p.roots, p.now, FreshnessPolicy::default(), None).await.unwrap_err();
    assert_eq!(err.code(), "bundle_untrusted_signer", "{err}");
}

#[tokio::test]
async fn after_a_delta_only_unchanged_verified_lists_are_reused() {
    use wallet_core::verifier_bundle::{open_payload_after, read_signed_bundle};
    let p = province(2, |_, _, _| {}).await;
    let policy = FreshnessPolicy::default();
    let opened = open_bundle(&p.bundle, &p.roots, p.now, policy, None).await.unwrap();
    let options = opened.verify_options(p.now);
    assert!(verify_credential(&p.credentials[0], &options).await.unwrap().verified);
    assert_eq!(opened.verified_status_lists(), 2);

    // The next payload: issuer 0's revocation list replaced by a tampered copy.
    let mut next = read_signed_bundle(&p.bundle, &p.roots, p.now).unwrap();
    next.sequence = 2;
    clear_bit_9(&mut next.status_lists[0].credential);
    let reopened = open_payload_after(next, &p.roots, p.now, policy, Some(&opened)).await;
    assert!(reopened.problems.is_empty(), "{:?}", reopened.problems);
    let options = reopened.verify_options(p.now);
    // The verified list held before at that URL is not taken for the changed one.
    let report = verify_credential(&p.credentials[0], &options).await.unwrap();
    assert_eq!(report.checks.status.invalid_code(), Some("status_list_bad_signature"), "{report:#?}");
    assert!(verify_credential(&p.credentials[1], &options).await.unwrap().verified);
}
