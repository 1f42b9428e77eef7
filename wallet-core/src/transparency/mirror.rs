//! A verifier's own copy of an issuer's log, checked against the chain: the
//! data behind the `anchoring` check.
//!
//! A [`LogMirror`] holds every entry of one log (only digests, issuer DIDs and
//! times — about 100 bytes per entry), rebuilt into its own Merkle tree. It
//! only ever grows by entries whose resulting root equals a checkpoint signed
//! by the log's key, so it is exactly the log the issuer committed to. Anchors
//! read from the verifier's own chain node are accepted only when their root
//! equals the mirror's root at that size; witness cosignatures are accepted
//! only for checkpoints consistent with the mirror. Any disagreement (a fork
//! served to us, a root on chain that is not the log's) is a *conflict*: every
//! anchoring check against that log fails until an operator looks.
//!
//! The check itself ([`LogMirrors::check`]) answers for one credential,
//! identified by its digest (SHA-256 of the signed credential's canonical
//! N-Quads, what the issuer logs):
//!
//! - **anchored**: the credential's `Issued` entry is at index *i*, an anchor
//!   of a tree of size > *i* is in a block of the configured chain, and the
//!   witness policy holds (k witnesses cosigned a consistent tree covering
//!   *i*) → block number and time;
//! - **pending**: logged but not yet anchored (or witnessed), or not in the
//!   mirror yet, while within the grace period after its issuance time;
//! - **not in log**: the mirror holds entries logged after the credential's
//!   claimed issuance time but not the credential — an issuer logs in the
//!   same transaction as it issues, so a genuine credential would be there.
//!   This is what catches a stolen signing key used outside the issuer's
//!   system, backdated or not: a backdated one is missing from a log that
//!   has moved past its date; a fresh one stays pending only for the grace
//!   period.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::anchor::ChainAnchor;
use super::checkpoint::CheckpointError;
use super::entry::{EntryKind, LogEntry};
use super::hash::{hashes_equal, Hash};
use super::log_key::LogKey;
use super::note::SignedNote;
use super::tree::MerkleTree;
use super::witness::{verify_cosignatures, WitnessKey, WitnessPolicy};
use crate::localized::Localized;

/// Why the mirror refused new data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// Not signed by the log, or not a checkpoint of this log.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint's size is not the mirror's size plus the entries given.
    #[error("the checkpoint is for {got} entries, the mirror would have {expected}")]
    SizeMismatch {
        /// Mirror size plus entries.
        expected: u64,
        /// Checkpoint size.
        got: u64,
    },
    /// Signed data that contradicts what the mirror already holds.
    #[error("conflict: {0}")]
    Conflict(String),
}

/// What a configured verifier requires of the anchoring check.
#[derive(Debug, Clone)]
pub struct AnchoringPolicy {
    /// A credential that is not shown to be anchored fails (rather than being
    /// reported `unchecked`), except while pending within the grace period.
    pub required: bool,
    /// How long after its issuance a credential may be pending (not yet in
    /// the mirror, or not yet anchored or witnessed), in seconds.
    pub grace_secs: u64,
    /// How far an issuer's clock may run ahead of log times, in seconds.
    pub skew_secs: u64,
    /// Witness cosignatures required on a tree covering the entry.
    pub witnesses: WitnessPolicy,
}

impl Default for AnchoringPolicy {
    fn default() -> Self {
        Self { required: false, grace_secs: 600, skew_secs: 300, witnesses: WitnessPolicy::none() }
    }
}

/// Where an anchored credential is recorded: what the report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchorEvidence {
    /// The log.
    pub log: String,
    /// The entry's index in the log.
    pub index: u64,
    /// When the log recorded it (issuer's clock, unix seconds).
    pub logged_at: u64,
    /// The anchored tree size covering it.
    pub tree_size: u64,
    /// Chain id of the verifier's node.
    pub chain_id: u64,
    /// Block number of the anchor.
    pub block_number: u64,
    /// Block time (unix seconds).
    pub block_time: u64,
    /// Anchor transaction.
    pub tx_hash: String,
    /// Witnesses whose cosignatures cover the entry.
    pub witnesses: Vec<String>,
}

