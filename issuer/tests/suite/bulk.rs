//! Bulk issuance (`POST /api/v1/{apiPath}/batch`, `issuer bulk-issue`) on a real
//! server, on SQLite and (when `TEST_DATABASE_URL` names a server, required under
//! `REQUIRE_POSTGRES=1`) on PostgreSQL.

use serde_json::{json, Value};

use issuer::cli::bulk::{bulk_issue, BulkArgs};
use issuer::domain::accounts::{create_api_token, create_scoped_api_token, TokenScope};
use issuer::store::Store;

use crate::support::postgres::FreshDatabase;
use crate::support::requests::health_request;

struct App {
    base: String,
    token: String,
    store: Store,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _data: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn spawn(database_url: Option<String>) -> App {
    spawn_with(database_url, |_| {}).await
}

async fn spawn_with(database_url: Option<String>, tweak: impl FnOnce(&mut issuer::config::Settings)) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.database_url = database_url;
    tweak(&mut settings);
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let store = Store::connect(&settings.store_url()).await.unwrap();
    let (_, token) = create_api_token(&store, "bulk-test").await.unwrap();
    App { base, token, store, http: reqwest::Client::new(), server, _data: data }
}

impl App {
    async fn batch(&self, api_path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/{api_path}/batch", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn log_size(&self) -> u64 {
        self.store.log_size().await.unwrap()
    }
}

/// A valid health-certificate request (rows differ by their keys: one
/// credential per key).
fn person(_i: usize) -> Value {
    health_request()
}

fn ndjson_line(mut req: Value, key: &str) -> String {
    req["idempotencyKey"] = json!(key);
    format!("{req}\n")
}

/// Two good rows, invalid fields, a malformed line, a row without a key.
fn mixed_ndjson(prefix: &str) -> String {
    let mut bad = person(3);
    bad["idNumber"] = json!("110105194912310021");
    bad["sex"] = json!("?");
    let mut body = ndjson_line(person(1), &format!("{prefix}-1"));
    body.push_str(&ndjson_line(bad, &format!("{prefix}-bad")));
    body.push_str("{\"fullName\": oops\n");
    body.push_str(&ndjson_line(person(2), &format!("{prefix}-2")));
    body.push_str(&format!("{}\n", person(4)));
    body
}

fn outcomes(body: &Value) -> Vec<&str> {
    body["results"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect()
}

async fn mixed_batch_then_replay(app: &App) {
    let before = app.log_size().await;
    let (status, body) = app.batch("health-certificates", "application/x-ndjson", mixed_ndjson("mix")).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(outcomes(&body), ["issued", "refused", "refused", "issued", "refused"], "{body:#}");
    assert_eq!(body["summary"], json!({"rows": 5, "issued": 2, "replayed": 0, "refused": 3}));
    let results = body["results"].as_array().unwrap();
    // The same status, code and field details the single-item route gives.
    assert_eq!((results[1]["status"].as_u64(), results[1]["error"].as_str()), (Some(422), Some("invalid_fields")));
    let fields: Vec<&str> =
        results[1]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["sex", "idNumber"]);
    assert_eq!(results[1]["details"][1]["code"], "checksum");
    assert!(!body.to_string().contains("110105194912310021"), "a rejected ID number is not echoed");
    assert_eq!((results[2]["status"].as_u64(), results[2]["error"].as_str()), (Some(400), Some("invalid_json")));
    assert_eq!(results[4]["error"], "idempotency_key_missing");
    assert_eq!((results[0]["row"].as_u64(), results[0]["idempotencyKey"].as_str()), (Some(1), Some("mix-1")));
    let ids: Vec<String> = [0, 3].iter().map(|&i| results[i]["id"].as_str().unwrap().to_owned()).collect();
    for id in &ids {
        assert!(app.store.credential(id).await.unwrap().is_some());
        assert!(app.store.first_log_entry_for(id).await.unwrap().is_some(), "{id} is in the log");
    }
    assert_eq!(app.log_size().await, before + 2, "one log entry per issued credential");

    // The same batch again: the issued rows are replayed with the same ids, nothing new is logged.
    let (status, again) = app.batch("health-certificates", "application/x-ndjson", mixed_ndjson("mix")).await;
    assert_eq!(status, 200);
    assert_eq!(outcomes(&again), ["replayed", "refused", "refused", "replayed", "refused"]);
    assert_eq!(again["results"][0]["id"].as_str(), Some(ids[0].as_str()));
    assert_eq!(again["results"][3]["id"].as_str(), Some(ids[1].as_str()));
    assert_eq!(app.log_size().await, before + 2);

    // A key reused for another request is refused, as on the single-item route.
    let mut other = person(9);
    other["sex"] = json!("M");
    let (_, reused) = app.batch("health-certificates", "application/x-ndjson", ndjson_line(other, "mix-1")).await;
    assert_eq!(reused["results"][0]["error"], "idempotency_key_reused");

    // Rows of one batch racing for the same key: one credential, the other row replayed.
    let twice = format!("{}{}", ndjson_line(person(7), "twice"), ndjson_line(person(7), "twice"));
    let before = app.log_size().await;
    let (_, body) = app.batch("health-certificates", "application/x-ndjson", twice).await;
    let mut got = outcomes(&body);
    got.sort_unstable();
    assert_eq!(got, ["issued", "replayed"]);
    assert_eq!(body["results"][0]["id"], body["results"][1]["id"]);
    assert_eq!(app.log_size().await, before + 1);
}

