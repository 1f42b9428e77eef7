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

use super::backend::{args, LogRow, Mode, Row, Tx, NEXT_LOG_SEQ};
use super::{format_timestamp, parse_timestamp, LogAppended, Store, StoreError};

/// The largest page of entries [`Store::log_entries`](super::Store::log_entries) returns.
pub const MAX_LOG_PAGE: u64 = 1000;

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
pub(super) fn seq_from_db(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative log sequence number {value}")))
}

/// Converts a sequence number for the database.
pub(super) fn seq_to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Converts stored leaf hash bytes.
pub(super) fn hash_from_db(bytes: &[u8], seq: i64) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt(format!("log entry {seq}: leaf hash is not 32 bytes")))
}

const SELECT_LOG_RECORD: &str = "SELECT seq, entry, leaf_hash, credential_id, created_at FROM log_entries";

impl Store {
    /// Append entries not written with a credential (notarised digests, key
    /// events) in one transaction, in order, gap-free after every earlier entry;
    /// the appended sequence numbers and leaf hashes. Each entry may name its
    /// subject (stored in `credential_id`, found again with
    /// [`Store::first_log_entry_for`]): a notarised document is
    /// `sha256:<hex digest>`.
    ///
    /// # Errors
    /// Store failures (nothing is appended then).
    pub async fn append_log_entries(
        &self,
        entries: &[(LogEntry, Option<String>)],
    ) -> Result<Vec<LogAppended>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin(Mode::Write).await?;
        let now = format_timestamp(Utc::now());
        let appended =
            append_log_entries(&mut tx, entries.iter().map(|(entry, subject)| (entry, subject.as_deref())), &now)
                .await?;
        tx.commit().await?;
        Ok(appended)
    }

    /// Number of entries in the transparency log.
    pub async fn log_size(&self) -> Result<u64, StoreError> {
        seq_from_db(self.session().await?.query_one(NEXT_LOG_SEQ, &[]).await?.get(0)?)
    }

    /// Log entries with `seq >= start`, in order, at most `limit` (capped at
    /// [`MAX_LOG_PAGE`] unless `limit` is `None`: then all of them, for rebuilding
    /// the tree).
    pub async fn log_entries(&self, start: u64, limit: Option<u64>) -> Result<Vec<LogRecord>, StoreError> {
        let limit = limit.map_or(i64::MAX, |limit| seq_to_db(limit.min(MAX_LOG_PAGE)));
        let rows = self
            .session()
            .await?
            .query(
                &format!("{SELECT_LOG_RECORD} WHERE seq >= $1 ORDER BY seq LIMIT $2"),
                &args![seq_to_db(start), limit],
            )
            .await?;
        rows.iter().map(decode_log_record).collect()
    }

    /// The first log entry about `credential_id` (its `Issued` entry), if any.
    pub async fn first_log_entry_for(&self, credential_id: &str) -> Result<Option<LogRecord>, StoreError> {
        self.session()
            .await?
            .query_opt(
                &format!("{SELECT_LOG_RECORD} WHERE credential_id = $1 ORDER BY seq LIMIT 1"),
                &args![credential_id],
            )
            .await?
            .as_ref()
            .map(decode_log_record)
            .transpose()
    }

    /// Stores a signed checkpoint unless one of that size is stored already. Returns
    /// whether it was stored.
    pub async fn save_log_checkpoint(&self, size: u64, root: &[u8], note_text: &str) -> Result<bool, StoreError> {
        let stored = self
            .session()
            .await?
            .execute(
                "INSERT INTO log_checkpoints (size, root, note_text, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (size) DO NOTHING",
                &args![seq_to_db(size), root, note_text, format_timestamp(Utc::now())],
            )
            .await?;
        Ok(stored == 1)
    }

    /// The stored checkpoint of the largest size, if any.
    pub async fn latest_log_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint(None).await
    }

    /// The stored checkpoint of this size, if any.
    pub async fn log_checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint(Some(size)).await
    }

    async fn checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = self
            .session()
            .await?
            .query_opt(
                "SELECT size, root, note_text, created_at FROM log_checkpoints \
                 WHERE CAST($1 AS BIGINT) IS NULL OR size = $1 ORDER BY size DESC LIMIT 1",
                &args![size.map(seq_to_db)],
            )
            .await?;
        row.map(|row| {
            let (size, root, created_at): (i64, Vec<u8>, String) = (row.get(0)?, row.get(1)?, row.get(3)?);
            hash_from_db(&root, size)?;
            Ok(StoredCheckpoint {
                size: seq_from_db(size)?,
                created_at: parse_timestamp(&created_at, || format!("created_at of checkpoint {size}"))?,
                root,
                note_text: row.get(2)?,
            })
        })
        .transpose()
    }
}

/// Appends `entries` at `MAX(seq) + 1, …` in the caller's transaction, serialised
/// with every other append until it commits (see [`Session::append_log`]).
///
/// [`Session::append_log`]: super::backend::Session::append_log
pub(super) async fn append_log_entries<'a>(
    tx: &mut Tx,
    entries: impl IntoIterator<Item = (&'a LogEntry, Option<&'a str>)>,
    now: &str,
) -> Result<Vec<LogAppended>, StoreError> {
    let rows: Vec<LogRow> = entries
        .into_iter()
        .map(|(entry, subject)| {
            let entry = entry.encode();
            LogRow {
                leaf_hash: leaf_hash(&entry).to_vec(),
                entry,
                credential_id: subject.map(str::to_owned),
                created_at: now.to_owned(),
            }
        })
        .collect();
    let first = tx.append_log(&rows).await?;
    (first..)
        .zip(&rows)
        .map(|(seq, row)| Ok(LogAppended { seq: seq_from_db(seq)?, leaf_hash: hash_from_db(&row.leaf_hash, seq)? }))
        .collect()
}

fn decode_log_record(row: &Row) -> Result<LogRecord, StoreError> {
    let (seq, created_at): (i64, String) = (row.get(0)?, row.get(4)?);
    Ok(LogRecord {
        seq: seq_from_db(seq)?,
        created_at: parse_timestamp(&created_at, || format!("created_at of log entry {seq}"))?,
        entry: row.get(1)?,
        leaf_hash: row.get(2)?,
        credential_id: row.get(3)?,
    })
}
