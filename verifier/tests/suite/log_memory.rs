//! Attack: the issuer's log is rewritten (a fork: the same key, other entries)
//! while a verifier is down. The verifier rebuilds its mirror from the log
//! after a restart; before it kept the accepted checkpoint in its data
//! directory it accepted the rewritten log as if it had never seen another,
//! and forgot a conflict it had found. Now the rebuilt mirror must extend the
//! checkpoint accepted before the restart, and a conflict stands across
//! restarts.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::requests::health_request;

async fn start_issuer(
    data_dir: &Path,
    public_url: Option<&str>,
) -> (String, actix_web::dev::ServerHandle, reqwest::Client) {
    let mut settings = issuer::config::Settings::for_tests(data_dir.to_path_buf());
    settings.public_url = public_url.map(str::to_owned);
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.server_handle();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&settings).await.unwrap();
    (base, handle, http)
}

fn start_verifier(log_url: &str, log_key: &str, state: &Path) -> String {
    let mut settings = verifier::config::Settings::for_tests();
    settings.anchoring.log_urls = vec![log_url.to_owned()];
    settings.anchoring.log_keys = vec![log_key.to_owned()];
    settings.anchoring.log_sync_secs = 1;
    settings.data_dir = Some(state.to_path_buf());
    let app = verifier::startup::Application::build(&settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

async fn issue(http: &reqwest::Client, issuer: &str) -> Value {
    let resp = http.post(format!("{issuer}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["credential"].clone()
}

/// The size line of the issuer's current checkpoint.
async fn log_size(http: &reqwest::Client, issuer: &str) -> u64 {
    let note = http.get(format!("{issuer}/log/checkpoint")).send().await.unwrap().text().await.unwrap();
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// Polls the verifier's `/anchoring/status` until `done` holds for its one log.
async fn wait_for(http: &reqwest::Client, verifier: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status: Value =
            http.get(format!("{verifier}/anchoring/status")).send().await.unwrap().json().await.unwrap();
        if done(&status[0]) {
            return status[0].clone();
        }
        assert!(Instant::now() < deadline, "{what}: {status:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn attack_a_log_forked_while_the_verifier_was_down_is_a_conflict_after_the_restart() {
    let honest_dir = tempfile::tempdir().unwrap();
    let (honest, honest_handle, http) = start_issuer(honest_dir.path(), None).await;
    issue(&http, &honest).await;
    let log_key = http.get(format!("{honest}/log/key")).send().await.unwrap().text().await.unwrap();
    let honest_size = log_size(&http, &honest).await;
    let state = tempfile::tempdir().unwrap();

    // A verifier mirrors the honest log and keeps its checkpoint.
    let first = start_verifier(&honest, log_key.trim(), state.path());
    wait_for(&http, &first, "the first verifier syncs", |s| s["size"] == json!(honest_size)).await;
    let kept = || -> Value {
        let text = std::fs::read_to_string(state.path().join("rollback-state.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while kept()["logs"].as_object().is_none_or(serde_json::Map::is_empty) {
        assert!(Instant::now() < deadline, "the checkpoint was never kept: {}", kept());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (origin, floor) =
        kept()["logs"].as_object().unwrap().iter().next().map(|(o, f)| (o.clone(), f.clone())).unwrap();
    assert!(log_key.starts_with(&origin), "{origin} / {log_key}");
    assert_eq!(floor["checkpoint"].as_str().unwrap().lines().nth(1), Some(honest_size.to_string().as_str()));

    // Restarted against the same log: nothing to report.
    let restarted = start_verifier(&honest, log_key.trim(), state.path());
    wait_for(&http, &restarted, "the restarted verifier syncs", |s| s["size"] == json!(honest_size)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = wait_for(&http, &restarted, "two more syncs", |s| s["size"] == json!(honest_size)).await;
    assert!(status["conflict"].is_null(), "{status:#}");

    // The log is rewritten: the same key and name, other entries, longer.
    honest_handle.stop(true).await;
    let forged_dir = tempfile::tempdir().unwrap();
    std::fs::copy(honest_dir.path().join("issuer-key.pem"), forged_dir.path().join("issuer-key.pem")).unwrap();
    let (forged, _forged_handle, forged_http) = start_issuer(forged_dir.path(), Some(&honest)).await;
    let forged_key = forged_http.get(format!("{forged}/log/key")).send().await.unwrap().text().await.unwrap();
    assert_eq!(forged_key, log_key, "the rewritten log has the honest log's key and name");
    let mut forged_vc = issue(&forged_http, &forged).await;
    while log_size(&forged_http, &forged).await <= honest_size {
        forged_vc = issue(&forged_http, &forged).await;
    }

    // After another restart, the verifier mirrors the rewritten log: its tree
    // does not extend the checkpoint accepted before.
    let after_fork = start_verifier(&forged, log_key.trim(), state.path());
    let status = wait_for(&http, &after_fork, "the fork is found", |s| s["conflict"].is_string()).await;
    let conflict = status["conflict"].as_str().unwrap().to_owned();
    assert!(conflict.contains("different root for size"), "{conflict}");
    let resp = http
        .post(format!("{after_fork}/credentials/verify"))
        .json(&json!({"verifiableCredential": forged_vc}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["checks"]["anchoring"]["code"], "anchoring_log_conflict", "{body:#}");

    // The conflict is kept: a verifier started again has it before any sync.
    let again = start_verifier(&forged, log_key.trim(), state.path());
    let status: Value = http.get(format!("{again}/anchoring/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status[0]["conflict"], json!(conflict), "{status:#}");
    assert_eq!(kept()["logs"][&origin]["conflict"], json!(conflict));
    assert_eq!(kept()["logs"][&origin]["checkpoint"], floor["checkpoint"], "the evidence: what was accepted before");
}

/// A log server whose answers a test changes: the checkpoint note and the
/// entries it serves (`/log/entries?start&count`).
#[derive(Clone, Default)]
struct ReplayedLog(std::sync::Arc<std::sync::Mutex<(String, Vec<Value>)>>);

impl ReplayedLog {
    fn serve_as(&self, note: String, entries: &[wallet_core::transparency::LogEntry]) {
        let entries = entries.iter().map(|e| json!({"entry": serde_json::to_value(e).unwrap()})).collect();
        *self.0.lock().unwrap() = (note, entries);
    }

    async fn start(&self) -> String {
        use actix_web::{web, App, HttpServer};
        let log = self.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(log.clone()))
                .route(
                    "/log/checkpoint",
                    web::get().to(|log: web::Data<ReplayedLog>| async move { log.0.lock().unwrap().0.clone() }),
                )
                .route(
                    "/log/entries",
                    web::get().to(
                        |log: web::Data<ReplayedLog>,
                         query: web::Query<std::collections::HashMap<String, usize>>| async move {
                            let served = log.0.lock().unwrap().1.clone();
                            let start = query.get("start").copied().unwrap_or(0).min(served.len());
                            let end = start.saturating_add(query.get("count").copied().unwrap_or(0)).min(served.len());
                            web::Json(json!({"entries": served[start..end]}))
                        },
                    ),
                )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let address = server.addrs()[0];
        tokio::spawn(server.run());
        format!("http://{address}")
    }
}

/// A log of `count` entries signed by a fresh key: its signer, entries and
/// the note of its tree at each size.
fn small_log(
    origin: &str,
    count: u8,
) -> (wallet_core::transparency::LogSigner, Vec<wallet_core::transparency::LogEntry>) {
    use wallet_core::transparency::{LogEntry, LogSigner};
    let key = wallet_core::keys::IssuerKey::generate();
    let signer = LogSigner::from_issuer_key(origin, &key).unwrap();
    let entries =
        (0..count).map(|n| LogEntry::issued([n; 32], key.did(), 1_780_000_000 + u64::from(n)).unwrap()).collect();
    (signer, entries)
}

fn note_of(
    origin: &str,
    signer: &wallet_core::transparency::LogSigner,
    entries: &[wallet_core::transparency::LogEntry],
) -> String {
    use wallet_core::transparency::{Checkpoint, MerkleTree};
    let mut tree = MerkleTree::new();
    for entry in entries {
        tree.append(entry.leaf_hash());
    }
    Checkpoint::new(origin, tree.size(), tree.root()).sign(signer).unwrap().to_string()
}

/// Attack review of session 19: a verifier kept the checkpoint of size 3; after
/// a restart whoever serves the log URL replays the log's genuine older
/// checkpoint of size 2 (no key needed; a lagging copy does the same). That
/// once recorded a conflict that stood across restarts until an operator
/// removed it, failing every credential of the issuer. Now the log is reported
/// behind, and compared again once it catches up.
#[tokio::test]
async fn attack_an_older_checkpoint_replayed_after_a_restart_is_not_a_standing_conflict() {
    let origin = "replayed.example/log";
    let (signer, entries) = small_log(origin, 3);
    let log = ReplayedLog::default();
    log.serve_as(note_of(origin, &signer, &entries), &entries);
    let url = log.start().await;
    let vkey = signer.log_key().to_vkey();
    let state = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let first = start_verifier(&url, &vkey, state.path());
    wait_for(&http, &first, "the first verifier syncs", |s| s["size"] == json!(3)).await;
    let kept = || -> Value {
        let text = std::fs::read_to_string(state.path().join("rollback-state.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while kept()["logs"][origin]["checkpoint"].as_str().is_none_or(|note| note.lines().nth(1) != Some("3")) {
        assert!(Instant::now() < deadline, "the checkpoint was never kept: {}", kept());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    log.serve_as(note_of(origin, &signer, &entries[..2]), &entries[..2]);
    let restarted = start_verifier(&url, &vkey, state.path());
    let status = wait_for(&http, &restarted, "the log is behind", |s| {
        s["lastError"].as_str().is_some_and(|e| e.starts_with("log_behind_kept_checkpoint"))
    })
    .await;
    assert!(status["conflict"].is_null(), "{status:#}");
    assert_eq!(kept()["logs"][origin]["checkpoint"].as_str().unwrap().lines().nth(1), Some("3"), "the floor stays");

    log.serve_as(note_of(origin, &signer, &entries), &entries);
    let status =
        wait_for(&http, &restarted, "the log catches up", |s| s["size"] == json!(3) && s["lastError"].is_null()).await;
    assert!(status["conflict"].is_null(), "{status:#}");
}

/// Attack review of session 19: one checkpoint note of size 2^40, signed by
/// the log's key (stolen), had the verifier fetch entries until it ran out of
/// memory. Refused before any entry is fetched; the verifier keeps serving.
#[tokio::test]
async fn attack_a_checkpoint_of_an_absurd_size_is_refused_before_fetching() {
    let origin = "huge.example/log";
    let (signer, entries) = small_log(origin, 1);
    let log = ReplayedLog::default();
    let huge = wallet_core::transparency::Checkpoint::new(origin, 1 << 40, [7; 32]).sign(&signer).unwrap().to_string();
    log.serve_as(huge, &entries);
    let url = log.start().await;
    let state = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let verifier = start_verifier(&url, &signer.log_key().to_vkey(), state.path());
    let status = wait_for(&http, &verifier, "the checkpoint is refused", |s| {
        s["lastError"].as_str().is_some_and(|e| e.starts_with("log_too_large"))
    })
    .await;
    assert_eq!(status["size"], json!(0), "{status:#}");
    assert_eq!(http.get(format!("{verifier}/healthz")).send().await.unwrap().status(), 200);
}
