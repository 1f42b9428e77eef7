//! Notarisation receipts: proof that a document (by its SHA-256 digest) was
//! entered in an issuer's log, under a checkpoint anchored on the chain.
//!
//! An archive posts only digests; the log records a [`EntryKind::Notarized`]
//! entry per digest. Once a checkpoint covering it is anchored, the archive
//! fetches a [`NotarizationReceipt`]: the inclusion bundle against exactly the
//! anchored checkpoint, plus where the issuer says it was anchored. Anyone can
//! check it later:
//!
//! - **offline** ([`NotarizationReceipt::verify`]): the file's digest is the
//!   entry's, the checkpoint is signed by the log (and cosigned as the policy
//!   asks), the entry is in that tree, and the anchor claim names that tree;
//! - **online**, in addition: ask one's own chain node about the anchor
//!   transaction ([`super::read_anchor`]) and compare with
//!   [`VerifiedReceipt::size`] / [`VerifiedReceipt::root`]
//!   ([`NotarizationReceipt::confirm_anchor`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::collections::HashMap;

use super::anchor::ChainAnchor;
use super::bundle::{BundleError, InclusionBundle};
use super::entry::EntryKind;
use super::hash::{hashes_equal, Hash};
use super::log_key::LogKey;
use super::proof::verify_inclusion;
use super::witness::WitnessPolicy;

/// SHA-256 of a document's bytes: what is notarised.
pub fn document_digest(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Where the issuer says the receipt's checkpoint was anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnchorClaim {
    /// Chain id.
    pub chain_id: u64,
    /// The anchor transaction.
    pub tx_hash: String,
    /// Its block.
    pub block_number: u64,
    /// The block's time (unix seconds).
    pub block_time: u64,
}

/// A notarisation receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotarizationReceipt {
    /// The `Notarized` entry, its index, the inclusion proof and the anchored checkpoint.
    pub bundle: InclusionBundle,
    /// Where that checkpoint was anchored.
    pub anchor: AnchorClaim,
}

/// What a verified receipt establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The log.
    pub origin: String,
    /// The entry's index.
    pub index: u64,
    /// Who notarised it (the issuer DID recorded in the entry).
    pub notarized_by: String,
    /// When the log recorded it (issuer's clock, unix seconds).
    pub notarized_at: u64,
    /// The anchored tree's size.
    pub size: u64,
    /// The anchored tree's root.
    pub root: Hash,
    /// Where it was anchored (as claimed; see [`NotarizationReceipt::confirm_anchor`]).
    pub anchor: AnchorClaim,
}

/// Why a receipt does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The bundle does not verify (wrong document, bad checkpoint, bad proof…).
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The entry is not a notarisation.
    #[error("the log entry is not a notarisation")]
    NotANotarization,
    /// The chain's anchor is not for the receipt's tree.
    #[error("the anchor on the chain does not record the receipt's tree ({0})")]
    AnchorMismatch(String),
    /// Malformed receipt JSON.
    #[error("malformed receipt: {0}")]
    Malformed(String),
}

impl NotarizationReceipt {
    /// Parse receipt JSON (strict).
    ///
    /// # Errors
    /// [`ReceiptError::Malformed`].
    pub fn from_json(json: &str) -> Result<Self, ReceiptError> {
        if json.len() > super::MAX_BUNDLE_JSON {
            return Err(ReceiptError::Malformed("too large".into()));
        }
        serde_json::from_str(json).map_err(|e| ReceiptError::Malformed(e.to_string()))
    }

    /// Verify offline that the document hashing to `document_digest` was
    /// notarised in the log of `log_key`, under a checkpoint cosigned as
    /// `policy` requires.
    ///
    /// # Errors
    /// [`ReceiptError`].
    pub fn verify(
        &self,
        document_digest: &Hash,
        log_key: &LogKey,
        policy: &WitnessPolicy,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        let verified = self.bundle.verify(document_digest, log_key, policy)?;
        if verified.entry.kind() != EntryKind::Notarized {
            return Err(ReceiptError::NotANotarization);
        }
        Ok(VerifiedReceipt {
            origin: verified.origin,
            index: verified.index,
            notarized_by: verified.entry.issuer().to_owned(),
            notarized_at: verified.entry.at(),
            size: verified.size,
            root: verified.root,
            anchor: self.anchor.clone(),
        })
    }

