//! Staff accounts a security reviewer accepts (issue #13 item 7), over HTTP:
//! server-side sessions (logout, lock-out, removal and a password change end
//! them; idle ones expire), roles and token scopes declared with each route
//! (403 `insufficient_role` / `insufficient_scope`), the account audit trail,
//! the password page and the old accounts' migration.
//!
//! Each HTTP test runs on SQLite and, when `TEST_DATABASE_URL` is set
//! (`scripts/with-postgres.sh`), again on a fresh PostgreSQL database.

use std::collections::HashMap;

use issuer::domain::accounts::{Role, TokenScope};
use issuer::store::{AccountEvent, SessionLimits, Store};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::support::postgres::FreshDatabase;
use crate::support::requests::health_request;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct App {
    base: String,
    http: reqwest::Client,
    store: Store,
    db: Option<FreshDatabase>,
    _data: tempfile::TempDir,
}

/// Browser-like cookies of one client.
#[derive(Default, Clone)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
    fn take(&mut self, resp: &reqwest::Response) {
        for value in resp.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_owned(), v.to_owned());
            }
        }
    }
}

/// An issuer on `backend` with a clerk, a supervisor and an admin; `None` when
/// PostgreSQL is asked for and not available.
async fn spawn(backend: Backend, tweak: impl FnOnce(&mut issuer::config::Settings)) -> Option<App> {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(FreshDatabase::create("accounts").await?),
    };
    settings.database_url = db.as_ref().map(|d| d.url.clone());
    tweak(&mut settings);
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let store = Store::connect(&settings.store_url()).await.unwrap();
    let hash = issuer::domain::accounts::hash_password(PASSWORD).unwrap();
    store.create_staff("clerk.zhao", "赵办事员", &hash, Role::Clerk).await.unwrap();
    store.create_staff("dr.li", "李医生", &hash, Role::Supervisor).await.unwrap();
    store.create_staff("admin.sun", "孙管理员", &hash, Role::Admin).await.unwrap();
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    Some(App { base, http, store, db, _data: data })
}

/// Runs `test` on SQLite, then on PostgreSQL when available.
async fn on_both_stores<F, Fut>(tweak: fn(&mut issuer::config::Settings), test: F)
where
    F: Fn(App) -> Fut,
    Fut: std::future::Future<Output = Option<FreshDatabase>>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn(backend, tweak).await else { continue };
        eprintln!("on {backend:?}");
        if let Some(db) = test(app).await {
            db.drop_now().await;
        }
    }
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + 43].to_owned()
}

impl App {
    async fn get(&self, jar: &mut Jar, path: &str) -> (u16, String, Option<String>) {
        let resp = self.http.get(format!("{}{path}", self.base)).header(COOKIE, jar.header()).send().await.unwrap();
        jar.take(&resp);
        let location = resp.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
        (resp.status().as_u16(), resp.text().await.unwrap(), location)
    }

    async fn post(&self, jar: &mut Jar, path: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, jar.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        jar.take(&resp);
        let location = resp.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
        (resp.status().as_u16(), resp.text().await.unwrap(), location)
    }

    async fn csrf(&self) -> (Jar, String) {
        let mut jar = Jar::default();
        let (_, html, _) = self.get(&mut jar, "/login").await;
        let csrf = csrf_of(&html);
        (jar, csrf)
    }

    /// Signs in as `user`; returns the client's cookies and CSRF token.
    async fn sign_in(&self, user: &str, password: &str) -> (Jar, String) {
        let (mut jar, csrf) = self.csrf().await;
        let (status, _, location) =
            self.post(&mut jar, "/login", &[("csrf", &csrf), ("username", user), ("password", password)]).await;
        assert_eq!((status, location.as_deref()), (303, Some("/certificates")), "{user} signs in");
        assert_eq!(jar.0["ecert_session"].len(), 43, "a 256-bit id, base64url");
        (jar, csrf)
    }

    /// Whether the client's session still opens a staff page.
    async fn signed_in(&self, jar: &Jar) -> bool {
        let mut jar = jar.clone();
        match self.get(&mut jar, "/certificates").await {
            (200, _, _) => true,
            (303, _, Some(location)) if location.starts_with("/login") => false,
            other => panic!("unexpected answer {other:?}"),
        }
    }

