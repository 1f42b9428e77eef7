//! Log entries: what the issuance log records about each event.

use serde::{Deserialize, Serialize};

use super::hash::{leaf_hash, Hash};
use super::serde_hex;

/// Version byte of the entry encoding produced by [`LogEntry::encode`].
pub const ENTRY_FORMAT_VERSION: u8 = 1;
/// Longest issuer identifier accepted, in bytes.
pub const MAX_ISSUER_LEN: usize = 1024;

/// Which status list a status change was recorded in (mirrors the Bitstring
/// Status List purposes the issuer publishes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StatusListPurpose {
    /// Revocation (final).
    Revocation,
    /// Suspension (reversible).
    Suspension,
    /// Single use: the credential was used (e.g. an invoice reimbursed). Final.
    Used,
}

/// What happened to an issuer key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyEventKind {
    /// The key started signing.
    Activated,
    /// The key was replaced by a successor (its past signatures stay valid).
    Rotated,
    /// The key stopped signing (its past signatures stay valid).
    Retired,
    /// The key was compromised: signatures logged after this entry are void.
    Compromised,
}

/// The event an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EntryKind {
    /// A credential was issued.
    Issued,
    /// A credential's status bit changed.
    StatusChanged {
        /// The status list the bit is in.
        purpose: StatusListPurpose,
        /// The new value of the bit (`true`: revoked / suspended / used).
        value: bool,
    },
    /// An issuer key event; `credential_digest` is then the digest of the
    /// key's identifier (e.g. SHA-256 of its `did:key`).
    KeyEvent {
        /// What happened to the key.
        kind: KeyEventKind,
    },
    /// A document was notarised: `credential_digest` is the SHA-256 of the
    /// document's bytes (the document itself never leaves its owner).
    Notarized,
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The issuer is empty, longer than [`MAX_ISSUER_LEN`] bytes or contains
    /// control characters.
    #[error("invalid issuer identifier: {0}")]
    InvalidIssuer(&'static str),
    /// The bytes are not a version-1 entry.
    #[error("malformed log entry: {0}")]
    Malformed(&'static str),
}

/// One event in the issuance log.
///
/// Fields are private so that every value is valid (constructors and
/// deserialisation check the issuer), which makes [`LogEntry::encode`] and
/// [`LogEntry::leaf_hash`] infallible.
///
/// An entry holds **digests and event types only, never personal data**: the
/// kind of event, the SHA-256 digest of the signed credential (computed by the
/// caller over the credential's canonical form, so the log never sees the
/// credential), the issuer's DID and a timestamp. Someone holding the log
/// learns how many credentials an issuer signed and when, not for whom.
///
/// ## Canonical encoding, version 1
/// The leaf data is a fixed binary layout (all integers big-endian):
///
/// ```text
/// u8      version = 0x01
/// u8      kind: 0x01 issued | 0x02 status changed | 0x03 key event
/// status changed: u8 purpose (0x01 revocation | 0x02 suspension | 0x03 used)
/// u8 value   (0x00 cleared | 0x01 set)
/// key event:      u8 event   (0x01 activated | 0x02 rotated |
/// 0x03 retired   | 0x04 compromised)
/// [32]    credential digest
/// u16     issuer length (1..=1024), then the issuer DID in UTF-8
/// u64     at: seconds since the Unix epoch
/// ```
///
/// The leaf hash is `SHA-256(0x00 ‖ encoding)` (RFC 9162 §2.1.1). Decoding is
/// strict: one byte string per entry, anything else is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawEntry")]
pub struct LogEntry {
    kind: EntryKind,
    #[serde(with = "serde_hex::hash")]
    credential_digest: Hash,
    issuer: String,
    at: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEntry {
    kind: EntryKind,
    #[serde(with = "serde_hex::hash")]
    credential_digest: Hash,
    issuer: String,
    at: u64,
}

impl TryFrom<RawEntry> for LogEntry {
    type Error = EntryError;
    fn try_from(raw: RawEntry) -> Result<Self, Self::Error> {
        LogEntry::new(raw.kind, raw.credential_digest, raw.issuer, raw.at)
    }
}

/// SHA-256 of the RDFC-1.0 canonical N-Quads of a **signed** credential
/// (proof included): the `credentialDigest` its issuer logs and any verifier
/// recomputes from the credential alone (independent of JSON key order and
/// whitespace).
///
/// # Errors
/// When the credential cannot be canonicalised.
pub async fn credential_digest(signed: &serde_json::Value) -> Result<Hash, crate::canonical::CanonicalizationError> {
    credential_digest_with(&crate::credential_type::TypeRegistry::default().loader(), signed).await
}

/// [`credential_digest`] with the contexts `loader` knows (a
/// [`TypeRegistry::loader`](crate::credential_type::TypeRegistry::loader)).
///
/// # Errors
/// When the credential cannot be canonicalised.
pub async fn credential_digest_with(
    loader: &crate::contexts::BundledLoader,
    signed: &serde_json::Value,
) -> Result<Hash, crate::canonical::CanonicalizationError> {
    use sha2::Digest as _;
    let nquads = crate::canonical::canonical_nquads_with(loader, signed).await?;
    Ok(sha2::Sha256::digest(nquads.as_bytes()).into())
}

impl LogEntry {
    /// An entry.
    ///
    /// `credential_digest` is the SHA-256 digest of the **signed**
    /// credential's canonical form (for key events: of the key's identifier),
    /// computed by the caller; `issuer` is the issuer's DID; `at` is seconds
    /// since the Unix epoch.
    ///
    /// # Errors
    /// [`EntryError::InvalidIssuer`] when the issuer is empty, longer than
    /// [`MAX_ISSUER_LEN`] bytes or contains control characters.
    pub fn new(
        kind: EntryKind,
        credential_digest: Hash,
        issuer: impl Into<String>,
        at: u64,
    ) -> Result<Self, EntryError> {
        let issuer = issuer.into();
        check_issuer(&issuer)?;
        Ok(Self { kind, credential_digest, issuer, at })
    }

    /// An [`EntryKind::Issued`] entry.
    ///
    /// # Errors
    /// As [`LogEntry::new`].
    pub fn issued(credential_digest: Hash, issuer: impl Into<String>, at: u64) -> Result<Self, EntryError> {
        Self::new(EntryKind::Issued, credential_digest, issuer, at)
    }

    /// The event.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// SHA-256 of the signed credential (or of the key, for key events).
    pub fn credential_digest(&self) -> &Hash {
        &self.credential_digest
    }

    /// The issuer's DID.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// When, in seconds since the Unix epoch.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// The canonical version-1 encoding (the Merkle leaf data).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 2 + 32 + 2 + self.issuer.len() + 8);
        out.push(ENTRY_FORMAT_VERSION);
        match self.kind {
            EntryKind::Issued => out.push(0x01),
            EntryKind::StatusChanged { purpose, value } => {
                out.push(0x02);
                out.push(match purpose {
                    StatusListPurpose::Revocation => 0x01,
                    StatusListPurpose::Suspension => 0x02,
                    StatusListPurpose::Used => 0x03,
                });
                out.push(u8::from(value));
            }
            EntryKind::KeyEvent { kind } => {
                out.push(0x03);
                out.push(match kind {
                    KeyEventKind::Activated => 0x01,
                    KeyEventKind::Rotated => 0x02,
                    KeyEventKind::Retired => 0x03,
                    KeyEventKind::Compromised => 0x04,
                });
            }
            EntryKind::Notarized => out.push(0x04),
        }
        out.extend_from_slice(&self.credential_digest);
        // check_issuer bounds the length to MAX_ISSUER_LEN < u16::MAX.
        out.extend_from_slice(&(self.issuer.len() as u16).to_be_bytes());
        out.extend_from_slice(self.issuer.as_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        out
    }

    /// Parse a canonical version-1 encoding.
    ///
    /// # Errors
    /// [`EntryError::Malformed`] for anything but exactly one valid entry;
    /// [`EntryError::InvalidIssuer`] for an invalid issuer.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let mut r = Reader(bytes);
        if r.u8()? != ENTRY_FORMAT_VERSION {
            return Err(EntryError::Malformed("unsupported version"));
        }
        let kind = match r.u8()? {
            0x01 => EntryKind::Issued,
            0x02 => {
                let purpose = match r.u8()? {
                    0x01 => StatusListPurpose::Revocation,
                    0x02 => StatusListPurpose::Suspension,
                    0x03 => StatusListPurpose::Used,
                    _ => return Err(EntryError::Malformed("unknown status purpose")),
                };
                let value = match r.u8()? {
                    0x00 => false,
                    0x01 => true,
                    _ => return Err(EntryError::Malformed("status value is not 0 or 1")),
                };
                EntryKind::StatusChanged { purpose, value }
            }
            0x03 => EntryKind::KeyEvent {
                kind: match r.u8()? {
                    0x01 => KeyEventKind::Activated,
                    0x02 => KeyEventKind::Rotated,
                    0x03 => KeyEventKind::Retired,
                    0x04 => KeyEventKind::Compromised,
                    _ => return Err(EntryError::Malformed("unknown key event")),
                },
            },
            0x04 => EntryKind::Notarized,
            _ => return Err(EntryError::Malformed("unknown entry kind")),
        };
        let digest: Hash = r.take(32)?.try_into().map_err(|_| EntryError::Malformed("truncated"))?;
        let issuer_len = u16::from_be_bytes(r.take(2)?.try_into().map_err(|_| EntryError::Malformed("truncated"))?);
        let issuer = std::str::from_utf8(r.take(usize::from(issuer_len))?)
            .map_err(|_| EntryError::InvalidIssuer("not UTF-8"))?
            .to_owned();
        let at = u64::from_be_bytes(r.take(8)?.try_into().map_err(|_| EntryError::Malformed("truncated"))?);
        if !r.0.is_empty() {
            return Err(EntryError::Malformed("trailing bytes"));
        }
        Self::new(kind, digest, issuer, at)
    }

    /// The Merkle leaf hash of this entry: `SHA-256(0x00 ‖ encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

fn check_issuer(issuer: &str) -> Result<(), EntryError> {
    if issuer.is_empty() {
        return Err(EntryError::InvalidIssuer("empty"));
    }
    if issuer.len() > MAX_ISSUER_LEN {
        return Err(EntryError::InvalidIssuer("too long"));
    }
    if issuer.chars().any(char::is_control) {
        return Err(EntryError::InvalidIssuer("control character"));
    }
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError::Malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, EntryError> {
        self.take(1)?.first().copied().ok_or(EntryError::Malformed("truncated"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_stable() {
        let entry = LogEntry::issued([0xab; 32], "did:key:zDnExample", 1_700_000_000).unwrap();
        let bytes = entry.encode();
        let mut expected = vec![1, 1];
        expected.extend_from_slice(&[0xab; 32]);
        expected.extend_from_slice(&[0, 18]);
        expected.extend_from_slice(b"did:key:zDnExample");
        expected.extend_from_slice(&1_700_000_000u64.to_be_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(LogEntry::decode(&bytes).unwrap(), entry);
    }

    #[test]
    fn a_use_round_trips_with_its_own_purpose_byte() {
        let entry = LogEntry::new(
            EntryKind::StatusChanged { purpose: StatusListPurpose::Used, value: true },
            [7; 32],
            "did:web:clinic.example",
            9,
        )
        .unwrap();
        let bytes = entry.encode();
        assert_eq!(&bytes[1..4], &[0x02, 0x03, 0x01]);
        assert_eq!(LogEntry::decode(&bytes).unwrap(), entry);
    }

    #[test]
    fn decoding_is_strict() {
        let entry = LogEntry::new(
            EntryKind::StatusChanged { purpose: StatusListPurpose::Suspension, value: true },
            [1; 32],
            "did:web:clinic.example",
            5,
        )
        .unwrap();
        let bytes = entry.encode();
        assert_eq!(LogEntry::decode(&bytes).unwrap(), entry);
        for cut in 0..bytes.len() {
            assert!(LogEntry::decode(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(LogEntry::decode(&longer).is_err());
        let mut bad_value = bytes.clone();
        bad_value[3] = 2;
        assert!(LogEntry::decode(&bad_value).is_err());
        let mut bad_version = bytes;
        bad_version[0] = 2;
        assert!(LogEntry::decode(&bad_version).is_err());
        assert!(LogEntry::issued([0; 32], "", 0).is_err());
        assert!(LogEntry::issued([0; 32], "did:x\n", 0).is_err());
        assert!(LogEntry::issued([0; 32], "d".repeat(MAX_ISSUER_LEN + 1), 0).is_err());
    }

    #[test]
    fn json_round_trip_and_validation() {
        let entry =
            LogEntry::new(EntryKind::KeyEvent { kind: KeyEventKind::Rotated }, [9; 32], "did:key:zDnA", 7).unwrap();
        let json = serde_json::to_string(&entry).unwrap();
        assert!(json.contains("\"type\":\"keyEvent\""), "{json}");
        assert_eq!(serde_json::from_str::<LogEntry>(&json).unwrap(), entry);
        let bad = json.replace("did:key:zDnA", "");
        assert!(serde_json::from_str::<LogEntry>(&bad).is_err());
        let extra = json.replacen('{', "{\"name\":\"x\",", 1);
        assert!(serde_json::from_str::<LogEntry>(&extra).is_err());
    }
}
