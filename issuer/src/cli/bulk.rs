//! `issuer bulk-issue`: upload a day's results to a running issuer.
//!
//! ```sh
//! issuer bulk-issue --url https://issuer.example --token "$TOKEN" \
//!     --type health-certificates results.csv
//! ```
//!
//! The file is NDJSON (one request per line, with `idempotencyKey`) or CSV (a
//! header row of field names and an `idempotencyKey` column; `.csv` or
//! `--format csv`). It is sent in chunks (`--chunk`, 500 rows) to
//! `POST /api/v1/<type>/batch`; a chunk that fails in transit or with a 5xx is
//! sent again, and so are rows refused with a 5xx (the issuer busy); the keys
//! make that safe, as they make sending the whole file again after an
//! interruption: rows already issued come back `replayed`.
//!
//! Progress: a bar on a terminal, else a line per chunk (stderr). Refused rows
//! are listed on stderr; the summary (issued / replayed / refused, rows per
//! second) goes to stdout. Exit status: 0 all rows issued or replayed, 2 some
//! rows refused, 1 the upload failed.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

/// `issuer bulk-issue`
#[derive(Debug, Clone, clap::Args)]
pub struct BulkArgs {
    /// The file: NDJSON, or CSV with a header row.
    pub file: PathBuf,
    /// The issuer's base URL.
    #[arg(long, env = "ISSUER_URL")]
    pub url: String,
    /// API token with scope `issue` (`Authorization: Bearer`).
    #[arg(long, env = "ISSUER_API_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The credential type's API path (`health-certificates`, `licences`, …).
    #[arg(long = "type")]
    pub type_path: String,
    /// `ndjson` or `csv` (default: from the file name; `.csv` is CSV).
    #[arg(long)]
    pub format: Option<String>,
    /// Rows per request (at most 1,000).
    #[arg(long, default_value_t = 500)]
    pub chunk: usize,
    /// Also write every row's answer here (NDJSON, rows numbered in the file).
    #[arg(long)]
    pub results: Option<PathBuf>,
}

/// What an upload did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BulkSummary {
    /// Rows sent.
    pub rows: usize,
    /// New credentials.
    pub issued: usize,
    /// Rows answered from an earlier issuance (same key, same request).
    pub replayed: usize,
    /// Rows refused (listed on stderr and in `--results`).
    pub refused: usize,
    /// Wall time of the upload.
    pub elapsed: Duration,
}

impl BulkSummary {
    /// Rows per second.
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The file's rows, each as it is sent (an NDJSON line, a CSV record), and
/// the CSV header every request starts with.
struct Rows {
    header: Vec<u8>,
    rows: Vec<Vec<u8>>,
}

impl Rows {
    /// A request body of these rows (indices into the file's rows).
    fn body(&self, indices: &[usize]) -> Vec<u8> {
        let mut body = self.header.clone();
        for row in indices.iter().filter_map(|&i| self.rows.get(i)) {
            body.extend_from_slice(row);
        }
        body
    }
}

fn is_csv(args: &BulkArgs) -> anyhow::Result<bool> {
    match args.format.as_deref() {
        Some("csv") => Ok(true),
        Some("ndjson") => Ok(false),
        Some(other) => anyhow::bail!("unknown --format {other:?} (ndjson or csv)"),
        None => Ok(args.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))),
    }
}

fn ndjson_rows(text: &[u8]) -> Rows {
    let rows = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(|line| {
            let mut row = line.to_vec();
            row.push(b'\n');
            row
        })
        .collect();
    Rows { header: Vec::new(), rows }
}

fn csv_record(record: &csv::ByteRecord) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    writer.write_byte_record(record)?;
    writer.into_inner().map_err(|e| anyhow::anyhow!("writing CSV: {}", e.error()))
}

fn csv_rows(text: &[u8]) -> anyhow::Result<Rows> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let header = csv_record(&reader.byte_headers().context("reading the CSV header")?.clone())?;
    let rows = reader
        .byte_records()
        .map(|record| csv_record(&record.context("reading the CSV")?))
        .collect::<anyhow::Result<_>>()?;
    Ok(Rows { header, rows })
}

/// Rows refused for a reason of the issuer's (5xx: busy, past its deadline)
/// are sent again, at most this many times in all.
const ROW_ATTEMPTS: u32 = 3;

fn client() -> anyhow::Result<reqwest::Client> {
    // The operator names the issuer (often on a private network); a chunk of
    // 500 rows is signed one by one and can take a while.
    Ok(service_http::outbound::client_builder(service_http::outbound::PrivateAddresses::Allowed)
        .timeout(Duration::from_secs(600))
        .build()?)
}

