//! Who the trust list says an issuer is.

use chrono::{DateTime, Utc};
use serde::Serialize;

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
}
