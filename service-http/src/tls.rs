//! HTTPS with rustls, from PEM files.

use std::path::Path;

use anyhow::Context as _;

/// A rustls server configuration from a PEM certificate chain and private key.
///
/// # Errors
/// Unreadable or mismatched files.
pub fn server_config(cert_path: &Path, key_path: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert_path).with_context(|| format!("opening {}", cert_path.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| format!("reading certificates from {}", cert_path.display()))?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key_path).with_context(|| format!("opening {}", key_path.display()))?,
    ))
    .with_context(|| format!("reading {}", key_path.display()))?
    .with_context(|| format!("no private key in {}", key_path.display()))?;
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and key do not match")
}
