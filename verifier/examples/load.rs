//! Load generator for `scripts/load` (issue #14): sustained VC-API verification,
//! QR-text verification and issuance against running services, with adversarial
//! traffic beside it (10 MB bodies, slow clients, decompression-bomb photos, many
//! photos at once). Prints throughput, p50/p99 and answers per kind, `/healthz` p99;
//! exits 1 when a 5xx other than 503 `busy` was seen, when a `/healthz` p99 reached
//! the limit, or when the store holds a different number of credentials than
//! the issuer acknowledged.
//!
//! `cargo run --release --example load -p verifier -- --issuer URL --verifier URL --token TOKEN --store-url URL`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt as _;

/// The tests' issuance request (a health certificate examined today).
#[path = "../tests/suite/support/requests.rs"]
#[allow(dead_code)]
mod requests;

#[derive(Parser)]
struct Args {
    /// Issuer base URL.
    #[arg(long)]
    issuer: String,
    /// Verifier base URL.
    #[arg(long)]
    verifier: String,
    /// API token for issuance.
    #[arg(long)]
    token: String,
    /// The issuer's store (`sqlite://…` or `postgres://…`), to count what it holds.
    #[arg(long)]
    store_url: String,
    /// Seconds to drive the load.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// Concurrent clients per sustained kind.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// `/healthz` p99 at or above this fails the run (milliseconds).
    #[arg(long, default_value_t = 100)]
    healthz_p99_limit_ms: u64,
    /// Seconds of verification alone (no other traffic) before the mixed run,
    /// against our verifier and then the reference; 0 skips the phase.
    #[arg(long, default_value_t = 10)]
    verify_secs: u64,
    /// Connections of the verification-alone phase.
    #[arg(long, default_value_t = 8)]
    verify_connections: usize,
    /// A reference VC-API verifier (`POST /credentials/verify`) measured the
    /// same way on the same credential, e.g. the vc-js server of `scripts/load`.
    #[arg(long)]
    reference: Option<String>,
}

/// Throughput and latency of one verification-alone phase.
struct PhaseFigures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    answers: BTreeMap<String, u64>,
}

