//! The wallet's file, encrypted at rest.
//!
//! ```text
//! file = "ECW1" ‖ nonce (12 bytes, random per write) ‖ AES-256-GCM(key, nonce, plaintext, aad = "ecert-wallet/v1")
//! ```
//!
//! The 256-bit key comes from the platform ([`KeyProvider`]: Android Keystore /
//! iOS Keychain, typically a key that never leaves secure hardware wrapping
//! this one). The associated data binds the format version, so a file cannot
//! be replayed as another version. Writes go to `<file>.tmp`, are synced, then
//! renamed over the file: a crash leaves the old or the new file, never half of one.

use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore as _;

use super::WalletError;

const MAGIC: &[u8; 4] = b"ECW1";
const AAD: &[u8] = b"ecert-wallet/v1";
const NONCE_LEN: usize = 12;

/// A 256-bit store key. `Debug` does not print it.
#[derive(Clone)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// Wrap 32 key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key (for tests, or a platform that stores it itself).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

/// What the platform supplies: the key the wallet file is encrypted with.
/// A phone app implements it over its keystore (e.g. unwrapping a stored key
/// with a hardware-backed key, after user authentication if it wants).
pub trait KeyProvider {
    /// The store key.
    ///
    /// # Errors
    /// A description of why the platform cannot give it (locked, user cancelled…).
    fn store_key(&self) -> Result<StoreKey, String>;
}

impl KeyProvider for StoreKey {
    fn store_key(&self) -> Result<StoreKey, String> {
        Ok(self.clone())
    }
}

/// Encrypt `plaintext` into the file format.
pub(super) fn seal(key: &StoreKey, plaintext: &[u8]) -> Result<Vec<u8>, WalletError> {
    let cipher = Aes256Gcm::new_from_slice(&key.0).map_err(|_| WalletError::Crypto)?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ciphertext =
        cipher.encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: AAD }).map_err(|_| WalletError::Crypto)?;
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypt the file format.
pub(super) fn open(key: &StoreKey, file: &[u8]) -> Result<Vec<u8>, WalletError> {
    let rest = file.strip_prefix(MAGIC.as_slice()).ok_or(WalletError::NotAWalletFile)?;
    if rest.len() < NONCE_LEN + 16 {
        return Err(WalletError::NotAWalletFile);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| WalletError::NotAWalletFile)?;
    let cipher = Aes256Gcm::new_from_slice(&key.0).map_err(|_| WalletError::Crypto)?;
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: AAD })
        .map_err(|_| WalletError::WrongKeyOrTampered)
}

/// Write `bytes` to `path` atomically (temporary file, sync, rename).
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WalletError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let io = |e: std::io::Error| WalletError::Io(e.to_string());
    {
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable where the platform allows opening a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_failures_are_errors() {
        let key = StoreKey::generate();
        let sealed = seal(&key, b"secret").unwrap();
        assert_eq!(open(&key, &sealed).unwrap(), b"secret");
        assert_ne!(seal(&key, b"secret").unwrap(), sealed, "a fresh nonce per write");
        assert!(matches!(open(&StoreKey::generate(), &sealed), Err(WalletError::WrongKeyOrTampered)));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(open(&key, &tampered), Err(WalletError::WrongKeyOrTampered)));
        assert!(matches!(open(&key, b"ECW1"), Err(WalletError::NotAWalletFile)));
        assert!(matches!(open(&key, b"{\"json\": 1}"), Err(WalletError::NotAWalletFile)));
        assert!(!format!("{key:?}").contains('0'));
    }
}
