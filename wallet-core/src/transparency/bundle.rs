//! The wallet's inclusion proof bundle: see [`InclusionBundle`].

use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointError, VerifiedCheckpoint};
use super::entry::LogEntry;
use super::hash::{hashes_equal, Hash};
use super::log_key::LogKey;
use super::note::SignedNote;
use super::proof::{verify_inclusion, ProofError};
use super::serde_hex;
use super::tree::MerkleTree;
use super::witness::{Cosignature, WitnessError, WitnessPolicy};

/// Largest bundle JSON accepted by [`InclusionBundle::from_json`].
pub const MAX_BUNDLE_JSON: usize = 512 * 1024;

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle JSON is malformed.
    #[error("malformed inclusion bundle: {0}")]
    Malformed(String),
    /// The bundle's entry is for another credential.
    #[error("the log entry is for another credential")]
    DigestMismatch,
    /// The checkpoint is malformed, not signed by the log, or another log's.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Not enough (valid) witness cosignatures.
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// The inclusion proof does not verify against the checkpoint.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    /// Building a bundle: the entry is not the tree's leaf at that index.
    #[error("the entry is not the log's leaf at index {0}")]
    EntryNotAtIndex(u64),
}

impl BundleError {
    /// A stable machine-readable code, for verification reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "anchoring_bundle_malformed",
            Self::DigestMismatch => "anchoring_wrong_credential",
            Self::Checkpoint(CheckpointError::WrongOrigin { .. }) => "anchoring_wrong_log",
            Self::Checkpoint(_) => "anchoring_bad_checkpoint",
            Self::Witness(_) => "anchoring_not_witnessed",
            Self::Proof(_) => "anchoring_bad_inclusion_proof",
            Self::EntryNotAtIndex(_) => "anchoring_entry_not_in_log",
        }
    }
}

/// A credential's proof of inclusion in the issuance log: what a wallet
/// keeps next to the credential and a verifier checks offline.
///
/// ```json
/// {
/// "entry": {"kind": {"type": "issued"}, "credentialDigest": "<hex>", "issuer": "did:key:…", "at": 1700000000},
/// "index": 41,
/// "proof": ["<hex>", …],
/// "checkpoint": "<signed checkpoint note, with cosignatures>"
/// }
/// ```
///
/// [`InclusionBundle::verify`] checks, in order: the entry is for the
/// credential (digest), the checkpoint is signed by the log and is the log's
/// (origin), enough witnesses cosigned it, and the entry's leaf is at `index`
/// in the checkpoint's tree. It does **not** check that the checkpoint is
/// recent or consistent with checkpoints seen elsewhere (witnessing is what
/// covers split views); nor that the entry's issuer is the credential's
/// issuer — compare [`VerifiedInclusion::entry`] with the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionBundle {
    /// The log entry (digest, issuer, time — no personal data).
    pub entry: LogEntry,
    /// Its leaf index in the log.
    pub index: u64,
    /// RFC 9162 inclusion proof up to the checkpoint's size.
    #[serde(with = "serde_hex::hashes")]
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, with witness cosignatures.
    pub checkpoint: String,
}

/// What a verified bundle establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedInclusion {
    /// The log.
    pub origin: String,
    /// Size of the checkpoint's tree.
    pub size: u64,
    /// The checkpoint's root.
    pub root: Hash,
    /// The entry's leaf index.
    pub index: u64,
    /// The entry (kind, issuer, time).
    pub entry: LogEntry,
    /// The witness cosignatures that met the policy.
    pub cosignatures: Vec<Cosignature>,
}

impl InclusionBundle {
    /// Build the bundle for the entry at `index` from the issuer's tree and a
    /// signed checkpoint of that tree (at a size above `index`).
    ///
    /// # Errors
    /// [`BundleError::EntryNotAtIndex`] when the tree's leaf differs;
    /// [`BundleError::Proof`] when the checkpoint's size is beyond the tree or
    /// does not cover `index`; [`BundleError::Checkpoint`] for an unreadable
    /// checkpoint.
    pub fn new(
        entry: LogEntry,
        index: u64,
        tree: &MerkleTree,
        checkpoint: &VerifiedCheckpoint,
    ) -> Result<Self, BundleError> {
        match tree.leaf_hash(index) {
            Some(leaf) if hashes_equal(&leaf, &entry.leaf_hash()) => {}
            _ => return Err(BundleError::EntryNotAtIndex(index)),
        }
        let proof = tree.inclusion_proof(index, checkpoint.checkpoint.size)?;
        Ok(Self { entry, index, proof, checkpoint: checkpoint.note.to_string() })
    }

    /// Parse bundle JSON (strict: unknown fields are refused).
    ///
    /// # Errors
    /// [`BundleError::Malformed`].
    pub fn from_json(json: &str) -> Result<Self, BundleError> {
        if json.len() > MAX_BUNDLE_JSON {
            return Err(BundleError::Malformed("too large".into()));
        }
        serde_json::from_str(json).map_err(|e| BundleError::Malformed(e.to_string()))
    }

    /// The bundle as JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and arrays cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Verify offline that the credential whose signed form hashes to
    /// `credential_digest` is in the log of `log_key`, under a checkpoint
    /// cosigned as `policy` requires.
    ///
    /// # Errors
    /// [`BundleError::DigestMismatch`], [`BundleError::Checkpoint`],
    /// [`BundleError::Witness`] or [`BundleError::Proof`].
    pub fn verify(
        &self,
        credential_digest: &Hash,
        log_key: &LogKey,
        policy: &WitnessPolicy,
    ) -> Result<VerifiedInclusion, BundleError> {
        if !hashes_equal(self.entry.credential_digest(), credential_digest) {
            return Err(BundleError::DigestMismatch);
        }
        let VerifiedCheckpoint { checkpoint, note } = log_key.open_checkpoint(&self.checkpoint)?;
        let cosignatures = policy.verify(&note)?;
        verify_inclusion(&self.entry.leaf_hash(), self.index, checkpoint.size, &self.proof, &checkpoint.root)?;
        Ok(VerifiedInclusion {
            origin: checkpoint.origin,
            size: checkpoint.size,
            root: checkpoint.root,
            index: self.index,
            entry: self.entry.clone(),
            cosignatures,
        })
    }

    /// The checkpoint note, parsed (signatures not verified).
    ///
    /// # Errors
    /// [`BundleError::Checkpoint`] when it is not a signed note.
    pub fn checkpoint_note(&self) -> Result<SignedNote, BundleError> {
        SignedNote::parse(&self.checkpoint).map_err(|e| BundleError::Checkpoint(e.into()))
    }
}
