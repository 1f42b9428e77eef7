//! The issuer's transparency log: the in-memory Merkle tree over the persisted
//! `log_entries`, signed checkpoints, and proofs.
//!
//! **Entries.** Every issuance appends an `Issued` entry and every status change a
//! `StatusChanged` entry, in the store transaction of the change itself (see
//! [`crate::store::transparency`]). Entries hold digests and event types only.
//!
//! **The credential digest** is SHA-256 of the RDFC-1.0 canonical N-Quads of the
//! **signed** credential, proof included ([`wallet_core::transparency::credential_digest`]): what
//! `wallet_core::canonical::canonical_nquads` returns for the credential exactly as
//! the holder received it. A verifier recomputes it from the credential alone, and it
//! does not depend on JSON key order or whitespace. A credential with an
//! `ecdsa-sd-2023` base proof is logged by its base signature instead
//! ([`wallet_core::selective_disclosure::anchoring_digest`]): the holder shows only
//! derived credentials, which carry that signature but not the signed document.
//!
//! **The tree** is rebuilt at startup from the stored entries: each leaf hash is
//! recomputed from the stored entry bytes and compared with the stored `leaf_hash`,
//! and the rebuilt root is compared with the latest stored checkpoint. Any mismatch
//! (or a gap in the sequence) puts the log in an integrity-failure state: an error is
//! logged and the log refuses with `log_integrity_failure`, naming the first
//! bad entry. Afterwards the tree catches up from the store before every read (other
//! processes may share the database), appending entries in sequence order.
//!
//! **Checkpoints** (C2SP `tlog-checkpoint`, origin `<public host>/log`) are signed
//! with the issuer key ([`LogSigner::from_signer`]) on demand, when the tree has
//! grown since the last one, and stored in `log_checkpoints`.

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use wallet_core::transparency::{
    hashes_equal, leaf_hash, Checkpoint, Hash, InclusionBundle, LogEntry, LogKey, LogSigner, MerkleTree, SignedNote,
    VerifiedCheckpoint,
};

use crate::store::{LogAppended, LogRecord, Store, StoreError};

/// The `Issued` entry for a signed credential, issued by `issuer` now.
///
/// # Errors
/// Canonicalisation failure or an invalid issuer identifier (as a message).
pub async fn issued_entry(
    types: &wallet_core::credential_type::TypeRegistry,
    signed: &Value,
    issuer: &str,
) -> Result<LogEntry, String> {
    // An ecdsa-sd-2023 base proof is logged by its base signature, which every
    // credential the holder derives from it carries (see `anchoring_digest`).
    let digest = match wallet_core::selective_disclosure::anchoring_digest(signed) {
        Some(digest) => digest,
        None => wallet_core::transparency::credential_digest_with(&types.loader(), signed)
            .await
            .map_err(|e| e.to_string())?,
    };
    issued_entry_of_digest(digest, issuer)
}

/// The `Issued` entry for the signed credential whose digest is `digest`,
/// issued by `issuer` now (the digest computed while signing:
/// [`wallet_core::issuance::sign_credential_anchored`]).
///
/// # Errors
/// An invalid issuer identifier (as a message).
pub fn issued_entry_of_digest(digest: Hash, issuer: &str) -> Result<LogEntry, String> {
    let at = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    LogEntry::issued(digest, issuer, at).map_err(|e| e.to_string())
}

/// The log origin for a public base URL: `<host[:port][/path]>/log`.
pub fn origin_for(base_url: &str) -> String {
    let rest = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    format!("{rest}/log")
}

/// Why the log refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The stored log does not match itself or its last checkpoint.
    #[error("transparency log integrity failure: {0}")]
    Integrity(IntegrityFailure),
    /// No such credential entry.
    #[error("not found")]
    NotFound,
    /// A proof range outside the tree.
    #[error("{0}")]
    BadRange(String),
    /// Store or signing failure.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for LogError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// What is wrong with the stored log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityFailure {
    /// The first entry whose stored bytes do not hash to its stored leaf hash (or do
    /// not decode, or is missing), when one was found.
    pub first_bad_seq: Option<u64>,
    /// A description.
    pub reason: String,
}

