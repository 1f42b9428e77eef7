//! C2SP `signed-note`: see [`SignedNote`].

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Largest note accepted by [`SignedNote::parse`], in bytes.
pub const MAX_NOTE_SIZE: usize = 256 * 1024;
/// Most signature lines accepted by [`SignedNote::parse`] (the spec requires
/// accepting at least 16).
pub const MAX_SIGNATURES: usize = 64;

/// Signature type bytes assigned by C2SP `signed-note` and `tlog-cosignature`.
pub mod signature_type {
    /// Ed25519 note signature.
    pub const ED25519: u8 = 0x01;
    /// ECDSA signature over SHA-256 of the text, as `transparency-dev/witness`
    /// and Sigstore's Rekor use (key ID: first 4 bytes of SHA-256 of the
    /// DER SubjectPublicKeyInfo).
    pub const ECDSA: u8 = 0x02;
    /// Timestamped Ed25519 witness cosignature (`cosignature/v1`).
    pub const COSIGNATURE_V1: u8 = 0x04;
}

/// Why a note, a signature line or a verifier key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("the note is larger than {MAX_NOTE_SIZE} bytes")]
    TooLarge,
    /// The note is not valid UTF-8.
    #[error("the note is not valid UTF-8")]
    NotUtf8,
    /// The note contains a control character other than newline.
    #[error("the note contains a control character other than newline")]
    ControlCharacter,
    /// The note text is empty or does not end in a newline.
    #[error("the note text must be non-empty and end with a newline")]
    InvalidText,
    /// There is no blank line followed by signature lines.
    #[error("the note has no signatures")]
    MissingSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line: {0}")]
    MalformedSignatureLine(&'static str),
    /// A key name is empty or contains spaces or `+`.
    #[error("invalid key name")]
    InvalidKeyName,
    /// A verifier key string (`<name>+<key id>+<base64 key>`) is malformed.
    #[error("invalid verifier key: {0}")]
    InvalidVerifierKey(&'static str),
    /// A signature from a known key does not verify: the note is rejected.
    #[error("the signature by {name} does not verify")]
    InvalidSignature {
        /// The key name of the failing signature.
        name: String,
    },
    /// No signature from any of the given keys.
    #[error("the note is not signed by any known key")]
    NoKnownSignature,
    /// Producing a signature failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Something that can check note signatures for one key.
pub trait NoteVerifier {
    /// The key name the signature lines carry.
    fn name(&self) -> &str;
    /// The 32-bit key ID.
    fn key_id(&self) -> u32;
    /// Whether `signature` (the bytes after the key ID) is valid over the
    /// note `text` (including its final newline).
    fn verify(&self, text: &str, signature: &[u8]) -> bool;
}

/// Something that can sign notes.
pub trait NoteSigner {
    /// The key name the signature line carries.
    fn name(&self) -> &str;
    /// The 32-bit key ID.
    fn key_id(&self) -> u32;
    /// The signature bytes (without the key ID) over `text`.
    ///
    /// # Errors
    /// [`NoteError::Signing`] when the signer fails.
    fn sign(&self, text: &str) -> Result<Vec<u8>, NoteError>;
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature by key `name` / `key_id`; `signature` excludes the key ID.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`], or [`NoteError::MalformedSignatureLine`]
    /// for an empty signature.
    pub fn new(name: impl Into<String>, key_id: u32, signature: Vec<u8>) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        if signature.is_empty() {
            return Err(NoteError::MalformedSignatureLine("empty signature"));
        }
        Ok(Self { name, key_id, signature })
    }

    /// Parse one line `— <name> <base64>` (without the final newline).
    ///
    /// # Errors
    /// [`NoteError::MalformedSignatureLine`] or [`NoteError::InvalidKeyName`].
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest =
            line.strip_prefix("\u{2014} ").ok_or(NoteError::MalformedSignatureLine("does not start with '— '"))?;
        let (name, encoded) = rest.split_once(' ').ok_or(NoteError::MalformedSignatureLine("no signature"))?;
        check_key_name(name)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| NoteError::MalformedSignatureLine("invalid base64"))?;
        let [a, b, c, d, ref signature @ ..] = *bytes else {
            return Err(NoteError::MalformedSignatureLine("signature too short"));
        };
        if signature.is_empty() {
            return Err(NoteError::MalformedSignatureLine("signature too short"));
        }
        Ok(Self { name: name.to_owned(), key_id: u32::from_be_bytes([a, b, c, d]), signature: signature.to_vec() })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes (after the key ID).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Whether this line claims to be by `verifier`'s key (name and key ID).
    pub fn is_by<V: NoteVerifier + ?Sized>(&self, verifier: &V) -> bool {
        self.name == verifier.name() && self.key_id == verifier.key_id()
    }

    /// The line `— <name> <base64(key id ‖ signature)>\n`.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(bytes))
    }
}

/// A note, C2SP `signed-note` (<https://c2sp.org/signed-note>): text and
/// the signature lines of one or more keys.
///
/// ```text
/// <text, ending in a newline>
///
/// — <key name> <base64(4-byte key ID ‖ signature)>
/// ```
///
/// Parsing is strict and never panics: valid UTF-8 only, no control
/// characters except newline, at most [`MAX_NOTE_SIZE`] bytes and
/// [`MAX_SIGNATURES`] signature lines, key names non-empty without spaces or
/// `+`, canonical padded standard base64. Verification follows the spec:
/// signatures from unknown keys (name *and* key ID must match) are ignored, a
/// known key whose signature fails rejects the whole note, and at least one
/// known key must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// An unsigned note with `text` (which must end with a newline); add
    /// signatures with [`SignedNote::sign`] or [`SignedNote::add_signature`].
    ///
    /// # Errors
    /// [`NoteError::InvalidText`], [`NoteError::ControlCharacter`] or
    /// [`NoteError::TooLarge`].
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        if text.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge);
        }
        check_characters(&text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::InvalidText);
        }
        Ok(Self { text, signatures: Vec::new() })
    }

    /// Parse a signed note from bytes.
    ///
    /// # Errors
    /// As [`SignedNote::parse`], plus [`NoteError::NotUtf8`].
    pub fn parse_bytes(input: &[u8]) -> Result<Self, NoteError> {
        if input.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge);
        }
        Self::parse(std::str::from_utf8(input).map_err(|_| NoteError::NotUtf8)?)
    }

    /// Parse a signed note. The text is everything up to the **last** blank
    /// line; after it come one or more signature lines, each ending in a
    /// newline.
    ///
    /// # Errors
    /// Any [`NoteError`] describing the first problem found. Signatures are
    /// not verified here.
    pub fn parse(input: &str) -> Result<Self, NoteError> {
        if input.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge);
        }
        check_characters(input)?;
        let split = input.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let text = &input[..=split];
        let block = &input[split + 2..];
        if block.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let block = block.strip_suffix('\n').ok_or(NoteError::MalformedSignatureLine("no final newline"))?;
        let mut signatures = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Self { text: text.to_owned(), signatures })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Append a signature line (for example a witness cosignature).
    ///
    /// # Errors
    /// [`NoteError::TooManySignatures`] past [`MAX_SIGNATURES`].
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Sign the text with `signer` and append the signature line.
    ///
    /// # Errors
    /// [`NoteError::Signing`], [`NoteError::InvalidKeyName`] or
    /// [`NoteError::TooManySignatures`].
    pub fn sign<S: NoteSigner + ?Sized>(&mut self, signer: &S) -> Result<(), NoteError> {
        let signature = signer.sign(&self.text)?;
        self.add_signature(NoteSignature::new(signer.name(), signer.key_id(), signature)?)
    }

    /// Verify the note against a set of known keys.
    ///
    /// Signature lines matching no verifier (by name and key ID) are
    /// ignored. Returns the indices (into `verifiers`) of the keys whose
    /// signatures verified, each once.
    ///
    /// # Errors
    /// [`NoteError::InvalidSignature`] when a known key's signature fails;
    /// [`NoteError::NoKnownSignature`] when no known key signed.
    pub fn verify(&self, verifiers: &[&dyn NoteVerifier]) -> Result<Vec<usize>, NoteError> {
        let mut verified = Vec::new();
        for signature in &self.signatures {
            for (i, verifier) in verifiers.iter().enumerate() {
                if !signature.is_by(*verifier) {
                    continue;
                }
                if !verifier.verify(&self.text, &signature.signature) {
                    return Err(NoteError::InvalidSignature { name: signature.name.clone() });
                }
                if !verified.contains(&i) {
                    verified.push(i);
                }
            }
        }
        if verified.is_empty() {
            Err(NoteError::NoKnownSignature)
        } else {
            Ok(verified)
        }
    }
}