    async fn events(&self) -> Vec<AccountEvent> {
        self.store.account_events(100).await.unwrap()
    }

    /// A credential issued with an `all` token; its UUID.
    async fn issue(&self) -> String {
        let (_, token) = issuer::domain::accounts::create_api_token(&self.store, "setup").await.unwrap();
        let resp = self
            .http
            .post(format!("{}/api/v1/health-certificates", self.base))
            .bearer_auth(token)
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        body["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned()
    }
}

fn no_tweak(_: &mut issuer::config::Settings) {}

#[tokio::test]
async fn after_logout_the_old_cookie_is_refused() {
    on_both_stores(no_tweak, |app| async move {
        let (mut jar, csrf) = app.sign_in("dr.li", PASSWORD).await;
        let copy = jar.clone();
        assert!(app.signed_in(&copy).await);
        let (status, _, location) = app.post(&mut jar, "/logout", &[("csrf", &csrf)]).await;
        assert_eq!((status, location.as_deref()), (303, Some("/login")));
        // The browser dropped the cookie; a copy kept elsewhere no longer works either.
        assert!(!jar.0.contains_key("ecert_session"));
        assert!(!app.signed_in(&copy).await, "the session ended in the store");
        let mut copy = copy;
        let (status, _, location) = app.get(&mut copy, "/certificates/new").await;
        assert_eq!(status, 303);
        assert!(location.unwrap().starts_with("/login?next="));
        // The stored value is a hash, never the cookie.
        let events = app.events().await;
        let cookie = &copy.0["ecert_session"];
        assert!(events.iter().all(|e| !e.detail.contains(cookie.as_str())));
        app.db
    })
    .await;
}

#[tokio::test]
async fn lock_out_removal_and_a_password_change_end_open_sessions_in_another_client() {
    on_both_stores(no_tweak, |app| async move {
        // Lock-out: five wrong passwords from another client.
        let (open, _) = app.sign_in("clerk.zhao", PASSWORD).await;
        assert!(app.signed_in(&open).await);
        let (mut other, csrf) = app.csrf().await;
        for _ in 0..5 {
            app.post(&mut other, "/login", &[("csrf", &csrf), ("username", "clerk.zhao"), ("password", "nope")]).await;
        }
        assert!(!app.signed_in(&open).await, "lock-out ends the open session");
        // Unlocking does not bring the old session back (it was deleted, not just refused).
        assert!(app.store.unlock_staff("clerk.zhao").await.unwrap());
        assert!(!app.signed_in(&open).await, "the session row is gone");

        // Removal of the account.
        let (open, _) = app.sign_in("clerk.zhao", PASSWORD).await;
        assert!(app.signed_in(&open).await);
        assert!(app.store.remove_staff("clerk.zhao").await.unwrap());
        assert!(!app.signed_in(&open).await, "removal ends the open session");

        // A password change on the page, from a second client.
        let (first, _) = app.sign_in("dr.li", PASSWORD).await;
        let (mut second, csrf) = app.sign_in("dr.li", PASSWORD).await;
        let (status, html, _) = app.get(&mut second, "/account/password").await;
        assert_eq!(status, 200);
        assert!(html.contains("action=\"/account/password\"") && html.contains("修改密码"));
        let new = "a brand new passphrase";
        let (status, html, _) = app
            .post(
                &mut second,
                "/account/password",
                &[("csrf", &csrf), ("current", PASSWORD), ("new", new), ("repeat", new)],
            )
            .await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"password-changed\""));
        assert!(!app.signed_in(&first).await, "the other client's session ended");
        assert!(app.signed_in(&second).await, "this client got a fresh session");
        // The old password no longer signs in, the new one does.
        let (mut jar, csrf) = app.csrf().await;
        let (status, _, _) =
            app.post(&mut jar, "/login", &[("csrf", &csrf), ("username", "dr.li"), ("password", PASSWORD)]).await;
        assert_eq!(status, 401);
        app.sign_in("dr.li", new).await;
        app.db
    })
    .await;
}

