//! Where one issuance spends its time, step by step, on one thread: checking
//! the request, allocating its status entries, signing with the log entry's
//! digest (one pass, `wallet_core::one_pass_signing`), storing (credential,
//! idempotency record and log entry, with the commit); and the two store steps
//! again grouped (`allocate_status_many`, `save_issued_group`: `ROWS`
//! credentials per transaction) beside the per-credential baseline, in the same
//! run. On SQLite, and on a throw-away PostgreSQL database when
//! `TEST_DATABASE_URL` names a server. Not criterion: one timed pass per step.
//!
//! ```sh
//! scripts/with-postgres.sh cargo bench --profile dev -p issuer --bench issue_breakdown
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::print_stdout)] // a benchmark: a panic is a failure report

use std::time::{Duration, Instant};

use chrono::Utc;
use issuer::store::{IdempotencyRecord, IssuedToSave, NewCredential, StatusListConfig, Store, PURPOSES};
use serde_json::{json, Value};
use wallet_core::credential::{CredentialId, IdNumberKey};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::keys::IssuerKey;
use wallet_core::transparency::LogEntry;

fn request() -> Value {
    json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
    })
}

fn per_row(name: &str, rows: usize, took: Duration) {
    let ms = took.as_secs_f64() * 1000.0 / rows as f64;
    println!("  {name:<44} {ms:>8.3} ms/credential  ({:>8.0} /s)", 1000.0 / ms);
}

struct Prepared {
    id: CredentialId,
    signed: Value,
    entry: LogEntry,
}

fn to_save(p: &Prepared, key: &str) -> IssuedToSave {
    let credential_json = p.signed.to_string();
    IssuedToSave {
        credential: NewCredential {
            id: p.id.as_str().to_owned(),
            kind: "HealthCertificate".into(),
            issuer: "did:key:bench".into(),
            issued_at: Utc::now(),
            valid_from: None,
            valid_until: None,
            credential_json: credential_json.clone(),
            search_digest: None,
            licence_id: None,
        },
        idempotency: Some(IdempotencyRecord {
            scope: "health-certificates".into(),
            key: key.to_owned(),
            request_digest: "0".repeat(64),
            response_status: 201,
            response_body: credential_json,
            credential_id: Some(p.id.as_str().to_owned()),
        }),
        log_entry: p.entry.clone(),
    }
}

async fn run(name: &str, store: Store, rows: usize) {
    let types = TypeRegistry::shipped().unwrap();
    let def = types.by_api_path("health-certificates").unwrap();
    let id_key = IdNumberKey::parse(
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/test-id-number.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let key = IssuerKey::generate();
    let config = StatusListConfig::default();
    println!("{name}: {rows} credentials, one thread");

    let started = Instant::now();
    let mut unsigned = Vec::with_capacity(rows);
    for _ in 0..rows {
        let id = CredentialId::generate();
        let checked = def.check_request_keyed(&request(), Utc::now().date_naive(), Some(&id_key)).unwrap();
        unsigned.push((def.to_unsigned_credential(&checked, &id, &key.did()), id));
    }
    per_row("check request, build unsigned", rows, started.elapsed());

    let started = Instant::now();
    for (credential, id) in &mut unsigned {
        let entries = store.allocate_status(id.as_str(), &PURPOSES, &config).await.unwrap();
        let status: Vec<Value> = entries
            .iter()
            .map(|a| json!({"id": format!("https://bench/status/{}#{}", a.list_id, a.index), "type": "BitstringStatusListEntry",
                "statusPurpose": a.purpose.as_str(), "statusListIndex": a.index.to_string(),
                "statusListCredential": format!("https://bench/status/{}", a.list_id)}))
            .collect();
        credential["credentialStatus"] = Value::Array(status);
    }
    per_row("status allocation, one transaction each", rows, started.elapsed());
    let grouped: Vec<CredentialId> = (0..rows).map(|_| CredentialId::generate()).collect();
    let ids: Vec<&str> = grouped.iter().map(CredentialId::as_str).collect();
    let started = Instant::now();
    store.allocate_status_many(&ids, &PURPOSES, &config).await.unwrap();
    per_row("status allocation, all in one transaction", rows, started.elapsed());
    let coalesced: Vec<CredentialId> = (0..rows).map(|_| CredentialId::generate()).collect();
    let started = Instant::now();
    futures_util::future::join_all(
        coalesced.iter().map(|id| store.allocate_status_coalesced(id.as_str(), &PURPOSES, &config)),
    )
    .await
    .into_iter()
    .for_each(|a| drop(a.unwrap()));
    per_row("status allocation, concurrent singles coalesced", rows, started.elapsed());

    let started = Instant::now();
    let mut prepared = Vec::with_capacity(rows);
    for (credential, id) in &unsigned {
        let anchored =
            wallet_core::issuance::sign_credential_anchored(&types, credential, &key, Utc::now()).await.unwrap();
        let entry = LogEntry::issued(anchored.digest, key.did(), 1_780_000_000).unwrap();
        prepared.push(Prepared { id: id.clone(), signed: anchored.signed, entry });
    }
    per_row("sign + log entry digest (one pass: check, expansion, 2 RDFC, ECDSA)", rows, started.elapsed());

    let started = Instant::now();
    for p in &prepared {
        wallet_core::transparency::credential_digest_with(&types.loader(), &p.signed).await.unwrap();
    }
    per_row("  for comparison: the digest alone, from scratch", rows, started.elapsed());

    let half = rows / 2;
    let started = Instant::now();
    for (i, p) in prepared.iter().take(half).enumerate() {
        let item = to_save(p, &format!("one-{i}"));
        store.save_issued_logged(&item.credential, item.idempotency.as_ref(), Some(&item.log_entry)).await.unwrap();
    }
    per_row("store + log + commit, one transaction each", half, started.elapsed());
    let items: Vec<IssuedToSave> =
        prepared.iter().skip(half).enumerate().map(|(i, p)| to_save(p, &format!("group-{i}"))).collect();
    let started = Instant::now();
    store.save_issued_group(&items).await.unwrap();
    per_row("store + log + commit, all in one transaction", items.len(), started.elapsed());
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let rows: usize = std::env::var("ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(if benching { 400 } else { 6 });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let data = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let store = Store::connect(&format!("sqlite://{}", data.path().join("bench.sqlite3").display())).await.unwrap();
        run("sqlite", store, rows).await;
    });
    if let Some(admin_url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) {
        runtime.block_on(async {
            let database = format!("bench_breakdown_{}", std::process::id());
            let (admin, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            admin.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();
            let (scheme, rest) = admin_url.split_once("://").unwrap();
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let url = format!("{scheme}://{}/{database}", &rest[..authority_end]);
            run("postgres", Store::connect(&url).await.unwrap(), rows).await;
            let _ = admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await;
        });
    }
}
