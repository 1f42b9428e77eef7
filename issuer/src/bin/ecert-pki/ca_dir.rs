//! A department CA directory on disk: root certificate, encrypted root key,
//! issued certificates, revocation register, trust-list sequence.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wallet_core::trust::{
    certificate_pem_to_der, decrypt_trust_key, summarize_certificate, CertificateSummary, KeyProtectionError,
    RevocationEntry, RevocationReason, TrustKey,
};

use super::files;

/// The root certificate (PEM).
pub const ROOT_CERTIFICATE_FILE: &str = "root.pem";
/// The root's private key (passphrase-encrypted PKCS#8 PEM).
pub const ROOT_KEY_FILE: &str = "root.key.pem";
/// The directory of issued certificates, `<serial-hex>.pem`.
pub const ISSUED_DIR: &str = "issued";
/// The revocation register.
pub const REVOCATIONS_FILE: &str = "revocations.json";
/// The last trust-list sequence number signed with this root.
pub const SEQUENCE_FILE: &str = "trust-list.sequence";
/// The format version of `revocations.json`.
pub const REVOCATIONS_FORMAT_VERSION: u32 = 1;

/// A department CA directory.
#[derive(Debug, Clone)]
pub struct CaDir {
    path: PathBuf,
}

impl CaDir {
    /// A directory about to be made a CA directory (nothing is checked).
    pub fn at(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    /// An existing CA directory.
    ///
    /// # Errors
    /// When it has no `root.pem`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let ca = Self::at(path);
        if !ca.file(ROOT_CERTIFICATE_FILE).is_file() {
            bail!(
                "{} is not a department CA directory (no {ROOT_CERTIFICATE_FILE}); \
                 create one with `ecert-pki init-root`",
                path.display()
            );
        }
        Ok(ca)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file of the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The root certificate, PEM.
    ///
    /// # Errors
    /// When it cannot be read.
    pub fn root_pem(&self) -> anyhow::Result<String> {
        let path = self.file(ROOT_CERTIFICATE_FILE);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The root certificate, DER, and what it says.
    ///
    /// # Errors
    /// When it cannot be read or is not a certificate of the profile.
    pub fn root(&self) -> anyhow::Result<(String, Vec<u8>, CertificateSummary)> {
        let pem = self.root_pem()?;
        let path = self.file(ROOT_CERTIFICATE_FILE);
        let der = certificate_pem_to_der(&pem).with_context(|| format!("reading {}", path.display()))?;
        let summary = summarize_certificate(&der).with_context(|| format!("reading {}", path.display()))?;
        if !summary.is_ca {
            bail!("{} is not a CA certificate", path.display());
        }
        Ok((pem, der, summary))
    }

    /// Decrypt the root key.
    ///
    /// # Errors
    /// A wrong passphrase, a damaged or missing key file.
    pub fn unlock_root_key(&self, passphrase: &str) -> anyhow::Result<TrustKey> {
        let path = self.file(ROOT_KEY_FILE);
        let pem = p256::elliptic_curve::zeroize::Zeroizing::new(
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
        );
        decrypt_trust_key(&pem, passphrase).map_err(|error| match error {
            KeyProtectionError::WrongPassphraseOrDamaged => {
                anyhow::anyhow!("cannot unlock {}: wrong passphrase (or the file is damaged)", path.display())
            }
            other => anyhow::anyhow!("cannot unlock {}: {other}", path.display()),
        })
    }

    /// Where the certificate with this serial (normalised hex) is stored.
    pub fn issued_file(&self, serial_hex: &str) -> PathBuf {
        self.path.join(ISSUED_DIR).join(format!("{serial_hex}.pem"))
    }

    /// Every certificate in `issued/` (DER), by file name; each is checked
    /// to be a certificate of the profile.
    ///
    /// # Errors
    /// When the directory or a certificate cannot be read.
    pub fn issued_certificates(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let dir = self.path.join(ISSUED_DIR);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let file = entry.path();
            if file.extension().is_some_and(|extension| extension == "pem") && file.is_file() {
                files.push(file);
            }
        }
        files.sort();
        files
            .into_iter()
            .map(|file| {
                let read = || -> anyhow::Result<Vec<u8>> {
                    let pem = std::fs::read_to_string(&file)?;
                    let der = certificate_pem_to_der(&pem)?;
                    summarize_certificate(&der)?;
                    Ok(der)
                };
                read().with_context(|| format!("reading issued certificate {}", file.display()))
            })
            .collect()
    }

    /// The revocation register (empty when the file does not exist).
    ///
    /// # Errors
    /// When it cannot be read or parsed.
    pub fn revocations(&self) -> anyhow::Result<RevocationRegister> {
        let path = self.file(REVOCATIONS_FILE);
        if !path.exists() {
            return Ok(RevocationRegister::default());
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let register: RevocationRegister = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a revocation register", path.display()))?;
        if register.version != REVOCATIONS_FORMAT_VERSION {
            bail!(
                "{} has format version {}; this program reads version {REVOCATIONS_FORMAT_VERSION}",
                path.display(),
                register.version
            );
        }
        for record in &register.revocations {
            hex::decode(&record.serial)
                .with_context(|| format!("{}: serial {:?} is not hex", path.display(), record.serial))?;
        }
        Ok(register)
    }

    /// Replace the revocation register (atomically).
    ///
    /// # Errors
    /// When it cannot be written.
    pub fn save_revocations(&self, register: &RevocationRegister) -> anyhow::Result<()> {
        let mut json = serde_json::to_string_pretty(register).context("encoding revocations")?;
        json.push('\n');
        files::write_atomically(&self.file(REVOCATIONS_FILE), json.as_bytes())
    }

    /// Increment and return the trust-list sequence number. The caller holds
    /// the directory's lock. The new number is saved before it is used, so a
    /// failure later leaves a gap, never a reused number.
    ///
    /// # Errors
    /// When the file is unreadable or not a number.
    pub fn next_trust_list_sequence(&self) -> anyhow::Result<u64> {
        let path = self.file(SEQUENCE_FILE);
        let last = if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            text.trim().parse::<u64>().with_context(|| format!("{} does not hold a sequence number", path.display()))?
        } else {
            0
        };
        let next = last.checked_add(1).with_context(|| format!("{} is at its maximum", path.display()))?;
        files::write_atomically(&path, format!("{next}\n").as_bytes())?;
        Ok(next)
    }
}

/// `revocations.json`: every revocation the department has recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRegister {
    /// Format version, [`REVOCATIONS_FORMAT_VERSION`].
    pub version: u32,
    /// The revocations, in the order they were recorded.
    pub revocations: Vec<RevocationRecord>,
}

