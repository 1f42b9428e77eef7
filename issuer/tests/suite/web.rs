//! The clinic pages over plain HTTP (no browser): CSRF, sessions, lock-out,
//! localized form errors, search, audit. The same flows in a real browser are in
//! `verifier/tests/suite/browser.rs`.

use std::collections::HashMap;
use std::time::Instant;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use wallet_core::ui_text::{EN, ZH};

const PASSWORD: &str = "correct horse battery staple";

struct App {
    base: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

/// A browser-like cookie jar for one user.
#[derive(Default, Clone)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
    fn take(&mut self, resp: &reqwest::Response) {
        for value in resp.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_owned(), v.to_owned());
            }
        }
    }
}

async fn spawn() -> App {
    let data = tempfile::tempdir().unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let hash = issuer::domain::accounts::hash_password(PASSWORD).unwrap();
    store.create_staff("dr.li", "李医生", &hash, issuer::domain::accounts::Role::Supervisor).await.unwrap();
    store.create_staff("nurse.wang", "王护士", &hash, issuer::domain::accounts::Role::Supervisor).await.unwrap();
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    App { base, http, _data: data }
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

    /// Signs in; returns the jar and the CSRF token.
    async fn sign_in(&self, user: &str) -> (Jar, String) {
        let mut jar = Jar::default();
        let (_, html, _) = self.get(&mut jar, "/login").await;
        let csrf = csrf_of(&html);
        let (status, _, location) =
            self.post(&mut jar, "/login", &[("csrf", &csrf), ("username", user), ("password", PASSWORD)]).await;
        assert_eq!((status, location.as_deref()), (303, Some("/certificates")));
        (jar, csrf)
    }
}

fn health_form(csrf: &str) -> Vec<(&str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("fullName", "欧阳晓燕".into()),
        ("fullNamePinyin", "OUYANG Xiaoyan".into()),
        ("sex", "F".into()),
        ("birthDate", "1991-07-23".into()),
        ("idNumber", "11010519491231002X".into()),
        ("examinationDate", chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()),
        ("examiningInstitution", "广州市越秀区疾病预防控制中心".into()),
        ("examinationResult", "qualified".into()),
    ]
}

