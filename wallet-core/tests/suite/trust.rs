//! Department trust: certificates, CRLs and trust lists made by the library
//! functions at test time, checked with injected clocks; OpenSSL cross-checks
//! the chains; parsers fed garbage.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng as _, SeedableRng as _};
use wallet_core::credential::{FOOD_BUSINESS_LICENCE_TYPE, HEALTH_CERTIFICATE_TYPE};
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, crl_der_to_pem, decrypt_private_key,
    encrypt_private_key, issue_certificate, issue_trust_list_signer_certificate, random_serial, summarize_certificate,
    summarize_crl, usci_check_character, CertificateError, CertificateValidity, DepartmentName, IssuerTrustFailureCode,
    KeyProtectionError, RevocationEntry, RevocationReason, TrustList, TrustListContents, TrustListError, TrustStore,
};
use wallet_core::verification::CheckResult;

// ---------------------------------------------------------------- helpers

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad test time {s}: {e}")).with_timezone(&Utc)
}

fn window(from: &str, to: &str) -> CertificateValidity {
    CertificateValidity { not_before: at(from), not_after: at(to) }
}

const CLINIC_USCI: &str = "12110000MB0000001U";
const OFFICE_USCI: &str = "11110000MB00000022";

/// A USCI with a valid check character, from a number.
fn usci(n: u32) -> String {
    let first_17 = format!("12110000MB{n:07}");
    let check = usci_check_character(&first_17).expect("17 valid characters");
    format!("{first_17}{check}")
}

struct Department {
    key: IssuerKey,
    pem: String,
    der: Vec<u8>,
}

fn department(organization: &str) -> Department {
    department_with_key(organization, IssuerKey::generate())
}

fn department_with_key(organization: &str, key: IssuerKey) -> Department {
    let pem = create_root(
        &DepartmentName {
            organization: organization.into(), common_name: format!("{organization}电子证照根证书")
        },
        &window("2025-01-01T00:00:00Z", "2045-01-01T00:00:00Z"),
        &key,
    )
    .expect("root");
    let der = certificate_pem_to_der(&pem).expect("root der");
    Department { key, pem, der }
}

struct Issued {
    pem: String,
    der: Vec<u8>,
    serial: Vec<u8>,
}

fn certify(
    root: &Department,
    key: &IssuerKey,
    organization: &str,
    types: &[&str],
    validity: CertificateValidity,
) -> Issued {
    let csr = create_csr(key, organization, CLINIC_USCI, &key.did()).expect("csr");
    let serial = random_serial();
    let pem = issue_certificate(&csr, &root.pem, &root.key, types, &validity, &serial).expect("issue");
    let der = certificate_pem_to_der(&pem).expect("der");
    Issued { pem, der, serial }
}

fn clinic_validity() -> CertificateValidity {
    window("2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z")
}

fn crl(root: &Department, entries: &[RevocationEntry], this_update: &str) -> Vec<u8> {
    create_crl(&root.pem, &root.key, entries, at(this_update), at(this_update) + Duration::days(30)).expect("crl")
}

const LIST_ISSUED: &str = "2026-06-01T00:00:00Z";

fn now() -> DateTime<Utc> {
    at(LIST_ISSUED) + Duration::hours(1)
}

fn contents(roots: &[&Department], certificates: &[&Issued], crls: Vec<Vec<u8>>) -> TrustListContents {
    TrustListContents {
        sequence: 7,
        issued_at: at(LIST_ISSUED),
        next_update: at(LIST_ISSUED) + Duration::days(2),
        roots: roots.iter().map(|r| r.der.clone()).collect(),
        issuer_certificates: certificates.iter().map(|c| c.der.clone()).collect(),
        crls,
    }
}

fn signed_by_root(contents: &TrustListContents, root: &Department) -> Vec<u8> {
    build_trust_list(contents, &root.key, std::slice::from_ref(&root.der)).expect("trust list")
}

fn load(list: &[u8], configured: &[&Department]) -> Result<TrustStore, TrustListError> {
    let roots: Vec<Vec<u8>> = configured.iter().map(|r| r.der.clone()).collect();
    TrustList::load(list, &roots, now(), Duration::days(1))
}

fn health_types() -> Vec<String> {
    vec!["VerifiableCredential".into(), HEALTH_CERTIFICATE_TYPE.into()]
}

fn licence_types() -> Vec<String> {
    vec!["VerifiableCredential".into(), FOOD_BUSINESS_LICENCE_TYPE.into()]
}

fn code(result: &CheckResult) -> Option<&str> {
    result.invalid_code()
}

/// Health commission + market supervision, a clinic and a licensing office,
/// empty CRLs: the ordinary world.
struct World {
    health: Department,
    market: Department,
    clinic_key: IssuerKey,
    office_key: IssuerKey,
    clinic: Issued,
    office: Issued,
}

fn world() -> World {
    let health = department("示例市卫生健康委员会");
    let market = department("示例市市场监督管理局");
    let clinic_key = IssuerKey::generate();
    let office_key = IssuerKey::generate();
    let clinic =
        certify(&health, &clinic_key, "示例市第一人民医院体检中心", &[HEALTH_CERTIFICATE_TYPE], clinic_validity());
    let office =
        certify(&market, &office_key, "示例市市场监督管理局东城分局", &[FOOD_BUSINESS_LICENCE_TYPE], clinic_validity());
    World { health, market, clinic_key, office_key, clinic, office }
}

impl World {
    fn list_with(&self, extra: &[&Issued], crls: Vec<Vec<u8>>) -> Vec<u8> {
        let mut certificates = vec![&self.clinic, &self.office];
        certificates.extend_from_slice(extra);
        signed_by_root(&contents(&[&self.health, &self.market], &certificates, crls), &self.health)
    }
    fn empty_crls(&self) -> Vec<Vec<u8>> {
        vec![crl(&self.health, &[], "2026-05-31T00:00:00Z"), crl(&self.market, &[], "2026-05-31T00:00:00Z")]
    }
    fn store(&self) -> TrustStore {
        load(&self.list_with(&[], self.empty_crls()), &[&self.health, &self.market]).expect("loads")
    }
}

const SIGNED: &str = "2026-03-01T08:00:00Z";

// ---------------------------------------------------------------- happy path

#[test]
fn clinic_is_trusted_for_health_certificates_and_office_for_licences() {
    let w = world();
    let store = w.store();
    assert_eq!(store.issuer_certificate_count(), 2);
    assert_eq!(store.sequence(), 7);
    assert!(store.warnings().is_empty(), "{:?}", store.warnings());

    let trusted =
        store.assess_issuer(&w.clinic_key.verification_method(), &health_types(), at(SIGNED)).expect("clinic trusted");
    assert_eq!(trusted.organization_name, "示例市第一人民医院体检中心");
    assert_eq!(trusted.usci.as_deref(), Some(CLINIC_USCI));
    assert_eq!(trusted.did, w.clinic_key.did());
    assert!(trusted.root_name.contains("示例市卫生健康委员会"), "{}", trusted.root_name);
    assert_eq!(trusted.allowed_types, vec![HEALTH_CERTIFICATE_TYPE.to_owned()]);

    // Bare DID and DID URL both work.
    assert_eq!(store.check_issuer(&w.clinic_key.did(), &health_types(), at(SIGNED)), CheckResult::Valid);
    assert_eq!(
        store.check_issuer(&w.office_key.verification_method(), &licence_types(), at(SIGNED)),
        CheckResult::Valid
    );
    // `type` given as just the specific type also works.
    assert!(store.check_issuer(&w.clinic_key.did(), &[HEALTH_CERTIFICATE_TYPE.to_owned()], at(SIGNED)).is_valid());
}

#[test]
fn summaries_show_the_profile() {
    let w = world();
    let summary = summarize_certificate(&w.clinic.der).expect("summary");
    assert_eq!(summary.did.as_deref(), Some(w.clinic_key.did().as_str()));
    assert_eq!(summary.usci.as_deref(), Some(CLINIC_USCI));
    assert!(summary.credential_signing && !summary.trust_list_signing && !summary.is_ca);
    assert_eq!(summary.serial, hex::encode(&w.clinic.serial));
    let root = summarize_certificate(&w.health.der).expect("root summary");
    assert!(root.is_ca && root.did.is_none() && root.allowed_types.is_empty());
}

