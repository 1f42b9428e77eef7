//! The issuer's signing key: by default on disk, `<data-dir>/issuer-key.pem`
//! (PKCS#8, mode 0600), generated on first start; with `--signing-key
//! pkcs11:…` a key in a PKCS#11 token ([`crate::pkcs11_signer`]) that never
//! leaves it.
//!
//! With `--key-algorithm sm2` the issuer is an SM2 issuer: credentials and
//! status lists get `sm2-rdfc-2026` proofs by `<data-dir>/issuer-key-sm2.pem`
//! (generated on first start), or by the SM2 PKCS#8 PEM file `--signing-key`
//! names. Transparency-log checkpoints are C2SP signed notes, whose signature
//! types are ECDSA P-256 and Ed25519 only: they stay P-256, signed by a
//! separate log key `<data-dir>/log-key.pem` ([`Sm2IssuerSigner`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use wallet_core::keys::IssuerKey;
use wallet_core::signer::{IssuerSigner, SignerError, Sm2IssuerSigner};
use wallet_core::sm2_rdfc_2026::Sm2IssuerKey;
use wallet_core::trust::TrustAlgorithm;

use crate::pkcs11_signer::Pkcs11Signer;
use crate::pkcs11_uri::Pkcs11Uri;

/// The key the issuer signs with (credentials, status lists, checkpoints),
/// wherever it is. Cheap to clone.
///
/// Its public key and the names derived from it are read from the signer
/// once: a P-256 key derives its public key by a scalar multiplication, as
/// costly as a signature, and every credential names the key several times.
#[derive(Clone)]
pub struct SigningKey {
    signer: Arc<dyn IssuerSigner>,
    names: Arc<KeyNames>,
}

/// What [`SigningKey`] keeps of its signer's public side.
struct KeyNames {
    public_key: p256::PublicKey,
    public_key_multibase: String,
    did: String,
    verification_method: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SigningKey").field(&self.did()).finish()
    }
}

impl SigningKey {
    /// Any signer.
    pub fn new(signer: Arc<dyn IssuerSigner>) -> Self {
        let names = KeyNames {
            public_key: signer.public_key(),
            public_key_multibase: signer.public_key_multibase(),
            did: signer.did(),
            verification_method: signer.verification_method(),
        };
        Self { signer, names: Arc::new(names) }
    }

    /// `did:key` of the key.
    pub fn did(&self) -> String {
        self.names.did.clone()
    }

    /// The signer, shared (the transparency log keeps one).
    pub fn shared(&self) -> Arc<dyn IssuerSigner> {
        Arc::clone(&self.signer)
    }
}

impl From<IssuerKey> for SigningKey {
    fn from(key: IssuerKey) -> Self {
        Self::new(Arc::new(key))
    }
}

impl IssuerSigner for SigningKey {
    fn public_key(&self) -> p256::PublicKey {
        self.names.public_key
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        self.signer.sign_es256(message)
    }

    fn public_key_multibase(&self) -> String {
        self.names.public_key_multibase.clone()
    }

    fn did(&self) -> String {
        self.names.did.clone()
    }

    fn verification_method(&self) -> String {
        self.names.verification_method.clone()
    }

    fn sm2_credential_key(&self) -> Option<&Sm2IssuerKey> {
        self.signer.sm2_credential_key()
    }
}

/// The SM2 key file of the data directory.
pub const SM2_KEY_FILE: &str = "issuer-key-sm2.pem";
/// The P-256 key that signs an SM2 issuer's log checkpoints.
pub const LOG_KEY_FILE: &str = "log-key.pem";