/// Only VC-API verification of `vc` at `url`, from `connections` clients for `secs`.
async fn verification_alone(
    http: &reqwest::Client,
    url: &str,
    vc: &Value,
    connections: usize,
    secs: u64,
) -> PhaseFigures {
    let tally: Shared = Arc::default();
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    // The request body, serialised once (the generator shares the cores with the server).
    let body = verify_body(vc);
    for _ in 0..connections {
        let (http, tally, url, body) = (http.clone(), tally.clone(), url.to_owned(), body.clone());
        tasks.spawn(async move {
            while Instant::now() < until {
                let request = http.post(&url).header("content-type", "application/json").body(body.clone());
                send(&tally, "verify", request).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let mut tally = std::mem::take(&mut *tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let kind = tally.kinds.remove("verify").unwrap_or_default();
    let mut latencies = kind.latencies;
    latencies.sort();
    PhaseFigures {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        answers: kind.answers,
    }
}

/// `{"verifiableCredential": vc}`, serialised.
fn verify_body(vc: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"verifiableCredential": vc})).expect("a JSON value serialises")
}

fn print_phase(name: &str, figures: &PhaseFigures) {
    let answers: Vec<String> = figures.answers.iter().map(|(a, n)| format!("{a}: {n}")).collect();
    println!(
        "{name:<28} {:>8.1} req/s  p50 {:>6.1} ms  p99 {:>6.1} ms  {}",
        figures.per_second,
        figures.p50.as_secs_f64() * 1000.0,
        figures.p99.as_secs_f64() * 1000.0,
        answers.join(", ")
    );
}

/// Answers and latencies per kind of request.
#[derive(Default)]
struct Tally {
    kinds: BTreeMap<&'static str, Kind>,
}

#[derive(Default)]
struct Kind {
    answers: BTreeMap<String, u64>,
    latencies: Vec<Duration>,
}

type Shared = Arc<Mutex<Tally>>;

fn record(tally: &Shared, kind: &'static str, answer: String, latency: Duration) {
    let mut t = tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let k = t.kinds.entry(kind).or_default();
    *k.answers.entry(answer).or_default() += 1;
    k.latencies.push(latency);
}

/// Send one request; the answer is `"<status> <error code>"` (or the transport error).
async fn send(tally: &Shared, kind: &'static str, request: reqwest::RequestBuilder) -> Option<(u16, Value)> {
    let started = Instant::now();
    let outcome = request.send().await;
    let (answer, result) = match outcome {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // A 2xx names no error code: its body is read, not parsed (the
            // generator shares the cores with the server; parsing each report
            // cost it more than sending the request).
            let body: Value = if resp.status().is_success() {
                let _ = resp.bytes().await;
                Value::Null
            } else {
                resp.json().await.unwrap_or(Value::Null)
            };
            // A refusal names its code; a failed verification the codes of its failed checks.
            let code = match body.get("error").and_then(Value::as_str) {
                Some(code) => code.to_owned(),
                None => body
                    .get("errors")
                    .and_then(Value::as_array)
                    .map(|errors| {
                        let codes: Vec<&str> =
                            errors.iter().filter_map(|e| e.get("code").and_then(Value::as_str)).collect();
                        codes.join("+")
                    })
                    .unwrap_or_default(),
            };
            (format!("{status} {code}").trim_end().to_owned(), Some((status, body)))
        }
        Err(e) if e.is_timeout() => ("client timeout".to_owned(), None),
        Err(e) if e.is_connect() => ("connect error".to_owned(), None),
        Err(_) => ("connection error".to_owned(), None),
    };
    record(tally, kind, answer, started.elapsed());
    result
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A PNG of `side` × `side` black RGBA pixels, written row by row: a few hundred
/// KB that would decode to `side² × 4` bytes.
fn bomb_png(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(&out[start..]);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 1 + side as usize * 4];
    for _ in 0..side {
        zlib.write_all(&row).expect("in memory");
    }
    let idat = zlib.finish().expect("in memory");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    for part in idat.chunks(1 << 20) {
        chunk(&mut png, b"IDAT", part);
    }
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Hold a connection open, sending the body one byte every half second.
async fn slow_client(address: String, until: Instant) -> &'static str {
    let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else { return "connect error" };
    let head = format!(
        "POST /credentials/verify HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return "closed by server";
    }
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if stream.write_all(b" ").await.is_err() {
            return "closed by server";
        }
    }
    "held to the end"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {}", args.token).parse()?);
    let http = reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(30)).build()?;
    let tally: Shared = Arc::default();
    let issuer = args.issuer.trim_end_matches('/').to_owned();
    let verifier = args.verifier.trim_end_matches('/').to_owned();

    // One credential to verify, its QR text and QR image.
    let health = requests::health_request();
    let issue_request = || http.post(format!("{issuer}/api/v1/health-certificates")).json(&health);
    let first = issue_request().send().await?;
    anyhow::ensure!(first.status() == 201, "setup issuance failed: {} {}", first.status(), first.text().await?);
    let first: Value = first.json().await?;
    let vc = first["credential"].clone();
    let qr_text = wallet_core::compact::encode_credential(&vc)?;
    let qr_png = http.get(format!("{issuer}{}", first["links"]["qrPng"].as_str().unwrap_or(""))).send().await?;
    let qr_png = qr_png.bytes().await?.to_vec();
    // Verification alone: our verifier, then the reference, one after the other
    // on the same credential (so neither competes with the other for the cores).
    if args.verify_secs > 0 {
        let ours = verification_alone(
            &http,
            &format!("{verifier}/credentials/verify"),
            &vc,
            args.verify_connections,
            args.verify_secs,
        )
        .await;
        print_phase(&format!("verify alone, ours ({} conn)", args.verify_connections), &ours);
        if ours.answers.keys().any(|a| !a.starts_with('2')) {
            anyhow::bail!("our verifier did not verify the credential: {:?}", ours.answers);
        }
        if let Some(reference) = &args.reference {
            let theirs = verification_alone(
                &http,
                &format!("{}/credentials/verify", reference.trim_end_matches('/')),
                &vc,
                args.verify_connections,
                args.verify_secs,
            )
            .await;
            print_phase("verify alone, reference", &theirs);
            if theirs.answers.keys().any(|a| !a.starts_with('2')) {
                anyhow::bail!("the reference did not verify the credential: {:?}", theirs.answers);
            }
            println!("ours / reference: {:.1}x", ours.per_second / theirs.per_second.max(f64::MIN_POSITIVE));
        }
    }
    let bomb = bomb_png(9_600);
    eprintln!("bomb PNG: {} bytes, decodes to {} MB", bomb.len(), 9_600u64 * 9_600 * 4 / 1_000_000);

    let started = Instant::now();
    let until = started + Duration::from_secs(args.secs);
    let acknowledged = Arc::new(Mutex::new(1u64)); // the setup credential
    let mut tasks = tokio::task::JoinSet::new();

    for _ in 0..args.concurrency {
        let (h, t, v, body) = (http.clone(), tally.clone(), verifier.clone(), verify_body(&vc));
        tasks.spawn(async move {
            let (http, tally, verifier) = (h, t, v);
            while Instant::now() < until {
                let request = http
                    .post(format!("{verifier}/credentials/verify"))
                    .header("content-type", "application/json")
                    .body(body.clone());
                send(&tally, "vc-api verify", request).await;
            }
        });
        let (h, t, v, qr_text) = (http.clone(), tally.clone(), verifier.clone(), qr_text.clone());
        tasks.spawn(async move {
            let (http, tally, verifier) = (h, t, v);
            while Instant::now() < until {
                let request = http.post(format!("{verifier}/verify/qr")).json(&json!({"qr": qr_text}));
                send(&tally, "qr verify", request).await;
            }
        });
        let (h, t, i, health, acknowledged) =
            (http.clone(), tally.clone(), issuer.clone(), health.clone(), acknowledged.clone());
        tasks.spawn(async move {
            let (http, tally, issuer) = (h, t, i);
            while Instant::now() < until {
                let request = http.post(format!("{issuer}/api/v1/health-certificates")).json(&health);
                if let Some((201, _)) = send(&tally, "issuance", request).await {
                    *acknowledged.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                }
            }
        });
    }
    // Liveness probes, every 20 ms each.
    for (kind, base) in [("verifier /healthz", verifier.clone()), ("issuer /healthz", issuer.clone())] {
        let (http, tally) = (http.clone(), tally.clone());
        tasks.spawn(async move {
            while Instant::now() < until {
                send(&tally, kind, http.get(format!("{base}/healthz"))).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    // Adversarial: 10 MB bodies.
    let big = vec![b'a'; 10 * 1024 * 1024];
    for (kind, url, content_type) in [
        ("10MB body verify", format!("{verifier}/credentials/verify"), "application/json"),
        ("10MB body image", format!("{verifier}/verify/image"), "image/png"),
        ("10MB body issue", format!("{issuer}/api/v1/health-certificates"), "application/json"),
    ] {
        let (http, tally, big) = (http.clone(), tally.clone(), big.clone());
        tasks.spawn(async move {
            while Instant::now() < until {
                let request = http.post(&url).header("content-type", content_type).body(big.clone());
                send(&tally, kind, request).await;
            }
        });
    }
    // Adversarial: decompression bombs and many real photos at once.
    {
        let (http, tally, verifier, bomb) = (http.clone(), tally.clone(), verifier.clone(), bomb.clone());
        tasks.spawn(async move {
            while Instant::now() < until {
                let request = http
                    .post(format!("{verifier}/verify/image"))
                    .header("content-type", "image/png")
                    .body(bomb.clone());
                send(&tally, "bomb photo", request).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    for _ in 0..16 {
        let (http, tally, verifier, photo) = (http.clone(), tally.clone(), verifier.clone(), qr_png.clone());
        tasks.spawn(async move {
            while Instant::now() < until {
                let request = http
                    .post(format!("{verifier}/verify/image"))
                    .header("content-type", "image/png")
                    .body(photo.clone());
                send(&tally, "photo flood", request).await;
            }
        });
    }
    // Adversarial: 50 slow clients.
    let address = verifier.trim_start_matches("http://").to_owned();
    let slow: Vec<_> = (0..50).map(|_| tokio::spawn(slow_client(address.clone(), until))).collect();

    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let mut slow_outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    for s in slow {
        *slow_outcomes.entry(s.await.unwrap_or("panicked")).or_default() += 1;
    }

    // Report.
    let mut failed = Vec::new();
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    println!("{:<20} {:>7} {:>8} {:>9} {:>9}  answers", "kind", "count", "req/s", "p50 ms", "p99 ms");
    for (kind, mut k) in tally.kinds {
        k.latencies.sort();
        let (p50, p99) = (percentile(&k.latencies, 50.0), percentile(&k.latencies, 99.0));
        let count = k.latencies.len();
        let answers: Vec<String> = k.answers.iter().map(|(a, n)| format!("{a}: {n}")).collect();
        println!(
            "{kind:<20} {count:>7} {:>8.1} {:>9.1} {:>9.1}  {}",
            count as f64 / elapsed.as_secs_f64(),
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            answers.join(", ")
        );
        for answer in k.answers.keys() {
            if answer.starts_with('5') && answer != "503 busy" {
                failed.push(format!("{kind}: {answer}"));
            }
        }
        if kind.ends_with("/healthz") && p99 >= Duration::from_millis(args.healthz_p99_limit_ms) {
            failed.push(format!("{kind} p99 {:.1} ms", p99.as_secs_f64() * 1000.0));
        }
    }
    println!("slow clients: {slow_outcomes:?}");
    let store = issuer::store::Store::connect(&args.store_url).await?;
    let stored = store.count_credentials(None).await?;
    let acknowledged = *acknowledged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    println!("issued: {acknowledged} acknowledged (201), {stored} in the store");
    if stored != acknowledged {
        failed.push(format!("store holds {stored}, {acknowledged} acknowledged"));
    }
    if failed.is_empty() {
        println!("PASS");
        Ok(())
    } else {
        println!("FAIL: {}", failed.join("; "));
        std::process::exit(1);
    }
}
