//! Base45 (RFC 9285): two bytes become three characters of the QR code
//! alphanumeric set, so the whole payload fits the denser alphanumeric mode.

use super::error::CompactError;

/// The 45 characters, in value order (RFC 9285 §4).
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Encodes `data` as Base45.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(2) * 3);
    let (pairs, rest) = data.as_chunks::<2>();
    for &[a, b] in pairs {
        push_digits(&mut out, u32::from(a) * 256 + u32::from(b), 3);
    }
    if let [last] = *rest {
        push_digits(&mut out, u32::from(last), 2);
    }
    out
}

/// Appends `n` as `count` base-45 digits, least significant first.
#[allow(clippy::indexing_slicing)] // n % 45 < 45 = ALPHABET.len()
fn push_digits(out: &mut String, mut n: u32, count: usize) {
    for _ in 0..count {
        // n % 45 < 45 indexes the alphabet.
        out.push(char::from(ALPHABET[(n % 45) as usize]));
        n /= 45;
    }
}

/// Decodes strict Base45: only the 45 alphabet characters (upper case), a
/// length that is not 1 modulo 3, and groups within range.
///
/// Text that stops inside a three-character group is reported as
/// [`CompactError::Truncated`]: a length of 1 modulo 3, or a final pair whose
/// value exceeds 255 (which a cut-off triple produces, but no encoder does).
/// A character outside the alphabet or a triple above 65535 is
/// [`CompactError::InvalidBase45`] with the character position.
pub fn decode(text: &str) -> Result<Vec<u8>, CompactError> {
    let values = text
        .bytes()
        .enumerate()
        .map(|(position, c)| {
            ALPHABET.iter().position(|a| *a == c).map(|v| v as u32).ok_or(CompactError::InvalidBase45 { position })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    if values.len() % 3 == 1 {
        return Err(CompactError::Truncated);
    }
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    let (groups, rest) = values.as_chunks::<3>();
    for (group, &[a, b, c]) in groups.iter().enumerate() {
        let pair =
            u16::try_from(a + b * 45 + c * 45 * 45).map_err(|_| CompactError::InvalidBase45 { position: group * 3 })?;
        out.extend_from_slice(&pair.to_be_bytes());
    }
    if let [c, d] = *rest {
        out.push(u8::try_from(c + d * 45).map_err(|_| CompactError::Truncated)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of RFC 9285 §4.3 and §4.4.
    #[test]
    fn rfc_9285_examples() {
        for (plain, encoded) in
            [("AB", "BB8"), ("Hello!!", "%69 VD92EX0"), ("base-45", "UJCLQE7W581"), ("ietf!", "QED8WEX0")]
        {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Ok(plain.as_bytes()));
        }
        assert_eq!(encode(b""), "");
        assert_eq!(decode(""), Ok(vec![]));
    }

    #[test]
    fn every_byte_pair_round_trips() {
        let data: Vec<u8> = (0..=255u8).flat_map(|a| [a, a.wrapping_mul(7), 255 - a]).collect();
        assert_eq!(decode(&encode(&data)), Ok(data));
    }

    #[test]
    fn strict_decoding_errors() {
        // RFC 9285 §4.4: "GGW" is 65535 + 1 → out of range.
        assert_eq!(decode("GGW"), Err(CompactError::InvalidBase45 { position: 0 }));
        assert_eq!(decode("BB8GGW"), Err(CompactError::InvalidBase45 { position: 3 }));
        // A final pair above 255: the start of a triple that was cut off.
        assert_eq!(decode("BB8:6"), Err(CompactError::Truncated));
        assert_eq!(decode("bb8"), Err(CompactError::InvalidBase45 { position: 0 }));
        assert_eq!(decode("BB8BB="), Err(CompactError::InvalidBase45 { position: 5 }));
        assert_eq!(decode("BB8é"), Err(CompactError::InvalidBase45 { position: 3 }));
        assert_eq!(decode("BB8B"), Err(CompactError::Truncated));
    }
}