impl Default for RevocationRegister {
    fn default() -> Self {
        Self { version: REVOCATIONS_FORMAT_VERSION, revocations: Vec::new() }
    }
}

/// One revoked certificate, as it goes into the CRL, with who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// The certificate's serial, lower-case hex (its file in `issued/`).
    pub serial: String,
    /// The subject, for people reading the file.
    #[serde(default)]
    pub subject: Option<String>,
    /// The revocation time (CRL revocationDate).
    pub revoked_at: DateTime<Utc>,
    /// RFC 5280 reason (CRL reasonCode).
    pub reason: RevocationReason,
    /// For key compromise: since when the key is suspect (CRL invalidityDate).
    #[serde(default)]
    pub invalidity_date: Option<DateTime<Utc>>,
    /// When this record was written.
    pub recorded_at: DateTime<Utc>,
    /// Who wrote it.
    pub recorded_by: String,
    /// The operator's note.
    #[serde(default)]
    pub comment: Option<String>,
    /// What this record said before it was upgraded (e.g. superseded, later
    /// found compromised), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<EarlierRevocation>,
}

/// An earlier state of a revocation record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierRevocation {
    /// The reason then.
    pub reason: RevocationReason,
    /// The invalidity date then.
    #[serde(default)]
    pub invalidity_date: Option<DateTime<Utc>>,
    /// When that state was recorded.
    pub recorded_at: DateTime<Utc>,
    /// By whom.
    pub recorded_by: String,
    /// With which note.
    #[serde(default)]
    pub comment: Option<String>,
}

impl RevocationRecord {
    /// The first instant from which signatures are void: for compromise, the
    /// earlier of the invalidity date and the revocation time (inclusive);
    /// otherwise after the revocation time.
    pub fn voids_from(&self) -> DateTime<Utc> {
        match self.invalidity_date {
            Some(invalidity) if self.reason.voids_earlier_signatures() => invalidity.min(self.revoked_at),
            _ => self.revoked_at,
        }
    }

    /// The CRL entry.
    ///
    /// # Errors
    /// When the serial is not hex.
    pub fn to_entry(&self) -> anyhow::Result<RevocationEntry> {
        Ok(RevocationEntry {
            serial: hex::decode(&self.serial).with_context(|| format!("serial {:?} is not hex", self.serial))?,
            revoked_at: self.revoked_at,
            reason: self.reason,
            invalidity_date: self.invalidity_date,
        })
    }
}

impl RevocationRegister {
    /// The CRL entries.
    ///
    /// # Errors
    /// When a serial is not hex.
    pub fn entries(&self) -> anyhow::Result<Vec<RevocationEntry>> {
        self.revocations.iter().map(RevocationRecord::to_entry).collect()
    }

    /// The record for a serial.
    pub fn find_mut(&mut self, serial_hex: &str) -> Option<&mut RevocationRecord> {
        self.revocations.iter_mut().find(|record| record.serial == serial_hex)
    }
}

/// Normalise a serial number as typed by an operator: hex digits, optionally
/// with `:` or spaces between octets (as OpenSSL prints them) or a `0x`
/// prefix, any case → lower-case hex without a leading zero octet.
///
/// # Errors
/// When it is not hex.
pub fn normalize_serial(text: &str) -> anyhow::Result<String> {
    let trimmed = text.trim();
    let without_prefix = trimmed.strip_prefix("0x").or_else(|| trimmed.strip_prefix("0X")).unwrap_or(trimmed);
    let mut digits: String =
        without_prefix.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("serial {text:?} is not a hexadecimal number");
    }
    if digits.len() % 2 == 1 {
        digits.insert(0, '0');
    }
    while digits.len() > 2 && digits.starts_with("00") {
        digits.drain(..2);
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_normalised() {
        assert_eq!(normalize_serial("4A:0b:FF").unwrap(), "4a0bff");
        assert_eq!(normalize_serial("0x00fa").unwrap(), "fa");
        assert_eq!(normalize_serial(" abc ").unwrap(), "0abc");
        assert!(normalize_serial("xyz").is_err());
        assert!(normalize_serial("").is_err());
    }
}
