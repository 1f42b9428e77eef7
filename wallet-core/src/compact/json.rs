//! JSON ↔ CBOR with term-coded keys and string codecs (see the module
//! documentation of [`crate::compact`] for the mapping).

use serde_json::{Map, Number, Value};

use super::cbor::{self, Reader, Token, Writer};
use super::error::{CompactError, MAX_DEPTH};
use super::licence_record::{self, TAG_LICENCE_RECORD};
use super::strings;
use crate::credential_type::TypeRegistry;

/// Tag of the record form of an object: `[mask, value…]`, where bit `i` of
/// the unsigned integer `mask` is set for each key code `i` present, and the
/// values follow in ascending key-code order (which is also the key order).
pub const TAG_RECORD: u64 = 17;

/// Tag of a number kept as its JSON literal text, for numbers whose text is
/// not what an integer or a float would print back (`1.50`, `1e5`, `-0`,
/// integers beyond 64 bits: with `arbitrary_precision`, which this workspace
/// enables, `serde_json` keeps number text as written, exponents normalised).
pub const TAG_NUMBER_LITERAL: u64 = 18;

/// Encodes one JSON document (its string values share one back-reference
/// history).
pub fn encode(types: &TypeRegistry, value: &Value) -> Result<Vec<u8>, CompactError> {
    let mut encoder = Encoder { w: Writer::default(), strings: strings::Encoder::new(types.clone()), types };
    encoder.value(value, 1)?;
    Ok(encoder.w.into_bytes())
}

/// Decodes one JSON document that must be an object and fill `bytes` exactly.
pub fn decode(types: &TypeRegistry, bytes: &[u8]) -> Result<Value, CompactError> {
    let mut decoder = Decoder { r: Reader::new(bytes), strings: strings::Decoder::new(types.clone()) };
    let value = match decoder.r.next()? {
        token @ (Token::Map(_) | Token::Tag(TAG_RECORD | TAG_LICENCE_RECORD)) => decoder.token(token, 1)?,
        _ => return Err(CompactError::NotAnObject),
    };
    match decoder.r.remaining() {
        0 => Ok(value),
        extra => Err(invalid(format!("{extra} bytes after the document"))),
    }
}

struct Encoder<'a> {
    w: Writer,
    strings: strings::Encoder<'a>,
    types: &'a TypeRegistry,
}