impl fmt::Display for SignedNote {
    /// The wire form: text, blank line, signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            f.write_str(&signature.to_line())?;
        }
        Ok(())
    }
}

fn check_characters(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        Err(NoteError::ControlCharacter)
    } else {
        Ok(())
    }
}

/// Key names must be non-empty and contain no Unicode spaces and no `+`.
pub(crate) fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.len() > 1024 || name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control()) {
        Err(NoteError::InvalidKeyName)
    } else {
        Ok(())
    }
}

/// The recommended key ID: the first four bytes, big-endian, of
/// `SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)`.
pub(crate) fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', signature_type]);
    hasher.update(public_key);
    let [a, b, c, d, ..]: [u8; 32] = hasher.finalize().into();
    u32::from_be_bytes([a, b, c, d])
}

/// Split a verifier key string `<name>+<8 hex key ID>+<base64(type ‖ key)>`
/// into its name, key ID, type byte and key bytes.
pub(crate) fn parse_vkey(vkey: &str) -> Result<(String, u32, u8, Vec<u8>), NoteError> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::InvalidVerifierKey("expected <name>+<key id>+<key>"));
    };
    check_key_name(name).map_err(|_| NoteError::InvalidVerifierKey("invalid key name"))?;
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::InvalidVerifierKey("key ID is not 8 hex digits"));
    }
    let key_id = u32::from_str_radix(id, 16).map_err(|_| NoteError::InvalidVerifierKey("key ID is not hex"))?;
    let bytes = STANDARD.decode(key).map_err(|_| NoteError::InvalidVerifierKey("key is not base64"))?;
    let (&signature_type, key) = bytes.split_first().ok_or(NoteError::InvalidVerifierKey("empty key"))?;
    Ok((name.to_owned(), key_id, signature_type, key.to_vec()))
}

