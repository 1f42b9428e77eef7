//! The issuer's signing key: by default on disk, `<data-dir>/issuer-key.pem`
//! (PKCS#8, mode 0600), generated on first start; with `--signing-key
//! pkcs11:…` a key in a PKCS#11 token ([`crate::pkcs11_signer`]) that never
//! leaves it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use wallet_core::keys::IssuerKey;
use wallet_core::signer::{IssuerSigner, SignerError};

use crate::pkcs11_signer::Pkcs11Signer;
use crate::pkcs11_uri::Pkcs11Uri;

/// The key the issuer signs with (credentials, status lists, checkpoints),
/// wherever it is. Cheap to clone.
#[derive(Clone)]
pub struct SigningKey(Arc<dyn IssuerSigner>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SigningKey").field(&self.did()).finish()
    }
}

impl SigningKey {
    /// Any signer.
    pub fn new(signer: Arc<dyn IssuerSigner>) -> Self {
        Self(signer)
    }

    /// `did:key` of the key.
    pub fn did(&self) -> String {
        self.0.did()
    }

    /// The signer, shared (the transparency log keeps one).
    pub fn shared(&self) -> Arc<dyn IssuerSigner> {
        Arc::clone(&self.0)
    }
}

impl From<IssuerKey> for SigningKey {
    fn from(key: IssuerKey) -> Self {
        Self(Arc::new(key))
    }
}

impl IssuerSigner for SigningKey {
    fn public_key(&self) -> p256::PublicKey {
        self.0.public_key()
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        self.0.sign_es256(message)
    }
}

/// The issuer's key: the PKCS#11 key `signing_key` names (a `pkcs11:` URI),
/// else the file key of the data directory ([`load_or_generate`]).
///
/// # Errors
/// A bad URI, or a token, PIN or key that cannot be used (the issuer does not
/// start: it never falls back to a file key when a token was asked for).
pub fn load(signing_key: Option<&str>, data_dir: &Path) -> anyhow::Result<SigningKey> {
    let Some(uri) = signing_key.filter(|s| !s.trim().is_empty()) else {
        return load_or_generate(data_dir).map(SigningKey::from);
    };
    let uri = Pkcs11Uri::parse(uri.trim())?;
    let signer = Pkcs11Signer::open(&uri).with_context(|| format!("signing key {}", uri.describe()))?;
    let key = SigningKey::new(Arc::new(signer));
    tracing::info!(did = %key.did(), key = %uri.describe(), "signing with a PKCS#11 key");
    Ok(key)
}

/// Load the key from the data directory, generating and saving one if none exists.
///
/// # Errors
/// When the file exists but is not a P-256 key, or cannot be written.
pub fn load_or_generate(data_dir: &Path) -> anyhow::Result<IssuerKey> {
    let path = data_dir.join("issuer-key.pem");
    if path.exists() {
        let pem = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let key =
            IssuerKey::from_pkcs8_pem(&pem).with_context(|| format!("{} is not a P-256 PKCS#8 key", path.display()))?;
        tracing::info!(did = %key.did(), path = %path.display(), "loaded issuer key");
        return Ok(key);
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let key = IssuerKey::generate();
    write_private(&path, key.to_pkcs8_pem()?.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        did = %key.did(),
        path = %path.display(),
        "GENERATED A NEW DEVELOPMENT ISSUER KEY. Credentials it signs are not trusted by any department. \
         For production, install a key certified by your department."
    );
    Ok(key)
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(dir.path()).unwrap();
        let second = load_or_generate(dir.path()).unwrap();
        assert_eq!(first.did(), second.did());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("issuer-key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_a_corrupt_key_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("issuer-key.pem"), "garbage").unwrap();
        assert!(load_or_generate(dir.path()).is_err());
    }
}
