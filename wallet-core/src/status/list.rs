//! `BitstringStatusListCredential`: building one (issuer side) and what a
//! verified one holds (verifier side; verifying is `verify.rs`).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{Bitstring, StatusError, StatusPurpose};
use crate::contexts::CREDENTIALS_V2;
use crate::credential::format_timestamp;

/// `type` of a status list credential.
pub const STATUS_LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// `credentialSubject.type` of a status list credential.
pub const STATUS_LIST_TYPE: &str = "BitstringStatusList";
/// How far a list's `validFrom` may be ahead of our clock (same tolerance as
/// for credentials).
pub(super) const CLOCK_SKEW_MINUTES: i64 = 5;

/// An UNSIGNED `BitstringStatusListCredential` for `bits`, ready for
/// [`sign_credential`](crate::issuance::sign_credential):
///
/// ```json
/// { "@context": ["https://www.w3.org/ns/credentials/v2"],
///   "id": list_url,
///   "type": ["VerifiableCredential", "BitstringStatusListCredential"],
///   "issuer": issuer_did, "validFrom": …, "validUntil": …,
///   "credentialSubject": { "id": "<list_url>#list", "type": "BitstringStatusList",
///                          "statusPurpose": "revocation", "encodedList": "uH4sI…" } }
/// ```
///
/// `valid_from` is the publication time: verifiers refuse a list whose
/// `validFrom` is older than the one they hold (rollback), so every
/// publication must carry a later `valid_from` than the previous one.
/// `valid_until` is how long verifiers may rely on it without refetching:
/// past it, the status check fails with `status_list_expired`, so it bounds
/// how long an offline inspector keeps working.
pub fn status_list_credential(
    list_url: &str,
    issuer_did: &str,
    purpose: StatusPurpose,
    bits: &Bitstring,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
) -> Value {
    json!({
        "@context": [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", STATUS_LIST_CREDENTIAL_TYPE],
        "issuer": issuer_did,
        "validFrom": format_timestamp(valid_from),
        "validUntil": format_timestamp(valid_until),
        "credentialSubject": {
            "id": format!("{list_url}#list"),
            "type": STATUS_LIST_TYPE,
            "statusPurpose": purpose.as_str(),
            "encodedList": bits.encode(),
        }
    })
}

/// A status list credential that passed [`verify_status_list`](super::verify_status_list): signed,
/// within its validity period when verified, well-formed, long enough, with
/// its bitstring decoded once. Only [`verify_status_list`](super::verify_status_list) makes one.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    pub(super) url: String,
    pub(super) issuer: String,
    pub(super) signers: Vec<String>,
    pub(super) purposes: Vec<String>,
    pub(super) valid_from: DateTime<Utc>,
    pub(super) valid_until: Option<DateTime<Utc>>,
    pub(super) ttl: Option<Duration>,
    pub(super) bits: Bitstring,
    pub(super) credential: Value,
}

impl VerifiedStatusList {
    /// The URL it was fetched from (= its `id`).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// Its `issuer` (as stated; see [`signer_dids`](Self::signer_dids) for who signed).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The DIDs whose keys signed it (from `proof.verificationMethod`).
    pub fn signer_dids(&self) -> &[String] {
        &self.signers
    }
    /// Its `credentialSubject.statusPurpose` values.
    pub fn purposes(&self) -> &[String] {
        &self.purposes
    }
    /// Does it carry status for this purpose?
    pub fn has_purpose(&self, purpose: StatusPurpose) -> bool {
        self.purposes.iter().any(|p| p == purpose.as_str())
    }
    /// Its `validFrom` (publication time; the rollback order).
    pub fn valid_from(&self) -> DateTime<Utc> {
        self.valid_from
    }
    /// Its `validUntil`, if any.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.valid_until
    }
    /// `credentialSubject.ttl` (the issuer's refresh hint), if any.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl
    }
    /// The decoded bitstring.
    pub fn bits(&self) -> &Bitstring {
        &self.bits
    }
    /// The signed credential exactly as received (e.g. to hand on in an
    /// offline inspector's bundle).
    pub fn credential(&self) -> &Value {
        &self.credential
    }
}

pub(super) fn string_or_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

pub(super) fn has_type(v: Option<&Value>, wanted: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Array(a)) => a.iter().any(|t| t == wanted),
        _ => false,
    }
}

pub(super) fn parse_time(
    obj: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<DateTime<Utc>>, StatusError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| Some(d.with_timezone(&Utc)))
            .ok_or_else(|| StatusError::ListMalformed(format!("{key} is not an RFC 3339 date-time"))),
    }
}

/// The DIDs named by the `verificationMethod`s of a document's proof(s).
pub(crate) fn proof_signer_dids(doc: &Value) -> Vec<String> {
    let proofs: Vec<&Value> = match doc.get("proof") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(p) => vec![p],
        None => Vec::new(),
    };
    let mut dids: Vec<String> = proofs
        .into_iter()
        .filter_map(|p| p.get("verificationMethod").and_then(Value::as_str))
        .map(|vm| vm.split('#').next().unwrap_or(vm).to_owned())
        .filter(|did| !did.is_empty())
        .collect();
    dids.dedup();
    dids
}
