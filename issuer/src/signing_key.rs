//! The issuer's signing key on disk: `<data-dir>/issuer-key.pem` (PKCS#8,
//! mode 0600), generated on first start.

use std::path::Path;

use anyhow::Context as _;
use wallet_core::keys::IssuerKey;

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
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
