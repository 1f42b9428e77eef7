//! The issuance transparency log: RFC 6962 / RFC 9162 Merkle trees, C2SP
//! checkpoints, witness cosignatures and the inclusion bundle wallets keep.
//!
//! Every issuance, status change and issuer-key event becomes a [`LogEntry`]
//! (digests and event types only — never personal data) appended to an
//! append-only Merkle log. This module is the pure, I/O-free core shared by
//!
//! - **the issuer**, which appends entries to a [`MerkleTree`], signs
//!   [`Checkpoint`]s with its [`LogSigner`] (ECDSA P-256, signed-note type
//!   `0x02`), persists leaf hashes and serves proofs and `tlog-tiles` tiles;
//! - **witnesses** (the departments' verifiers), which check consistency with
//!   the last checkpoint they saw and add `cosignature/v1` lines ([`Witness`]);
//! - **wallets and verifiers**, which keep and check an [`InclusionBundle`]
//!   offline against the log's [`LogKey`] and a k-of-n [`WitnessPolicy`].
//!
//! Specifications: RFC 9162 §2.1 (hashing, inclusion and consistency proofs;
//! the same tree as RFC 6962 §2.1), C2SP `signed-note`, `tlog-checkpoint`,
//! `tlog-cosignature` (Ed25519 v1) and `tlog-tiles`.
//!
//! ```
//! use wallet_core::keys::IssuerKey;
//! use wallet_core::transparency::*;
//!
//! let signer = LogSigner::from_issuer_key("log.clinic.example/issuance", &IssuerKey::generate()).unwrap();
//! let mut tree = MerkleTree::new();
//! let entry = LogEntry::issued([7; 32], "did:key:zDnaeExample", 1_700_000_000).unwrap();
//! let index = tree.append(entry.leaf_hash());
//! let note = Checkpoint::new("log.clinic.example/issuance", tree.size(), tree.root()).sign(&signer).unwrap();
//! let checkpoint = signer.log_key().open_checkpoint(&note.to_string()).unwrap();
//! let bundle = InclusionBundle::new(entry, index, &tree, &checkpoint).unwrap();
//! let verified = bundle.verify(&[7; 32], signer.log_key(), &WitnessPolicy::none()).unwrap();
//! assert_eq!(verified.size, 1);
//! ```

mod anchor;
mod audit;
mod bundle;
mod checkpoint;
mod entry;
mod hash;
mod log_key;
mod mirror;
mod note;
mod offline;
mod proof;
mod receipt;
mod serde_hex;
mod tree;
mod witness;

pub use anchor::{
    chain_id, note_digest, read_anchor, rpc_data, rpc_quantity, scan_anchors, AnchorCalldata, AnchorError, ChainAnchor,
    JsonRpc, ANCHOR_ADDRESS, ANCHOR_MAGIC, CALLDATA_LEN,
};
pub use audit::{audit_log, AuditMismatch, AuditReport};
pub use bundle::{BundleError, InclusionBundle, VerifiedInclusion, MAX_BUNDLE_JSON};
pub use checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
pub use entry::{
    credential_digest, credential_digest_with, EntryError, EntryKind, KeyEventKind, LogEntry, StatusListPurpose,
    ENTRY_FORMAT_VERSION, MAX_ISSUER_LEN,
};
pub use hash::{empty_root, hashes_equal, leaf_hash, node_hash, root_from_leaves, Hash, HASH_SIZE};
pub use log_key::{LogKey, LogSigner};
pub use mirror::{AnchorEvidence, AnchoringOutcome, AnchoringPolicy, LogMirror, LogMirrors, MirrorError};
pub use note::{
    signature_type, NoteError, NoteSignature, NoteSigner, NoteVerifier, SignedNote, MAX_NOTE_SIZE, MAX_SIGNATURES,
};
pub use offline::{
    check_inclusion_offline, check_inclusion_offline_signed_by, inclusion_failure_reason, AnchoredLog, BundledAnchor,
    BundledLog,
};
pub use proof::{root_from_inclusion_proof, verify_consistency, verify_inclusion, ProofError};
pub use receipt::{document_digest, AnchorClaim, NotarizationReceipt, ReceiptError, ReceiptVerifier, VerifiedReceipt};
pub use tree::{tile_path, MerkleTree, TILE_HEIGHT, TILE_WIDTH};
pub use witness::{
    verify_cosignatures, Cosignature, Witness, WitnessError, WitnessKey, WitnessPolicy, MAX_COSIGNATURE_TIMESTAMP,
};

/// The Ed25519 key types witnesses (and an Ed25519 log key) use.
pub use ed25519_dalek::{SigningKey as Ed25519SigningKey, VerifyingKey as Ed25519VerifyingKey};
