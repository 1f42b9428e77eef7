//! Archive notarisation end to end: a folder is notarised by digest through the
//! CLI's code, anchored on a real anvil node, and re-checked offline against the
//! receipts; a changed byte, a deleted file and a new file are each reported.

use std::path::Path;
use std::time::{Duration, Instant};

use issuer::cli::notarize::{check_folder, CheckArgs, RunArgs};
use serde_json::{json, Value};
use wallet_core::transparency::{document_digest, LogKey, NotarizationReceipt, WitnessPolicy};

use crate::support::anvil;
use crate::support::require::{require, Dep};
use anvil::{free_port, Anvil};

const FILES: usize = 2_500;

async fn start_issuer(data_dir: &Path, rpc_url: Option<&str>) -> (String, String) {
    let mut settings = issuer::config::Settings::for_tests(data_dir.to_path_buf());
    settings.chain_rpc_url = rpc_url.map(str::to_owned);
    settings.anchor_interval_secs = 1;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_api_token(&store, "archive").await.unwrap();
    (base, token)
}

fn write_folder(root: &Path, files: usize) {
    for i in 0..files {
        let dir = root.join(format!("box-{:03}", i / 500));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("doc-{i:06}.txt")), format!("档案 {i}: deed of transfer no. {i}\n")).unwrap();
    }
}

/// `issuer notarize run` over the folder of `args`, as the CLI runs it.
async fn notarize_run(args: RunArgs) {
    let code = issuer::cli::notarize::run(issuer::cli::notarize::NotarizeCommand::Run(args)).await.unwrap();
    assert_eq!(code, 0);
}

/// `check` (with the issuer's URL) until no receipt is pending: they arrive once
/// the covering checkpoint is anchored (60 s at most).
async fn check_until_anchored(args: &CheckArgs) -> issuer::cli::notarize::CheckReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = check_folder(args).await.unwrap();
        if report.pending.is_empty() {
            return report;
        }
        assert!(Instant::now() < deadline, "receipts never arrived: {} pending", report.pending.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_is_notarised_anchored_and_rechecked_offline() {
    let Some(bin) = require(Dep::Anvil) else { return };
    let anvil = Anvil::start(&bin, free_port()).await;
    let data = tempfile::tempdir().unwrap();
    let (issuer, token) = start_issuer(data.path(), Some(&anvil.url)).await;
    let http = reqwest::Client::new();
    let log_key = http.get(format!("{issuer}/log/key")).send().await.unwrap().text().await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("archive");
    write_folder(&folder, FILES);
    let manifest = work.path().join("manifest.jsonl");
    let started = Instant::now();
    let run_args = || RunArgs {
        folder: folder.clone(),
        url: issuer.clone(),
        manifest: manifest.clone(),
        token: Some(token.clone()),
    };
    notarize_run(run_args()).await;
    eprintln!("notarised {FILES} files in {:?}", started.elapsed());

    // Receipts arrive once the covering checkpoint is anchored.
    let check = |url: Option<String>| CheckArgs {
        folder: folder.clone(),
        manifest: manifest.clone(),
        url,
        log_key: Some(log_key.trim().to_owned()),
        token: Some(token.clone()),
        not_after: None,
    };
    let report = check_until_anchored(&check(Some(issuer.clone()))).await;
    eprintln!("notarised → every receipt anchored: {:?}", started.elapsed());
    assert_eq!(report.verified, FILES);
    assert!(report.is_clean() && report.new.is_empty(), "{report:?}");
    assert!(report.latest_notarized_at.is_some());
    // Notarising the folder again (a second `run`, new log entries) keeps it clean: the
    // issuer answers with each digest's first entry, earlier than the manifest's new index.
    notarize_run(run_args()).await;
    let again = check_until_anchored(&check(Some(issuer.clone()))).await;
    assert_eq!(again.verified, FILES, "{:?}", again.bad_receipts.first());
    assert!(again.is_clean(), "{again:?}");
    // Audited as of yesterday, every receipt (all of today) is late, and the folder not clean.
    let as_of_yesterday = CheckArgs { not_after: Some(chrono::Utc::now() - chrono::Duration::days(1)), ..check(None) };
    let late = check_folder(&as_of_yesterday).await.unwrap();
    assert_eq!((late.verified, late.late.len()), (0, FILES), "{late:?}");
    assert!(!late.is_clean());

    // Offline (no URL): one changed byte, one deleted file, one new file.
    let changed = folder.join("box-001/doc-000700.txt");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&changed, bytes).unwrap();
    std::fs::remove_file(folder.join("box-004/doc-002001.txt")).unwrap();
    std::fs::write(folder.join("box-000/late-addition.txt"), "new").unwrap();
    let report = check_folder(&check(None)).await.unwrap();
    assert_eq!(report.changed, ["box-001/doc-000700.txt"]);
    assert_eq!(report.missing, ["box-004/doc-002001.txt"]);
    assert_eq!(report.new, ["box-000/late-addition.txt"]);
    assert_eq!(report.verified, FILES - 2);
    assert!(!report.is_clean());

    // A receipt verifies with wallet-core alone, and only for its own document.
    let first: Value =
        serde_json::from_str(std::fs::read_to_string(&manifest).unwrap().lines().next().unwrap()).unwrap();
    let receipt: NotarizationReceipt = serde_json::from_value(first["receipt"].clone()).unwrap();
    let key = LogKey::from_vkey(log_key.trim()).unwrap();
    let original = std::fs::read(folder.join(first["path"].as_str().unwrap())).unwrap();
    let verified = receipt.verify(&document_digest(&original), &key, &WitnessPolicy::none()).unwrap();
    assert!(verified.anchor.block_number >= 1 && verified.size > verified.index);
    assert!(receipt.verify(&document_digest(b"another document"), &key, &WitnessPolicy::none()).is_err());
    // …and matches the anchor on the chain node.
    let rpc = service_http::chain_rpc::HttpJsonRpc::new(&anvil.url);
    let on_chain =
        wallet_core::transparency::read_anchor(&rpc, verified.anchor.chain_id, &verified.anchor.tx_hash, None)
            .await
            .unwrap();
    NotarizationReceipt::confirm_anchor(&verified, &on_chain).unwrap();
    // An edited claim dated earlier (same size, root and block) does not confirm.
    let mut backdated = verified.clone();
    backdated.anchor.block_time -= 86_400;
    let refused = NotarizationReceipt::confirm_anchor(&backdated, &on_chain).unwrap_err();
    assert!(refused.to_string().contains("block time"), "{refused}");
}

