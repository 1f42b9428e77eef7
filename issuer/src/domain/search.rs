//! Finding issued credentials for the staff pages: by number, by 证照标识
//! (checked first: a wrong check character is refused, not searched), by part
//! of the holder's name, or page by page, newest first.
//!
//! Names are only inside the signed JSON, so a name search looks through the
//! newest [`NAME_SEARCH_WINDOW`] credentials in the date range.

use chrono::{DateTime, Utc};
use serde_json::Value;
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::licence_id::{LicenceId, LicenceIdError, ROOT_OID};
use wallet_core::localized::Localized;

use crate::store::{CredentialQuery, Store, StoreError};

/// Credentials on one page of results.
pub const PAGE_SIZE: u32 = 20;
/// How many of the newest credentials a name search looks through.
pub const NAME_SEARCH_WINDOW: u32 = 500;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// A certificate number (the UUID, with or without `urn:uuid:`), part of a
    /// holder's name, or empty for every credential.
    pub text: String,
    /// Issued at or after.
    pub issued_from: Option<DateTime<Utc>>,
    /// Issued before.
    pub issued_until: Option<DateTime<Utc>>,
    /// The page, from 1.
    pub page: u32,
}

/// One credential found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The signed credential.
    pub credential: Value,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

/// One page of results.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// At most [`PAGE_SIZE`] credentials.
    pub found: Vec<Found>,
    /// There is a next page.
    pub has_more: bool,
}

/// Why a search was not run, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The text is a 证照标识 that does not check out (format or check character).
    #[error("{0}")]
    LicenceId(LicenceIdError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SearchError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LicenceId(e) => e.code(),
            Self::Store(_) => "internal",
        }
    }

    /// For people, in zh and en (a store failure's cause is for the logs).
    pub fn message(&self) -> Localized {
        match self {
            Self::LicenceId(e) => Localized::new(e.message_zh(), format!("{e}")),
            Self::Store(_) => Localized::new("内部错误", "internal error"),
        }
    }
}

/// The 证照标识 in a search text, checked: `None` when the text is not one
/// (does not start with the root OID).
///
/// # Errors
/// The identifier's first problem (wrong check character and so on).
pub fn licence_id_query(text: &str) -> Result<Option<LicenceId>, LicenceIdError> {
    let text = text.trim();
    if !text.starts_with(ROOT_OID) {
        return Ok(None);
    }
    LicenceId::parse(&text.to_ascii_uppercase()).map(Some)
}

/// The holder as a person reads it: name (pinyin), licensee, or the first field a
/// defined type prints on its card.
pub fn holder_of(types: &TypeRegistry, vc: &Value) -> String {
    let s = &vc["credentialSubject"];
    match (s["fullName"].as_str(), s["fullNamePinyin"].as_str(), s["licensee"].as_str()) {
        (Some(name), Some(pinyin), _) => format!("{name} ({pinyin})"),
        (Some(name), None, _) => name.to_owned(),
        (_, _, Some(licensee)) => licensee.to_owned(),
        // Other defined types: the first field printed on the card (e.g. the owner's name).
        _ => types
            .for_credential(vc)
            .and_then(|def| def.display_fields(vc).into_iter().find(|f| f.print))
            .map(|f| f.value.zh)
            .unwrap_or_default(),
    }
}

/// The credentials matching `search`, newest first.
///
/// # Errors
/// The store's.
pub async fn search(store: &Store, types: &TypeRegistry, search: &Search) -> Result<Results, SearchError> {
    let text = search.text.trim();
    let page = search.page.max(1);
    let mut query = CredentialQuery {
        issued_from: search.issued_from,
        issued_until: search.issued_until,
        ..CredentialQuery::default()
    };
    if let Some(licence_id) = licence_id_query(text).map_err(SearchError::LicenceId)? {
        // The licence's whole chain (every version of its serial), newest first,
        // when this version exists.
        if store.credential_id_by_licence_id(&licence_id.to_string()).await?.is_none() {
            return Ok(Results::default());
        }
        let versions = store.licence_versions(&licence_id.versions_prefix()).await?;
        let ids = versions.into_iter().rev().map(|v| v.credential_id);
        return Ok(Results { found: stored(store, ids).await?, has_more: false });
    }
    if let Some(id) = CredentialId::parse(text).or_else(|| CredentialId::parse(&format!("urn:uuid:{text}"))) {
        let found = stored(store, std::iter::once(id.as_str().to_owned())).await?;
        return Ok(Results { found, has_more: false });
    }
    if text.is_empty() {
        query.limit = PAGE_SIZE + 1;
        query.offset = (page - 1) * PAGE_SIZE;
        let mut found = documents(store.list_stored_credentials(&query).await?);
        let has_more = found.len() > PAGE_SIZE as usize;
        found.truncate(PAGE_SIZE as usize);
        return Ok(Results { found, has_more });
    }
    // Names exist only inside the signed documents: the newest in the window
    // are read in one query and matched here.
    query.limit = NAME_SEARCH_WINDOW;
    let needle = text.to_lowercase();
    let skip = ((page - 1) * PAGE_SIZE) as usize;
    let mut results = Results::default();
    let mut matched = 0usize;
    for found in documents(store.list_stored_credentials(&query).await?) {
        if holder_of(types, &found.credential).to_lowercase().contains(&needle) {
            matched += 1;
            if matched > skip + PAGE_SIZE as usize {
                results.has_more = true;
                break;
            }
            if matched > skip {
                results.found.push(found);
            }
        }
    }
    Ok(results)
}

/// The readable documents among `stored`, in order.
fn documents(stored: Vec<crate::store::StoredCredential>) -> Vec<Found> {
    stored
        .into_iter()
        .filter_map(|s| {
            serde_json::from_str::<Value>(&s.credential_json)
                .ok()
                .map(|credential| Found { credential, issued_at: s.issued_at })
        })
        .collect()
}

/// The stored credentials with these ids, in this order (unknown and unreadable
/// ones left out).
///
/// One store read per id (a search by credential number, the ID-number lookup).
pub(crate) async fn stored(store: &Store, ids: impl IntoIterator<Item = String>) -> Result<Vec<Found>, StoreError> {
    let mut found = Vec::new();
    for id in ids {
        if let Some(s) = store.credential(&id).await? {
            if let Ok(credential) = serde_json::from_str::<Value>(&s.credential_json) {
                found.push(Found { credential, issued_at: s.issued_at });
            }
        }
    }
    Ok(found)
}