#[tokio::test]
async fn sessions_csrf_and_lock_out() {
    let app = spawn().await;
    let mut jar = Jar::default();
    // Pages need a session.
    let (status, _, location) = app.get(&mut jar, "/certificates/new").await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with("/login?next="));
    // The login form sets an HttpOnly, SameSite=Strict CSRF cookie.
    let resp = app.http.get(format!("{}/login", app.base)).send().await.unwrap();
    let cookie = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("ecert_csrf=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let (_, html, _) = app.get(&mut jar, "/login").await;
    let csrf = csrf_of(&html);
    // Without the token (or with another one): refused, whatever the password.
    let (status, html, _) = app.post(&mut jar, "/login", &[("username", "dr.li"), ("password", PASSWORD)]).await;
    assert_eq!(status, 403);
    assert!(html.contains(ZH.csrf_failed));
    let wrong = "A".repeat(43);
    let (status, _, _) =
        app.post(&mut jar, "/login", &[("csrf", &wrong), ("username", "dr.li"), ("password", PASSWORD)]).await;
    assert_eq!(status, 403);
    // Five wrong passwords lock the account; the right one is then refused too.
    // A wrong password reads the same whether the account exists, is being
    // locked or is locked: guessing never tells which names exist.
    for attempt in 1..=6 {
        let (status, html, _) =
            app.post(&mut jar, "/login", &[("csrf", &csrf), ("username", "nurse.wang"), ("password", "nope")]).await;
        assert_eq!(status, 401, "attempt {attempt}");
        assert!(html.contains(ZH.bad_credentials) && !html.contains(ZH.account_locked), "attempt {attempt}");
    }
    let (status, html, _) =
        app.post(&mut jar, "/login", &[("csrf", &csrf), ("username", "nurse.wang"), ("password", PASSWORD)]).await;
    assert_eq!(status, 403);
    assert!(html.contains(ZH.account_locked));
    // Unknown users get the same answer as wrong passwords.
    let (status, html, _) =
        app.post(&mut jar, "/login", &[("csrf", &csrf), ("username", "nobody"), ("password", "x")]).await;
    assert_eq!(status, 401);
    assert!(html.contains(ZH.bad_credentials));

    // A good sign-in sets the session cookie; a forged one is ignored.
    let (mut jar, csrf) = app.sign_in("dr.li").await;
    assert!(jar.0.contains_key("ecert_session"));
    let (status, html, _) = app.get(&mut jar, "/certificates/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("李医生") || html.contains("dr.li"));
    let mut forged = jar.clone();
    forged.0.insert("ecert_session".into(), "ZHIubGkKOTk5OTk5OTk5OQ.AAAA".into());
    assert_eq!(app.get(&mut forged, "/certificates/new").await.0, 303);
    // Issuing without the token is refused; signing out needs it too.
    let form = health_form("");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = app.post(&mut jar, "/certificates/new", &form[1..]).await;
    assert_eq!(status, 403);
    let (status, _, location) = app.post(&mut jar, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/login")));
    assert!(!jar.0.contains_key("ecert_session"));
    assert_eq!(app.get(&mut jar, "/certificates").await.0, 303);
}

/// A lock-out ends the sessions already handed out, at once (the session cookie
/// alone is not enough: the account is checked on every request).
#[tokio::test]
async fn locking_an_account_ends_its_open_sessions() {
    let app = spawn().await;
    let (mut signed_in, _) = app.sign_in("nurse.wang").await;
    assert_eq!(app.get(&mut signed_in, "/certificates").await.0, 200);
    // Someone guesses the password five times from elsewhere: the account locks.
    let mut other = Jar::default();
    let (_, html, _) = app.get(&mut other, "/login").await;
    let csrf = csrf_of(&html);
    for _ in 0..5 {
        app.post(&mut other, "/login", &[("csrf", &csrf), ("username", "nurse.wang"), ("password", "nope")]).await;
    }
    // The session signed in before the lock-out no longer opens any staff page.
    let (status, _, location) = app.get(&mut signed_in, "/certificates").await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with("/login"));
    let (status, _, _) = app.get(&mut signed_in, "/certificates/new").await;
    assert_eq!(status, 303);
    // Another account's session is untouched.
    let (mut li, _) = app.sign_in("dr.li").await;
    assert_eq!(app.get(&mut li, "/certificates").await.0, 200);
}

#[tokio::test]
async fn bad_form_input_is_rerendered_with_localized_errors_never_a_500() {
    let app = spawn().await;
    let (mut jar, csrf) = app.sign_in("dr.li").await;
    let bad = [
        ("csrf", csrf.as_str()),
        ("fullName", ""),
        ("sex", "Q"),
        ("birthDate", "1991-02-30"),
        ("idNumber", "110105194912310021"),
        ("examinationDate", "not a date"),
        ("unknownField", "x"),
    ];
    let (status, html, _) = app.post(&mut jar, "/certificates/new", &bad).await;
    assert_eq!(status, 422);
    assert!(html.contains(ZH.form_has_errors) && html.contains("必填项不能为空"));
    assert!(html.contains("aria-invalid=\"true\""));
    jar.0.insert("lang".into(), "en".into());
    let (status, html, _) = app.post(&mut jar, "/certificates/new", &bad).await;
    assert_eq!(status, 422);
    assert!(html.contains(EN.form_has_errors) && html.contains("this field is required"));
    // Review 4: the browser offers no earlier holder's ID number or name.
    assert!(html.contains("action=\"/certificates/new\" novalidate autocomplete=\"off\""), "{html}");
    let id_input = &html[html.find("name=\"idNumber\"").expect("the ID number input")..];
    assert!(id_input[..id_input.find('>').unwrap()].contains("autocomplete=\"off\""), "{id_input}");
    // Review 4: a zero-width space in a name, or a right-to-left override,
    // looks like another name on the card and at the inspector.
    for hidden in ["张\u{200B}三", "\u{202E}燕晓阳欧"] {
        let mut form: Vec<(&str, &str)> = bad.to_vec();
        form.retain(|(k, _)| *k != "fullName");
        form.push(("fullName", hidden));
        let (status, html, _) = app.post(&mut jar, "/certificates/new", &form).await;
        assert_eq!(status, 422);
        assert!(html.contains("id=\"e-fullName\"") && html.contains("invisible characters"), "{hidden:?}");
    }
    // Garbage bodies and odd fields never crash the page.
    for body in ["", "%%%", "csrf", "a=1&a=2&&&="] {
        let resp = app
            .http
            .post(format!("{}/licences/new", app.base))
            .header(COOKIE, jar.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error(), "{body:?}: {}", resp.status());
    }
    let licence = [
        ("csrf", csrf.as_str()),
        ("licenceNumber", "JY14401030012345"),
        ("licensee", "广州市越秀区好味餐饮店"),
        ("unifiedSocialCreditCode", "bad"),
        ("legalRepresentative", "张三"),
        ("businessAddress", "广州市越秀区中山五路1号"),
        ("businessScope", "热食类食品制售"),
        ("validFrom", "2026-01-01"),
        ("validUntil", "2031-01-01"),
    ];
    let (status, html, _) = app.post(&mut jar, "/licences/new", &licence).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"e-unifiedSocialCreditCode\""));
    // An unknown certificate is a localized 404 page.
    let (status, html, _) = app.get(&mut jar, "/certificates/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(status, 404);
    assert!(html.contains(EN.not_found));
}