// ---------------------------------------------------------------- each failure

#[test]
fn unknown_key_is_unknown_issuer() {
    let w = world();
    let store = w.store();
    let stranger = IssuerKey::generate();
    let result = store.check_issuer(&stranger.verification_method(), &health_types(), at(SIGNED));
    assert_eq!(code(&result), Some("unknown_issuer"));
    let failure = store.assess_issuer(&stranger.did(), &health_types(), at(SIGNED)).expect_err("unknown");
    assert_eq!(failure.code, IssuerTrustFailureCode::UnknownIssuer);
    assert_eq!(failure.code.as_str(), "unknown_issuer");
    if let CheckResult::Invalid { reason, .. } = &result {
        assert!(reason.en.contains(&stranger.did()) && !reason.zh.is_empty());
    }
    for garbage in ["did:web:clinic.example", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "", "#"] {
        assert_eq!(
            code(&store.check_issuer(garbage, &health_types(), at(SIGNED))),
            Some("unknown_issuer"),
            "{garbage}"
        );
    }
}

#[test]
fn signing_outside_the_certificate_validity_is_expired() {
    let w = world();
    let store = w.store();
    for signed in ["2028-01-02T00:00:00Z", "2025-12-31T00:00:00Z", "1960-01-01T00:00:00Z"] {
        let result = store.check_issuer(&w.clinic_key.did(), &health_types(), at(signed));
        assert_eq!(code(&result), Some("issuer_certificate_expired"), "{signed}");
    }
    // Expired *now* but valid when signed: still trusted.
    assert!(store.check_issuer(&w.clinic_key.did(), &health_types(), at("2027-12-31T00:00:00Z")).is_valid());
}

/// A store keeps the anchor of a path it validated and, for a signing time
/// inside the certificate's validity, skips validating again: the answers at
/// and around the edges of the validity are the same whichever time is asked
/// first, and the kept path does not carry trust to another certificate or type.
#[test]
fn a_kept_certificate_path_gives_the_answers_of_a_fresh_validation() {
    let w = world();
    let did = w.clinic_key.did();
    let times = [
        ("2025-12-31T23:59:59Z", false),
        ("2026-01-01T00:00:00Z", true),
        (SIGNED, true),
        ("2028-01-01T00:00:00Z", true),
        ("2028-01-01T00:00:01Z", false),
        ("1960-01-01T00:00:00Z", false),
    ];
    let fresh: Vec<Option<String>> = times
        .iter()
        .map(|(t, _)| code(&w.store().check_issuer(&did, &health_types(), at(t))).map(str::to_owned))
        .collect();
    for ((t, valid), answer) in times.iter().zip(&fresh) {
        assert_eq!(answer.is_none(), *valid, "{t}: {answer:?}");
        if !valid {
            assert_eq!(answer.as_deref(), Some("issuer_certificate_expired"), "{t}");
        }
    }
    // One store, asked in order and in reverse, twice over.
    for order in [times.to_vec(), times.iter().rev().copied().collect()] {
        let store = w.store();
        for _ in 0..2 {
            for (t, _) in &order {
                let i = times.iter().position(|(u, _)| u == t).expect("listed");
                assert_eq!(code(&store.check_issuer(&did, &health_types(), at(t))).map(str::to_owned), fresh[i], "{t}");
            }
        }
        // The kept path is the clinic certificate's alone: the office's key
        // and a type the clinic is not certified for still fail.
        assert_eq!(code(&store.check_issuer(&did, &licence_types(), at(SIGNED))), Some("type_not_allowed"));
        assert_eq!(
            code(&store.check_issuer(&IssuerKey::generate().did(), &health_types(), at(SIGNED))),
            Some("unknown_issuer")
        );
    }
}

#[test]
fn clinic_cannot_issue_licences() {
    let w = world();
    let store = w.store();
    let result = store.check_issuer(&w.clinic_key.did(), &licence_types(), at(SIGNED));
    assert_eq!(code(&result), Some("type_not_allowed"));
    if let CheckResult::Invalid { reason, .. } = &result {
        assert!(reason.en.contains(FOOD_BUSINESS_LICENCE_TYPE), "{}", reason.en);
        assert!(reason.zh.contains("未获授权"), "{}", reason.zh);
    }
    let only_base = vec!["VerifiableCredential".to_owned()];
    assert_eq!(code(&store.check_issuer(&w.clinic_key.did(), &only_base, at(SIGNED))), Some("type_not_allowed"));
    assert_eq!(code(&store.check_issuer(&w.office_key.did(), &health_types(), at(SIGNED))), Some("type_not_allowed"));
}

#[test]
fn certificate_without_credential_signing_eku_is_wrong_key_usage() {
    let w = world();
    let key = IssuerKey::generate();
    let csr = create_csr(&key, "示例市信任列表运营中心", CLINIC_USCI, &key.did()).expect("csr");
    let pem =
        issue_trust_list_signer_certificate(&csr, &w.health.pem, &w.health.key, &clinic_validity(), &random_serial())
            .expect("signer cert");
    let signer = Issued { der: certificate_pem_to_der(&pem).expect("der"), pem, serial: Vec::new() };
    let store = load(&w.list_with(&[&signer], w.empty_crls()), &[&w.health, &w.market]).expect("loads");
    assert_eq!(code(&store.check_issuer(&key.did(), &health_types(), at(SIGNED))), Some("wrong_key_usage"));
}

#[test]
fn certificate_from_a_root_in_the_list_but_not_configured_is_untrusted_root() {
    let w = world();
    let third_party = department("某第三方信任服务机构");
    let key = IssuerKey::generate();
    let cert = certify(&third_party, &key, "某民营体检中心", &[HEALTH_CERTIFICATE_TYPE], clinic_validity());
    let mut list_contents =
        contents(&[&w.health, &w.market, &third_party], &[&w.clinic, &w.office, &cert], w.empty_crls());
    list_contents.crls.push(crl(&third_party, &[], "2026-05-31T00:00:00Z"));
    let store = load(&signed_by_root(&list_contents, &w.health), &[&w.health, &w.market]).expect("loads");
    let result = store.check_issuer(&key.did(), &health_types(), at(SIGNED));
    assert_eq!(code(&result), Some("untrusted_root"));
    if let CheckResult::Invalid { reason, .. } = &result {
        assert!(reason.zh.contains("某第三方信任服务机构"), "{}", reason.zh);
    }
    // The third party's CRL is ignored with a warning, not an error.
    assert!(store.warnings().iter().any(|w| w.contains("not configured")));
    // Configure the third party too, and the same list trusts it.
    let store = load(&signed_by_root(&list_contents, &w.health), &[&w.health, &w.market, &third_party]).expect("loads");
    assert!(store.check_issuer(&key.did(), &health_types(), at(SIGNED)).is_valid());
}

#[test]
fn certificate_from_an_unknown_root_is_untrusted_root() {
    let w = world();
    let rogue = department("示例市卫生健康委员会"); // same name, different key
    let key = IssuerKey::generate();
    let cert = certify(&rogue, &key, "冒名体检中心", &[HEALTH_CERTIFICATE_TYPE], clinic_validity());
    let store = load(&w.list_with(&[&cert], w.empty_crls()), &[&w.health, &w.market]).expect("loads");
    assert_eq!(code(&store.check_issuer(&key.did(), &health_types(), at(SIGNED))), Some("untrusted_root"));
}

#[test]
fn missing_crl_fails_closed() {
    let w = world();
    let crls = vec![crl(&w.market, &[], "2026-05-31T00:00:00Z")];
    let store = load(&w.list_with(&[], crls), &[&w.health, &w.market]).expect("loads");
    assert_eq!(
        code(&store.check_issuer(&w.clinic_key.did(), &health_types(), at(SIGNED))),
        Some("issuer_revocation_unknown")
    );
    assert!(store.check_issuer(&w.office_key.did(), &licence_types(), at(SIGNED)).is_valid());
}

// ---------------------------------------------------------------- revocation

