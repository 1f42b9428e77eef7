//! `verifier check`: verify one credential offline against a signed verifier
//! bundle (see `wallet_core::verifier_bundle`) — an inspector's laptop at an
//! inspection, or a test. Reads the QR text, a photo of the QR code, or the
//! wallet's export file of a credential with its inclusion proof (the only input
//! with which anchoring is checked offline); prints
//! the report as JSON; exit status 0 verified, 1 not verified, 2 unusable input
//! or bundle. Makes no network request.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;
use wallet_core::trust::TrustList;
use wallet_core::verifier_bundle::{open_bundle_after, FreshnessPolicy, HeldBundle};

/// What to check.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The signed verifier bundle.
    #[arg(long)]
    pub bundle: PathBuf,
    /// A department root certificate (PEM) bundles and trust lists must be signed under (repeatable).
    #[arg(long = "trust-root", required = true)]
    pub roots: Vec<PathBuf>,
    /// Warn when a part of the bundle is older than this many hours.
    #[arg(long, default_value_t = 24)]
    pub warn_hours: i64,
    /// Fail the check a part serves when it is older than this many hours.
    #[arg(long, default_value_t = 168)]
    pub max_age_hours: i64,
    /// Directory of extra credential type definition files, to read QR codes of those types.
    #[arg(long)]
    pub credential_types: Option<PathBuf>,
    /// Directory where the highest bundle sequence opened is kept
    /// (`rollback-state.json`), so that an older bundle is refused by every later run.
    #[arg(long, env = "VERIFIER_DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,
    /// The QR code's text (`EC1:…`), the path of a photo of it, or the path of a
    /// wallet export (`{"credential": …, "inclusion": …}`).
    pub input: String,
}

/// Run the check; the exit status.
///
/// # Errors
/// Unreadable files.
pub async fn run(args: &CheckArgs) -> anyhow::Result<i32> {
    let types = wallet_core::credential_type::TypeRegistry::load(args.credential_types.as_deref())
        .context("loading credential type definitions")?;
    let now = chrono::Utc::now();
    let bytes = std::fs::read(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let roots = crate::trust_sync::read_pem_certificates(&args.roots)?;
    let policy = FreshnessPolicy {
        warn_after: chrono::Duration::hours(args.warn_hours),
        max_age: chrono::Duration::hours(args.max_age_hours),
    };
    // Rollback: a bundle older than one already opened here is refused (its
    // lists may predate a revocation), and so is one carrying an older trust
    // list than the one kept, or signed by a signer the kept list revokes; the
    // floors are raised before anything is checked.
    let floors = crate::rollback_state::RollbackState::open(&args.data_dir)?;
    let held_list = match floors.held_trust_list() {
        Some(bytes) => Some(TrustList::reopen_held(&bytes, &roots).with_context(|| {
            format!(
                "the trust list kept in {} does not reopen under these roots",
                args.data_dir.join(crate::rollback_state::HELD_TRUST_LIST_FILE).display()
            )
        })?),
        None => None,
    };
    let held = HeldBundle { sequence: floors.bundle_sequence(), trust_list: held_list.as_ref() };
    let opened = match open_bundle_after(&bytes, &roots, now, policy, held).await {
        Ok(opened) => opened.with_types(types),
        Err(e) => {
            println!("{}", json!({"error": e.code(), "message": e.to_string()}));
            return Ok(2);
        }
    };
    // The CRL floors kept across runs: the list kept here may be lost.
    if let Some(rollback) = opened.trust_store().and_then(|carried| carried.crl_below(&floors.crl_floors())) {
        let refused = wallet_core::verifier_bundle::BundleFileError::CrlRollback(rollback);
        println!("{}", json!({"error": refused.code(), "message": refused.to_string()}));
        return Ok(2);
    }
    floors.record_bundle_sequence(opened.bundle.sequence)?;
    if let Some(carried) = opened.trust_store() {
        floors.record_crl_floors(&carried.crl_floors())?;
        if held_list.as_ref().is_none_or(|held| carried.sequence() > held.sequence()) {
            floors.record_held_trust_list(opened.bundle.trust_list.as_bytes())?;
        }
    }
    let path = std::path::Path::new(&args.input);
    let text = if !args.input.starts_with("EC1:") && !args.input.starts_with("EP1:") && path.is_file() {
        let image = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        // The wallet's export (credential + inclusion proof) or a credential's JSON.
        if image.trim_ascii_start().starts_with(b"{") {
            String::from_utf8(image).with_context(|| format!("{} is not UTF-8", path.display()))?
        } else {
            match wallet_core::qr::decode_image(&image) {
                Ok(text) => text,
                Err(e) => {
                    println!("{}", json!({"error": e.code(), "message": e.to_string()}));
                    return Ok(2);
                }
            }
        }
    } else {
        args.input.clone()
    };
    let (vc, report) = match opened.verify_qr_text(&text, None, now).await {
        Ok(checked) => (checked.credential, checked.report),
        Err(e) => {
            println!("{}", json!({"error": e.error, "message": e.message.en}));
            return Ok(2);
        }
    };
    let verified = report.verified;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "verified": verified,
            "bundle": {"sequence": opened.bundle.sequence, "issuedAt": opened.bundle.issued_at, "age": opened.age(now)},
            "bundleProblems": opened.problems,
            "report": report,
            "credential": vc,
        }))?
    );
    Ok(if verified { 0 } else { 1 })
}
