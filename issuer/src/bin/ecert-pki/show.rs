//! `ecert-pki show`: a readable description of a certificate, CSR, CRL or
//! trust list. Private keys are refused, never displayed.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{
    certificate_pem_to_der, create_root, crl_pem_to_der, issue_certificate, random_serial, summarize_certificate,
    summarize_crl, CertificateSummary, CertificateValidity, CrlSummary, DepartmentName, RevocationEntry, TrustList,
};

use super::ca_dir::normalize_serial;
use super::{display_time, ShowArgs};

/// SHA-256 fingerprint of DER, as `openssl x509 -fingerprint -sha256` prints it.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|byte| format!("{byte:02X}")).collect::<Vec<_>>().join(":")
}

/// Credential types for display.
pub fn format_types(types: &[String]) -> String {
    if types.is_empty() {
        "(none)".to_owned()
    } else {
        types.join(", ")
    }
}

/// `ecert-pki show`.
pub fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let file = &args.file;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let now = Utc::now();
    let description = match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim_start().starts_with('{') => {
            let roots = read_roots(args)?;
            let (description, verification) = describe_trust_list(&bytes, &roots, now)
                .with_context(|| format!("reading trust list {}", file.display()))?;
            print!("{description}");
            return verification;
        }
        Ok(text) if text.contains("-----BEGIN ") => {
            describe_pem(text, now).with_context(|| format!("reading {}", file.display()))?
        }
        _ => describe_der(&bytes, now).with_context(|| format!("reading {}", file.display()))?,
    };
    print!("{description}");
    Ok(())
}

/// The `--root` certificates, DER.
fn read_roots(args: &ShowArgs) -> anyhow::Result<Vec<Vec<u8>>> {
    args.roots
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map_err(anyhow::Error::from)
                .and_then(|pem| Ok(certificate_pem_to_der(&pem)?))
                .with_context(|| format!("reading root certificate {}", path.display()))
        })
        .collect()
}

/// A PEM block: its label and the whole block text.
struct PemBlock<'a> {
    label: &'a str,
    text: &'a str,
}

fn pem_blocks(text: &str) -> anyhow::Result<Vec<PemBlock<'_>>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let from_start = rest.get(start..).unwrap_or_default();
        let after_begin = from_start.get("-----BEGIN ".len()..).unwrap_or_default();
        let label_end = after_begin.find("-----").context("a PEM BEGIN line is not terminated")?;
        let label = after_begin.get(..label_end).unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let end = from_start.find(&end_marker).with_context(|| format!("the PEM block {label} has no END line"))?
            + end_marker.len();
        blocks.push(PemBlock { label, text: from_start.get(..end).unwrap_or_default() });
        rest = from_start.get(end..).unwrap_or_default();
    }
    Ok(blocks)
}

fn describe_pem(text: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let blocks = pem_blocks(text)?;
    if blocks.iter().any(|block| block.label.contains("PRIVATE KEY")) {
        bail!("this file holds a private key; `ecert-pki show` never displays keys");
    }
    let mut out = String::new();
    for block in blocks {
        match block.label {
            "CERTIFICATE" => {
                let der = certificate_pem_to_der(block.text)?;
                describe_certificate(&mut out, &summarize_certificate(&der)?, &der, now);
            }
            "X509 CRL" => {
                let der = crl_pem_to_der(block.text)?;
                describe_crl(&mut out, &summarize_crl(&der)?, now);
            }
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                describe_csr(&mut out, block.text)?;
            }
            other => bail!("a PEM {other} block is not something `show` describes"),
        }
        out.push('\n');
    }
    Ok(out)
}

fn describe_der(der: &[u8], now: DateTime<Utc>) -> anyhow::Result<String> {
    let mut out = String::new();
    if let Ok(summary) = summarize_certificate(der) {
        describe_certificate(&mut out, &summary, der, now);
    } else if let Ok(summary) = summarize_crl(der) {
        describe_crl(&mut out, &summary, now);
    } else {
        bail!("not a certificate, CSR, CRL (PEM or DER) or trust list (JSON)");
    }
    Ok(out)
}

fn validity_note(not_before: DateTime<Utc>, not_after: DateTime<Utc>, now: DateTime<Utc>) -> &'static str {
    if now < not_before {
        "not yet valid"
    } else if now > not_after {
        "EXPIRED"
    } else {
        "valid now"
    }
}