#[test]
fn rotation_keeps_earlier_credentials_valid() {
    let w = world();
    let new_key = IssuerKey::generate();
    let new_cert = certify(
        &w.health,
        &new_key,
        "示例市第一人民医院体检中心",
        &[HEALTH_CERTIFICATE_TYPE],
        window("2026-05-01T00:00:00Z", "2028-05-01T00:00:00Z"),
    );
    let superseded = RevocationEntry {
        serial: w.clinic.serial.clone(),
        revoked_at: at("2026-05-02T00:00:00Z"),
        reason: RevocationReason::Superseded,
        invalidity_date: None,
    };
    let crls = vec![crl(&w.health, &[superseded], "2026-05-31T00:00:00Z"), crl(&w.market, &[], "2026-05-31T00:00:00Z")];
    let store = load(&w.list_with(&[&new_cert], crls), &[&w.health, &w.market]).expect("loads");
    let old = w.clinic_key.did();
    assert!(store.check_issuer(&old, &health_types(), at("2026-04-01T00:00:00Z")).is_valid());
    // Exactly at the revocation time: still fine (void only *after* it).
    assert!(store.check_issuer(&old, &health_types(), at("2026-05-02T00:00:00Z")).is_valid());
    let after = store.check_issuer(&old, &health_types(), at("2026-05-02T00:00:01Z"));
    assert_eq!(code(&after), Some("issuer_revoked"));
    assert!(store.check_issuer(&new_key.did(), &health_types(), at("2026-05-03T00:00:00Z")).is_valid());
}

#[test]
fn cessation_of_operation_behaves_like_rotation() {
    let w = world();
    let ceased = RevocationEntry {
        serial: w.office.serial.clone(),
        revoked_at: at("2026-05-02T00:00:00Z"),
        reason: RevocationReason::CessationOfOperation,
        invalidity_date: None,
    };
    let crls = vec![crl(&w.health, &[], "2026-05-31T00:00:00Z"), crl(&w.market, &[ceased], "2026-05-31T00:00:00Z")];
    let store = load(&w.list_with(&[], crls), &[&w.health, &w.market]).expect("loads");
    let did = w.office_key.did();
    assert!(store.check_issuer(&did, &licence_types(), at("2026-05-01T00:00:00Z")).is_valid());
    assert_eq!(code(&store.check_issuer(&did, &licence_types(), at("2026-05-03T00:00:00Z"))), Some("issuer_revoked"));
}

#[test]
fn key_compromise_voids_from_the_invalidity_date() {
    let w = world();
    let compromised = RevocationEntry {
        serial: w.clinic.serial.clone(),
        revoked_at: at("2026-05-10T00:00:00Z"),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: Some(at("2026-04-15T00:00:00Z")),
    };
    let crls =
        vec![crl(&w.health, &[compromised], "2026-05-31T00:00:00Z"), crl(&w.market, &[], "2026-05-31T00:00:00Z")];
    let store = load(&w.list_with(&[], crls), &[&w.health, &w.market]).expect("loads");
    let did = w.clinic_key.did();
    assert!(store.check_issuer(&did, &health_types(), at("2026-04-14T23:59:59Z")).is_valid());
    for signed in ["2026-04-15T00:00:00Z", "2026-04-20T00:00:00Z", "2026-05-20T00:00:00Z"] {
        let result = store.check_issuer(&did, &health_types(), at(signed));
        assert_eq!(code(&result), Some("issuer_revoked"), "{signed}");
        if let CheckResult::Invalid { reason, .. } = &result {
            assert!(reason.en.contains("key compromise"), "{}", reason.en);
        }
    }
}

