//! Persistent storage for issued credentials and idempotency records.
//!
//! One API ([`Store`]) over two backends, chosen at run time from a URL:
//!
//! * **SQLite** (the zero-setup default): `sqlite:///abs/path/issuer.sqlite3`,
//!   `sqlite://relative/path.sqlite3`, or a plain file path.
//! * **PostgreSQL** (production): `postgres://…` or `postgresql://…`
//!   (anything [`tokio_postgres::Config`] accepts in URL form).
//!
//! Schema migrations are embedded in the binary and applied by [`Store::connect`].
//!
//! Nothing in this module logs credential contents or personal data: log lines
//! carry credential ids, kinds and idempotency scopes only, at debug level.

pub mod accounts;
pub mod anchors;
mod backend;
mod commit_queue;
mod credentials;
mod error;
mod group_commit;
mod migrations;
mod oid4vci;
mod postgres;
mod reissues;
mod sqlite;
pub mod status;
mod status_allocation;
mod status_coalesce;
mod timestamps;
pub mod transparency;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use self::backend::{Backend, Mode, Tx};
pub use self::error::StoreError;
use self::postgres::PgBackend;
use self::sqlite::SqliteBackend;
pub(crate) use self::timestamps::{format_timestamp, parse_optional_timestamp, parse_timestamp};

pub use self::accounts::{AccountEvent, ApiTokenRecord, Period, PeriodCounts, SessionLimits, StaffAccount};
pub use self::anchors::{AnchorRecord, AnchorState};
pub use self::group_commit::MAX_GROUP;
pub use self::oid4vci::{NewOffer, RedeemedOffer, Redemption, TokenGrant};
pub use self::reissues::{LicenceVersion, ReissueOutcome};
pub use self::status::{
    CredentialState, CredentialStatusRecord, PublishedStatusList, StatusAction, StatusAllocation, StatusChange,
    StatusChangeOutcome, StatusEntryRecord, StatusEvent, StatusListConfig, StatusListInfo, StatusListSnapshot,
    PURPOSES, SINGLE_USE_PURPOSES,
};
pub use self::transparency::{LogRecord, StoredCheckpoint, MAX_LOG_PAGE};

/// The issuer's storage, backed by SQLite or PostgreSQL.
///
/// Cheap to clone: clones share one connection pool (PostgreSQL) or one
/// connection (SQLite). Each operation is written once, in the module of its
/// subject (credentials, [`status`], [`transparency`], [`anchors`], [`accounts`],
/// offers), on top of the backend the store was opened with.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// The task coalescing concurrent single saves into shared commits
    /// ([`Store::save_issued_coalesced`]), started on first use.
    committer: commit_queue::Committer<IssuedToSave, Result<(SaveOutcome, Option<LogAppended>), StoreError>>,
    /// The task coalescing concurrent status allocations
    /// ([`Store::allocate_status_coalesced`]), started on first use.
    allocator: commit_queue::Committer<status_allocation::AllocationRequest, status_allocation::AllocationAnswer>,
}

impl Store {
    /// Opens (creating if needed) the store at `url` and applies any pending migrations.
    ///
    /// Accepted forms: `sqlite:///abs/path`, `sqlite://relative/path`, a plain file
    /// path (SQLite), and `postgres://…` / `postgresql://…` (PostgreSQL). Any other
    /// scheme is rejected with [`StoreError::UnsupportedUrl`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend: Arc<dyn Backend> = match StoreUrl::parse(url)? {
            StoreUrl::Sqlite(path) => Arc::new(SqliteBackend::open(path).await?),
            StoreUrl::Postgres(config) => Arc::new(PgBackend::connect(*config).await?),
        };
        Ok(Store { backend, committer: Arc::default(), allocator: Arc::default() })
    }

    /// A handle on the same database without the committer and the allocator
    /// (theirs: a handle of their own would keep them running forever).
    fn without_committer(&self) -> Store {
        Store { backend: Arc::clone(&self.backend), committer: Arc::default(), allocator: Arc::default() }
    }

    /// The backend's name: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend.name()
    }

    /// A session in `mode` (see [`Mode`]).
    async fn begin(&self, mode: Mode) -> Result<Tx, StoreError> {
        Tx::begin(self.backend.as_ref(), mode).await
    }

    /// A session without a transaction, for single statements.
    async fn session(&self) -> Result<Tx, StoreError> {
        self.begin(Mode::Autocommit).await
    }
}

