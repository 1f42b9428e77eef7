//! Lower-case hex (de)serialisation of hashes in JSON.

/// One 32-byte hash as a 64-character hex string.
pub(crate) mod hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::super::hash::Hash;

    pub(crate) fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(hash))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        super::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A list of 32-byte hashes as hex strings.
pub(crate) mod hashes {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::super::hash::Hash;

    pub(crate) fn serialize<S: Serializer>(hashes: &[Hash], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(hashes.len()))?;
        for hash in hashes {
            seq.serialize_element(&hex::encode(hash))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Hash>, D::Error> {
        let strings = Vec::<String>::deserialize(deserializer)?;
        if strings.len() > super::MAX_PROOF_HASHES {
            return Err(serde::de::Error::custom("too many hashes"));
        }
        strings.iter().map(|s| super::parse(s).map_err(serde::de::Error::custom)).collect()
    }
}

/// No valid proof of a tree with at most 2^64 leaves has more hashes.
const MAX_PROOF_HASHES: usize = 128;

fn parse(s: &str) -> Result<super::hash::Hash, &'static str> {
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("expected 64 lower-case hex characters");
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| "expected 64 lower-case hex characters")?;
    Ok(out)
}
