//! `issuer notarize`: an archive's command line.
//!
//! * `issuer notarize run <folder> --url <issuer> --manifest <file>`: walks the
//!   folder, hashes every file (SHA-256; the files never leave the machine),
//!   sends the digests in batches of 1,000 with a progress bar, and writes a
//!   manifest (JSON lines: `{"path", "digest", "index"}`).
//! * `issuer notarize check <folder> --manifest <file> [--url <issuer>]
//!   [--log-key <key>]`: with `--url`, first fetches the receipts of entries
//!   anchored since (stored in the manifest); then re-hashes the folder and
//!   verifies every receipt offline with wallet-core against the pinned log
//!   key. Reports changed, missing and new files, pending and bad receipts;
//!   exits 1 when anything is changed, missing or bad.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wallet_core::transparency::{document_digest, LogKey, NotarizationReceipt, ReceiptVerifier, WitnessPolicy};

/// Files per request.
const BATCH: usize = 1000;

/// `issuer notarize …`
#[derive(Debug, clap::Subcommand)]
pub enum NotarizeCommand {
    /// Notarise every file of a folder.
    Run(RunArgs),
    /// Re-check a folder against its manifest and receipts.
    Check(CheckArgs),
}

/// `issuer notarize run`
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The folder.
    pub folder: PathBuf,
    /// The issuer's base URL.
    #[arg(long, env = "ISSUER_URL")]
    pub url: String,
    /// Where to write the manifest (JSON lines).
    #[arg(long)]
    pub manifest: PathBuf,
    /// API token (`Authorization: Bearer`).
    #[arg(long, env = "ISSUER_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// `issuer notarize check`
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The folder.
    pub folder: PathBuf,
    /// The manifest written by `run` (receipts are added to it).
    #[arg(long)]
    pub manifest: PathBuf,
    /// Fetch missing receipts from this issuer first.
    #[arg(long, env = "ISSUER_URL")]
    pub url: Option<String>,
    /// The log's pinned key (default: fetched from `--url`, which is weaker).
    #[arg(long)]
    pub log_key: Option<String>,
    /// API token (`Authorization: Bearer`).
    #[arg(long, env = "ISSUER_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Audit the folder as of this time (RFC 3339): a file whose receipt was
    /// notarised later is reported `late`, not verified (a document swapped
    /// and notarised again today has a valid receipt, of today).
    #[arg(long, value_name = "TIME")]
    pub not_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// One manifest line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    /// Path relative to the folder, `/`-separated.
    pub path: String,
    /// SHA-256 of the file when notarised (hex).
    pub digest: String,
    /// Log index.
    pub index: u64,
    /// The receipt, once anchored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<NotarizationReceipt>,
}

/// What `check` found.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Files unchanged, with a receipt that verifies.
    pub verified: usize,
    /// Files unchanged, receipt not yet available (not anchored yet).
    pub pending: Vec<String>,
    /// Files whose content changed since notarisation.
    pub changed: Vec<String>,
    /// Notarised files no longer in the folder.
    pub missing: Vec<String>,
    /// Files never notarised.
    pub new: Vec<String>,
    /// Receipts that do not verify, with why (also: a receipt for another
    /// log entry than the manifest's).
    pub bad_receipts: Vec<(String, String)>,
    /// Files whose receipt verifies but was notarised after `--not-after`,
    /// with the time (RFC 3339).
    pub late: Vec<(String, String)>,
    /// When the latest verified receipt was notarised (RFC 3339).
    pub latest_notarized_at: Option<String>,
}

impl CheckReport {
    /// Whether everything notarised is intact and proven.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.bad_receipts.is_empty() && self.late.is_empty()
    }
}

/// Run a subcommand; the process exit code.
///
/// # Errors
/// I/O, network and issuer errors.
pub async fn run(command: NotarizeCommand) -> anyhow::Result<i32> {
    match command {
        NotarizeCommand::Run(args) => {
            let started = Instant::now();
            let count = notarize_folder(&args).await?;
            let elapsed = started.elapsed();
            eprintln!(
                "notarised {count} files in {elapsed:.1?} ({:.0} files/s); manifest: {}",
                count as f64 / elapsed.as_secs_f64().max(1e-9),
                args.manifest.display()
            );
            Ok(0)
        }
        NotarizeCommand::Check(args) => {
            let report = check_folder(&args).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.is_clean() { 0 } else { 1 })
        }
    }
}