#[tokio::test]
async fn the_form_can_send_the_certificate_to_a_phone_wallet_instead() {
    let app = spawn().await;
    let (mut jar, csrf) = app.sign_in("dr.li").await;
    let mut form = health_form(&csrf);
    form.push(("deliver", "wallet".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html, _) = app.post(&mut jar, "/certificates/new", &form).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<svg") && html.contains(ZH.offer_hint));
    let pin: String = html.split("id=\"offer-pin\">").nth(1).unwrap().chars().take(6).collect();
    assert!(pin.chars().all(|c| c.is_ascii_digit()), "{pin}");
    let href = html.split("id=\"offer-link\" href=\"").nth(1).unwrap().split('"').next().unwrap();
    let uri = href.replace("&#x2f;", "/").replace("&#47;", "/").replace("&amp;", "&").replace("&#x3d;", "=");
    let offer = wallet_core::oid4vci::parse_offer_uri(&uri).unwrap();
    assert_eq!(offer.credential_configuration_ids, ["HealthCertificate"]);
    // The PIN on the page redeems the code in the offer (the rest of the flow is tests/oid4vci.rs).
    let code = offer.grants.pre_authorized_code.unwrap().pre_authorized_code;
    let resp = app
        .http
        .post(format!("{}/oid4vci/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(wallet_core::oid4vci::form_encode(&[
            ("grant_type", wallet_core::oid4vci::PRE_AUTHORIZED_CODE_GRANT),
            ("pre-authorized_code", &code),
            ("tx_code", &pin),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Invalid fields come back on the form, as for issuing.
    let mut bad = health_form(&csrf);
    bad.push(("deliver", "wallet".into()));
    bad[5].1 = "110105194912310021".into();
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html, _) = app.post(&mut jar, "/certificates/new", &bad).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"e-idNumber\""), "{html}");
}

