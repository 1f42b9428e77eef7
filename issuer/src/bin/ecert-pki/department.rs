//! The department side: root creation, issuing, revocation, CRLs, trust lists.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use chrono::{Duration, Months};
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_root, create_root_authorising, crl_der_to_pem,
    issue_certificate, random_serial, summarize_certificate, CertificateValidity, DepartmentName, TrustListContents,
    BASE_CREDENTIAL_TYPE,
};

use super::ca_dir::{
    normalize_serial, CaDir, EarlierRevocation, RevocationRecord, RevocationRegister, ISSUED_DIR, REVOCATIONS_FILE,
    ROOT_CERTIFICATE_FILE, ROOT_KEY_FILE, SEQUENCE_FILE,
};
use super::files::{self, DirLock};
use super::root_key::{self, LazyPassphrase, NewRootKey, RootKey, ROOT_KEY_URI_FILE};
use super::show::{fingerprint, format_types};
use super::{display_time, now, BoundRootArgs, CrlArgs, InitRootArgs, IssueArgs, RevokeArgs, TrustListArgs};

/// `ecert-pki init-root`.
pub fn init_root(args: &InitRootArgs) -> anyhow::Result<()> {
    let ca = CaDir::at(&args.dir);
    for name in [ROOT_CERTIFICATE_FILE, ROOT_KEY_FILE, ROOT_KEY_URI_FILE, REVOCATIONS_FILE, SEQUENCE_FILE] {
        let existing = ca.file(name);
        if existing.exists() {
            bail!(
                "{} already holds a CA ({} exists); refusing to overwrite it",
                args.dir.display(),
                existing.display()
            );
        }
    }
    let issued = ca.file(ISSUED_DIR);
    if issued.is_dir()
        && std::fs::read_dir(&issued).with_context(|| format!("listing {}", issued.display()))?.next().is_some()
    {
        bail!("{} is not empty; refusing to create a root CA over earlier certificates", issued.display());
    }
    let organization = args.organization.trim();
    let common_name = args.common_name.trim();
    if organization.is_empty() || common_name.is_empty() {
        bail!("--organization and --common-name must not be empty");
    }
    let not_before = now();
    let not_after = not_before.checked_add_months(Months::new(12 * args.years)).context("--years is too large")?;
    let authorises = if args.any_type { None } else { Some(check_credential_types(&args.authorises)?) };
    let key = NewRootKey::create(args.token.as_deref(), args.algorithm, &args.passphrase)?;
    let subject = DepartmentName { organization: organization.to_owned(), common_name: common_name.to_owned() };
    let validity = CertificateValidity { not_before, not_after };
    let root_pem = match &authorises {
        Some(types) => create_root_authorising(&subject, &validity, key.signing(), types),
        None => create_root(&subject, &validity, key.signing()),
    }
    .context("creating the root certificate")?;

    files::create_private_dir(ca.path())?;
    files::create_private_dir(&issued)?;
    // The key first: of two concurrent runs, the second stops here.
    key.save(&ca)?;
    files::write_atomically(&ca.file(ROOT_CERTIFICATE_FILE), root_pem.as_bytes())?;
    ca.save_revocations(&RevocationRegister::default())?;
    files::write_atomically(&ca.file(SEQUENCE_FILE), b"0\n")?;

    let (_, root_der, summary) = ca.root()?;
    eprintln!("Created department root CA in {}", ca.path().display());
    eprintln!("  subject:     {}", summary.subject);
    eprintln!("  algorithm:   {}", args.algorithm);
    eprintln!("  serial:      {}", summary.serial);
    eprintln!("  valid:       {} – {}", display_time(summary.not_before), display_time(summary.not_after));
    eprintln!("  SHA-256:     {}", fingerprint(&root_der));
    eprintln!("  authorises:  {}", authorised_types_line(&summary));
    eprintln!("  files:       {ROOT_CERTIFICATE_FILE} (give it to verifiers), {}", key.describe());
    eprintln!(
        "Verifiers configure {} as a trusted root; confirm its SHA-256 fingerprint with them out of band.",
        ca.file(ROOT_CERTIFICATE_FILE).display()
    );
    Ok(())
}

/// What a root may authorise, for a person.
fn authorised_types_line(root: &wallet_core::trust::CertificateSummary) -> String {
    if root.lists_types {
        root.allowed_types.join(", ")
    } else {
        "any credential type (no bound: `ecert-pki bound-root --authorises …` sets one)".into()
    }
}

