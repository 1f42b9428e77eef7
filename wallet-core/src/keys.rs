//! Issuer signing keys (P-256) and their `did:key` identifiers.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

/// Multicodec varint prefix of a compressed P-256 public key (`p256-pub`, 0x1200).
const P256_PUB_MULTICODEC: [u8; 2] = [0x80, 0x24];

/// Longest base58btc method-specific id of a `did:key` we decode: the keys we
/// accept (P-256, P-384, Ed25519, SM2) are under 80 characters. Base58
/// decoding is quadratic in its input (100,000 characters took 1.7 s here), so
/// every decoder of a did:key from outside input checks this first.
pub const MAX_DID_KEY_ID_CHARS: usize = 128;

/// Errors handling key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM/PKCS#8 document could not be parsed as a P-256 private key.
    #[error("not a P-256 PKCS#8 private key: {0}")]
    InvalidPrivateKey(String),
    /// A `did:key` that is not a P-256 key.
    #[error("not a P-256 did:key: {0}")]
    NotP256DidKey(String),
}

/// A P-256 issuer signing key. Its secret never leaves this type except as
/// PKCS#8 PEM for storage; `Debug` does not print it.
///
/// It holds the ECDSA signing key, which carries the public key: deriving the
/// public key costs a scalar multiplication, as much as a signature, and an
/// issuer asks for it (its did, its verification method) several times per
/// credential.
#[derive(Clone)]
pub struct IssuerKey {
    signing: p256::ecdsa::SigningKey,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey").field("did", &self.did()).finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// Generate a fresh key from the operating system's RNG.
    pub fn generate() -> Self {
        Self::from_secret(&p256::SecretKey::random(&mut rand::rngs::OsRng))
    }

    fn from_secret(secret: &p256::SecretKey) -> Self {
        Self { signing: p256::ecdsa::SigningKey::from(secret) }
    }

    /// Parse a PKCS#8 PEM private key.
    ///
    /// # Errors
    /// [`KeyError::InvalidPrivateKey`] when it is not a P-256 PKCS#8 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        p256::SecretKey::from_pkcs8_pem(pem)
            .map(|secret| Self::from_secret(&secret))
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// Serialize as unencrypted PKCS#8 PEM (for a file readable only by the service).
    ///
    /// # Errors
    /// Only if the encoder fails, which does not happen for a valid key.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        p256::SecretKey::from(&self.signing)
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// The public key.
    pub fn public_key(&self) -> p256::PublicKey {
        p256::PublicKey::from(self.signing.verifying_key())
    }

    /// The Multikey `publicKeyMultibase` (`zDn…`) of the public key.
    pub fn public_key_multibase(&self) -> String {
        public_key_multibase(&self.public_key())
    }

    /// `did:key:zDn…` naming this key.
    pub fn did(&self) -> String {
        format!("did:key:{}", self.public_key_multibase())
    }

    /// The verification method URL used in proofs: `did:key:zX#zX`.
    pub fn verification_method(&self) -> String {
        let mb = self.public_key_multibase();
        format!("did:key:{mb}#{mb}")
    }

    /// ES256: an ECDSA P-256 signature of SHA-256(`message`) (RFC 6979
    /// nonces), as the 64 bytes `r ‖ s`: byte for byte the `p256` crate's,
    /// computed with the precomputed generator table (`p256_signing`).
    pub(crate) fn sign_es256(&self, message: &[u8]) -> [u8; 64] {
        use p256::ecdsa::signature::Signer as _;
        let signature = crate::p256_signing::sign(self.signing.as_nonzero_scalar(), message)
            // Only where the `p256` signer fails too (r or s zero): its answer.
            .unwrap_or_else(|| self.signing.sign(message));
        signature.to_bytes().into()
    }
}

