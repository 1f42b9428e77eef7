//! The web pages in a real headless Chromium (driven over WebDriver by
//! fantoccini through `/usr/bin/chromedriver`), against the real issuer and
//! verifier started in-process:
//! sign in → issue through the form → print page → its QR image → upload it on
//! the inspector page → "valid"; revoke → "revoked"; five wrong passwords →
//! locked; a form posted without its CSRF token → refused.
//! Screenshots (both languages) go to `target/artifacts/screenshots/`.
//!
//! Without chromedriver the test skips loudly, unless `CI` or `REQUIRE_BROWSER`
//! is set (as `scripts/test` does), then it fails (`require(Dep::Browser)`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use wallet_core::ui_text::{EN, ZH};

use crate::support::require::{require, Dep};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
const ROOT_PASSPHRASE: &str = "test-only-passphrase";
const PASSWORD: &str = "correct horse battery staple";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

/// A trust list, issued now, certifying the test clinic's key under the health root.
fn fresh_trust_list() -> Vec<u8> {
    use wallet_core::trust::*;
    let now = Utc::now();
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let clinic_der = certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap();
    let next = now + chrono::Duration::days(7);
    let contents = TrustListContents {
        sequence: 1,
        issued_at: now - chrono::Duration::minutes(1),
        next_update: next,
        roots: vec![certificate_pem_to_der(&health_pem).unwrap()],
        issuer_certificates: vec![clinic_der],
        crls: vec![create_crl(&health_pem, &health_key, &[], now - chrono::Duration::minutes(1), next).unwrap()],
    };
    build_trust_list(&contents, &health_key, &[certificate_pem_to_der(&health_pem).unwrap()]).unwrap()
}

struct Services {
    issuer: String,
    verifier: String,
    _data: tempfile::TempDir,
}