impl std::fmt::Display for IntegrityFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.first_bad_seq {
            Some(seq) => write!(f, "{} (first bad entry: seq {seq})", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// The issuer's log. Cheap to clone.
#[derive(Clone)]
pub struct TransparencyLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    signer: LogSigner,
    state: Mutex<State>,
}

struct State {
    tree: MerkleTree,
    /// The latest checkpoint signed by this process, for `tree` at its size then.
    checkpoint: Option<VerifiedCheckpoint>,
    integrity: Option<IntegrityFailure>,
}

/// A page of entries for auditors.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    /// Leaf index.
    pub index: u64,
    /// The entry (kind, digest, issuer, time).
    pub entry: LogEntry,
    /// The leaf hash, hex.
    pub leaf_hash: String,
}

impl TransparencyLog {
    /// Rebuild the tree from the store and check it against the latest stored
    /// checkpoint. An integrity failure is logged and remembered, not returned.
    ///
    /// # Errors
    /// Store failures, or an origin that is not a valid key name.
    pub async fn open(store: Store, key: &crate::signing_key::SigningKey, base_url: &str) -> anyhow::Result<Self> {
        let signer = LogSigner::from_signer(origin_for(base_url), key.shared())?;
        let records = store.log_entries(0, None).await?;
        let (tree, entry_failure) = rebuild(&records);
        let checkpoint_failure = match store.latest_log_checkpoint().await? {
            Some(stored) => check_checkpoint(&tree, &records, stored.size, &stored.root, &stored.note_text),
            None => None,
        };
        let integrity = match (checkpoint_failure, entry_failure) {
            (Some(checkpoint), entry) => Some(IntegrityFailure {
                first_bad_seq: checkpoint.first_bad_seq.or(entry.and_then(|e| e.first_bad_seq)),
                reason: checkpoint.reason,
            }),
            (None, entry) => entry,
        };
        if let Some(failure) = &integrity {
            tracing::error!(%failure, "transparency log integrity failure");
        } else {
            tracing::info!(size = tree.size(), origin = signer.log_key().origin(), "transparency log loaded");
        }
        let key_events = if integrity.is_none() { key_events_due(&records, &key.did()) } else { Vec::new() };
        let log = Self {
            inner: Arc::new(Inner { store, signer, state: Mutex::new(State { tree, checkpoint: None, integrity }) }),
        };
        if !key_events.is_empty() {
            let subjects: Vec<_> =
                key_events.iter().map(|e| (e.clone(), Some(format!("key:{}", e.issuer())))).collect();
            for appended in log.inner.store.append_log_entries(&subjects).await? {
                log.appended(appended).await;
            }
            tracing::info!(events = key_events.len(), "issuer key events logged");
        }
        Ok(log)
    }

    /// The log's public key (its name is the origin).
    pub fn log_key(&self) -> &LogKey {
        self.inner.signer.log_key()
    }

    /// The integrity failure found, if any.
    pub async fn integrity_failure(&self) -> Option<IntegrityFailure> {
        self.inner.state.lock().await.integrity.clone()
    }

    /// Tell the log about an entry the store just appended (keeps the tree in step
    /// without a read; gaps are filled from the store).
    pub async fn appended(&self, appended: LogAppended) {
        let mut state = self.inner.state.lock().await;
        if state.integrity.is_some() || appended.seq < state.tree.size() {
            return;
        }
        if appended.seq == state.tree.size() {
            state.tree.append(appended.leaf_hash);
        } else if let Err(e) = self.catch_up(&mut state).await {
            tracing::warn!(error = %e, "transparency log catch-up failed");
        }
    }

    /// Append entries committed since the tree was last read, in order.
    async fn catch_up(&self, state: &mut State) -> Result<(), LogError> {
        if let Some(failure) = &state.integrity {
            return Err(LogError::Integrity(failure.clone()));
        }
        let records = self.inner.store.log_entries(state.tree.size(), None).await?;
        for record in records {
            if record.seq != state.tree.size() || !record.is_intact() {
                let failure = IntegrityFailure {
                    first_bad_seq: Some(state.tree.size().min(record.seq)),
                    reason: "a new log entry is missing or does not match its leaf hash".into(),
                };
                tracing::error!(%failure, "transparency log integrity failure");
                state.integrity = Some(failure.clone());
                return Err(LogError::Integrity(failure));
            }
            state.tree.append(record.recomputed_leaf_hash());
        }
        Ok(())
    }

