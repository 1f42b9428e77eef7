//! The persisted blockchain anchoring queue: `anchors`, one row per checkpoint size.
//!
//! A row goes `pending` → `sent` (the transaction hash is stored with the state
//! change) → `confirmed` (block number and time stored). A confirmed row is never
//! changed again: [`Store::update_anchor`](super::Store::update_anchor) refuses to
//! touch it, so a size is never anchored twice once confirmed. See
//! [`crate::domain::anchor`] for the worker and the calldata scheme.

use serde::Serialize;

use super::backend::{args, Row};
use super::{Store, StoreError};

/// Where an anchor is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnchorState {
    /// Waiting to be sent (or resent).
    Pending,
    /// Sent; waiting for a receipt.
    Sent,
    /// Included in a block.
    Confirmed,
}

impl AnchorState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Confirmed => "confirmed",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown name.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(Self::Pending),
            "sent" => Ok(Self::Sent),
            "confirmed" => Ok(Self::Confirmed),
            other => Err(StoreError::Corrupt(format!("unknown anchor state {other:?}"))),
        }
    }
}

/// An `anchors` row. Times are unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRecord {
    /// The checkpoint's tree size (primary key).
    pub tree_size: u64,
    /// The checkpoint's root hash (32 bytes).
    pub root: Vec<u8>,
    /// SHA-256 of the signed checkpoint note text (32 bytes).
    pub note_digest: Vec<u8>,
    /// The state.
    pub state: AnchorState,
    /// The hash of the last transaction sent (`0x…`).
    pub tx_hash: Option<String>,
    /// Sends tried (successful or not).
    pub attempts: u64,
    /// The last error, cleared on confirmation.
    pub last_error: Option<String>,
    /// Pending: earliest next send. Sent: when to resend without a receipt.
    pub next_attempt_at: i64,
    /// The block that included the transaction.
    pub block_number: Option<u64>,
    /// That block's timestamp.
    pub block_time: Option<i64>,
    /// The chain the transaction was sent to.
    pub chain_id: Option<u64>,
    /// Last change.
    pub updated_at: i64,
}

impl AnchorRecord {
    /// A new pending anchor, due now.
    pub fn new(tree_size: u64, root: &[u8], note_digest: &[u8], now: i64) -> Self {
        Self {
            tree_size,
            root: root.to_vec(),
            note_digest: note_digest.to_vec(),
            state: AnchorState::Pending,
            tx_hash: None,
            attempts: 0,
            last_error: None,
            next_attempt_at: now,
            block_number: None,
            block_time: None,
            chain_id: None,
            updated_at: now,
        }
    }
}

/// Converts a stored non-negative integer.
pub(super) fn u64_from_db(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what} {value}")))
}

/// Converts a non-negative integer for the database.
pub(super) fn u64_to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

const SELECT_ANCHORS: &str = "SELECT tree_size, root, note_digest, state, tx_hash, attempts, last_error, \
     next_attempt_at, block_number, block_time, chain_id, updated_at FROM anchors ORDER BY tree_size";

impl Store {
    /// Queues an anchor unless one of its size exists. Returns whether it was queued.
    pub async fn enqueue_anchor(&self, anchor: &AnchorRecord) -> Result<bool, StoreError> {
        let stored = self
            .session()
            .await?
            .execute(
                "INSERT INTO anchors (tree_size, root, note_digest, state, tx_hash, attempts, last_error, \
                 next_attempt_at, block_number, block_time, chain_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (tree_size) DO NOTHING",
                &args![
                    u64_to_db(anchor.tree_size),
                    &anchor.root,
                    &anchor.note_digest,
                    anchor.state.as_str(),
                    &anchor.tx_hash,
                    u64_to_db(anchor.attempts),
                    &anchor.last_error,
                    anchor.next_attempt_at,
                    anchor.block_number.map(u64_to_db),
                    anchor.block_time,
                    anchor.chain_id.map(u64_to_db),
                    anchor.updated_at,
                ],
            )
            .await?;
        Ok(stored == 1)
    }

    /// Every anchor, by tree size.
    pub async fn anchors(&self) -> Result<Vec<AnchorRecord>, StoreError> {
        self.session().await?.query(SELECT_ANCHORS, &[]).await?.iter().map(decode_anchor).collect()
    }

    /// The anchors of tree sizes above `after`, by tree size, at most `limit`.
    pub async fn anchors_after(&self, after: u64, limit: u64) -> Result<Vec<AnchorRecord>, StoreError> {
        self.session()
            .await?
            .query(
                "SELECT tree_size, root, note_digest, state, tx_hash, attempts, last_error, next_attempt_at, \
                 block_number, block_time, chain_id, updated_at FROM anchors WHERE tree_size > $1 \
                 ORDER BY tree_size LIMIT $2",
                &args![u64_to_db(after), u64_to_db(limit)],
            )
            .await?
            .iter()
            .map(decode_anchor)
            .collect()
    }

    /// Writes the mutable fields of an anchor (state, tx hash, attempts, error, times,
    /// block) unless the stored row is already confirmed. Returns whether it was written.
    pub async fn update_anchor(&self, anchor: &AnchorRecord) -> Result<bool, StoreError> {
        let changed = self
            .session()
            .await?
            .execute(
                "UPDATE anchors SET state = $2, tx_hash = $3, attempts = $4, last_error = $5, next_attempt_at = $6, \
                 block_number = $7, block_time = $8, chain_id = $9, updated_at = $10 \
                 WHERE tree_size = $1 AND state <> 'confirmed'",
                &args![
                    u64_to_db(anchor.tree_size),
                    anchor.state.as_str(),
                    &anchor.tx_hash,
                    u64_to_db(anchor.attempts),
                    &anchor.last_error,
                    anchor.next_attempt_at,
                    anchor.block_number.map(u64_to_db),
                    anchor.block_time,
                    anchor.chain_id.map(u64_to_db),
                    anchor.updated_at,
                ],
            )
            .await?;
        Ok(changed == 1)
    }
}

fn decode_anchor(row: &Row) -> Result<AnchorRecord, StoreError> {
    Ok(AnchorRecord {
        tree_size: u64_from_db(row.get(0)?, "anchor size")?,
        root: row.get(1)?,
        note_digest: row.get(2)?,
        state: AnchorState::parse(&row.get::<String>(3)?)?,
        tx_hash: row.get(4)?,
        attempts: u64_from_db(row.get(5)?, "anchor attempts")?,
        last_error: row.get(6)?,
        next_attempt_at: row.get(7)?,
        block_number: row.get::<Option<i64>>(8)?.map(|b| u64_from_db(b, "block number")).transpose()?,
        block_time: row.get(9)?,
        chain_id: row.get::<Option<i64>>(10)?.map(|c| u64_from_db(c, "chain id")).transpose()?,
        updated_at: row.get(11)?,
    })
}