/// The anchoring check's outcome for one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchoringOutcome {
    /// In the log, under an anchored (and sufficiently witnessed) tree.
    Anchored(AnchorEvidence),
    /// Not yet anchored, within the grace period.
    Pending {
        /// Stable code.
        code: &'static str,
        /// Why.
        reason: Localized,
    },
    /// Shown not to be anchored.
    Failed {
        /// Stable code.
        code: &'static str,
        /// Why.
        reason: Localized,
    },
    /// No data to decide with (fails when the policy requires anchoring).
    Unknown {
        /// Stable code.
        code: &'static str,
        /// Why.
        reason: Localized,
    },
}

#[derive(Debug, Clone, Copy)]
struct EntryMeta {
    issuer: u32,
    at: u64,
}

/// A verifier's copy of one issuer log. See the module docs.
#[derive(Debug, Clone)]
pub struct LogMirror {
    log_key: LogKey,
    tree: MerkleTree,
    entries: Vec<EntryMeta>,
    issuers: Vec<String>,
    issued: HashMap<Hash, u64>,
    checkpoint: Option<String>,
    anchors: BTreeMap<u64, ChainAnchor>,
    unverified_anchors: BTreeMap<u64, ChainAnchor>,
    witnessed: HashMap<String, u64>,
    conflict: Option<String>,
    synced_at: Option<u64>,
}

impl LogMirror {
    /// An empty mirror of the log with this key.
    pub fn new(log_key: LogKey) -> Self {
        Self {
            log_key,
            tree: MerkleTree::new(),
            entries: Vec::new(),
            issuers: Vec::new(),
            issued: HashMap::new(),
            checkpoint: None,
            anchors: BTreeMap::new(),
            unverified_anchors: BTreeMap::new(),
            witnessed: HashMap::new(),
            conflict: None,
            synced_at: None,
        }
    }

    /// The log's key (its name is the origin).
    pub fn log_key(&self) -> &LogKey {
        &self.log_key
    }

    /// Entries held.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The latest signed checkpoint accepted.
    pub fn checkpoint(&self) -> Option<&str> {
        self.checkpoint.as_deref()
    }

    /// Anchors accepted (their roots match the log), by tree size.
    pub fn anchors(&self) -> impl Iterator<Item = &ChainAnchor> {
        self.anchors.values()
    }

