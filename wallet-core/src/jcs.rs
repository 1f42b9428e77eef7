//! RFC 8785 JSON Canonicalization Scheme (JCS), bounded: the canonical form
//! `ecdsa-jcs-2019` hashes ([`crate::ecdsa_jcs_2019`]).
//!
//! Written here rather than taken from `serde_jcs` 0.1 (already in the lock
//! through ssi), which the differential test in
//! `wallet-core/tests/suite/ecdsa_jcs.rs` showed wrong for us: it panics
//! (`todo!`) on every number with serde_json's `arbitrary_precision` (on in
//! this workspace through ssi); it sorts member names by their quoted,
//! escaped UTF-8 text, not the raw names' UTF-16 code units (§3.2.3: `""`
//! after `" "`, `"\""` after `"0"`, U+E000 before U+10000); it recurses
//! without a depth limit and writes integers beyond 2^53 digit for digit,
//! where §3.2.2.3 wants the IEEE 754 double they denote. Where both are right
//! they agree (500 generated documents). Numbers are formatted by `ryu-js`
//! (ECMAScript's algorithm, as `serde_jcs` and boa use it).
//!
//! Bounds, checked as the walk goes (no recursion on input structure beyond
//! [`MAX_DEPTH`]): nesting depth, the length of one number's text (a number
//! of a million digits is refused, not parsed), and the output size.

use serde_json::{Map, Number, Value};

/// Deepest nesting canonicalised (objects and arrays); the credentials we
/// sign nest below 10.
pub const MAX_DEPTH: usize = 64;
/// Longest number text read; a double needs at most 25 characters in its
/// shortest form, decimal inputs written with more digits are still read.
pub const MAX_NUMBER_CHARS: usize = 64;
/// Largest canonical output, in bytes.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// Why a value has no canonical form (within the bounds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsError {
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The canonical form would exceed [`MAX_OUTPUT_BYTES`].
    #[error("the canonical form exceeds {MAX_OUTPUT_BYTES} bytes")]
    TooLarge,
    /// A number that is not a finite IEEE 754 double (RFC 8785 §3.2.2.3), or
    /// whose text is longer than [`MAX_NUMBER_CHARS`].
    #[error("a number that JCS cannot represent: {0}")]
    BadNumber(String),
}

/// The RFC 8785 canonical form of `value`.
///
/// # Errors
/// [`JcsError`] beyond a bound or for a number without a double value.
pub fn canonicalize(value: &Value) -> Result<String, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value, 0)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value, depth: usize) -> Result<(), JcsError> {
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(JcsError::TooLarge);
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(JcsError::TooDeep);
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            if depth >= MAX_DEPTH {
                return Err(JcsError::TooDeep);
            }
            write_object(out, members, depth)?;
        }
    }
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(JcsError::TooLarge);
    }
    Ok(())
}

/// Members sorted by their names as UTF-16 code units (RFC 8785 §3.2.3).
fn write_object(out: &mut String, members: &Map<String, Value>, depth: usize) -> Result<(), JcsError> {
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (i, (name, member)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, member, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

/// ECMAScript `Number.prototype.toString` of the double the number denotes.
fn write_number(out: &mut String, n: &Number) -> Result<(), JcsError> {
    let text = n.to_string();
    if text.len() > MAX_NUMBER_CHARS {
        return Err(JcsError::BadNumber(format!(
            "{}… ({} characters)",
            text.chars().take(16).collect::<String>(),
            text.len()
        )));
    }
    let double = n.as_f64().filter(|d| d.is_finite()).ok_or_else(|| JcsError::BadNumber(text.clone()))?;
    if double == 0.0 {
        // -0 is written as 0 (ECMAScript).
        out.push('0');
    } else {
        out.push_str(ryu_js::Buffer::new().format_finite(double));
    }
    Ok(())
}

/// A JSON string as ECMAScript `JSON.stringify` writes it (RFC 8785 §3.2.2.2):
/// `"` and `\` escaped, the five short control escapes, other controls as
/// `\u00xx`, everything else (non-ASCII included) as it is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}