impl<'a> Encoder<'a> {
    /// Writes `value` at nesting depth `depth` (the top-level object is 1).
    fn value(&mut self, value: &'a Value, depth: usize) -> Result<(), CompactError> {
        match value {
            Value::Null => self.w.null(),
            Value::Bool(b) => self.w.bool(*b),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.strings.write(&mut self.w, s)?,
            Value::Array(items) => {
                check_depth(depth)?;
                self.w.array(items.len());
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            Value::Object(map) => {
                check_depth(depth)?;
                if self.licence_record(map, depth)? {
                    return Ok(());
                }
                let mask = record_mask(self.types, map);
                if let Some(mask) = mask {
                    self.w.tag(TAG_RECORD);
                    self.w.array(map.len() + 1);
                    self.w.uint(mask);
                } else {
                    self.w.map(map.len());
                }
                for (key, item) in map {
                    if mask.is_none() {
                        match self.types.key_code(key) {
                            Some(code) => self.w.int(unzigzag(code)),
                            None => self.w.text(key),
                        }
                    }
                    self.value(item, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Writes `map` as a tag 20 record when it qualifies (see
    /// [`licence_record`]); whether it did.
    fn licence_record(&mut self, map: &'a Map<String, Value>, depth: usize) -> Result<bool, CompactError> {
        let term = crate::licence_id::CREDENTIAL_TERM;
        let Some(parts) = licence_record::parts(self.types, map) else { return Ok(false) };
        let others = map.iter().filter(|(key, _)| key.as_str() != term);
        let Some(mask) = mask_of(self.types, others.clone().map(|(key, _)| key)) else { return Ok(false) };
        self.w.tag(TAG_LICENCE_RECORD);
        self.w.array(map.len() + parts.items());
        self.w.uint(mask);
        for (_, item) in others {
            self.value(item, depth + 1)?;
        }
        parts.write(&mut self.w);
        Ok(true)
    }

    /// Writes a number in the form that decodes to the same text: an
    /// integer, a float, or (if neither prints back identically) its literal.
    fn number(&mut self, n: &Number) {
        let text = n.to_string();
        if let Some(u) = n.as_u64().filter(|u| u.to_string() == text) {
            self.w.uint(u);
        } else if let Some(i) = n.as_i64().filter(|i| i.to_string() == text) {
            self.w.int(i);
        } else if let Some(f) = n.as_f64().filter(|f| Number::from_f64(*f).is_some_and(|m| m.to_string() == text)) {
            self.w.float(f);
        } else {
            self.w.tag(TAG_NUMBER_LITERAL);
            self.w.text(&text);
        }
    }
}

/// The key mask for the record form of `map`, when every key is a term with
/// a code below 64, the codes ascend, and the record is shorter than the map.
fn record_mask(types: &TypeRegistry, map: &Map<String, Value>) -> Option<u64> {
    let mask = mask_of(types, map.keys())?;
    let map_keys_len: usize =
        map.keys().filter_map(|key| types.key_code(key)).map(|code| cbor::int_len(unzigzag(code))).sum();
    let map_len = cbor::head_len(map.len() as u64) + map_keys_len;
    let record_len = cbor::head_len(TAG_RECORD) + cbor::head_len(map.len() as u64 + 1) + cbor::head_len(mask);
    (record_len < map_len).then_some(mask)
}

/// The record mask of `keys`: every key a term with a code below 64, in
/// strictly ascending code order.
fn mask_of<'k>(types: &TypeRegistry, keys: impl Iterator<Item = &'k String>) -> Option<u64> {
    let mut mask = 0u64;
    let mut previous = None;
    for key in keys {
        let code = types.key_code(key).filter(|c| *c < 64 && previous.is_none_or(|p| p < *c))?;
        previous = Some(code);
        mask |= 1 << code;
    }
    Some(mask)
}

fn check_depth(depth: usize) -> Result<(), CompactError> {
    if depth > MAX_DEPTH {
        Err(CompactError::TooDeep)
    } else {
        Ok(())
    }
}

struct Decoder<'b> {
    r: Reader<'b>,
    strings: strings::Decoder,
}

impl Decoder<'_> {
    /// Reads one value at nesting depth `depth`.
    fn value(&mut self, depth: usize) -> Result<Value, CompactError> {
        let token = self.r.next()?;
        self.token(token, depth)
    }

    fn token(&mut self, token: Token<'_>, depth: usize) -> Result<Value, CompactError> {
        Ok(match token {
            Token::Null => Value::Null,
            Token::Bool(b) => Value::Bool(b),
            Token::Uint(n) => Value::from(n),
            Token::Nint(n) => {
                let n = i64::try_from(n).map_err(|_| invalid("negative integer below -2^63"))?;
                Value::from(-1 - n)
            }
            Token::Float(f) => Value::Number(Number::from_f64(f).ok_or_else(|| invalid("NaN or infinite float"))?),
            Token::Text(s) => Value::String(self.strings.text(s)?),
            Token::Tag(TAG_RECORD) => {
                check_depth(depth)?;
                self.record(depth)?
            }
            Token::Tag(TAG_LICENCE_RECORD) => {
                check_depth(depth)?;
                self.licence_record(depth)?
            }
            Token::Tag(TAG_NUMBER_LITERAL) => Value::Number(self.number_literal()?),
            Token::Tag(tag) => Value::String(self.strings.tagged(&mut self.r, tag)?),
            Token::Bytes(_) => return Err(invalid("untagged byte string")),
            Token::Array(len) => {
                check_depth(depth)?;
                // `len` is bounded by the remaining input (cbor::Reader checks).
                let mut items = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                for _ in 0..len {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            Token::Map(len) => {
                check_depth(depth)?;
                self.map(len, depth)?
            }
        })
    }

    fn number_literal(&mut self) -> Result<Number, CompactError> {
        let wrong = || invalid(format!("tag {TAG_NUMBER_LITERAL} must enclose the text of a JSON number"));
        let Token::Text(literal) = self.r.next()? else {
            return Err(wrong());
        };
        // The parse must keep the literal exactly (it stops at the first
        // character that is not part of a number, hence the comparison).
        literal.parse::<Number>().ok().filter(|n| n.to_string() == literal).ok_or_else(wrong)
    }

    fn record(&mut self, depth: usize) -> Result<Value, CompactError> {
        let shape = || invalid(format!("tag {TAG_RECORD} must enclose [mask, one value per mask bit]"));
        let (Token::Array(len), Token::Uint(mask)) = (self.r.next()?, self.r.next()?) else {
            return Err(shape());
        };
        if u64::from(mask.count_ones()) + 1 != len {
            return Err(shape());
        }
        Ok(Value::Object(self.record_values(mask, depth)?))
    }

    /// Tag 20: a record with the parts of its 证照标识 after its values.
    fn licence_record(&mut self, depth: usize) -> Result<Value, CompactError> {
        let shape = || {
            invalid(format!(
                "tag {TAG_LICENCE_RECORD} must enclose [mask, one value per mask bit, authority, serial(, version)] \
                 of a valid licence identifier for the record's type"
            ))
        };
        let (Token::Array(len), Token::Uint(mask)) = (self.r.next()?, self.r.next()?) else {
            return Err(shape());
        };
        let parts = len.checked_sub(u64::from(mask.count_ones()) + 1).ok_or_else(shape)?;
        let map = self.record_values(mask, depth)?;
        let parts = licence_record::LicenceParts::read(&mut self.r, parts).ok_or_else(shape)?;
        let map = licence_record::assemble(self.strings.types(), map, parts).ok_or_else(shape)?;
        Ok(Value::Object(map))
    }

    /// The values of a record with key mask `mask`, in key-code order.
    fn record_values(&mut self, mask: u64, depth: usize) -> Result<Map<String, Value>, CompactError> {
        let mut map = Map::new();
        for code in (0..64).filter(|bit| mask & (1 << bit) != 0) {
            let key = self.strings.types().key(code).map(str::to_owned).ok_or(CompactError::UnknownTermCode(code))?;
            let value = self.value(depth + 1)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    fn map(&mut self, len: u64, depth: usize) -> Result<Value, CompactError> {
        let mut map = Map::new();
        for _ in 0..len {
            let key = match self.r.next()? {
                Token::Text(k) => k.to_owned(),
                Token::Uint(n) => term_key(self.strings.types(), zigzag_uint(n))?,
                Token::Nint(n) => term_key(self.strings.types(), zigzag_nint(n))?,
                _ => return Err(invalid("map key must be a term code or a text string")),
            };
            let value = self.value(depth + 1)?;
            if map.contains_key(&key) {
                return Err(invalid(format!("duplicate key {key:?}")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

fn term_key(types: &TypeRegistry, code: Option<u64>) -> Result<String, CompactError> {
    // A code that does not even fit u64 cannot be in the table either.
    let code = code.ok_or(CompactError::UnknownTermCode(u64::MAX))?;
    types.key(code).map(str::to_owned).ok_or(CompactError::UnknownTermCode(code))
}

/// Key code → CBOR integer: even codes to `c / 2`, odd ones to `-(c + 1) / 2`.
/// Term codes are table positions, far below `i64::MAX`.
fn unzigzag(code: u64) -> i64 {
    let half = (code >> 1) as i64;
    if code & 1 == 0 {
        half
    } else {
        -half - 1
    }
}

/// CBOR unsigned integer `n` → key code `2n` (if it fits).
fn zigzag_uint(n: u64) -> Option<u64> {
    n.checked_mul(2)
}

/// CBOR negative integer `-1 - n` → key code `2n + 1` (if it fits).
fn zigzag_nint(n: u64) -> Option<u64> {
    n.checked_mul(2)?.checked_add(1)
}

fn invalid(msg: impl Into<String>) -> CompactError {
    CompactError::InvalidCbor(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zigzag_key_codes() {
        for code in 0..200u64 {
            let n = unzigzag(code);
            let back = if n >= 0 { zigzag_uint(n as u64) } else { zigzag_nint(!(n as u64)) };
            assert_eq!(back, Some(code));
        }
        assert_eq!((unzigzag(0), unzigzag(1), unzigzag(2), unzigzag(47)), (0, -1, 1, -24));
    }

    #[test]
    fn known_keys_take_one_byte() {
        let doc = json!({"@context": null, "renderMethod": null});
        assert_eq!(encode(&TypeRegistry::default(), &doc), Ok(vec![0xa2, 0x00, 0xf6, 0x37, 0xf6]));
    }

    #[test]
    fn numbers_keep_their_literal_text() {
        let text = r#"{"n":[0,-1,18446744073709551615,-9223372036854775808,1.5,0.1,100000.0,1e21,-0.0,
            1.50,1e5,1E5,-0,0.10,123456789012345678901234567890,1e400,2.5e-3]}"#;
        let doc: Value = serde_json::from_str(text).expect("JSON");
        let bytes = encode(&TypeRegistry::default(), &doc).expect("encodes");
        let back = decode(&TypeRegistry::default(), &bytes).expect("decodes");
        assert_eq!(serde_json::to_string(&back).expect("serializes"), serde_json::to_string(&doc).expect("serializes"));
        assert_eq!(back, doc);
        // Integers and canonical floats are CBOR numbers; the rest are tag 18 literals.
        let literals = bytes.windows(2).filter(|w| w[0] == 0xd2 && w[1] & 0xe0 == 0x60).count();
        assert_eq!(literals, 8, "{}", serde_json::to_string(&doc).expect("serializes"));
    }

    #[test]
    fn number_literals_are_validated() {
        for bad in [&b"\xa1\x00\xd2\x63abc"[..], b"\xa1\x00\xd2\x641.5x", b"\xa1\x00\xd2\x61\x20", b"\xa1\x00\xd2\x01"]
        {
            assert_eq!(
                decode(&TypeRegistry::default(), bad),
                Err(invalid("tag 18 must enclose the text of a JSON number")),
                "{bad:02x?}"
            );
        }
    }

    #[test]
    fn depth_is_limited_both_ways() {
        let mut deep = json!(1);
        for _ in 1..MAX_DEPTH {
            deep = json!([deep]);
        }
        let doc = json!({ "x": deep });
        let bytes = encode(&TypeRegistry::default(), &doc).expect("exactly MAX_DEPTH levels");
        assert_eq!(decode(&TypeRegistry::default(), &bytes), Ok(doc));
        assert_eq!(encode(&TypeRegistry::default(), &json!({ "x": [deep] })), Err(CompactError::TooDeep));
        let mut bomb = vec![0xa1, 0x00];
        bomb.extend(std::iter::repeat_n(0x81u8, 100_000));
        bomb.push(0x01);
        assert_eq!(decode(&TypeRegistry::default(), &bomb), Err(CompactError::TooDeep));
    }

    #[test]
    fn malformed_structures_are_errors() {
        let cases: &[(&[u8], CompactError)] = &[
            (&[0xa1, 0x41, 0x00, 0x00], invalid("map key must be a term code or a text string")),
            (&[0xa2, 0x00, 0x00, 0x00, 0x00], invalid("duplicate key \"@context\"")),
            (&[0xa1, 0x18, 0x64, 0x00], CompactError::UnknownTermCode(200)),
            (
                &[0xa1, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00],
                CompactError::UnknownTermCode(u64::MAX),
            ),
            (&[0xa1, 0x00, 0x41, 0x00], invalid("untagged byte string")),
            (&[0xa1, 0x00, 0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0], invalid("negative integer below -2^63")),
            (&[0xa1, 0x00, 0xf9, 0x7e, 0x00], invalid("NaN or infinite float")),
            (&[0xa1, 0x00, 0x82, 0x00], CompactError::Truncated),
            (&[0xa0, 0x00], invalid("1 bytes after the document")),
            (&[0x80], CompactError::NotAnObject),
            (&[], CompactError::Truncated),
        ];
        for (bytes, err) in cases {
            assert_eq!(decode(&TypeRegistry::default(), bytes).as_ref(), Err(err), "{bytes:02x?}");
        }
    }
}