/// The Multikey `publicKeyMultibase` of a P-256 public key: base58btc of the
/// multicodec-prefixed compressed point.
pub fn public_key_multibase(key: &p256::PublicKey) -> String {
    let mut bytes = P256_PUB_MULTICODEC.to_vec();
    bytes.extend_from_slice(key.to_encoded_point(true).as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Parse a `did:key` (optionally with a `#fragment`) naming a P-256 key.
///
/// Decoding a compressed point takes a field square root, which cost as much
/// as a fifth of a whole verification (issue #16), and every verification
/// decodes the signer's key more than once (the proof, the log, the trust
/// check): decoded keys are kept in [`DecodedKeys`], by method-specific id.
///
/// # Errors
/// [`KeyError::NotP256DidKey`] for anything else.
pub fn p256_key_from_did(did: &str) -> Result<p256::PublicKey, KeyError> {
    let err = || KeyError::NotP256DidKey(did.chars().take(120).collect());
    let rest = did.strip_prefix("did:key:z").ok_or_else(err)?;
    let rest = rest.split('#').next().unwrap_or(rest);
    if rest.len() > MAX_DID_KEY_ID_CHARS {
        return Err(err());
    }
    if let Some(key) = DECODED_KEYS.get(rest) {
        return Ok(key);
    }
    let bytes = bs58::decode(rest).into_vec().map_err(|_| err())?;
    let point = bytes.strip_prefix(&P256_PUB_MULTICODEC[..]).ok_or_else(err)?;
    let key = p256::PublicKey::from_sec1_bytes(point).map_err(|_| err())?;
    DECODED_KEYS.insert(rest, key);
    Ok(key)
}

/// The P-256 keys decoded lately, by `did:key` method-specific id (without
/// `z`). Only keys that decoded are kept; at [`DecodedKeys::CAPACITY`] the
/// map is emptied, so no input can grow it (an attacker sending a new key
/// each time only makes every lookup a miss, the cost without the cache).
struct DecodedKeys(std::sync::RwLock<std::collections::HashMap<Box<str>, p256::PublicKey>>);

static DECODED_KEYS: std::sync::LazyLock<DecodedKeys> =
    std::sync::LazyLock::new(|| DecodedKeys(std::sync::RwLock::default()));

impl DecodedKeys {
    /// Issuers a verifier meets: a province has about a thousand.
    const CAPACITY: usize = 4096;

    fn get(&self, id: &str) -> Option<p256::PublicKey> {
        self.0.read().ok()?.get(id).copied()
    }

    fn insert(&self, id: &str, key: p256::PublicKey) {
        // A poisoned lock only loses the cache, never an answer.
        if let Ok(mut keys) = self.0.write() {
            if keys.len() >= Self::CAPACITY {
                keys.clear();
            }
            keys.insert(id.into(), key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_key_round_trips_and_matches_w3c_vector() {
        // The W3C vc-di-ecdsa P-256 key pair: publicKeyMultibase is known.
        let vector: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/w3c/p256KeyPair.json")).unwrap();
        let mb = vector["publicKeyMultibase"].as_str().unwrap();
        let key = p256_key_from_did(&format!("did:key:{mb}")).unwrap();
        assert_eq!(public_key_multibase(&key), mb);
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let key = IssuerKey::generate();
        let pem = key.to_pkcs8_pem().unwrap();
        let again = IssuerKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(key.did(), again.did());
        assert!(key.did().starts_with("did:key:zDn"));
        assert!(!format!("{key:?}").contains(&pem));
    }

    #[test]
    fn rejects_non_p256_did_and_garbage_pem() {
        assert!(p256_key_from_did("did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r").is_err());
        assert!(p256_key_from_did("did:web:example.com").is_err());
        assert!(p256_key_from_did("did:key:z0OIl").is_err());
        assert!(IssuerKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
    }

    #[test]
    fn decoded_keys_are_the_keys_named_and_the_cache_stays_bounded() {
        let cache = DecodedKeys(std::sync::RwLock::default());
        let keys: Vec<IssuerKey> = (0..DecodedKeys::CAPACITY + 10).map(|_| IssuerKey::generate()).collect();
        for key in &keys {
            let id = &key.public_key_multibase()[1..];
            assert_eq!(cache.get(id), None);
            cache.insert(id, key.public_key());
            assert_eq!(cache.get(id), Some(key.public_key()));
            assert!(cache.0.read().unwrap().len() <= DecodedKeys::CAPACITY);
        }
        // Through the public parser: a key twice (the second from the cache),
        // with and without a fragment, is the key the did:key names; a
        // corrupted id next to a cached one is still refused.
        for key in keys.iter().take(3) {
            for _ in 0..2 {
                assert_eq!(p256_key_from_did(&key.did()).unwrap(), key.public_key());
                assert_eq!(p256_key_from_did(&key.verification_method()).unwrap(), key.public_key());
            }
            let mut corrupted = key.did();
            corrupted.pop();
            corrupted.push('0');
            assert!(p256_key_from_did(&corrupted).is_err());
        }
    }
}
