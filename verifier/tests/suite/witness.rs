//! Witness mode on real parts: the real issuer (SQLite) and a verifier
//! cosigning its transparency log over HTTP.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use wallet_core::transparency::{verify_cosignatures, LogKey, SignedNote, WitnessKey};

use crate::support::requests::health_request;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// A real issuer on 127.0.0.1:0; `with_fixture_key` uses the clinic's test key
/// (otherwise the issuer generates its own).
/// Also returns a client carrying an API token for the domain API.
async fn spawn_issuer(data: &Path, with_fixture_key: bool) -> (String, reqwest::Client) {
    if with_fixture_key {
        std::fs::copy(format!("{FIXTURES}/keys/test-issuer.pem"), data.join("issuer-key.pem")).unwrap();
    }
    let settings = issuer::config::Settings::for_tests(data.to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    (url, issuer::accounts::authorized_client(&settings).await.unwrap())
}

async fn issue(http: &reqwest::Client, issuer: &str) {
    let resp = http.post(format!("{issuer}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status(), 201);
}

fn spawn_witness(dir: &Path, log_url: &str, log_key: Option<String>) -> String {
    let mut settings = verifier::config::Settings::for_tests();
    settings.status.status_refresh_secs = 0;
    settings.witness.witness_log_url = Some(log_url.to_owned());
    settings.witness.witness_log_key = log_key;
    settings.witness.witness_key_file = dir.join("witness.key");
    settings.witness.witness_state_file = dir.join("witness-state.json");
    settings.witness.witness_name = "witness.health.example/w1".into();
    settings.witness.witness_interval_secs = 1;
    let app = verifier::startup::Application::build(&settings).unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

async fn get_text(http: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = http.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Poll `/witness/checkpoint` until it is cosigned at `size` (≤ 10 s); verify it.
async fn wait_for_size(http: &reqwest::Client, witness: &str, log: &LogKey, key: &WitnessKey, size: u64) -> String {
    for _ in 0..100 {
        let (status, text) = get_text(http, &format!("{witness}/witness/checkpoint")).await;
        if status == 200 {
            let checkpoint = log.open_checkpoint(&text).unwrap().checkpoint;
            if checkpoint.size == size {
                let note = SignedNote::parse(&text).unwrap();
                let cosigs = verify_cosignatures(&note, std::slice::from_ref(key), 1).unwrap();
                assert_eq!(cosigs.len(), 1);
                assert_eq!(cosigs[0].witness, "witness.health.example/w1");
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the witness did not cosign size {size} within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_cosigns_the_issuers_log_and_refuses_another() {
    let http = reqwest::Client::new();
    let issuer_dir = tempfile::tempdir().unwrap();
    let witness_dir = tempfile::tempdir().unwrap();
    let (issuer, issuer_api) = spawn_issuer(issuer_dir.path(), true).await;
    issue(&issuer_api, &issuer).await;
    issue(&issuer_api, &issuer).await;

    let (_, vkey) = get_text(&http, &format!("{issuer}/log/key")).await;
    let log = LogKey::from_vkey(vkey.trim()).unwrap();
    let witness = spawn_witness(witness_dir.path(), &issuer, Some(vkey.trim().to_owned()));
    let (status, key) = get_text(&http, &format!("{witness}/witness/key")).await;
    assert_eq!(status, 200);
    let key = WitnessKey::from_vkey(key.trim()).unwrap();

    let (_, checkpoint) = get_text(&http, &format!("{issuer}/log/checkpoint")).await;
    let size = log.open_checkpoint(&checkpoint).unwrap().checkpoint.size;
    assert!(size >= 2, "{size}");
    wait_for_size(&http, &witness, &log, &key, size).await;

    // The log grows: the witness checks consistency and cosigns the larger tree.
    issue(&issuer_api, &issuer).await;
    let (_, checkpoint) = get_text(&http, &format!("{issuer}/log/checkpoint")).await;
    let grown = log.open_checkpoint(&checkpoint).unwrap().checkpoint.size;
    assert!(grown > size);
    let last = wait_for_size(&http, &witness, &log, &key, grown).await;

    // Restart the witness (same key and state file, same pinned log key) pointed
    // at a fresh issuer: another log, another key and origin. It must refuse.
    let fresh_dir = tempfile::tempdir().unwrap();
    let (fresh, fresh_api) = spawn_issuer(fresh_dir.path(), false).await;
    issue(&fresh_api, &fresh).await;
    let restarted = spawn_witness(witness_dir.path(), &fresh, Some(vkey.trim().to_owned()));
    let (_, restarted_key) = get_text(&http, &format!("{restarted}/witness/key")).await;
    assert_eq!(WitnessKey::from_vkey(restarted_key.trim()).unwrap(), key);
    let mut error = None;
    for _ in 0..50 {
        let status: Value = http.get(format!("{restarted}/witness/status")).send().await.unwrap().json().await.unwrap();
        if let Some(e) = status["lastError"].as_str() {
            error = Some(e.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = error.expect("the restarted witness reported no refusal");
    assert!(error.contains("checkpoint refused"), "{error}");
    let (status, kept) = get_text(&http, &format!("{restarted}/witness/checkpoint")).await;
    assert_eq!(status, 200);
    assert_eq!(kept, last, "the last good cosigned checkpoint is kept");

    // Without a pinned key, the key recorded in the state file is used: the
    // fresh log is still refused.
    let unpinned = spawn_witness(witness_dir.path(), &fresh, None);
    let mut error = None;
    for _ in 0..50 {
        let status: Value = http.get(format!("{unpinned}/witness/status")).send().await.unwrap().json().await.unwrap();
        if let Some(e) = status["lastError"].as_str() {
            error = Some(e.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(error.is_some(), "the unpinned witness reported no refusal");
    assert_eq!(get_text(&http, &format!("{unpinned}/witness/checkpoint")).await.1, last);
    let state: Value =
        serde_json::from_slice(&std::fs::read(witness_dir.path().join("witness-state.json")).unwrap()).unwrap();
    assert_eq!(state["cosigned"].as_str().unwrap(), last, "the state file was not overwritten");
}

#[tokio::test]
async fn witness_routes_404_when_off() {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    for path in ["/witness/checkpoint", "/witness/key"] {
        let resp = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "not_witnessing");
    }
}
