//! The compact QR form of a signed credential: `EC1:` + Base45 text that
//! carries a W3C VC 2.0 JSON-LD credential (with its Data Integrity proof)
//! **losslessly**. Decoding gives back the identical JSON value — the same
//! keys in the same order, the same numbers, the same string forms — so the
//! original `ecdsa-rdfc-2019` signature still verifies. No lookup link.
//!
//! The idea is that of CBOR-LD / the W3C VC Barcodes note (semantic
//! compression of JSON-LD with a term dictionary), with our own registered
//! tables; it is not byte-compatible with `@digitalbazaar/cborld`.
//!
//! # Wire format, version 1
//!
//! ```text
//! qr-text  = "EC1:" base45(header || body)
//! header   = 0x01 → body is the CBOR document
//!            0x02 → body is raw DEFLATE (RFC 1951, no zlib/gzip wrapper) of the CBOR document
//!            (both use term table 1, [`terms`]; any other header byte is rejected)
//! ```
//!
//! *Base45* is RFC 9285 (alphabet `0-9A-Z $%*+-./:`, two bytes → three
//! characters, least significant digit first). Decoding is strict: any other
//! character (including lower case) is an error, and so is a group whose value
//! exceeds 65535 (three characters) or 255 (a final pair).
//!
//! The *CBOR document* (RFC 8949) is one map: the credential object. Only
//! definite lengths are used; the encoder writes shortest-form heads, and the
//! decoder accepts longer ones. A JSON value maps to CBOR as follows:
//!
//! | JSON | CBOR |
//! |---|---|
//! | `null`, `true`, `false` | simple values 22, 21, 20 |
//! | integer (fits `u64` / `i64`) | major type 0 / 1 |
//! | other number (a float) | float32 when exact, else float64 (decoders also accept float16); never NaN/∞ |
//! | array | array, same order |
//! | object | map, same order; each key is the CBOR integer for its term code if the key is in table 1's [`terms::KEYS`], else a text string |
//! | string | a text string, or one of the tagged codec forms below |
//!
//! *Key codes* are written zigzag-style so that codes 0–47 take one byte:
//! code `c` is the CBOR integer `c / 2` when `c` is even and `-(c + 1) / 2`
//! when it is odd (so CBOR `0, -1, 1, -2, 2, …` mean codes `0, 1, 2, 3, 4, …`).
//! A map never contains the same key twice (after decoding key codes).
//!
//! *String codecs.* A string may instead be written as one of these tagged
//! items (tag numbers are private to this format; tag 1 keeps its RFC 8949
//! meaning). The decoder rebuilds the string from the tag content; the
//! encoder uses a codec only if that rebuilds exactly the original string and
//! the tagged item is strictly shorter than the plain text string, trying the
//! codecs in the order listed:
//!
//! | tag | content | string it stands for |
//! |---|---|---|
//! | 6 | uint `c` | value `c` of [`terms::VALUES`] (context URLs, types, cryptosuites, purposes, …) |
//! | 7 | 16-byte bstr | `urn:uuid:` + the UUID in lower-case hyphenated form |
//! | 8 | bstr `b` (≤ 1024 bytes) | `did:key:z` + base58btc(`b`) |
//! | 9 | bstr `b` (≤ 1024 bytes) | `did:key:zX#zX` with `X` = base58btc(`b`) (a did:key verification method) |
//! | 1 | int `s` | XSD dateTime `YYYY-MM-DDThh:mm:ssZ`, `s` seconds after 1970-01-01T00:00:00Z (proleptic Gregorian, years 0000–9999, no fractions, no offsets) |
//! | 12 | int `d` | XSD date `YYYY-MM-DD`, `d` days after 1970-01-01 (years 0000–9999) |
//! | 13 | uint `n` | `n` in decimal, no sign, no leading zeros |
//! | 10 | bstr `b` (≤ 1024 bytes) | multibase base58btc: `z` + base58btc(`b`) |
//! | 11 | bstr `b` | multibase base64url: `u` + base64url(`b`) without padding |
//! | 14 | array `[uint p, tstr r]` | prefix `p` of [`terms::PREFIXES`] followed by `r` (the encoder picks the longest prefix) |
//!
//! Base58btc is the Bitcoin alphabet, each leading zero byte written as `1`.
//! Because every codec is tagged, an untagged text string always means
//! itself: `"2026-03-15T00:00:00.000Z"`, `"007"` or an upper-case UUID URN
//! simply stay text (or take the prefix codec).
//!
//! The encoder compresses the CBOR document with DEFLATE (best compression)
//! and uses header 0x02 only if the result is strictly shorter.
//!
//! # Limits (both directions; errors are values, decoding never panics)
//!
//! * QR text at most [`MAX_QR_TEXT_LEN`] characters (the alphanumeric
//!   capacity of a version 40-L QR code),
//! * CBOR document at most [`MAX_CBOR_LEN`] bytes after decompression (so a
//!   DEFLATE bomb stops there),
//! * arrays and objects nested at most [`MAX_DEPTH`] deep,
//! * the base58 codecs handle at most 1024 bytes (they are quadratic).
//!
//! # Sizes and the choice of Base45 (alphanumeric mode)
//!
//! For the sample health certificate with an `ecdsa-rdfc-2019` proof
//! (`wallet-core/tests/qr_roundtrip.rs` prints these; see `compact_sizes`):
//!
//! | form | bytes / characters | QR version at EC level M |
//! |---|---|---|
//! | JSON, pretty | 1 659 | — |
//! | JSON, minified | 1 367 | 30 (byte mode) |
//! | CBOR document (this format) | 432 | — |
//! | DEFLATE of it, + header byte | 419 | — |
//! | `EC1:` + Base45 → **alphanumeric mode** | 633 characters | **15** (L: 13, Q: 18) |
//! | `EC1:` + base64url in byte mode | 563 characters | 17 |
//! | the raw 419 bytes in byte mode (not text) | 419 bytes | 15 |
//!
//! Alphanumeric mode stores 11 bits per 2 characters, so Base45 costs 8.25
//! bits per payload byte against 8 for raw binary in byte mode (3 % more) and
//! 10.7 for base64 text in byte mode. Raw binary is not a string (the QR API
//! here takes text, and many scanners re-interpret binary as ISO-8859-1 or
//! Shift-JIS), so Base45 is the better of the text choices — the choice the
//! EU Digital COVID Certificate made for the same reasons.