/// `ecert-pki bound-root`: the root re-signed with a bound on the types it
/// authorises. The bound has no time: it also judges credentials signed
/// before it. So it is refused while a certificate the root issued lists a
/// type outside the bound and some signature of it still stands (not
/// revoked, or revoked in a way that keeps earlier signatures: superseded,
/// ceased, compromised after it was issued): verifiers would turn those
/// credentials red without anyone having decided so. `--invalidate-history`
/// decides so.
pub fn bound_root(args: &BoundRootArgs) -> anyhow::Result<()> {
    let ca = CaDir::open(&args.dir)?;
    let _lock = DirLock::acquire(ca.path())?;
    let types = check_credential_types(&args.authorises)?;
    let (root_pem, _, before) = ca.root()?;
    let revoked = ca.revocations()?;
    let mut beyond = Vec::new();
    for der in ca.issued_certificates()? {
        let certificate = summarize_certificate(&der).context("reading an issued certificate")?;
        let serial = &certificate.serial;
        // Revoked so that nothing it ever signed stands: no credential to lose.
        // A compromise voids from its instant on; other reasons only what is
        // signed after it (so one in the certificate's first second is not).
        let void_from_the_start = revoked.revocations.iter().any(|record| {
            record.serial == *serial
                && if record.reason.voids_earlier_signatures() {
                    record.voids_from() <= certificate.not_before
                } else {
                    record.voids_from() < certificate.not_before
                }
        });
        if void_from_the_start || !certificate.credential_signing {
            continue;
        }
        let outside: Vec<&str> =
            certificate.allowed_types.iter().filter(|t| !types.contains(t)).map(String::as_str).collect();
        if !outside.is_empty() {
            beyond.push(format!(
                "{serial} ({}): {}",
                certificate.organization_name.as_deref().unwrap_or(&certificate.subject),
                outside.join(", ")
            ));
        }
    }
    if !beyond.is_empty() && !args.invalidate_history {
        bail!(
            "certificates this root issued list types outside --authorises, and credentials they signed would \
             read invalid at verifiers given the bounded root: {}; widen the bound, or pass --invalidate-history \
             if those credentials must no longer count",
            beyond.join("; ")
        );
    }
    for certificate in &beyond {
        eprintln!("warning: credentials signed under {certificate} will read invalid (--invalidate-history)");
    }
    let root_key = root_key::unlock(&ca, args.root_key.uri.as_deref(), &mut LazyPassphrase::new(&args.passphrase))?;
    let new_pem = wallet_core::trust::bound_root(&root_pem, root_key.signing(), &types)
        .context("re-signing the root certificate")?;
    let kept = ca.file(&format!("root.{}.pem", before.serial));
    files::write_atomically(&kept, root_pem.as_bytes())?;
    files::write_atomically(&ca.file(ROOT_CERTIFICATE_FILE), new_pem.as_bytes())?;
    let (_, root_der, summary) = ca.root()?;
    eprintln!("Re-signed the department root in {}", ca.path().display());
    eprintln!("  subject:     {}", summary.subject);
    eprintln!("  serial:      {} (was {}, kept as {})", summary.serial, before.serial, kept.display());
    eprintln!("  authorises:  {}", authorised_types_line(&summary));
    eprintln!("  SHA-256:     {}", fingerprint(&root_der));
    eprintln!(
        "Give {} to verifiers in place of the earlier root; confirm its fingerprint out of band. \
         Certificates, CRLs and trust lists it signed stay valid under either.",
        ca.file(ROOT_CERTIFICATE_FILE).display()
    );
    Ok(())
}

/// Credential type names: a letter, then letters and digits (VC `type` terms).
fn check_credential_types(types: &[String]) -> anyhow::Result<Vec<String>> {
    let mut checked: Vec<String> = Vec::new();
    for credential_type in types {
        let credential_type = credential_type.trim();
        let mut characters = credential_type.chars();
        let well_formed =
            characters.next().is_some_and(|c| c.is_ascii_alphabetic()) && characters.all(|c| c.is_ascii_alphanumeric());
        if !well_formed {
            bail!(
                "credential type {credential_type:?} is not a type name \
                 (a letter, then letters and digits, e.g. HealthCertificate)"
            );
        }
        if credential_type == BASE_CREDENTIAL_TYPE {
            bail!(
                "{BASE_CREDENTIAL_TYPE} is every credential's type and cannot be authorised; name the specific types"
            );
        }
        if !checked.iter().any(|t| t == credential_type) {
            checked.push(credential_type.to_owned());
        }
    }
    if checked.is_empty() {
        bail!("--types needs at least one credential type");
    }
    Ok(checked)
}

