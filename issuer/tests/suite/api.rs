//! The issuer's HTTP API on a real server (127.0.0.1:0) with a real SQLite store.

use serde_json::{json, Value};

use crate::support::postgres;
use crate::support::requests::health_request;

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

async fn spawn() -> App {
    let data = tempfile::tempdir().unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, did, http, _data: data }
}

fn licence_request() -> Value {
    json!({
        "licenceNumber": "JY14401030012345", "licensee": "广州市越秀区好味道餐饮店",
        "unifiedSocialCreditCode": "91350100M000100Y43", "legalRepresentative": "李四",
        "businessAddress": "广州市越秀区中山五路100号", "businessScope": ["热食类食品制售"],
        "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-12-31T23:59:59Z"
    })
}

impl App {
    async fn post(&self, path: &str, body: &Value, idempotency_key: Option<&str>) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

#[tokio::test]
async fn issues_a_health_certificate_and_serves_it_back() {
    let app = spawn().await;
    let (status, body) = app.post("/api/v1/health-certificates", &health_request(), None).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = &body["credential"];
    assert_eq!(vc["issuer"], app.did.as_str());
    assert_eq!(vc["type"], json!(["VerifiableCredential", "HealthCertificate"]));
    assert_eq!(vc["proof"]["cryptosuite"], "ecdsa-rdfc-2019");
    // The ID number never appears, only its salted digest.
    assert!(!body.to_string().contains("11010519491231002X"));
    assert!(vc["credentialSubject"]["idNumberDigest"].as_str().unwrap().starts_with('u'));

    let resp =
        app.http.get(format!("{}{}", app.base, body["links"]["credential"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let fetched: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(&fetched, vc);

    let resp = app.http.get(format!("{}{}", app.base, body["links"]["qrPng"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let png = resp.bytes().await.unwrap();
    let text = wallet_core::qr::decode_image(&png).unwrap();
    assert_eq!(&wallet_core::compact::decode_credential(&text).unwrap(), vc);
}

#[tokio::test]
async fn issues_a_licence() {
    let app = spawn().await;
    let (status, body) = app.post("/api/v1/licences", &licence_request(), None).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["credential"]["credentialSubject"]["unifiedSocialCreditCode"], "91350100M000100Y43");
}

#[tokio::test]
async fn invalid_fields_are_422_with_bilingual_details() {
    let app = spawn().await;
    let mut req = health_request();
    req["idNumber"] = json!("110105194912310021");
    req["sex"] = json!("?");
    let (status, body) = app.post("/api/v1/health-certificates", &req, None).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "invalid_fields");
    let details = body["details"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    assert_eq!(details[0]["field"], "sex");
    assert_eq!(details[1]["field"], "idNumber");
    assert_eq!(details[1]["code"], "checksum");
    assert!(details[1]["message"]["zh"].as_str().unwrap().contains("身份证"));
    assert!(details[1]["message"]["en"].as_str().unwrap().contains("ID card"));
    // The rejected number is not echoed back.
    assert!(!body.to_string().contains("110105194912310021"));

    let mut bad_licence = licence_request();
    bad_licence["unifiedSocialCreditCode"] = json!("91350100M000100Y42");
    let (status, body) = app.post("/api/v1/licences", &bad_licence, None).await;
    assert_eq!((status, body["details"][0]["code"].as_str()), (422, Some("checksum")));
}

#[tokio::test]
async fn unknown_fields_bad_json_and_wrong_content_type_are_4xx() {
    let app = spawn().await;
    let mut req = health_request();
    req["idNumberPlain"] = json!("x");
    let (status, body) = app.post("/api/v1/health-certificates", &req, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_json")));
    let resp = app
        .http
        .post(format!("{}/api/v1/health-certificates", app.base))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = app
        .http
        .post(format!("{}/api/v1/health-certificates", app.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp =
        app.http.get(format!("{}/credentials/00000000-0000-4000-8000-000000000000", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app.http.get(format!("{}/credentials/not-a-uuid/qr.png", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn idempotency_key_never_issues_twice() {
    let app = spawn().await;
    let (s1, first) = app.post("/api/v1/health-certificates", &health_request(), Some("exam-0001")).await;
    let (s2, second) = app.post("/api/v1/health-certificates", &health_request(), Some("exam-0001")).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second, "a retry returns the same credential");
    // The same key for a different request is refused.
    let mut other = health_request();
    other["fullName"] = json!("王小明");
    let (status, body) = app.post("/api/v1/health-certificates", &other, Some("exam-0001")).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("idempotency_key_reused")));
    // Without a key, each request is a new credential.
    let (_, a) = app.post("/api/v1/health-certificates", &health_request(), None).await;
    let (_, b) = app.post("/api/v1/health-certificates", &health_request(), None).await;
    assert_ne!(a["id"], b["id"]);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_issue_once() {
    let app = spawn().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let http = app.http.clone();
        let url = format!("{}/api/v1/health-certificates", app.base);
        tasks.spawn(async move {
            let resp =
                http.post(url).header("Idempotency-Key", "same-key").json(&health_request()).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        assert_eq!(status, 201, "{body:#}");
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "all retries got the one credential");
}

#[tokio::test]
async fn vc_api_issue_signs_and_refuses_bad_credentials() {
    let app = spawn().await;
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": app.did,
        "credentialSubject": {"id": "did:example:123", "name": "Alice"}
    });
    let (status, body) = app.post("/credentials/issue", &json!({"credential": credential, "options": {}}), None).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = &body["verifiableCredential"];
    assert_eq!(vc["proof"]["cryptosuite"], "ecdsa-rdfc-2019");
    assert_eq!(vc["credentialSubject"], credential["credentialSubject"]);

    let mut wrong_issuer = credential.clone();
    wrong_issuer["issuer"] = json!("did:key:zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP");
    let (status, body) = app.post("/credentials/issue", &json!({"credential": wrong_issuer}), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("issuer_mismatch")));

    let mut no_subject = credential.clone();
    no_subject.as_object_mut().unwrap().remove("credentialSubject");
    let (status, body) = app.post("/credentials/issue", &json!({"credential": no_subject}), None).await;
    assert_eq!(status, 400, "{body:#}");
    assert!(body["message"]["zh"].is_string());

    let (status, _) = app.post("/credentials/issue", &json!({"credential": "nope"}), None).await;
    assert_eq!(status, 400);
}

#[test]
fn the_command_lines_parse() {
    // clap checks its definitions (e.g. duplicate argument ids) when a command is built.
    let issuer = env!("CARGO_BIN_EXE_issuer");
    let pki = env!("CARGO_BIN_EXE_ecert-pki");
    for (bin, args) in
        [(issuer, &["--help"][..]), (issuer, &["serve", "--help"]), (issuer, &["status", "--help"]), (pki, &["--help"])]
    {
        let out = std::process::Command::new(bin).args(args).env("RUST_BACKTRACE", "0").output().unwrap();
        assert!(out.status.success(), "{bin} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The whole service on PostgreSQL (`DATABASE_URL=postgres://…`): issue with an
/// idempotency key, revoke, publish the status list, serve the inclusion proof.
/// Runs when `TEST_DATABASE_URL` names a server (scripts/test starts one); it is
/// required under CI / REQUIRE_POSTGRES=1, as the store suite is.
#[tokio::test]
async fn the_service_runs_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("api").await else { return };
    let url = database.url.clone();

    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.database_url = Some(url);
    let app_handle = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app_handle.port());
    let server = tokio::spawn(app_handle.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    let app = App { base, did: String::new(), http, _data: data };

    let (s1, first) = app.post("/api/v1/health-certificates", &health_request(), Some("pg-0001")).await;
    let (s2, again) = app.post("/api/v1/health-certificates", &health_request(), Some("pg-0001")).await;
    assert_eq!((s1, s2), (201, 201), "{first:#}");
    assert_eq!(first, again);
    let uuid = first["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
    let (status, body) =
        app.post(&format!("/credentials/{uuid}/status"), &json!({"action": "revoke", "reason": "test"}), None).await;
    assert_eq!(status, 200, "{body:#}");
    let list_url = first["credential"]["credentialStatus"][0]["statusListCredential"].as_str().unwrap().to_owned();
    let resp = app.http.get(&list_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.http.get(format!("{}/credentials/{uuid}/inclusion", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    server.abort();
    drop(app);
    database.drop_now().await;
}

// ---- API tokens ----

#[tokio::test]
async fn the_domain_api_and_status_changes_need_a_valid_token() {
    let data = tempfile::tempdir().unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let anonymous = reqwest::Client::new();
    for (path, body) in [
        ("/api/v1/health-certificates", health_request()),
        ("/api/v1/licences", licence_request()),
        ("/credentials/issue", json!({"credential": {}})),
        ("/credentials/status", json!({})),
        ("/credentials/00000000-0000-4000-8000-000000000000/status", json!({"action": "revoke"})),
    ] {
        let resp = anonymous.post(format!("{base}{path}")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized", "{path}");
        assert!(body["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let wrong = anonymous
        .post(format!("{base}/api/v1/health-certificates"))
        .bearer_auth("ect_000000000000_not-a-token")
        .json(&health_request())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // A token works until it is revoked.
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let (id, token) = issuer::domain::accounts::create_api_token(&store, "越秀区医院 HIS").await.unwrap();
    let post = || {
        anonymous.post(format!("{base}/api/v1/health-certificates")).bearer_auth(&token).json(&health_request()).send()
    };
    assert_eq!(post().await.unwrap().status(), 201);
    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].clinic, "越秀区医院 HIS");
    assert!(store.revoke_api_token(&id).await.unwrap());
    assert_eq!(post().await.unwrap().status(), 401);
    // Reading stays public.
    assert_eq!(anonymous.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn open_vc_api_opens_only_the_vc_api_issue_endpoint() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.open_vc_api = true;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let anonymous = reqwest::Client::new();
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": did,
        "credentialSubject": {"id": "did:example:123", "name": "Alice"}
    });
    let resp = anonymous
        .post(format!("{base}/credentials/issue"))
        .json(&json!({"credential": credential}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp =
        anonymous.post(format!("{base}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

/// Issue #13 item 6: an issuer without the department's ID number key makes no
/// ID number digest at all (a keyless one can be brute-forced from birthDate and
/// sex); types without an ID number are issued as before.
#[tokio::test]
async fn without_an_id_number_key_no_credential_with_an_id_number_is_issued() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.id_number_key = None;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    let resp = http.post(format!("{base}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "id_number_key_missing", "{body:#}");
    let resp = http.post(format!("{base}/api/v1/licences")).json(&licence_request()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // The key in the data directory is used when no path is given, and its id is in the digest.
    let key = wallet_core::credential::IdNumberKey::generate();
    std::fs::write(data.path().join(issuer::config::ID_NUMBER_KEY_FILE), key.to_text()).unwrap();
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let resp = http.post(format!("{base}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    let digest = wallet_core::credential::IdNumberDigest::of_credential(&body["credential"]).unwrap();
    assert_eq!(digest.key_id(), Some(key.key_id()));
    let number = wallet_core::credential::IdNumber::parse("11010519491231002X").unwrap();
    assert_eq!(digest.check(&number, &[key]), wallet_core::credential::IdMatch::Matches);

    // A configured key file that is not a key stops the issuer at start.
    std::fs::write(data.path().join("bad.key"), "uAAAA").unwrap();
    settings.id_number_key = Some(data.path().join("bad.key"));
    assert!(issuer::startup::Application::build(&settings).await.is_err());
}

/// `ecert-pki id-number-key`: a new owner-only key file the issuer and verifiers
/// read, its key id printed; an existing file is never overwritten.
#[test]
fn pki_id_number_key_makes_a_private_key_file_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("id-number.key");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecert-pki"))
            .args(["id-number-key", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let key = wallet_core::credential::IdNumberKey::parse(&text).unwrap();
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), key.key_id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!run().status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}