    /// The mirrored tree's root at `size` (`None` beyond the mirror).
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        self.tree.root_at(size).ok()
    }

    /// Whether an anchor with transaction `tx_hash` was accepted.
    pub fn has_anchor_tx(&self, tx_hash: &str) -> bool {
        self.anchors.values().chain(self.unverified_anchors.values()).any(|a| a.tx_hash.eq_ignore_ascii_case(tx_hash))
    }

    /// The conflict found, if any.
    pub fn conflict(&self) -> Option<&str> {
        self.conflict.as_deref()
    }

    /// When the mirror last confirmed the log's head (unix seconds).
    pub fn synced_at(&self) -> Option<u64> {
        self.synced_at
    }

    /// The largest tree size each witness cosigned consistently with the mirror.
    pub fn witnessed(&self) -> &HashMap<String, u64> {
        &self.witnessed
    }

    /// Whether `issuer` has entries in this log.
    pub fn covers_issuer(&self, issuer: &str) -> bool {
        self.issuers.iter().any(|i| i == issuer)
    }

    /// Whether the log belongs to the key of `signer` (a P-256 `did:key`):
    /// it signs its checkpoints with that key (our issuers sign their log with
    /// their credential-signing key).
    pub fn signed_by(&self, signer: &str) -> bool {
        crate::keys::p256_key_from_did(signer).is_ok_and(|key| self.signed_by_key(&key))
    }

    /// [`LogMirror::signed_by`] for a key already decoded.
    fn signed_by_key(&self, key: &p256::PublicKey) -> bool {
        self.log_key.is_p256_key(key)
    }

    /// Record a conflict found outside the mirror (a verifier comparing the
    /// log with the checkpoint it accepted before a restart, or a conflict it
    /// found then and kept): from now on every check against this log fails,
    /// as for a conflict the mirror finds itself. The first conflict stays.
    pub fn record_conflict(&mut self, what: impl Into<String>) {
        if self.conflict.is_none() {
            self.conflict = Some(what.into());
        }
    }

    fn set_conflict(&mut self, what: String) -> MirrorError {
        if self.conflict.is_none() {
            self.conflict = Some(what.clone());
        }
        MirrorError::Conflict(what)
    }

    /// Append `entries` (the log's entries from index [`LogMirror::size`] on)
    /// and accept `checkpoint_note`, which must be signed by the log and have
    /// the resulting size and root. With no entries, confirms the head (or
    /// accepts an older checkpoint consistent with the mirror). On any error
    /// the mirror is left as it was.
    ///
    /// # Errors
    /// [`MirrorError`]; a root mismatch is also recorded as a conflict.
    pub fn extend(&mut self, entries: &[LogEntry], checkpoint_note: &str, now: u64) -> Result<u64, MirrorError> {
        let verified = self.log_key.open_checkpoint(checkpoint_note)?;
        let old = self.tree.size();
        let size = verified.checkpoint.size;
        if entries.is_empty() && size <= old {
            let root = self.tree.root_at(size).map_err(|e| MirrorError::Conflict(e.to_string()))?;
            if !hashes_equal(&root, &verified.checkpoint.root) {
                return Err(self.set_conflict(format!("the log signed a different root for size {size}")));
            }
            if size == old {
                self.checkpoint = Some(checkpoint_note.to_owned());
                self.synced_at = Some(now);
            }
            return Ok(old);
        }
        let expected = old + entries.len() as u64;
        if size != expected {
            return Err(MirrorError::SizeMismatch { expected, got: size });
        }
        self.tree.extend(entries.iter().map(LogEntry::leaf_hash));
        if !hashes_equal(&self.tree.root(), &verified.checkpoint.root) {
            self.tree.truncate(old);
            return Err(MirrorError::Conflict(format!(
                "the entries served for {old}..{size} do not hash to the signed root"
            )));
        }
        for (offset, entry) in entries.iter().enumerate() {
            let index = old + offset as u64;
            let issuer = match self.issuers.iter().position(|i| i == entry.issuer()) {
                Some(position) => position,
                None => {
                    self.issuers.push(entry.issuer().to_owned());
                    self.issuers.len() - 1
                }
            };
            self.entries.push(EntryMeta { issuer: u32::try_from(issuer).unwrap_or(u32::MAX), at: entry.at() });
            if entry.kind() == EntryKind::Issued {
                self.issued.entry(*entry.credential_digest()).or_insert(index);
            }
        }
        self.checkpoint = Some(checkpoint_note.to_owned());
        self.synced_at = Some(now);
        let due: Vec<u64> = self.unverified_anchors.range(..=size).map(|(s, _)| *s).collect();
        for anchor_size in due {
            if let Some(anchor) = self.unverified_anchors.remove(&anchor_size) {
                // A mismatch is recorded as a conflict; the extension itself is the log's.
                let _ = self.add_anchor(anchor);
            }
        }
        Ok(size)
    }

    /// Accept an anchor read from the verifier's chain node. Anchors beyond the
    /// mirror are kept until the mirror reaches their size.
    ///
    /// # Errors
    /// [`MirrorError::Conflict`] when its root is not the log's root at that size.
    pub fn add_anchor(&mut self, anchor: ChainAnchor) -> Result<(), MirrorError> {
        let size = anchor.calldata.tree_size;
        if size > self.tree.size() {
            self.unverified_anchors.insert(size, anchor);
            return Ok(());
        }
        let root = self.tree.root_at(size).map_err(|e| MirrorError::Conflict(e.to_string()))?;
        if !hashes_equal(&root, &anchor.calldata.root) {
            return Err(self.set_conflict(format!(
                "anchor {} (block {}) records a root for size {size} that is not the log's",
                anchor.tx_hash, anchor.block_number
            )));
        }
        // Keep the earliest block for a size anchored twice.
        match self.anchors.get(&size) {
            Some(existing) if existing.block_number <= anchor.block_number => {}
            _ => {
                self.anchors.insert(size, anchor);
            }
        }
        Ok(())
    }

    /// Accept the witness cosignatures on `note_text` (a checkpoint of this
    /// log, as a witness serves it) from the witnesses of `policy`.
    ///
    /// # Errors
    /// A checkpoint not signed by the log, an invalid cosignature, or a
    /// cosigned tree that contradicts the mirror (a split view: recorded as a
    /// conflict). A checkpoint beyond the mirror is refused until it catches up.
    pub fn add_cosigned(&mut self, note_text: &str, policy: &WitnessPolicy) -> Result<usize, MirrorError> {
        let verified = self.log_key.open_checkpoint(note_text)?;
        let size = verified.checkpoint.size;
        let root =
            self.tree.root_at(size).map_err(|_| MirrorError::SizeMismatch { expected: self.tree.size(), got: size })?;
        if !hashes_equal(&root, &verified.checkpoint.root) {
            return Err(self.set_conflict(format!("a witness cosigned a different tree of size {size}: split view")));
        }
        let note = SignedNote::parse(note_text).map_err(|e| MirrorError::Checkpoint(e.into()))?;
        let cosignatures = verify_cosignatures(&note, policy.witnesses(), 0)
            .map_err(|e| MirrorError::Conflict(format!("witness cosignature: {e}")))?;
        for cosignature in &cosignatures {
            let covered = self.witnessed.entry(cosignature.witness.clone()).or_insert(0);
            *covered = (*covered).max(size);
        }
        Ok(cosignatures.len())
    }

    fn witnesses_covering(&self, index: u64) -> Vec<String> {
        let mut names: Vec<String> =
            self.witnessed.iter().filter(|(_, size)| **size > index).map(|(name, _)| name.clone()).collect();
        names.sort();
        names
    }

    fn check(
        &self,
        digest: &Hash,
        signer: &str,
        same_organization: &dyn Fn(&str) -> bool,
        claimed_at: Option<u64>,
        policy: &AnchoringPolicy,
        now: u64,
    ) -> AnchoringOutcome {
        if let Some(conflict) = &self.conflict {
            return AnchoringOutcome::Failed {
                code: "anchoring_log_conflict",
                reason: Localized::new(
                    format!("该签发方的日志与链上记录或见证不一致，无法信任：{conflict}"),
                    format!(
                        "the issuer's log contradicts the chain or its witnesses and cannot be trusted: {conflict}"
                    ),
                ),
            };
        }
        // An entry the log dates beyond the clock (and its skew) is never
        // "within grace": `now - at` saturated to 0 kept such an entry pending
        // for ever, neither witnessed nor anchored, under any policy.
        let within_grace =
            |since: u64| since <= now + policy.skew_secs && now.saturating_sub(since) <= policy.grace_secs;
        let Some(&index) = self.issued.get(digest) else {
            return self.check_missing(claimed_at, policy, now);
        };
        let meta = self.entries.get(usize::try_from(index).unwrap_or(usize::MAX)).copied();
        let logged_at = meta.map_or(0, |m| m.at);
        let logged_issuer = meta.and_then(|m| self.issuers.get(m.issuer as usize));
        if logged_issuer.is_some_and(|i| i != signer && !same_organization(i)) {
            return AnchoringOutcome::Failed {
                code: "anchoring_wrong_issuer",
                reason: Localized::new(
                    "日志中的该条记录属于另一个签发方",
                    "the log records this credential under another issuer",
                ),
            };
        }
        let witnesses = self.witnesses_covering(index);
        let threshold = policy.witnesses.threshold();
        // Distinct names: a witness configured twice (same key, same name)
        // counts once, as its cosignature does.
        let counted = policy
            .witnesses
            .witnesses()
            .iter()
            .map(WitnessKey::name)
            .filter(|name| witnesses.iter().any(|n| n == name))
            .collect::<std::collections::BTreeSet<&str>>()
            .len();
        if counted < threshold {
            return if within_grace(logged_at) {
                AnchoringOutcome::Pending {
                    code: "anchoring_pending",
                    reason: Localized::new(
                        format!("已登记（第 {index} 条），等待见证方会签（{counted}/{threshold}）"),
                        format!("logged (entry {index}), awaiting witness cosignatures ({counted} of {threshold})"),
                    ),
                }
            } else {
                AnchoringOutcome::Failed {
                    code: "anchoring_not_witnessed",
                    reason: Localized::new(
                        format!("已登记（第 {index} 条），但宽限期后仍只有 {counted}/{threshold} 个见证方会签"),
                        format!(
                            "logged (entry {index}) but only {counted} of {threshold} required witnesses cosigned \
                             after the grace period"
                        ),
                    ),
                }
            };
        }
        match self.anchors.range(index + 1..).next() {
            Some((&tree_size, anchor)) => AnchoringOutcome::Anchored(AnchorEvidence {
                log: self.log_key.origin().to_owned(),
                index,
                logged_at,
                tree_size,
                chain_id: anchor.chain_id,
                block_number: anchor.block_number,
                block_time: anchor.block_time,
                tx_hash: anchor.tx_hash.clone(),
                witnesses,
            }),
            None if within_grace(logged_at) => AnchoringOutcome::Pending {
                code: "anchoring_pending",
                reason: Localized::new(
                    format!("已登记（第 {index} 条），等待上链锚定"),
                    format!("logged (entry {index}), waiting to be anchored on the chain"),
                ),
            },
            None => AnchoringOutcome::Failed {
                code: "anchoring_overdue",
                reason: Localized::new(
                    format!("已登记（第 {index} 条），但宽限期后在本机配置的链上仍找不到锚定"),
                    format!(
                        "logged (entry {index}) but no anchor covering it was found on the configured chain after \
                         the grace period"
                    ),
                ),
            },
        }
    }

    fn check_missing(&self, claimed_at: Option<u64>, policy: &AnchoringPolicy, now: u64) -> AnchoringOutcome {
        let not_in_log = |zh: String, en: String| AnchoringOutcome::Failed {
            code: "anchoring_not_in_log",
            reason: Localized::new(zh, en),
        };
        let Some(claimed) = claimed_at else {
            return not_in_log(
                "凭证未在签发方日志中登记，且未注明签发时间".into(),
                "the credential is not in the issuer's log and states no issuance time".into(),
            );
        };
        if claimed > now + policy.skew_secs {
            return not_in_log(
                "凭证未在签发方日志中登记，且声称的签发时间在未来".into(),
                "the credential is not in the issuer's log and claims an issuance time in the future".into(),
            );
        }
        let latest_logged = self.entries.last().map_or(0, |m| m.at);
        if latest_logged > claimed + policy.skew_secs {
            return not_in_log(
                format!("凭证声称签发于 {claimed}，但签发方此后登记的日志中没有它：可能是伪造或密钥被盗用"),
                format!(
                    "the credential claims issuance at {claimed}, but the issuer's log, which records entries after \
                     that time, does not contain it: forged or signed with a stolen key"
                ),
            );
        }
        if now.saturating_sub(claimed) <= policy.grace_secs {
            return AnchoringOutcome::Pending {
                code: "anchoring_pending",
                reason: Localized::new(
                    "新签发的凭证，本机的日志副本尚未包含它（宽限期内）",
                    "newly issued: this verifier's copy of the log does not include it yet (within the grace period)",
                ),
            };
        }
        match self.synced_at {
            Some(synced) if synced > claimed + policy.skew_secs => not_in_log(
                "宽限期已过，签发方日志中仍没有该凭证".into(),
                "the grace period has passed and the issuer's log still does not contain the credential".into(),
            ),
            _ => AnchoringOutcome::Unknown {
                code: "anchoring_log_not_synced",
                reason: Localized::new(
                    "本机的日志副本早于该凭证的签发时间，无法确认登记（请联网同步）",
                    "this verifier's copy of the log predates the credential: registration cannot be confirmed \
                     (sync when online)",
                ),
            },
        }
    }
}