    /// Catch up and return the signed checkpoint of the current tree, signing (and
    /// storing) a new one when the tree grew.
    async fn current(&self, state: &mut State) -> Result<VerifiedCheckpoint, LogError> {
        self.catch_up(state).await?;
        let size = state.tree.size();
        if let Some(checkpoint) = state.checkpoint.as_ref().filter(|c| c.checkpoint.size == size) {
            return Ok(checkpoint.clone());
        }
        let root = state.tree.root();
        let note = Checkpoint::new(self.log_key().origin(), size, root)
            .sign(&self.inner.signer)
            .map_err(|e| LogError::Internal(e.to_string()))?;
        let mut verified =
            self.log_key().verify_checkpoint_note(note).map_err(|e| LogError::Internal(e.to_string()))?;
        if !self.inner.store.save_log_checkpoint(size, &root, &verified.note.to_string()).await? {
            // This size was signed before (by another issuer process on the
            // database, or before a restart). Signatures are not reproducible
            // (an HSM's random nonces), and anchors carry the digest of the
            // stored note: that note is served when it is this log's (same name
            // and key).
            if let Some(stored) = self.stored_checkpoint(size, &root).await? {
                verified = stored;
            }
        }
        state.checkpoint = Some(verified.clone());
        Ok(verified)
    }

    /// The stored note of `size` when it is this log's (it verifies with this
    /// log's name and key); an error when it is and names another tree.
    async fn stored_checkpoint(&self, size: u64, root: &Hash) -> Result<Option<VerifiedCheckpoint>, LogError> {
        let Some(stored) = self.inner.store.log_checkpoint(size).await? else {
            return Ok(None);
        };
        let Some(verified) =
            SignedNote::parse(&stored.note_text).ok().and_then(|note| self.log_key().verify_checkpoint_note(note).ok())
        else {
            return Ok(None);
        };
        if verified.checkpoint.size != size || verified.checkpoint.root != *root {
            return Err(LogError::Internal(format!("the stored checkpoint of size {size} names another tree")));
        }
        Ok(Some(verified))
    }

    /// The latest signed checkpoint note.
    ///
    /// # Errors
    /// [`LogError::Integrity`], or store/signing failures.
    pub async fn checkpoint(&self) -> Result<VerifiedCheckpoint, LogError> {
        let mut state = self.inner.state.lock().await;
        self.current(&mut state).await
    }

    /// The inclusion bundle of a credential's `Issued` entry against the latest
    /// checkpoint.
    ///
    /// # Errors
    /// [`LogError::NotFound`] when the credential has no log entry.
    pub async fn inclusion_bundle(&self, credential_id: &str) -> Result<InclusionBundle, LogError> {
        let mut state = self.inner.state.lock().await;
        if let Some(failure) = &state.integrity {
            return Err(LogError::Integrity(failure.clone()));
        }
        let record = self.inner.store.first_log_entry_for(credential_id).await?.ok_or(LogError::NotFound)?;
        let entry = LogEntry::decode(&record.entry).map_err(|e| LogError::Internal(e.to_string()))?;
        let checkpoint = self.current(&mut state).await?;
        InclusionBundle::new(entry, record.seq, &state.tree, &checkpoint).map_err(|e| LogError::Internal(e.to_string()))
    }

    /// The inclusion bundles of entries `(entry, index)` against one signed
    /// checkpoint (an anchored one, for notarisation receipts).
    ///
    /// # Errors
    /// Integrity failures, or a note that is not this log's checkpoint covering `index`.
    pub async fn bundles_against(
        &self,
        entries: Vec<(LogEntry, u64)>,
        checkpoint: &VerifiedCheckpoint,
    ) -> Result<Vec<InclusionBundle>, LogError> {
        let mut state = self.inner.state.lock().await;
        self.catch_up(&mut state).await?;
        entries
            .into_iter()
            .map(|(entry, index)| {
                InclusionBundle::new(entry, index, &state.tree, checkpoint)
                    .map_err(|e| LogError::Internal(e.to_string()))
            })
            .collect()
    }

    /// The consistency proof between tree sizes `from` and `to` (`to` defaults to
    /// the current size).
    ///
    /// # Errors
    /// [`LogError::BadRange`] unless `0 < from <= to <= size` (or `from = 0`, empty proof).
    pub async fn consistency_proof(&self, from: u64, to: Option<u64>) -> Result<(u64, Vec<Hash>), LogError> {
        let mut state = self.inner.state.lock().await;
        self.catch_up(&mut state).await?;
        let size = state.tree.size();
        let to = to.unwrap_or(size);
        if from > to || to > size {
            return Err(LogError::BadRange(format!("need from <= to <= {size} (the log's size)")));
        }
        let proof = state.tree.consistency_proof(from, to).map_err(|e| LogError::BadRange(e.to_string()))?;
        Ok((to, proof))
    }