/// A freshly issued credential to be stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id, e.g. `urn:uuid:…`. Unique across the store.
    pub id: String,
    /// The credential kind: the VC type name of its definition (e.g. `"HealthCertificate"`), or `"Generic"`.
    pub kind: String,
    /// The issuer's DID.
    pub issuer: String,
    /// When the credential was issued.
    pub issued_at: DateTime<Utc>,
    /// Start of the validity period, if any.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of the validity period, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// The full signed verifiable credential, stored and returned verbatim.
    pub credential_json: String,
    /// An opaque digest for lookups; never plain personal data.
    pub search_digest: Option<String>,
    /// The 证照标识 the credential carries, if any (searchable, unique).
    pub licence_id: Option<String>,
}

/// Debug output omits the credential body, which contains personal data.
impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCredential")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("issued_at", &self.issued_at)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("credential_json", &Redacted(self.credential_json.len()))
            .field("search_digest", &self.search_digest)
            .field("licence_id", &self.licence_id)
            .finish()
    }
}

/// A credential as read back from the store.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The credential id, e.g. `urn:uuid:…`.
    pub id: String,
    /// The credential kind, e.g. `"HealthCertificate"`.
    pub kind: String,
    /// The issuer's DID.
    pub issuer: String,
    /// When the credential was issued.
    pub issued_at: DateTime<Utc>,
    /// Start of the validity period, if any.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of the validity period, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// The full signed verifiable credential, exactly as it was saved.
    pub credential_json: String,
    /// The opaque lookup digest saved with the credential, if any.
    pub search_digest: Option<String>,
    /// When the store saved the credential.
    pub stored_at: DateTime<Utc>,
}

/// Debug output omits the credential body, which contains personal data.
impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("issued_at", &self.issued_at)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("credential_json", &Redacted(self.credential_json.len()))
            .field("search_digest", &self.search_digest)
            .field("stored_at", &self.stored_at)
            .finish()
    }
}

/// The listing view of a stored credential: no body, no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialSummary {
    /// The credential id.
    pub id: String,
    /// The credential kind.
    pub kind: String,
    /// The issuer's DID.
    pub issuer: String,
    /// When the credential was issued.
    pub issued_at: DateTime<Utc>,
    /// End of the validity period, if any.
    pub valid_until: Option<DateTime<Utc>>,
}

/// The remembered outcome of a request made with an idempotency key.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Namespace of the key, e.g. `"health-certificates"` or `"clinic:<token-id>"`.
    pub scope: String,
    /// The client-chosen idempotency key.
    pub key: String,
    /// SHA-256 (lower-case hex) of the request body, to detect a key reused for a
    /// different request.
    pub request_digest: String,
    /// The HTTP status that was returned.
    pub response_status: u16,
    /// The response body that was returned (replayed verbatim).
    pub response_body: String,
    /// The credential the request issued, if any.
    pub credential_id: Option<String>,
}

/// Debug output omits the response body, which usually contains the credential.
impl fmt::Debug for IdempotencyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyRecord")
            .field("scope", &self.scope)
            .field("key", &self.key)
            .field("request_digest", &self.request_digest)
            .field("response_status", &self.response_status)
            .field("response_body", &Redacted(self.response_body.len()))
            .field("credential_id", &self.credential_id)
            .finish()
    }
}

/// One credential of a group commit ([`Store::save_issued_group`]).
#[derive(Debug, Clone)]
pub struct IssuedToSave {
    /// The signed credential.
    pub credential: NewCredential,
    /// The idempotency record of the request that issued it, if any.
    pub idempotency: Option<IdempotencyRecord>,
    /// Its `Issued` transparency-log entry.
    pub log_entry: wallet_core::transparency::LogEntry,
}

/// What an append to the transparency log wrote: the assigned leaf index and the leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogAppended {
    /// 0-based leaf index.
    pub seq: u64,
    /// `SHA-256(0x00 ‖ entry)`.
    pub leaf_hash: wallet_core::transparency::Hash,
}

/// What [`Store::save_issued`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The credential (and idempotency record, if given) were stored.
    Saved,
    /// A record with the same idempotency scope and key already existed; nothing was
    /// stored. Carries the existing record.
    Replayed(IdempotencyRecord),
}