#[test]
fn key_compromise_without_invalidity_date_voids_from_revocation() {
    let w = world();
    let compromised = RevocationEntry {
        serial: w.clinic.serial.clone(),
        revoked_at: at("2026-05-10T00:00:00Z"),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let crls =
        vec![crl(&w.health, &[compromised], "2026-05-31T00:00:00Z"), crl(&w.market, &[], "2026-05-31T00:00:00Z")];
    let store = load(&w.list_with(&[], crls), &[&w.health, &w.market]).expect("loads");
    let did = w.clinic_key.did();
    assert!(store.check_issuer(&did, &health_types(), at("2026-05-09T00:00:00Z")).is_valid());
    assert_eq!(code(&store.check_issuer(&did, &health_types(), at("2026-05-10T00:00:00Z"))), Some("issuer_revoked"));
}

#[test]
fn any_valid_certificate_for_the_key_suffices() {
    let w = world();
    // Re-certification: the same key, a later certificate.
    let renewed = certify(
        &w.health,
        &w.clinic_key,
        "示例市第一人民医院体检中心",
        &[HEALTH_CERTIFICATE_TYPE],
        window("2027-12-01T00:00:00Z", "2030-01-01T00:00:00Z"),
    );
    let store = load(&w.list_with(&[&renewed], w.empty_crls()), &[&w.health, &w.market]).expect("loads");
    let did = w.clinic_key.did();
    assert!(store.check_issuer(&did, &health_types(), at(SIGNED)).is_valid());
    assert!(store.check_issuer(&did, &health_types(), at("2029-06-01T00:00:00Z")).is_valid());
    assert_eq!(
        code(&store.check_issuer(&did, &health_types(), at("2030-06-01T00:00:00Z"))),
        Some("issuer_certificate_expired")
    );
    // Neither allows licences: the failure of the furthest-getting one.
    assert_eq!(code(&store.check_issuer(&did, &licence_types(), at(SIGNED))), Some("type_not_allowed"));
}

#[test]
fn crl_creation_refuses_bad_input() {
    let w = world();
    let entry = |serial: Vec<u8>, revoked_at: &str| RevocationEntry {
        serial,
        revoked_at: at(revoked_at),
        reason: RevocationReason::Superseded,
        invalidity_date: None,
    };
    // The wrong root key.
    assert_eq!(
        create_crl(&w.health.pem, &w.market.key, &[], at(SIGNED), at("2026-04-01T00:00:00Z")),
        Err(CertificateError::RootKeyMismatch)
    );
    // Out-of-order times, revocations after thisUpdate, duplicates, zero serial.
    assert!(create_crl(&w.health.pem, &w.health.key, &[], at(SIGNED), at(SIGNED)).is_err());
    for entries in [
        vec![entry(vec![1], "2026-04-01T00:00:00Z")],
        vec![entry(vec![1], "2026-01-01T00:00:00Z"), entry(vec![0, 1], "2026-01-02T00:00:00Z")],
        vec![entry(vec![0], "2026-01-01T00:00:00Z")],
    ] {
        assert!(create_crl(&w.health.pem, &w.health.key, &entries, at(SIGNED), at("2026-05-01T00:00:00Z")).is_err());
    }
    // An issuer certificate is not a CA.
    assert!(create_crl(&w.clinic.pem, &w.clinic_key, &[], at(SIGNED), at("2026-05-01T00:00:00Z")).is_err());
    // The summary reads back what went in.
    let der = create_crl(
        &w.health.pem,
        &w.health.key,
        &[RevocationEntry {
            serial: w.clinic.serial.clone(),
            revoked_at: at("2026-02-01T00:00:00Z"),
            reason: RevocationReason::KeyCompromise,
            invalidity_date: Some(at("2026-01-15T00:00:00Z")),
        }],
        at(SIGNED),
        at("2026-04-01T00:00:00Z"),
    )
    .expect("crl");
    let summary = summarize_crl(&der).expect("summary");
    assert_eq!(summary.entries.len(), 1);
    assert_eq!(summary.entries[0].serial, w.clinic.serial);
    assert_eq!(summary.entries[0].reason, RevocationReason::KeyCompromise);
    assert_eq!(summary.entries[0].invalidity_date, Some(at("2026-01-15T00:00:00Z")));
    assert_eq!(summary.next_update, Some(at("2026-04-01T00:00:00Z")));
}

// ---------------------------------------------------------------- trust list

#[test]
fn stale_trust_lists_are_refused() {
    let w = world();
    let list = w.list_with(&[], w.empty_crls());
    let roots = vec![w.health.der.clone(), w.market.der.clone()];
    // Older than max_age.
    let error =
        TrustList::load(&list, &roots, at(LIST_ISSUED) + Duration::hours(25), Duration::days(1)).expect_err("too old");
    assert_eq!(error.code(), "stale_trust_list");
    assert_eq!(error.to_check_result().invalid_code(), Some("stale_trust_list"));
    // Past nextUpdate even though max_age would allow it.
    let error = TrustList::load(&list, &roots, at(LIST_ISSUED) + Duration::days(3), Duration::days(30))
        .expect_err("past next update");
    assert_eq!(error.code(), "stale_trust_list");
    // A CRL in the list past its own nextUpdate.
    let old_crls = vec![crl(&w.health, &[], "2026-04-01T00:00:00Z"), crl(&w.market, &[], "2026-05-31T00:00:00Z")];
    let error = load(&w.list_with(&[], old_crls), &[&w.health, &w.market]).expect_err("stale crl");
    assert_eq!(error.code(), "stale_trust_list");
    // From the future (device clock wrong).
    let error =
        TrustList::load(&list, &roots, at(LIST_ISSUED) - Duration::hours(1), Duration::days(1)).expect_err("future");
    assert_eq!(error.code(), "trust_list_from_future");
}

#[test]
fn tampered_trust_list_is_refused() {
    let w = world();
    let list = w.list_with(&[], w.empty_crls());
    let text = String::from_utf8(list.clone()).expect("utf-8");

    // Change the payload (sequence 7 → 8).
    let tampered = text.replacen("\\\"sequence\\\":7", "\\\"sequence\\\":8", 1);
    assert_ne!(tampered, text);
    assert_eq!(load(tampered.as_bytes(), &[&w.health, &w.market]).map(|_| ()), Err(TrustListError::BadSignature));

    // Drop an issuer certificate from the payload.
    let clinic_b64 = base64_standard(&w.clinic.der);
    let tampered = text.replacen(&format!("\\\"{clinic_b64}\\\","), "", 1);
    assert_ne!(tampered, text);
    assert_eq!(load(tampered.as_bytes(), &[&w.health, &w.market]).map(|_| ()), Err(TrustListError::BadSignature));

    // Flip a bit of the signature.
    let mut envelope: serde_json::Value = serde_json::from_slice(&list).expect("json");
    let signature = envelope["signature"].as_str().expect("signature").to_owned();
    let mut chars: Vec<char> = signature.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    envelope["signature"] = chars.into_iter().collect::<String>().into();
    let tampered = serde_json::to_vec(&envelope).expect("json");
    assert_eq!(load(&tampered, &[&w.health, &w.market]).map(|_| ()), Err(TrustListError::BadSignature));
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn trust_list_signed_by_a_non_configured_root_is_refused() {
    let w = world();
    let rogue = department("示例市卫生健康委员会");
    let list = signed_by_root(&contents(&[&w.health, &w.market], &[&w.clinic], w.empty_crls()), &rogue);
    let error = load(&list, &[&w.health, &w.market]).expect_err("rogue signer");
    assert_eq!(error.code(), "untrusted_trust_list_signer");
    // A configured set that does not include the signer root (market only).
    let list = w.list_with(&[], w.empty_crls());
    let error = load(&list, &[&w.market]).expect_err("signer not configured");
    assert_eq!(error.code(), "untrusted_trust_list_signer");
    // No configured roots at all.
    let none: [Vec<u8>; 0] = [];
    assert_eq!(
        TrustList::load(&list, &none, now(), Duration::days(1)).expect_err("no roots").code(),
        "invalid_trust_configuration"
    );
}

#[test]
fn trust_list_signed_by_a_certified_signer_is_accepted_and_others_are_not() {
    let w = world();
    let signer_key = IssuerKey::generate();
    let csr = create_csr(&signer_key, "示例市信任列表运营中心", OFFICE_USCI, &signer_key.did()).expect("csr");
    let signer_pem = issue_trust_list_signer_certificate(
        &csr,
        &w.market.pem,
        &w.market.key,
        &window("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        &random_serial(),
    )
    .expect("signer cert");
    let signer_der = certificate_pem_to_der(&signer_pem).expect("der");
    let list_contents = contents(&[&w.health, &w.market], &[&w.clinic, &w.office], w.empty_crls());
    let list = build_trust_list(&list_contents, &signer_key, std::slice::from_ref(&signer_der)).expect("list");
    let store = load(&list, &[&w.health, &w.market]).expect("certified signer accepted");
    assert!(store.check_issuer(&w.clinic_key.did(), &health_types(), at(SIGNED)).is_valid());
    // Not when its root is not configured.
    assert_eq!(load(&list, &[&w.health]).expect_err("root missing").code(), "untrusted_trust_list_signer");

    // A credential issuer's certificate cannot sign trust lists.
    let list = build_trust_list(&list_contents, &w.clinic_key, std::slice::from_ref(&w.clinic.der)).expect("list");
    assert_eq!(load(&list, &[&w.health, &w.market]).expect_err("wrong eku").code(), "untrusted_trust_list_signer");
    // The builder refuses a key that is not the signer certificate's.
    assert!(matches!(
        build_trust_list(&list_contents, &signer_key, std::slice::from_ref(&w.health.der)),
        Err(TrustListError::Build(_))
    ));
}

#[test]
fn crl_signed_by_the_wrong_key_is_refused() {
    let w = world();
    // A CRL naming the health commission, signed by someone else's key.
    let impostor = department("示例市卫生健康委员会");
    let forged = crl(&impostor, &[], "2026-05-31T00:00:00Z");
    let crls = vec![forged, crl(&w.market, &[], "2026-05-31T00:00:00Z")];
    let error = load(&w.list_with(&[], crls), &[&w.health, &w.market]).expect_err("forged CRL");
    assert_eq!(error.code(), "invalid_crl");
    assert!(error.reason().zh.contains("吊销列表"));

    // A CRL from an issuer nobody knows is refused too.
    let nobody = department("不存在的部门");
    let crls = vec![crl(&nobody, &[], "2026-05-31T00:00:00Z"), crl(&w.health, &[], "2026-05-31T00:00:00Z")];
    assert_eq!(
        load(&w.list_with(&[], crls), &[&w.health, &w.market]).expect_err("unknown CRL issuer").code(),
        "invalid_crl"
    );
}

// ---------------------------------------------------------------- lifecycle input checks

#[test]
fn csr_and_issuance_refuse_bad_input() {
    let w = world();
    let key = IssuerKey::generate();
    let other = IssuerKey::generate();
    assert!(matches!(
        create_csr(&key, "某诊所", CLINIC_USCI, &other.did()),
        Err(CertificateError::DidKeyMismatch { .. })
    ));
    assert!(matches!(
        create_csr(&key, "某诊所", "12110000MB0000001X", &key.did()),
        Err(CertificateError::InvalidUsci(_))
    ));
    assert!(matches!(create_csr(&key, "  ", CLINIC_USCI, &key.did()), Err(CertificateError::EmptyOrganizationName)));

    let csr = create_csr(&key, "某诊所", CLINIC_USCI, &key.did()).expect("csr");
    let issue = |csr: &str, root_key: &IssuerKey, types: &[&str], validity: CertificateValidity, serial: &[u8]| {
        issue_certificate(csr, &w.health.pem, root_key, types, &validity, serial)
    };
    let types = [HEALTH_CERTIFICATE_TYPE];
    assert_eq!(issue(&csr, &w.market.key, &types, clinic_validity(), &[1]), Err(CertificateError::RootKeyMismatch));
    assert_eq!(
        issue(&csr, &w.health.key, &types, window("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), &[1]),
        Err(CertificateError::ValidityOutsideRoot)
    );
    assert_eq!(
        issue(&csr, &w.health.key, &types, window("2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), &[1]),
        Err(CertificateError::InvalidValidity)
    );
    assert!(matches!(
        issue(&csr, &w.health.key, &[], clinic_validity(), &[1]),
        Err(CertificateError::InvalidCredentialTypes(_))
    ));
    assert!(matches!(
        issue(&csr, &w.health.key, &["VerifiableCredential"], clinic_validity(), &[1]),
        Err(CertificateError::InvalidCredentialTypes(_))
    ));
    // RFC 5280: at most 20 octets *encoded*, so a high-bit 20-octet serial is too long.
    for bad_serial in [&[][..], &[0, 0][..], &[1u8; 21][..], &[0xff; 20][..]] {
        assert_eq!(
            issue(&csr, &w.health.key, &types, clinic_validity(), bad_serial),
            Err(CertificateError::InvalidSerial)
        );
    }
    // A high-bit 19-octet serial is fine (encoded with a leading zero octet).
    let pem = issue(&csr, &w.health.key, &types, clinic_validity(), &[0xff; 19]).expect("19 octets");
    let summary = summarize_certificate(&certificate_pem_to_der(&pem).expect("der")).expect("summary");
    assert_eq!(summary.serial, "ff".repeat(19));

    // Tampering with the CSR breaks its signature (proof of possession).
    let der = wallet_core_pem_decode(&csr);
    let mut tampered = der.clone();
    let position = find(&tampered, "某诊所".as_bytes()).expect("name in CSR");
    tampered[position + 2] ^= 0x01;
    let tampered_pem = pem_encode("CERTIFICATE REQUEST", &tampered);
    assert!(matches!(
        issue(&tampered_pem, &w.health.key, &types, clinic_validity(), &[1]),
        Err(CertificateError::CsrSignatureInvalid) | Err(CertificateError::Malformed { .. })
    ));
    // A certificate PEM is not a CSR.
    assert!(matches!(
        issue(&w.clinic.pem, &w.health.key, &types, clinic_validity(), &[1]),
        Err(CertificateError::InvalidPem { .. })
    ));
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn wallet_core_pem_decode(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).expect("pem body")
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64_standard(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).expect("ascii"));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[test]
fn private_keys_round_trip_under_a_passphrase() {
    let key = IssuerKey::generate();
    let pem = encrypt_private_key(&key, "correct horse").expect("encrypt");
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(decrypt_private_key(&pem, "correct horse").expect("decrypt").did(), key.did());
    assert!(matches!(decrypt_private_key(&pem, "wrong horse"), Err(KeyProtectionError::WrongPassphraseOrDamaged)));
    assert_eq!(encrypt_private_key(&key, "").map(|_| ()), Err(KeyProtectionError::EmptyPassphrase));
    let plain = key.to_pkcs8_pem().expect("plain");
    assert_eq!(decrypt_private_key(&plain, "x").map(|k| k.did()), Err(KeyProtectionError::NotEncryptedPkcs8));
}

// ---------------------------------------------------------------- OpenSSL cross-checks

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary must be installed to cross-check certificates");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn openssl_accepts_the_chains_and_rejects_a_revoked_certificate() {
    let w = world();
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, content: &str| {
        std::fs::write(dir.path().join(name), content).expect("write");
    };
    write("health.pem", &w.health.pem);
    write("market.pem", &w.market.pem);
    write("clinic.pem", &w.clinic.pem);
    write("office.pem", &w.office.pem);
    let attime = at(SIGNED).timestamp().to_string();

    for (root, leaf) in [("health.pem", "clinic.pem"), ("market.pem", "office.pem")] {
        let (ok, text) = openssl(dir.path(), &["verify", "-attime", &attime, "-CAfile", root, leaf]);
        assert!(ok && text.contains(&format!("{leaf}: OK")), "{text}");
    }
    // Roots check out as self-signed CAs; the wrong root does not verify a leaf.
    let (ok, text) = openssl(dir.path(), &["verify", "-attime", &attime, "-CAfile", "health.pem", "health.pem"]);
    assert!(ok, "{text}");
    let (ok, _) = openssl(dir.path(), &["verify", "-attime", &attime, "-CAfile", "market.pem", "clinic.pem"]);
    assert!(!ok, "market supervision must not verify the clinic");

    // CRL checks: an empty CRL passes, a revoking one fails.
    let empty = crl_der_to_pem(&crl(&w.health, &[], "2026-02-01T00:00:00Z")).expect("pem");
    write("empty.crl.pem", &empty);
    let (ok, text) = openssl(
        dir.path(),
        &[
            "verify",
            "-attime",
            &attime,
            "-crl_check",
            "-CRLfile",
            "empty.crl.pem",
            "-CAfile",
            "health.pem",
            "clinic.pem",
        ],
    );
    assert!(ok, "{text}");
    let revoking = crl_der_to_pem(&crl(
        &w.health,
        &[RevocationEntry {
            serial: w.clinic.serial.clone(),
            revoked_at: at("2026-01-15T00:00:00Z"),
            reason: RevocationReason::KeyCompromise,
            invalidity_date: Some(at("2026-01-10T00:00:00Z")),
        }],
        "2026-02-01T00:00:00Z",
    ))
    .expect("pem");
    write("revoked.crl.pem", &revoking);
    let (ok, text) = openssl(
        dir.path(),
        &[
            "verify",
            "-attime",
            &attime,
            "-crl_check",
            "-CRLfile",
            "revoked.crl.pem",
            "-CAfile",
            "health.pem",
            "clinic.pem",
        ],
    );
    assert!(!ok && text.contains("revoked"), "{text}");
    // OpenSSL reads the CRL entry as we wrote it.
    let (ok, text) = openssl(dir.path(), &["crl", "-in", "revoked.crl.pem", "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Key Compromise") && text.contains("Invalidity Date"), "{text}");
    assert!(text.contains(&hex::encode_upper(&w.clinic.serial)), "{text}");

    // OpenSSL sees our extensions (and their 2.25 OIDs) in the certificate.
    let (ok, text) = openssl(dir.path(), &["x509", "-in", "clinic.pem", "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("URI:{}", w.clinic_key.did())), "{text}");
    assert!(text.contains(wallet_core::trust::CREDENTIAL_SIGNING_EKU_OID), "{text}");
    assert!(text.contains(wallet_core::trust::CREDENTIAL_TYPES_EXTENSION_OID), "{text}");
    assert!(text.contains("Digital Signature") && text.contains("critical"), "{text}");
    let (ok, text) = openssl(dir.path(), &["x509", "-in", "health.pem", "-noout", "-text"]);
    assert!(ok && text.contains("CA:TRUE, pathlen:0") && text.contains("Certificate Sign, CRL Sign"), "{text}");

    // CSRs verify; encrypted keys open with the passphrase.
    let key = IssuerKey::generate();
    write("request.pem", &create_csr(&key, "某诊所", CLINIC_USCI, &key.did()).expect("csr"));
    let (ok, text) = openssl(dir.path(), &["req", "-in", "request.pem", "-verify", "-noout"]);
    assert!(ok, "{text}");
    write("key.enc.pem", &encrypt_private_key(&key, "test-only-passphrase").expect("encrypt"));
    let (ok, text) =
        openssl(dir.path(), &["pkey", "-in", "key.enc.pem", "-passin", "pass:test-only-passphrase", "-noout"]);
    assert!(ok, "{text}");
}

// ---------------------------------------------------------------- garbage in

#[test]
fn parsers_do_not_panic_on_garbage() {
    let w = world();
    let list = w.list_with(&[], w.empty_crls());
    let roots = vec![w.health.der.clone(), w.market.der.clone()];
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_260_601);

    for _ in 0..300 {
        let length = rng.gen_range(0..2_000);
        let garbage: Vec<u8> = (0..length).map(|_| rng.gen()).collect();
        assert!(TrustList::load(&garbage, &roots, now(), Duration::days(1)).is_err());
        assert!(summarize_certificate(&garbage).is_err());
        assert!(summarize_crl(&garbage).is_err());
        let text = String::from_utf8_lossy(&garbage);
        assert!(decrypt_private_key(&text, "x").is_err());
        assert!(certificate_pem_to_der(&text).is_err());
        let garbage_pem = pem_encode("CERTIFICATE REQUEST", &garbage);
        assert!(
            issue_certificate(&garbage_pem, &w.health.pem, &w.health.key, &["X"], &clinic_validity(), &[1]).is_err()
        );
        let garbage_root = pem_encode("CERTIFICATE", &garbage);
        assert!(create_crl(&garbage_root, &w.health.key, &[], at(SIGNED), at("2026-04-01T00:00:00Z")).is_err());
        // Garbage configured roots.
        assert!(TrustList::load(&list, std::slice::from_ref(&garbage), now(), Duration::days(1)).is_err());
    }
    // Every truncation of a certificate, a CRL and the list.
    let crl_der = crl(&w.health, &[], "2026-05-31T00:00:00Z");
    for cut in 0..w.clinic.der.len() {
        assert!(summarize_certificate(&w.clinic.der[..cut]).is_err());
    }
    for cut in 0..crl_der.len() {
        assert!(summarize_crl(&crl_der[..cut]).is_err());
    }
    for cut in (0..list.len()).step_by(37) {
        assert!(TrustList::load(&list[..cut], &roots, now(), Duration::days(1)).is_err());
    }
    // Random bit flips in a certificate never panic (and never pass as the same).
    for _ in 0..500 {
        let mut flipped = w.clinic.der.clone();
        let index = rng.gen_range(0..flipped.len());
        flipped[index] ^= 1 << rng.gen_range(0..8);
        let _ = summarize_certificate(&flipped);
    }

    // A validly signed list whose entries are garbage: certificates are left
    // out with a warning, a garbage CRL refuses the list.
    let mut garbage_entries = contents(&[&w.health, &w.market], &[&w.clinic], w.empty_crls());
    garbage_entries.issuer_certificates.push(w.clinic.der[..100].to_vec());
    assert!(build_trust_list(&garbage_entries, &w.health.key, std::slice::from_ref(&w.health.der)).is_err());
    let store = TrustList::load(&sign_unchecked(&garbage_entries, &w.health), &roots, now(), Duration::days(1))
        .expect("garbage certificate is skipped");
    assert_eq!(store.issuer_certificate_count(), 1);
    assert_eq!(store.warnings().len(), 1);
    let mut garbage_crl = contents(&[&w.health, &w.market], &[&w.clinic], w.empty_crls());
    garbage_crl.crls.push(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
    assert_eq!(
        TrustList::load(&sign_unchecked(&garbage_crl, &w.health), &roots, now(), Duration::days(1))
            .expect_err("garbage CRL")
            .code(),
        "invalid_crl"
    );
}

/// Sign a list the way `build_trust_list` does but without its entry checks,
/// to feed the loader entries the builder would refuse.
fn sign_unchecked(contents: &TrustListContents, root: &Department) -> Vec<u8> {
    let valid = TrustListContents { issuer_certificates: Vec::new(), crls: Vec::new(), ..contents.clone() };
    let list = build_trust_list(&valid, &root.key, std::slice::from_ref(&root.der)).expect("list");
    let envelope: serde_json::Value = serde_json::from_slice(&list).expect("json");
    let protected = envelope["protected"].as_str().expect("protected").to_owned();
    let mut payload: serde_json::Value =
        serde_json::from_str(envelope["payload"].as_str().expect("payload")).expect("payload json");
    payload["issuerCertificates"] =
        contents.issuer_certificates.iter().map(|d| base64_standard(d)).collect::<Vec<_>>().into();
    payload["crls"] = contents.crls.iter().map(|d| base64_standard(d)).collect::<Vec<_>>().into();
    let payload = serde_json::to_string(&payload).expect("payload");
    let pkcs8 = root.key.to_pkcs8_pem().expect("pem");
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    let signing_key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pkcs8).expect("key");
    let signature: p256::ecdsa::Signature = signing_key.sign(format!("{protected}.{payload}").as_bytes());
    use base64::Engine as _;
    serde_json::to_vec(&serde_json::json!({
        "protected": protected,
        "payload": payload,
        "signature": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes()),
    }))
    .expect("json")
}

// ---------------------------------------------------------------- committed fixtures

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/trust")
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("fixtures/trust/{name}: {e}"))
}

fn fixture_key(name: &str) -> IssuerKey {
    let pem = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/keys").join(name))
        .unwrap_or_else(|e| panic!("fixtures/keys/{name}: {e}"));
    IssuerKey::from_pkcs8_pem(&pem).expect("fixture key")
}

/// The passphrase of the committed department keys.
const FIXTURE_PASSPHRASE: &str = "test-only-passphrase";

#[test]
fn committed_fixtures_work() {
    let health_root = certificate_pem_to_der(&read_fixture("health-commission-root.pem")).expect("root");
    let market_root = certificate_pem_to_der(&read_fixture("market-supervision-root.pem")).expect("root");
    let list = std::fs::read(fixtures_dir().join("trust-list.json")).expect("trust list");
    let parsed = TrustList::parse(&list).expect("parses");
    let store = TrustList::load(
        &list,
        &[health_root.clone(), market_root.clone()],
        parsed.issued_at() + Duration::hours(1),
        Duration::days(1),
    )
    .expect("loads");
    let test_issuer = fixture_key("test-issuer.pem");
    let other_issuer = fixture_key("other-issuer.pem");
    let signed = parsed.issued_at() + Duration::minutes(30);
    let trusted = store
        .assess_issuer(&test_issuer.verification_method(), &health_types(), signed)
        .expect("test issuer trusted for health certificates");
    assert!(trusted.root_name.contains("卫生健康委员会"));
    assert!(store.check_issuer(&other_issuer.did(), &licence_types(), signed).is_valid());
    assert_eq!(code(&store.check_issuer(&test_issuer.did(), &licence_types(), signed)), Some("type_not_allowed"));
    // Valid for ~20 years.
    assert!(store
        .check_issuer(&test_issuer.did(), &health_types(), parsed.issued_at() + Duration::days(365 * 19))
        .is_valid());

    // The encrypted department keys open and match their certificates.
    for (key_file, root_der) in
        [("health-commission-root.key.pem", &health_root), ("market-supervision-root.key.pem", &market_root)]
    {
        let key = decrypt_private_key(&read_fixture(key_file), FIXTURE_PASSPHRASE).expect("decrypt");
        let clinic_csr = create_csr(&key, "检验", CLINIC_USCI, &key.did()).expect("csr");
        let root_pem = wallet_core::trust::certificate_der_to_pem(root_der).expect("pem");
        assert!(issue_certificate(
            &clinic_csr,
            &root_pem,
            &key,
            &["X"],
            &window("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
            &[1]
        )
        .is_ok());
    }
    // The CRLs are empty and valid for long.
    for name in ["health-commission-root.crl.pem", "market-supervision-root.crl.pem"] {
        let summary =
            summarize_crl(&wallet_core::trust::crl_pem_to_der(&read_fixture(name)).expect("crl")).expect("summary");
        assert!(summary.entries.is_empty());
        assert!(summary.next_update.is_some_and(|n| n > at("2045-01-01T00:00:00Z")));
    }
}

/// Regenerates `fixtures/trust/`. Run by hand:
/// `cargo test -p wallet-core --test suite -- --ignored regenerate_trust_fixtures`.
#[test]
#[ignore = "writes fixtures/trust; run by hand"]
fn regenerate_trust_fixtures() {
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |name: &str, content: &[u8]| std::fs::write(dir.join(name), content).expect("write");
    let validity = window("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let issuer_validity = window("2026-01-01T00:00:00Z", "2045-12-31T00:00:00Z");
    let this_update = at("2026-01-01T00:00:00Z");
    let next_update = at("2045-12-31T00:00:00Z");

    let mut roots = Vec::new();
    let mut crls = Vec::new();
    let mut certificates = Vec::new();
    for (file, organization, common_name, issuer_key, issuer_name, issuer_usci, issuer_type) in [
        (
            "health-commission-root",
            "示例市卫生健康委员会",
            "示例市卫生健康委员会电子证照根证书（测试）",
            "test-issuer.pem",
            "示例市第一人民医院体检中心",
            CLINIC_USCI,
            HEALTH_CERTIFICATE_TYPE,
        ),
        (
            "market-supervision-root",
            "示例市市场监督管理局",
            "示例市市场监督管理局电子证照根证书（测试）",
            "other-issuer.pem",
            "示例市市场监督管理局东城分局",
            OFFICE_USCI,
            FOOD_BUSINESS_LICENCE_TYPE,
        ),
    ] {
        let root_key = IssuerKey::generate();
        let root_pem = create_root(
            &DepartmentName { organization: organization.into(), common_name: common_name.into() },
            &validity,
            &root_key,
        )
        .expect("root");
        write(&format!("{file}.pem"), root_pem.as_bytes());
        write(
            &format!("{file}.key.pem"),
            encrypt_private_key(&root_key, FIXTURE_PASSPHRASE).expect("encrypt").as_bytes(),
        );
        let key = fixture_key(issuer_key);
        let csr = create_csr(&key, issuer_name, issuer_usci, &key.did()).expect("csr");
        let certificate =
            issue_certificate(&csr, &root_pem, &root_key, &[issuer_type], &issuer_validity, &random_serial())
                .expect("certificate");
        let certificate_file = if issuer_type == HEALTH_CERTIFICATE_TYPE {
            "clinic-test-issuer.pem"
        } else {
            "licensing-office-other-issuer.pem"
        };
        write(certificate_file, certificate.as_bytes());
        let crl_der = create_crl(&root_pem, &root_key, &[], this_update, next_update).expect("crl");
        write(&format!("{file}.crl.pem"), crl_der_to_pem(&crl_der).expect("pem").as_bytes());
        roots.push((certificate_pem_to_der(&root_pem).expect("der"), root_key));
        certificates.push(certificate_pem_to_der(&certificate).expect("der"));
        crls.push(crl_der);
    }
    let list_contents = TrustListContents {
        sequence: 1,
        issued_at: this_update,
        next_update,
        roots: roots.iter().map(|(der, _)| der.clone()).collect(),
        issuer_certificates: certificates,
        crls,
    };
    let (health_der, health_key) = &roots[0];
    let list = build_trust_list(&list_contents, health_key, std::slice::from_ref(health_der)).expect("list");
    write("trust-list.json", &list);
}

#[test]
fn many_issuers_are_indexed_by_key() {
    let w = world();
    let mut extra = Vec::new();
    let mut keys = Vec::new();
    for n in 0..40 {
        let key = IssuerKey::generate();
        let csr = create_csr(&key, &format!("诊所{n}"), &usci(n), &key.did()).expect("csr");
        let pem = issue_certificate(
            &csr,
            &w.health.pem,
            &w.health.key,
            &[HEALTH_CERTIFICATE_TYPE],
            &clinic_validity(),
            &random_serial(),
        )
        .expect("issue");
        extra.push(Issued { der: certificate_pem_to_der(&pem).expect("der"), pem, serial: Vec::new() });
        keys.push(key);
    }
    let refs: Vec<&Issued> = extra.iter().collect();
    let store = load(&w.list_with(&refs, w.empty_crls()), &[&w.health, &w.market]).expect("loads");
    assert_eq!(store.issuer_certificate_count(), 42);
    for (n, key) in keys.iter().enumerate() {
        let trusted = store.assess_issuer(&key.did(), &health_types(), at(SIGNED)).expect("trusted");
        assert_eq!(trusted.organization_name, format!("诊所{n}"));
        assert_eq!(trusted.usci, Some(usci(n as u32)));
    }
}

#[test]
fn trust_store_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<TrustStore>();
}

// ---------------------------------------------------------------- exact type authorisation (issue #13)

/// A clinic certified only for dog vaccinations adds `HealthCertificate` to
/// its credential's types: one authorised type among them is not enough.
#[test]
fn every_claimed_type_must_be_authorised() {
    let w = world();
    let vet_key = IssuerKey::generate();
    let vet = certify(&w.health, &vet_key, "示例市动物诊疗中心", &["DogVaccinationCertificate"], clinic_validity());
    let store = load(&w.list_with(&[&vet], w.empty_crls()), &[&w.health, &w.market]).expect("loads");
    let smuggled: Vec<String> =
        ["VerifiableCredential", HEALTH_CERTIFICATE_TYPE, "DogVaccinationCertificate"].map(String::from).to_vec();
    let failure = store.assess_issuer(&vet_key.did(), &smuggled, at(SIGNED)).expect_err("not authorised");
    assert_eq!(failure.code.as_str(), "type_not_allowed");
    assert!(failure.reason.en.contains(HEALTH_CERTIFICATE_TYPE), "{}", failure.reason.en);
    assert!(!failure.reason.en.contains("(DogVaccinationCertificate)"), "names only the unauthorised type");
    assert!(failure.reason.zh.contains(HEALTH_CERTIFICATE_TYPE), "{}", failure.reason.zh);
    // Order does not matter.
    let reordered: Vec<String> =
        ["VerifiableCredential", "DogVaccinationCertificate", HEALTH_CERTIFICATE_TYPE].map(String::from).to_vec();
    assert_eq!(code(&store.check_issuer(&vet_key.did(), &reordered, at(SIGNED))), Some("type_not_allowed"));
    // Its own type alone is fine, and the report names only it.
    let own: Vec<String> = ["VerifiableCredential", "DogVaccinationCertificate"].map(String::from).to_vec();
    let trusted = store.assess_issuer(&vet_key.did(), &own, at(SIGNED)).expect("authorised");
    assert_eq!(trusted.authorised_types, vec!["DogVaccinationCertificate".to_owned()]);
    // The health clinic's ordinary credential is unaffected.
    let trusted = store.assess_issuer(&w.clinic_key.did(), &health_types(), at(SIGNED)).expect("clinic");
    assert_eq!(trusted.authorised_types, vec![HEALTH_CERTIFICATE_TYPE.to_owned()]);
}

/// Two certificates for one key, each listing one type, do not add up to
/// authorising a credential that claims both.
#[test]
fn types_from_two_certificates_do_not_add_up() {
    let w = world();
    let key = IssuerKey::generate();
    let a = certify(&w.health, &key, "示例市动物诊疗中心", &["DogVaccinationCertificate"], clinic_validity());
    let b = certify(&w.health, &key, "示例市动物诊疗中心", &[HEALTH_CERTIFICATE_TYPE], clinic_validity());
    let store = load(&w.list_with(&[&a, &b], w.empty_crls()), &[&w.health, &w.market]).expect("loads");
    let both: Vec<String> =
        ["VerifiableCredential", HEALTH_CERTIFICATE_TYPE, "DogVaccinationCertificate"].map(String::from).to_vec();
    assert_eq!(code(&store.check_issuer(&key.did(), &both, at(SIGNED))), Some("type_not_allowed"));
    assert!(store.check_issuer(&key.did(), &health_types(), at(SIGNED)).is_valid());
}

/// Attack review: the department revokes a trust-list signer whose key was
/// stolen. The thief's list must not be taken, neither with the revoking CRL
/// in it nor with that CRL left out after a list that carried it.
#[test]
fn attack_a_revoked_trust_list_signer_cannot_install_a_list() {
    let w = world();
    let signer_key = IssuerKey::generate();
    let csr = create_csr(&signer_key, "示例市信任列表运营中心", OFFICE_USCI, &signer_key.did()).expect("csr");
    let serial = random_serial();
    let signer_pem = issue_trust_list_signer_certificate(
        &csr,
        &w.market.pem,
        &w.market.key,
        &window("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        &serial,
    )
    .expect("signer cert");
    let signer_der = certificate_pem_to_der(&signer_pem).expect("der");
    let revoked = RevocationEntry {
        serial: serial.clone(),
        revoked_at: at("2026-05-20T00:00:00Z"),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let revoking_crls =
        vec![crl(&w.health, &[], "2026-05-31T00:00:00Z"), crl(&w.market, &[revoked], "2026-05-31T00:00:00Z")];
    // The revoking CRL in the thief's own list: refused.
    let with_crl = contents(&[&w.health, &w.market], &[&w.clinic, &w.office], revoking_crls.clone());
    let list = build_trust_list(&with_crl, &signer_key, std::slice::from_ref(&signer_der)).expect("list");
    let refused = load(&list, &[&w.health, &w.market]).expect_err("revoked signer");
    assert_eq!(refused.code(), "untrusted_trust_list_signer");
    // The department's list (root-signed) carries the revocation; the thief's
    // next list leaves it out: it loads on its own, but the held list says no.
    let held = load(&signed_by_root(&with_crl, &w.health), &[&w.health, &w.market]).expect("department list");
    let mut next = contents(&[&w.health, &w.market], &[&w.clinic, &w.office], w.empty_crls());
    next.sequence = with_crl.sequence + 1;
    let thiefs = load(
        &build_trust_list(&next, &signer_key, std::slice::from_ref(&signer_der)).expect("list"),
        &[&w.health, &w.market],
    )
    .expect("a list on its own");
    assert!(held.revokes_signer_of(&thiefs));
    // A list of the department's own root, or of a signer nobody revoked, is not refused by it.
    let departments = load(&signed_by_root(&next, &w.health), &[&w.health, &w.market]).expect("loads");
    assert!(!held.revokes_signer_of(&departments));
    let unrevoked = load(
        &signed_by_root(&contents(&[&w.health, &w.market], &[&w.clinic, &w.office], w.empty_crls()), &w.health),
        &[&w.health, &w.market],
    )
    .expect("loads");
    assert!(!unrevoked.revokes_signer_of(&thiefs));
}

/// Any configured root may sign the trust list. The thief of the market
/// bureau's root key signs a newer list carrying the health commission's CRL
/// from before its latest revocation (still within its `nextUpdate`, so the
/// list loads on its own and the revoked clinic is trusted again), or a list
/// leaving that CRL out. A verifier holding the health commission's newer
/// CRL refuses either (`crl_rolled_back_by`).
#[test]
fn attack_another_departments_root_cannot_bring_back_an_older_crl() {
    let w = world();
    let configured = [&w.health, &w.market];
    let compromise = RevocationEntry {
        serial: w.clinic.serial.clone(),
        revoked_at: at("2026-05-30T00:00:00Z"),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let market_crl = crl(&w.market, &[], "2026-05-31T00:00:00Z");
    let held_contents = contents(
        &configured,
        &[&w.clinic, &w.office],
        vec![crl(&w.health, std::slice::from_ref(&compromise), "2026-05-31T00:00:00Z"), market_crl.clone()],
    );
    let held = load(&signed_by_root(&held_contents, &w.health), &configured).expect("the health commission's list");
    let clinic = w.clinic_key.did();
    let signed_at = at("2026-05-30T12:00:00Z");
    assert_eq!(code(&held.check_issuer(&clinic, &health_types(), signed_at)), Some("issuer_revoked"));

    // The thief's list: newer, signed by the market bureau's root, with the
    // health commission's CRL of 20 May (its nextUpdate is 19 June).
    let mut older = contents(
        &configured,
        &[&w.clinic, &w.office],
        vec![crl(&w.health, &[], "2026-05-20T00:00:00Z"), market_crl.clone()],
    );
    older.sequence = held_contents.sequence + 1;
    let older_list = signed_by_root(&older, &w.market);
    let thiefs = load(&older_list, &configured).expect("the premise: it loads on its own");
    assert!(thiefs.may_follow(held.sequence()) && !held.revokes_signer_of(&thiefs), "no other check refuses it");
    assert!(thiefs.check_issuer(&clinic, &health_types(), signed_at).is_valid(), "the premise: the clinic is back");
    let rollback = held.crl_rolled_back_by(&thiefs).expect("refused");
    assert_eq!(rollback.root, held.root_names()[0]);
    assert_eq!((rollback.held, rollback.offered), (at("2026-05-31T00:00:00Z"), Some(at("2026-05-20T00:00:00Z"))));
    assert!(rollback.to_string().contains("older than the one held"), "{rollback}");
    // The same judged against the floors a verifier keeps across restarts
    // (one per root with a CRL); a floor of a root not configured is ignored.
    let floors = held.crl_floors();
    assert_eq!(floors.values().copied().collect::<Vec<_>>(), vec![at("2026-05-31T00:00:00Z"); 2]);
    assert_eq!(thiefs.crl_below(&floors), Some(rollback));
    let elsewhere = std::collections::BTreeMap::from([("0".repeat(64), at("2027-01-01T00:00:00Z"))]);
    assert_eq!(held.crl_below(&elsewhere), None);

    // Leaving the CRL out: every health certificate would be unknown.
    let mut without = contents(&configured, &[&w.clinic, &w.office], vec![market_crl.clone()]);
    without.sequence = held_contents.sequence + 1;
    let thiefs = load(&signed_by_root(&without, &w.market), &configured).expect("loads on its own");
    let rollback = held.crl_rolled_back_by(&thiefs).expect("refused");
    assert_eq!((rollback.root.as_str(), rollback.offered), (held.root_names()[0].as_str(), None));
    assert!(rollback.to_string().contains("leaves out"), "{rollback}");

    // The department's next list, with the same or a newer CRL, follows; so
    // does the held list itself.
    for this_update in ["2026-05-31T00:00:00Z", "2026-06-01T00:00:00Z"] {
        let mut next = contents(
            &configured,
            &[&w.clinic, &w.office],
            vec![crl(&w.health, std::slice::from_ref(&compromise), this_update), market_crl.clone()],
        );
        next.sequence = held_contents.sequence + 1;
        let next = load(&signed_by_root(&next, &w.market), &configured).expect("loads");
        assert_eq!(held.crl_rolled_back_by(&next), None, "{this_update}");
    }
    assert_eq!(held.crl_rolled_back_by(&held), None);
    // A held list without a root's CRL does not hold the next one to any.
    let unrevoked = load(&signed_by_root(&without, &w.health), &configured).expect("loads");
    assert_eq!(unrevoked.crl_rolled_back_by(&thiefs), None);

    // The thief's list carried by a verifier bundle the market bureau's root
    // signs: it opens on its own; an inspector holding the health
    // commission's list refuses it (`bundle_crl_rollback`).
    use wallet_core::verifier_bundle::{open_bundle_after, sign_bundle, FreshnessPolicy, HeldBundle, VerifierBundle};
    let bundle = VerifierBundle {
        version: wallet_core::verifier_bundle::VERIFIER_BUNDLE_VERSION,
        sequence: 3,
        issued_at: at(LIST_ISSUED),
        trust_list: String::from_utf8(older_list).expect("JSON"),
        status_lists: Vec::new(),
        checkpoints: Vec::new(),
        logs: Vec::new(),
        base_sequence: None,
    };
    let bundle = sign_bundle(&bundle, &w.market.key, std::slice::from_ref(&w.market.der)).expect("bundle");
    let roots = [w.health.der.clone(), w.market.der.clone()];
    let open = |held: HeldBundle<'_>| {
        pollster::block_on(open_bundle_after(&bundle, &roots, now(), FreshnessPolicy::default(), held))
    };
    let alone = open(HeldBundle::default()).expect("the premise: it opens on its own");
    assert!(alone
        .trust_store()
        .is_some_and(|carried| carried.check_issuer(&clinic, &health_types(), signed_at).is_valid()));
    let refused = open(HeldBundle { sequence: Some(2), trust_list: Some(&held) }).expect_err("refused");
    assert_eq!(refused.code(), "bundle_crl_rollback", "{refused}");
}

/// A list may follow the accepted one by at most `MAX_SEQUENCE_STEP`.
#[test]
fn a_trust_list_may_follow_the_accepted_one_by_at_most_a_step() {
    let w = world();
    let store = w.store();
    let sequence = store.sequence();
    assert!(store.may_follow(sequence) && store.may_follow(sequence - 1) && store.may_follow(0));
    assert!(!store.may_follow(sequence + 1), "older than the floor");
    let mut far = contents(&[&w.health, &w.market], &[&w.clinic, &w.office], w.empty_crls());
    far.sequence = u64::MAX;
    let far = load(&signed_by_root(&far, &w.health), &[&w.health, &w.market]).expect("loads");
    assert!(!far.may_follow(sequence));
    assert!(far.may_follow(u64::MAX - wallet_core::trust::MAX_SEQUENCE_STEP));
    assert!(!far.may_follow(u64::MAX - wallet_core::trust::MAX_SEQUENCE_STEP - 1));
}

/// Attack review 4: a clinic's CSR names its organisation with an escape
/// sequence that rewrites what the department operator's terminal shows
/// before signing, or with a right-to-left override; the name is signed into
/// the certificate and shown to every inspector as the trusted issuer.
#[test]
fn a_csr_whose_organisation_name_hides_characters_is_not_certified() {
    let w = world();
    let key = IssuerKey::generate();
    for name in ["某某诊所\r\u{1b}[2K  subject: 北京协和医院", "\u{202E}院医和协京北", "北京\u{200B}协和医院"]
    {
        let csr = create_csr(&key, name, CLINIC_USCI, &key.did()).expect("the clinic's tool writes any name");
        let refused = issue_certificate(
            &csr,
            &w.health.pem,
            &w.health.key,
            &[HEALTH_CERTIFICATE_TYPE],
            &clinic_validity(),
            &random_serial(),
        );
        assert!(matches!(refused, Err(CertificateError::IncompleteCsr(_))), "{name:?}: {refused:?}");
    }
    let csr = create_csr(&key, "示例市第一人民医院（体检中心）", CLINIC_USCI, &key.did()).expect("csr");
    assert!(issue_certificate(
        &csr,
        &w.health.pem,
        &w.health.key,
        &[HEALTH_CERTIFICATE_TYPE],
        &clinic_validity(),
        &random_serial()
    )
    .is_ok());
}
