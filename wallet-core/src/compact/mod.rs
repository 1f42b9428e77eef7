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
//! ```
//!
//! Both headers mean term table 1 ([`terms`]); any other header byte is
//! rejected, so a new table or layout gets a new header byte. The DEFLATE
//! stream must end exactly at the end of the body.
//!
//! *Base45* is RFC 9285 (alphabet `0-9A-Z $%*+-./:`, two bytes → three
//! characters, least significant digit first). Decoding is strict: any other
//! character (including lower case) is an error, and so is a group whose value
//! exceeds 65535 (three characters) or 255 (a final pair).
//!
//! ## The CBOR document
//!
//! RFC 8949 CBOR: the credential object, as a map or a record (below). Only
//! definite lengths; the encoder writes shortest-form heads, decoders also
//! accept longer ones. JSON maps to CBOR as follows:
//!
//! | JSON | CBOR |
//! |---|---|
//! | `null`, `true`, `false` | simple values 22, 21, 20 |
//! | number whose text is the decimal form of a `u64` / `i64` | major type 0 / 1 |
//! | number whose text is how `serde_json` prints an `f64` (shortest round-trip digits, e.g. `2.5`, `100000.0`, `1e21`) | float32 when exact, else float64 (decoders also accept float16); never NaN/∞ |
//! | any other number (`1.50`, `1e+5`, `-0`, integers beyond 64 bits; `serde_json` with `arbitrary_precision`, enabled in this workspace, keeps number text as written) | tag 18 around its literal text |
//! | array | array, same order |
//! | object | map, same order: key = the CBOR integer for its term code if the key is in [`terms::KEYS`], else a text string; **or** a record (tag 17) |
//! | string | a text string, or one of the tagged forms below |
//!
//! *Key codes* are written zigzag-style so that codes 0–47 take one byte:
//! code `c` is the CBOR integer `c / 2` when `c` is even and `-(c + 1) / 2`
//! when it is odd (CBOR `0, -1, 1, -2, 2, …` mean codes `0, 1, 2, 3, 4, …`).
//! A map never holds the same key twice (after decoding key codes).
//!
//! *Records.* An object whose keys are all in [`terms::KEYS`] with codes
//! below 64, in strictly ascending code order, may be written as tag 17
//! around the array `[mask, v₁, …, vₙ]`: bit `c` of the unsigned integer
//! `mask` is set for each key code `c` present (so `n` = the number of set
//! bits), and the values follow in ascending code order, which is also the
//! key order. The encoder uses a record when it is shorter than the map.
//! Table 1 lists keys in the order our issuer writes them, so our
//! credentials, subjects, status entries and proofs qualify; objects with
//! other key orders simply stay maps.
//!
//! ## String forms
//!
//! The decoder keeps the *string history*: every string **value** of the
//! document (not keys), after decoding, in document order. A string is a
//! plain text string or one of these tagged items (tag numbers other than 1
//! are private to this format):
//!
//! | tag | content | the string |
//! |---|---|---|
//! | 1 | int `s` | XSD dateTime `YYYY-MM-DDThh:mm:ssZ`, `s` seconds after 1970-01-01T00:00:00Z (proleptic Gregorian, years 0000–9999, no fractions, no offsets) |
//! | 6 | uint `c` | value `c` of [`terms::VALUES`] (context URLs, types, cryptosuites, purposes, …) |
//! | 7 | 16-byte bstr | `urn:uuid:` + the UUID in lower-case hyphenated form |
//! | 8 | bstr `b` (≤ 1024 bytes) | `did:key:z` + base58btc(`b`) |
//! | 9 | bstr `b` (≤ 1024 bytes) | `did:key:zX#zX` with `X` = base58btc(`b`) (a did:key verification method) |
//! | 9 | uint `d` | `D#K`, where `D` is the string `d` places back in the history, which must be `did:key:K` |
//! | 10 | bstr `b` (≤ 1024 bytes) | multibase base58btc: `z` + base58btc(`b`) |
//! | 11 | bstr `b` | multibase base64url: `u` + base64url(`b`) without padding |
//! | 12 | int `d` | XSD date `YYYY-MM-DD`, `d` days after 1970-01-01 (years 0000–9999) |
//! | 13 | uint `n` | `n` in decimal, no sign, no leading zeros |
//! | 14 | `[uint p, tstr r]` | prefix `p` of [`terms::PREFIXES`] followed by `r` |
//! | 15 | `[uint d, uint k]` or `[uint d, uint k, tstr r]` | the string `d` ≥ 1 places back in the history without its last `k` bytes (which must leave whole UTF-8 characters), followed by `r` |
//! | 16 | bstr (even length) | the text in UTF-16BE (well-formed; shorter than UTF-8 for CJK text) |
//! | 19 | `[uint t, bstr a (11 bytes), uint or tstr s, uint v]` | the 证照标识 ([`crate::licence_id`]) `1.2.156.3005.2.T.A.s.VVV.C`: `T` the `licenceTypeCode` of the definition whose type name has value code `t`, `A` the credit code whose first 17 characters are `a` as a big-endian base-31 number (its check character recomputed), `s` the serial (an integer in decimal), `VVV` the version `v` in three digits, `C` the recomputed check character; the identifier must be valid |
//! | 21 | int `d` | XSD dateTime `YYYY-MM-DDT00:00:00Z` of day `d` (days after 1970-01-01, years 0000–9999): a day's start, 4 bytes instead of tag 1's 6 |
//! | 22 | int `d` | XSD dateTime `YYYY-MM-DDT23:59:59Z` of day `d` (as tag 21): a day's last second, as in a `validUntil` |
//!
//! *Licence records.* A credential object whose `licenceId` sits right after
//! `id` (first without one), where issuers put it, and whose other keys
//! qualify for a record, may be written as tag 20 around
//! `[mask, v₁, …, vₙ, a, s]` or `[mask, v₁, …, vₙ, a, s, v]`: the record of the
//! other keys, then the 证照标识's authority `a` (11 bytes, as in tag 19), serial
//! `s` (uint or tstr) and version `v` (2–999; absent means 001). The type code
//! is the `licenceTypeCode` of the definition the record's `type` names; the
//! check character is recomputed; the identifier is not in the string history
//! (`licence_record.rs`). The encoder uses it whenever it applies: an issued
//! credential's identifier then costs about 14 bytes instead of about 25
//! (the 2-byte key, tag 19's type code and array, and the record lost at the
//! top level).
//!
//! Base58btc is the Bitcoin alphabet, each leading zero byte written as `1`.
//! The encoder considers the plain text string and every form that decodes
//! to exactly the same string (back-references up to 64 strings back) and
//! writes the shortest, plain text winning ties. Because every other form is
//! tagged, an untagged text string always means itself:
//! `"2026-03-15T00:00:00.000Z"`, `"007"` or an upper-case UUID URN simply
//! stay text (or take the prefix or back-reference form).
//!
//! The encoder then compresses the CBOR document with DEFLATE (best
//! compression) and uses header 0x02 only if that is strictly shorter —
//! after the semantic compression above it rarely is: the sample below
//! would grow by 5 bytes.
//!
//! ## Codes of credential types from definition files
//!
//! Key and value codes **from 1000 to 65535** are not in table 1: each
//! credential type definition file ([`crate::credential_type`]) declares the
//! codes of its own new terms — a `code` per field whose name table 1 lacks,
//! `valueCodes` for its type name and context URL, and optionally a
//! `valueCode` for a frequent enum value (tag 6, 4 bytes) — like registry entries
//! (CWT claim keys are assigned the same way). They are reproducible (written
//! in the file, not derived from load order) and checked at start: in range,
//! unique across all loaded definitions, the same term never coded twice, no
//! code for a term table 1 has. The header byte stays 0x01/0x02: a definition
//! code only extends table 1, and a reader without the definition reports
//! [`CompactError::UnknownTermCode`] (code ≥ 1000: "a credential type this
//! reader has no definition for"). A code, once used, keeps its meaning.
//! Which definitions a reader or writer has is the
//! [`TypeRegistry`] it is given (the `*_with` functions); the functions
//! without `_with` use the shipped definitions.
//! Such keys are never in records (codes ≥ 64), so they cost 3 bytes each.
//!
//! # Limits (both directions; errors are values, decoding never panics)
//!
//! * QR text at most [`MAX_QR_TEXT_LEN`] characters (the alphanumeric
//!   capacity of a version 40-L QR code),
//! * CBOR document at most [`MAX_CBOR_LEN`] bytes after decompression (so a
//!   DEFLATE bomb stops there),
//! * string values at most [`MAX_STRING_BYTES`] in total (back-references
//!   cannot blow up memory),
//! * arrays and objects nested at most [`MAX_DEPTH`] deep,
//! * the base58 forms hold at most 1024 bytes (base58 is quadratic).
//!
//! # Sizes, and why Base45 in alphanumeric mode
//!
//! The sample health certificate with an `ecdsa-rdfc-2019` proof
//! (`fixtures/qr/sample-health-certificate.signed.json`; the test
//! `compact_sizes` in `wallet-core/tests/suite/qr_roundtrip.rs` prints this table):
//!
//! | form | size | QR version, EC level M |
//! |---|---|---|
//! | JSON, pretty-printed | 1 782 bytes | — |
//! | JSON, minified | 1 513 bytes | 32 (byte mode) |
//! | DEFLATE of the minified JSON, Base45 (no semantic compression) | 1 242 characters | 23 |
//! | CBOR document (this format) | 392 bytes | — |
//! | DEFLATE of the CBOR document (not used: larger) | 397 bytes | — |
//! | **`EC1:` + Base45 of header + CBOR, alphanumeric mode** | **594 characters** | **15** (L 13, Q 19, H 22) |
//! | `EC1:` + base64url of the same 393 bytes, byte mode | 528 characters | 18 |
//! | the raw 393 bytes in byte mode (binary, not text) | 393 bytes | 15 |
//! | the 393 bytes as decimal digits (7 bytes → 17 digits), numeric mode | 969 digits | 15 |
//!
//! A version 15-M code holds 600 alphanumeric characters, so the sample has
//! 6 characters (4 bytes) to spare. Alphanumeric mode stores 11 bits per two
//! characters: Base45 costs 8.25 bits per payload byte, against 8 for raw
//! binary in byte mode (3 % more) and 10.7 for base64 text in byte mode.
//! Raw binary is not text (the QR API takes text, and scanners re-interpret
//! binary as ISO-8859-1 or Shift-JIS), so Base45 is the better text choice —
//! the one the EU Digital COVID Certificate made. Numeric mode with 7-byte
//! groups (8.10 bits per byte) would hold about 10 more bytes at version 15-M, but
//! needs its own digit grouping where Base45 is a standard; it does not
//! change the version of the sample.