/// Sends one chunk, again after a transport failure or a 5xx (at most 4 times).
async fn send(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<Value> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let sent =
            http.post(url).bearer_auth(token).header("content-type", content_type).body(body.to_vec()).send().await;
        let failure = match sent {
            Ok(response) if response.status().is_server_error() => {
                format!("HTTP {}: {}", response.status(), response.text().await.unwrap_or_default())
            }
            Ok(response) => {
                let status = response.status();
                let reply: Value = response.json().await.with_context(|| format!("POST {url}: HTTP {status}"))?;
                anyhow::ensure!(status.is_success(), "POST {url}: HTTP {status}: {reply}");
                return Ok(reply);
            }
            Err(e) => e.to_string(),
        };
        anyhow::ensure!(attempt < 4, "POST {url}: {failure} (gave up after {attempt} attempts)");
        eprintln!("POST {url}: {failure}; sending the chunk again");
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
}

fn refusal_line(answer: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let mut line = format!(
        "row {} (key {}): {}: {}",
        answer.get("row").unwrap_or(&Value::Null),
        answer.get("idempotencyKey").map_or_else(String::new, text),
        answer.get("error").map_or_else(String::new, text),
        answer.pointer("/message/en").map_or_else(String::new, text),
    );
    for detail in answer.get("details").and_then(Value::as_array).into_iter().flatten() {
        line.push_str(&format!(
            "; {}: {}",
            detail.get("field").map_or_else(String::new, text),
            detail.pointer("/message/en").map_or_else(String::new, text)
        ));
    }
    line
}

/// Uploads the file; what happened to its rows.
///
/// # Errors
/// The file cannot be read; a chunk could not be sent (after retries) or was
/// refused as a whole (401/403/404/413/415).
pub async fn bulk_issue(args: &BulkArgs) -> anyhow::Result<BulkSummary> {
    anyhow::ensure!((1..=1000).contains(&args.chunk), "--chunk must be 1 to 1000");
    let text = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let (file, content_type) =
        if is_csv(args)? { (csv_rows(&text)?, "text/csv") } else { (ndjson_rows(&text), "application/x-ndjson") };
    let total = file.rows.len();
    let chunks = total.div_ceil(args.chunk);
    let url = format!("{}/api/v1/{}/batch", args.url.trim_end_matches('/'), args.type_path);
    let http = client()?;
    let mut results = match &args.results {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("issuing [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let say = |line: String| match &bar {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    };
    let started = Instant::now();
    let mut summary = BulkSummary::default();
    let indices: Vec<usize> = (0..total).collect();
    for (index, chunk) in indices.chunks(args.chunk).enumerate() {
        // The chunk's answers by file row; rows refused with a 5xx go again.
        let mut answers: std::collections::BTreeMap<usize, Value> = std::collections::BTreeMap::new();
        let mut pending = chunk.to_vec();
        for attempt in 1..=ROW_ATTEMPTS {
            let reply = send(&http, &url, &args.token, content_type, &file.body(&pending)).await?;
            let mut again = Vec::new();
            for answer in reply.get("results").and_then(Value::as_array).into_iter().flatten() {
                let position = answer.get("row").and_then(Value::as_u64).and_then(|r| usize::try_from(r).ok());
                let Some(&file_row) = position.and_then(|r| r.checked_sub(1)).and_then(|r| pending.get(r)) else {
                    anyhow::bail!("POST {url}: an answer for a row that was not sent: {answer}");
                };
                let mut answer = answer.clone();
                // Rows numbered in the file, not in the request.
                if let Some(row) = answer.get_mut("row") {
                    *row = Value::from(file_row + 1);
                }
                if answer.get("status").and_then(Value::as_u64).is_some_and(|s| s >= 500) && attempt < ROW_ATTEMPTS {
                    again.push(file_row);
                }
                answers.insert(file_row, answer);
            }
            if again.is_empty() {
                break;
            }
            say(format!("{} rows refused for now (busy or an internal error): sending them again", again.len()));
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            pending = again;
        }
        anyhow::ensure!(answers.len() == chunk.len(), "POST {url}: {} answers for {} rows", answers.len(), chunk.len());
        for answer in answers.into_values() {
            match answer.get("outcome").and_then(Value::as_str) {
                Some("issued") => summary.issued += 1,
                Some("replayed") => summary.replayed += 1,
                _ => {
                    summary.refused += 1;
                    say(refusal_line(&answer));
                }
            }
            if let Some(out) = results.as_mut() {
                writeln!(out, "{answer}")?;
            }
        }
        summary.rows += chunk.len();
        match &bar {
            Some(bar) => bar.set_position(summary.rows as u64),
            None => eprintln!(
                "chunk {}/{chunks}: {}/{total} rows ({} issued, {} replayed, {} refused)",
                index + 1,
                summary.rows,
                summary.issued,
                summary.replayed,
                summary.refused
            ),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(mut out) = results {
        out.flush()?;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Runs the command; the process exit status.
///
/// # Errors
/// As [`bulk_issue`] (exit status 1).
pub async fn run(args: BulkArgs) -> anyhow::Result<i32> {
    let summary = bulk_issue(&args).await?;
    println!(
        "{} rows: {} issued, {} replayed, {} refused in {:.1?} ({:.1} rows/s)",
        summary.rows,
        summary.issued,
        summary.replayed,
        summary.refused,
        summary.elapsed,
        summary.rate()
    );
    Ok(if summary.refused == 0 { 0 } else { 2 })
}
