//! The inspector page's language switch (`/lang/{code}?next=`) sends the
//! browser back to a page of this site, never to another host: browsers drop
//! tabs and newlines from a `Location` and read `\` as `/`, so `/\t/evil.example`
//! is `//evil.example`, a phishing page one link away from the official domain.

#[tokio::test]
async fn attack_the_language_switch_never_leaves_the_site() {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = |next: &'static str| {
        let http = http.clone();
        let url = format!("{base}/lang/en?next={next}");
        async move {
            let resp = http.get(url).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 303, "{next}");
            resp.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(location("/inspect%3Flang%3Dzh").await, "/inspect?lang=zh");
    for hostile in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D%0A/evil.example",
        "/%20/evil.example",
        "/%5Cevil.example",
        "//evil.example",
        "https://evil.example",
    ] {
        assert_eq!(location(hostile).await, "/inspect", "{hostile}");
    }
    // Review 4: the inspector's page is framed by no site, and sends no Referer.
    let page = http.get(format!("{base}/inspect")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["content-security-policy"], "frame-ancestors 'none'");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
}