/// The mirrors a verifier keeps, one per issuer log.
#[derive(Debug, Clone, Default)]
pub struct LogMirrors {
    mirrors: Vec<LogMirror>,
}

impl LogMirrors {
    /// Mirrors of these logs.
    pub fn new(mirrors: Vec<LogMirror>) -> Self {
        Self { mirrors }
    }

    /// The mirrors.
    pub fn iter(&self) -> impl Iterator<Item = &LogMirror> {
        self.mirrors.iter()
    }

    /// The mirror of the log with this origin.
    pub fn get_mut(&mut self, origin: &str) -> Option<&mut LogMirror> {
        self.mirrors.iter_mut().find(|m| m.log_key.origin() == origin)
    }

    /// The anchoring check for the credential whose signed form hashes to
    /// `digest`, signed by the key of `signer` (the proof's verification
    /// method DID, never the credential's `issuer` claim), claiming issuance at
    /// `claimed_at`. See [`LogMirrors::check_signed_by`].
    pub fn check(
        &self,
        digest: &Hash,
        signer: &str,
        claimed_at: Option<u64>,
        policy: &AnchoringPolicy,
        now: u64,
    ) -> AnchoringOutcome {
        self.check_signed_by(digest, signer, &|_| false, claimed_at, policy, now)
    }

