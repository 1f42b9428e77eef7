//! Builders shared by the `attack_*` tests: a department PKI whose
//! certificates, CRL entries and trust list each attack picks, the shipped
//! health certificate to sign, and the report assertions.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate,
    CertificateValidity, DepartmentName, RevocationEntry, TrustAlgorithm, TrustKey, TrustList, TrustListContents,
    TrustStore,
};
use wallet_core::verification::{CheckResult, IssuerTrust, VerificationReport, VerifyOptions};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("test time").with_timezone(&Utc)
}

/// When the trust list was made.
pub const LIST_ISSUED: &str = "2026-06-01T00:00:00Z";

/// The verifier's clock: an hour after the trust list.
pub fn now() -> DateTime<Utc> {
    at(LIST_ISSUED) + Duration::hours(1)
}

/// When the issuer signs (inside every certificate window below unless a test says otherwise).
pub fn signed_at() -> DateTime<Utc> {
    at("2026-05-01T08:00:00Z")
}

pub fn window(from: &str, to: &str) -> CertificateValidity {
    CertificateValidity { not_before: at(from), not_after: at(to) }
}

/// The usual issuer certificate window.
pub fn usual_window() -> CertificateValidity {
    window("2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z")
}

/// The shipped health certificate without its proof, issued by `issuer`.
pub fn unsigned(issuer: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/qr/sample-health-certificate.signed.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("proof");
    doc["issuer"] = Value::String(issuer.to_owned());
    doc
}

/// A department root and the issuer certificates it signs.
pub struct Pki {
    pub root_key: TrustKey,
    pub root_pem: String,
    pub root_der: Vec<u8>,
}

impl Pki {
    pub fn new(algorithm: TrustAlgorithm, organization: &str) -> Self {
        let root_key = TrustKey::generate(algorithm);
        let root_pem = create_root(
            &DepartmentName { organization: organization.into(), common_name: format!("{organization}根证书") },
            &window("2025-01-01T00:00:00Z", "2045-01-01T00:00:00Z"),
            &root_key,
        )
        .unwrap();
        let root_der = certificate_pem_to_der(&root_pem).unwrap();
        Self { root_key, root_pem, root_der }
    }

    /// The default department (P-256 root).
    pub fn department() -> Self {
        Self::new(TrustAlgorithm::P256, "示例市卫生健康委员会")
    }

    /// An issuer certificate (DER) for `key`, allowed `types`, valid in `validity`, with `serial`.
    pub fn certify(&self, key: &TrustKey, types: &[&str], validity: &CertificateValidity, serial: &[u8]) -> Vec<u8> {
        self.certify_for(key, ("示例市第一人民医院", "12110000MB0000001U"), types, validity, serial)
    }

    /// [`Pki::certify`] for the organisation `(name, unified social credit code)`.
    pub fn certify_for(
        &self,
        key: &TrustKey,
        (organization, usci): (&str, &str),
        types: &[&str],
        validity: &CertificateValidity,
        serial: &[u8],
    ) -> Vec<u8> {
        let csr = create_csr(key, organization, usci, &key.did()).unwrap();
        let pem = issue_certificate(&csr, &self.root_pem, &self.root_key, types, validity, serial).unwrap();
        certificate_pem_to_der(&pem).unwrap()
    }

    /// The trust list of this root with `certificates` and a CRL revoking `revoked`.
    pub fn store(&self, certificates: Vec<Vec<u8>>, revoked: &[RevocationEntry]) -> TrustStore {
        self.store_configured(certificates, revoked, std::slice::from_ref(&self.root_der))
    }

    /// [`Pki::store`] at a verifier configured with `configured` roots (DER)
    /// instead of this root as it was created.
    pub fn store_configured(
        &self,
        certificates: Vec<Vec<u8>>,
        revoked: &[RevocationEntry],
        configured: &[Vec<u8>],
    ) -> TrustStore {
        let this_update = at("2026-05-31T00:00:00Z");
        let crl =
            create_crl(&self.root_pem, &self.root_key, revoked, this_update, this_update + Duration::days(30)).unwrap();
        let contents = TrustListContents {
            sequence: 1,
            issued_at: at(LIST_ISSUED),
            next_update: at(LIST_ISSUED) + Duration::days(2),
            roots: vec![self.root_der.clone()],
            issuer_certificates: certificates,
            crls: vec![crl],
        };
        let list = build_trust_list(&contents, &self.root_key, std::slice::from_ref(&self.root_der)).unwrap();
        TrustList::load(&list, configured, now(), Duration::days(1)).unwrap()
    }
}

/// Verify as an inspector does: trust required.
pub fn inspector(store: TrustStore) -> VerifyOptions {
    VerifyOptions::at(now()).with_trust(IssuerTrust::list(Arc::new(store)), true)
}

/// `result` is invalid with `code` (and a reason in both languages).
#[track_caller]
pub fn assert_invalid(result: &CheckResult, code: &str) {
    match result {
        CheckResult::Invalid { code: c, reason } => {
            assert_eq!(c, code, "reason: {reason:?}");
            assert!(!reason.zh.is_empty() && !reason.en.is_empty());
        }
        other => panic!("expected invalid {code}, got {other:?}"),
    }
}

/// The report is not verified, and `check` of it is invalid with `code`.
#[track_caller]
pub fn assert_refused(report: &VerificationReport, check: fn(&VerificationReport) -> &CheckResult, code: &str) {
    assert!(!report.verified, "{report:#?}");
    assert_invalid(check(report), code);
}

pub fn signature(r: &VerificationReport) -> &CheckResult {
    &r.checks.signature
}

pub fn issuer_trust(r: &VerificationReport) -> &CheckResult {
    &r.checks.issuer_trust
}

pub fn status(r: &VerificationReport) -> &CheckResult {
    &r.checks.status
}
