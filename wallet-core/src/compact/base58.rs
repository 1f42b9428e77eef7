//! Base58btc (the Bitcoin alphabet), as used by multibase `z…` values and
//! `did:key` identifiers. Quadratic in the input length, so callers bound it.

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Encodes `data`; every leading zero byte becomes a leading `1`.
pub fn encode(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|b| **b == 0).count();
    // Little-endian base-58 digits of the big-endian number in `data`.
    let mut digits: Vec<u8> = Vec::with_capacity(data.len() * 138 / 100 + 1);
    for &byte in data.iter().skip(zeros) {
        let mut carry = u32::from(byte);
        for d in &mut digits {
            carry += u32::from(*d) << 8;
            // carry % 58 < 58 fits a u8.
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    // Every digit is below 58 = ALPHABET.len().
    out.extend(digits.iter().rev().filter_map(|d| ALPHABET.get(usize::from(*d))).map(|c| char::from(*c)));
    out
}

/// Decodes base58btc text; `None` for any character outside the alphabet.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let ones = text.bytes().take_while(|c| *c == b'1').count();
    // Little-endian base-256 digits.
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len() * 733 / 1000 + 1);
    for c in text.bytes().skip(ones) {
        let mut carry = ALPHABET.iter().position(|a| *a == c)? as u32;
        for b in &mut bytes {
            carry += u32::from(*b) * 58;
            // Truncation to the low byte is the point.
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push(carry as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; ones];
    out.extend(bytes.iter().rev());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // draft-msporny-base58 §5 test vectors.
        assert_eq!(encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
        assert_eq!(
            encode(b"The quick brown fox jumps over the lazy dog."),
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"
        );
        assert_eq!(encode(&[0, 0, 0x28, 0x7f, 0xb4, 0xcd]), "11233QC4");
        assert_eq!(decode("11233QC4"), Some(vec![0, 0, 0x28, 0x7f, 0xb4, 0xcd]));
        assert_eq!(encode(&[]), "");
        assert_eq!(decode(""), Some(vec![]));
        assert_eq!(decode("0OIl"), None);
    }

    #[test]
    fn p256_did_key_decodes_to_multicodec_and_compressed_point() {
        let bytes = decode("DnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169").expect("valid base58");
        assert_eq!(bytes.len(), 35);
        assert_eq!(&bytes[..2], &[0x80, 0x24], "p256-pub multicodec varint");
        assert_eq!(encode(&bytes), "DnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169");
    }

    #[test]
    fn round_trips_random_data() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(58);
        for len in 0..80 {
            let mut data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if len % 5 == 0 && len > 0 {
                data[0] = 0;
            }
            assert_eq!(decode(&encode(&data)), Some(data));
        }
    }
}