mod base45;
mod base58;
mod cbor;
mod json;
mod strings;
pub mod terms;

use std::io::Write as _;

use flate2::{Compression, Decompress, FlushDecompress, Status};
use serde_json::Value;

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

/// Header byte: term table 1, CBOR body.
const HEADER_CBOR: u8 = 0x01;
/// Header byte: term table 1, raw DEFLATE body.
const HEADER_DEFLATE: u8 = 0x02;

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
    /// The data ends early (cut-off text, incomplete DEFLATE stream or CBOR item).
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
    /// A key, value or prefix code that the term table does not define.
    #[error("unknown term code {0}")]
    UnknownTermCode(u64),
    /// A CBOR tag that is not one of this format's codecs.
    #[error("unknown codec tag {0}")]
    UnknownCodec(u64),
    /// The input or output exceeds [`MAX_QR_TEXT_LEN`] or [`MAX_CBOR_LEN`].
    #[error("the compact credential is too large")]
    TooLarge,
    /// Arrays/objects nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The credential (or the decoded document) is not a JSON object.
    #[error("a credential must be a JSON object")]
    NotAnObject,
    /// A JSON value that cannot be represented (a non-finite number).
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

/// Encodes a credential (any JSON object) as QR text: [`QR_PREFIX`] + Base45.
///
/// `decode_credential(&encode_credential(vc)?)` is always `Ok(vc.clone())`.
pub fn encode_credential(vc: &Value) -> Result<String, CompactError> {
    let cbor = encode_cbor(vc)?;
    let deflated = deflate(&cbor)?;
    let mut payload = Vec::with_capacity(cbor.len() + 1);
    if deflated.len() < cbor.len() {
        payload.push(HEADER_DEFLATE);
        payload.extend_from_slice(&deflated);
    } else {
        payload.push(HEADER_CBOR);
        payload.extend_from_slice(&cbor);
    }
    let text = format!("{QR_PREFIX}{}", base45::encode(&payload));
    if text.len() > MAX_QR_TEXT_LEN {
        return Err(CompactError::TooLarge);
    }
    Ok(text)
}

/// Decodes QR text made by [`encode_credential`] back to the exact JSON.
pub fn decode_credential(qr_text: &str) -> Result<Value, CompactError> {
    let base45_text = qr_text
        .strip_prefix(QR_PREFIX)
        .ok_or(CompactError::WrongPrefix)?;
    if qr_text.len() > MAX_QR_TEXT_LEN {
        return Err(CompactError::TooLarge);
    }
    let payload = base45::decode(base45_text).map_err(|e| match e {
        CompactError::InvalidBase45 { position } => CompactError::InvalidBase45 {
            position: position + QR_PREFIX.len(),
        },
        other => other,
    })?;
    let (&header, body) = payload.split_first().ok_or(CompactError::Truncated)?;
    match header {
        HEADER_CBOR => decode_cbor(body),
        HEADER_DEFLATE => decode_cbor(&inflate(body)?),
        other => Err(CompactError::UnsupportedHeader(other)),
    }
}

/// The CBOR document of a credential (no header, no compression, no Base45),
/// for transports that carry bytes (NFC, BLE).
pub fn encode_cbor(vc: &Value) -> Result<Vec<u8>, CompactError> {
    if !vc.is_object() {
        return Err(CompactError::NotAnObject);
    }
    let document = json::encode(vc)?;
    if document.len() > MAX_CBOR_LEN {
        return Err(CompactError::TooLarge);
    }
    Ok(document)
}