mod base45;
mod base58;
mod cbor;
mod error;
mod json;
mod licence_record;
mod strings;
pub mod terms;

use std::io::Write as _;

use flate2::{Compression, Decompress, FlushDecompress, Status};
use serde_json::Value;

use crate::credential_type::TypeRegistry;
pub use error::{CompactError, MAX_CBOR_LEN, MAX_DEPTH, MAX_QR_TEXT_LEN, MAX_STRING_BYTES, QR_PREFIX};

/// Header byte: term table 1, CBOR body.
const HEADER_CBOR: u8 = 0x01;
/// Header byte: term table 1, raw DEFLATE body.
const HEADER_DEFLATE: u8 = 0x02;

/// [`encode_credential_with`] the shipped credential types ([`TypeRegistry::default`]).
pub fn encode_credential(vc: &Value) -> Result<String, CompactError> {
    encode_credential_with(&TypeRegistry::default(), vc)
}

/// Encodes a credential (any JSON object) as QR text: [`QR_PREFIX`] + Base45,
/// with the term codes of table 1 and of `types`' definitions.
///
/// `decode_credential_with(types, &encode_credential_with(types, vc)?)` is always `Ok(vc.clone())`.
pub fn encode_credential_with(types: &TypeRegistry, vc: &Value) -> Result<String, CompactError> {
    let cbor = encode_cbor_with(types, vc)?;
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

/// [`decode_credential_with`] the shipped credential types ([`TypeRegistry::default`]).
pub fn decode_credential(qr_text: &str) -> Result<Value, CompactError> {
    decode_credential_with(&TypeRegistry::default(), qr_text)
}

/// Decodes QR text made by [`encode_credential_with`] back to the exact JSON;
/// a term code of a type `types` does not define is
/// [`CompactError::UnknownTermCode`].
pub fn decode_credential_with(types: &TypeRegistry, qr_text: &str) -> Result<Value, CompactError> {
    let base45_text = qr_text.strip_prefix(QR_PREFIX).ok_or(CompactError::WrongPrefix)?;
    if qr_text.len() > MAX_QR_TEXT_LEN {
        return Err(CompactError::TooLarge);
    }
    let payload = base45::decode(base45_text).map_err(|e| match e {
        CompactError::InvalidBase45 { position } => {
            CompactError::InvalidBase45 { position: position + QR_PREFIX.len() }
        }
        other => other,
    })?;
    let (&header, body) = payload.split_first().ok_or(CompactError::Truncated)?;
    match header {
        HEADER_CBOR => decode_cbor_with(types, body),
        HEADER_DEFLATE => decode_cbor_with(types, &inflate(body)?),
        other => Err(CompactError::UnsupportedHeader(other)),
    }
}

/// [`encode_cbor_with`] the shipped credential types ([`TypeRegistry::default`]).
pub fn encode_cbor(vc: &Value) -> Result<Vec<u8>, CompactError> {
    encode_cbor_with(&TypeRegistry::default(), vc)
}

/// The CBOR document of a credential (no header, no compression, no Base45),
/// for transports that carry bytes (NFC, BLE), with the term codes of `types`.
pub fn encode_cbor_with(types: &TypeRegistry, vc: &Value) -> Result<Vec<u8>, CompactError> {
    if !vc.is_object() {
        return Err(CompactError::NotAnObject);
    }
    let document = json::encode(types, vc)?;
    if document.len() > MAX_CBOR_LEN {
        return Err(CompactError::TooLarge);
    }
    Ok(document)
}

/// Base45 (RFC 9285) of `data`: the text form of this suite's other QR
/// payloads (the holder presentation, [`crate::presentation`]).
pub fn base45_encode(data: &[u8]) -> String {
    base45::encode(data)
}

/// Strict Base45 decoding, as for [`decode_credential`].
///
/// # Errors
/// [`CompactError::InvalidBase45`] / [`CompactError::Truncated`].
pub fn base45_decode(text: &str) -> Result<Vec<u8>, CompactError> {
    base45::decode(text)
}

/// [`decode_cbor_with`] the shipped credential types ([`TypeRegistry::default`]).
pub fn decode_cbor(document: &[u8]) -> Result<Value, CompactError> {
    decode_cbor_with(&TypeRegistry::default(), document)
}

/// Decodes a CBOR document made by [`encode_cbor_with`].
pub fn decode_cbor_with(types: &TypeRegistry, document: &[u8]) -> Result<Value, CompactError> {
    if document.len() > MAX_CBOR_LEN {
        return Err(CompactError::TooLarge);
    }
    json::decode(types, document)
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, CompactError> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::with_capacity(data.len()), Compression::best());
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
        let consumed = usize::try_from(inflater.total_in()).map_err(|_| CompactError::Decompression)?;
        let input = data.get(consumed..).ok_or(CompactError::Decompression)?;
        // Leave room for one byte more than allowed, to detect a bomb.
        out.reserve(STEP.min(MAX_CBOR_LEN + 1 - out.len()));
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let status =
            inflater.decompress_vec(input, &mut out, FlushDecompress::None).map_err(|_| CompactError::Decompression)?;
        if out.len() > MAX_CBOR_LEN {
            return Err(CompactError::TooLarge);
        }
        match status {
            Status::StreamEnd if inflater.total_in() == data.len() as u64 => return Ok(out),
            Status::StreamEnd => return Err(CompactError::Decompression),
            Status::Ok | Status::BufError => {
                let stalled = inflater.total_in() == in_before && inflater.total_out() == out_before;
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
        assert!(text[QR_PREFIX.len()..].bytes().all(|c| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&c)));
        assert_eq!(decode_credential(&text), Ok(sample()));
    }

    #[test]
    fn uncompressed_header_is_used_when_deflate_does_not_help() {
        let tiny = json!({"id": "x"});
        let text = encode_credential(&tiny).expect("encodes");
        assert_eq!(base45::decode(&text[4..]).expect("base45")[0], HEADER_CBOR);
        assert_eq!(decode_credential(&text), Ok(tiny));
        let repetitive = json!({"credentialSubject": vec!["https://issuer.example.gov.cn/status/3"; 20]});
        let text = encode_credential(&repetitive).expect("encodes");
        assert_eq!(base45::decode(&text[4..]).expect("base45")[0], HEADER_DEFLATE);
        assert_eq!(decode_credential(&text), Ok(repetitive));
    }

    #[test]
    fn non_objects_are_refused() {
        assert_eq!(encode_credential(&json!([1])), Err(CompactError::NotAnObject));
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
            assert_eq!(inflate(&ok[..cut]), Err(CompactError::Truncated), "cut at {cut}");
        }
        let mut trailing = ok.clone();
        trailing.push(0);
        assert_eq!(inflate(&trailing), Err(CompactError::Decompression));
        assert_eq!(inflate(&[0xff, 0xff, 0xff]), Err(CompactError::Decompression));
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
        assert!(codes.iter().all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
    }
}
