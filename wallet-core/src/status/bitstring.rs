//! The status bitstring and its `encodedList` form.

use std::io::{Read as _, Write as _};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::StatusError;

/// The largest bitstring [`Bitstring::decode`] will expand: 16 MiB, i.e.
/// 134,217,728 entries, a thousand times the privacy minimum. Anything larger
/// is refused as a decompression bomb before it is fully inflated.
pub const MAX_DECODED_BYTES: usize = 16 * 1024 * 1024;

/// The GZIP magic number and deflate method, base64url-encoded: how a legacy
/// StatusList2021 `encodedList` (no multibase prefix) begins.
const LEGACY_GZIP_BASE64_START: &str = "H4sI";

/// A list of status bits, as the Bitstring Status List spec lays it out:
/// index 0 is the most significant (left-most) bit of the first byte, the last
/// index the least significant bit of the last byte.
///
/// The length is always a whole number of bytes (`len()` is a multiple of 8),
/// because that is all the encoded form can express.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Bitstring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitstring").field("len", &self.len()).field("set", &self.count_set()).finish()
    }
}

impl Bitstring {
    /// All-zero bitstring of at least `len_bits` bits (rounded up to whole
    /// bytes). Issuers use at least [`MIN_STATUS_LIST_BITS`](super::MIN_STATUS_LIST_BITS).
    pub fn new(len_bits: usize) -> Self {
        Self { bytes: vec![0; len_bits.div_ceil(8)] }
    }

    /// Wrap raw bytes (the uncompressed bitstring).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The raw bytes (the uncompressed bitstring).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length in bits.
    pub fn len(&self) -> usize {
        self.bytes.len().saturating_mul(8)
    }

    /// True when the bitstring has no bits at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bit at `index`, or `None` beyond the end.
    pub fn get(&self, index: usize) -> Option<bool> {
        let byte = self.bytes.get(index / 8)?;
        Some(byte & (0x80 >> (index % 8)) != 0)
    }

    /// Set or clear the bit at `index`.
    ///
    /// # Errors
    /// [`StatusError::IndexOutOfRange`] beyond the end.
    pub fn set(&mut self, index: usize, value: bool) -> Result<(), StatusError> {
        let len = self.len();
        let Some(byte) = self.bytes.get_mut(index / 8) else {
            return Err(StatusError::IndexOutOfRange { index: index as u64, len });
        };
        let mask = 0x80 >> (index % 8);
        if value {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        Ok(())
    }

    /// How many bits are set.
    pub fn count_set(&self) -> usize {
        self.bytes.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The indexes of the set bits, in order.
    pub fn iter_set(&self) -> impl Iterator<Item = usize> + '_ {
        self.bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != 0)
            .flat_map(|(i, b)| (0..8).filter(move |bit| b & (0x80 >> bit) != 0).map(move |bit| i * 8 + bit))
    }

    /// The `encodedList` form: `u` (multibase base64url, no padding) followed
    /// by the base64url of the GZIP-compressed bytes.
    pub fn encode(&self) -> String {
        let mut encoder = GzEncoder::new(Vec::with_capacity(self.bytes.len() / 64 + 64), Compression::default());
        // Writing into a Vec cannot fail; were it ever to, the empty output
        // would be refused by `decode` (fail closed), never read as "all clear".
        let compressed = encoder.write_all(&self.bytes).and_then(|()| encoder.finish()).unwrap_or_default();
        let mut out = String::with_capacity(1 + compressed.len().div_ceil(3) * 4);
        out.push('u');
        URL_SAFE_NO_PAD.encode_string(&compressed, &mut out);
        out
    }

    /// Decode an `encodedList`, strictly: the multibase prefix must be `u`,
    /// the rest canonical base64url without padding, and that exactly one
    /// complete GZIP member (CRC and length checked, nothing after it) that
    /// expands to at most [`MAX_DECODED_BYTES`].
    ///
    /// The length is not checked against the privacy minimum here; that is
    /// the job of whoever accepts a list ([`super::verify_status_list`]).
    ///
    /// # Errors
    /// [`StatusError::MissingMultibasePrefix`] (legacy `H4sI…` form),
    /// [`StatusError::WrongMultibasePrefix`], [`StatusError::InvalidBase64`],
    /// [`StatusError::InvalidGzip`], [`StatusError::DecompressedTooLarge`].
    pub fn decode(encoded: &str) -> Result<Self, StatusError> {
        let Some(prefix) = encoded.chars().next() else {
            return Err(StatusError::MissingMultibasePrefix);
        };
        if prefix != 'u' {
            return Err(if encoded.starts_with(LEGACY_GZIP_BASE64_START) {
                StatusError::MissingMultibasePrefix
            } else {
                StatusError::WrongMultibasePrefix(prefix)
            });
        }
        let compressed =
            URL_SAFE_NO_PAD.decode(&encoded[1..]).map_err(|e| StatusError::InvalidBase64(e.to_string()))?;
        let mut decoder = GzDecoder::new(&compressed[..]);
        let mut bytes = Vec::new();
        let limit = MAX_DECODED_BYTES as u64 + 1;
        (&mut decoder).take(limit).read_to_end(&mut bytes).map_err(|e| StatusError::InvalidGzip(e.to_string()))?;
        if bytes.len() > MAX_DECODED_BYTES {
            return Err(StatusError::DecompressedTooLarge { limit: MAX_DECODED_BYTES });
        }
        if decoder.header().is_none() {
            return Err(StatusError::InvalidGzip("no GZIP header".into()));
        }
        let rest = decoder.into_inner();
        if !rest.is_empty() {
            return Err(StatusError::InvalidGzip(format!("{} bytes after the GZIP member", rest.len())));
        }
        Ok(Self { bytes })
    }
}
