//! Base58btc (the Bitcoin alphabet), as used by multibase `z…` values and
//! `did:key` identifiers: the `bs58` crate's (already used for did:key), under
//! the names the codec uses. Quadratic in the input length, so callers bound it.

/// Encodes `data`; every leading zero byte becomes a leading `1`.
pub fn encode(data: &[u8]) -> String {
    bs58::encode(data).into_string()
}

/// Decodes base58btc text; `None` for any character outside the alphabet.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    bs58::decode(text).into_vec().ok()
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
