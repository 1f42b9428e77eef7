//! What verification reports: the outcome of each check (`valid`, `invalid`
//! with a code and a reason in zh and en, or `unchecked` with why), warnings,
//! the reports of a credential and of a presentation, and who the trust list
//! says its issuer is. Plain data, shared by the checks that produce it
//! (signature, trust, status, holder binding) and by whoever shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::localized::Localized;
use crate::transparency::AnchorEvidence;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum CheckResult {
    /// The check ran and passed.
    Valid,
    /// The check ran and failed.
    Invalid {
        /// Stable machine code, e.g. `expired`, `bad_signature`.
        code: String,
        /// For the inspector, in plain words.
        reason: Localized,
    },
    /// The check did not run (no data to run it on, or not configured).
    Unchecked {
        /// Stable machine code, e.g. `no_trust_list`.
        code: String,
        /// Why not.
        reason: Localized,
    },
}

impl CheckResult {
    pub(crate) fn invalid(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Invalid { code: code.to_owned(), reason: Localized::new(zh, en) }
    }
    pub(crate) fn unchecked(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Unchecked { code: code.to_owned(), reason: Localized::new(zh, en) }
    }
    /// Did the check run and pass?
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }
    /// Did the check run and fail?
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid { .. })
    }
    /// The failure code, if the check failed.
    pub fn invalid_code(&self) -> Option<&str> {
        match self {
            Self::Invalid { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// One entry per check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checks {
    /// The Data Integrity proof verifies against the issuer's key.
    pub signature: CheckResult,
    /// `validFrom` ≤ now ≤ `validUntil`.
    pub validity_period: CheckResult,
    /// The signing key belongs to an issuer a department authorised for this type.
    pub issuer_trust: CheckResult,
    /// Not revoked, not suspended (Bitstring Status List).
    pub status: CheckResult,
    /// The issuance is in the shared, anchored log.
    pub anchoring: CheckResult,
    /// For a credential bound to a device key: the presenter signed a fresh
    /// presentation with that key ([`crate::presentation`]).
    pub holder_binding: CheckResult,
    /// The 证照标识 is well formed, of the credential's type and (when the
    /// trust list names the issuer's certificate) of its issuing authority.
    pub licence_id: CheckResult,
}

/// Something worth telling the inspector that does not by itself fail the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable machine code.
    pub code: String,
    /// In plain words.
    pub message: Localized,
}

/// The verification report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationReport {
    /// True when the signature and validity period are valid, status,
    /// anchoring and holder binding are not invalid, and (when required)
    /// issuer trust is valid.
    pub verified: bool,
    /// The credential's `id`, if any.
    pub credential_id: Option<String>,
    /// The issuer's identifier.
    pub issuer: Option<String>,
    /// Who the trust list says the issuer is (when issuer trust is valid).
    pub trusted_issuer: Option<TrustedIssuer>,
    /// The credential's types.
    pub types: Vec<String>,
    /// The checks.
    pub checks: Checks,
    /// Where the issuance is anchored (when the anchoring check is valid):
    /// log index, block number and time, witnesses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorEvidence>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// The clock the checks were run against.
    pub checked_at: DateTime<Utc>,
}

impl VerificationReport {
    /// The code of the first failed check, in the order an inspector cares about.
    pub fn first_failure(&self) -> Option<&str> {
        let c = &self.checks;
        [&c.signature, &c.issuer_trust, &c.status, &c.validity_period, &c.anchoring, &c.holder_binding, &c.licence_id]
            .into_iter()
            .find_map(CheckResult::invalid_code)
    }
}

/// The result of verifying a presentation: its own proof, then each credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresentationReport {
    /// True when the presentation's proof is not invalid and every credential verified.
    pub verified: bool,
    /// The presentation's `holder`, if any.
    pub holder: Option<String>,
    /// The presentation's own proof (`unchecked` when it has none).
    pub proof: CheckResult,
    /// One report per embedded credential, in order.
    pub credentials: Vec<CredentialOutcome>,
    /// Warnings about the presentation itself.
    pub warnings: Vec<Warning>,
}

/// One embedded credential's outcome inside a presentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum CredentialOutcome {
    /// It was checkable: here is its report.
    Report(Box<VerificationReport>),
    /// It was not a checkable credential.
    Malformed {
        /// Stable code.
        code: String,
        /// For a person.
        message: Localized,
    },
}

/// Who vouches for a trusted credential issuer (for display).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedIssuer {
    /// The issuing organisation (certificate subject O).
    pub organization_name: String,
    /// Its unified social credit code.
    pub usci: Option<String>,
    /// The certified `did:key`.
    pub did: String,
    /// The department root that certified it.
    pub root_name: String,
    /// The issuer certificate's serial (hex).
    pub certificate_serial: String,
    /// When the issuer certificate expires.
    pub certificate_not_after: DateTime<Utc>,
    /// The credential types it may issue.
    pub allowed_types: Vec<String>,
    /// The credential's own types (other than `VerifiableCredential`) that
    /// this certificate authorises: with a valid trust check, all of them.
    /// Inspectors name the credential by these, never by a type the
    /// certificate does not list.
    pub authorised_types: Vec<String>,
    /// When the department withdrew (or put on hold) the issuer certificate,
    /// or from when its key was compromised, for a signature claimed before
    /// it: such a credential stands only with the log's evidence that it
    /// was anchored on the chain before then (`RevocationRecord::evidence_needed_before`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
}
