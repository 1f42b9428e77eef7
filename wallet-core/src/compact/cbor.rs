//! The small CBOR (RFC 8949) subset the compact form uses: definite-length
//! items only, written with the shortest head. The reader works on a byte
//! slice, never allocates more than the input can back, and reports every
//! problem as a [`CompactError`] value.

use super::error::CompactError;

/// Major types (RFC 8949 §3.1).
const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;
const SIMPLE: u8 = 7;

/// Number of bytes of the shortest head carrying `arg`.
pub const fn head_len(arg: u64) -> usize {
    if arg < 24 {
        1
    } else if arg <= 0xff {
        2
    } else if arg <= 0xffff {
        3
    } else if arg <= 0xffff_ffff {
        5
    } else {
        9
    }
}

/// Encoded size of a definite-length text or byte string of `len` bytes.
pub const fn string_len(len: usize) -> usize {
    head_len(len as u64) + len
}

/// Encoded size of the integer `n`.
pub const fn int_len(n: i64) -> usize {
    if n >= 0 {
        head_len(n as u64)
    } else {
        head_len(!(n as u64))
    }
}

/// Appends CBOR items to a byte vector.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn head(&mut self, major: u8, arg: u64) {
        let m = major << 5;
        // The `as` casts below are exact: each branch checked the range.
        if arg < 24 {
            self.buf.push(m | arg as u8);
        } else if arg <= 0xff {
            self.buf.extend_from_slice(&[m | 24, arg as u8]);
        } else if arg <= 0xffff {
            self.buf.push(m | 25);
            self.buf.extend_from_slice(&(arg as u16).to_be_bytes());
        } else if arg <= 0xffff_ffff {
            self.buf.push(m | 26);
            self.buf.extend_from_slice(&(arg as u32).to_be_bytes());
        } else {
            self.buf.push(m | 27);
            self.buf.extend_from_slice(&arg.to_be_bytes());
        }
    }

    /// An unsigned integer.
    pub fn uint(&mut self, n: u64) {
        self.head(UINT, n);
    }

    /// A signed integer (major type 0 or 1).
    pub fn int(&mut self, n: i64) {
        if n >= 0 {
            self.head(UINT, n as u64);
        } else {
            // -1 - n, computed without overflow for i64::MIN.
            self.head(NINT, !(n as u64));
        }
    }

    /// A byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.head(BYTES, b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// A text string.
    pub fn text(&mut self, s: &str) {
        self.head(TEXT, s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// The head of an array of `len` items.
    pub fn array(&mut self, len: usize) {
        self.head(ARRAY, len as u64);
    }

    /// The head of a map of `len` pairs.
    pub fn map(&mut self, len: usize) {
        self.head(MAP, len as u64);
    }

    /// A tag head; the tagged item follows.
    pub fn tag(&mut self, tag: u64) {
        self.head(TAG, tag);
    }

    /// `false` / `true`.
    pub fn bool(&mut self, b: bool) {
        self.buf.push(SIMPLE << 5 | if b { 21 } else { 20 });
    }

    /// `null`.
    pub fn null(&mut self) {
        self.buf.push(SIMPLE << 5 | 22);
    }

    /// A float: single precision when that is exact, otherwise double.
    pub fn float(&mut self, f: f64) {
        let single = f as f32;
        if f64::from(single).to_bits() == f.to_bits() {
            self.buf.push(SIMPLE << 5 | 26);
            self.buf.extend_from_slice(&single.to_be_bytes());
        } else {
            self.buf.push(SIMPLE << 5 | 27);
            self.buf.extend_from_slice(&f.to_be_bytes());
        }
    }
}

/// One decoded CBOR head (with the payload of byte and text strings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token<'a> {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3 (valid UTF-8).
    Text(&'a str),
    /// Major type 4: number of items that follow.
    Array(u64),
    /// Major type 5: number of pairs that follow.
    Map(u64),
    /// Major type 6: the tagged item follows.
    Tag(u64),
    /// `false` / `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// Half, single or double precision float.
    Float(f64),
}

/// Reads CBOR tokens from a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CompactError> {
        let end = self.pos.checked_add(n).ok_or(CompactError::Truncated)?;
        let out = self.data.get(self.pos..end).ok_or(CompactError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], CompactError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A count or length that must be backed by at least `unit` bytes per
    /// element still in the input: refuses absurd lengths before anyone
    /// allocates for them.
    fn backed_len(&self, n: u64, unit: usize) -> Result<usize, CompactError> {
        usize::try_from(n)
            .ok()
            .filter(|n| n.checked_mul(unit).is_some_and(|bytes| bytes <= self.remaining()))
            .ok_or(CompactError::Truncated)
    }

    /// Reads the next token.
    pub fn next(&mut self) -> Result<Token<'a>, CompactError> {
        let [initial] = self.take_array::<1>()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if major == SIMPLE {
            return match info {
                20 => Ok(Token::Bool(false)),
                21 => Ok(Token::Bool(true)),
                22 => Ok(Token::Null),
                25 => Ok(Token::Float(f16_to_f64(u16::from_be_bytes(self.take_array()?)))),
                26 => Ok(Token::Float(f64::from(f32::from_be_bytes(self.take_array()?)))),
                27 => Ok(Token::Float(f64::from_be_bytes(self.take_array()?))),
                31 => Err(invalid("unexpected break code")),
                _ => Err(invalid(format!("unsupported simple value (additional information {info})"))),
            };
        }
        let arg = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take_array::<1>()?[0]),
            25 => u64::from(u16::from_be_bytes(self.take_array()?)),
            26 => u64::from(u32::from_be_bytes(self.take_array()?)),
            27 => u64::from_be_bytes(self.take_array()?),
            31 => return Err(invalid("indefinite-length items are not used")),
            _ => return Err(invalid(format!("reserved additional information {info}"))),
        };
        Ok(match major {
            UINT => Token::Uint(arg),
            NINT => Token::Nint(arg),
            BYTES => {
                let len = self.backed_len(arg, 1)?;
                Token::Bytes(self.take(len)?)
            }
            TEXT => {
                let len = self.backed_len(arg, 1)?;
                let start = self.pos;
                let raw = self.take(len)?;
                Token::Text(
                    std::str::from_utf8(raw)
                        .map_err(|_| invalid(format!("text string at byte {start} is not UTF-8")))?,
                )
            }
            // Every item takes at least one byte, every pair two.
            ARRAY => Token::Array(self.backed_len(arg, 1)? as u64),
            MAP => Token::Map(self.backed_len(arg, 2)? as u64),
            // TAG is the only major type left (major is three bits).
            _ => Token::Tag(arg),
        })
    }
}