#[tokio::test]
async fn the_password_page_checks_csrf_the_current_password_and_the_new_one() {
    on_both_stores(no_tweak, |app| async move {
        let (mut jar, csrf) = app.sign_in("dr.li", PASSWORD).await;
        let good = "another long passphrase";
        let cases: [(&[(&str, &str)], u16); 5] = [
            (&[("current", PASSWORD), ("new", good), ("repeat", good)], 403), // no CSRF token
            (&[("csrf", &csrf), ("current", "wrong password"), ("new", good), ("repeat", good)], 403),
            (&[("csrf", &csrf), ("current", PASSWORD), ("new", "short"), ("repeat", "short")], 422),
            (&[("csrf", &csrf), ("current", PASSWORD), ("new", good), ("repeat", "something else")], 422),
            (&[("csrf", &csrf), ("current", PASSWORD), ("new", PASSWORD), ("repeat", PASSWORD)], 422),
        ];
        for (form, want) in cases {
            let (status, html, _) = app.post(&mut jar, "/account/password", form).await;
            assert_eq!(status, want, "{form:?}: {html}");
        }
        assert!(app.signed_in(&jar).await, "refused changes end nothing");
        app.sign_in("dr.li", PASSWORD).await;
        // Without a session the page sends to the sign-in.
        let (status, _, location) = app.get(&mut Jar::default(), "/account/password").await;
        assert_eq!(status, 303);
        assert!(location.unwrap().starts_with("/login"));
        app.db
    })
    .await;
}

fn short_idle(settings: &mut issuer::config::Settings) {
    settings.session_idle_secs = 1;
}

#[tokio::test]
async fn an_idle_session_expires() {
    on_both_stores(short_idle, |app| async move {
        let (jar, _) = app.sign_in("dr.li", PASSWORD).await;
        assert!(app.signed_in(&jar).await, "fresh");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert!(!app.signed_in(&jar).await, "idle for more than 1 s");
        app.db
    })
    .await;
}

