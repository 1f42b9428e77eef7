//! Passphrase-protected private keys: PKCS#8 `EncryptedPrivateKeyInfo`
//! (PBES2), PEM label `ENCRYPTED PRIVATE KEY`.
//!
//! Writing uses PBKDF2-HMAC-SHA256 with [`PBKDF2_ITERATIONS`] iterations, a
//! random 16-octet salt, and AES-256-CBC. PBKDF2 rather than scrypt because
//! OpenSSL's default scrypt memory cap (32 MiB) refuses the recommended
//! scrypt parameters, and operators inspect these files with `openssl pkey`.
//! Reading accepts every PBES2 variant the `pkcs5` crate does (PBKDF2 with
//! SHA-1/SHA-256 and AES-128/256-CBC, scrypt).

use p256::pkcs8::der::pem::LineEnding;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use pkcs8::pkcs5::pbes2;

use super::algorithm::{TrustKey, TrustSigningKey};
use crate::keys::IssuerKey;
use crate::sm2_rdfc_2026::Sm2IssuerKey;

/// PBKDF2 iteration count (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Why a key could not be protected or unlocked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProtectionError {
    /// An empty passphrase.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// Not an `ENCRYPTED PRIVATE KEY` PEM block.
    #[error("not an encrypted PKCS#8 private key (PEM ENCRYPTED PRIVATE KEY)")]
    NotEncryptedPkcs8,
    /// The passphrase is wrong, or the file is damaged.
    #[error("wrong passphrase, or the key file is damaged")]
    WrongPassphraseOrDamaged,
    /// Decrypted, but not a key of the expected algorithm (P-256, or SM2
    /// where [`decrypt_trust_key`] accepts it).
    #[error("the decrypted key is not a P-256 (or SM2) key")]
    NotP256,
    /// Encryption failed (does not happen for valid input).
    #[error("encryption failed: {0}")]
    Encryption(String),
}

/// Encrypt a private key under a passphrase: PEM `ENCRYPTED PRIVATE KEY`.
///
/// # Errors
/// [`KeyProtectionError::EmptyPassphrase`].
pub fn encrypt_private_key<'k>(
    key: impl Into<TrustSigningKey<'k>>,
    passphrase: &str,
) -> Result<String, KeyProtectionError> {
    use rand::RngCore as _;
    if passphrase.is_empty() {
        return Err(KeyProtectionError::EmptyPassphrase);
    }
    let encryption = |e: String| KeyProtectionError::Encryption(e);
    let plain_pem = match key.into() {
        TrustSigningKey::P256(key) => key.to_pkcs8_pem().map_err(|e| encryption(e.to_string()))?,
        TrustSigningKey::P256Signer(_) => {
            return Err(encryption("a key held in a token is never exported".to_owned()));
        }
        TrustSigningKey::Sm2(key) => key.to_pkcs8_pem().map_err(|e| encryption(e.to_string()))?,
    };
    let (_, plain_der) = pkcs8::SecretDocument::from_pem(&plain_pem).map_err(|e| encryption(e.to_string()))?;
    let private_key_info = pkcs8::PrivateKeyInfo::try_from(plain_der.as_bytes())
        .map_err(|e| KeyProtectionError::Encryption(e.to_string()))?;

    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let parameters = pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
        .map_err(|e| KeyProtectionError::Encryption(e.to_string()))?;
    let encrypted = private_key_info
        .encrypt_with_params(parameters, passphrase.as_bytes())
        .map_err(|e| KeyProtectionError::Encryption(e.to_string()))?;
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| KeyProtectionError::Encryption(e.to_string()))
}

/// Decrypt a PEM `ENCRYPTED PRIVATE KEY` with its passphrase.
///
/// # Errors
/// [`KeyProtectionError::NotEncryptedPkcs8`],
/// [`KeyProtectionError::WrongPassphraseOrDamaged`], [`KeyProtectionError::NotP256`].
pub fn decrypt_private_key(pem: &str, passphrase: &str) -> Result<IssuerKey, KeyProtectionError> {
    match decrypt_trust_key(pem, passphrase)? {
        TrustKey::P256(key) => Ok(key),
        TrustKey::Sm2(_) => Err(KeyProtectionError::NotP256),
    }
}

/// Decrypt a PEM `ENCRYPTED PRIVATE KEY` (P-256 or SM2) with its passphrase.
///
/// # Errors
/// [`KeyProtectionError::NotEncryptedPkcs8`],
/// [`KeyProtectionError::WrongPassphraseOrDamaged`], [`KeyProtectionError::NotP256`]
/// (neither P-256 nor SM2).
pub fn decrypt_trust_key(pem: &str, passphrase: &str) -> Result<TrustKey, KeyProtectionError> {
    let (label, document) =
        pkcs8::SecretDocument::from_pem(pem.trim()).map_err(|_| KeyProtectionError::NotEncryptedPkcs8)?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(KeyProtectionError::NotEncryptedPkcs8);
    }
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes())
        .map_err(|_| KeyProtectionError::NotEncryptedPkcs8)?;
    let decrypted =
        encrypted.decrypt(passphrase.as_bytes()).map_err(|_| KeyProtectionError::WrongPassphraseOrDamaged)?;
    // A wrong passphrase can decrypt to garbage with valid padding; that
    // garbage does not parse as a key.
    let p256_error = match p256::SecretKey::from_pkcs8_der(decrypted.as_bytes()) {
        Ok(secret) => {
            let plain_pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(|_| KeyProtectionError::NotP256)?;
            return IssuerKey::from_pkcs8_pem(&plain_pem).map(TrustKey::P256).map_err(|_| KeyProtectionError::NotP256);
        }
        Err(e) => e,
    };
    if let Ok(secret) = sm2::SecretKey::from_pkcs8_der(decrypted.as_bytes()) {
        let plain_pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(|_| KeyProtectionError::NotP256)?;
        return Sm2IssuerKey::from_pkcs8_pem(&plain_pem).map(TrustKey::Sm2).map_err(|_| KeyProtectionError::NotP256);
    }
    Err(match p256_error {
        pkcs8::Error::KeyMalformed | pkcs8::Error::Asn1(_) => KeyProtectionError::WrongPassphraseOrDamaged,
        _ => KeyProtectionError::NotP256,
    })
}