fn invalid(msg: impl Into<String>) -> CompactError {
    CompactError::InvalidCbor(msg.into())
}

/// IEEE 754 half precision to double (RFC 8949 Appendix D).
fn f16_to_f64(half: u16) -> f64 {
    let exp = (half >> 10) & 0x1f;
    let mant = f64::from(half & 0x3ff);
    let val = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * 2f64.powi(i32::from(exp) - 25),
    };
    if half & 0x8000 != 0 {
        -val
    } else {
        val
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        f(&mut w);
        w.into_bytes()
    }

    #[test]
    fn heads_are_shortest_and_match_rfc_8949_appendix_a() {
        assert_eq!(written(|w| w.uint(23)), [0x17]);
        assert_eq!(written(|w| w.uint(24)), [0x18, 0x18]);
        assert_eq!(written(|w| w.uint(1000)), [0x19, 0x03, 0xe8]);
        assert_eq!(written(|w| w.uint(1_000_000)), [0x1a, 0x00, 0x0f, 0x42, 0x40]);
        assert_eq!(written(|w| w.uint(u64::MAX)), [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(written(|w| w.int(-1)), [0x20]);
        assert_eq!(written(|w| w.int(-1000)), [0x39, 0x03, 0xe7]);
        assert_eq!(written(|w| w.int(i64::MIN)), [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(written(|w| w.float(1.5)), [0xfa, 0x3f, 0xc0, 0x00, 0x00]);
        assert_eq!(written(|w| w.float(1.1)), [0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]);
        assert_eq!(written(|w| w.text("IETF")), [0x64, 0x49, 0x45, 0x54, 0x46]);
        for n in [0u64, 23, 24, 255, 256, 65535, 65536, u64::from(u32::MAX), u64::from(u32::MAX) + 1] {
            assert_eq!(written(|w| w.uint(n)).len(), head_len(n));
        }
        assert_eq!(int_len(-24), 1);
        assert_eq!(int_len(-25), 2);
    }

    #[test]
    fn reader_round_trips_every_token() {
        let bytes = written(|w| {
            w.array(9);
            w.uint(500);
            w.int(-500);
            w.bytes(&[1, 2, 3]);
            w.text("ü");
            w.map(0);
            w.tag(1);
            w.bool(true);
            w.null();
            w.float(-0.0);
        });
        let mut r = Reader::new(&bytes);
        let expected = [
            Token::Array(9),
            Token::Uint(500),
            Token::Nint(499),
            Token::Bytes(&[1, 2, 3]),
            Token::Text("ü"),
            Token::Map(0),
            Token::Tag(1),
            Token::Bool(true),
            Token::Null,
        ];
        for t in expected {
            assert_eq!(r.next(), Ok(t));
        }
        assert!(matches!(r.next(), Ok(Token::Float(f)) if f == 0.0 && f.is_sign_negative()));
        assert_eq!(r.remaining(), 0);
        assert_eq!(r.next(), Err(CompactError::Truncated));
    }

    #[test]
    fn half_floats_decode() {
        for (bits, value) in [(0x3c00u16, 1.0), (0xc400, -4.0), (0x7bff, 65504.0), (0x0001, 5.960464477539063e-8)] {
            let bytes = [0xf9, (bits >> 8) as u8, bits as u8];
            assert_eq!(Reader::new(&bytes).next(), Ok(Token::Float(value)));
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_an_allocation() {
        // A byte string claiming 2^63 bytes, an array claiming 2^32 items.
        assert_eq!(Reader::new(&[0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0]).next(), Err(CompactError::Truncated));
        assert_eq!(Reader::new(&[0x9a, 0xff, 0xff, 0xff, 0xff]).next(), Err(CompactError::Truncated));
        assert_eq!(Reader::new(&[0x19, 0x01]).next(), Err(CompactError::Truncated));
        assert!(matches!(Reader::new(&[0x9f]).next(), Err(CompactError::InvalidCbor(_))));
        assert!(matches!(Reader::new(&[0x1c]).next(), Err(CompactError::InvalidCbor(_))));
        assert!(matches!(Reader::new(&[0xf7]).next(), Err(CompactError::InvalidCbor(_))));
        assert!(matches!(Reader::new(&[0x62, 0xff, 0xfe]).next(), Err(CompactError::InvalidCbor(_))));
    }
}
