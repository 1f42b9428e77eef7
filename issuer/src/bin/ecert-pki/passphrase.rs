//! The root-key passphrase: from a file or the environment, never from the
//! command line, never printed.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use p256::elliptic_curve::zeroize::Zeroizing;

/// The environment variable holding the passphrase when no
/// `--passphrase-file` is given.
pub const PASSPHRASE_ENV: &str = "ISSUER_PKI_PASSPHRASE";

/// Passphrases shorter than this get a warning when a root is created.
const RECOMMENDED_MIN_CHARS: usize = 12;

/// Where the root key's passphrase comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct PassphraseArgs {
    /// Read the root key's passphrase from FILE (one line; the trailing
    /// newline is ignored). Without this option the environment variable
    /// ISSUER_PKI_PASSPHRASE is used. The passphrase is never accepted as an
    /// argument and never printed.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// Read the passphrase: `--passphrase-file` if given (the environment is
    /// then ignored), else `ISSUER_PKI_PASSPHRASE`.
    ///
    /// # Errors
    /// When neither is given, the file cannot be read or has several lines,
    /// or the passphrase is empty.
    pub fn read(&self) -> anyhow::Result<Zeroizing<String>> {
        let passphrase = match &self.passphrase_file {
            Some(path) => {
                let content = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading passphrase file {}", path.display()))?,
                );
                warn_if_readable_by_others(path);
                let line =
                    content.strip_suffix('\n').map_or(content.as_str(), |line| line.strip_suffix('\r').unwrap_or(line));
                if line.contains('\n') {
                    bail!(
                        "passphrase file {} has more than one line; it must hold only the passphrase",
                        path.display()
                    );
                }
                if line.is_empty() {
                    bail!("passphrase file {} is empty; an empty passphrase is refused", path.display());
                }
                Zeroizing::new(line.to_owned())
            }
            None => match std::env::var(PASSPHRASE_ENV) {
                Ok(value) if value.is_empty() => {
                    bail!("{PASSPHRASE_ENV} is empty; an empty passphrase is refused")
                }
                Ok(value) => Zeroizing::new(value),
                Err(std::env::VarError::NotPresent) => {
                    bail!("no passphrase for the root key: give --passphrase-file FILE or set {PASSPHRASE_ENV}")
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    bail!("{PASSPHRASE_ENV} is not valid UTF-8")
                }
            },
        };
        Ok(passphrase)
    }

    /// Read a passphrase for protecting a new key: as [`Self::read`], with a
    /// warning on stderr when it is short.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub fn read_new(&self) -> anyhow::Result<Zeroizing<String>> {
        let passphrase = self.read()?;
        if passphrase.chars().count() < RECOMMENDED_MIN_CHARS {
            eprintln!(
                "warning: the passphrase is shorter than {RECOMMENDED_MIN_CHARS} characters; \
                 anyone who copies root.key.pem can try to guess it offline"
            );
        }
        Ok(passphrase)
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.permissions().mode() & 0o077 != 0 {
            eprintln!("warning: passphrase file {} is accessible to other users (chmod 600 it)", path.display());
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &std::path::Path) {}
