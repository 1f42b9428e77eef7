//! The clinic side: certificate requests for the issuer service's key, and
//! key rotation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use p256::elliptic_curve::zeroize::Zeroizing;
use wallet_core::keys::IssuerKey;
use wallet_core::sm2_rdfc_2026::Sm2IssuerKey;
use wallet_core::trust::{create_csr, is_valid_usci, usci_check_character, TrustAlgorithm, TrustKey};

use super::files;
use super::{display_time, now, RequestArgs, RotateKeyArgs};

/// The service's key file in its data directory (see [`issuer::signing_key`]).
pub const ISSUER_KEY_FILE: &str = "issuer-key.pem";
/// Where rotated-out keys are kept, in the data directory.
pub const RETIRED_KEYS_DIR: &str = "retired-keys";

/// Refuse a malformed unified social credit code, naming the expected check
/// character when only that is wrong.
pub(super) fn check_usci(usci: &str) -> anyhow::Result<()> {
    if is_valid_usci(usci) {
        return Ok(());
    }
    if let (Some(first_17), Some(last)) = (usci.get(..17), usci.get(17..)) {
        if let (Some(expected), 1) = (usci_check_character(first_17), last.chars().count()) {
            bail!(
                "invalid unified social credit code {usci}: its check character is {last}, \
                 but the first 17 characters give {expected} (a typo?)"
            );
        }
    }
    bail!(
        "invalid unified social credit code {usci:?}: it has 18 characters, \
         digits and capital letters except I, O, S, V, Z"
    )
}

pub(super) fn check_organization(organization: &str) -> anyhow::Result<&str> {
    let organization = organization.trim();
    if organization.is_empty() {
        bail!("--organization must not be empty");
    }
    Ok(organization)
}

/// The service's key file for `algorithm` in its data directory.
fn key_file(algorithm: TrustAlgorithm) -> &'static str {
    match algorithm {
        TrustAlgorithm::P256 => ISSUER_KEY_FILE,
        TrustAlgorithm::Sm2 => issuer::signing_key::SM2_KEY_FILE,
    }
}

/// Read the service's key of `algorithm`.
fn read_issuer_key(path: &Path, algorithm: TrustAlgorithm) -> anyhow::Result<TrustKey> {
    let pem = Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
    match algorithm {
        TrustAlgorithm::P256 => IssuerKey::from_pkcs8_pem(&pem)
            .map(TrustKey::P256)
            .with_context(|| format!("{} is not a P-256 PKCS#8 private key", path.display())),
        TrustAlgorithm::Sm2 => Sm2IssuerKey::from_pkcs8_pem(&pem)
            .map(TrustKey::Sm2)
            .with_context(|| format!("{} is not an SM2 PKCS#8 private key", path.display())),
    }
}

/// Unencrypted PKCS#8 PEM of `key`.
fn key_pem(key: &TrustKey) -> anyhow::Result<Zeroizing<String>> {
    let pem = match key {
        TrustKey::P256(key) => key.to_pkcs8_pem()?,
        TrustKey::Sm2(key) => key.to_pkcs8_pem()?,
    };
    Ok(Zeroizing::new(pem))
}

/// The service's key, generated and saved (mode 0600) when absent, as the
/// service does on first start. (Not [`issuer::signing_key::load_or_generate`]:
/// that one logs through `tracing`, which writes to stdout, where the CSR goes.)
fn load_or_generate_issuer_key(data_dir: &Path, algorithm: TrustAlgorithm) -> anyhow::Result<TrustKey> {
    let path = data_dir.join(key_file(algorithm));
    if path.exists() {
        return read_issuer_key(&path, algorithm);
    }
    files::create_private_dir(data_dir)?;
    let key = TrustKey::generate(algorithm);
    let pem = key_pem(&key).context("encoding the new key")?;
    files::create_private(&path, pem.as_bytes())?;
    eprintln!(
        "Generated a new {algorithm} issuer key in {} (there was none); the issuer service will sign with it.",
        path.display()
    );
    Ok(key)
}

/// `ecert-pki request`.
pub fn request(args: &RequestArgs) -> anyhow::Result<()> {
    check_usci(&args.usci)?;
    let organization = check_organization(&args.organization)?;
    let key = load_or_generate_issuer_key(&args.data_dir, args.algorithm)?;
    let csr =
        create_csr(&key, organization, &args.usci, &key.did()).context("making the certificate signing request")?;
    files::write_output(args.out.as_deref(), &csr)?;
    eprintln!("Certificate signing request for {organization} (USCI {})", args.usci);
    eprintln!("  key:         {}", key.did());
    if let Some(out) = &args.out {
        eprintln!("  written to:  {}", out.display());
    }
    eprintln!(
        "Send the CSR to your department. Credentials signed with this key are trusted once \
         the department's trust list includes the certificate it issues."
    );
    Ok(())
}