/// Decodes a CBOR document made by [`encode_cbor`].
pub fn decode_cbor(document: &[u8]) -> Result<Value, CompactError> {
    if document.len() > MAX_CBOR_LEN {
        return Err(CompactError::TooLarge);
    }
    json::decode(document)
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, CompactError> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(data.len()), Compression::best());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| CompactError::Unrepresentable(format!("DEFLATE output ({e})")))
}

/// Raw DEFLATE decompression that stops at [`MAX_CBOR_LEN`] output bytes and
/// requires the stream to end exactly at the end of `data`.
fn inflate(data: &[u8]) -> Result<Vec<u8>, CompactError> {
    const STEP: usize = 16 * 1024;
    let mut inflater = Decompress::new(false);
    let mut out: Vec<u8> = Vec::new();
    loop {
        // total_in never exceeds data.len(), which is a usize.
        let consumed =
            usize::try_from(inflater.total_in()).map_err(|_| CompactError::Decompression)?;
        let input = data.get(consumed..).ok_or(CompactError::Decompression)?;
        // Leave room for one byte more than allowed, to detect a bomb.
        out.reserve(STEP.min(MAX_CBOR_LEN + 1 - out.len()));
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|_| CompactError::Decompression)?;
        if out.len() > MAX_CBOR_LEN {
            return Err(CompactError::TooLarge);
        }
        match status {
            Status::StreamEnd if inflater.total_in() == data.len() as u64 => return Ok(out),
            Status::StreamEnd => return Err(CompactError::Decompression),
            Status::Ok | Status::BufError => {
                let stalled =
                    inflater.total_in() == in_before && inflater.total_out() == out_before;
                if stalled {
                    return Err(if inflater.total_in() == data.len() as u64 {
                        CompactError::Truncated
                    } else {
                        CompactError::Decompression
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/ecert/v1"],
            "id": "urn:uuid:3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a14",
            "type": ["VerifiableCredential", "HealthCertificate"],
            "issuer": "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
            "validFrom": "2026-03-15T00:00:00Z",
            "credentialSubject": {"fullName": "欧阳晓燕", "birthDate": "1991-07-23", "x-custom": [1, -2, 2.5, null, true]}
        })
    }

    #[test]
    fn round_trip_and_prefix() {
        let text = encode_credential(&sample()).expect("encodes");
        assert!(text.starts_with(QR_PREFIX));
        assert!(text[QR_PREFIX.len()..]
            .bytes()
            .all(|c| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&c)));
        assert_eq!(decode_credential(&text), Ok(sample()));
    }

    #[test]
    fn uncompressed_header_is_used_when_deflate_does_not_help() {
        let tiny = json!({"id": "x"});
        let text = encode_credential(&tiny).expect("encodes");
        assert_eq!(base45::decode(&text[4..]).expect("base45")[0], HEADER_CBOR);
        assert_eq!(decode_credential(&text), Ok(tiny));
        let repetitive =
            json!({"credentialSubject": vec!["https://issuer.example.gov.cn/status/3"; 20]});
        let text = encode_credential(&repetitive).expect("encodes");
        assert_eq!(
            base45::decode(&text[4..]).expect("base45")[0],
            HEADER_DEFLATE
        );
        assert_eq!(decode_credential(&text), Ok(repetitive));
    }

    #[test]
    fn non_objects_are_refused() {
        assert_eq!(
            encode_credential(&json!([1])),
            Err(CompactError::NotAnObject)
        );
        let text = format!("{QR_PREFIX}{}", base45::encode(&[HEADER_CBOR, 0x80]));
        assert_eq!(decode_credential(&text), Err(CompactError::NotAnObject));
    }

    #[test]
    fn inflate_limits() {
        let bomb = deflate(&vec![0u8; MAX_CBOR_LEN * 4]).expect("deflates");
        assert!(bomb.len() < 1024);
        assert_eq!(inflate(&bomb), Err(CompactError::TooLarge));
        let ok = deflate(&[7u8; 1000]).expect("deflates");
        assert_eq!(inflate(&ok), Ok(vec![7u8; 1000]));
        for cut in 0..ok.len() {
            assert_eq!(
                inflate(&ok[..cut]),
                Err(CompactError::Truncated),
                "cut at {cut}"
            );
        }
        let mut trailing = ok.clone();
        trailing.push(0);
        assert_eq!(inflate(&trailing), Err(CompactError::Decompression));
        assert_eq!(
            inflate(&[0xff, 0xff, 0xff]),
            Err(CompactError::Decompression)
        );
    }

    #[test]
    fn error_codes_are_distinct_snake_case() {
        let all = [
            CompactError::WrongPrefix,
            CompactError::InvalidBase45 { position: 0 },
            CompactError::Truncated,
            CompactError::UnsupportedHeader(0),
            CompactError::Decompression,
            CompactError::InvalidCbor(String::new()),
            CompactError::UnknownTermCode(0),
            CompactError::UnknownCodec(0),
            CompactError::TooLarge,
            CompactError::TooDeep,
            CompactError::NotAnObject,
            CompactError::Unrepresentable(String::new()),
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(CompactError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| c
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
    }
}
