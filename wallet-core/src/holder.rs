//! Holder binding: the wallet's device key (P-256) and how a credential names it.
//!
//! A bound credential carries the device key as `credentialSubject.id` =
//! `did:key:zDn…` (a P-256 `did:key`). `credentialSubject.id` is defined by the
//! VC 2.0 context, so it is covered by the issuer's Data Integrity signature,
//! and the compact QR form already carries a `did:key` in 35 bytes (codec tag 8).
//! A credential without `credentialSubject.id` is unbound and verifies as before.
//!
//! The wallet proves it holds the key with a short signature over a
//! presentation ([`crate::presentation`]); the issuer learns the key from the
//! domain request's `holderKey` (a JWK) or an OpenID4VCI proof of possession.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{json, Value};

use crate::keys::{p256_key_from_did, public_key_multibase};

/// Why a holder key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HolderKeyError {
    /// Not an EC P-256 public JWK with `x` and `y`.
    #[error("not a P-256 public JWK: {0}")]
    NotP256Jwk(&'static str),
    /// The JWK carries a private part (`d`): a device key never leaves the device.
    #[error("the JWK holds a private key")]
    PrivateKeyGiven,
    /// The coordinates are not a point on P-256.
    #[error("the JWK is not a point on P-256")]
    InvalidPoint,
    /// Stored device key bytes are not a P-256 scalar.
    #[error("not a P-256 private key")]
    InvalidSecret,
}

/// The `did:key` naming a P-256 public JWK (`{"kty":"EC","crv":"P-256","x","y"}`).
///
/// # Errors
/// [`HolderKeyError`] for anything else (other curves, private keys, bad points).
pub fn did_from_jwk(jwk: &Value) -> Result<String, HolderKeyError> {
    Ok(format!("did:key:{}", public_key_multibase(&public_key_from_jwk(jwk)?)))
}

/// The P-256 public key of a JWK.
///
/// # Errors
/// As [`did_from_jwk`].
pub fn public_key_from_jwk(jwk: &Value) -> Result<p256::PublicKey, HolderKeyError> {
    let obj = jwk.as_object().ok_or(HolderKeyError::NotP256Jwk("not an object"))?;
    if obj.contains_key("d") {
        return Err(HolderKeyError::PrivateKeyGiven);
    }
    if obj.get("kty").and_then(Value::as_str) != Some("EC") {
        return Err(HolderKeyError::NotP256Jwk("kty must be EC"));
    }
    if obj.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Err(HolderKeyError::NotP256Jwk("crv must be P-256"));
    }
    let coordinate = |name: &str| -> Result<Vec<u8>, HolderKeyError> {
        let text = obj.get(name).and_then(Value::as_str).ok_or(HolderKeyError::NotP256Jwk("x and y are required"))?;
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| HolderKeyError::NotP256Jwk("x/y are not base64url"))?;
        if bytes.len() == 32 {
            Ok(bytes)
        } else {
            Err(HolderKeyError::NotP256Jwk("x/y must be 32 bytes"))
        }
    };
    let mut sec1 = vec![0x04];
    sec1.extend(coordinate("x")?);
    sec1.extend(coordinate("y")?);
    p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| HolderKeyError::InvalidPoint)
}

/// The public JWK of a P-256 key.
pub fn jwk_of(key: &p256::PublicKey) -> Value {
    let point = key.to_encoded_point(false);
    let b64 = |b: Option<&p256::FieldBytes>| b.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
    json!({"kty": "EC", "crv": "P-256", "x": b64(point.x()), "y": b64(point.y())})
}

/// The device key a credential is bound to: its `credentialSubject.id`, when
/// that is a P-256 `did:key` (multibase `zDn…`, the only device keys we bind).
/// `None` for an unbound credential: no id, or an id that names the subject
/// some other way (a URL, a DID of another method, or a did:key of another key
/// type such as Ed25519 `z6Mk…`, which other issuers use to name subjects).
pub fn bound_key(vc: &Value) -> Option<Result<p256::PublicKey, String>> {
    // `credentialSubject` may be one object or an array of them: every P-256
    // did:key among the subjects binds the credential, so more than one
    // distinct key cannot be honoured by one device key and is an error.
    let subjects: Vec<&Value> = match vc.get("credentialSubject")? {
        Value::Array(all) => all.iter().collect(),
        one => vec![one],
    };
    let mut ids: Vec<&str> = subjects
        .into_iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str))
        .filter(|id| id.starts_with(P256_DID_KEY_PREFIX))
        .collect();
    ids.dedup();
    match ids.as_slice() {
        [] => None,
        [id] => Some(p256_key_from_did(id).map_err(|_| id.chars().take(80).collect())),
        [first, ..] => Some(Err(format!("several subject keys, first {}", first.chars().take(80).collect::<String>()))),
    }
}

/// How every P-256 `did:key` starts (multicodec 0x1200, base58btc).
const P256_DID_KEY_PREFIX: &str = "did:key:zDn";

/// The wallet's device key. On a phone the secret would live in the platform
/// keystore; here it is kept inside the encrypted wallet store. `Debug` does
/// not print the secret.
#[derive(Clone)]
pub struct DeviceKey {
    secret: SigningKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey").field("did", &self.did()).finish_non_exhaustive()
    }
}