fn describe_certificate(out: &mut String, summary: &CertificateSummary, der: &[u8], now: DateTime<Utc>) {
    let role = if summary.is_ca {
        "department root CA"
    } else if summary.credential_signing {
        "credential issuer"
    } else if summary.trust_list_signing {
        "trust-list signer"
    } else {
        "other (no credential-signing or trust-list-signing usage)"
    };
    let _ = writeln!(out, "Certificate ({role})");
    let _ = writeln!(out, "  serial:        {}", summary.serial);
    let _ = writeln!(out, "  subject:       {}", summary.subject);
    if let Some(usci) = &summary.usci {
        let _ = writeln!(out, "  USCI:          {usci}");
    }
    let _ = writeln!(out, "  issuer:        {}", summary.issuer);
    if let Some(did) = &summary.did {
        let _ = writeln!(out, "  key:           {did}");
    }
    let _ = writeln!(
        out,
        "  valid:         {} – {} ({})",
        display_time(summary.not_before),
        display_time(summary.not_after),
        validity_note(summary.not_before, summary.not_after, now)
    );
    if summary.is_ca {
        let authorises = if summary.lists_types {
            format_types(&summary.allowed_types)
        } else {
            "any credential type (no bound)".into()
        };
        let _ = writeln!(out, "  authorises:    {authorises}");
    } else if summary.credential_signing || !summary.allowed_types.is_empty() {
        let _ = writeln!(out, "  may issue:     {}", format_types(&summary.allowed_types));
    }
    let _ = writeln!(out, "  SHA-256:       {}", fingerprint(der));
}

fn revocation_line(entry: &RevocationEntry) -> String {
    let mut line =
        format!("{}  {}  {}", hex::encode(&entry.serial), display_time(entry.revoked_at), entry.reason.as_str());
    if let Some(invalidity) = entry.invalidity_date {
        let _ = write!(line, "  invalid since {}", display_time(invalidity));
    }
    line
}

fn describe_crl(out: &mut String, summary: &CrlSummary, now: DateTime<Utc>) {
    let _ = writeln!(out, "CRL");
    let _ = writeln!(out, "  issuer:        {}", summary.issuer);
    let _ = writeln!(out, "  this update:   {}", display_time(summary.this_update));
    match summary.next_update {
        Some(next) => {
            let stale = if next < now { " (STALE: verifiers refuse it)" } else { "" };
            let _ = writeln!(out, "  next update:   {}{stale}", display_time(next));
        }
        None => {
            let _ = writeln!(out, "  next update:   (none)");
        }
    }
    let _ = writeln!(out, "  revoked:       {}", summary.entries.len());
    for entry in &summary.entries {
        let _ = writeln!(out, "    {}", revocation_line(entry));
    }
}

/// Describe a CSR by letting a throwaway root certify it: that verifies its
/// signature (proof of possession) and reads the subject and key exactly as
/// `ecert-pki issue` would, without a CSR parser of our own. The throwaway
/// certificate is discarded.
fn describe_csr(out: &mut String, csr_pem: &str) -> anyhow::Result<()> {
    let start = Utc::now();
    let throwaway_key = IssuerKey::generate();
    let throwaway_root = create_root(
        &DepartmentName { organization: "preview".into(), common_name: "preview".into() },
        &CertificateValidity::starting(start - Duration::hours(1), Duration::days(2)),
        &throwaway_key,
    )
    .context("preparing to read the CSR")?;
    let preview = issue_certificate(
        csr_pem,
        &throwaway_root,
        &throwaway_key,
        &["Preview"],
        &CertificateValidity::starting(start, Duration::days(1)),
        &random_serial(),
    )
    .context("not a valid certificate signing request for this profile")?;
    let summary = summarize_certificate(&certificate_pem_to_der(&preview)?)?;
    let _ = writeln!(out, "Certificate signing request (signature verified)");
    let _ = writeln!(out, "  subject:       {}", summary.subject);
    if let Some(usci) = &summary.usci {
        let _ = writeln!(out, "  USCI:          {usci}");
    }
    if let Some(did) = &summary.did {
        let _ = writeln!(out, "  key:           {did}");
    }
    Ok(())
}

#[derive(Deserialize)]
struct Envelope {
    protected: String,
    payload: String,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    x5c: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    roots: Vec<String>,
    issuer_certificates: Vec<String>,
    crls: Vec<String>,
}