    /// Compare a verified receipt with the anchor read from one's own chain
    /// node for [`AnchorClaim::tx_hash`].
    ///
    /// # Errors
    /// [`ReceiptError::AnchorMismatch`] naming the difference.
    pub fn confirm_anchor(verified: &VerifiedReceipt, on_chain: &ChainAnchor) -> Result<(), ReceiptError> {
        if on_chain.calldata.tree_size != verified.size {
            return Err(ReceiptError::AnchorMismatch(format!(
                "anchored size {}, receipt size {}",
                on_chain.calldata.tree_size, verified.size
            )));
        }
        if !hashes_equal(&on_chain.calldata.root, &verified.root) {
            return Err(ReceiptError::AnchorMismatch("another root".into()));
        }
        if on_chain.chain_id != verified.anchor.chain_id || on_chain.block_number != verified.anchor.block_number {
            return Err(ReceiptError::AnchorMismatch(format!(
                "chain {} block {} on the node, chain {} block {} in the receipt",
                on_chain.chain_id, on_chain.block_number, verified.anchor.chain_id, verified.anchor.block_number
            )));
        }
        // The time is what a receipt is shown for: an edited claim dated
        // earlier must not "confirm" because size, root and block agree.
        if on_chain.block_time != verified.anchor.block_time {
            return Err(ReceiptError::AnchorMismatch(format!(
                "block time {} on the node, {} in the receipt",
                on_chain.block_time, verified.anchor.block_time
            )));
        }
        Ok(())
    }
}

/// Verifies many receipts of one log, checking each distinct checkpoint's
/// signatures once (an archive's receipts share a handful of anchored
/// checkpoints): per receipt, then, only a digest comparison and an inclusion
/// proof.
pub struct ReceiptVerifier<'a> {
    log_key: &'a LogKey,
    policy: &'a WitnessPolicy,
    checkpoints: HashMap<String, (u64, Hash, String)>,
}

impl<'a> ReceiptVerifier<'a> {
    /// A verifier for receipts of the log of `log_key`, cosigned as `policy` asks.
    pub fn new(log_key: &'a LogKey, policy: &'a WitnessPolicy) -> Self {
        Self { log_key, policy, checkpoints: HashMap::new() }
    }

    /// As [`NotarizationReceipt::verify`].
    ///
    /// # Errors
    /// [`ReceiptError`].
    pub fn verify(
        &mut self,
        receipt: &NotarizationReceipt,
        document_digest: &Hash,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        let bundle = &receipt.bundle;
        let Some((size, root, origin)) = self.checkpoints.get(&bundle.checkpoint).cloned() else {
            let verified = receipt.verify(document_digest, self.log_key, self.policy)?;
            self.checkpoints.insert(bundle.checkpoint.clone(), (verified.size, verified.root, verified.origin.clone()));
            return Ok(verified);
        };
        if !hashes_equal(bundle.entry.credential_digest(), document_digest) {
            return Err(ReceiptError::Bundle(BundleError::DigestMismatch));
        }
        if bundle.entry.kind() != EntryKind::Notarized {
            return Err(ReceiptError::NotANotarization);
        }
        verify_inclusion(&bundle.entry.leaf_hash(), bundle.index, size, &bundle.proof, &root)
            .map_err(|e| ReceiptError::Bundle(BundleError::Proof(e)))?;
        Ok(VerifiedReceipt {
            origin,
            index: bundle.index,
            notarized_by: bundle.entry.issuer().to_owned(),
            notarized_at: bundle.entry.at(),
            size,
            root,
            anchor: receipt.anchor.clone(),
        })
    }
}