fn files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![folder.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn relative(folder: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(folder).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn progress(len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{what} [{{bar:40}}] {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn client() -> anyhow::Result<reqwest::Client> {
    // The operator names the issuer (often on loopback or a private network);
    // a notarisation batch may take longer than the usual 30 s.
    Ok(service_http::outbound::client_builder(service_http::outbound::PrivateAddresses::Allowed)
        .timeout(std::time::Duration::from_secs(120))
        .build()?)
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
    let mut request = http.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let reply: Value = response.json().await.with_context(|| format!("POST {url}: HTTP {status}"))?;
    anyhow::ensure!(status.is_success(), "POST {url}: HTTP {status}: {reply}");
    Ok(reply)
}

async fn notarize_folder(args: &RunArgs) -> anyhow::Result<usize> {
    let base = args.url.trim_end_matches('/');
    let paths = files(&args.folder)?;
    let http = client()?;
    let mut manifest = std::io::BufWriter::new(
        std::fs::File::create(&args.manifest).with_context(|| format!("creating {}", args.manifest.display()))?,
    );
    let bar = progress(paths.len(), "notarising");
    for chunk in paths.chunks(BATCH) {
        let digests = chunk
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(hex::encode(document_digest(&bytes)))
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        let reply =
            post(&http, format!("{base}/api/v1/notarizations"), args.token.as_deref(), json!({"digests": digests}))
                .await?;
        let notarized = reply.get("notarized").and_then(Value::as_array).context("reply without notarized")?;
        anyhow::ensure!(
            notarized.len() == chunk.len(),
            "the issuer answered for {} of {} files",
            notarized.len(),
            chunk.len()
        );
        for ((path, digest), item) in chunk.iter().zip(&digests).zip(notarized) {
            anyhow::ensure!(
                item.get("digest").and_then(Value::as_str) == Some(digest.as_str()),
                "the issuer answered for another digest"
            );
            let entry = ManifestEntry {
                path: relative(&args.folder, path),
                digest: digest.clone(),
                index: item.get("index").and_then(Value::as_u64).context("no index")?,
                receipt: None,
            };
            writeln!(manifest, "{}", serde_json::to_string(&entry)?)?;
        }
        bar.inc(chunk.len() as u64);
    }
    manifest.flush()?;
    bar.finish();
    Ok(paths.len())
}

fn read_manifest(path: &Path) -> anyhow::Result<Vec<ManifestEntry>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(n, line)| serde_json::from_str(&line?).with_context(|| format!("{} line {}", path.display(), n + 1)))
        .collect()
}

fn write_manifest(path: &Path, entries: &[ManifestEntry]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for entry in entries {
        writeln!(out, "{}", serde_json::to_string(entry)?)?;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

async fn fetch_receipts(entries: &mut [ManifestEntry], base: &str, token: Option<&str>) -> anyhow::Result<()> {
    let http = client()?;
    let mut missing: Vec<&mut ManifestEntry> = entries.iter_mut().filter(|e| e.receipt.is_none()).collect();
    let bar = progress(missing.len(), "receipts");
    for chunk in missing.chunks_mut(BATCH) {
        let digests: Vec<&str> = chunk.iter().map(|e| e.digest.as_str()).collect();
        let reply =
            post(&http, format!("{base}/api/v1/notarizations/receipts"), token, json!({"digests": digests})).await?;
        let states = reply.as_array().context("receipts reply is not an array")?;
        for (entry, state) in chunk.iter_mut().zip(states) {
            if state.get("state").and_then(Value::as_str) == Some("anchored") {
                let receipt = state.get("receipt").cloned().unwrap_or(Value::Null);
                entry.receipt = Some(serde_json::from_value(receipt).context("receipt")?);
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    Ok(())
}

/// Re-check a folder against its manifest (see the module docs).
///
/// # Errors
/// I/O, network and issuer errors.
pub async fn check_folder(args: &CheckArgs) -> anyhow::Result<CheckReport> {
    let mut entries = read_manifest(&args.manifest)?;
    if let Some(url) = &args.url {
        fetch_receipts(&mut entries, url.trim_end_matches('/'), args.token.as_deref()).await?;
        write_manifest(&args.manifest, &entries)?;
    }
    let key_text = match (&args.log_key, &args.url) {
        (Some(key), _) => key.clone(),
        (None, Some(url)) => {
            eprintln!("warning: log key fetched from the issuer itself; pin it with --log-key");
            client()?.get(format!("{}/log/key", url.trim_end_matches('/'))).send().await?.text().await?
        }
        (None, None) => anyhow::bail!("offline check needs --log-key"),
    };
    let log_key = LogKey::from_vkey(key_text.trim()).map_err(|e| anyhow::anyhow!("log key: {e}"))?;

    let on_disk: BTreeMap<String, PathBuf> =
        files(&args.folder)?.into_iter().map(|p| (relative(&args.folder, &p), p)).collect();
    let notarised: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut report = CheckReport {
        new: on_disk.keys().filter(|p| !notarised.contains(p.as_str())).cloned().collect(),
        ..CheckReport::default()
    };
    let policy = WitnessPolicy::none();
    let mut verifier = ReceiptVerifier::new(&log_key, &policy);
    let bar = progress(entries.len(), "checking");
    let mut latest: Option<chrono::DateTime<chrono::Utc>> = None;
    for entry in &entries {
        bar.inc(1);
        let Some(path) = on_disk.get(&entry.path) else {
            report.missing.push(entry.path.clone());
            continue;
        };
        let digest = document_digest(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
        if hex::encode(digest) != entry.digest {
            report.changed.push(entry.path.clone());
            continue;
        }
        match &entry.receipt {
            None => report.pending.push(entry.path.clone()),
            Some(receipt) => match verifier.verify(receipt, &digest) {
                // The issuer answers with the digest's *first* entry: the same
                // content notarised earlier (a duplicate file, a second `run`)
                // is stronger proof. A receipt for a *later* entry than the
                // manifest names does not prove the manifest's claim.
                Ok(verified) if verified.index > entry.index => report.bad_receipts.push((
                    entry.path.clone(),
                    format!(
                        "the receipt is for log entry {}, later than the manifest's {}",
                        verified.index, entry.index
                    ),
                )),
                Ok(verified) => {
                    let at = i64::try_from(verified.notarized_at)
                        .ok()
                        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                    if args.not_after.is_some_and(|limit| at > limit) {
                        report.late.push((entry.path.clone(), at.to_rfc3339()));
                        continue;
                    }
                    report.verified += 1;
                    latest = latest.max(Some(at));
                }
                Err(e) => report.bad_receipts.push((entry.path.clone(), e.to_string())),
            },
        }
    }
    bar.finish_and_clear();
    report.latest_notarized_at = latest.map(|at| at.to_rfc3339());
    Ok(report)
}
