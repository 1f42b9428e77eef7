//! The VC-API's P-384 key (`--vc-api-p384`, off by default): the W3C
//! vc-di-ecdsa suite declares one issuer per key type, so a P-384 issuer is a
//! second `did:key` on the same `POST /credentials/issue`. A request whose
//! credential names this key's DID as `issuer` is signed with it
//! (`ecdsa-rdfc-2019` or `ecdsa-jcs-2019`; see `domain::proof_suite`); every
//! other signature (domain API, status lists, checkpoints) stays with the
//! issuer's P-256 key. Kept in `<data-dir>/vc-api-p384-key.pem` (PKCS#8,
//! mode 0600), generated on first start.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use wallet_core::p384_key::P384IssuerKey;

/// The key, as the VC-API route finds it in the app data (`None` when off).
#[derive(Debug, Clone, Default)]
pub struct VcApiP384Key(pub Option<Arc<P384IssuerKey>>);

/// Load the key from the data directory, generating it if none exists.
///
/// # Errors
/// A file that is not a P-384 PKCS#8 key, or one that cannot be written.
pub fn load_or_generate(data_dir: &Path) -> anyhow::Result<VcApiP384Key> {
    let path = data_dir.join("vc-api-p384-key.pem");
    let key = if path.exists() {
        let pem = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        P384IssuerKey::from_pkcs8_pem(&pem).with_context(|| format!("{} is not a P-384 PKCS#8 key", path.display()))?
    } else {
        let key = P384IssuerKey::generate();
        crate::signing_key::write_private(&path, key.to_pkcs8_pem()?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        key
    };
    Ok(VcApiP384Key(Some(Arc::new(key))))
}
