//! Single-use credentials end to end: a medical invoice (a type whose definition
//! says `singleUse`) is issued with a `used` status entry; two reimbursing offices
//! mark it used at the same moment and exactly one succeeds, the other is told
//! when and where it was used; the holder's view and the published `used` list say
//! so, and a verifier's status check reports `used`. Run on SQLite and, with
//! `TEST_DATABASE_URL` (scripts/test), on PostgreSQL.

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::status::{check_status, verify_status_list, StatusListCache, StatusPolicy};
use wallet_core::verification::CheckResult;

use crate::support::postgres;

struct App {
    base: String,
    http: reqwest::Client,
    store_url: String,
    _data: tempfile::TempDir,
}

impl App {
    async fn spawn(database_url: Option<String>) -> (Self, tokio::task::JoinHandle<std::io::Result<()>>) {
        let data = tempfile::tempdir().unwrap();
        let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
        settings.database_url = database_url;
        let app = issuer::startup::Application::build(&settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
        (Self { base, http, store_url: settings.store_url(), _data: data }, server)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

fn invoice() -> Value {
    json!({
        "invoiceCode": "44010126", "invoiceNumber": "0000123456", "payerName": "欧阳晓燕",
        "payee": "示例市第一人民医院", "visitType": "outpatient", "amountFen": 12345,
        "issueDate": Utc::now().date_naive().format("%Y-%m-%d").to_string()
    })
}

async fn an_invoice_is_used_exactly_once(app: &App) {
    let (status, issued) = app.post("/api/v1/medical-invoices", &invoice()).await;
    assert_eq!(status, 201, "{issued:#}");
    let vc = issued["credential"].clone();
    let purposes: Vec<&str> =
        vc["credentialStatus"].as_array().unwrap().iter().map(|e| e["statusPurpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["revocation", "suspension", "used"]);
    let uuid = vc["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
    let (_, view) = app.get(&format!("/credentials/{uuid}/use")).await;
    assert_eq!((view["singleUse"].as_bool(), view["used"].as_bool()), (Some(true), Some(false)), "{view:#}");

    // Two offices at the same moment.
    let use_path = format!("/api/v1/credentials/{uuid}/use");
    let at_a = json!({"office": "市医保中心第一窗口", "reference": "BX-A-001", "by": "clerk a"});
    let at_b = json!({"office": "某商业保险公司理赔部", "reference": "CL-B-777", "by": "clerk b"});
    let ((status_a, body_a), (status_b, body_b)) = tokio::join!(app.post(&use_path, &at_a), app.post(&use_path, &at_b));
    let mut statuses = [status_a, status_b];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{body_a:#} {body_b:#}");
    let (winner, refused) = if status_a == 200 { (&at_a, &body_b) } else { (&at_b, &body_a) };
    assert_eq!(refused["error"], "already_used");
    assert_eq!(refused["previousUse"]["office"], winner["office"]);
    assert_eq!(refused["previousUse"]["reference"], winner["reference"]);
    assert!(refused["previousUse"]["usedAt"].is_string());
    assert!(refused["message"]["zh"].as_str().unwrap().contains(winner["office"].as_str().unwrap()));
    assert!(refused["message"]["en"].as_str().unwrap().contains("already used"));
    // Later, elsewhere: still refused, naming the same use.
    let (status, again) = app.post(&use_path, &json!({"office": "第三家", "reference": "X"})).await;
    assert_eq!((status, &again["previousUse"]["office"]), (409, &winner["office"]));

    // The holder sees when and where; the issuer's report has the event.
    let (_, view) = app.get(&format!("/credentials/{uuid}/use")).await;
    assert_eq!((view["used"].as_bool(), &view["office"]), (Some(true), &winner["office"]), "{view:#}");
    let (_, report) = app.get(&format!("/credentials/{uuid}/status")).await;
    assert_eq!(report["status"], "used", "{report:#}");
    let events = report["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((&events[0]["action"], &events[0]["place"]), (&json!("use"), &winner["office"]));

    // A verifier reading the published lists: status `used`.
    let mut cache = StatusListCache::new();
    let now = Utc::now();
    for entry in vc["credentialStatus"].as_array().unwrap() {
        let url = entry["statusListCredential"].as_str().unwrap();
        let list: Value = app.http.get(url).send().await.unwrap().json().await.unwrap();
        cache.insert_verified(verify_status_list(url, &list, now).await.unwrap(), now).unwrap();
    }
    match check_status(&vc, &cache, &StatusPolicy::default(), now).0 {
        CheckResult::Invalid { code, .. } => assert_eq!(code, "used"),
        other => panic!("expected `used`, got {other:?}"),
    }

    // Not single-use, bad requests.
    let (status, hc) = app
        .post(
            "/api/v1/health-certificates",
            &json!({
                "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
                "idNumber": "11010519491231002X",
                "examinationDate": Utc::now().date_naive().format("%Y-%m-%d").to_string(),
                "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
            }),
        )
        .await;
    assert_eq!(status, 201, "{hc:#}");
    let hc_uuid = hc["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    let (status, body) = app.post(&format!("/api/v1/credentials/{hc_uuid}/use"), &at_a).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("not_single_use")));
    let (status, body) = app.post(&use_path, &json!({"reference": "r"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_use_request")), "{body:#}");
    let (status, body) = app.post(&use_path, &json!({"office": " ", "reference": "r"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("office_required")));
    let resp = reqwest::Client::new().post(format!("{}{use_path}", app.base)).json(&at_a).send().await.unwrap();
    assert_eq!(resp.status(), 401, "marking used needs an API token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_use_on_sqlite() {
    let (app, server) = App::spawn(None).await;
    an_invoice_is_used_exactly_once(&app).await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_use_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("single_use").await else { return };
    let (app, server) = App::spawn(Some(database.url.clone())).await;
    an_invoice_is_used_exactly_once(&app).await;
    server.abort();
    drop(app);
    database.drop_now().await;
}

/// Attack review part 2 (single use): eight offices, each with its own
/// status-scoped token, redeem the same invoice at once: exactly one succeeds,
/// the seven others are told who did. A token that may only issue (a hospital's
/// HIS) cannot redeem at all (403 `insufficient_scope`), and nothing is recorded.
async fn eight_offices_at_once_and_an_issuing_token(app: &App) {
    use issuer::domain::accounts::{create_scoped_api_token, TokenScope};
    let store = issuer::store::Store::connect(&app.store_url).await.unwrap();
    let (status, issued) = app.post("/api/v1/medical-invoices", &invoice()).await;
    assert_eq!(status, 201, "{issued:#}");
    let uuid = issued["credential"]["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
    let url = format!("{}/api/v1/credentials/{uuid}/use", app.base);

    let (_, his) = create_scoped_api_token(&store, "某医院 HIS", TokenScope::Issue).await.unwrap();
    let resp = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&his)
        .json(&json!({"office": "HIS", "reference": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "insufficient_scope");
    let (_, view) = app.get(&format!("/credentials/{uuid}/use")).await;
    assert_eq!(view["used"].as_bool(), Some(false), "{view:#}");

    let mut attempts = Vec::new();
    for n in 0..8 {
        let (_, token) = create_scoped_api_token(&store, &format!("office {n}"), TokenScope::Status).await.unwrap();
        let url = url.clone();
        attempts.push(tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"office": format!("窗口 {n}"), "reference": format!("R-{n}")}))
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }));
    }
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.unwrap());
    }
    let winners: Vec<&Value> = outcomes.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "{outcomes:#?}");
    let (_, view) = app.get(&format!("/credentials/{uuid}/use")).await;
    for (status, body) in outcomes.iter().filter(|(s, _)| *s != 200) {
        assert_eq!((*status, &body["error"]), (409, &json!("already_used")), "{body:#}");
        assert_eq!(body["previousUse"]["office"], view["office"]);
    }
    let (_, report) = app.get(&format!("/credentials/{uuid}/status")).await;
    assert_eq!(report["events"].as_array().unwrap().len(), 1, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_eight_concurrent_redemptions_on_sqlite() {
    let (app, server) = App::spawn(None).await;
    eight_offices_at_once_and_an_issuing_token(&app).await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_eight_concurrent_redemptions_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("single_use_race").await else { return };
    let (app, server) = App::spawn(Some(database.url.clone())).await;
    eight_offices_at_once_and_an_issuing_token(&app).await;
    server.abort();
    drop(app);
    database.drop_now().await;
}
