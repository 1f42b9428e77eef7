//! Appending to the issuance log through the store: entries per second when
//! batched (`append_log_entries`, one transaction per batch — notarisation,
//! key events) against the baseline of one transaction per entry (how each
//! issuance appends, in its own transaction), on SQLite and, when
//! `TEST_DATABASE_URL` names a PostgreSQL server (as under
//! `scripts/with-postgres.sh`), on a throw-away PostgreSQL database.
//!
//! ```sh
//! scripts/with-postgres.sh cargo bench --profile dev -p issuer --bench log_append
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use issuer::store::Store;
use wallet_core::transparency::{EntryKind, LogEntry};

const BATCH: usize = 1000;

fn entries(n: usize) -> Vec<(LogEntry, Option<String>)> {
    (0..n)
        .map(|i| {
            let mut digest = [0u8; 32];
            digest[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let entry =
                LogEntry::new(EntryKind::Notarized, digest, "did:key:zDnaeBenchIssuer", 1_780_000_000 + i as u64)
                    .expect("entry");
            (entry, Some(format!("sha256:{}", hex::encode(digest))))
        })
        .collect()
}

fn bench_store(c: &mut Criterion, runtime: &tokio::runtime::Runtime, name: &str, store: &Store) {
    let mut group = c.benchmark_group(format!("log_append/{name}"));
    group.sample_size(10);
    let batch = entries(BATCH);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("batched_1000_per_transaction", |b| {
        b.to_async(runtime).iter(|| async { store.append_log_entries(&batch).await.expect("append") });
    });
    group.throughput(Throughput::Elements(1));
    let one = entries(1);
    group.bench_function("baseline_one_per_transaction", |b| {
        b.to_async(runtime).iter_batched(
            || one.clone(),
            |one| async move { store.append_log_entries(&one).await.expect("append") },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn log_append(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = runtime
        .block_on(Store::connect(&format!("sqlite://{}", dir.path().join("bench.sqlite3").display())))
        .expect("SQLite store");
    bench_store(c, &runtime, "sqlite", &sqlite);

    if let Some(admin_url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) {
        let database = format!("bench_{}", std::process::id());
        let (admin, connection) =
            runtime.block_on(tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)).expect("connect");
        runtime.spawn(connection);
        runtime.block_on(admin.batch_execute(&format!("CREATE DATABASE {database}"))).expect("create database");
        let (scheme, rest) = admin_url.split_once("://").expect("postgres URL");
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let url = format!("{scheme}://{}/{database}", &rest[..authority_end]);
        let postgres = runtime.block_on(Store::connect(&url)).expect("PostgreSQL store");
        bench_store(c, &runtime, "postgres", &postgres);
        drop(postgres);
        let _ = runtime.block_on(admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")));
    }
}

criterion_group!(benches, log_append);
criterion_main!(benches);
