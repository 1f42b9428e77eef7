//! End to end on a real anvil node (`ANVIL_BIN`, see `scripts/with-anvil.sh`):
//! issue → the issuer anchors → a verifier that mirrors the log and asks its own
//! node reports "anchored at block N"; a credential signed with the issuer's key
//! but never logged is rejected; a verifier on the wrong chain never confirms;
//! an auditor replaying the log from the chain names a rewritten entry; a
//! published verifier bundle checks anchoring offline from the wallet's export.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;

use crate::support::anvil::{free_port, Anvil};
use crate::support::requests::health_request;
use crate::support::require::{require, Dep};

async fn start_issuer(data_dir: &Path, rpc_url: &str) -> (String, actix_web::dev::ServerHandle, reqwest::Client) {
    let mut settings = issuer::config::Settings::for_tests(data_dir.to_path_buf());
    settings.chain_rpc_url = Some(rpc_url.into());
    settings.anchor_interval_secs = 1;
    settings.anchor_max_backoff_secs = 2;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.server_handle();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&settings).await.unwrap();
    (base, handle, http)
}

fn start_verifier(
    issuer: &str,
    log_key: &str,
    rpc_url: &str,
    tune: impl FnOnce(&mut verifier::config::Settings),
) -> String {
    let mut settings = verifier::config::Settings::for_tests();
    settings.anchoring.log_urls = vec![issuer.to_owned()];
    settings.anchoring.log_keys = vec![log_key.to_owned()];
    settings.anchoring.chain_rpc_url = Some(rpc_url.to_owned());
    settings.anchoring.require_anchoring = true;
    settings.anchoring.log_sync_secs = 1;
    tune(&mut settings);
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

async fn verify(http: &reqwest::Client, verifier: &str, vc: &Value) -> (u16, Value) {
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": vc}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn text(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// Polls `verify` until the anchoring check result is `result`.
async fn wait_for_anchoring(http: &reqwest::Client, verifier: &str, vc: &Value, result: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (_, body) = verify(http, verifier, vc).await;
        if body["report"]["checks"]["anchoring"]["result"] == result {
            return body;
        }
        assert!(Instant::now() < deadline, "anchoring never became {result}: {body:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn issued_credentials_verify_as_anchored_and_unlogged_ones_are_rejected() {
    let Some(bin) = require(Dep::Anvil) else { return };
    let anvil = Anvil::start(&bin, free_port()).await;
    let data = tempfile::tempdir().unwrap();
    let (issuer, _handle, http) = start_issuer(data.path(), &anvil.url).await;
    let log_key = text(&http, &format!("{issuer}/log/key")).await;
    let verifier = start_verifier(&issuer, log_key.trim(), &anvil.url, |_| {});

    let issued_at = Instant::now();
    let vc = issue(&http, &issuer).await;
    // Right after issuance: logged (or not yet mirrored), within the grace period.
    // (On a very fast machine it may already be anchored.)
    let (status, body) = verify(&http, &verifier, &vc).await;
    assert_eq!(status, 200, "{body:#}");
    let anchoring = &body["report"]["checks"]["anchoring"];
    assert!(anchoring["code"] == "anchoring_pending" || anchoring["result"] == "valid", "{body:#}");

    let body = wait_for_anchoring(&http, &verifier, &vc, "valid").await;
    let to_anchored = issued_at.elapsed();
    eprintln!("issuance → verifier reports anchored: {to_anchored:?}");
    assert_eq!(body["verified"], true);
    assert!(body["checks"].as_array().unwrap().contains(&json!("anchoring")), "{body:#}");
    let anchor = &body["report"]["anchor"];
    let block = anchor["blockNumber"].as_u64().unwrap();
    assert!(block >= 1 && anchor["blockTime"].as_u64().unwrap() > 0, "{anchor:#}");
    assert_eq!(anchor["chainId"], 31337);
    // The same block as the issuer's queue says, for a tree covering the entry.
    let listed: Vec<Value> = http.get(format!("{issuer}/log/anchors")).send().await.unwrap().json().await.unwrap();
    let entry = &listed.iter().find(|a| a["txHash"] == anchor["txHash"]).expect("the anchor is the issuer's");
    assert_eq!(entry["blockNumber"].as_u64(), Some(block));
    assert!(entry["treeSize"].as_u64().unwrap() > anchor["index"].as_u64().unwrap());

    // Signed with the issuer's own key (stolen), never logged, backdated an hour.
    let key = issuer::signing_key::load_or_generate(data.path()).unwrap();
    let mut forged = vc.clone();
    forged.as_object_mut().unwrap().remove("proof");
    forged["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    forged["credentialSubject"]["name"] = json!("Mallory");
    let forged = sign_credential(&forged, &key, Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    let (status, body) = verify(&http, &verifier, &forged).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "valid");
    assert_eq!(body["report"]["checks"]["anchoring"]["code"], "anchoring_not_in_log", "{body:#}");
    // Issue #13: the same stolen key naming a made-up issuer is still looked up
    // in the signer's log (not "no log for this issuer").
    let mut made_up = vc.clone();
    made_up.as_object_mut().unwrap().remove("proof");
    made_up["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    made_up["issuer"] = json!("did:web:made-up.example");
    let made_up = sign_credential(&made_up, &key, Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    let (status, body) = verify(&http, &verifier, &made_up).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "valid");
    assert_eq!(body["report"]["checks"]["anchoring"]["code"], "anchoring_not_in_log", "{body:#}");

    // A verifier whose node is on another chain never accepts the anchors.
    let wrong_chain = start_verifier(&issuer, log_key.trim(), &anvil.url, |s| {
        s.anchoring.chain_id = Some(1);
        s.anchoring.anchor_grace_secs = 0;
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status: Vec<Value> =
            http.get(format!("{wrong_chain}/anchoring/status")).send().await.unwrap().json().await.unwrap();
        if status[0]["size"].as_u64().unwrap_or(0) >= 1 && status[0]["lastError"].is_string() {
            assert!(status[0]["lastError"].as_str().unwrap().contains("wrong chain"), "{status:#?}");
            assert_eq!(status[0]["anchors"], 0);
            break;
        }
        assert!(Instant::now() < deadline, "{status:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, body) = verify(&http, &wrong_chain, &vc).await;
    assert_eq!(status, 422);
    assert_eq!(body["report"]["checks"]["anchoring"]["code"], "anchoring_overdue", "{body:#}");
}

#[tokio::test]
async fn an_auditor_replaying_from_the_chain_names_a_rewritten_entry() {
    let Some(bin) = require(Dep::Anvil) else { return };
    let anvil = Anvil::start(&bin, free_port()).await;
    let data = tempfile::tempdir().unwrap();
    let (issuer, handle, http) = start_issuer(data.path(), &anvil.url).await;
    let log_key = text(&http, &format!("{issuer}/log/key")).await.trim().to_owned();
    // One entry per anchor: wait for each size to be confirmed before the next issuance.
    // (Entry 0 is the issuer key's activation, logged at start.)
    for _ in 0..3 {
        issue(&http, &issuer).await;
        let note = text(&http, &format!("{issuer}/log/checkpoint")).await;
        let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listed: Vec<Value> =
                http.get(format!("{issuer}/log/anchors")).send().await.unwrap().json().await.unwrap();
            if listed.iter().any(|a| a["treeSize"] == size && a["state"] == "confirmed") {
                break;
            }
            assert!(Instant::now() < deadline, "size {size} never anchored: {listed:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let state = data.path().join("audit-leaves.bin");
    let args = |state: Option<std::path::PathBuf>| verifier::audit::AuditArgs {
        log_url: issuer.clone(),
        log_key: log_key.clone(),
        chain_rpc_url: anvil.url.clone(),
        anchor_sender: None,
        from_block: 0,
        state,
    };
    let report = verifier::audit::run(&args(Some(state.clone()))).await.unwrap();
    assert!(report.is_consistent(), "{report:#?}");
    assert_eq!((report.log_size, report.anchored_size), (4, 4));
    assert!(report.anchors_checked >= 3, "{report:#?}");
    assert!(state.exists());

    // A database administrator rewrites entry 2 (consistently: new bytes, new leaf
    // hash, old checkpoints deleted) and restarts the issuer, which accepts it.
    handle.stop(true).await;
    {
        let db = rusqlite::Connection::open(data.path().join("issuer.sqlite3")).unwrap();
        let bytes: Vec<u8> = db.query_row("SELECT entry FROM log_entries WHERE seq = 2", [], |r| r.get(0)).unwrap();
        let entry = wallet_core::transparency::LogEntry::decode(&bytes).unwrap();
        let rewritten =
            wallet_core::transparency::LogEntry::issued([0xab; 32], entry.issuer().to_owned(), entry.at()).unwrap();
        db.execute(
            "UPDATE log_entries SET entry = ?1, leaf_hash = ?2 WHERE seq = 2",
            rusqlite::params![rewritten.encode(), rewritten.leaf_hash().to_vec()],
        )
        .unwrap();
        db.execute("DELETE FROM log_checkpoints", []).unwrap();
    }
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.listen = issuer.trim_start_matches("http://").to_owned();
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    tokio::spawn(app.run_until_stopped());

    // Without history the anchors bound it (one entry per anchor: exact)…
    let report = verifier::audit::run(&args(None)).await.unwrap();
    let mismatch = report.mismatch.expect("the rewrite is detected");
    assert_eq!((mismatch.first_bad_entry, mismatch.exact), (2, true), "{mismatch:#?}");
    assert_eq!(mismatch.anchor.calldata.tree_size, 3);
    // …and with the last audit's leaves it is named directly.
    let report = verifier::audit::run(&args(Some(state))).await.unwrap();
    let mismatch = report.mismatch.expect("the rewrite is detected");
    assert_eq!((mismatch.first_bad_entry, mismatch.exact), (2, true));
}

/// Offline anchoring, end to end: the clinic's issuer (the key the trust list
/// certifies) anchors on the chain; the department's verifier mirrors its log,
/// confirms the anchors on its own node and publishes a signed bundle carrying the
/// log's key and latest anchored tree; the citizen's wallet keeps the inclusion
/// proof and exports `{credential, inclusion}`; `verifier check` inside `unshare -n`
/// then reports anchoring `valid` (block, tx) for the export, and `unchecked`
/// `anchoring_no_inclusion_proof` for the same credential's QR code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_bundle_checks_anchoring_offline_from_the_wallets_export() {
    use crate::offline::{check, fixture, trust_list, FIXTURES, ROOT_PASSPHRASE};
    use wallet_core::verifier_bundle::{open_bundle, FreshnessPolicy};

    let Some(bin) = require(Dep::Anvil) else { return };
    let anvil = Anvil::start(&bin, free_port()).await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("issuer-key.pem"), fixture("keys/test-issuer.pem")).unwrap();
    let (issuer, _handle, http) = start_issuer(data.path(), &anvil.url).await;
    let log_key = text(&http, &format!("{issuer}/log/key")).await;

    let dir = tempfile::tempdir().unwrap();
    let trust_file = dir.path().join("trust-list.json");
    std::fs::write(&trust_file, trust_list(Utc::now() - chrono::Duration::minutes(10))).unwrap();
    let verifier = start_verifier(&issuer, log_key.trim(), &anvil.url, |s| {
        s.trust.roots = vec![format!("{FIXTURES}/trust/health-commission-root.pem").into()];
        s.trust.trust_list_file = Some(trust_file.clone());
        s.bundle.key = Some(format!("{FIXTURES}/trust/health-commission-root.key.pem").into());
        s.bundle.certs = vec![format!("{FIXTURES}/trust/health-commission-root.pem").into()];
        s.bundle.passphrase = Some(ROOT_PASSPHRASE.into());
        s.bundle.issuers = vec![issuer.clone()];
        s.bundle.interval_secs = 1;
    });

    let vc = issue(&http, &issuer).await;
    wait_for_anchoring(&http, &verifier, &vc, "valid").await;
    // The wallet fetches its inclusion proof from the issuer and keeps it.
    let uuid = vc["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    let inclusion: Value =
        http.get(format!("{issuer}/credentials/{uuid}/inclusion")).send().await.unwrap().json().await.unwrap();
    let proof_size: u64 = inclusion["checkpoint"].as_str().unwrap().lines().nth(1).unwrap().parse().unwrap();
    let wallet_dir = tempfile::tempdir().unwrap();
    let mut wallet =
        wallet_core::wallet::Wallet::open(wallet_dir.path().join("w.bin"), wallet_core::wallet::StoreKey::generate())
            .unwrap();
    let id = wallet.import_file(json!({"credential": vc, "inclusion": inclusion}).to_string().as_bytes()).unwrap();
    let export = dir.path().join("export.json");
    std::fs::write(&export, wallet.export(&id).unwrap()).unwrap();

    // The department's bundle, once it carries an anchor covering the proof's tree.
    let roots = [wallet_core::trust::certificate_pem_to_der(&fixture("trust/health-commission-root.pem")).unwrap()];
    let deadline = Instant::now() + Duration::from_secs(40);
    let (bundle, anchored) = loop {
        let resp = http.get(format!("{verifier}/bundle")).send().await.unwrap();
        if resp.status() == 200 {
            let bytes = resp.bytes().await.unwrap().to_vec();
            let opened = open_bundle(&bytes, &roots, Utc::now(), FreshnessPolicy::default(), None).await.unwrap();
            assert!(opened.problems.is_empty(), "{:?}", opened.problems);
            let anchored = opened.bundle.logs.first().and_then(|l| l.anchored.clone());
            if let Some(anchored) = anchored.filter(|a| a.tree_size >= proof_size) {
                assert_eq!(opened.bundle.logs[0].log_key, log_key.trim());
                break (bytes, anchored);
            }
        }
        assert!(Instant::now() < deadline, "no bundle with an anchor covering size {proof_size}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let bundle_path = dir.path().join("bundle.json");
    std::fs::write(&bundle_path, &bundle).unwrap();

    // Offline (no network): the export says anchored, at the bundle's anchor.
    let (code, out) = check(&bundle_path, export.to_str().unwrap());
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["report"]["checks"]["anchoring"]["result"], "valid", "{out:#}");
    assert_eq!(out["report"]["checks"]["issuerTrust"]["result"], "valid", "{out:#}");
    let anchor = &out["report"]["anchor"];
    assert_eq!(anchor["blockNumber"].as_u64(), Some(anchored.block_number), "{anchor:#}");
    assert_eq!(anchor["txHash"], anchored.tx_hash);
    assert_eq!(anchor["chainId"], 31337);
    // An export whose proof was altered (another leaf index): anchoring invalid, not verified.
    let mut tampered: Value = serde_json::from_str(&wallet.export(&id).unwrap()).unwrap();
    let index = tampered["inclusion"]["index"].as_u64().unwrap();
    tampered["inclusion"]["index"] = json!(index ^ 1);
    let tampered_path = dir.path().join("tampered-export.json");
    std::fs::write(&tampered_path, tampered.to_string()).unwrap();
    let (code, out) = check(&bundle_path, tampered_path.to_str().unwrap());
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["report"]["checks"]["anchoring"]["code"], "anchoring_bad_inclusion_proof", "{out:#}");
    // The same credential's QR code carries no inclusion proof: unchecked, still verified.
    let qr = wallet_core::compact::encode_credential(&vc).unwrap();
    let (code, out) = check(&bundle_path, &qr);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["report"]["checks"]["anchoring"]["result"], "unchecked", "{out:#}");
    assert_eq!(out["report"]["checks"]["anchoring"]["code"], "anchoring_no_inclusion_proof");
    assert!(out["report"]["anchor"].is_null());
    eprintln!(
        "wallet export {} B (credential {} B + inclusion {} B, proof {} hashes); QR text {} chars",
        std::fs::read(&export).unwrap().len(),
        vc.to_string().len(),
        inclusion.to_string().len(),
        inclusion["proof"].as_array().unwrap().len(),
        qr.len()
    );
}