/// `ecert-pki issue`.
pub fn issue(args: &IssueArgs) -> anyhow::Result<()> {
    let ca = CaDir::open(&args.dir)?;
    // Not beside a `bound-root`: a certificate issued under the old root
    // while the new one is written would escape its check.
    let _lock = DirLock::acquire(ca.path())?;
    let types = check_credential_types(&args.types)?;
    let defined = wallet_core::credential_type::TypeRegistry::load(args.credential_types.as_deref())?;
    if let Some(missing) = types.iter().find(|t| defined.by_type(t).is_none()) {
        let known: Vec<&str> = defined.definitions().map(|d| d.type_name.as_str()).collect();
        bail!(
            "credential type {missing} has no definition (known: {}); add its file with --credential-types DIR",
            known.join(", ")
        );
    }
    let csr_pem = std::fs::read_to_string(&args.csr).with_context(|| format!("reading {}", args.csr.display()))?;
    let (root_pem, _, root) = ca.root()?;

    let not_before = now();
    let not_after = not_before + Duration::days(i64::from(args.days));
    if not_after > root.not_after {
        let days_left = (root.not_after - not_before).num_days();
        bail!(
            "a {}-day certificate would outlive the root, which expires {}; use --days {} or less",
            args.days,
            display_time(root.not_after),
            days_left.max(0)
        );
    }
    let root_key = root_key::unlock(&ca, args.root_key.uri.as_deref(), &mut LazyPassphrase::new(&args.passphrase))?;

    let certificate_pem = issue_certificate(
        &csr_pem,
        &root_pem,
        root_key.signing(),
        &types,
        &CertificateValidity { not_before, not_after },
        &random_serial(),
    )
    .with_context(|| format!("issuing a certificate for {}", args.csr.display()))?;
    let der = certificate_pem_to_der(&certificate_pem).context("reading the new certificate")?;
    let summary = summarize_certificate(&der).context("reading the new certificate")?;

    files::create_private_dir(&ca.file(ISSUED_DIR))?;
    let stored = ca.issued_file(&summary.serial);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&stored)
        .and_then(|mut file| {
            use std::io::Write as _;
            file.write_all(certificate_pem.as_bytes())?;
            file.sync_all()
        })
        .with_context(|| format!("storing the certificate as {}", stored.display()))?;
    files::write_output(args.out.as_deref(), &certificate_pem)?;

    eprintln!("Issued certificate {}", summary.serial);
    eprintln!("  subject:     {}", summary.subject);
    if let Some(usci) = &summary.usci {
        eprintln!("  USCI:        {usci}");
    }
    if let Some(did) = &summary.did {
        eprintln!("  key:         {did}");
    }
    eprintln!("  types:       {}", format_types(&summary.allowed_types));
    eprintln!("  valid:       {} – {}", display_time(summary.not_before), display_time(summary.not_after));
    eprintln!("  stored in:   {}", stored.display());
    if let Some(out) = &args.out {
        eprintln!("  written to:  {}", out.display());
    }
    eprintln!(
        "Verifiers trust it once it is in a trust list: ecert-pki trust-list --dir {} … --out FILE",
        ca.path().display()
    );
    Ok(())
}