/// The issuer's key for `algorithm` (`--key-algorithm`): P-256 as [`load`];
/// SM2 from the PEM file `signing_key` names, else from
/// `<data-dir>/issuer-key-sm2.pem` (generated on first start), with the P-256
/// log key `<data-dir>/log-key.pem` for checkpoints.
///
/// # Errors
/// A key file that cannot be read, is not a key of `algorithm`, or cannot be
/// written; a PKCS#11 URI with SM2 (not supported: the token module would
/// need `CKM_SM2`).
pub fn load_with_algorithm(
    signing_key: Option<&str>,
    data_dir: &Path,
    algorithm: TrustAlgorithm,
) -> anyhow::Result<SigningKey> {
    if algorithm == TrustAlgorithm::P256 {
        return load(signing_key, data_dir);
    }
    let sm2 = match signing_key.map(str::trim).filter(|s| !s.is_empty()) {
        Some(uri) if uri.starts_with("pkcs11:") => {
            anyhow::bail!("--key-algorithm sm2 takes an SM2 PKCS#8 PEM file as --signing-key, not a PKCS#11 URI")
        }
        Some(path) => {
            let pem = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            Sm2IssuerKey::from_pkcs8_pem(&pem).with_context(|| format!("{path} is not an SM2 PKCS#8 key"))?
        }
        None => load_or_generate_sm2(data_dir)?,
    };
    let log_key = load_or_generate_at(&data_dir.join(LOG_KEY_FILE))?;
    tracing::info!(did = %sm2.did(), log_key = %log_key.did(), "signing credentials with SM2 (sm2-rdfc-2026)");
    Ok(SigningKey::new(Arc::new(Sm2IssuerSigner::new(sm2, Arc::new(log_key)))))
}

/// `<data-dir>/issuer-key-sm2.pem`, generated (mode 0600) when absent.
///
/// # Errors
/// When the file exists but is not an SM2 key, or cannot be written.
pub fn load_or_generate_sm2(data_dir: &Path) -> anyhow::Result<Sm2IssuerKey> {
    let path = data_dir.join(SM2_KEY_FILE);
    if path.exists() {
        let pem = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        return Sm2IssuerKey::from_pkcs8_pem(&pem)
            .with_context(|| format!("{} is not an SM2 PKCS#8 key", path.display()));
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let key = Sm2IssuerKey::generate();
    write_private(&path, key.to_pkcs8_pem()?.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        did = %key.did(),
        path = %path.display(),
        "GENERATED A NEW DEVELOPMENT SM2 ISSUER KEY. Credentials it signs are not trusted by any department. \
         For production, install a key certified by your department."
    );
    Ok(key)
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
    load_or_generate_at(&data_dir.join("issuer-key.pem"))
}

/// The P-256 key at `path`, generated (mode 0600) when absent.
fn load_or_generate_at(path: &Path) -> anyhow::Result<IssuerKey> {
    if path.exists() {
        let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let key =
            IssuerKey::from_pkcs8_pem(&pem).with_context(|| format!("{} is not a P-256 PKCS#8 key", path.display()))?;
        tracing::info!(did = %key.did(), path = %path.display(), "loaded issuer key");
        return Ok(key);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = IssuerKey::generate();
    write_private(path, key.to_pkcs8_pem()?.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
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
    fn an_sm2_issuer_keeps_its_sm2_key_and_a_p256_log_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_with_algorithm(None, dir.path(), TrustAlgorithm::Sm2).unwrap();
        let second = load_with_algorithm(None, dir.path(), TrustAlgorithm::Sm2).unwrap();
        assert_eq!(first.did(), second.did());
        assert!(first.sm2_credential_key().is_some());
        assert_eq!(first.did(), first.sm2_credential_key().unwrap().did());
        let log = load_or_generate_at(&dir.path().join(LOG_KEY_FILE)).unwrap();
        assert_eq!(first.public_key(), log.public_key());
        // The SM2 key file given by --signing-key.
        let given = Sm2IssuerKey::generate();
        let path = dir.path().join("given.pem");
        std::fs::write(&path, given.to_pkcs8_pem().unwrap()).unwrap();
        let key = load_with_algorithm(path.to_str(), dir.path(), TrustAlgorithm::Sm2).unwrap();
        assert_eq!(key.did(), given.did());
        // A P-256 file is not an SM2 key; a token is not offered for SM2.
        std::fs::write(&path, IssuerKey::generate().to_pkcs8_pem().unwrap()).unwrap();
        assert!(load_with_algorithm(path.to_str(), dir.path(), TrustAlgorithm::Sm2).is_err());
        assert!(load_with_algorithm(Some("pkcs11:token=x"), dir.path(), TrustAlgorithm::Sm2).is_err());
        // The P-256 default is unchanged.
        let p256 = load_with_algorithm(None, dir.path(), TrustAlgorithm::P256).unwrap();
        assert!(p256.sm2_credential_key().is_none());
    }

    #[test]
    fn refuses_a_corrupt_key_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("issuer-key.pem"), "garbage").unwrap();
        assert!(load_or_generate(dir.path()).is_err());
    }
}
