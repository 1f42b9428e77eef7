//! The anchoring check offline: a log as a signed verifier bundle vouches for
//! it ([`BundledLog`], verified into an [`AnchoredLog`]) and the inclusion proof
//! the wallet keeps beside the credential ([`InclusionBundle`]).
//!
//! The publishing verifier mirrors the log and confirms anchors on its own chain
//! node (see [`super::LogMirror`]); the bundle carries, per log, the log's key,
//! the witness policy the publisher applies and the latest tree it saw anchored
//! (size, root, chain, block, time, transaction). The department's signature
//! over the bundle is what makes that key and that anchor claim trusted offline,
//! as it does for the trust list.
//!
//! [`check_inclusion_offline`] then answers for one credential:
//!
//! - the inclusion proof verifies against the bundled log key and witness
//!   policy of the log its checkpoint names, its entry is the `Issued` entry of
//!   this credential by this credential's issuer, and the proof's checkpoint is
//!   no larger than the anchored tree → **anchored**. *Why the entry is then in
//!   the anchored tree*: the checkpoint is cosigned by the policy's threshold of
//!   witnesses, and a witness cosigns only consistent extensions of what it
//!   cosigned before; the publisher accepted the anchor only for its mirror's
//!   root and witness cosignatures only for trees consistent with its mirror. So,
//!   assuming at least one of the cosigning witnesses is honest and also follows
//!   the publisher's view of the log, the proof's tree is a prefix of the
//!   anchored tree and leaf `index` is the same in both. With no witnesses
//!   required (threshold 0) this rests on the log not having equivocated. Equal
//!   sizes are also compared root to root.
//! - a checkpoint larger than the anchored tree (the credential was issued, or
//!   the wallet refreshed its proof, after the bundle's last anchor) →
//!   **pending** (`anchoring_pending`): update the bundle;
//! - the proof is for another credential, does not verify, its checkpoint is
//!   not signed by the log or lacks witnesses, or the entry is another issuer's
//!   → **failed**, with the [`BundleError::code`] codes;
//! - the log is not in the bundle → **unknown** (`anchoring_log_not_in_bundle`).
//!
//! The inclusion proof does not go into the presentation QR code (`EP1:`): as
//! JSON it measured 508 bytes for a two-entry log (one proof hash, no
//! cosignatures; `verifier/tests/suite/anchoring.rs`), and every doubling of the
//! log adds a hash (~67 bytes), so ~1.8 kB at a million entries, plus ~90 bytes
//! per witness cosignature — three times the 585-character compact QR text of
//! the whole credential, beyond what a phone camera reads reliably from one
//! code. It travels as the wallet's export file instead.

use serde::{Deserialize, Serialize};

use super::bundle::{BundleError, InclusionBundle};
use super::checkpoint::CheckpointError;
use super::entry::EntryKind;
use super::hash::{hashes_equal, Hash};
use super::log_key::LogKey;
use super::mirror::{AnchorEvidence, AnchoringOutcome, LogMirror};
use super::serde_hex;
use super::witness::{WitnessError, WitnessKey, WitnessPolicy};
use crate::localized::Localized;

/// The latest anchored tree of a log, as the publishing verifier confirmed it
/// on its own chain node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundledAnchor {
    /// The anchored tree size.
    pub tree_size: u64,
    /// Its root.
    #[serde(with = "serde_hex::hash")]
    pub root: Hash,
    /// The chain.
    pub chain_id: u64,
    /// Block number of the anchor.
    pub block_number: u64,
    /// Block time (unix seconds).
    pub block_time: u64,
    /// Anchor transaction.
    pub tx_hash: String,
}

/// One log as a verifier bundle carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundledLog {
    /// The log's origin (its checkpoints' first line).
    pub origin: String,
    /// The log's verifier key, in the text form `--log-key` takes.
    pub log_key: String,
    /// Witness verifier keys of the publisher's witness policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witness_keys: Vec<String>,
    /// How many of them must cosign.
    #[serde(default)]
    pub witness_threshold: usize,
    /// The latest anchored tree the publisher verified, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchored: Option<BundledAnchor>,
    /// A conflict the publisher's mirror found (log vs chain vs witnesses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
}

