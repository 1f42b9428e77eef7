//! The department's bundle-signing key (`--bundle-key`): a PKCS#8 PEM file
//! (an encrypted one takes its passphrase from `BUNDLE_KEY_PASSPHRASE`) or a
//! `pkcs11:` URI naming a P-256 key in the department's token (HSM, 密码机),
//! which never leaves it: the `pkcs11-key` crate, with the issuer's URI rules
//! (the PIN from the URI's `pin-source` file or `ISSUER_PKCS11_PIN`, never in
//! the URI; a key that could leave the token is refused).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use pkcs11_key::pkcs11_signer::Pkcs11Signer;
use pkcs11_key::pkcs11_uri::Pkcs11Uri;
use wallet_core::keys::IssuerKey;
use wallet_core::signer::IssuerSigner;

/// The key `--bundle-key` names: a token key for a `pkcs11:` URI, else the PEM file.
///
/// # Errors
/// A bad URI, token, PIN or key; an unreadable or undecryptable file.
pub fn load(key: &Path, passphrase: Option<&str>) -> anyhow::Result<Arc<dyn IssuerSigner>> {
    if let Some(uri) = key.to_str().map(str::trim).filter(|k| k.starts_with("pkcs11:")) {
        let uri = Pkcs11Uri::parse(uri)?;
        let signer = Pkcs11Signer::open(&uri).with_context(|| format!("--bundle-key {}", uri.describe()))?;
        tracing::info!(key = %uri.describe(), "signing verifier bundles with a PKCS#11 key");
        return Ok(Arc::new(signer));
    }
    let pem = std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let key_file: IssuerKey = if pem.contains("ENCRYPTED PRIVATE KEY") {
        let passphrase = passphrase.context("--bundle-key is encrypted: set BUNDLE_KEY_PASSPHRASE")?;
        wallet_core::trust::decrypt_private_key(&pem, passphrase)
            .map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?
    } else {
        IssuerKey::from_pkcs8_pem(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?
    };
    Ok(Arc::new(key_file))
}
