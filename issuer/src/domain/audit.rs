//! What the public audit page shows: issuance and status changes per month and
//! per day, the latest log checkpoint and the anchors. No personal data.

use crate::store::{AnchorRecord, Period, PeriodCounts, Store, StoreError, StoredCheckpoint};

/// The issuer's activity as auditors see it.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Counts per month, newest first.
    pub months: Vec<PeriodCounts>,
    /// Counts per day with activity, newest first.
    pub days: Vec<PeriodCounts>,
    /// Credentials issued, all time.
    pub total_issued: u64,
    /// The latest signed checkpoint of the log.
    pub checkpoint: Option<StoredCheckpoint>,
    /// Every anchor of the log, oldest first.
    pub anchors: Vec<AnchorRecord>,
}

/// The counts, checkpoint and anchors.
///
/// # Errors
/// The store's.
pub async fn activity(store: &Store) -> Result<Activity, StoreError> {
    Ok(Activity {
        months: store.counts_by(Period::Month).await?,
        days: store.counts_by(Period::Day).await?,
        total_issued: store.count_credentials(None).await?,
        checkpoint: store.latest_log_checkpoint().await?,
        anchors: store.anchors().await?,
    })
}

/// Every anchor of the log, oldest first (`GET /log/anchors`).
///
/// # Errors
/// The store's.
pub async fn anchors(store: &Store) -> Result<Vec<AnchorRecord>, StoreError> {
    store.anchors().await
}

/// At most [`ANCHOR_PAGE`] anchors of tree sizes above `after`, by tree size:
/// what a verifier syncing its mirror asks for (the whole list grows with every
/// anchor, ~360 bytes each, and outgrew the verifier's response cap).
///
/// # Errors
/// The store's.
pub async fn anchors_after(store: &Store, after: u64) -> Result<Vec<AnchorRecord>, StoreError> {
    store.anchors_after(after, ANCHOR_PAGE).await
}

/// Anchors per page of `GET /log/anchors?after=N` (~36 KB).
pub const ANCHOR_PAGE: u64 = 100;
