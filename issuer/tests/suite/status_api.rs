//! Revocation and suspension over HTTP, on a real server (127.0.0.1:0) with a real
//! SQLite store; and the `issuer status` CLI against the same data directory.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::support::requests::health_request;
use wallet_core::status::{check_status, Bitstring, StatusListCache, StatusPolicy};
use wallet_core::verification::{verify_credential, VerifyOptions};

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
    data: tempfile::TempDir,
}

async fn spawn() -> App {
    spawn_with(|_| {}).await
}

async fn spawn_with(configure: impl FnOnce(&mut issuer::config::Settings)) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    configure(&mut settings);
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, did, http, data }
}

/// One status entry of an issued credential.
#[derive(Debug, Clone)]
struct Entry {
    url: String,
    index: usize,
}

struct IssuedVc {
    uuid: String,
    vc: Value,
    revocation: Entry,
    suspension: Entry,
}

fn entry(vc: &Value, purpose: &str) -> Entry {
    let entries = vc["credentialStatus"].as_array().expect("credentialStatus array");
    let e = entries.iter().find(|e| e["statusPurpose"] == purpose).expect("entry for purpose");
    let index = e["statusListIndex"].as_str().expect("statusListIndex is a string");
    Entry { url: e["statusListCredential"].as_str().unwrap().to_owned(), index: index.parse().unwrap() }
}

impl App {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn issue(&self) -> IssuedVc {
        let (status, body) = self.post("/api/v1/health-certificates", &health_request()).await;
        assert_eq!(status, 201, "{body:#}");
        let vc = body["credential"].clone();
        let uuid = body["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
        IssuedVc { uuid, revocation: entry(&vc, "revocation"), suspension: entry(&vc, "suspension"), vc }
    }

    async fn set_status(&self, uuid: &str, action: &str, reason: &str) -> (u16, Value) {
        self.post(&format!("/credentials/{uuid}/status"), &json!({"action": action, "reason": reason, "by": "tester"}))
            .await
    }

    /// The published list credential at `url` (which must be on this server).
    async fn list(&self, url: &str) -> (Value, String) {
        assert!(url.starts_with(&self.base), "{url} is served here");
        let resp = self.http.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
        let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
        (resp.json().await.unwrap(), etag)
    }