impl DeviceKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Self {
        Self { secret: SigningKey::random(&mut rand::rngs::OsRng) }
    }

    /// From the 32-byte secret scalar.
    ///
    /// # Errors
    /// [`HolderKeyError::InvalidSecret`] when the bytes are not a valid scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HolderKeyError> {
        SigningKey::from_slice(bytes).map(|secret| Self { secret }).map_err(|_| HolderKeyError::InvalidSecret)
    }

    /// The 32-byte secret scalar (to store it encrypted).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes().into()
    }

    /// The public key.
    pub fn public_key(&self) -> p256::PublicKey {
        p256::PublicKey::from(self.secret.verifying_key())
    }

    /// `did:key:zDn…` of the public key (what a bound credential's subject id is).
    pub fn did(&self) -> String {
        format!("did:key:{}", public_key_multibase(&self.public_key()))
    }

    /// The public JWK (what the issuer is given).
    pub fn jwk(&self) -> Value {
        jwk_of(&self.public_key())
    }

    /// ES256 over `message` (SHA-256 inside), as the 64-byte `r ‖ s`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: Signature = self.secret.sign(message);
        signature.to_bytes().into()
    }
}

/// Does `signature` (64-byte `r ‖ s`, ES256) verify `message` under `key`?
pub fn verify_es256(key: &p256::PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    VerifyingKey::from(key).verify(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_p256_did_key_subject_is_a_holder_binding() {
        let device = DeviceKey::generate();
        let with_id = |id: &str| serde_json::json!({"credentialSubject": {"id": id}});
        assert_eq!(bound_key(&with_id(&device.did())).map(Result::ok), Some(Some(device.public_key())));
        // Other issuers name subjects with Ed25519 did:keys, URLs or other DIDs: not bound.
        for other in
            ["did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r", "did:example:123", "https://x.example/p"]
        {
            assert!(bound_key(&with_id(other)).is_none(), "{other}");
        }
        assert!(bound_key(&serde_json::json!({"credentialSubject": {}})).is_none());
        // A P-256 did:key that does not decode is a broken binding, not "unbound".
        assert!(matches!(bound_key(&with_id("did:key:zDnBROKEN")), Some(Err(_))));
    }

    use super::*;

    #[test]
    fn jwk_and_did_round_trip_and_bad_jwks_are_refused() {
        let key = DeviceKey::generate();
        assert_eq!(did_from_jwk(&key.jwk()).unwrap(), key.did());
        assert_eq!(public_key_from_jwk(&key.jwk()).unwrap(), key.public_key());
        let again = DeviceKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(again.did(), key.did());
        let mut private = key.jwk();
        private["d"] = json!("AAAA");
        assert_eq!(did_from_jwk(&private), Err(HolderKeyError::PrivateKeyGiven));
        let mut other_curve = key.jwk();
        other_curve["crv"] = json!("P-384");
        assert!(matches!(did_from_jwk(&other_curve), Err(HolderKeyError::NotP256Jwk(_))));
        let mut off_curve = key.jwk();
        off_curve["y"] = off_curve["x"].clone();
        assert_eq!(did_from_jwk(&off_curve), Err(HolderKeyError::InvalidPoint));
        assert!(did_from_jwk(&json!("x")).is_err());
        assert!(DeviceKey::from_bytes(&[0u8; 32]).is_err());
        assert!(!format!("{key:?}").contains(&hex::encode(key.to_bytes())));
    }

    #[test]
    fn signatures_verify_only_with_the_right_key_and_message() {
        let key = DeviceKey::generate();
        let sig = key.sign(b"hello");
        assert!(verify_es256(&key.public_key(), b"hello", &sig));
        assert!(!verify_es256(&key.public_key(), b"hellO", &sig));
        assert!(!verify_es256(&DeviceKey::generate().public_key(), b"hello", &sig));
        assert!(!verify_es256(&key.public_key(), b"hello", &sig[..10]));
    }

    #[test]
    fn bound_key_reads_a_did_key_subject_id_only() {
        let key = DeviceKey::generate();
        assert_eq!(bound_key(&json!({"credentialSubject": {"id": key.did()}})), Some(Ok(key.public_key())));
        assert_eq!(bound_key(&json!({"credentialSubject": {"id": "https://example.com/p/1"}})), None);
        assert_eq!(bound_key(&json!({"credentialSubject": {"fullName": "x"}})), None);
        // An Ed25519 did:key names a subject (the W3C suites do); it is not our device binding.
        assert_eq!(bound_key(&json!({"credentialSubject": {"id": "did:key:z6Mkxx"}})), None);
    }

    #[test]
    fn bound_key_reads_subject_arrays_and_refuses_two_keys() {
        let key = DeviceKey::generate();
        let other = DeviceKey::generate();
        let one = json!({"credentialSubject": [{"fullName": "x"}, {"id": key.did()}]});
        assert_eq!(bound_key(&one), Some(Ok(key.public_key())));
        let same_twice = json!({"credentialSubject": [{"id": key.did()}, {"id": key.did()}]});
        assert_eq!(bound_key(&same_twice), Some(Ok(key.public_key())));
        let two = json!({"credentialSubject": [{"id": key.did()}, {"id": other.did()}]});
        assert!(matches!(bound_key(&two), Some(Err(_))));
        assert_eq!(bound_key(&json!({"credentialSubject": []})), None);
    }
}