/// The card shows the 证照标识; the search finds a credential by it and refuses
/// one with a wrong check character, in words.
#[tokio::test]
async fn the_card_shows_the_licence_id_and_the_search_finds_it() {
    let app = spawn().await;
    let (mut jar, csrf) = app.sign_in("dr.li").await;
    let form = health_form(&csrf);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, location) = app.post(&mut jar, "/certificates/new", &form).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    let uuid = location.trim_start_matches("/certificates/").trim_end_matches("?issued=1").to_owned();
    let (_, html, _) = app.get(&mut jar, &location).await;
    let licence_id = html.split("id=\"licence-id\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let parsed = wallet_core::licence_id::LicenceId::parse(&licence_id).unwrap();
    assert_eq!(parsed.issuer().as_str(), issuer::config::TEST_USCI);
    assert_eq!((parsed.serial(), parsed.version()), ("1", 1));
    assert!(html.contains(ZH.licence_id));

    let (status, html, _) = app.get(&mut jar, &format!("/certificates?q={}", urlencode(&licence_id))).await;
    assert_eq!(status, 200);
    assert!(html.contains(&uuid), "found by its licence id");

    let (body, check) = licence_id.split_at(licence_id.len() - 1);
    let wrong = format!("{body}{}", if check == "0" { "1" } else { "0" });
    let (status, html, _) = app.get(&mut jar, &format!("/certificates?q={}", urlencode(&wrong))).await;
    assert_eq!(status, 400);
    assert!(html.contains("id=\"search-error\"") && html.contains("证照标识校验位不正确"), "{html}");
    assert!(!html.contains(&uuid));
}

#[tokio::test]
async fn issue_search_page_change_status_and_audit() {
    let app = spawn().await;
    let (mut jar, csrf) = app.sign_in("dr.li").await;
    let form = health_form(&csrf);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, location) = app.post(&mut jar, "/certificates/new", &form).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    let uuid = location.trim_start_matches("/certificates/").trim_end_matches("?issued=1").to_owned();
    let (status, html, _) = app.get(&mut jar, &location).await;
    assert_eq!(status, 200);
    assert!(html.contains("欧阳晓燕") && html.contains("OUYANG Xiaoyan") && html.contains(ZH.issued_ok));
    assert!(html.contains(&format!("src=\"/credentials/{uuid}/qr.png\"")) && html.contains(ZH.qr_alt));
    assert!(!html.contains("11010519491231002X"), "the ID number is not shown");

    // Search by number, by name (and pinyin), by date; paging links.
    for q in [uuid.clone(), format!("urn:uuid:{uuid}"), "欧阳".into(), "ouyang".into()] {
        let (status, html, _) = app.get(&mut jar, &format!("/certificates?q={}", urlencode(&q))).await;
        assert_eq!(status, 200);
        assert!(html.contains(&uuid), "found by {q}");
    }
    let (_, html, _) = app.get(&mut jar, &format!("/certificates?q={}", urlencode("张三"))).await;
    assert!(html.contains(ZH.no_results));
    let (_, html, _) = app.get(&mut jar, "/certificates?from=2000-01-01&to=2000-01-02").await;
    assert!(html.contains(ZH.no_results));
    let (_, html, _) = app.get(&mut jar, "/certificates?page=abc").await;
    assert!(html.contains(&uuid));

    // Suspend needs a reason; then it shows in the history and the audit counts.
    let path = format!("/certificates/{uuid}/status");
    let (status, html, _) = app.post(&mut jar, &path, &[("csrf", &csrf), ("action", "suspend"), ("reason", " ")]).await;
    assert_eq!(status, 422);
    assert!(html.contains(ZH.reason_required));
    let (status, _, location) =
        app.post(&mut jar, &path, &[("csrf", &csrf), ("action", "suspend"), ("reason", "复查")]).await;
    assert_eq!((status, location), (303, Some(format!("/certificates/{uuid}?changed=1"))));
    let (_, html, _) = app.get(&mut jar, &format!("/certificates/{uuid}")).await;
    assert!(html.contains(ZH.status_suspended) && html.contains("复查") && html.contains("dr.li"));

    let mut anonymous = Jar::default();
    let (status, html, _) = app.get(&mut anonymous, "/audit").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"total-issued\">1<") && html.contains("id=\"total-suspended\">1<"));
    assert!(!html.contains("欧阳晓燕"), "no personal data on the audit page");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        html.contains("id=\"by-day\"") && html.contains(&format!("<td>{today}</td><td>1</td><td>0</td><td>1</td>"))
    );

    // Rough render times (debug build, SQLite), printed for the record.
    for page in ["/certificates/new", "/certificates", &format!("/certificates/{uuid}")] {
        let start = Instant::now();
        for _ in 0..20 {
            assert_eq!(app.get(&mut jar, page).await.0, 200);
        }
        println!("GET {page}: {:.1} ms per request", start.elapsed().as_secs_f64() * 1000.0 / 20.0);
    }
}