/// Who records a revocation: `--recorded-by`, else the login name.
fn recorder(args: &RevokeArgs) -> String {
    args.recorded_by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `ecert-pki revoke`.
pub fn revoke(args: &RevokeArgs) -> anyhow::Result<()> {
    let ca = CaDir::open(&args.dir)?;
    let serial = normalize_serial(&args.serial)?;
    let issued_file = ca.issued_file(&serial);
    if !issued_file.is_file() {
        bail!(
            "no certificate with serial {serial} was issued from {} (no {})",
            ca.path().display(),
            issued_file.display()
        );
    }
    let certificate = std::fs::read_to_string(&issued_file)
        .map_err(anyhow::Error::from)
        .and_then(|pem| Ok(certificate_pem_to_der(&pem)?))
        .and_then(|der| Ok(summarize_certificate(&der)?))
        .with_context(|| format!("reading {}", issued_file.display()))?;

    let recorded_at = now();
    let revoked_at = args.at.unwrap_or(recorded_at);
    if revoked_at > recorded_at {
        bail!("--at {} is in the future; record the revocation when it takes effect", display_time(revoked_at));
    }
    let reason = args.reason.to_revocation_reason();
    if let Some(invalidity) = args.invalidity_date {
        if !reason.voids_earlier_signatures() {
            bail!("--invalidity-date only applies to --reason key-compromise");
        }
        if invalidity > revoked_at {
            bail!(
                "--invalidity-date {} is after the revocation time {}",
                display_time(invalidity),
                display_time(revoked_at)
            );
        }
    }

    let _lock = DirLock::acquire(ca.path())?;
    let mut register = ca.revocations()?;
    let new_record = RevocationRecord {
        serial: serial.clone(),
        subject: Some(certificate.subject.clone()),
        revoked_at,
        reason,
        invalidity_date: args.invalidity_date,
        recorded_at,
        recorded_by: recorder(args),
        comment: args.comment.clone(),
        earlier: Vec::new(),
    };

    let outcome = match register.find_mut(&serial) {
        None => {
            register.revocations.push(new_record);
            "Revoked"
        }
        Some(existing) => {
            let upgrade_to_compromise =
                reason.voids_earlier_signatures() && !existing.reason.voids_earlier_signatures();
            // The revocation date of a certificate does not move; an upgrade
            // voids more signatures through its reason and invalidity date.
            let candidate = RevocationRecord { revoked_at: existing.revoked_at, ..new_record.clone() };
            let voids_more = candidate.voids_from() < existing.voids_from();
            if upgrade_to_compromise || (reason == existing.reason && reason.voids_earlier_signatures() && voids_more) {
                let mut earlier = std::mem::take(&mut existing.earlier);
                earlier.push(EarlierRevocation {
                    reason: existing.reason,
                    invalidity_date: existing.invalidity_date,
                    recorded_at: existing.recorded_at,
                    recorded_by: existing.recorded_by.clone(),
                    comment: existing.comment.clone(),
                });
                *existing = RevocationRecord { earlier, ..candidate };
                "Upgraded the revocation of"
            } else if reason == existing.reason {
                eprintln!(
                    "Certificate {serial} is already revoked ({}, {}); nothing changed.",
                    existing.reason.as_str(),
                    display_time(existing.revoked_at)
                );
                return Ok(());
            } else {
                bail!(
                    "certificate {serial} is already revoked ({}, {}); a revocation can only be \
                     upgraded to key-compromise, not changed to {}",
                    existing.reason.as_str(),
                    display_time(existing.revoked_at),
                    reason.as_str()
                );
            }
        }
    };
    ca.save_revocations(&register)?;

    let Some(record) = register.find_mut(&serial) else {
        bail!("internal error: the revocation of {serial} was not recorded");
    };
    eprintln!("{outcome} certificate {serial} ({})", certificate.subject);
    eprintln!("  reason:      {}", record.reason.as_str());
    eprintln!("  revoked at:  {}", display_time(record.revoked_at));
    if let Some(invalidity) = record.invalidity_date {
        eprintln!("  invalid since: {}", display_time(invalidity));
    }
    if record.reason.voids_earlier_signatures() {
        eprintln!("  effect:      every signature from {} on is void", display_time(record.voids_from()));
    } else {
        eprintln!(
            "  effect:      signatures after {} are void; credentials signed before stay valid",
            display_time(record.revoked_at)
        );
    }
    eprintln!(
        "Recorded in {}. Verifiers learn of it from the next CRL / trust list: \
         ecert-pki trust-list --dir {} … --out FILE",
        ca.file(REVOCATIONS_FILE).display(),
        ca.path().display()
    );
    Ok(())
}

/// `ecert-pki crl`.
pub fn crl(args: &CrlArgs) -> anyhow::Result<()> {
    let ca = CaDir::open(&args.dir)?;
    let (root_pem, _, root) = ca.root()?;
    let entries = ca.revocations()?.entries()?;
    let root_key = root_key::unlock(&ca, args.root_key.uri.as_deref(), &mut LazyPassphrase::new(&args.passphrase))?;
    let this_update = now();
    let next_update = this_update + Duration::days(i64::from(args.days));
    let crl_der = create_crl(&root_pem, root_key.signing(), &entries, this_update, next_update)
        .with_context(|| format!("making the CRL of {}", ca.path().display()))?;
    let crl_pem = crl_der_to_pem(&crl_der).context("encoding the CRL")?;
    files::write_output(args.out.as_deref(), &crl_pem)?;
    eprintln!(
        "CRL of {}: {} revoked certificate(s), this update {}, next update {} (publish a new one before then)",
        root.subject,
        entries.len(),
        display_time(this_update),
        display_time(next_update)
    );
    Ok(())
}

/// One department's part of a trust list.
struct DepartmentPart {
    path: PathBuf,
    root_der: Vec<u8>,
    root_key: RootKey,
    issuer_certificates: Vec<Vec<u8>>,
    crl_der: Vec<u8>,
    revoked: usize,
}

/// `ecert-pki trust-list`.
pub fn trust_list(args: &TrustListArgs) -> anyhow::Result<()> {
    let canonical = |path: &PathBuf| {
        CaDir::open(path)?;
        path.canonicalize().with_context(|| format!("resolving {}", path.display()))
    };
    let signer_path = canonical(&args.signer)?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for dir in &args.dirs {
        let path = canonical(dir)?;
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    if !paths.contains(&signer_path) {
        paths.push(signer_path.clone());
    }

    let mut passphrase = LazyPassphrase::new(&args.passphrase);
    let issued_at = now();
    let next_update = issued_at + Duration::days(i64::from(args.days));
    let mut parts = Vec::with_capacity(paths.len());
    for path in paths {
        let ca = CaDir::open(&path)?;
        let (root_pem, root_der, root) = ca.root()?;
        if root.not_after < next_update {
            eprintln!(
                "warning: the root in {} expires {}, before this list's next update",
                path.display(),
                display_time(root.not_after)
            );
        }
        // --root-key names the signer's key; the other roots' keys are as their directories say.
        let given = args.root_key.uri.as_deref().filter(|_| path == signer_path);
        let root_key = root_key::unlock(&ca, given, &mut passphrase)?;
        let register = ca.revocations()?;
        let entries = register.entries()?;
        let crl_der = create_crl(&root_pem, root_key.signing(), &entries, issued_at, next_update)
            .with_context(|| format!("making the CRL of {}", path.display()))?;
        let issuer_certificates = ca.issued_certificates()?;
        parts.push(DepartmentPart { path, root_der, root_key, issuer_certificates, crl_der, revoked: entries.len() });
    }
    let Some(signer) = parts.iter().find(|part| part.path == signer_path) else {
        bail!("internal error: the signer directory is not among the list's directories");
    };

    let _lock = DirLock::acquire(&signer_path)?;
    let sequence = CaDir::open(&signer_path)?.next_trust_list_sequence()?;
    let contents = TrustListContents {
        sequence,
        issued_at,
        next_update,
        roots: parts.iter().map(|part| part.root_der.clone()).collect(),
        issuer_certificates: parts.iter().flat_map(|part| part.issuer_certificates.iter().cloned()).collect(),
        crls: parts.iter().map(|part| part.crl_der.clone()).collect(),
    };
    let list = build_trust_list(&contents, signer.root_key.signing(), std::slice::from_ref(&signer.root_der))
        .context("signing the trust list")?;
    files::write_atomically(&args.out, &list)?;

    eprintln!("Trust list {} written to {}", sequence, args.out.display());
    for part in &parts {
        eprintln!(
            "  {}: root, {} issuer certificate(s), CRL with {} revocation(s)",
            part.path.display(),
            part.issuer_certificates.len(),
            part.revoked
        );
    }
    eprintln!("  signed by:   root of {}", signer_path.display());
    eprintln!(
        "  issued {}, next update {} (publish a new list before then)",
        display_time(issued_at),
        display_time(next_update)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_type_names_are_checked() {
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_credential_types(&names(&["HealthCertificate", "FoodBusinessLicence", "HealthCertificate"])).unwrap(),
            names(&["HealthCertificate", "FoodBusinessLicence"])
        );
        for bad in ["", "1Type", "Health Certificate", "Health-Certificate", "健康证", "VerifiableCredential"] {
            assert!(check_credential_types(&names(&[bad])).is_err(), "{bad}");
        }
    }
}
