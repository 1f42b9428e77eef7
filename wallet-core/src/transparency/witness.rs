//! Witness cosigning (C2SP `tlog-cosignature`): see [`Witness`].

use ed25519_dalek::Signer as _;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::hash::Hash;
use super::log_key::LogKey;
use super::note::{
    check_key_name, format_vkey, key_id, parse_vkey, signature_type, NoteError, NoteSignature, NoteVerifier, SignedNote,
};
use super::proof::{verify_consistency, ProofError};

/// Largest timestamp a cosignature may carry (C2SP: at most 2^63 - 1).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;

/// Why a witness refused to cosign, or cosignatures failed a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The offered checkpoint is malformed, not signed by the log, or for
    /// another log.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The offered checkpoint is smaller than the one the witness holds.
    #[error("the checkpoint (size {offered}) is older than the witness's latest (size {latest})")]
    Rollback {
        /// Size of the witness's latest checkpoint.
        latest: u64,
        /// Size of the offered checkpoint.
        offered: u64,
    },
    /// The offered checkpoint does not extend the witness's latest one: the
    /// log forked (or the proof is wrong). Keep both checkpoints as evidence.
    #[error("the checkpoint is not consistent with the witness's latest: {0}")]
    Inconsistent(ProofError),
    /// The witness's clock is past the largest representable timestamp.
    #[error("timestamp out of range")]
    TimestampOutOfRange,
    /// A cosignature from a configured witness does not verify.
    #[error("the cosignature by {name} does not verify")]
    InvalidCosignature {
        /// The witness's key name.
        name: String,
    },
    /// Fewer valid cosignatures than the policy requires.
    #[error("{got} valid witness cosignatures, {want} required")]
    QuorumNotMet {
        /// Distinct configured witnesses with a valid cosignature.
        got: usize,
        /// The policy's threshold.
        want: usize,
    },
    /// A threshold larger than the number of (distinct) witnesses.
    #[error("threshold {threshold} exceeds the {witnesses} distinct witnesses")]
    InvalidPolicy {
        /// The threshold asked for.
        threshold: usize,
        /// Distinct witnesses configured.
        witnesses: usize,
    },
    /// Two different keys under one witness name, or one key under two
    /// names: a mirror records which witnesses cosigned by name, so one
    /// witness would count as two.
    #[error("witness {name} shares its name or its key with a differently configured witness")]
    SharedName {
        /// The name.
        name: String,
    },
    /// A note error (signing, too many signatures).
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A witness's public cosigning key, as configured in verifiers' policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    name: String,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl WitnessKey {
    /// The key of witness `name` (a schema-less URL, e.g. `witness.health.example/w1`).
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn new(name: impl Into<String>, key: ed25519_dalek::VerifyingKey) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        let key_id = key_id(&name, signature_type::COSIGNATURE_V1, key.as_bytes());
        Ok(Self { name, key_id, key })
    }

    /// Parse a verifier key string `<name>+<key id>+<base64(0x04 ‖ 32-byte key)>`.
    ///
    /// # Errors
    /// [`NoteError::InvalidVerifierKey`] when malformed, of another type or
    /// with a key ID that does not match.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, claimed_id, kind, key) = parse_vkey(vkey)?;
        if kind != signature_type::COSIGNATURE_V1 {
            return Err(NoteError::InvalidVerifierKey("not a cosignature/v1 (0x04) key"));
        }
        let bytes: [u8; 32] = key.try_into().map_err(|_| NoteError::InvalidVerifierKey("key is not 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::InvalidVerifierKey("invalid Ed25519 key"))?;
        let parsed = Self::new(name, key)?;
        if parsed.key_id != claimed_id {
            return Err(NoteError::InvalidVerifierKey("key ID does not match the key"));
        }
        Ok(parsed)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        format_vkey(&self.name, self.key_id, signature_type::COSIGNATURE_V1, self.key.as_bytes())
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The timestamp of `signature` (the bytes after the key ID) if it is a
    /// valid cosignature by this key over the checkpoint `text`.
    pub fn verify_cosignature(&self, text: &str, signature: &[u8]) -> Option<u64> {
        if signature.len() != 8 + 64 {
            return None;
        }
        let (time, sig) = signature.split_at(8);
        let timestamp = u64::from_be_bytes(time.try_into().ok()?);
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return None;
        }
        let sig = ed25519_dalek::Signature::from_slice(sig).ok()?;
        let message = cosigned_message(text, timestamp);
        self.key.verify_strict(message.as_bytes(), &sig).ok().map(|()| timestamp)
    }
}