#[tokio::test]
async fn id_number_lookup_matches_the_salted_digest_and_is_rate_limited() {
    let app = spawn().await;
    let (mut jar, csrf) = app.sign_in("dr.li").await;
    let form = health_form(&csrf);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, _, location) = app.post(&mut jar, "/certificates/new", &form).await;
    let uuid = location.unwrap().trim_start_matches("/certificates/").trim_end_matches("?issued=1").to_owned();

    // An inspector (no account) looks the holder up.
    let mut inspector = Jar::default();
    let (status, html, _) = app.get(&mut inspector, "/lookup").await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let lookup = |name: &'static str, number: &'static str| {
        [("csrf", csrf.clone()), ("fullName", name.into()), ("idNumber", number.into())]
    };
    let (status, html, _) =
        app.post(&mut inspector, "/lookup", &pairs(&lookup("欧阳晓燕", "11010519491231002X"))).await;
    assert_eq!(status, 200);
    assert!(html.contains(ZH.lookup_found));
    // Yes or no only: which credential matched (its id) stays with the issuer.
    assert!(!html.contains(&uuid) && !html.contains(uuid.split('-').next().unwrap()), "the credential id is not shown");
    assert!(!html.contains("11010519491231002X"), "the number is not echoed");
    let (_, html, _) = app.post(&mut inspector, "/lookup", &pairs(&lookup("欧阳晓燕", "110105194912310038"))).await;
    assert!(html.contains(ZH.lookup_not_found), "another (valid) number does not match");
    let (_, html, _) = app.post(&mut inspector, "/lookup", &pairs(&lookup("欧阳小燕", "11010519491231002X"))).await;
    assert!(html.contains(ZH.lookup_not_found), "another name does not match");
    let (status, html, _) = app.post(&mut inspector, "/lookup", &pairs(&lookup("欧阳晓燕", "123"))).await;
    assert_eq!(status, 422);
    assert!(html.contains(ZH.id_invalid));
    // Five at once, then slowed down.
    let (status, _, _) = app.post(&mut inspector, "/lookup", &pairs(&lookup("欧阳晓燕", "11010519491231002X"))).await;
    assert_eq!(status, 200);
    let (status, html, _) =
        app.post(&mut inspector, "/lookup", &pairs(&lookup("欧阳晓燕", "11010519491231002X"))).await;
    assert_eq!(status, 429);
    assert!(html.contains(ZH.too_many_requests));
}

fn pairs<'a>(form: &'a [(&'static str, String); 3]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Bulk issuance is open to signed-in staff as well as to API tokens (the
/// session cookie is SameSite=Strict and a batch is not a form's content type).
#[tokio::test]
async fn signed_in_staff_may_send_a_batch() {
    let app = spawn().await;
    let (jar, _) = app.sign_in("dr.li").await;
    let mut row = crate::support::requests::health_request();
    row["idempotencyKey"] = serde_json::json!("staff-1");
    let send = |cookie: Option<String>| {
        let mut req = app
            .http
            .post(format!("{}/api/v1/health-certificates/batch", app.base))
            .header("content-type", "application/x-ndjson")
            .body(format!("{row}\n"));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        req.send()
    };
    assert_eq!(send(None).await.unwrap().status(), 401);
    let resp = send(Some(jar.header())).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["results"][0]["outcome"], "issued", "{body:#}");
}