#[tokio::test]
async fn a_clerk_issues_but_cannot_change_status_and_a_supervisor_can() {
    on_both_stores(no_tweak, |app| async move {
        let uuid = app.issue().await;
        let (mut clerk, csrf) = app.sign_in("clerk.zhao", PASSWORD).await;
        // A clerk reads and issues.
        assert_eq!(app.get(&mut clerk, &format!("/certificates/{uuid}")).await.0, 200);
        assert_eq!(app.get(&mut clerk, &format!("/credentials/{uuid}")).await.0, 200);
        let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
        let form = [
            ("csrf", csrf.as_str()),
            ("fullName", "欧阳晓燕"),
            ("fullNamePinyin", "OUYANG Xiaoyan"),
            ("sex", "F"),
            ("birthDate", "1991-07-23"),
            ("idNumber", "11010519491231002X"),
            ("examinationDate", &today),
            ("examiningInstitution", "广州市越秀区疾病预防控制中心"),
            ("examinationResult", "qualified"),
        ];
        let (status, html, _) = app.post(&mut clerk, "/certificates/new", &form).await;
        assert_eq!(status, 303, "{html}");
        // …but may not revoke.
        let revoke = [("csrf", csrf.as_str()), ("action", "revoke"), ("reason", "lost")];
        let (status, body, _) = app.post(&mut clerk, &format!("/certificates/{uuid}/status"), &revoke).await;
        assert_eq!(status, 403, "{body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "insufficient_role");
        assert!(error["message"]["zh"].as_str().unwrap().contains("主管"));
        assert!(error["message"]["en"].as_str().unwrap().contains("supervisor"));
        let id = format!("urn:uuid:{uuid}");
        assert!(app.store.status_events(&id).await.unwrap().is_empty(), "nothing changed");
        // A supervisor may.
        let (mut supervisor, csrf) = app.sign_in("dr.li", PASSWORD).await;
        let revoke = [("csrf", csrf.as_str()), ("action", "suspend"), ("reason", "checking")];
        let (status, _, location) = app.post(&mut supervisor, &format!("/certificates/{uuid}/status"), &revoke).await;
        assert_eq!((status, location.unwrap()), (303, format!("/certificates/{uuid}?changed=1")));
        let events = app.store.status_events(&id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor, "dr.li", "the signed-in user, not a form field");
        // A role change takes effect on the next request, without signing in again.
        assert!(app.store.set_staff_role("dr.li", Role::Clerk).await.unwrap());
        let reinstate = [("csrf", csrf.as_str()), ("action", "reinstate"), ("reason", "ok")];
        let (status, _, _) = app.post(&mut supervisor, &format!("/certificates/{uuid}/status"), &reinstate).await;
        assert_eq!(status, 403);
        app.db
    })
    .await;
}

#[tokio::test]
async fn token_scopes_limit_what_a_token_may_do() {
    on_both_stores(no_tweak, |app| async move {
        let uuid = app.issue().await;
        let (_, issue) = issuer::domain::accounts::create_scoped_api_token(&app.store, "HIS", TokenScope::Issue).await.unwrap();
        let (_, status_token) =
            issuer::domain::accounts::create_scoped_api_token(&app.store, "registry", TokenScope::Status).await.unwrap();
        let change = json!({"action": "revoke", "reason": "attack"});
        // An issue-scoped token issues and reads, but cannot change status (either route).
        let resp = app
            .http
            .post(format!("{}/api/v1/health-certificates", app.base))
            .bearer_auth(&issue)
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let resp = app.http.get(format!("{}/credentials/{uuid}", app.base)).bearer_auth(&issue).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        for (path, body) in [
            (format!("/credentials/{uuid}/status"), change.clone()),
            (
                "/credentials/status".to_owned(),
                json!({"credentialId": format!("urn:uuid:{uuid}"), "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}]}),
            ),
        ] {
            let resp =
                app.http.post(format!("{}{path}", app.base)).bearer_auth(&issue).json(&body).send().await.unwrap();
            assert_eq!(resp.status(), 403, "{path}");
            let error: Value = resp.json().await.unwrap();
            assert_eq!(error["error"], "insufficient_scope", "{path}");
            assert!(error["message"]["zh"].as_str().unwrap().contains("status"));
            assert!(error["message"]["en"].as_str().unwrap().contains("scope"));
        }
        assert!(app.store.status_events(&format!("urn:uuid:{uuid}")).await.unwrap().is_empty());
        // A status-scoped token changes status but cannot issue.
        let resp = app
            .http
            .post(format!("{}/credentials/{uuid}/status", app.base))
            .bearer_auth(&status_token)
            .json(&json!({"action": "suspend", "reason": "checking"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let resp = app
            .http
            .post(format!("{}/api/v1/health-certificates", app.base))
            .bearer_auth(&status_token)
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "insufficient_scope");
        // An archive's notarize-scoped token notarises, and does nothing else:
        // it issues nothing and reads no credential. An issue token notarises too.
        let (_, archive) =
            issuer::domain::accounts::create_scoped_api_token(&app.store, "archive", TokenScope::Notarize)
                .await
                .unwrap();
        let digest = format!("{:064x}", 7);
        for token in [&archive, &issue] {
            let resp = app
                .http
                .post(format!("{}/api/v1/notarizations", app.base))
                .bearer_auth(token)
                .json(&json!({"digests": [digest]}))
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        }
        let resp = app
            .http
            .post(format!("{}/api/v1/health-certificates", app.base))
            .bearer_auth(&archive)
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let resp = app.http.get(format!("{}/credentials/{uuid}", app.base)).bearer_auth(&archive).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        // A revoked token is no token at all (401, not 403).
        let tokens = app.store.api_tokens().await.unwrap();
        let registry = tokens.iter().find(|t| t.clinic == "registry").unwrap();
        assert_eq!(registry.scope, TokenScope::Status);
        assert!(app.store.revoke_api_token(&registry.token_id).await.unwrap());
        let resp = app
            .http
            .post(format!("{}/credentials/{uuid}/status", app.base))
            .bearer_auth(&status_token)
            .json(&json!({"action": "reinstate", "reason": "ok"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        app.db
    })
    .await;
}

#[tokio::test]
async fn audit_rows_name_the_authenticated_principal() {
    on_both_stores(no_tweak, |app| async move {
        // A sign-in whose body also claims to be someone else.
        let (mut jar, csrf) = app.csrf().await;
        let (status, _, _) = app
            .post(
                &mut jar,
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", "dr.li"),
                    ("password", PASSWORD),
                    ("actor", "admin.sun"),
                    ("by", "admin.sun"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        app.post(&mut jar, "/logout", &[("csrf", &csrf)]).await;
        // Failed sign-ins: an existing account and an unknown name.
        let (mut other, csrf) = app.csrf().await;
        for _ in 0..5 {
            app.post(&mut other, "/login", &[("csrf", &csrf), ("username", "clerk.zhao"), ("password", "nope")]).await;
        }
        app.post(&mut other, "/login", &[("csrf", &csrf), ("username", "mallory\nadmin"), ("password", "x")]).await;
        let events = app.events().await;
        let find = |action: &str| events.iter().filter(|e| e.action == action).collect::<Vec<_>>();
        let login = find("login");
        assert_eq!(login.len(), 1);
        assert_eq!((login[0].actor.as_str(), login[0].subject.as_str()), ("staff:dr.li", "staff:dr.li"));
        assert!(login[0].detail.starts_with("session "));
        let logout = find("logout");
        assert_eq!((logout.len(), logout[0].actor.as_str()), (1, "staff:dr.li"));
        let failed = find("login_failed");
        assert_eq!(failed.len(), 6);
        assert!(failed.iter().all(|e| e.actor == "anonymous" && e.detail.starts_with("from ")));
        assert_eq!(failed.iter().filter(|e| e.subject == "staff:clerk.zhao").count(), 5);
        assert_eq!(failed.iter().filter(|e| e.subject == "unknown").count(), 1, "a made-up name is not recorded");
        let locked = find("locked");
        assert_eq!(
            (locked.len(), locked[0].actor.as_str(), locked[0].subject.as_str()),
            (1, "system", "staff:clerk.zhao")
        );
        assert!(events.iter().all(|e| !e.actor.contains("admin.sun") && !e.subject.contains("mallory")));
        // A token's status change names the token, not the request's "by".
        let uuid = app.issue().await;
        let (token_id, token) =
            issuer::domain::accounts::create_scoped_api_token(&app.store, "越秀区医院", TokenScope::Status)
                .await
                .unwrap();
        let resp = app
            .http
            .post(format!("{}/credentials/{uuid}/status", app.base))
            .bearer_auth(&token)
            .json(&json!({"action": "suspend", "reason": "checking", "by": "admin.sun"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let status_events = app.store.status_events(&format!("urn:uuid:{uuid}")).await.unwrap();
        assert_eq!(status_events[0].actor, format!("token:{token_id} (越秀区医院)"));
        app.db
    })
    .await;
}

#[tokio::test]
async fn the_cli_manages_staff_and_tokens_and_records_itself_as_actor() {
    use issuer::cli::accounts::{run_staff, run_token, StaffCommand, TokenCommand};
    use issuer::cli::StoreLocation;
    let data = tempfile::tempdir().unwrap();
    let store = || StoreLocation { data_dir: data.path().to_path_buf(), database_url: None };
    let env = "ACCOUNTS_TEST_PASSWORD_FOR_THE_CLI";
    std::env::set_var(env, PASSWORD);
    run_staff(StaffCommand::Add {
        username: "clerk.zhao".into(),
        display_name: None,
        role: Role::Clerk,
        password_env: env.into(),
        store: store(),
    })
    .await
    .unwrap();
    run_staff(StaffCommand::SetRole { username: "clerk.zhao".into(), role: Role::Supervisor, store: store() })
        .await
        .unwrap();
    run_staff(StaffCommand::SetPassword { username: "clerk.zhao".into(), password_env: env.into(), store: store() })
        .await
        .unwrap();
    assert!(run_staff(StaffCommand::SetRole { username: "nobody".into(), role: Role::Admin, store: store() })
        .await
        .is_err());
    run_token(TokenCommand::Create { clinic: "HIS".into(), scope: TokenScope::Issue, store: store() }).await.unwrap();
    let db = Store::connect(data.path().join("issuer.sqlite3").to_str().unwrap()).await.unwrap();
    let token = db.api_tokens().await.unwrap().remove(0);
    assert_eq!(token.scope, TokenScope::Issue);
    run_token(TokenCommand::Revoke { id: token.token_id.clone(), store: store() }).await.unwrap();
    run_staff(StaffCommand::Remove { username: "clerk.zhao".into(), store: store() }).await.unwrap();
    assert!(db.staff_account("clerk.zhao").await.unwrap().is_none());
    let events = db.account_events(20).await.unwrap();
    let actions: Vec<(&str, &str, &str)> =
        events.iter().rev().map(|e| (e.actor.as_str(), e.action.as_str(), e.detail.as_str())).collect();
    assert_eq!(
        actions,
        [
            ("cli", "staff_added", "clerk"),
            ("cli", "role_changed", "clerk -> supervisor"),
            ("cli", "password_changed", "sessions ended"),
            ("cli", "token_created", "issue"),
            ("cli", "token_revoked", ""),
            ("cli", "staff_removed", "sessions ended"),
        ]
    );
    assert_eq!(events[2].subject, format!("token:{} (HIS)", token.token_id));
}

/// Accounts and tokens made before roles and scopes keep what they could do:
/// administrators become admin, other staff supervisor, tokens `all`.
#[tokio::test]
async fn existing_accounts_and_tokens_are_migrated_without_losing_rights() {
    use sha2::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issuer.sqlite3");
    let previous: [(i64, &str, &str); 7] = [
        (1, "0001_init", include_str!("../../migrations/sqlite/0001_init.sql")),
        (2, "0002_status_lists", include_str!("../../migrations/sqlite/0002_status_lists.sql")),
        (3, "0003_transparency_log", include_str!("../../migrations/sqlite/0003_transparency_log.sql")),
        (4, "0004_anchors", include_str!("../../migrations/sqlite/0004_anchors.sql")),
        (5, "0005_web_accounts", include_str!("../../migrations/sqlite/0005_web_accounts.sql")),
        (6, "0006_single_use", include_str!("../../migrations/sqlite/0006_single_use.sql")),
        (7, "0007_oid4vci", include_str!("../../migrations/sqlite/0007_oid4vci.sql")),
    ];
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, \
             checksum TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT",
        )
        .unwrap();
        for (version, name, sql) in previous {
            db.execute_batch(sql).unwrap();
            let checksum = hex::encode(sha2::Sha256::digest(sql.as_bytes()));
            db.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, ?3, '2026-01-01T00:00:00Z')",
                rusqlite::params![version, name, checksum],
            )
            .unwrap();
        }
        db.execute_batch(
            "INSERT INTO staff_accounts (username, display_name, password_hash, is_admin, created_at) VALUES \
               ('boss', 'Boss', 'x', 1, 1), ('dr.li', '李医生', 'x', 0, 1); \
             INSERT INTO api_tokens (token_id, clinic, token_hash, created_at) VALUES ('t1', 'HIS', 'h1', 1);",
        )
        .unwrap();
    }
    let store = Store::connect(path.to_str().unwrap()).await.unwrap();
    assert_eq!(store.staff_account("boss").await.unwrap().unwrap().role, Role::Admin);
    assert_eq!(store.staff_account("dr.li").await.unwrap().unwrap().role, Role::Supervisor);
    assert_eq!(store.active_api_token("h1").await.unwrap().unwrap().scope, TokenScope::All);
}

/// The store's part, with an injected clock: sessions expire when idle or old,
/// are never revived, end with the account, and expired rows are purged.
#[tokio::test]
async fn sessions_in_the_store_expire_end_and_are_purged() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn(backend, no_tweak).await else { continue };
        let s = &app.store;
        let limits = SessionLimits { idle_secs: 100, max_secs: 1000 };
        let t0 = 1_000_000;
        s.create_session("h-busy", "dr.li", t0).await.unwrap();
        s.create_session("h-idle", "dr.li", t0).await.unwrap();
        s.create_session("h-other", "clerk.zhao", t0).await.unwrap();
        assert!(s.create_session("h-busy", "dr.li", t0).await.is_err(), "ids are unique");
        // Busy: seen every 90 s, it lives until the absolute limit.
        let mut t = t0;
        while t + 90 < t0 + 1000 {
            t += 90;
            assert_eq!(s.resume_session("h-busy", t, limits).await.unwrap().as_deref(), Some("dr.li"), "at {t}");
        }
        assert_eq!(s.resume_session("h-busy", t0 + 1000, limits).await.unwrap(), None, "too old");
        assert_eq!(s.resume_session("h-idle", t0 + 100, limits).await.unwrap(), None, "idle 100 s");
        assert_eq!(s.resume_session("h-unknown", t0, limits).await.unwrap(), None);
        assert_eq!(s.purge_sessions(t0 + 1000, limits).await.unwrap(), 3, "all three expired");
        s.create_session("h-a", "dr.li", t0).await.unwrap();
        s.create_session("h-b", "dr.li", t0).await.unwrap();
        s.create_session("h-c", "clerk.zhao", t0).await.unwrap();
        assert_eq!(s.end_session("h-a").await.unwrap().as_deref(), Some("dr.li"));
        assert_eq!(s.end_session("h-a").await.unwrap(), None);
        assert_eq!(s.end_sessions_of("dr.li").await.unwrap(), 1);
        assert!(s.remove_staff("clerk.zhao").await.unwrap());
        assert_eq!(s.resume_session("h-c", t0 + 1, limits).await.unwrap(), None, "removed with its account");
        assert_eq!(s.purge_sessions(t0 + 1, limits).await.unwrap(), 0, "nothing left");
        if let Some(db) = app.db {
            db.drop_now().await;
        }
    }
}

#[tokio::test]
async fn post_login_redirects_stay_on_this_site() {
    let Some(app) = spawn(Backend::Sqlite, no_tweak).await else { return };
    for (next, want) in [
        ("/certificates/new", "/certificates/new"),
        ("//evil.example", "/certificates"),
        ("/\\evil.example", "/certificates"),
        ("/\t/evil.example", "/certificates"),
        ("https://evil.example", "/certificates"),
        ("/%0a/evil.example", "/%0a/evil.example"),
    ] {
        let (mut jar, csrf) = app.csrf().await;
        let (status, _, location) = app
            .post(&mut jar, "/login", &[("csrf", &csrf), ("username", "dr.li"), ("password", PASSWORD), ("next", next)])
            .await;
        assert_eq!((status, location.as_deref()), (303, Some(want)), "{next:?}");
    }
}

/// Attack review: sign-in is open to anyone, and its password check (argon2,
/// tens of milliseconds and 19 MiB each) runs on the CPU pool that signs
/// credentials and status lists. 200 sign-ins at once under made-up names (so
/// no account is locked) filled that pool: issuance answered 503 `busy`, and
/// a revocation could not be published, for as long as the flood lasted. One
/// password check runs at a time now and each address has its own limit, so
/// the pool keeps signing.
#[tokio::test]
async fn attack_a_sign_in_flood_does_not_take_the_cpu_pool_from_issuance() {
    let app = std::sync::Arc::new(spawn(Backend::Sqlite, no_tweak).await.unwrap());
    let (jar, csrf) = app.csrf().await;
    let flood: Vec<_> = (0..200)
        .map(|n| {
            let (app, mut jar, csrf) = (app.clone(), jar.clone(), csrf.clone());
            tokio::spawn(async move {
                let name = format!("nobody.{n}");
                app.post(&mut jar, "/login", &[("csrf", &csrf), ("username", &name), ("password", "x")]).await.0
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    // While the flood is in flight: issuance signs (App::issue asserts 201).
    for _ in 0..3 {
        app.issue().await;
    }
    let mut answers = Vec::new();
    for sign_in in flood {
        answers.push(sign_in.await.unwrap());
    }
    assert!(answers.iter().all(|s| [401, 429, 503].contains(s)), "{answers:?}");
    assert!(answers.contains(&429), "the per-address limit bites: {answers:?}");
    assert!(answers.contains(&401), "some were checked: {answers:?}");
}