#[tokio::test]
async fn a_mixed_ndjson_batch_answers_per_row_and_replays_without_new_entries() {
    let app = spawn(None).await;
    mixed_batch_then_replay(&app).await;
}

#[tokio::test]
async fn the_batch_route_runs_on_postgresql() {
    let Some(database) = FreshDatabase::create("bulk").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    mixed_batch_then_replay(&app).await;
    drop(app);
    database.drop_now().await;
}

const CSV_HEADER: &str = "idempotencyKey,fullName,fullNamePinyin,sex,birthDate,idNumber,examinationDate,examiningInstitution,examinationResult,occupation";

fn csv_row(key: &str, pinyin: &str, sex: &str) -> String {
    format!("{key},欧阳晓燕,{pinyin},{sex},1991-07-23,11010519491231002X,2026-03-12,\"广州市越秀区疾病预防控制中心\",qualified,\n")
}

#[tokio::test]
async fn a_csv_batch_answers_per_row() {
    let app = spawn(None).await;
    let mut body = format!("{CSV_HEADER}\n");
    body.push_str(&csv_row("csv-1", "OUYANG Xiaoyan", "F"));
    body.push_str(&csv_row("csv-2", "OUYANG Xiaoyan", "?"));
    body.push_str("csv-3,too,few,cells\n");
    body.push_str(&csv_row("", "OUYANG Xiaoyan", "F"));
    let (status, answer) = app.batch("health-certificates", "text/csv; charset=utf-8", body.clone()).await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(outcomes(&answer), ["issued", "refused", "refused", "refused"], "{answer:#}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[1]["error"], "invalid_fields");
    assert_eq!(results[1]["details"][0]["field"], "sex");
    assert_eq!(results[2]["error"], "invalid_json");
    assert_eq!(results[2]["idempotencyKey"], "csv-3");
    assert_eq!(results[3]["error"], "idempotency_key_missing");
    let id = results[0]["id"].as_str().unwrap();
    let stored: Value =
        serde_json::from_str(&app.store.credential(id).await.unwrap().unwrap().credential_json).unwrap();
    assert_eq!(stored["credentialSubject"]["examinationResult"], "qualified");

    let (_, again) = app.batch("health-certificates", "text/csv", body).await;
    assert_eq!(outcomes(&again), ["replayed", "refused", "refused", "refused"]);

    // A CSV without a header is the batch's fault: 400 in the one error shape.
    let (status, err) = app.batch("health-certificates", "text/csv", "").await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_batch")));
}

#[tokio::test]
async fn caps_content_type_and_access() {
    let app = spawn(None).await;
    let rows: String = (0..1001).map(|i| ndjson_line(person(i), &format!("cap-{i}"))).collect();
    let before = app.log_size().await;
    let (status, body) = app.batch("health-certificates", "application/x-ndjson", rows).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("too_many_rows")), "{body:#}");
    assert!(body["message"]["en"].as_str().unwrap().contains("1000"));
    let huge = format!("{}\n", "x".repeat(5 * 1024 * 1024));
    let (status, body) = app.batch("health-certificates", "application/x-ndjson", huge).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("payload_too_large")));
    assert_eq!(app.log_size().await, before);

    let (status, body) = app.batch("health-certificates", "application/json", "{}").await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_media_type")));
    let (status, _) = app.batch("no-such-type", "application/x-ndjson", "{}").await;
    assert_eq!(status, 404);

    let url = format!("{}/api/v1/health-certificates/batch", app.base);
    let line = ndjson_line(person(1), "acc-1");
    let resp =
        app.http.post(&url).header("content-type", "application/x-ndjson").body(line.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let (_, status_token) = create_scoped_api_token(&app.store, "status-only", TokenScope::Status).await.unwrap();
    let resp = app
        .http
        .post(&url)
        .bearer_auth(status_token)
        .header("content-type", "application/x-ndjson")
        .body(line)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
}

fn args(app: &App, file: &std::path::Path, chunk: usize) -> BulkArgs {
    BulkArgs {
        file: file.to_path_buf(),
        url: app.base.clone(),
        token: app.token.clone(),
        type_path: "health-certificates".into(),
        format: None,
        chunk,
        results: None,
    }
}