    /// The log of the key that signed: the mirror whose log key is the
    /// signer's key, else one with entries under the signer's DID, else one
    /// with entries under a DID `same_organization` accepts (a key of the same
    /// trust-list organisation: the issuer rotated its key). The credential's
    /// `issuer` string plays no part, so a made-up issuer cannot send the check
    /// to another log. The logged entry must be the signer's (or its
    /// organisation's), else `anchoring_wrong_issuer`.
    pub fn check_signed_by(
        &self,
        digest: &Hash,
        signer: &str,
        same_organization: &dyn Fn(&str) -> bool,
        claimed_at: Option<u64>,
        policy: &AnchoringPolicy,
        now: u64,
    ) -> AnchoringOutcome {
        // The signer's key is decoded once, not once per mirror followed.
        let signer_key = crate::keys::p256_key_from_did(signer).ok();
        let chosen = self
            .mirrors
            .iter()
            .find(|m| signer_key.is_some_and(|key| m.signed_by_key(&key)))
            .or_else(|| self.mirrors.iter().find(|m| m.covers_issuer(signer)))
            .or_else(|| self.mirrors.iter().find(|m| m.issuers.iter().any(|i| same_organization(i))));
        match chosen {
            Some(mirror) => mirror.check(digest, signer, same_organization, claimed_at, policy, now),
            // An issuer's first credential may reach the inspector before the mirror syncs.
            None if claimed_at
                .is_some_and(|t| t <= now + policy.skew_secs && now.saturating_sub(t) <= policy.grace_secs) =>
            {
                AnchoringOutcome::Pending {
                    code: "anchoring_pending",
                    reason: Localized::new(
                        "新签发的凭证，本机的日志副本中尚无该签发方的记录（宽限期内）",
                        "newly issued: this verifier's copies of the logs have no entries from this issuer yet \
                         (within the grace period)",
                    ),
                }
            }
            None => AnchoringOutcome::Unknown {
                code: "anchoring_no_log_for_issuer",
                reason: Localized::new(
                    "本机没有该签发方的日志副本，无法确认是否已登记上链",
                    "this verifier follows no log with entries from this issuer: registration cannot be confirmed",
                ),
            },
        }
    }
}