#[tokio::test]
async fn the_api_refuses_bad_batches_and_says_pending_and_unknown() {
    let data = tempfile::tempdir().unwrap();
    let (issuer, token) = start_issuer(data.path(), None).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let anonymous = reqwest::Client::new();
    let resp =
        anonymous.post(format!("{issuer}/api/v1/notarizations")).json(&json!({"digests": []})).send().await.unwrap();
    assert_eq!(resp.status(), 401, "notarisation needs an API token");
    let post = |path: &'static str, body: Value| {
        let (http, issuer) = (http.clone(), issuer.clone());
        async move {
            let resp = http.post(format!("{issuer}{path}")).json(&body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post("/api/v1/notarizations", json!({"digests": []})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_batch_size")));
    let (status, body) = post("/api/v1/notarizations", json!({"digests": ["abc"]})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_digest")));
    let too_many: Vec<String> = (0..10_001).map(|i| format!("{i:064x}")).collect();
    let (status, body) = post("/api/v1/notarizations", json!({"digests": too_many})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_batch_size")), "{body}");

    let digest = hex::encode(document_digest(b"minutes of the meeting"));
    let (status, body) = post("/api/v1/notarizations", json!({"digests": [digest]})).await;
    assert_eq!(status, 202, "{body}");
    let index = body["notarized"][0]["index"].as_u64().unwrap();
    // No chain configured: logged, never anchored.
    let resp = http.get(format!("{issuer}/api/v1/notarizations/{digest}")).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let pending: Value = resp.json().await.unwrap();
    assert_eq!((pending["state"].as_str(), pending["index"].as_u64()), (Some("pending"), Some(index)));
    let unknown = hex::encode(document_digest(b"never sent"));
    let resp = http.get(format!("{issuer}/api/v1/notarizations/{unknown}")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    // The log holds a Notarized entry for the digest, and nothing personal.
    let page: Value =
        http.get(format!("{issuer}/log/entries?start={index}&count=1")).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["entries"][0]["entry"]["kind"]["type"], "notarized");
    assert_eq!(page["entries"][0]["entry"]["credentialDigest"], digest.as_str());
}