#[tokio::test]
async fn the_cli_uploads_in_chunks_and_a_resent_interrupted_upload_issues_no_duplicates() {
    cli_scenario(&spawn(None).await).await;
}

#[tokio::test]
async fn the_cli_runs_against_an_issuer_on_postgresql() {
    let Some(database) = FreshDatabase::create("bulk_cli").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    cli_scenario(&app).await;
    drop(app);
    database.drop_now().await;
}

async fn cli_scenario(app: &App) {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..25).map(|i| ndjson_line(person(i), &format!("cli-{i}"))).collect();
    // "Interrupted" after the first 10 rows: only they reached the issuer.
    let first_part = dir.path().join("first.ndjson");
    std::fs::write(&first_part, lines[..10].concat()).unwrap();
    let before = app.log_size().await;
    let summary = bulk_issue(&args(app, &first_part, 4)).await.unwrap();
    assert_eq!((summary.rows, summary.issued, summary.replayed, summary.refused), (10, 10, 0, 0));

    let mut all = lines.concat();
    let mut bad = person(99);
    bad["sex"] = json!("?");
    all.push_str(&ndjson_line(bad, "cli-bad"));
    let whole = dir.path().join("day.ndjson");
    std::fs::write(&whole, &all).unwrap();
    let results = dir.path().join("results.ndjson");
    let summary = bulk_issue(&BulkArgs { results: Some(results.clone()), ..args(app, &whole, 7) }).await.unwrap();
    assert_eq!((summary.rows, summary.issued, summary.replayed, summary.refused), (26, 15, 10, 1));
    assert!(summary.rate() > 0.0);
    assert_eq!(app.log_size().await, before + 25, "25 credentials, each logged once");
    assert_eq!(app.store.count_credentials(None).await.unwrap(), 25);
    let answers: Vec<Value> =
        std::fs::read_to_string(&results).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(answers.len(), 26);
    assert_eq!((answers[25]["row"].as_u64(), answers[25]["error"].as_str()), (Some(26), Some("invalid_fields")));

    // CSV through the CLI, with the header repeated in every chunk.
    let csv = dir.path().join("day.csv");
    let mut text = format!("{CSV_HEADER}\n");
    for i in 0..5 {
        text.push_str(&csv_row(&format!("csv-cli-{i}"), "OUYANG Xiaoyan", "M"));
    }
    std::fs::write(&csv, text).unwrap();
    let summary = bulk_issue(&args(app, &csv, 2)).await.unwrap();
    assert_eq!((summary.rows, summary.issued, summary.refused), (5, 5, 0));

    // The binary itself: exit status 2 when rows are refused, a summary on stdout.
    // (Off the test's runtime: the server's PostgreSQL connections run on it.)
    let (base, token) = (app.base.clone(), app.token.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_issuer"))
            .args(["bulk-issue", "--url", &base, "--token", &token, "--type", "health-certificates", "--chunk", "10"])
            .arg(&whole)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("26 rows: 0 issued, 25 replayed, 1 refused"), "{stdout}");
    assert!(stderr.contains("chunk 3/3: 26/26 rows"), "{stderr}");
    assert!(stderr.contains("row 26 (key cli-bad): invalid_fields"), "{stderr}");
}

/// An issuer with one CPU worker and a queue of one: rows of a batch are
/// refused `busy` (503) on their own; the CLI sends them again, and running
/// it until nothing is refused issues every row exactly once.
#[tokio::test]
async fn rows_refused_busy_are_sent_again_and_issued_once() {
    let app = spawn_with(None, |s| {
        s.cpu_workers = Some(1);
        s.cpu_queue = 1;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("busy.ndjson");
    std::fs::write(&file, (0..12).map(|i| ndjson_line(person(i), &format!("busy-{i}"))).collect::<String>()).unwrap();
    let before = app.log_size().await;
    let results = dir.path().join("results.ndjson");
    let mut issued = 0;
    for _ in 0..20 {
        let summary = bulk_issue(&BulkArgs { results: Some(results.clone()), ..args(&app, &file, 12) }).await.unwrap();
        assert_eq!(summary.rows, 12);
        issued += summary.issued;
        for line in std::fs::read_to_string(&results).unwrap().lines() {
            let answer: Value = serde_json::from_str(line).unwrap();
            if answer["outcome"] == "refused" {
                assert_eq!(answer["status"], 503, "{answer}");
            }
        }
        if summary.refused == 0 {
            break;
        }
    }
    assert_eq!(issued, 12);
    assert_eq!(app.log_size().await, before + 12);
    assert_eq!(app.store.count_credentials(None).await.unwrap(), 12);
}