/// Describe a trust list (format: `wallet_core::trust::trust_list`), and
/// verify it when roots are given. Returns the description and the outcome
/// of the verification (an error when it fails).
fn describe_trust_list(
    bytes: &[u8],
    roots: &[Vec<u8>],
    now: DateTime<Utc>,
) -> anyhow::Result<(String, anyhow::Result<()>)> {
    let parsed = TrustList::parse(bytes)?;
    let envelope: Envelope = serde_json::from_slice(bytes)?;
    let header: Header =
        serde_json::from_slice(&decode_base64(&envelope.protected).context("the protected header is not base64url")?)?;
    let payload: Payload = serde_json::from_str(&envelope.payload)?;
    let decode_all = |items: &[String], what: &str| -> anyhow::Result<Vec<Vec<u8>>> {
        items
            .iter()
            .enumerate()
            .map(|(index, item)| decode_base64(item).with_context(|| format!("{what} #{index} is not base64")))
            .collect()
    };
    let signer_chain = decode_all(&header.x5c, "signer certificate")?;
    let root_ders = decode_all(&payload.roots, "root")?;
    let certificate_ders = decode_all(&payload.issuer_certificates, "issuer certificate")?;
    let crl_ders = decode_all(&payload.crls, "CRL")?;

    let mut out = String::new();
    let _ = writeln!(out, "Trust list");
    let _ = writeln!(out, "  sequence:      {}", parsed.sequence());
    let _ = writeln!(out, "  issued at:     {}", display_time(parsed.issued_at()));
    let stale = if parsed.next_update() < now { " (STALE: verifiers refuse it)" } else { "" };
    let _ = writeln!(out, "  next update:   {}{stale}", display_time(parsed.next_update()));
    if let Some(signer) = signer_chain.first() {
        match summarize_certificate(signer) {
            Ok(summary) => {
                let _ = writeln!(
                    out,
                    "  signed by:     {} (serial {}, SHA-256 {})",
                    summary.subject,
                    summary.serial,
                    fingerprint(signer)
                );
            }
            Err(error) => {
                let _ = writeln!(out, "  signed by:     (unreadable certificate: {error})");
            }
        }
    }

    let _ = writeln!(out, "\nRoots ({}):", root_ders.len());
    for der in &root_ders {
        match summarize_certificate(der) {
            Ok(summary) => {
                let _ = writeln!(
                    out,
                    "  - {} (serial {}, valid until {}, SHA-256 {})",
                    summary.subject,
                    summary.serial,
                    display_time(summary.not_after),
                    fingerprint(der)
                );
            }
            Err(error) => {
                let _ = writeln!(out, "  - (unreadable: {error})");
            }
        }
    }

    let crls: Vec<CrlSummary> = crl_ders.iter().filter_map(|der| summarize_crl(der).ok()).collect();
    let mut revoked: HashMap<(String, String), &RevocationEntry> = HashMap::new();
    for crl in &crls {
        for entry in &crl.entries {
            if let Ok(serial) = normalize_serial(&hex::encode(&entry.serial)) {
                revoked.insert((crl.issuer.clone(), serial), entry);
            }
        }
    }

    let _ = writeln!(out, "\nIssuer certificates ({}):", certificate_ders.len());
    for der in &certificate_ders {
        let summary = match summarize_certificate(der) {
            Ok(summary) => summary,
            Err(error) => {
                let _ = writeln!(out, "  - (unreadable: {error})");
                continue;
            }
        };
        let _ = writeln!(out, "  - {}", summary.subject);
        if let Some(usci) = &summary.usci {
            let _ = writeln!(out, "      USCI:      {usci}");
        }
        if let Some(did) = &summary.did {
            let _ = writeln!(out, "      key:       {did}");
        }
        let _ = writeln!(out, "      may issue: {}", format_types(&summary.allowed_types));
        let _ = writeln!(out, "      issuer:    {}", summary.issuer);
        let _ = writeln!(out, "      serial:    {}", summary.serial);
        let _ = writeln!(
            out,
            "      valid:     {} – {} ({})",
            display_time(summary.not_before),
            display_time(summary.not_after),
            validity_note(summary.not_before, summary.not_after, now)
        );
        let key = (summary.issuer.clone(), normalize_serial(&summary.serial).unwrap_or_default());
        if let Some(entry) = revoked.get(&key) {
            let _ = writeln!(out, "      REVOKED:   {}", revocation_line(entry));
        }
    }

    let _ = writeln!(out, "\nCRLs ({}):", crl_ders.len());
    for crl in &crls {
        let next = crl.next_update.map_or_else(|| "(none)".to_owned(), display_time);
        let _ = writeln!(
            out,
            "  - {}: {} revoked, this update {}, next update {}",
            crl.issuer,
            crl.entries.len(),
            display_time(crl.this_update),
            next
        );
    }
    if crls.len() != crl_ders.len() {
        let _ = writeln!(out, "  ({} unreadable)", crl_ders.len() - crls.len());
    }

    let verification = if roots.is_empty() {
        let _ = writeln!(out, "\nSignature: NOT CHECKED (give --root ROOT_PEM for each root a verifier trusts)");
        Ok(())
    } else {
        match TrustList::load(bytes, roots, now, Duration::days(36_500)) {
            Ok(store) => {
                let _ = writeln!(
                    out,
                    "\nSignature: valid; fresh; every CRL verified. Trusted roots: {}",
                    store.root_names().join("; ")
                );
                for warning in store.warnings() {
                    let _ = writeln!(out, "  warning: {warning}");
                }
                Ok(())
            }
            Err(error) => {
                let _ = writeln!(out, "\nSignature / freshness: FAILED ({})", error.code());
                Err(anyhow::anyhow!(
                    "the trust list does not verify against the given roots: {} ({error})",
                    error.code()
                ))
            }
        }
    };
    Ok((out, verification))
}

/// Decode base64, standard or URL-safe alphabet, padding optional (a
/// diagnostic tool reads what it is given): URL-safe symbols are mapped to the
/// standard ones, then the `base64` crate decodes with padding and trailing bits
/// not checked.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
    use base64::Engine as _;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    LENIENT.decode(standard).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_both_alphabets() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("-_-_").unwrap(), decode_base64("+/+/").unwrap());
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("a*bc").is_none());
    }

    #[test]
    fn private_keys_are_refused() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let error = describe_pem(pem, Utc::now()).unwrap_err().to_string();
        assert!(error.contains("never displays keys"), "{error}");
        assert!(!error.contains("AAAA"));
    }
}