/// Filter and paging for [`Store::list_credentials`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialQuery {
    /// Only credentials of this kind.
    pub kind: Option<String>,
    /// Only credentials with `issued_at >= issued_from` (inclusive).
    pub issued_from: Option<DateTime<Utc>>,
    /// Only credentials with `issued_at < issued_until` (exclusive).
    pub issued_until: Option<DateTime<Utc>>,
    /// Maximum number of rows; capped at [`CredentialQuery::MAX_LIMIT`].
    pub limit: u32,
    /// Number of matching rows to skip (newest first).
    pub offset: u32,
}

impl CredentialQuery {
    /// The default page size.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page the store returns, whatever `limit` asks for.
    pub const MAX_LIMIT: u32 = 1000;

    /// `limit`, capped at [`Self::MAX_LIMIT`].
    fn effective_limit(&self) -> u32 {
        self.limit.min(Self::MAX_LIMIT)
    }
}

impl Default for CredentialQuery {
    fn default() -> Self {
        CredentialQuery { kind: None, issued_from: None, issued_until: None, limit: Self::DEFAULT_LIMIT, offset: 0 }
    }
}

/// The backend and location parsed from a store URL.
enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(Box<tokio_postgres::Config>),
}

impl StoreUrl {
    fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StoreError::UnsupportedUrl(
                "empty URL; expected sqlite://PATH, a file path, or postgres://…".into(),
            ));
        }
        let Some((scheme, rest)) = split_scheme(url) else {
            return Ok(StoreUrl::Sqlite(PathBuf::from(url)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                // `sqlite:///abs` → `/abs`; `sqlite://rel` → `rel`; `sqlite:rel` → `rel`.
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(StoreError::UnsupportedUrl("sqlite URL has no database path".into()));
                }
                Ok(StoreUrl::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                url.parse::<tokio_postgres::Config>().map(|config| StoreUrl::Postgres(Box::new(config))).map_err(
                    // tokio-postgres's parse errors name the bad option, never its value.
                    |err| StoreError::UnsupportedUrl(format!("invalid PostgreSQL URL: {err}")),
                )
            }
            other => Err(StoreError::UnsupportedUrl(format!(
                "scheme {other:?} is not supported; expected sqlite://PATH, a file path, \
                 or postgres://…"
            ))),
        }
    }
}

/// Splits `scheme:rest` when `url` starts with a URL scheme (RFC 3986: a letter, then
/// letters, digits, `+`, `-`, `.`). Single letters are left alone so that Windows drive
/// paths (`C:\…`) count as plain paths.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let is_scheme = scheme.len() > 1
        && starts_with_letter
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some((scheme, rest))
}

/// Converts a stored response status back to `u16`.
fn response_status_from_db(status: i64, scope: &str) -> Result<u16, StoreError> {
    u16::try_from(status).map_err(|_| {
        StoreError::Corrupt(format!("idempotency record in scope {scope:?} has out-of-range response status {status}"))
    })
}

/// Stands in for a field whose content must not appear in logs.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_urls() {
        let sqlite_path = |url: &str| match StoreUrl::parse(url) {
            Ok(StoreUrl::Sqlite(path)) => Some(path),
            _ => None,
        };
        assert_eq!(sqlite_path("sqlite:///abs/issuer.sqlite3"), Some("/abs/issuer.sqlite3".into()));
        assert_eq!(sqlite_path("sqlite://rel/issuer.sqlite3"), Some("rel/issuer.sqlite3".into()));
        assert_eq!(sqlite_path("sqlite:rel.db"), Some("rel.db".into()));
        assert_eq!(sqlite_path("./data/issuer.sqlite3"), Some("./data/issuer.sqlite3".into()));
        assert_eq!(sqlite_path("C:\\data\\issuer.db"), Some("C:\\data\\issuer.db".into()));
        assert!(matches!(StoreUrl::parse("postgresql://user:secret@localhost:5432/issuer"), Ok(StoreUrl::Postgres(_))));
        for bad in ["", "sqlite://", "mysql://user:secret@localhost/db", "http://x"] {
            match StoreUrl::parse(bad) {
                Err(StoreError::UnsupportedUrl(message)) => assert!(!message.contains("secret")),
                _ => panic!("{bad:?} should be rejected"),
            }
        }
    }

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let timestamp = DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("valid timestamp");
        let text = format_timestamp(timestamp);
        assert_eq!(text, "2023-11-14T22:13:20.123456Z");
        assert_eq!(parse_timestamp(&text, String::new).ok(), Some(timestamp));
        assert!(matches!(parse_timestamp("yesterday", String::new), Err(StoreError::Corrupt(_))));
    }
}
