//! Bulk issuance against single requests, on a running issuer (HTTP on
//! loopback): a `BULK_ROWS`-row NDJSON file (default 10,000) uploaded with
//! `issuer bulk-issue`'s code in chunks of 500, beside the baseline of
//! `SINGLE_ROWS` (default 500) single `POST /api/v1/health-certificates`
//! requests one after the other, each with an `Idempotency-Key`, in the same
//! run. On SQLite, and on a throw-away PostgreSQL database when
//! `TEST_DATABASE_URL` names a server; there also the scale-out pair: one
//! issuer, then two issuers on one (fresh) database each uploading half the
//! rows at the same time, every issuer with ONE CPU worker (on a two-core
//! machine that stands for one issuer per machine: what is measured is whether
//! the shared database serialises them). Not criterion: one timed run each.
//!
//! ```sh
//! scripts/with-postgres.sh cargo bench --profile dev -p issuer --bench bulk_issue
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::print_stdout)] // a benchmark: a panic is a failure report

use std::time::Instant;

use issuer::cli::bulk::{bulk_issue, BulkArgs};

fn rows_from_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn request() -> serde_json::Value {
    serde_json::json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
    })
}

async fn run(name: &str, database_url: Option<String>, bulk_rows: usize, single_rows: usize) -> f64 {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.database_url = database_url;
    settings.request_deadline_secs = 600;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_api_token(&store, "bench").await.unwrap();

    // Baseline: single requests, one after the other.
    let http = reqwest::Client::new();
    let body = request().to_string();
    let started = Instant::now();
    for i in 0..single_rows {
        let resp = http
            .post(format!("{base}/api/v1/health-certificates"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("Idempotency-Key", format!("single-{i}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let single = single_rows as f64 / started.elapsed().as_secs_f64();

    // Bulk: the CLI's upload.
    let file = data.path().join("day.ndjson");
    let mut text = String::new();
    for i in 0..bulk_rows {
        let mut row = request();
        row["idempotencyKey"] = serde_json::json!(format!("bulk-{i}"));
        text.push_str(&row.to_string());
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    let args = BulkArgs {
        file,
        url: base,
        token,
        type_path: "health-certificates".into(),
        format: None,
        chunk: 500,
        results: None,
    };
    let summary = bulk_issue(&args).await.unwrap();
    assert_eq!((summary.issued, summary.refused), (bulk_rows, 0));
    let log = store.log_size().await.unwrap();
    println!(
        "{name}: single requests {single:.1} rows/s ({single_rows} rows); bulk {:.1} rows/s ({bulk_rows} rows in {:.1?}); \
         bulk/single {:.2}x; log size {log}",
        summary.rate(),
        summary.elapsed,
        summary.rate() / single
    );
    server.abort();
    summary.rate()
}

/// `issuers` issuers with one CPU worker each on one database, each uploading its
/// share of `rows` at once; the rate together.
async fn run_scale_out(name: &str, database_url: String, rows: usize, issuers: usize) -> f64 {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.database_url = Some(database_url);
    settings.request_deadline_secs = 600;
    settings.cpu_workers = Some(1);
    let mut servers = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..issuers {
        let app = issuer::startup::Application::build(&settings).await.unwrap();
        bases.push(format!("http://127.0.0.1:{}", app.port()));
        servers.push(tokio::spawn(app.run_until_stopped()));
    }
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_api_token(&store, "bench").await.unwrap();
    let mut uploads = Vec::new();
    for (half, base) in bases.iter().enumerate() {
        let file = data.path().join(format!("half-{half}.ndjson"));
        let mut text = String::new();
        for i in 0..rows / issuers {
            let mut row = request();
            row["idempotencyKey"] = serde_json::json!(format!("two-{half}-{i}"));
            text.push_str(&row.to_string());
            text.push('\n');
        }
        std::fs::write(&file, text).unwrap();
        uploads.push(BulkArgs {
            file,
            url: base.clone(),
            token: token.clone(),
            type_path: "health-certificates".into(),
            format: None,
            chunk: 500,
            results: None,
        });
    }
    let started = Instant::now();
    let summaries = futures_util::future::join_all(uploads.iter().map(bulk_issue)).await;
    let elapsed = started.elapsed();
    let issued: usize = summaries.into_iter().map(|s| s.unwrap().issued).sum();
    assert_eq!(issued, rows / issuers * issuers);
    let rate = issued as f64 / elapsed.as_secs_f64();
    println!(
        "{name}: bulk {rate:.1} rows/s together ({issued} rows in {elapsed:.1?}); log size {}",
        store.log_size().await.unwrap()
    );
    for server in servers {
        server.abort();
    }
    rate
}

async fn fresh_database(admin: &tokio_postgres::Client, admin_url: &str, name: &str) -> String {
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (scheme, rest) = admin_url.split_once("://").unwrap();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    format!("{scheme}://{}/{name}", &rest[..authority_end])
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (scripts/test)
    // runs this once without it, as a smoke test with a few rows.
    let benching = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let bulk_rows = rows_from_env("BULK_ROWS", if benching { 10_000 } else { 40 });
    let single_rows = rows_from_env("SINGLE_ROWS", if benching { 500 } else { 10 });
    runtime.block_on(run("sqlite", None, bulk_rows, single_rows));
    if let Some(admin_url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) {
        runtime.block_on(async {
            let (admin, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let one = format!("bench_bulk_{}", std::process::id());
            let url = fresh_database(&admin, &admin_url, &one).await;
            run("postgres", Some(url), bulk_rows, single_rows).await;
            let one_worker = format!("bench_bulk_w1_{}", std::process::id());
            let url = fresh_database(&admin, &admin_url, &one_worker).await;
            let one_rate = run_scale_out("postgres, one issuer, 1 CPU worker", url, bulk_rows, 1).await;
            let two = format!("bench_bulk_two_{}", std::process::id());
            let url = fresh_database(&admin, &admin_url, &two).await;
            let two_rate = run_scale_out("postgres, two issuers, 1 CPU worker each", url, bulk_rows, 2).await;
            println!("postgres: two issuers / one issuer (1 worker each) {:.2}x", two_rate / one_rate);
            for database in [one, one_worker, two] {
                let _ = admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await;
            }
        });
    }
}
