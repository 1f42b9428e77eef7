//! The persisted blockchain anchoring queue: `anchors`, one row per checkpoint size.
//!
//! A row goes `pending` → `sent` (the transaction hash is stored with the state
//! change) → `confirmed` (block number and time stored). A confirmed row is never
//! changed again: [`Store::update_anchor`](super::Store::update_anchor) refuses to
//! touch it, so a size is never anchored twice once confirmed. See
//! [`crate::domain::anchor`] for the worker and the calldata scheme.

use serde::Serialize;

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

impl Store {
    /// Queues an anchor unless one of its size exists. Returns whether it was queued.
    pub async fn enqueue_anchor(&self, anchor: &AnchorRecord) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(store) => store.enqueue_anchor(anchor).await,
            Store::Postgres(store) => store.enqueue_anchor(anchor).await,
        }
    }

    /// Every anchor, by tree size.
    pub async fn anchors(&self) -> Result<Vec<AnchorRecord>, StoreError> {
        match self {
            Store::Sqlite(store) => store.anchors().await,
            Store::Postgres(store) => store.anchors().await,
        }
    }

    /// Writes the mutable fields of an anchor (state, tx hash, attempts, error, times,
    /// block) unless the stored row is already confirmed. Returns whether it was written.
    pub async fn update_anchor(&self, anchor: &AnchorRecord) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(store) => store.update_anchor(anchor).await,
            Store::Postgres(store) => store.update_anchor(anchor).await,
        }
    }
}
