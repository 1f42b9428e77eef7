//! Document notarisation for archives: digests in, receipts out.
//!
//! An archive posts SHA-256 digests of its documents (never the documents);
//! each becomes a `Notarized` log entry (issuer DID, time), appended in one
//! transaction per request, with the subject `sha256:<hex>` so its receipt can
//! be found again. Anchoring is the log's usual worker: once a checkpoint
//! covering the entry is confirmed on the chain, [`receipts`] returns a
//! [`NotarizationReceipt`] against exactly that checkpoint, which anyone can
//! check offline with wallet-core (and against their own chain node).

use std::collections::HashMap;

use serde::Serialize;
use wallet_core::transparency::{AnchorClaim, EntryKind, Hash, LogEntry, NotarizationReceipt, VerifiedCheckpoint};

use crate::domain::issuance::Issuer;
use crate::domain::transparency_log::LogError;
use crate::store::{AnchorRecord, AnchorState, StoreError};

/// Most digests accepted in one request.
pub const MAX_DIGESTS_PER_REQUEST: usize = 10_000;

/// The log subject of a notarised digest.
pub fn subject(digest: &Hash) -> String {
    format!("sha256:{}", hex::encode(digest))
}

/// Parses a hex SHA-256 digest.
pub fn parse_digest(text: &str) -> Option<Hash> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

/// A notarised digest and its log index.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notarized {
    /// The digest (hex).
    pub digest: String,
    /// Its entry's index in the log.
    pub index: u64,
}

/// Enter `digests` in the log, in one transaction.
///
/// # Errors
/// Store failures (then nothing was entered).
pub async fn notarize(issuer: &Issuer, digests: &[Hash]) -> Result<Vec<Notarized>, StoreError> {
    let did = issuer.key.did();
    let at = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let entries = digests
        .iter()
        .map(|digest| {
            LogEntry::new(EntryKind::Notarized, *digest, did.as_str(), at)
                .map(|entry| (entry, Some(subject(digest))))
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let appended = issuer.store.append_log_entries(&entries).await?;
    let mut notarized = Vec::with_capacity(appended.len());
    for (digest, appended) in digests.iter().zip(appended) {
        notarized.push(Notarized { digest: hex::encode(digest), index: appended.seq });
        issuer.log.appended(appended).await;
    }
    Ok(notarized)
}

/// Where a digest's notarisation stands.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ReceiptState {
    /// Anchored: the receipt.
    Anchored {
        /// The digest (hex).
        digest: String,
        /// The receipt.
        receipt: Box<NotarizationReceipt>,
    },
    /// Logged, waiting for an anchor.
    Pending {
        /// The digest (hex).
        digest: String,
        /// Its log index.
        index: u64,
    },
    /// Never notarised here.
    Unknown {
        /// The digest (hex).
        digest: String,
    },
}

fn claim(anchor: &AnchorRecord) -> AnchorClaim {
    AnchorClaim {
        chain_id: anchor.chain_id.unwrap_or_default(),
        tx_hash: anchor.tx_hash.clone().unwrap_or_default(),
        block_number: anchor.block_number.unwrap_or_default(),
        block_time: anchor.block_time.and_then(|t| u64::try_from(t).ok()).unwrap_or_default(),
    }
}

/// The receipt state of each digest (its first notarisation), each receipt
/// against the smallest anchored checkpoint covering it. Each checkpoint is
/// opened once per call, whatever the number of digests under it.
///
/// # Errors
/// Store or log failures.
pub async fn receipts(issuer: &Issuer, digests: &[Hash]) -> Result<Vec<ReceiptState>, LogError> {
    let mut anchored: Vec<AnchorRecord> =
        issuer.store.anchors().await?.into_iter().filter(|a| a.state == AnchorState::Confirmed).collect();
    anchored.sort_by_key(|a| a.tree_size);
    let mut checkpoints: HashMap<u64, VerifiedCheckpoint> = HashMap::new();
    // (position in `states`, entry, index, anchored size) of the receipts to build.
    let mut to_build: Vec<(usize, LogEntry, u64, u64)> = Vec::new();
    let mut states = Vec::with_capacity(digests.len());
    for digest in digests {
        let hex_digest = hex::encode(digest);
        let Some(record) = issuer.store.first_log_entry_for(&subject(digest)).await? else {
            states.push(ReceiptState::Unknown { digest: hex_digest });
            continue;
        };
        let Some(anchor) = anchored.iter().find(|a| a.tree_size > record.seq) else {
            states.push(ReceiptState::Pending { digest: hex_digest, index: record.seq });
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = checkpoints.entry(anchor.tree_size) {
            let stored = issuer.store.log_checkpoint(anchor.tree_size).await?.ok_or_else(|| {
                LogError::Internal(format!("no stored checkpoint for anchored size {}", anchor.tree_size))
            })?;
            let verified = issuer
                .log
                .log_key()
                .open_checkpoint(&stored.note_text)
                .map_err(|e| LogError::Internal(e.to_string()))?;
            slot.insert(verified);
        }
        let entry = LogEntry::decode(&record.entry).map_err(|e| LogError::Internal(e.to_string()))?;
        to_build.push((states.len(), entry, record.seq, anchor.tree_size));
        states.push(ReceiptState::Pending { digest: hex_digest, index: record.seq });
    }
    for (size, checkpoint) in &checkpoints {
        let Some(anchor) = anchored.iter().find(|a| a.tree_size == *size) else { continue };
        let batch: Vec<&(usize, LogEntry, u64, u64)> = to_build.iter().filter(|b| b.3 == *size).collect();
        let bundles =
            issuer.log.bundles_against(batch.iter().map(|b| (b.1.clone(), b.2)).collect(), checkpoint).await?;
        for (item, bundle) in batch.into_iter().zip(bundles) {
            // item.0 is the position `states` had when the entry was pushed.
            if let Some(state) = states.get_mut(item.0) {
                *state = ReceiptState::Anchored {
                    digest: hex::encode(item.1.credential_digest()),
                    receipt: Box::new(NotarizationReceipt { bundle, anchor: claim(anchor) }),
                };
            }
        }
    }
    Ok(states)
}
