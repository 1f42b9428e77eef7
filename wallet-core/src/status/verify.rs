//! Verifying a fetched status list credential (its proof with the one
//! verification routine), and keeping it in a [`StatusListCache`].

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::list::{has_type, parse_time, proof_signer_dids, string_or_id, VerifiedStatusList, CLOCK_SKEW_MINUTES};
use super::{
    Bitstring, StatusError, StatusListCache, MIN_STATUS_LIST_BITS, STATUS_LIST_CREDENTIAL_TYPE, STATUS_LIST_TYPE,
};
use crate::report::CheckResult;
use crate::verification::{verify_credential, MalformedCredential, VerifyOptions};

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

impl StatusListCache {
    /// Verify a list credential fetched from `url` at `fetched_at` (signature,
    /// validity period at `now`, type, structure, `id` = `url`, decodable
    /// `encodedList`, at least [`MIN_STATUS_LIST_BITS`](super::MIN_STATUS_LIST_BITS)
    /// bits; see [`verify_status_list`]) and keep it, unless the cache holds
    /// (or has held) a newer one from the same signer for that URL.
    ///
    /// On failure the error is also recorded for `url` (as by
    /// [`record_failure`](Self::record_failure)), and any good list already
    /// held is kept.
    ///
    /// # Errors
    /// Why the list was not taken; [`StatusError::Rollback`] (code
    /// `status_list_rollback`) when it is older than the one held.
    pub async fn offer(
        &mut self,
        url: &str,
        list_credential: &Value,
        fetched_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StatusError> {
        let result = match verify_status_list(url, list_credential, now).await {
            Ok(list) => self.insert_verified(list, fetched_at),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.record_failure(url, e.clone(), now);
        }
        result
    }
}
