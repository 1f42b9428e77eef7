//! Issue #13 item 6 at the inspector page: the ID check compares the typed number
//! with the credential's keyed digest under the department key the verifier holds;
//! a verifier without that key says it cannot check (it never says "matches").

use serde_json::Value;
use wallet_core::ui_text::Lang;

use crate::support::requests::health_request;

/// A health certificate from a real issuer (the test ID number key), as QR text.
async fn issued_qr(data: &std::path::Path) -> String {
    let settings = issuer::config::Settings::for_tests(data.to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&settings).await.unwrap();
    let resp = http.post(format!("{base}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    wallet_core::compact::encode_credential(&body["credential"]).unwrap()
}

async fn verifier(keys: Vec<std::path::PathBuf>) -> String {
    let mut settings = verifier::config::Settings::for_tests();
    settings.id_number_keys = keys;
    let app = verifier::startup::Application::build(&settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

async fn id_check(verifier: &str, qr: &str, number: &str) -> String {
    reqwest::Client::new()
        .post(format!("{verifier}/inspect/id-check?lang=en"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("qr", qr), ("idNumber", number)]).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// An ID check of `qr` with the fixture holder's number, sent from the
/// loopback address 127.0.`block`.`n`: (HTTP status, page).
async fn id_check_from(verifier: &str, block: u8, n: u8, qr: &str) -> (u16, String) {
    let client = reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, block, n])).build().unwrap();
    let resp = client
        .post(format!("{verifier}/inspect/id-check?lang=en"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("qr", qr), ("idNumber", "11010519491231002X")]).unwrap())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn result_of(html: &str) -> &str {
    let start = html.find("id=\"id-check-result\">").expect("an ID check result") + "id=\"id-check-result\">".len();
    &html[start..start + html[start..].find("</p>").unwrap()]
}

#[tokio::test]
async fn the_id_check_needs_the_department_key_and_never_matches_without_it() {
    let data = tempfile::tempdir().unwrap();
    let qr = issued_qr(data.path()).await;
    let vc = wallet_core::compact::decode_credential(&qr).unwrap();
    let digest = wallet_core::credential::IdNumberDigest::of_credential(&vc).unwrap();
    assert_eq!(digest.version(), Some(2), "the issuer makes keyed digests");
    let t = Lang::En.texts();

    let keyed = verifier(verifier::config::Settings::for_tests().id_number_keys).await;
    assert_eq!(result_of(&id_check(&keyed, &qr, "11010519491231002X").await), t.id_matches);
    assert_eq!(result_of(&id_check(&keyed, &qr, "110105194912310038").await), t.id_differs);

    // Without the key (or with another department's) the check is unavailable, for the
    // right number and for a wrong one alike: nothing to learn from the answer.
    let other = data.path().join("other.key");
    std::fs::write(&other, wallet_core::credential::IdNumberKey::generate().to_text()).unwrap();
    for keys in [vec![], vec![other]] {
        let keyless = verifier(keys).await;
        for number in ["11010519491231002X", "110105194912310038"] {
            assert_eq!(result_of(&id_check(&keyless, &qr, number).await), t.id_key_unavailable);
        }
    }

    // A key file that is not a key stops the verifier at start.
    let bad = data.path().join("bad.key");
    std::fs::write(&bad, "not a key").unwrap();
    let mut settings = verifier::config::Settings::for_tests();
    settings.id_number_keys = vec![bad];
    assert!(verifier::startup::Application::build(&settings).is_err());
}

/// Attack review part 2 (the ID-number check): a health certificate's QR hangs on
/// a restaurant wall. With the department key the verifier is an oracle for its
/// holder's ID number (~1.75 M candidates given birth date and sex); the limit
/// per client address alone is no bound for someone with many addresses (every
/// address of an IPv6 /64; here 40 loopback addresses). The guesses against one
/// credential's digest are limited whatever address they come from; another
/// credential is still checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_one_credentials_id_number_cannot_be_guessed_from_many_addresses() {
    let data = tempfile::tempdir().unwrap();
    let target = issued_qr(data.path()).await;
    let keyed = verifier(verifier::config::Settings::for_tests().id_number_keys).await;
    let guess_from = |n: u8, qr: String| {
        let keyed = keyed.clone();
        async move { id_check_from(&keyed, 1, n, &qr).await.0 }
    };
    let mut answered = 0;
    for n in 1..=40 {
        match guess_from(n, target.clone()).await {
            200 => answered += 1,
            429 => {}
            other => panic!("address {n}: HTTP {other}"),
        }
    }
    assert!(answered <= 10, "{answered} of 40 guesses at one credential's ID number were answered");
    let other_data = tempfile::tempdir().unwrap();
    let other = issued_qr(other_data.path()).await;
    assert_eq!(guess_from(41, other).await, 200, "another credential is still checked");
}

/// Attack review 3: QR texts carrying a victim credential's ID digest (or
/// made-up ones) whose signature does not hold used to be charged to the
/// per-credential limiter before anything was verified: 10,000 of them
/// filled it, and it then refused the ID check of every new credential. A
/// credential that does not verify is now answered "not compared" and
/// charges nothing; the genuine one is still checked after a dozen forgeries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_forged_qr_texts_do_not_use_up_a_credentials_id_checks() {
    let data = tempfile::tempdir().unwrap();
    let target = issued_qr(data.path()).await;
    let keyed = verifier(verifier::config::Settings::for_tests().id_number_keys).await;
    let mut forged = wallet_core::compact::decode_credential(&target).unwrap();
    forged["credentialSubject"]["fullName"] = serde_json::json!("欧阳假名");
    let forged = wallet_core::compact::encode_credential(&forged).unwrap();
    let t = Lang::En.texts();
    let check_from = |n: u8, qr: String| {
        let keyed = keyed.clone();
        async move { id_check_from(&keyed, 2, n, &qr).await }
    };
    for n in 1..=12 {
        let (status, html) = check_from(n, forged.clone()).await;
        assert_eq!(status, 200, "{html}");
        // The page escapes the apostrophe of "credential's".
        assert_eq!(result_of(&html).replace("&#39;", "'"), t.id_not_checked, "a forgery is never compared");
    }
    let (status, html) = check_from(13, target).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(result_of(&html), t.id_matches, "the forgeries used none of its checks");
}
