//! The MAC key of this process's OpenID4VCI nonces (see [`crate::domain::offers`]).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;

/// The MAC key of this process's nonces (nonces are stateless until used; a
/// restart invalidates outstanding ones, which only costs the wallet a retry).
#[derive(Clone)]
pub struct Oid4vciKeys {
    nonce_key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for Oid4vciKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Oid4vciKeys(…)")
    }
}

impl Oid4vciKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { nonce_key: Arc::new(key) }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.nonce_key.as_slice()) else {
            return Vec::new();
        };
        mac.update(b"ecert/oid4vci-nonce/v1");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// A nonce: `expiry (8 bytes BE) ‖ 16 random bytes ‖ MAC`, base64url.
    pub(crate) fn nonce(&self, expires_at: i64) -> String {
        let mut body = expires_at.to_be_bytes().to_vec();
        let mut random = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut random);
        body.extend_from_slice(&random);
        let mac = self.mac(&body);
        body.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(body)
    }

    /// The nonce's expiry if it is one of ours and not expired.
    pub(crate) fn check_nonce(&self, nonce: &str, now: i64) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if bytes.len() != 8 + 16 + 32 {
            return None;
        }
        let (body, mac) = bytes.split_at(24);
        let Ok(mut check) = Hmac::<Sha256>::new_from_slice(self.nonce_key.as_slice()) else {
            return None;
        };
        check.update(b"ecert/oid4vci-nonce/v1");
        check.update(body);
        check.verify_slice(mac).ok()?;
        let expires_at = i64::from_be_bytes(*body.first_chunk::<8>()?);
        (expires_at > now).then_some(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_checked_by_mac_and_expiry() {
        let keys = Oid4vciKeys::generate();
        let nonce = keys.nonce(1000);
        assert_eq!(keys.check_nonce(&nonce, 999), Some(1000));
        assert_eq!(keys.check_nonce(&nonce, 1000), None, "expired");
        assert_eq!(Oid4vciKeys::generate().check_nonce(&nonce, 0), None, "another process's key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        bytes[7] ^= 1; // push the expiry
        assert_eq!(keys.check_nonce(&URL_SAFE_NO_PAD.encode(bytes), 0), None);
        assert_eq!(keys.check_nonce("", 0), None);
        assert_eq!(keys.check_nonce("!!", 0), None);
    }
}