impl NoteVerifier for WitnessKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        self.verify_cosignature(text, signature).is_some()
    }
}

/// The message an Ed25519 `cosignature/v1` signs.
fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A verified cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's name.
    pub witness: String,
    /// When it cosigned (seconds since the Unix epoch).
    pub timestamp: u64,
}

/// Check that at least `k` distinct witnesses among `witnesses` cosigned the
/// note. Cosignatures from unknown keys are ignored; a configured witness's
/// cosignature that fails to verify rejects the note. Witnesses configured
/// twice (same key) count once.
///
/// This checks the cosignatures only: verify the log's own signature with
/// [`LogKey::open_checkpoint`].
///
/// # Errors
/// [`WitnessError::InvalidCosignature`] or [`WitnessError::QuorumNotMet`].
pub fn verify_cosignatures(
    note: &SignedNote,
    witnesses: &[WitnessKey],
    k: usize,
) -> Result<Vec<Cosignature>, WitnessError> {
    let mut found: Vec<(&WitnessKey, u64)> = Vec::new();
    for signature in note.signatures() {
        for witness in witnesses {
            if !signature.is_by(witness) {
                continue;
            }
            let timestamp = witness
                .verify_cosignature(note.text(), signature.signature())
                .ok_or_else(|| WitnessError::InvalidCosignature { name: witness.name.clone() })?;
            // One vote per public key, however often it is configured or signs.
            if !found.iter().any(|(seen, _)| seen.key == witness.key) {
                found.push((witness, timestamp));
            }
        }
    }
    if found.len() < k {
        return Err(WitnessError::QuorumNotMet { got: found.len(), want: k });
    }
    Ok(found.into_iter().map(|(w, timestamp)| Cosignature { witness: w.name.clone(), timestamp }).collect())
}

/// A verifier's witness policy: `threshold` of these witnesses must cosign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    witnesses: Vec<WitnessKey>,
    threshold: usize,
}

impl WitnessPolicy {
    /// `threshold`-of-`witnesses`.
    ///
    /// # Errors
    /// [`WitnessError::InvalidPolicy`] when the threshold exceeds the number
    /// of distinct witness keys.
    pub fn new(witnesses: Vec<WitnessKey>, threshold: usize) -> Result<Self, WitnessError> {
        if let Some(shared) =
            witnesses.iter().find(|w| witnesses.iter().any(|other| (other.name == w.name) != (other.key == w.key)))
        {
            return Err(WitnessError::SharedName { name: shared.name.clone() });
        }
        let mut distinct: Vec<&ed25519_dalek::VerifyingKey> = Vec::new();
        for witness in &witnesses {
            if !distinct.contains(&&witness.key) {
                distinct.push(&witness.key);
            }
        }
        if threshold > distinct.len() {
            return Err(WitnessError::InvalidPolicy { threshold, witnesses: distinct.len() });
        }
        Ok(Self { witnesses, threshold })
    }

    /// No witnessing required (the log's signature alone). Only for tests
    /// and for logs not yet witnessed: it does not protect against split views.
    pub fn none() -> Self {
        Self { witnesses: Vec::new(), threshold: 0 }
    }

    /// The configured witnesses.
    pub fn witnesses(&self) -> &[WitnessKey] {
        &self.witnesses
    }

    /// How many must cosign.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// [`verify_cosignatures`] with this policy.
    ///
    /// # Errors
    /// As [`verify_cosignatures`].
    pub fn verify(&self, note: &SignedNote) -> Result<Vec<Cosignature>, WitnessError> {
        verify_cosignatures(note, &self.witnesses, self.threshold)
    }
}