/// A name for the retired key (`<stem>-<UTC timestamp>.pem`, the stem of its
/// file name) that is not taken yet.
fn retired_key_path(retired_dir: &Path, stem: &str) -> PathBuf {
    let stamp = now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut candidate = retired_dir.join(format!("{stem}-{stamp}.pem"));
    let mut counter = 1u32;
    while candidate.exists() {
        candidate = retired_dir.join(format!("{stem}-{stamp}-{counter}.pem"));
        counter += 1;
    }
    candidate
}

/// `ecert-pki rotate-key`.
///
/// Order of the file operations, so that `issuer-key.pem` always exists and
/// no key is ever lost: (1) the new key is written to a temporary file
/// (0600); (2) the old key is linked (or copied) into `retired-keys/`;
/// (3) the temporary file is renamed over `issuer-key.pem`.
pub fn rotate_key(args: &RotateKeyArgs) -> anyhow::Result<()> {
    check_usci(&args.usci)?;
    let organization = check_organization(&args.organization)?;
    let file = key_file(args.algorithm);
    let key_path = args.data_dir.join(file);
    if !key_path.exists() {
        bail!("no issuer key at {}: nothing to rotate (use `ecert-pki request` for a first key)", key_path.display());
    }
    let old_key = read_issuer_key(&key_path, args.algorithm)?;
    let new_key = TrustKey::generate(args.algorithm);
    let csr = create_csr(&new_key, organization, &args.usci, &new_key.did())
        .context("making the certificate signing request")?;

    let pending = args.data_dir.join(format!(".{file}.new-{}", std::process::id()));
    let new_pem = key_pem(&new_key).context("encoding the new key")?;
    files::create_private(&pending, new_pem.as_bytes())?;

    let retire = || -> anyhow::Result<PathBuf> {
        let retired_dir = args.data_dir.join(RETIRED_KEYS_DIR);
        files::create_private_dir(&retired_dir)?;
        let retired = retired_key_path(&retired_dir, file.trim_end_matches(".pem"));
        if std::fs::hard_link(&key_path, &retired).is_err() {
            let old_pem =
                Zeroizing::new(std::fs::read(&key_path).with_context(|| format!("reading {}", key_path.display()))?);
            files::create_private(&retired, &old_pem)?;
        }
        std::fs::rename(&pending, &key_path)
            .with_context(|| format!("installing the new key as {}", key_path.display()))?;
        Ok(retired)
    };
    let retired = match retire() {
        Ok(retired) => retired,
        Err(error) => {
            let _ = std::fs::remove_file(&pending);
            return Err(error
                .context(format!("rotating the key in {} (the old key is still in place)", args.data_dir.display())));
        }
    };
    files::write_output(args.out.as_deref(), &csr)?;

    eprintln!("Rotated the issuer key in {}", args.data_dir.display());
    eprintln!("  old key:     {} (kept as {}, never used to sign again)", old_key.did(), retired.display());
    eprintln!("  new key:     {} ({})", new_key.did(), key_path.display());
    if let Some(out) = &args.out {
        eprintln!("  CSR written to {}", out.display());
    }
    eprintln!("Next steps ({}):", display_time(now()));
    eprintln!("  1. Send the CSR for the new key to your department; it issues a certificate");
    eprintln!("     (ecert-pki issue) and publishes a trust list with it.");
    eprintln!("  2. Restart the issuer service once that trust list is out: it signs with the new");
    eprintln!("     key from then on (until the restart it keeps signing with the old key, which");
    eprintln!("     verifiers still trust).");
    eprintln!("  3. Then ask the department to revoke the old certificate with reason superseded");
    eprintln!("     (ecert-pki revoke --reason superseded). Credentials signed before that stay");
    eprintln!("     valid; only a key-compromise revocation would void them.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usci_errors_name_the_expected_check_character() {
        assert!(check_usci("91440300715267 26XG").is_err());
        check_usci("9144030071526726XG").unwrap();
        let error = check_usci("9144030071526726XH").unwrap_err().to_string();
        assert!(error.contains("give G"), "{error}");
        let error = check_usci("12345").unwrap_err().to_string();
        assert!(error.contains("18 characters"), "{error}");
    }
}
