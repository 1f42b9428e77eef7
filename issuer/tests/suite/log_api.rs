//! The issuance transparency log over HTTP, on a real server (127.0.0.1:0) with a
//! real SQLite store: entries for issuance and revocation, inclusion bundles that
//! verify offline against the issuer's log key, consistency proofs, rebuild on
//! restart, and detection of a tampered entry.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::requests::health_request;
use sha2::{Digest, Sha256};
use wallet_core::transparency::{
    verify_consistency, Checkpoint, EntryKind, Hash, InclusionBundle, LogKey, SignedNote, StatusListPurpose,
    WitnessPolicy,
};

const PUBLIC_URL: &str = "https://issuer.example";
const ORIGIN: &str = "issuer.example/log";

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
}

async fn spawn(data_dir: &Path) -> App {
    let mut settings = issuer::config::Settings::for_tests(data_dir.to_path_buf());
    // A fixed public URL: the log's origin stays the same across restarts.
    settings.public_url = Some(PUBLIC_URL.into());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    App { base, did, http: issuer::domain::accounts::authorized_client(&settings).await.unwrap() }
}

impl App {
    async fn get(&self, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get(path).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Issue a health certificate: (uuid, signed credential).
    async fn issue(&self) -> (String, Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/health-certificates", self.base))
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.unwrap();
        let uuid = body["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
        (uuid, body["credential"].clone())
    }

    async fn revoke(&self, uuid: &str) {
        let resp = self
            .http
            .post(format!("{}/credentials/{uuid}/status", self.base))
            .json(&json!({"action": "revoke", "reason": "test", "by": "tester"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }

    async fn checkpoint(&self) -> String {
        let (status, note) = self.get("/log/checkpoint").await;
        assert_eq!(status, 200, "{note}");
        note
    }

    /// The log key, derived from the issuer's DID (the log signs with the issuer key).
    fn log_key(&self) -> LogKey {
        let public_key = wallet_core::keys::p256_key_from_did(&self.did).unwrap();
        LogKey::ecdsa_p256(ORIGIN, &public_key).unwrap()
    }
}

/// What a verifier recomputes from the credential: SHA-256 of its canonical N-Quads.
async fn digest_of(credential: &Value) -> Hash {
    let nquads = wallet_core::canonical::canonical_nquads(credential).await.unwrap();
    Sha256::digest(nquads.as_bytes()).into()
}

fn parse_checkpoint(note: &str) -> Checkpoint {
    Checkpoint::from_note_text(SignedNote::parse(note).unwrap().text()).unwrap()
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base64 character") as u32;
        bits = (bits << 6) | value;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    out
}

#[tokio::test]
async fn issuance_and_revocation_are_logged_and_provable() {
    let data = tempfile::tempdir().unwrap();
    let app = spawn(data.path()).await;
    let log_key = app.log_key();
    assert_eq!(app.get("/log/key").await.1, log_key.to_vkey());

    // Entry 0: the issuer key's activation, logged at the first start.
    let started = parse_checkpoint(&app.checkpoint().await);
    assert_eq!((started.origin.as_str(), started.size), (ORIGIN, 1));

    let first = app.issue().await;
    let second = app.issue().await;
    let note_at_2 = app.checkpoint().await;
    let third = app.issue().await;
    app.revoke(&second.0).await;

    // Five entries: the key activation, three issuances, one revocation.
    let (status, page) = app.get_json("/log/entries?start=0&count=10").await;
    assert_eq!(status, 200, "{page:#}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{page:#}");
    let kinds: Vec<&str> = entries.iter().map(|e| e["entry"]["kind"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["keyEvent", "issued", "issued", "issued", "statusChanged"]);
    assert_eq!(entries[0]["entry"]["kind"]["kind"], "activated");
    assert_eq!(entries[0]["entry"]["issuer"], app.did.as_str());
    assert_eq!(entries[0]["entry"]["credentialDigest"], hex::encode(Sha256::digest(app.did.as_bytes())));
    assert_eq!(entries[4]["entry"]["credentialDigest"], entries[2]["entry"]["credentialDigest"]);
    assert_eq!(entries[4]["entry"]["issuer"], app.did.as_str());
    let (_, one) = app.get_json("/log/entries?start=4&count=5").await;
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);

    // Every inclusion bundle verifies offline against the issuer's log key.
    let note_at_4 = app.checkpoint().await;
    let at_4 = log_key.open_checkpoint(&note_at_4).unwrap().checkpoint;
    assert_eq!(at_4.size, 5);
    for (index, (uuid, credential)) in [&first, &second, &third].into_iter().enumerate() {
        let (status, json) = app.get(&format!("/credentials/{uuid}/inclusion")).await;
        assert_eq!(status, 200, "{json}");
        let bundle = InclusionBundle::from_json(&json).unwrap();
        let verified = bundle.verify(&digest_of(credential).await, &log_key, &WitnessPolicy::none()).unwrap();
        assert_eq!((verified.index, verified.size, verified.root), (index as u64 + 1, 5, at_4.root));
        assert_eq!(verified.entry.kind(), EntryKind::Issued);
        assert_eq!(verified.entry.issuer(), app.did);
        // Not for another credential.
        let other = if index == 0 { &second.1 } else { &first.1 };
        assert!(bundle.verify(&digest_of(other).await, &log_key, &WitnessPolicy::none()).is_err());
    }
    let revoked_kind = EntryKind::StatusChanged { purpose: StatusListPurpose::Revocation, value: true };
    assert_eq!(entries[4]["entry"]["kind"], serde_json::to_value(revoked_kind).unwrap());

    // The checkpoint at size 3 is consistent with the one at size 5.
    let at_2 = log_key.open_checkpoint(&note_at_2).unwrap().checkpoint;
    assert_eq!(at_2.size, 3);
    let (status, consistency) = app.get_json("/log/consistency?from=3&to=5").await;
    assert_eq!(status, 200, "{consistency:#}");
    let proof: Vec<Hash> = consistency["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| base64_decode(h.as_str().unwrap()).try_into().unwrap())
        .collect();
    verify_consistency(3, 5, &proof, &at_2.root, &at_4.root).unwrap();
    assert!(verify_consistency(3, 5, &proof, &at_4.root, &at_4.root).is_err());

    // Errors in the API's shape.
    let (status, body) = app.get_json("/log/consistency?from=3&to=9").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_log_range")), "{body:#}");
    let (status, body) = app.get_json("/credentials/00000000-0000-4000-8000-000000000000/inclusion").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body:#}");

    // A restart on the same data (same key: no new key event) rebuilds the same tree.
    let restarted = spawn(data.path()).await;
    let again = parse_checkpoint(&restarted.checkpoint().await);
    assert_eq!((again.size, again.root), (5, at_4.root));
    let (status, json) = restarted.get(&format!("/credentials/{}/inclusion", third.0)).await;
    assert_eq!(status, 200, "{json}");
    InclusionBundle::from_json(&json)
        .unwrap()
        .verify(&digest_of(&third.1).await, &log_key, &WitnessPolicy::none())
        .unwrap();
}

#[tokio::test]
async fn a_tampered_entry_is_detected_on_restart() {
    let data = tempfile::tempdir().unwrap();
    let app = spawn(data.path()).await;
    for _ in 0..3 {
        app.issue().await;
    }
    let signed = parse_checkpoint(&app.checkpoint().await);
    assert_eq!(signed.size, 4);

    // Alter the stored bytes of entry 1 (its timestamp), leaving its leaf hash.
    let connection = rusqlite::Connection::open(data.path().join("issuer.sqlite3")).unwrap();
    let mut entry: Vec<u8> =
        connection.query_row("SELECT entry FROM log_entries WHERE seq = 1", [], |row| row.get(0)).unwrap();
    *entry.last_mut().unwrap() ^= 1;
    connection.execute("UPDATE log_entries SET entry = ?1 WHERE seq = 1", [&entry]).unwrap();
    drop(connection);

    let restarted = spawn(data.path()).await;
    let (status, body) = restarted.get_json("/log/checkpoint").await;
    assert_eq!((status, body["error"].as_str()), (500, Some("log_integrity_failure")), "{body:#}");
    let message = body["message"]["en"].as_str().unwrap();
    assert!(message.contains("seq 1"), "{message}");
    assert!(message.contains("differs from the stored signed checkpoint"), "{message}");
    let (status, body) = restarted.get_json("/log/entries").await;
    assert_eq!((status, body["error"].as_str()), (500, Some("log_integrity_failure")), "{body:#}");
}

#[tokio::test]
async fn a_new_signing_key_is_logged_as_a_rotation_at_restart() {
    let data = tempfile::tempdir().unwrap();
    let app = spawn(data.path()).await;
    app.issue().await;
    let old_did = app.did.clone();
    // `ecert-pki rotate-key` replaces the key file; the next start logs the change.
    let new_key = wallet_core::keys::IssuerKey::generate();
    std::fs::write(data.path().join("issuer-key.pem"), new_key.to_pkcs8_pem().unwrap()).unwrap();
    let restarted = spawn(data.path()).await;
    assert_eq!(restarted.did, new_key.did());
    let (_, page) = restarted.get_json("/log/entries?start=0&count=10").await;
    let events: Vec<(String, String, String)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["kind"]["type"] == "keyEvent")
        .map(|e| {
            let entry = &e["entry"];
            (
                entry["kind"]["kind"].as_str().unwrap().into(),
                entry["issuer"].as_str().unwrap().into(),
                entry["credentialDigest"].as_str().unwrap().into(),
            )
        })
        .collect();
    let digest = |did: &str| hex::encode(Sha256::digest(did.as_bytes()));
    assert_eq!(
        events,
        [
            ("activated".into(), old_did.clone(), digest(&old_did)),
            ("rotated".into(), old_did.clone(), digest(&old_did)),
            ("activated".into(), new_key.did(), digest(&new_key.did())),
        ]
    );
}