async fn spawn() -> Services {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("issuer-key.pem"), fixture("keys/test-issuer.pem")).unwrap();
    let list_path = data.path().join("trust-list.json");
    std::fs::write(&list_path, fresh_trust_list()).unwrap();
    let mut issuer_settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    issuer_settings.trust_list = Some(list_path.clone());
    let issuer_app = issuer::startup::Application::build(&issuer_settings).await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", issuer_app.port());
    tokio::spawn(issuer_app.run_until_stopped());
    let store = issuer::store::Store::connect(&issuer_settings.store_url()).await.unwrap();
    let hash = issuer::accounts::hash_password(PASSWORD).unwrap();
    store.create_staff("dr.li", "李医生", &hash, issuer::accounts::Role::Supervisor).await.unwrap();
    store.create_staff("nurse.wang", "王护士", &hash, issuer::accounts::Role::Supervisor).await.unwrap();
    let mut verifier_settings = verifier::config::Settings::for_tests();
    verifier_settings.trust.roots = vec![format!("{FIXTURES}/trust/health-commission-root.pem").into()];
    verifier_settings.trust.trust_list_file = Some(list_path);
    verifier_settings.status.status_refresh_secs = 0;
    let verifier_app = verifier::startup::Application::build(&verifier_settings).unwrap();
    let verifier = format!("http://127.0.0.1:{}", verifier_app.port());
    tokio::spawn(verifier_app.run_until_stopped());
    Services { issuer, verifier, _data: data }
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Option<Driver> {
    let chromedriver = require(Dep::Browser)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = reqwest::Client::new();
    while Instant::now() < deadline {
        if http.get(format!("{}/status", driver.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not come up");
}

async fn browser(driver: &Driver, width: u32, height: u32) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", format!("--window-size={width},{height}"), "--lang=zh-CN"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")), PathBuf::from);
    let dir = target.join("artifacts/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Click a submit button and wait until the next page has loaded (the old page's
/// body is marked first, so a stale page is never read).
async fn submit(c: &Client, button: Locator<'_>) {
    c.execute("document.body.setAttribute('data-stale', '1');", vec![]).await.unwrap();
    c.find(button).await.unwrap().click().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body:not([data-stale])"))
        .await
        .expect("the next page loads");
}

async fn text_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn set_value(c: &Client, id: &str, value: &str) {
    c.execute("document.getElementById(arguments[0]).value = arguments[1];", vec![json!(id), json!(value)])
        .await
        .unwrap();
}

async fn set_lang(c: &Client, base: &str, lang: &str) {
    c.goto(&format!("{base}/lang/{lang}?next=/healthz")).await.unwrap();
}

async fn sign_in(c: &Client, s: &Services, user: &str, password: &str) {
    c.goto(&format!("{}/login", s.issuer)).await.unwrap();
    c.find(Locator::Id("username")).await.unwrap().send_keys(user).await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(password).await.unwrap();
    submit(c, Locator::Id("sign-in")).await;
}

async fn fill_health_form(c: &Client) {
    c.find(Locator::Id("f-fullName")).await.unwrap().send_keys("欧阳晓燕").await.unwrap();
    c.find(Locator::Id("f-fullNamePinyin")).await.unwrap().send_keys("OUYANG Xiaoyan").await.unwrap();
    c.find(Locator::Id("f-sex")).await.unwrap().select_by_value("F").await.unwrap();
    set_value(c, "f-birthDate", "1991-07-23").await;
    c.find(Locator::Id("f-idNumber")).await.unwrap().send_keys("11010519491231002X").await.unwrap();
    set_value(c, "f-examinationDate", &Utc::now().date_naive().format("%Y-%m-%d").to_string()).await;
    c.find(Locator::Id("f-examiningInstitution"))
        .await
        .unwrap()
        .send_keys("广州市越秀区疾病预防控制中心")
        .await
        .unwrap();
}

/// Upload `png` on the inspector page; the verdict code shown.
async fn inspect_photo(c: &Client, s: &Services, png: &std::path::Path) -> String {
    c.goto(&format!("{}/inspect", s.verifier)).await.unwrap();
    c.find(Locator::Id("photo")).await.unwrap().send_keys(png.to_str().unwrap()).await.unwrap();
    submit(c, Locator::Id("verify-photo")).await;
    let verdict = c.find(Locator::Id("verdict")).await.unwrap();
    verdict.attr("data-verdict").await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_issue_print_inspect_revoke_lockout_and_csrf_in_a_real_browser() {
    let Some(driver) = start_driver().await else { return };
    let s = spawn().await;
    let c = browser(&driver, 1000, 1400).await;
    let result = run(&c, &s, &driver).await;
    c.close().await.ok();
    result.unwrap();
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute`.
async fn cdp(c: &Client, driver: &Driver, cmd: &str, params: serde_json::Value) -> serde_json::Value {
    let session = c.session_id().await.unwrap().expect("a session");
    let resp = reqwest::Client::new()
        .post(format!("{}/session/{session}/goog/cdp/execute", driver.url))
        .json(&json!({"cmd": cmd, "params": params}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{cmd}: {}", resp.status());
    resp.json::<serde_json::Value>().await.unwrap()["value"].take()
}

/// The page as printed: a screenshot with print CSS and the PDF Chromium prints.
async fn print_artifacts(c: &Client, driver: &Driver, name: &str) {
    cdp(c, driver, "Emulation.setEmulatedMedia", json!({"media": "print"})).await;
    screenshot(c, &format!("{name}-print-media")).await;
    cdp(c, driver, "Emulation.setEmulatedMedia", json!({"media": ""})).await;
    let pdf = cdp(c, driver, "Page.printToPDF", json!({"preferCSSPageSize": true, "printBackground": true})).await;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(pdf["data"].as_str().unwrap()).unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.pdf")), &bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    // A6 is 105 × 148 mm = 297.6 × 419.5 pt; one card, one page.
    let media_box =
        text.find("/MediaBox [").map(|i| text[i..].chars().take(40).collect::<String>()).unwrap_or_default();
    assert!(media_box.starts_with("/MediaBox [0 0 29") && media_box.contains(" 4"), "printed on A6: {media_box}");
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    assert_eq!(pages, 1, "one card, one page");
}

async fn run(c: &Client, s: &Services, driver: &Driver) -> Result<(), String> {
    let work = tempfile::tempdir().unwrap();
    // Sign in (Chinese is the default).
    set_lang(c, &s.issuer, "zh").await;
    sign_in(c, s, "dr.li", PASSWORD).await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/certificates", "signed in and sent to the list");

    // An empty form comes back with errors in the reader's language, never a 500.
    c.goto(&format!("{}/certificates/new", s.issuer)).await.unwrap();
    screenshot(c, "issue-form-zh").await;
    set_value(c, "f-examinationDate", "").await;
    submit(c, Locator::Id("issue")).await;
    assert_eq!(text_of(c, "form-error").await, ZH.form_has_errors);
    assert!(!text_of(c, "e-fullName").await.is_empty());
    screenshot(c, "issue-form-errors-zh").await;
    set_lang(c, &s.issuer, "en").await;
    c.goto(&format!("{}/certificates/new", s.issuer)).await.unwrap();
    screenshot(c, "issue-form-en").await;
    submit(c, Locator::Id("issue")).await;
    assert_eq!(text_of(c, "form-error").await, EN.form_has_errors);
    screenshot(c, "issue-form-errors-en").await;

    // Issue through the form.
    set_lang(c, &s.issuer, "zh").await;
    c.goto(&format!("{}/certificates/new", s.issuer)).await.unwrap();
    fill_health_form(c).await;
    submit(c, Locator::Id("issue")).await;
    let url = c.current_url().await.unwrap();
    assert!(url.path().starts_with("/certificates/"), "on the certificate page: {url}");
    let page = c.source().await.unwrap();
    assert!(page.contains("欧阳晓燕") && page.contains("OUYANG Xiaoyan"), "name and pinyin on the card");
    screenshot(c, "print-page-zh").await;
    print_artifacts(c, driver, "print-page-zh").await;
    let qr = c.find(Locator::Id("qr")).await.unwrap();
    let alt = qr.attr("alt").await.unwrap().unwrap_or_default();
    assert!(alt.starts_with(ZH.qr_alt), "the QR code has a text alternative: {alt}");
    // The image (quiet zone included) is at least 40 mm wide without its white padding (CSS: 96 px per
    // inch), so the symbol itself is over 35 mm for every QR version we print (≤ 15: 77 of 85 modules).
    let script = "const q = document.getElementById('qr'); const s = getComputedStyle(q); \
                  return q.getBoundingClientRect().width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);";
    let width = c.execute(script, vec![]).await.unwrap().as_f64().unwrap_or(0.0);
    assert!(width / 96.0 * 25.4 >= 40.0, "QR image is {width} CSS px wide");
    // Take the QR image from the page: fetch its src bytes.
    let src = qr.prop("src").await.unwrap().expect("img src");
    // The QR image is the staff's (the route needs a session or a token): fetch it with
    // the browser's session cookie, and see that it is refused without one.
    assert_eq!(reqwest::get(&src).await.unwrap().status(), 401, "the QR image needs a session");
    let session = c.get_named_cookie("ecert_session").await.unwrap();
    let png = reqwest::Client::new()
        .get(&src)
        .header(reqwest::header::COOKIE, format!("ecert_session={}", session.value()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let qr_path = work.path().join("qr.png");
    std::fs::write(&qr_path, &png).unwrap();
    let print_url = url.to_string();
    set_lang(c, &s.issuer, "en").await;
    c.goto(&print_url).await.unwrap();
    screenshot(c, "print-page-en").await;
    print_artifacts(c, driver, "print-page-en").await;

    // Inspector: upload the photo → valid (both languages).
    set_lang(c, &s.verifier, "en").await;
    c.goto(&format!("{}/inspect", s.verifier)).await.unwrap();
    screenshot(c, "inspect-en").await;
    set_lang(c, &s.verifier, "zh").await;
    c.goto(&format!("{}/inspect", s.verifier)).await.unwrap();
    screenshot(c, "inspect-zh").await;
    assert_eq!(inspect_photo(c, s, &qr_path).await, "valid");
    assert_eq!(text_of(c, "verdict").await.trim(), ZH.verdict_valid);
    assert!(c.source().await.unwrap().contains("OUYANG Xiaoyan"));
    screenshot(c, "inspect-result-valid-zh").await;
    // The typed ID number is checked against the credential's salted digest.
    c.find(Locator::Id("idNumber")).await.unwrap().send_keys("11010519491231002X").await.unwrap();
    submit(c, Locator::Css("form[action='/inspect/id-check'] button")).await;
    assert_eq!(text_of(c, "id-check-result").await, ZH.id_matches);
    // The result (with the ID check) on a phone-sized screen.
    c.set_window_size(390, 1100).await.unwrap();
    screenshot(c, "inspect-result-valid-zh-phone").await;
    c.set_window_size(1000, 1400).await.unwrap();
    // The camera path without the camera: the vendored jsQR decodes the printed QR image
    // in the page, and the decoded text, submitted like the scanner does, verifies.
    c.goto(&format!("{}/inspect", s.verifier)).await.unwrap();
    use base64::Engine as _;
    let data_url = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png));
    let decode = "const [src, done] = arguments; const img = new Image(); \
        img.onload = () => { const c = document.createElement('canvas'); c.width = img.width; c.height = img.height; \
          const x = c.getContext('2d'); x.drawImage(img, 0, 0); const d = x.getImageData(0, 0, c.width, c.height); \
          const code = jsQR(d.data, d.width, d.height); done(code ? code.data : ''); }; \
        img.onerror = () => done(''); img.src = src;";
    let decoded = c.execute_async(decode, vec![json!(data_url)]).await.unwrap();
    let decoded = decoded.as_str().unwrap_or_default().to_owned();
    assert!(decoded.starts_with("EC1:"), "jsQR decoded {decoded:?}");
    set_value(c, "qr-text", &decoded).await;
    submit(c, Locator::Css("#qr-form button")).await;
    let verdict = c.find(Locator::Id("verdict")).await.unwrap().attr("data-verdict").await.unwrap();
    assert_eq!(verdict.as_deref(), Some("valid"), "the text jsQR read verifies");

    set_lang(c, &s.verifier, "en").await;
    assert_eq!(inspect_photo(c, s, &qr_path).await, "valid");
    assert_eq!(text_of(c, "verdict").await.trim(), EN.verdict_valid);
    screenshot(c, "inspect-result-valid-en").await;

    // Revoke on the issuer's page → the next scan says revoked.
    set_lang(c, &s.issuer, "zh").await;
    c.goto(&print_url).await.unwrap();
    c.find(Locator::Id("action")).await.unwrap().select_by_value("revoke").await.unwrap();
    c.find(Locator::Id("reason")).await.unwrap().send_keys("复查发现传染病").await.unwrap();
    submit(c, Locator::Id("apply-status")).await;
    assert!(text_of(c, "status-badge").await.contains(ZH.status_revoked));
    set_lang(c, &s.verifier, "zh").await;
    assert_eq!(inspect_photo(c, s, &qr_path).await, "revoked");
    screenshot(c, "inspect-result-revoked-zh").await;
    set_lang(c, &s.verifier, "en").await;
    assert_eq!(inspect_photo(c, s, &qr_path).await, "revoked");
    assert_eq!(text_of(c, "verdict").await.lines().next().unwrap_or("").trim(), EN.verdict_revoked);
    screenshot(c, "inspect-result-revoked-en").await;

    // A form posted without its CSRF token is refused.
    set_lang(c, &s.issuer, "en").await;
    c.goto(&format!("{}/certificates/new", s.issuer)).await.unwrap();
    fill_health_form(c).await;
    c.execute("document.querySelector('form[action=\"/certificates/new\"] input[name=csrf]').remove();", vec![])
        .await
        .unwrap();
    submit(c, Locator::Id("issue")).await;
    assert!(c.source().await.unwrap().contains(EN.csrf_failed), "refused without the CSRF token");

    // Five wrong passwords lock the account; then even the right one is refused.
    // A wrong password reads the same before and after the lock (which names
    // exist is not told to someone guessing).
    c.delete_all_cookies().await.unwrap();
    set_lang(c, &s.issuer, "en").await;
    for attempt in 1..=6 {
        sign_in(c, s, "nurse.wang", "wrong password").await;
        assert_eq!(text_of(c, "login-error").await, EN.bad_credentials, "attempt {attempt}");
    }
    sign_in(c, s, "nurse.wang", PASSWORD).await;
    assert_eq!(text_of(c, "login-error").await, EN.account_locked);
    screenshot(c, "login-locked-en").await;
    Ok(())
}
