//! `BitstringStatusListCredential`: building one (issuer side) and verifying
//! a fetched one (verifier side).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{Bitstring, StatusError, StatusPurpose, MIN_STATUS_LIST_BITS};
use crate::contexts::CREDENTIALS_V2;
use crate::credential::format_timestamp;
use crate::verification::{verify_credential, CheckResult, MalformedCredential, VerifyOptions};

/// `type` of a status list credential.
pub const STATUS_LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// `credentialSubject.type` of a status list credential.
pub const STATUS_LIST_TYPE: &str = "BitstringStatusList";
/// How far a list's `validFrom` may be ahead of our clock (same tolerance as
/// for credentials).
const CLOCK_SKEW_MINUTES: i64 = 5;

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

/// A status list credential that passed [`verify_status_list`]: signed,
/// within its validity period when verified, well-formed, long enough, with
/// its bitstring decoded once. Only [`verify_status_list`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    url: String,
    issuer: String,
    signers: Vec<String>,
    purposes: Vec<String>,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    ttl: Option<Duration>,
    bits: Bitstring,
    credential: Value,
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

fn string_or_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn has_type(v: Option<&Value>, wanted: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Array(a)) => a.iter().any(|t| t == wanted),
        _ => false,
    }
}

fn parse_time(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, StatusError> {
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

/// Verify a fetched status list credential, as fetched from `url`, at `now`:
///
/// 1. structure: `type` includes `BitstringStatusListCredential`; `id` equals
///    `url` (a list of the same issuer served at another list's address would
///    otherwise pass); an `issuer`; `validFrom` present; one
///    `credentialSubject` of type `BitstringStatusList` with `statusPurpose`
///    (one or more strings), `encodedList` (string) and optional `ttl`;
/// 2. the Data Integrity proof, with [`verify_credential`] (bundled contexts,
///    `did:key` only, never the network);
/// 3. the validity period: `validFrom` ≤ now (5 minutes' skew), now ≤ `validUntil`;
/// 4. `encodedList` decodes strictly ([`Bitstring::decode`]) to at least
///    [`MIN_STATUS_LIST_BITS`] bits.
///
/// Whether the list's signer may speak for a given credential is decided per
/// credential by [`check_status`](super::check_status).
///
/// # Errors
/// The first failure, as a [`StatusError`].
pub async fn verify_status_list(
    url: &str,
    list_credential: &Value,
    now: DateTime<Utc>,
) -> Result<VerifiedStatusList, StatusError> {
    let malformed = |what: &str| StatusError::ListMalformed(what.to_owned());
    let obj = list_credential.as_object().ok_or_else(|| malformed("not a JSON object"))?;
    if !has_type(obj.get("type"), STATUS_LIST_CREDENTIAL_TYPE) {
        return Err(malformed("type does not include BitstringStatusListCredential"));
    }
    match obj.get("id").and_then(Value::as_str) {
        Some(id) if id == url => {}
        other => {
            return Err(StatusError::ListUrlMismatch {
                url: url.to_owned(),
                id: other.unwrap_or_default().chars().take(200).collect(),
            })
        }
    }
    let issuer = obj.get("issuer").and_then(string_or_id).ok_or_else(|| malformed("no issuer"))?.to_owned();
    let valid_from = parse_time(obj, "validFrom")?.ok_or_else(|| malformed("no validFrom"))?;
    let valid_until = parse_time(obj, "validUntil")?;
    let subject = match obj.get("credentialSubject") {
        Some(Value::Object(s)) => s,
        Some(Value::Array(_)) => return Err(malformed("credentialSubject must be a single object")),
        _ => return Err(malformed("no credentialSubject object")),
    };
    if !has_type(subject.get("type"), STATUS_LIST_TYPE) {
        return Err(malformed("credentialSubject.type is not BitstringStatusList"));
    }
    let purposes: Vec<String> = match subject.get("statusPurpose") {
        Some(Value::String(p)) => vec![p.clone()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|p| p.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed("credentialSubject.statusPurpose is not one or more strings"))?,
        _ => return Err(malformed("credentialSubject.statusPurpose is not one or more strings")),
    };
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("credentialSubject.encodedList is not a string"))?;
    let ttl = match subject.get("ttl") {
        None => None,
        Some(v) => {
            let ms = v.as_u64().ok_or_else(|| malformed("credentialSubject.ttl is not a non-negative integer"))?;
            Some(Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)))
        }
    };
    if obj.get("proof").is_none() {
        return Err(StatusError::ListBadSignature("the status list is not signed (no proof)".into()));
    }

    let report = verify_credential(list_credential, &VerifyOptions::at(now)).await.map_err(|e| match e {
        MalformedCredential::MissingProof | MalformedCredential::UnreadableProof(_) => {
            StatusError::ListBadSignature(e.message().en)
        }
        other => StatusError::ListMalformed(other.message().en),
    })?;
    match &report.checks.signature {
        CheckResult::Valid => {}
        CheckResult::Invalid { code, reason } | CheckResult::Unchecked { code, reason } => {
            return Err(StatusError::ListBadSignature(format!("{code}: {}", reason.en)));
        }
    }
    let signers = proof_signer_dids(list_credential);
    if signers.is_empty() {
        return Err(StatusError::ListBadSignature("no verificationMethod in the proof".into()));
    }

    if now + Duration::minutes(CLOCK_SKEW_MINUTES) < valid_from {
        return Err(StatusError::ListNotYetValid { valid_from });
    }
    if let Some(valid_until) = valid_until {
        if now > valid_until {
            return Err(StatusError::ListExpired { valid_until });
        }
    }

    let bits = Bitstring::decode(encoded)?;
    if bits.len() < MIN_STATUS_LIST_BITS {
        return Err(StatusError::ListTooShort { bits: bits.len(), min: MIN_STATUS_LIST_BITS });
    }
    Ok(VerifiedStatusList {
        url: url.to_owned(),
        issuer,
        signers,
        purposes,
        valid_from,
        valid_until,
        ttl,
        bits,
        credential: list_credential.clone(),
    })
}
