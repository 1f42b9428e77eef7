//! JSON ↔ CBOR with term-coded keys and string codecs (see the module
//! documentation of [`crate::compact`] for the mapping).

use serde_json::{Map, Number, Value};

use super::cbor::{Reader, Token, Writer};
use super::{strings, terms, CompactError, MAX_DEPTH};

/// Writes `value` (at nesting depth `depth`, the top-level object being 1).
pub fn write(w: &mut Writer, value: &Value, depth: usize) -> Result<(), CompactError> {
    match value {
        Value::Null => w.null(),
        Value::Bool(b) => w.bool(*b),
        Value::Number(n) => write_number(w, n)?,
        Value::String(s) => strings::write(w, s),
        Value::Array(items) => {
            check_depth(depth)?;
            w.array(items.len());
            for item in items {
                write(w, item, depth + 1)?;
            }
        }
        Value::Object(map) => {
            check_depth(depth)?;
            w.map(map.len());
            for (key, item) in map {
                match terms::key_code(key) {
                    Some(code) => w.int(unzigzag(code)),
                    None => w.text(key),
                }
                write(w, item, depth + 1)?;
            }
        }
    }
    Ok(())
}

fn write_number(w: &mut Writer, n: &Number) -> Result<(), CompactError> {
    if let Some(u) = n.as_u64() {
        w.uint(u);
    } else if let Some(i) = n.as_i64() {
        w.int(i);
    } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
        w.float(f);
    } else {
        return Err(CompactError::Unrepresentable(format!("number {n}")));
    }
    Ok(())
}

fn check_depth(depth: usize) -> Result<(), CompactError> {
    if depth > MAX_DEPTH {
        Err(CompactError::TooDeep)
    } else {
        Ok(())
    }
}

/// Reads the whole document: one map, the credential object.
pub fn read_document(r: &mut Reader<'_>) -> Result<Value, CompactError> {
    match r.next()? {
        token @ Token::Map(_) => read_token(r, token, 1),
        _ => Err(CompactError::NotAnObject),
    }
}

/// Reads one JSON value (at nesting depth `depth`).
pub fn read(r: &mut Reader<'_>, depth: usize) -> Result<Value, CompactError> {
    let token = r.next()?;
    read_token(r, token, depth)
}

fn read_token(r: &mut Reader<'_>, token: Token<'_>, depth: usize) -> Result<Value, CompactError> {
    Ok(match token {
        Token::Null => Value::Null,
        Token::Bool(b) => Value::Bool(b),
        Token::Uint(n) => Value::from(n),
        Token::Nint(n) => {
            let n = i64::try_from(n).map_err(|_| invalid("negative integer below -2^63"))?;
            Value::from(-1 - n)
        }
        Token::Float(f) => {
            Value::Number(Number::from_f64(f).ok_or_else(|| invalid("NaN or infinite float"))?)
        }
        Token::Text(s) => Value::String(s.to_owned()),
        Token::Tag(tag) => Value::String(strings::read_tagged(r, tag)?),
        Token::Bytes(_) => return Err(invalid("untagged byte string")),
        Token::Array(len) => {
            check_depth(depth)?;
            // `len` is bounded by the remaining input (cbor::Reader checks).
            let mut items = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            for _ in 0..len {
                items.push(read(r, depth + 1)?);
            }
            Value::Array(items)
        }
        Token::Map(len) => {
            check_depth(depth)?;
            read_map(r, len, depth)?
        }
    })
}

fn read_map(r: &mut Reader<'_>, len: u64, depth: usize) -> Result<Value, CompactError> {
    let mut map = Map::new();
    for _ in 0..len {
        let key = match r.next()? {
            Token::Text(k) => k.to_owned(),
            Token::Uint(n) => term_key(zigzag_uint(n))?,
            Token::Nint(n) => term_key(zigzag_nint(n))?,
            _ => return Err(invalid("map key must be a term code or a text string")),
        };
        let value = read(r, depth + 1)?;
        if map.contains_key(&key) {
            return Err(invalid(format!("duplicate key {key:?}")));
        }
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

fn term_key(code: Option<u64>) -> Result<String, CompactError> {
    // A code that does not even fit u64 cannot be in the table either.
    let code = code.ok_or(CompactError::UnknownTermCode(u64::MAX))?;
    terms::key(code)
        .map(str::to_owned)
        .ok_or(CompactError::UnknownTermCode(code))
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
            let back = if n >= 0 {
                zigzag_uint(n as u64)
            } else {
                zigzag_nint(!(n as u64))
            };
            assert_eq!(back, Some(code));
        }
        assert_eq!(
            (unzigzag(0), unzigzag(1), unzigzag(2), unzigzag(47)),
            (0, -1, 1, -24)
        );
    }

    #[test]
    fn known_keys_take_one_byte() {
        let mut w = Writer::default();
        write(&mut w, &json!({"@context": null, "renderMethod": null}), 1).expect("encodes");
        assert_eq!(w.into_bytes(), [0xa2, 0x00, 0xf6, 0x37, 0xf6]);
    }

    #[test]
    fn depth_is_limited_both_ways() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        let mut w = Writer::default();
        assert_eq!(write(&mut w, &deep, 1), Ok(()));
        let bytes = w.into_bytes();
        assert_eq!(read(&mut Reader::new(&bytes), 1).as_ref(), Ok(&deep));
        let mut w = Writer::default();
        assert_eq!(write(&mut w, &json!([deep]), 1), Err(CompactError::TooDeep));
        let mut bomb = vec![0x81u8; 100_000];
        bomb.push(0x01);
        assert_eq!(read(&mut Reader::new(&bomb), 1), Err(CompactError::TooDeep));
    }

    #[test]
    fn malformed_structures_are_errors() {
        let cases: &[(&[u8], CompactError)] = &[
            (
                &[0xa1, 0x41, 0x00, 0x00],
                invalid("map key must be a term code or a text string"),
            ),
            (
                &[0xa2, 0x00, 0x00, 0x00, 0x00],
                invalid("duplicate key \"@context\""),
            ),
            (
                &[0xa1, 0x18, 0x64, 0x00],
                CompactError::UnknownTermCode(200),
            ),
            (
                &[
                    0xa1, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                ],
                CompactError::UnknownTermCode(u64::MAX),
            ),
            (&[0x41, 0x00], invalid("untagged byte string")),
            (
                &[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0],
                invalid("negative integer below -2^63"),
            ),
            (&[0xf9, 0x7e, 0x00], invalid("NaN or infinite float")),
            (&[0x82, 0x00], CompactError::Truncated),
        ];
        for (bytes, err) in cases {
            assert_eq!(
                read(&mut Reader::new(bytes), 1).as_ref(),
                Err(err),
                "{bytes:02x?}"
            );
        }
    }
}
