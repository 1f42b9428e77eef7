//! Fault test: the issuer process killed with SIGKILL in the middle of a batch of
//! concurrent issuances. After a restart on the same data, no log entry is lost or
//! duplicated: every stored credential has exactly one `Issued` entry, every
//! `Issued` entry belongs to a stored credential, the sequence is gap-free and the
//! tree matches the last signed checkpoint; retrying the unanswered requests with
//! their idempotency keys completes the batch exactly once.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use issuer::store::{CredentialQuery, Store};
use serde_json::{json, Value};
use wallet_core::transparency::{EntryKind, LogEntry};

const BATCH: usize = 120;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Issuer {
    child: Child,
    base: String,
}

impl Issuer {
    async fn start(data_dir: &Path, port: u16) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_issuer"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .arg("--id-number-key")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/test-id-number.key"))
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the issuer binary");
        let issuer = Self { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while reqwest::get(format!("{}/healthz", issuer.base)).await.is_err() {
            assert!(Instant::now() < deadline, "the issuer did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        issuer
    }

    /// SIGKILL: no shutdown handler runs.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(n: usize) -> Value {
    let suffix: String = [n / 26 % 26, n % 26].iter().map(|&d| char::from(b'a' + d as u8)).collect();
    json!({
        "fullName": format!("测试{n}"), "fullNamePinyin": format!("CE Shi{suffix}"), "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
    })
}

async fn issue(http: &reqwest::Client, base: &str, n: usize) -> Result<String, String> {
    let resp = http
        .post(format!("{base}/api/v1/health-certificates"))
        .header("Idempotency-Key", format!("crash-batch-{n}"))
        .json(&request(n))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().as_u16() != 201 && resp.status().as_u16() != 200 {
        let status = resp.status();
        return Err(format!("HTTP {status}: {}", resp.text().await.unwrap_or_default()));
    }
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    body["credential"]["id"].as_str().map(str::to_owned).ok_or_else(|| format!("no id in {body}"))
}

/// Every credential has exactly one `Issued` entry and every `Issued` entry a credential.
async fn assert_log_matches_credentials(data_dir: &Path) -> usize {
    let store = Store::connect(&format!("sqlite://{}", data_dir.join("issuer.sqlite3").display())).await.unwrap();
    let records = store.log_entries(0, None).await.unwrap();
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64 && r.is_intact()), "gap-free, intact");
    let mut issued_per_credential: HashMap<String, usize> = HashMap::new();
    for record in &records {
        if LogEntry::decode(&record.entry).unwrap().kind() == EntryKind::Issued {
            let id = record.credential_id.clone().expect("an Issued entry names its credential");
            *issued_per_credential.entry(id).or_default() += 1;
        }
    }
    let credentials = store.list_credentials(&CredentialQuery { limit: 10_000, ..Default::default() }).await.unwrap();
    let stored: HashSet<String> = credentials.into_iter().map(|c| c.id).collect();
    let logged: HashSet<String> = issued_per_credential.keys().cloned().collect();
    assert_eq!(stored, logged, "every credential logged, every Issued entry a credential");
    assert!(issued_per_credential.values().all(|&n| n == 1), "no credential logged twice");
    stored.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_loses_and_duplicates_nothing() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    // A hospital system's API token, created in the store as `issuer token create` does.
    let store = Store::connect(&format!("sqlite://{}", data.path().join("issuer.sqlite3").display())).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_api_token(&store, "crash-test").await.unwrap();
    drop(store);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).default_headers(headers).build().unwrap();
    let issuer = Issuer::start(data.path(), port).await;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..BATCH {
        let (http, base) = (http.clone(), issuer.base.clone());
        tasks.spawn(async move { (n, issue(&http, &base, n).await) });
    }
    // Kill once part of the batch has been answered.
    let mut answered = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        if let (n, Ok(id)) = joined.unwrap() {
            answered.insert(n, id);
        }
        if answered.len() >= BATCH / 4 {
            break;
        }
    }
    issuer.kill();
    while let Some(joined) = tasks.join_next().await {
        if let (n, Ok(id)) = joined.unwrap() {
            answered.insert(n, id);
        }
    }
    assert!(answered.len() < BATCH, "the kill interrupted the batch ({} answered)", answered.len());
    let after_kill = assert_log_matches_credentials(data.path()).await;
    assert!(after_kill >= answered.len(), "every answered issuance survived the kill");

    // Restart: the log opens cleanly and matches its last signed checkpoint.
    let issuer = Issuer::start(data.path(), port).await;
    let checkpoint = http.get(format!("{}/log/checkpoint", issuer.base)).send().await.unwrap();
    assert_eq!(checkpoint.status(), 200, "no integrity failure after SIGKILL");
    // Answered requests replay to the same credential; the rest complete once.
    for n in 0..BATCH {
        let id = issue(&http, &issuer.base, n).await.expect("retry");
        if let Some(first) = answered.get(&n) {
            assert_eq!(&id, first, "request {n} replayed to another credential");
        }
    }
    assert_eq!(assert_log_matches_credentials(data.path()).await, BATCH);
    let note = http.get(format!("{}/log/checkpoint", issuer.base)).send().await.unwrap().text().await.unwrap();
    let size: usize = note.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(size, BATCH + 1, "the batch plus the key activation, nothing more");
}

