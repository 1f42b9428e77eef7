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
