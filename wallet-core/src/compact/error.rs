//! Why a credential could not be compacted or a QR text not expanded, and the
//! limits these errors name.

/// Versioned prefix of every compact credential (like the EU DCC's `HC1:`).
pub const QR_PREFIX: &str = "EC1:";

/// Longest QR text accepted or produced: the alphanumeric capacity of a
/// version 40 QR code at error-correction level L.
pub const MAX_QR_TEXT_LEN: usize = 4296;

/// Largest CBOR document accepted or produced (after decompression).
pub const MAX_CBOR_LEN: usize = 64 * 1024;

/// Deepest nesting of arrays and objects (the credential object is level 1).
pub const MAX_DEPTH: usize = 64;

/// Most bytes of string values one document may hold (back-references let a
/// small document name long strings many times; this bounds the expansion).
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

fn definition_hint(code: u64) -> &'static str {
    if code >= crate::credential_type::DEFINITION_CODE_START {
        " (a credential type this reader has no definition for)"
    } else {
        ""
    }
}

/// Why a credential could not be compacted or a QR text not expanded.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CompactError {
    /// The text does not start with [`QR_PREFIX`].
    #[error("not a compact credential: the text does not start with {QR_PREFIX}")]
    WrongPrefix,
    /// A character outside the Base45 alphabet, or a Base45 group out of
    /// range, at this character position of the QR text.
    #[error("invalid Base45 at character {position}")]
    InvalidBase45 {
        /// Zero-based character (byte) position in the whole QR text.
        position: usize,
    },
    /// The data ends early: the text stops inside a Base45 group, or the
    /// DEFLATE stream or a CBOR item is incomplete.
    #[error("the compact credential is truncated")]
    Truncated,
    /// The header byte names an unknown format or term-table version.
    #[error("unsupported compact header byte 0x{0:02x}")]
    UnsupportedHeader(u8),
    /// The DEFLATE stream is corrupt, or has bytes after its end.
    #[error("corrupt DEFLATE data")]
    Decompression,
    /// The CBOR is malformed or does not follow this format.
    #[error("invalid CBOR: {0}")]
    InvalidCbor(String),
    /// A key, value or prefix code (or record mask bit) that the term table
    /// does not define. Codes from 1000 on come from credential type
    /// definitions: the reader lacks the definition of this credential's type.
    #[error("unknown term code {0}{hint}", hint = definition_hint(*.0))]
    UnknownTermCode(u64),
    /// A CBOR tag that is not one of this format's codecs.
    #[error("unknown codec tag {0}")]
    UnknownCodec(u64),
    /// The input or output exceeds [`MAX_QR_TEXT_LEN`], [`MAX_CBOR_LEN`] or
    /// [`MAX_STRING_BYTES`].
    #[error("the compact credential is too large")]
    TooLarge,
    /// Arrays/objects nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The credential (or the decoded document) is not a JSON object.
    #[error("a credential must be a JSON object")]
    NotAnObject,
    /// The encoder could not produce its output (a DEFLATE failure; not
    /// expected with in-memory buffers).
    #[error("cannot represent {0}")]
    Unrepresentable(String),
}

impl CompactError {
    /// Stable snake_case code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            CompactError::WrongPrefix => "wrong_prefix",
            CompactError::InvalidBase45 { .. } => "invalid_base45",
            CompactError::Truncated => "truncated",
            CompactError::UnsupportedHeader(_) => "unsupported_header",
            CompactError::Decompression => "decompression",
            CompactError::InvalidCbor(_) => "invalid_cbor",
            CompactError::UnknownTermCode(_) => "unknown_term_code",
            CompactError::UnknownCodec(_) => "unknown_codec",
            CompactError::TooLarge => "too_large",
            CompactError::TooDeep => "too_deep",
            CompactError::NotAnObject => "not_an_object",
            CompactError::Unrepresentable(_) => "unrepresentable",
        }
    }
}