/// A witness: its cosigning key and the latest checkpoint it cosigned for one
/// log. Persist [`Witness::latest`] and restore it with
/// [`Witness::with_latest`]; a witness that forgets its state can be made to
/// cosign a fork.
///
/// Cosignatures are C2SP `tlog-cosignature` (<https://c2sp.org/tlog-cosignature>)
/// Ed25519 `cosignature/v1`.
///
/// A witness (a department's verifier) keeps the latest checkpoint it has
/// cosigned for the log. Offered a newer checkpoint and a consistency proof
/// from its latest one, it checks the log's signature and the proof, and only
/// then adds a cosignature: a signed-note line by key type `0x04` whose
/// signature is `u64 timestamp ‖ Ed25519 signature` over
///
/// ```text
/// cosignature/v1
/// time <timestamp>
/// <checkpoint text>
/// ```
///
/// A v1 cosignature states "as of this time, this is the largest consistent
/// tree I have seen for this log". Verifiers require `k` of their configured
/// `n` witnesses ([`WitnessPolicy`]), which defeats split views: a log showing
/// different trees to different parties would need `k` witnesses to lie.
#[derive(Clone)]
pub struct Witness {
    key: WitnessKey,
    signing_key: ed25519_dalek::SigningKey,
    log: LogKey,
    latest: Option<Checkpoint>,
    last_timestamp: u64,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.key.name)
            .field("log", &self.log.origin())
            .field("latest", &self.latest.as_ref().map(|c| c.size))
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// Witness `name` of `log`, with no checkpoint seen yet (it will accept
    /// the first correctly signed checkpoint it is offered).
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn new(
        name: impl Into<String>,
        signing_key: ed25519_dalek::SigningKey,
        log: LogKey,
    ) -> Result<Self, NoteError> {
        let key = WitnessKey::new(name, signing_key.verifying_key())?;
        Ok(Self { key, signing_key, log, latest: None, last_timestamp: 0 })
    }

    /// Restore the latest checkpoint this witness cosigned (from storage).
    pub fn with_latest(mut self, checkpoint: Checkpoint) -> Self {
        self.latest = Some(checkpoint);
        self
    }

    /// The public key verifiers configure.
    pub fn key(&self) -> &WitnessKey {
        &self.key
    }

    /// The latest checkpoint cosigned.
    pub fn latest(&self) -> Option<&Checkpoint> {
        self.latest.as_ref()
    }

    /// Check and cosign a checkpoint.
    ///
    /// `consistency_proof` proves the offered checkpoint extends the latest
    /// one this witness holds (empty for the first checkpoint or an equal
    /// size). On success the offered checkpoint becomes the latest, and the
    /// returned line is to be appended to the note. `now` is the witness's
    /// clock in seconds; the timestamp never goes backwards.
    ///
    /// # Errors
    /// [`WitnessError::Checkpoint`] (not signed by the log, wrong origin,
    /// malformed), [`WitnessError::Rollback`], [`WitnessError::Inconsistent`]
    /// (a fork: the same size with another root, or a proof that fails) or
    /// [`WitnessError::TimestampOutOfRange`].
    pub fn cosign(
        &mut self,
        signed_checkpoint: &str,
        consistency_proof: &[Hash],
        now: u64,
    ) -> Result<NoteSignature, WitnessError> {
        let verified = self.log.open_checkpoint(signed_checkpoint)?;
        let offered = verified.checkpoint;
        if let Some(latest) = &self.latest {
            if offered.size < latest.size {
                return Err(WitnessError::Rollback { latest: latest.size, offered: offered.size });
            }
            // Equal sizes need equal roots and an empty proof.
            verify_consistency(latest.size, offered.size, consistency_proof, &latest.root, &offered.root)
                .map_err(WitnessError::Inconsistent)?;
        }
        let timestamp = now.max(self.last_timestamp);
        if timestamp > MAX_COSIGNATURE_TIMESTAMP {
            return Err(WitnessError::TimestampOutOfRange);
        }
        let message = cosigned_message(verified.note.text(), timestamp);
        let signature = self.signing_key.sign(message.as_bytes());
        let mut bytes = Vec::with_capacity(72);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        let line = NoteSignature::new(self.key.name.clone(), self.key.key_id, bytes)?;
        self.latest = Some(offered);
        self.last_timestamp = timestamp;
        Ok(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_transparency_dev_cosignature_vector() {
        // transparency-dev/formats note/note_cosigv1_test.go: a cosignature
        // line's base64 with timestamp 1727964367 after the 4-byte key ID.
        let line = "\u{2014} w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
        let signature = NoteSignature::parse_line(line).unwrap();
        assert_eq!(signature.signature().len(), 72);
        assert_eq!(u64::from_be_bytes(signature.signature()[..8].try_into().unwrap()), 1_727_964_367);
    }

    #[test]
    fn policy_threshold_is_bounded_by_distinct_keys() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let a = WitnessKey::new("a.example/w", key).unwrap();
        let b = WitnessKey::new("b.example/w", key).unwrap();
        assert!(WitnessPolicy::new(vec![a.clone(), b], 2).is_err());
        assert!(WitnessPolicy::new(vec![a.clone()], 1).is_ok());
        assert_eq!(WitnessKey::from_vkey(&a.to_vkey()).unwrap(), a);
    }
}
