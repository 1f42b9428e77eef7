//! The persisted issuance transparency log: `log_entries` and `log_checkpoints`.
//!
//! Entries are appended by the store itself, inside the transaction of the change
//! they record: [`Store::save_issued_logged`](super::Store::save_issued_logged)
//! appends the `Issued` entry with the credential insert, and
//! [`Store::change_status`](super::Store::change_status) appends a `StatusChanged`
//! entry with every bit it flips. So no issuance or status change is committed
//! without its entry, and none is logged twice.
//!
//! `seq` (the leaf index) is `MAX(seq) + 1`, read while the transaction holds SQLite's
//! write lock (`BEGIN IMMEDIATE`) or PostgreSQL's log advisory lock, which is held to
//! commit: appends are serialised and the sequence is gap-free; the primary key makes
//! a duplicate impossible.
//!
//! A status-change entry reuses the digest and issuer of the credential's `Issued`
//! entry (the first entry with its `credential_id`). A credential stored without an
//! `Issued` entry (only possible for data written before the log existed, or through
//! [`Store::save_issued`](super::Store::save_issued) directly) gets no status entry;
//! a warning is logged.

use chrono::{DateTime, Utc};
use wallet_core::status::StatusPurpose;
use wallet_core::transparency::{leaf_hash, EntryKind, Hash, LogEntry, StatusListPurpose};

/// The largest page of entries [`Store::log_entries`](super::Store::log_entries) returns.
pub const MAX_LOG_PAGE: u64 = 1000;

/// What an append wrote: the assigned leaf index and the leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogAppended {
    /// 0-based leaf index.
    pub seq: u64,
    /// `SHA-256(0x00 ‖ entry)`.
    pub leaf_hash: Hash,
}

/// A `log_entries` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// 0-based leaf index.
    pub seq: u64,
    /// The entry's canonical encoding (`LogEntry::encode`), as stored.
    pub entry: Vec<u8>,
    /// The leaf hash stored when the entry was appended.
    pub leaf_hash: Vec<u8>,
    /// The credential the entry is about (not part of the leaf; for lookups).
    pub credential_id: Option<String>,
    /// When the entry was appended.
    pub created_at: DateTime<Utc>,
}

impl LogRecord {
    /// The leaf hash recomputed from the stored entry bytes.
    pub fn recomputed_leaf_hash(&self) -> Hash {
        leaf_hash(&self.entry)
    }

    /// Whether the stored entry decodes and hashes to the stored leaf hash.
    pub fn is_intact(&self) -> bool {
        LogEntry::decode(&self.entry).is_ok() && self.leaf_hash.as_slice() == self.recomputed_leaf_hash().as_slice()
    }
}

/// A `log_checkpoints` row: a signed checkpoint note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash at `size`.
    pub root: Vec<u8>,
    /// The signed note (text and signature lines).
    pub note_text: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// The `StatusChanged` entry for a bit change of the credential whose `Issued`
/// entry is `issued` (encoded). `None` when `issued` is not an `Issued` entry.
pub(super) fn status_entry(issued: &[u8], purpose: StatusPurpose, value: bool, at: DateTime<Utc>) -> Option<LogEntry> {
    let issued = LogEntry::decode(issued).ok()?;
    if issued.kind() != EntryKind::Issued {
        return None;
    }
    let purpose = match purpose {
        StatusPurpose::Revocation => StatusListPurpose::Revocation,
        StatusPurpose::Suspension => StatusListPurpose::Suspension,
        StatusPurpose::Used => StatusListPurpose::Used,
    };
    LogEntry::new(
        EntryKind::StatusChanged { purpose, value },
        *issued.credential_digest(),
        issued.issuer(),
        u64::try_from(at.timestamp()).unwrap_or(0),
    )
    .ok()
}

/// Converts a stored non-negative integer.
pub(super) fn seq_from_db(value: i64) -> Result<u64, super::StoreError> {
    u64::try_from(value).map_err(|_| super::StoreError::Corrupt(format!("negative log sequence number {value}")))
}

/// Converts a sequence number for the database.
pub(super) fn seq_to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Converts stored leaf hash bytes.
pub(super) fn hash_from_db(bytes: &[u8], seq: i64) -> Result<Hash, super::StoreError> {
    bytes.try_into().map_err(|_| super::StoreError::Corrupt(format!("log entry {seq}: leaf hash is not 32 bytes")))
}