impl BundledLog {
    /// What a verifier's mirror of the log vouches for, under its witness policy.
    pub fn from_mirror(mirror: &LogMirror, witnesses: &WitnessPolicy) -> Self {
        Self {
            origin: mirror.log_key().origin().to_owned(),
            log_key: mirror.log_key().to_vkey(),
            witness_keys: witnesses.witnesses().iter().map(WitnessKey::to_vkey).collect(),
            witness_threshold: witnesses.threshold(),
            // Anchors are keyed by tree size: the last is the largest.
            anchored: mirror.anchors().last().map(|a| BundledAnchor {
                tree_size: a.calldata.tree_size,
                root: a.calldata.root,
                chain_id: a.chain_id,
                block_number: a.block_number,
                block_time: a.block_time,
                tx_hash: a.tx_hash.clone(),
            }),
            conflict: mirror.conflict().map(str::to_owned),
        }
    }

    /// Parse the keys and the policy.
    ///
    /// # Errors
    /// An unreadable key, a key for another origin, or a threshold above the witnesses.
    pub fn open(&self) -> Result<AnchoredLog, String> {
        let log_key = LogKey::from_vkey(self.log_key.trim()).map_err(|e| format!("log key: {e}"))?;
        if log_key.origin() != self.origin {
            return Err(format!("the log key is for {:?}, not {:?}", log_key.origin(), self.origin));
        }
        let witnesses = self
            .witness_keys
            .iter()
            .map(|k| WitnessKey::from_vkey(k.trim()).map_err(|e| format!("witness key: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let witnesses =
            WitnessPolicy::new(witnesses, self.witness_threshold).map_err(|e| format!("witness policy: {e}"))?;
        Ok(AnchoredLog { log_key, witnesses, anchored: self.anchored.clone(), conflict: self.conflict.clone() })
    }
}

/// A bundled log whose keys were read: what [`check_inclusion_offline`] uses.
#[derive(Debug, Clone)]
pub struct AnchoredLog {
    /// The log's key.
    pub log_key: LogKey,
    /// The witness policy.
    pub witnesses: WitnessPolicy,
    /// The latest anchored tree.
    pub anchored: Option<BundledAnchor>,
    /// A conflict the publisher found.
    pub conflict: Option<String>,
}

/// zh + en words for an inclusion proof that does not verify.
pub fn inclusion_failure_reason(error: &BundleError) -> Localized {
    let (zh, en) = match error {
        BundleError::DigestMismatch => {
            ("登记证明属于另一份凭证".to_owned(), "the inclusion proof is for another credential".to_owned())
        }
        BundleError::Checkpoint(CheckpointError::WrongOrigin { .. }) => {
            ("登记证明的检查点属于另一个日志".to_owned(), format!("the inclusion proof's checkpoint: {error}"))
        }
        BundleError::Checkpoint(_) => (
            "登记证明的检查点不是该日志签署的（或已被改动）".to_owned(),
            format!("the inclusion proof's checkpoint is not signed by the log: {error}"),
        ),
        BundleError::Witness(WitnessError::QuorumNotMet { got, want }) => (
            format!("登记证明的检查点只有 {got} 个见证方会签，需要 {want} 个"),
            format!("the inclusion proof's checkpoint is cosigned by {got} of the {want} required witnesses"),
        ),
        BundleError::Witness(_) => {
            ("登记证明的见证会签无效".to_owned(), format!("the inclusion proof's witness cosignatures: {error}"))
        }
        BundleError::Proof(_) => (
            "登记证明无效：该条目不在检查点对应的日志树中".to_owned(),
            format!("the inclusion proof does not verify: {error}"),
        ),
        BundleError::Malformed(_) | BundleError::EntryNotAtIndex(_) => {
            ("登记证明无法读取".to_owned(), format!("the inclusion proof cannot be read: {error}"))
        }
    };
    Localized::new(zh, en)
}

/// The offline anchoring check of the credential whose signed form hashes to
/// `digest`, signed by the key of `signer` (the proof's verification method
/// DID, not the credential's `issuer` claim), against the bundled `logs` and
/// the wallet's `inclusion` proof. See the module docs and
/// [`check_inclusion_offline_signed_by`].
pub fn check_inclusion_offline(
    logs: &[AnchoredLog],
    inclusion: &InclusionBundle,
    digest: &Hash,
    signer: &str,
) -> AnchoringOutcome {
    check_inclusion_offline_signed_by(logs, inclusion, digest, signer, &|_| false)
}

/// As [`check_inclusion_offline`]; the logged entry must name the signer's
/// DID, or a DID `same_organization` accepts (another key of the signer's
/// trust-list organisation, after a key rotation). Anything else — in
/// particular an entry of the DID the credential merely claims as `issuer` —
/// is `anchoring_wrong_issuer`.
pub fn check_inclusion_offline_signed_by(
    logs: &[AnchoredLog],
    inclusion: &InclusionBundle,
    digest: &Hash,
    signer: &str,
    same_organization: &dyn Fn(&str) -> bool,
) -> AnchoringOutcome {
    let failed =
        |error: &BundleError| AnchoringOutcome::Failed { code: error.code(), reason: inclusion_failure_reason(error) };
    let origin = inclusion.checkpoint.lines().next().unwrap_or_default();
    let Some(log) = logs.iter().find(|l| l.log_key.origin() == origin) else {
        return AnchoringOutcome::Unknown {
            code: "anchoring_log_not_in_bundle",
            reason: Localized::new(
                format!("核验数据包不含该凭证所在的日志（{origin}），无法离线确认登记"),
                format!("the verifier bundle does not cover the credential's log ({origin}): registration cannot be confirmed offline"),
            ),
        };
    };
    if let Some(conflict) = &log.conflict {
        return AnchoringOutcome::Failed {
            code: "anchoring_log_conflict",
            reason: Localized::new(
                format!("该签发方的日志与链上记录或见证不一致，无法信任：{conflict}"),
                format!("the issuer's log contradicts the chain or its witnesses and cannot be trusted: {conflict}"),
            ),
        };
    }
    let verified = match inclusion.verify(digest, &log.log_key, &log.witnesses) {
        Ok(verified) => verified,
        Err(e) => return failed(&e),
    };
    if verified.entry.kind() != EntryKind::Issued {
        return AnchoringOutcome::Failed {
            code: "anchoring_not_an_issuance",
            reason: Localized::new(
                "登记证明中的日志条目不是签发记录",
                "the inclusion proof's log entry does not record an issuance",
            ),
        };
    }
    if verified.entry.issuer() != signer && !same_organization(verified.entry.issuer()) {
        return AnchoringOutcome::Failed {
            code: "anchoring_wrong_issuer",
            reason: Localized::new(
                "日志中的该条记录属于另一个签发方",
                "the log records this credential under another issuer",
            ),
        };
    }
    let index = verified.index;
    let anchored = log.anchored.as_ref().filter(|a| a.tree_size >= verified.size);
    let Some(anchor) = anchored else {
        let anchored_size = log.anchored.as_ref().map_or(0, |a| a.tree_size);
        return AnchoringOutcome::Pending {
            code: "anchoring_pending",
            reason: Localized::new(
                format!(
                    "已登记（第 {index} 条），但登记证明晚于核验数据包中最近的链上锚定（{} > {anchored_size} 条）：请更新核验数据包",
                    verified.size
                ),
                format!(
                    "logged (entry {index}), but the inclusion proof is against a tree ({} entries) newer than the \
                     verifier bundle's latest anchor ({anchored_size} entries): update the bundle",
                    verified.size
                ),
            ),
        };
    };
    // Without witnesses, nothing but the chain ties the proof's tree to the
    // log everyone else sees, and the log key is the credential key: a thief
    // of it signs a one-entry "log" holding its forgery, smaller than the
    // anchored tree. So with no witness required, only a proof against the
    // anchored tree itself (same size, same root) shows the credential anchored.
    if anchor.tree_size != verified.size && log.witnesses.threshold() == 0 {
        return AnchoringOutcome::Unknown {
            code: "anchoring_proof_not_at_anchor",
            reason: Localized::new(
                format!(
                    "登记证明针对的日志树（{} 条）既无见证方会签，也不是核验数据包中的链上锚定（{} 条）：请联网更新登记证明或联网核验",
                    verified.size, anchor.tree_size
                ),
                format!(
                    "the inclusion proof is against a tree ({} entries) that no witness cosigned and that is not the \
                     bundle's anchored tree ({} entries): refresh the proof online, or verify online",
                    verified.size, anchor.tree_size
                ),
            ),
        };
    }
    if anchor.tree_size == verified.size && !hashes_equal(&anchor.root, &verified.root) {
        return AnchoringOutcome::Failed {
            code: "anchoring_log_conflict",
            reason: Localized::new(
                "登记证明的检查点与链上锚定的同一规模日志树根不同：日志分叉",
                "the inclusion proof's checkpoint and the anchored tree of the same size have different roots: the \
                 log forked",
            ),
        };
    }
    let mut witnesses: Vec<String> = verified.cosignatures.iter().map(|c| c.witness.clone()).collect();
    witnesses.sort();
    witnesses.dedup();
    AnchoringOutcome::Anchored(AnchorEvidence {
        log: verified.origin,
        index,
        logged_at: verified.entry.at(),
        tree_size: anchor.tree_size,
        chain_id: anchor.chain_id,
        block_number: anchor.block_number,
        block_time: anchor.block_time,
        tx_hash: anchor.tx_hash.clone(),
        witnesses,
    })
}