    /// Entries from `start`, at most `count` (capped at [`crate::store::MAX_LOG_PAGE`]).
    ///
    /// # Errors
    /// Integrity or store failures.
    pub async fn entries(&self, start: u64, count: u64) -> Result<Vec<EntryView>, LogError> {
        if let Some(failure) = self.integrity_failure().await {
            return Err(LogError::Integrity(failure));
        }
        let records = self.inner.store.log_entries(start, Some(count)).await?;
        records
            .into_iter()
            .map(|record| {
                let entry = LogEntry::decode(&record.entry).map_err(|e| {
                    LogError::Integrity(IntegrityFailure {
                        first_bad_seq: Some(record.seq),
                        reason: format!("stored entry does not decode: {e}"),
                    })
                })?;
                Ok(EntryView { index: record.seq, leaf_hash: hex::encode(record.recomputed_leaf_hash()), entry })
            })
            .collect()
    }
}

/// The `credentialDigest` of a key event: SHA-256 of the key's `did:key`.
pub fn key_digest(did: &str) -> Hash {
    Sha256::digest(did.as_bytes()).into()
}

/// The key events to log when the issuer starts signing with `did`: `Activated`
/// for a key the log has not seen activated, preceded by `Rotated` for the key
/// activated last (the one it replaces, after `ecert-pki rotate-key`). Nothing
/// when `did` is the key activated last.
fn key_events_due(records: &[LogRecord], did: &str) -> Vec<LogEntry> {
    use wallet_core::transparency::{EntryKind, KeyEventKind};
    let last_activated = records.iter().rev().find_map(|record| {
        let entry = LogEntry::decode(&record.entry).ok()?;
        matches!(entry.kind(), EntryKind::KeyEvent { kind: KeyEventKind::Activated }).then_some(entry)
    });
    if last_activated.as_ref().is_some_and(|entry| entry.issuer() == did) {
        return Vec::new();
    }
    let at = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let event = |kind, did: &str| LogEntry::new(EntryKind::KeyEvent { kind }, key_digest(did), did, at).ok();
    let mut events = Vec::new();
    if let Some(previous) = last_activated {
        events.extend(event(KeyEventKind::Rotated, previous.issuer()));
    }
    events.extend(event(KeyEventKind::Activated, did));
    events
}

/// The tree over the recomputed leaf hashes, and the first problem found.
fn rebuild(records: &[LogRecord]) -> (MerkleTree, Option<IntegrityFailure>) {
    let mut failure = None;
    let mut leaves = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let index = index as u64;
        if failure.is_none() {
            if record.seq != index {
                failure = Some(IntegrityFailure {
                    first_bad_seq: Some(index),
                    reason: format!("log entry {index} is missing (found {} instead)", record.seq),
                });
            } else if !record.is_intact() {
                failure = Some(IntegrityFailure {
                    first_bad_seq: Some(index),
                    reason: "stored log entry does not match its stored leaf hash".into(),
                });
            }
        }
        leaves.push(leaf_hash(&record.entry));
    }
    (MerkleTree::from_leaf_hashes(leaves), failure)
}

/// Compare the rebuilt tree with a stored checkpoint.
fn check_checkpoint(
    tree: &MerkleTree,
    records: &[LogRecord],
    size: u64,
    root: &[u8],
    note_text: &str,
) -> Option<IntegrityFailure> {
    let note_root = SignedNote::parse(note_text).ok().and_then(|note| Checkpoint::from_note_text(note.text()).ok());
    let Some(note_checkpoint) = note_root.filter(|c| c.size == size && c.root.as_slice() == root) else {
        return Some(IntegrityFailure {
            first_bad_seq: None,
            reason: format!("stored checkpoint {size} is malformed"),
        });
    };
    let rebuilt = match tree.root_at(size) {
        Ok(rebuilt) => rebuilt,
        Err(_) => {
            return Some(IntegrityFailure {
                first_bad_seq: Some(tree.size()),
                reason: format!("the log has {} entries but checkpoint {size} was signed", tree.size()),
            })
        }
    };
    if hashes_equal(&rebuilt, &note_checkpoint.root) {
        return None;
    }
    let first_bad_seq = records.iter().find(|record| !record.is_intact()).map(|record| record.seq);
    Some(IntegrityFailure {
        first_bad_seq,
        reason: format!("the rebuilt root at size {size} differs from the stored signed checkpoint"),
    })
}