    async fn bit(&self, e: &Entry) -> bool {
        let (list, _) = self.list(&e.url).await;
        let bits = Bitstring::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
        bits.get(e.index).expect("index within the list")
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn issued_credentials_carry_revocation_and_suspension_entries() {
    let app = spawn().await;
    let issued = app.issue().await;
    let entries = issued.vc["credentialStatus"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for (e, purpose) in entries.iter().zip(["revocation", "suspension"]) {
        assert_eq!(e["type"], "BitstringStatusListEntry");
        assert_eq!(e["statusPurpose"], purpose);
        let index = e["statusListIndex"].as_str().expect("index as a string");
        assert!(index.parse::<u64>().unwrap() < 131_072);
        let url = e["statusListCredential"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/status/", app.base)), "{url}");
        assert_eq!(e["id"], format!("{url}#{index}"));
    }
    assert_ne!(issued.revocation.url, issued.suspension.url, "one list per purpose");
    // The entries are part of what was signed.
    let report = verify_credential(&issued.vc, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
    let mut tampered = issued.vc.clone();
    tampered["credentialStatus"][0]["statusListIndex"] = json!("1");
    let report = verify_credential(&tampered, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_invalid());

    let (status, body) = app
        .post(
            "/api/v1/licences",
            &json!({
                "licenceNumber": "JY14401030012345", "licensee": "广州市越秀区好味道餐饮店",
                "unifiedSocialCreditCode": "91350100M000100Y43", "legalRepresentative": "李四",
                "businessAddress": "广州市越秀区中山五路100号", "businessScope": ["热食类食品制售"],
                "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-12-31T23:59:59Z"
            }),
        )
        .await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["credential"]["credentialStatus"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn indexes_are_distinct_and_not_in_issuance_order() {
    let app = spawn().await;
    let mut revocation = Vec::new();
    let mut suspension = Vec::new();
    for _ in 0..200 {
        let issued = app.issue().await;
        revocation.push(issued.revocation.index);
        suspension.push(issued.suspension.index);
    }
    for indexes in [&revocation, &suspension] {
        let mut sorted = indexes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 200, "no index is handed out twice");
        assert_ne!(&sorted, indexes, "indexes must not follow issuance order");
        // Spread over the list, not clustered at its start (P(max < 65536) = 2^-200).
        assert!(*sorted.last().unwrap() >= 65_536);
        let ascending_steps = indexes.windows(2).filter(|w| w[0] < w[1]).count();
        assert!((50..150).contains(&ascending_steps), "{ascending_steps} of 199 steps go up");
    }
}

#[tokio::test]
async fn revocation_flips_the_published_bit_of_a_signed_list() {
    let app = spawn().await;
    let issued = app.issue().await;
    let other = app.issue().await;
    let (list, etag) = app.list(&issued.revocation.url).await;
    assert_eq!(list["type"], json!(["VerifiableCredential", "BitstringStatusListCredential"]));
    assert_eq!(list["id"], issued.revocation.url.as_str());
    assert_eq!(list["issuer"], app.did.as_str());
    assert_eq!(list["credentialSubject"]["type"], "BitstringStatusList");
    assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
    assert_eq!(time(&list["validUntil"]) - time(&list["validFrom"]), Duration::days(7));
    let bits = Bitstring::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    assert!(bits.len() >= 131_072);
    assert_eq!(bits.count_set(), 0);
    let report = verify_credential(&list, &VerifyOptions::default()).await.unwrap();
    assert!(report.verified, "{report:#?}");
    assert!(report.checks.signature.is_valid());

    // What a verifier does with it.
    let now = Utc::now();
    let mut cache = StatusListCache::new();
    cache.offer(&issued.revocation.url, &list, now, now).await.unwrap();
    let (suspension_list, _) = app.list(&issued.suspension.url).await;
    cache.offer(&issued.suspension.url, &suspension_list, now, now).await.unwrap();
    let (result, _) = check_status(&issued.vc, &cache, &StatusPolicy::default(), now);
    assert!(result.is_valid(), "{result:?}");

    let (status, body) = app.set_status(&issued.uuid, "revoke", "licence withdrawn").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        (body["status"].as_str(), body["previousStatus"].as_str(), &body["changed"]),
        (Some("revoked"), Some("active"), &json!(true))
    );
    assert_eq!(body["credentialId"], format!("urn:uuid:{}", issued.uuid));

    let (list, new_etag) = app.list(&issued.revocation.url).await;
    assert_ne!(etag, new_etag);
    let bits = Bitstring::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    assert_eq!(bits.get(issued.revocation.index), Some(true));
    assert_eq!(bits.count_set(), 1, "only that credential's bit");
    assert_eq!(bits.get(other.revocation.index), Some(false));
    assert!(verify_credential(&list, &VerifyOptions::default()).await.unwrap().verified);

    let now = Utc::now();
    cache.offer(&issued.revocation.url, &list, now, now).await.unwrap();
    let (result, _) = check_status(&issued.vc, &cache, &StatusPolicy::default(), now);
    assert_eq!(result.invalid_code(), Some("revoked"), "{result:?}");
    let (result, _) = check_status(&other.vc, &cache, &StatusPolicy::default(), now);
    assert!(result.is_valid(), "{result:?}");
}

#[tokio::test]
async fn etag_revalidation_answers_304_until_the_list_changes() {
    let app = spawn().await;
    let issued = app.issue().await;
    let url = &issued.suspension.url;
    let (_, etag) = app.list(url).await;
    let (_, again) = app.list(url).await;
    assert_eq!(etag, again, "unchanged lists are served from the cache");
    let resp = app.http.get(url).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
    assert!(resp.bytes().await.unwrap().is_empty());

    app.set_status(&issued.uuid, "suspend", "inquiry").await;
    let resp = app.http.get(url).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(resp.status(), 200, "a change makes a new list");
    assert_ne!(resp.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn suspension_sets_and_reinstatement_clears_the_suspension_bit() {
    let app = spawn().await;
    let issued = app.issue().await;
    let (status, body) = app.set_status(&issued.uuid, "suspend", "under investigation").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("suspended")), "{body:#}");
    assert!(app.bit(&issued.suspension).await);
    assert!(!app.bit(&issued.revocation).await, "suspended is not revoked");
    let (_, shown) = app.get_json(&format!("/credentials/{}/status", issued.uuid)).await;
    assert_eq!(shown["status"], "suspended");

    let (status, body) = app.set_status(&issued.uuid, "suspend", "again").await;
    assert_eq!((status, &body["changed"]), (200, &json!(false)), "idempotent");

    let (status, body) = app.set_status(&issued.uuid, "reinstate", "cleared").await;
    assert_eq!(
        (status, body["status"].as_str(), body["previousStatus"].as_str()),
        (200, Some("active"), Some("suspended"))
    );
    assert!(!app.bit(&issued.suspension).await);
    assert!(!app.bit(&issued.revocation).await);
}

#[tokio::test]
async fn revocation_is_final_and_idempotent() {
    let app = spawn().await;
    let issued = app.issue().await;
    let (status, first) = app.set_status(&issued.uuid, "revoke", "fraud").await;
    assert_eq!((status, &first["changed"]), (200, &json!(true)));
    let (status, second) = app.set_status(&issued.uuid, "revoke", "fraud (retry)").await;
    assert_eq!((status, second["status"].as_str(), &second["changed"]), (200, Some("revoked"), &json!(false)));

    for action in ["reinstate", "suspend"] {
        let (status, body) = app.set_status(&issued.uuid, action, "undo").await;
        assert_eq!((status, body["error"].as_str()), (409, Some("already_revoked")), "{action}: {body:#}");
        assert!(body["message"]["zh"].as_str().unwrap().contains("吊销"));
        assert!(body["message"]["en"].as_str().unwrap().contains("revoked"));
    }
    assert!(app.bit(&issued.revocation).await, "still revoked");
    assert!(!app.bit(&issued.suspension).await);
    let (_, shown) = app.get_json(&format!("/credentials/{}/status", issued.uuid)).await;
    assert_eq!(shown["status"], "revoked");
}

#[tokio::test]
async fn every_change_is_audited() {
    let app = spawn().await;
    let issued = app.issue().await;
    app.set_status(&issued.uuid, "suspend", "card reported lost").await;
    app.set_status(&issued.uuid, "suspend", "duplicate request").await;
    app.set_status(&issued.uuid, "reinstate", "card found").await;
    app.set_status(&issued.uuid, "revoke", "holder deceased").await;
    app.set_status(&issued.uuid, "reinstate", "mistake?").await;
    let (status, shown) = app.get_json(&format!("/credentials/{}/status", issued.uuid)).await;
    assert_eq!(status, 200, "{shown:#}");
    let events = shown["events"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["previousState"].as_str().unwrap(),
                e["newState"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
                // The actor is the token the request was checked with, not the body's
                // `"by": "tester"` (anybody with a token could have named anyone).
                match e["actor"].as_str().unwrap() {
                    a if a.starts_with("token:") && a.ends_with(" (test)") => "token (test)",
                    other => other,
                },
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("suspend", "active", "suspended", "card reported lost", "token (test)"),
            ("reinstate", "suspended", "active", "card found", "token (test)"),
            ("revoke", "active", "revoked", "holder deceased", "token (test)"),
        ],
        "changes only: no-ops and refusals write nothing"
    );
    for e in events {
        assert!((Utc::now() - time(&e["occurredAt"])).num_seconds() < 60);
    }
    let entries = shown["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["statusListCredential"], issued.revocation.url.as_str());
    assert_eq!(entries[0]["statusListIndex"], issued.revocation.index.to_string());
    assert_eq!(entries[0]["set"], true);
}

#[tokio::test]
async fn bad_requests_and_unknown_things() {
    let app = spawn().await;
    let issued = app.issue().await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    let (status, body) = app.set_status(unknown, "revoke", "r").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _) = app.set_status("not-a-uuid", "revoke", "r").await;
    assert_eq!(status, 404);
    let (status, _) = app.get_json(&format!("/credentials/{unknown}/status")).await;
    assert_eq!(status, 404);

    let (status, body) = app.set_status(&issued.uuid, "delete", "r").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_action")));
    assert!(body["message"]["zh"].is_string() && body["message"]["en"].is_string());
    let (status, body) = app.post(&format!("/credentials/{}/status", issued.uuid), &json!({"reason": "r"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_action")));
    let (status, body) = app.post(&format!("/credentials/{}/status", issued.uuid), &json!({"action": "revoke"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("reason_required")));
    let (status, body) = app.set_status(&issued.uuid, "revoke", &"x".repeat(1001)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("reason_too_long")));
    // Review 4: a reason that forges a line in an operator's `status history`
    // (carriage return, escape sequence) is refused; one over lines is not.
    for forged in ["typo\r\n  #99 revoke active -> revoked by admin: fraud", "x\u{1b}]52;c;ZXZpbA==\u{7}", "a\u{202E}b"]
    {
        let (status, body) = app.set_status(&issued.uuid, "suspend", forged).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("reason_too_long")), "{forged:?}");
    }
    let resp = app
        .http
        .post(format!("{}/credentials/{}/status", app.base, issued.uuid))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(!app.bit(&issued.revocation).await, "nothing was revoked by bad requests");

    for path in ["/status/999", "/status/0", "/status/abc", "/status/01"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{path}");
    }
}

#[tokio::test]
async fn full_lists_roll_over_to_new_ones() {
    let app = spawn_with(|s| s.status_list_max_allocations = 2).await;
    let a = app.issue().await;
    let b = app.issue().await;
    let c = app.issue().await;
    let id = |e: &Entry| e.url.rsplit('/').next().unwrap().to_owned();
    assert_eq!((id(&a.revocation), id(&a.suspension)), ("1".into(), "2".into()));
    assert_eq!((id(&b.revocation), id(&b.suspension)), ("1".into(), "2".into()));
    assert_eq!((id(&c.revocation), id(&c.suspension)), ("3".into(), "4".into()), "the next lists are started");

    app.set_status(&c.uuid, "revoke", "r").await;
    let (list, _) = app.list(&c.revocation.url).await;
    assert_eq!(list["id"], format!("{}/status/3", app.base));
    let bits = Bitstring::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    assert!(bits.len() >= 131_072, "small allocation limits never shrink the list");
    assert_eq!(bits.iter_set().collect::<Vec<_>>(), [c.revocation.index]);
    assert!(verify_credential(&list, &VerifyOptions::default()).await.unwrap().verified);
    assert!(!app.bit(&a.revocation).await);
}

#[tokio::test]
async fn public_url_names_the_lists() {
    let app = spawn_with(|s| s.public_url = Some("https://issuer.example.gov.cn/ecert/".into())).await;
    let issued = app.issue().await;
    let entries = issued.vc["credentialStatus"].as_array().unwrap();
    assert_eq!(entries[0]["statusListCredential"], "https://issuer.example.gov.cn/ecert/status/1");
    // Served here under its path; its id is the public URL.
    let (status, list) = app.get_json("/status/1").await;
    assert_eq!(status, 200);
    assert_eq!(list["id"], "https://issuer.example.gov.cn/ecert/status/1");
    let now = Utc::now();
    wallet_core::status::verify_status_list("https://issuer.example.gov.cn/ecert/status/1", &list, now).await.unwrap();

    let bad = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(bad.path().to_path_buf());
    settings.public_url = Some("ftp://issuer.example".into());
    assert!(issuer::startup::Application::build(&settings).await.is_err());
}

#[tokio::test]
async fn vc_api_issue_adds_status_entries_and_status_updates_work() {
    let app = spawn().await;
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": id,
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": app.did,
        "credentialSubject": {"id": "did:example:123", "name": "Alice"}
    });
    let (status, body) = app.post("/credentials/issue", &json!({"credential": credential, "options": {}})).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = &body["verifiableCredential"];
    assert_eq!(vc["credentialSubject"], credential["credentialSubject"], "the subject is as sent");
    assert_eq!(vc["id"], id.as_str());
    let revocation = entry(vc, "revocation");
    assert!(verify_credential(vc, &VerifyOptions::default()).await.unwrap().checks.signature.is_valid());

    // Attack review: a revocation followed by a bad item was applied, and the
    // client told 400; every item is now read first, and at most 4 are taken.
    let items = |statuses: &[&str]| {
        let items: Vec<Value> =
            statuses.iter().map(|s| json!({"type": "BitstringStatusListCredential", "status": s})).collect();
        json!({"credentialId": id, "credentialStatus": items})
    };
    let (status, body) = app.post("/credentials/status", &items(&["revoked", "bogus"])).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_action")), "{body:#}");
    assert!(!app.bit(&revocation).await, "nothing applied");
    let (status, body) = app.post("/credentials/status", &items(&["revoked"; 5])).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("too_many_status_items")), "{body:#}");
    assert!(!app.bit(&revocation).await, "nothing applied");

    let update = |status: &str| json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListCredential", "status": status}]});
    let (status, body) = app.post("/credentials/status", &update("revoked")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("revoked")), "{body:#}");
    assert!(app.bit(&revocation).await);
    let (status, body) = app.post("/credentials/status", &update("active")).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("already_revoked")));
    let (status, body) = app.post("/credentials/status", &update("deleted")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_action")));

    // A credential that brings its own credentialStatus is signed as it is.
    let mut own = credential.clone();
    own["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    own["credentialStatus"] = json!({
        "id": "https://example.com/status/7#42", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "42", "statusListCredential": "https://example.com/status/7"
    });
    let (status, body) = app.post("/credentials/issue", &json!({"credential": own})).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["verifiableCredential"]["credentialStatus"], own["credentialStatus"]);
    let (status, body) = app
        .post(
            &format!("/credentials/{}/status", own["id"].as_str().unwrap().trim_start_matches("urn:uuid:")),
            &json!({"action": "revoke", "reason": "r"}),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("no_status_entry")));
}

