//! Scale-out: two issuers (two whole applications, each with its own connection
//! pool, CPU pool and in-memory log tree) on one PostgreSQL database, issuing
//! batches and single requests at the same time, some with the same keys. Then:
//! every stored credential is in the log exactly once and every `Issued` entry
//! names a stored credential, the sequence is gap-free and intact, a key sent to
//! both issuers issued one credential, and both serve a checkpoint of the same
//! size and root. Runs when `TEST_DATABASE_URL` names a server.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use wallet_core::transparency::{Checkpoint, EntryKind, LogEntry, SignedNote};

use issuer::domain::accounts::create_api_token;
use issuer::store::{CredentialQuery, Store};

use crate::support::postgres::FreshDatabase;
use crate::support::requests::health_request;

struct Running {
    base: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start(data: &std::path::Path, url: &str) -> Running {
    let mut settings = issuer::config::Settings::for_tests(data.to_path_buf());
    settings.database_url = Some(url.to_owned());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    Running { base, server: tokio::spawn(app.run_until_stopped()) }
}

fn ndjson(keys: impl Iterator<Item = String>) -> String {
    keys.map(|key| {
        let mut row = health_request();
        row["idempotencyKey"] = json!(key);
        format!("{row}\n")
    })
    .collect()
}

async fn batch(http: &reqwest::Client, base: &str, token: &str, body: String) -> Vec<Value> {
    let resp = http
        .post(format!("{base}/api/v1/health-certificates/batch"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["results"].as_array().unwrap().clone()
}

async fn single(http: &reqwest::Client, base: &str, token: &str, key: &str) -> String {
    let resp = http
        .post(format!("{base}/api/v1/health-certificates"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&health_request())
        .send()
        .await
        .unwrap();
    assert!(resp.status() == 201 || resp.status() == 200, "{}", resp.status());
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn checkpoint(http: &reqwest::Client, base: &str) -> Checkpoint {
    let note = http.get(format!("{base}/log/checkpoint")).send().await.unwrap().text().await.unwrap();
    Checkpoint::from_note_text(SignedNote::parse(&note).unwrap().text()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_issuers_on_one_database_log_every_credential_once() {
    let Some(db) = FreshDatabase::create("scale_out").await else { return };
    // One data directory: both issuers sign with the same key, as a department's
    // issuers behind a load balancer do.
    let data = tempfile::tempdir().unwrap();
    let first = start(data.path(), &db.url).await;
    let second = start(data.path(), &db.url).await;
    let store = Store::connect(&db.url).await.unwrap();
    let (_, token) = create_api_token(&store, "scale-out").await.unwrap();
    let http = reqwest::Client::new();

    // Each issuer: three batches of 40 rows of its own and singles, all at once; and
    // one batch of 20 keys sent to both issuers at the same time.
    let mut tasks = tokio::task::JoinSet::new();
    for (name, base) in [("a", first.base.clone()), ("b", second.base.clone())] {
        for n in 0..3 {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            let body = ndjson((0..40).map(move |i| format!("{name}-{n}-{i}")));
            tasks.spawn(async move { batch(&http, &base, &token, body).await });
        }
        let (http2, base2, token2) = (http.clone(), base.clone(), token.clone());
        tasks.spawn(async move {
            let mut answers = Vec::new();
            for i in 0..10 {
                let id = single(&http2, &base2, &token2, &format!("{name}-single-{i}")).await;
                answers.push(json!({"outcome": "issued", "id": id, "idempotencyKey": format!("{name}-single-{i}")}));
            }
            answers
        });
        let (http, token) = (http.clone(), token.clone());
        tasks.spawn(async move { batch(&http, &base, &token, ndjson((0..20).map(|i| format!("both-{i}")))).await });
    }
    let mut id_of_key: HashMap<String, String> = HashMap::new();
    while let Some(answers) = tasks.join_next().await {
        for answer in answers.unwrap() {
            assert!(answer["outcome"] == "issued" || answer["outcome"] == "replayed", "{answer}");
            let (key, id) = (answer["idempotencyKey"].as_str().unwrap(), answer["id"].as_str().unwrap());
            if let Some(earlier) = id_of_key.insert(key.to_owned(), id.to_owned()) {
                assert_eq!(earlier, id, "key {key} issued two credentials");
            }
        }
    }
    let expected = 2 * (3 * 40 + 10) + 20;
    assert_eq!(id_of_key.len(), expected);

    // The log: gap-free, intact, every credential once.
    let records = store.log_entries(0, None).await.unwrap();
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64 && r.is_intact()), "gap-free, intact");
    let mut issued: HashMap<String, usize> = HashMap::new();
    for record in &records {
        if LogEntry::decode(&record.entry).unwrap().kind() == EntryKind::Issued {
            *issued.entry(record.credential_id.clone().unwrap()).or_default() += 1;
        }
    }
    assert!(issued.values().all(|&n| n == 1), "no credential logged twice");
    let stored: HashSet<String> = store
        .list_credentials(&CredentialQuery { limit: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(stored.len(), expected, "one credential per key");
    assert_eq!(stored, issued.keys().cloned().collect::<HashSet<_>>(), "every credential logged, every entry stored");
    assert_eq!(stored, id_of_key.values().cloned().collect::<HashSet<_>>(), "the answers name the stored credentials");

    // Both issuers serve the same tree: the whole log.
    let (a, b) = (checkpoint(&http, &first.base).await, checkpoint(&http, &second.base).await);
    assert_eq!((a.size, a.root), (b.size, b.root));
    assert_eq!(a.size, records.len() as u64);
    drop((first, second));
    db.drop_now().await;
}
