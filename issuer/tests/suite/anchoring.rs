//! Checkpoint anchoring against a real anvil node (from `ANVIL_BIN`, see
//! `scripts/with-anvil.sh`) and a real issuer on SQLite: the latest checkpoint is
//! confirmed with calldata that decodes to it, one transaction per size; and with the
//! node down, issuance still works, anchors wait with an error, and are all confirmed
//! once the node comes up.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::anvil;
use crate::support::require::{require, Dep};
use anvil::{free_port, Anvil};

async fn rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    reply.get("result").cloned().ok_or_else(|| reply.to_string())
}

struct App {
    base: String,
    http: reqwest::Client,
}

async fn spawn_issuer(data_dir: &Path, rpc_url: &str) -> App {
    let mut settings = issuer::config::Settings::for_tests(data_dir.to_path_buf());
    settings.public_url = Some("https://issuer.example".into());
    settings.chain_rpc_url = Some(rpc_url.into());
    settings.anchor_interval_secs = 1;
    settings.anchor_max_backoff_secs = 2;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    App { base, http: issuer::domain::accounts::authorized_client(&settings).await.unwrap() }
}

impl App {
    async fn issue(&self) {
        let request = json!({
            "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
            "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
            "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
        });
        let resp =
            self.http.post(format!("{}/api/v1/health-certificates", self.base)).json(&request).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 201);
    }

    async fn checkpoint(&self) -> String {
        self.http.get(format!("{}/log/checkpoint", self.base)).send().await.unwrap().text().await.unwrap()
    }

    async fn anchors(&self) -> Vec<Value> {
        let resp = self.http.get(format!("{}/log/anchors", self.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.unwrap()
    }

    /// Waits until `done(anchors)` holds.
    async fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let anchors = self.anchors().await;
            if done(&anchors) {
                return anchors;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {anchors:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// (size, root hex) of a checkpoint note.
fn parse_checkpoint(note: &str) -> (u64, String) {
    let mut lines = note.lines();
    lines.next();
    let size = lines.next().unwrap().parse().unwrap();
    let root = base64_decode(lines.next().unwrap());
    (size, hex::encode(root))
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// Checks every confirmed anchor against the chain: one transaction per size, to the
/// anchor address, calldata decoding to the anchor's size/root/digest.
async fn check_on_chain(url: &str, anchors: &[Value]) {
    let mut sizes = HashSet::new();
    let mut hashes = HashSet::new();
    for anchor in anchors {
        let size = anchor["treeSize"].as_u64().unwrap();
        assert!(sizes.insert(size), "size {size} listed twice");
        assert_eq!(anchor["state"], "confirmed", "{anchor}");
        assert_eq!(anchor["attempts"], 1, "size {size} sent more than once: {anchor}");
        let hash = anchor["txHash"].as_str().unwrap();
        assert!(hashes.insert(hash.to_owned()));
        let tx = rpc(url, "eth_getTransactionByHash", json!([hash])).await.unwrap();
        assert_eq!(tx["to"].as_str().unwrap().to_lowercase(), issuer::domain::anchor::ANCHOR_ADDRESS);
        let input = hex::decode(tx["input"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        let calldata = issuer::domain::anchor::AnchorCalldata::decode(&input).expect("anchor calldata");
        let (tx_size, root, digest) = (calldata.tree_size, calldata.root, calldata.note_digest);
        assert_eq!(tx_size, size);
        assert_eq!(hex::encode(root), anchor["root"].as_str().unwrap());
        assert_eq!(hex::encode(digest), anchor["noteDigest"].as_str().unwrap());
        let block = u64::from_str_radix(tx["blockNumber"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        assert_eq!(anchor["blockNumber"].as_u64(), Some(block));
        assert!(anchor["blockTime"].as_i64().unwrap() > 0);
    }
    // Every transaction on the chain is one of ours, once.
    let head = rpc(url, "eth_blockNumber", json!([])).await.unwrap();
    let head = u64::from_str_radix(head.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let mut on_chain = 0;
    for number in 1..=head {
        let block = rpc(url, "eth_getBlockByNumber", json!([format!("0x{number:x}"), false])).await.unwrap();
        on_chain += block["transactions"].as_array().unwrap().len();
    }
    assert_eq!(on_chain, anchors.len(), "one transaction per anchored size");
}

#[tokio::test]
async fn latest_checkpoint_is_anchored_once() {
    let Some(bin) = require(Dep::Anvil) else { return };
    let anvil = Anvil::start(&bin, free_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_issuer(dir.path(), &anvil.url).await;
    for _ in 0..3 {
        app.issue().await;
    }
    let note = app.checkpoint().await;
    let (size, root) = parse_checkpoint(&note);
    let digest = hex::encode(Sha256::digest(note.as_bytes()));
    let anchors = app
        .wait_for("the latest checkpoint to be confirmed", Duration::from_secs(15), |anchors| {
            anchors.iter().any(|a| a["treeSize"] == size && a["state"] == "confirmed")
        })
        .await;
    let latest = anchors.iter().find(|a| a["treeSize"] == size).unwrap();
    assert_eq!(latest["root"], root.as_str());
    assert_eq!(latest["noteDigest"], digest.as_str());
    assert!(latest["blockNumber"].as_u64().unwrap() >= 1);
    // Let any earlier sizes settle, then check the chain.
    let anchors = app
        .wait_for("every anchor to be confirmed", Duration::from_secs(15), |anchors| {
            anchors.iter().all(|a| a["state"] == "confirmed")
        })
        .await;
    check_on_chain(&anvil.url, &anchors).await;
    // Later runs anchor nothing again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    check_on_chain(&anvil.url, &app.anchors().await).await;
}

#[tokio::test]
async fn anchors_wait_for_the_node_and_are_confirmed_once() {
    let Some(bin) = require(Dep::Anvil) else { return };
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_issuer(dir.path(), &url).await;
    for _ in 0..3 {
        app.issue().await;
    }
    let size = parse_checkpoint(&app.checkpoint().await).0;
    let anchors = app
        .wait_for("pending anchors with errors", Duration::from_secs(15), |anchors| {
            anchors.iter().any(|a| a["treeSize"] == size)
                && anchors.iter().all(|a| a["state"] == "pending" && a["lastError"].is_string())
        })
        .await;
    assert!(!anchors.is_empty());
    let anvil = Anvil::start(&bin, port).await;
    let anchors = app
        .wait_for("every anchor to be confirmed", Duration::from_secs(30), |anchors| {
            anchors.iter().any(|a| a["treeSize"] == size) && anchors.iter().all(|a| a["state"] == "confirmed")
        })
        .await;
    // Failed sends count as attempts; each size still has exactly one transaction.
    for anchor in &anchors {
        assert!(anchor["lastError"].is_null());
    }
    let mut sent_once: Vec<Value> = anchors.clone();
    for anchor in &mut sent_once {
        anchor["attempts"] = json!(1);
    }
    check_on_chain(&anvil.url, &sent_once).await;
}
