//! The inspectors' ID-number lookup: does this issuer hold a health certificate
//! for this name and ID number? Yes or no, never which one.
//!
//! Each credential has its own salt, so the lookup filters by exact name and
//! computes the keyed digest of the number for each candidate among the newest
//! [`LOOKUP_WINDOW`] health certificates. The number is used for the comparison
//! only: never stored, never logged.

use serde_json::Value;
use wallet_core::credential::{IdMatch, IdNumber, IdNumberDigest, IdNumberKey, HEALTH_CERTIFICATE_TYPE};

use crate::domain::search::stored;
use crate::store::{CredentialQuery, Store, StoreError};

/// How many of the newest credentials the lookup looks through.
pub const LOOKUP_WINDOW: u32 = 1000;

/// True when one of the newest health certificates has a holder of exactly this
/// name whose ID digest matches `number` under one of `keys`.
///
/// # Errors
/// The store's.
pub async fn holds_certificate(
    store: &Store,
    keys: &[IdNumberKey],
    name: &str,
    number: &IdNumber,
) -> Result<bool, StoreError> {
    let query = CredentialQuery {
        kind: Some(HEALTH_CERTIFICATE_TYPE.to_owned()),
        limit: LOOKUP_WINDOW,
        ..CredentialQuery::default()
    };
    let summaries = store.list_credentials(&query).await?;
    for summary in summaries {
        let Some(found) = stored(store, [summary.id]).await?.pop() else { continue };
        let subject = found.credential.get("credentialSubject").unwrap_or(&Value::Null);
        if subject.get("fullName").and_then(Value::as_str).map(str::trim) != Some(name) {
            continue;
        }
        let digest = match (subject["idNumberDigest"].as_str(), subject["idNumberSalt"].as_str()) {
            (Some(digest), Some(salt)) => IdNumberDigest { digest: digest.to_owned(), salt: salt.to_owned() },
            _ => continue,
        };
        if digest.check(number, keys) == IdMatch::Matches {
            return Ok(true);
        }
    }
    Ok(false)
}