#[tokio::test]
async fn a_vc_api_credential_sent_without_an_id_gets_the_id_it_is_stored_under() {
    let app = spawn().await;
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": app.did,
        "credentialSubject": {"id": "did:example:123", "name": "Alice"}
    });
    let (status, body) = app.post("/credentials/issue", &json!({"credential": credential})).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = &body["verifiableCredential"];
    let id = vc["id"].as_str().expect("an id is added").to_owned();
    assert!(id.starts_with("urn:uuid:"), "{id}");
    assert!(verify_credential(vc, &VerifyOptions::default()).await.unwrap().checks.signature.is_valid());
    // The id returned is the one the store knows: its status can be changed with it.
    let revocation = entry(vc, "revocation");
    let update = json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}]});
    let (status, body) = app.post("/credentials/status", &update).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("revoked")), "{body:#}");
    assert!(app.bit(&revocation).await);
}

fn cli(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_issuer"))
        .arg("status")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_changes_status_and_the_served_list_follows() {
    let app = spawn().await;
    let issued = app.issue().await;
    // Published (and cached) before the change.
    assert!(!app.bit(&issued.revocation).await);

    let data = app.data.path().to_path_buf();
    let uuid = issued.uuid.clone();
    let out = tokio::task::spawn_blocking(move || {
        cli(&data, &["revoke", "--credential", &uuid, "--reason", "revoked at the counter", "--by", "clerk-7"])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("active -> revoked"));
    // The running server rebuilds the list from committed state.
    assert!(app.bit(&issued.revocation).await);

    let data = app.data.path().to_path_buf();
    let uuid = format!("urn:uuid:{}", issued.uuid);
    let (reinstate, show, unknown) = tokio::task::spawn_blocking(move || {
        (
            cli(&data, &["reinstate", "--credential", &uuid, "--reason", "undo"]),
            cli(&data, &["show", "--credential", &uuid, "--json"]),
            cli(&data, &["revoke", "--credential", "00000000-0000-4000-8000-000000000000", "--reason", "r"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(reinstate.status.code(), Some(3), "refused: already revoked");
    assert!(String::from_utf8_lossy(&reinstate.stderr).contains("already_revoked"));
    assert!(show.status.success());
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["status"], "revoked");
    assert_eq!(shown["events"][0]["actor"], "clerk-7");
    assert_eq!(shown["events"][0]["reason"], "revoked at the counter");
    assert_eq!(unknown.status.code(), Some(4));

    let missing = tempfile::tempdir().unwrap();
    let out = cli(missing.path(), &["show", "--credential", &issued.uuid]);
    assert!(!out.status.success());
    assert!(!missing.path().join("issuer.sqlite3").exists(), "no empty store is created by mistake");
}

/// Attack review part 2 (rollback): verifiers refuse a status list whose `validFrom`
/// is *older* than the one they hold, and `validFrom` has whole seconds. Two lists
/// published within one second (a batch of revocations, fetched in between by
/// someone watching) must not share a `validFrom`: else the earlier one, still
/// validly signed, replaces the later one at a verifier and clears a revocation.
/// Nor may the later one be dated ahead of the clock (the issuer waits for the
/// next second instead).
#[tokio::test]
async fn attack_a_list_published_in_the_same_second_cannot_replay_over_a_newer_one() {
    let app = spawn().await;
    let issued: Vec<IssuedVc> = [app.issue().await, app.issue().await, app.issue().await].into();
    let url = issued[0].revocation.url.clone();
    assert!(issued.iter().all(|i| i.revocation.url == url), "one revocation list");
    let (mut before, _) = app.list(&url).await;
    for (n, victim) in issued.iter().enumerate() {
        let (status, body) = app.set_status(&victim.uuid, "revoke", "batch").await;
        assert_eq!(status, 200, "{body:#}");
        let (after, _) = app.list(&url).await;
        assert!(
            time(&after["validFrom"]) > time(&before["validFrom"]),
            "revocation {n}: a changed list keeps validFrom {}",
            before["validFrom"]
        );
        // ... and is not dated ahead of the clock: three changes in a second would
        // otherwise date the third list two seconds into the future (a burst of
        // minutes, minutes: past the verifiers' allowance, the list is refused).
        assert!(
            time(&after["validFrom"]) <= Utc::now(),
            "revocation {n}: list dated {} at {}",
            after["validFrom"],
            Utc::now()
        );
        // What a verifier does: holds the newer list, is offered the older one.
        let now = Utc::now() + Duration::seconds(10);
        let mut cache = StatusListCache::new();
        cache.offer(&url, &after, now, now).await.unwrap();
        let replay = cache.offer(&url, &before, now, now).await;
        assert!(replay.is_err(), "revocation {n}: the older list replaced the newer one");
        let (result, _) = check_status(&victim.vc, &cache, &StatusPolicy::default(), now);
        assert_eq!(result.invalid_code(), Some("revoked"), "{result:?}");
        before = after;
    }
}
