//! `credentialStatus` entries: `BitstringStatusListEntry`.

use serde_json::{json, Map, Value};

use super::{StatusError, StatusPurpose};

/// The only status method this verifier checks.
pub const STATUS_ENTRY_TYPE: &str = "BitstringStatusListEntry";

/// Longest `statusListIndex` accepted, in digits (`u64::MAX` has 20).
const MAX_INDEX_DIGITS: usize = 20;

/// One `BitstringStatusListEntry` of a credential: which bit of which list
/// says whether it is revoked (or suspended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// The entry's `id`, if any (by convention `<list_url>#<index>`).
    pub id: Option<String>,
    /// What a set bit means.
    pub purpose: StatusPurpose,
    /// `statusListIndex`: the bit's position in the list.
    pub index: u64,
    /// `statusListCredential`: the URL of the `BitstringStatusListCredential`.
    pub list_url: String,
}

impl StatusEntry {
    /// A new entry with the conventional `id` `<list_url>#<index>`.
    pub fn new(purpose: StatusPurpose, index: u64, list_url: impl Into<String>) -> Self {
        let list_url = list_url.into();
        Self { id: Some(format!("{list_url}#{index}")), purpose, index, list_url }
    }

    /// The entry as JSON, for an unsigned credential's `credentialStatus`:
    /// `statusListIndex` is a base-10 string, as the spec requires, and `id`
    /// is `<list_url>#<index>` unless `self.id` names another.
    pub fn to_json(&self) -> Value {
        let id = self.id.clone().unwrap_or_else(|| format!("{}#{}", self.list_url, self.index));
        json!({
            "id": id,
            "type": STATUS_ENTRY_TYPE,
            "statusPurpose": self.purpose.as_str(),
            "statusListIndex": self.index.to_string(),
            "statusListCredential": self.list_url,
        })
    }
}

/// Read a credential's `credentialStatus` (one object or an array of them).
///
/// Returns an empty list when the credential has no `credentialStatus`
/// member at all (the caller decides what that means). Everything else is
/// strict, because a status entry that is skipped is a revocation that is
/// missed: an empty array, a non-object, a type other than
/// `BitstringStatusListEntry`, a purpose other than `revocation` /
/// `suspension`, `statusSize` other than 1, a `statusListIndex` that is not a
/// base-10 string of digits, or a `statusListCredential` that is not an
/// absolute URL are all errors.
///
/// # Errors
/// [`StatusError::EntryMalformed`] (also for more than
/// [`MAX_STATUS_ENTRIES`] entries) or [`StatusError::EntryUnsupported`].
pub fn status_entries(vc: &Value) -> Result<Vec<StatusEntry>, StatusError> {
    let Some(obj) = vc.as_object() else {
        return Err(StatusError::EntryMalformed("the credential is not a JSON object".into()));
    };
    let Some(status) = obj.get("credentialStatus") else {
        return Ok(Vec::new());
    };
    let items: Vec<&Value> = match status {
        Value::Array(a) if a.is_empty() => {
            return Err(StatusError::EntryMalformed("credentialStatus is an empty array".into()));
        }
        Value::Array(a) if a.len() > MAX_STATUS_ENTRIES => {
            return Err(StatusError::EntryMalformed(format!(
                "credentialStatus has {} entries, more than the {MAX_STATUS_ENTRIES} a verifier follows",
                a.len()
            )));
        }
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    items.into_iter().enumerate().map(|(i, item)| parse_entry(i, item)).collect()
}

/// Most status entries a credential may carry. Ours carry two or three (one
/// per purpose); each entry may name a list to fetch, so without a bound one
/// self-signed credential made the verifier fetch (and cache a failure for)
/// thousands of URLs.
pub const MAX_STATUS_ENTRIES: usize = 8;

fn parse_entry(position: usize, item: &Value) -> Result<StatusEntry, StatusError> {
    let at = |what: &str| format!("credentialStatus[{position}]: {what}");
    let malformed = |what: &str| StatusError::EntryMalformed(at(what));
    let obj: &Map<String, Value> = item.as_object().ok_or_else(|| malformed("not an object"))?;

    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => {
            a.iter().map(|t| t.as_str().ok_or_else(|| malformed("type is not a string"))).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(malformed("type is not a string")),
        None => return Err(malformed("no type")),
    };
    if !types.contains(&STATUS_ENTRY_TYPE) {
        return Err(StatusError::EntryUnsupported(at(&format!(
            "type {} is not {STATUS_ENTRY_TYPE}",
            types.join(", ")
        ))));
    }

    let purpose = match obj.get("statusPurpose") {
        Some(Value::String(p)) => StatusPurpose::parse(p)
            .ok_or_else(|| StatusError::EntryUnsupported(at(&format!("statusPurpose {p:?} is not supported"))))?,
        Some(_) => return Err(malformed("statusPurpose is not a string")),
        None => return Err(malformed("no statusPurpose")),
    };

    match obj.get("statusSize") {
        None => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) if v.as_u64().is_some_and(|n| n > 1) => {
            return Err(StatusError::EntryUnsupported(at(&format!("statusSize {v} is not supported (only 1)"))));
        }
        Some(_) => return Err(malformed("statusSize is not a positive integer")),
    }

    let index = match obj.get("statusListIndex") {
        Some(Value::String(s)) => parse_index(s)
            .ok_or_else(|| malformed(&format!("statusListIndex {:?} is not a base-10 integer", truncate(s, 40))))?,
        Some(Value::Number(_)) => return Err(malformed("statusListIndex must be a string, not a number")),
        Some(_) => return Err(malformed("statusListIndex is not a string")),
        None => return Err(malformed("no statusListIndex")),
    };

    let list_url = match obj.get("statusListCredential") {
        Some(Value::String(u)) if is_absolute_url(u) => u.clone(),
        Some(Value::String(u)) => {
            return Err(malformed(&format!("statusListCredential {:?} is not an absolute URL", truncate(u, 80))));
        }
        Some(_) => return Err(malformed("statusListCredential is not a string")),
        None => return Err(malformed("no statusListCredential")),
    };

    let id = match obj.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed("id is not a string")),
    };

    Ok(StatusEntry { id, purpose, index, list_url })
}

/// A base-10 non-negative integer: ASCII digits only (no sign, no spaces,
/// no exponent), fitting in a `u64`.
fn parse_index(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_INDEX_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `scheme:rest` with an RFC 3986 scheme, no whitespace or control characters.
pub(crate) fn is_absolute_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