/// Format a verifier key string.
pub(crate) fn format_vkey(name: &str, key_id: u32, signature_type: u8, key: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(1 + key.len());
    bytes.push(signature_type);
    bytes.extend_from_slice(key);
    format!("{name}+{key_id:08x}+{}", STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example() {
        let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\
                    — quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let parsed = SignedNote::parse(note).unwrap();
        assert!(parsed.text().ends_with("ed è subito sera.\n"));
        assert_eq!(parsed.signatures().len(), 1);
        assert_eq!(parsed.signatures()[0].name(), "quasimodo.example/salvatore");
        assert_eq!(parsed.signatures()[0].signature().len(), 64);
        assert_eq!(parsed.to_string(), note);
    }

    #[test]
    fn refuses_malformed_notes() {
        for bad in [
            "",
            "text\n",
            "text\n\n",
            "text\n\n— k AAAAAAA=",
            "text\n\n- k AAAAAAA=\n",
            "text\n\n— k+x AAAAAAA=\n",
            "text\n\n— k AAAA\n",
            "text\n\n— k AAAAAAA\n",
            "text\n\n—  AAAAAAA=\n",
            "te\txt\n\n— k AAAAAAA=\n",
            "text\n\n— k AAAAAAA=\n\n",
        ] {
            assert!(SignedNote::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SignedNote::parse("text\n\n— k AAAAAAA=\n").is_ok());
        assert_eq!(SignedNote::parse_bytes(b"\xff\n\n"), Err(NoteError::NotUtf8));
    }

    #[test]
    fn vkey_round_trip() {
        let vkey = format_vkey("example.com/log", 0x0102_0304, 0x01, &[7; 32]);
        assert!(vkey.starts_with("example.com/log+01020304+AQcH"));
        assert_eq!(parse_vkey(&vkey).unwrap(), ("example.com/log".to_owned(), 0x0102_0304, 0x01, vec![7; 32]));
        assert!(parse_vkey("a+b").is_err());
        assert!(parse_vkey("a+0102030+AQ==").is_err());
        assert!(parse_vkey("a+01020304+!!").is_err());
        assert!(parse_vkey("a+01020304+").is_err());
    }
}
