//! C2SP `tlog-checkpoint`: see [`Checkpoint`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::hash::Hash;
use super::log_key::{LogKey, LogSigner};
use super::note::{NoteError, NoteVerifier, SignedNote};

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note is malformed or its log signature does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note text is not a checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {found:?} is not the expected log {expected:?}")]
    WrongOrigin {
        /// The log key's origin.
        expected: String,
        /// The checkpoint's origin line.
        found: String,
    },
}

/// A tree head: which log, how many entries, and the root hash. Signed, it
/// is a C2SP `tlog-checkpoint` (<https://c2sp.org/tlog-checkpoint>): a signed
/// note whose text is
///
/// ```text
/// <origin>
/// <tree size, decimal, no leading zeros>
/// <base64 root hash>
/// [extension lines]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's identity (its first line); equals the log key's name.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at `size`.
    pub root: Hash,
    /// Opaque extension lines (not recommended; kept for round trips).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self { origin: origin.into(), size, root, extensions: Vec::new() }
    }

    /// The note text: origin, size, base64 root, extension lines, each
    /// ending in a newline.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for an empty origin or extension line,
    /// or one containing a newline or other control character.
    pub fn to_note_text(&self) -> Result<String, CheckpointError> {
        check_line(&self.origin, "origin")?;
        for extension in &self.extensions {
            check_line(extension, "extension line")?;
        }
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        Ok(text)
    }

    /// Parse a checkpoint body (the text of a signed note). Strict: the size
    /// must be canonical decimal, the root canonical base64 of 32 bytes.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`].
    pub fn from_note_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed("text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        check_line(origin, "origin")?;
        let size_line = lines.next().ok_or(CheckpointError::Malformed("missing tree size"))?;
        let size = parse_size(size_line)?;
        let root_line = lines.next().ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root_bytes = STANDARD.decode(root_line).map_err(|_| CheckpointError::Malformed("root is not base64"))?;
        let root: Hash = root_bytes.try_into().map_err(|_| CheckpointError::Malformed("root is not 32 bytes"))?;
        let mut extensions = Vec::new();
        for line in lines {
            check_line(line, "extension line")?;
            extensions.push(line.to_owned());
        }
        Ok(Self { origin: origin.to_owned(), size, root, extensions })
    }

    /// Sign with the log's key: a signed note with one signature line.
    ///
    /// # Errors
    /// [`CheckpointError::WrongOrigin`] when the origin is not the signer's
    /// name; [`CheckpointError::Malformed`] or [`CheckpointError::Note`]
    /// otherwise.
    pub fn sign(&self, signer: &LogSigner) -> Result<SignedNote, CheckpointError> {
        let expected = signer.log_key().origin();
        if self.origin != expected {
            return Err(CheckpointError::WrongOrigin { expected: expected.to_owned(), found: self.origin.clone() });
        }
        let mut note = SignedNote::new(self.to_note_text()?)?;
        note.sign(signer)?;
        Ok(note)
    }
}

/// A checkpoint whose log signature has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The tree head.
    pub checkpoint: Checkpoint,
    /// The whole note, with every signature line (cosignatures included).
    pub note: SignedNote,
}

impl LogKey {
    /// Parse a signed checkpoint, verify the log's signature and check that
    /// the origin line is this log. Other signature lines (cosignatures,
    /// other keys) are ignored here.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] (malformed note, bad or missing log
    /// signature), [`CheckpointError::Malformed`] or
    /// [`CheckpointError::WrongOrigin`].
    pub fn open_checkpoint(&self, signed_note: &str) -> Result<VerifiedCheckpoint, CheckpointError> {
        self.verify_checkpoint_note(SignedNote::parse(signed_note)?)
    }

    /// As [`LogKey::open_checkpoint`], for an already parsed note.
    ///
    /// # Errors
    /// As [`LogKey::open_checkpoint`].
    pub fn verify_checkpoint_note(&self, note: SignedNote) -> Result<VerifiedCheckpoint, CheckpointError> {
        note.verify(&[self as &dyn NoteVerifier])?;
        let checkpoint = Checkpoint::from_note_text(note.text())?;
        if checkpoint.origin != self.origin() {
            return Err(CheckpointError::WrongOrigin { expected: self.origin().to_owned(), found: checkpoint.origin });
        }
        Ok(VerifiedCheckpoint { checkpoint, note })
    }
}

fn check_line(line: &str, what: &'static str) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::Malformed(match what {
            "origin" => "empty origin",
            _ => "empty extension line",
        }));
    }
    if line.chars().any(char::is_control) {
        return Err(CheckpointError::Malformed(match what {
            "origin" => "control character in origin",
            _ => "control character in extension line",
        }));
    }
    Ok(())
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'))
        && line.len() <= 20;
    if !canonical {
        return Err(CheckpointError::Malformed("tree size is not a canonical decimal"));
    }
    line.parse().map_err(|_| CheckpointError::Malformed("tree size is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example_body() {
        let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let checkpoint = Checkpoint::from_note_text(text).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20_852_163);
        assert_eq!(checkpoint.to_note_text().unwrap(), text);
    }

    #[test]
    fn refuses_malformed_bodies() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            String::new(),
            "o\n".to_owned(),
            "o\n1\n".to_owned(),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n1 \n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("\n1\n{root}\n"),
            format!("o\n1\n{root}"),
            format!("o\n1\n{root}\n\n"),
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n".to_owned(),
            "o\n1\nAAAA\n".to_owned(),
        ] {
            assert!(Checkpoint::from_note_text(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(Checkpoint::from_note_text(&format!("o\n0\n{root}\next\n")).unwrap().extensions, vec!["ext"]);
        assert_eq!(Checkpoint::from_note_text(&format!("o\n18446744073709551615\n{root}\n")).unwrap().size, u64::MAX);
    }
}