/// One NDJSON batch of `rows` requests, keys `crash-bulk-<batch>-<row>`.
fn bulk_body(batch: usize, rows: usize) -> String {
    (0..rows)
        .map(|i| {
            let mut row = request(batch * rows + i);
            row["idempotencyKey"] = json!(format!("crash-bulk-{batch}-{i}"));
            format!("{row}\n")
        })
        .collect()
}

/// The batch's answers by key (issued or replayed rows only), or why none came.
async fn issue_bulk(
    http: &reqwest::Client,
    base: &str,
    batch: usize,
    rows: usize,
) -> Result<HashMap<String, String>, String> {
    let resp = http
        .post(format!("{base}/api/v1/health-certificates/batch"))
        .header("content-type", "application/x-ndjson")
        .body(bulk_body(batch, rows))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().as_u16() != 200 {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    let mut ids = HashMap::new();
    for answer in body["results"].as_array().ok_or("no results")? {
        let outcome = answer["outcome"].as_str().unwrap_or_default();
        assert!(outcome == "issued" || outcome == "replayed", "{answer}");
        ids.insert(answer["idempotencyKey"].as_str().unwrap().to_owned(), answer["id"].as_str().unwrap().to_owned());
    }
    Ok(ids)
}

/// The batch route (group commit): SIGKILL while several batches are being
/// signed and committed. Whole groups survive, nothing is half-stored or logged
/// twice; sending every batch again answers the rows answered before with the
/// same credentials and issues the rest once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_bulk_upload_loses_and_duplicates_nothing() {
    const BATCHES: usize = 6;
    const ROWS: usize = 60;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let store = Store::connect(&format!("sqlite://{}", data.path().join("issuer.sqlite3").display())).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_api_token(&store, "crash-test").await.unwrap();
    drop(store);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).default_headers(headers).build().unwrap();
    let issuer = Issuer::start(data.path(), port).await;

    let mut tasks = tokio::task::JoinSet::new();
    for batch in 0..BATCHES {
        let (http, base) = (http.clone(), issuer.base.clone());
        tasks.spawn(async move { issue_bulk(&http, &base, batch, ROWS).await });
    }
    // Kill once the first batch has been answered, or once some rows are in the store.
    let mut answered: HashMap<String, String> = HashMap::new();
    let database = data.path().join("issuer.sqlite3");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(Ok(Ok(ids))) = tasks.try_join_next() {
            answered.extend(ids);
            break;
        }
        let store = Store::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        if store.count_credentials(None).await.unwrap() >= ROWS as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "nothing was issued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    issuer.kill();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(ids) = joined.unwrap() {
            answered.extend(ids);
        }
    }
    assert!(answered.len() < BATCHES * ROWS, "the kill interrupted the upload ({} answered)", answered.len());
    let after_kill = assert_log_matches_credentials(data.path()).await;
    assert!(after_kill >= answered.len(), "every answered row survived the kill");

    let issuer = Issuer::start(data.path(), port).await;
    let checkpoint = http.get(format!("{}/log/checkpoint", issuer.base)).send().await.unwrap();
    assert_eq!(checkpoint.status(), 200, "no integrity failure after SIGKILL");
    let mut all = HashMap::new();
    for batch in 0..BATCHES {
        all.extend(issue_bulk(&http, &issuer.base, batch, ROWS).await.expect("resend"));
    }
    for (key, id) in &answered {
        assert_eq!(all.get(key), Some(id), "row {key} replayed to another credential");
    }
    assert_eq!(all.values().collect::<HashSet<_>>().len(), BATCHES * ROWS, "one credential per row");
    assert_eq!(assert_log_matches_credentials(data.path()).await, BATCHES * ROWS);
}
