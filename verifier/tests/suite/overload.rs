//! Issue #14: under overload the verifier refuses at once (503 `busy` with
//! `Retry-After`) instead of queueing without bound, keeps answering `/healthz`,
//! refuses photos over the pixel limit (413 `image_too_large`) and limits photos
//! per client (429).

use chrono::{TimeZone, Utc};
use image::ImageEncoder as _;
use serde_json::{json, Value};
use wallet_core::keys::IssuerKey;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn verifier(load: verifier::config::LoadSettings) -> String {
    let mut settings = verifier::config::Settings::for_tests();
    settings.load = load;
    let app = verifier::startup::Application::build(&settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

async fn signed_credential() -> Value {
    let key = IssuerKey::from_pkcs8_pem(&std::fs::read_to_string(format!("{FIXTURES}/keys/test-issuer.pem")).unwrap())
        .unwrap();
    let mut unsigned: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/credentials/sample-health-certificate.unsigned.json")).unwrap(),
    )
    .unwrap();
    unsigned["issuer"] = json!(key.did());
    wallet_core::issuance::sign_credential(&unsigned, &key, Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap())
        .await
        .unwrap()
}

/// A grey PNG of `width` × `height` (no QR code in it).
fn grey_png(width: u32, height: u32) -> Vec<u8> {
    let pixels = vec![128u8; (width * height) as usize];
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ExtendedColorType::L8)
        .unwrap();
    png
}

#[tokio::test]
async fn a_saturated_pool_answers_busy_with_retry_after_while_healthz_answers() {
    let base = verifier(verifier::config::LoadSettings {
        cpu_workers: Some(1),
        cpu_queue: 1,
        image_decodes: 2,
        ..Default::default()
    });
    let http = reqwest::Client::new();
    let vc = signed_credential().await;
    // Two photos without a code keep the one CPU thread busy (all decoding passes
    // run), while forty verifications arrive at once.
    let photo = grey_png(4_000, 3_000);
    let photos: Vec<_> = (0..2)
        .map(|_| {
            let request =
                http.post(format!("{base}/verify/image")).header("content-type", "image/png").body(photo.clone());
            tokio::spawn(request.send())
        })
        .collect();
    let verifications: Vec<_> = (0..40)
        .map(|_| {
            let request = http.post(format!("{base}/credentials/verify")).json(&json!({"verifiableCredential": vc}));
            tokio::spawn(request.send())
        })
        .collect();
    // Meanwhile the liveness probe is answered by the async workers.
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let mut busy = 0;
    let mut answered = 0;
    for task in verifications.into_iter().chain(photos) {
        let resp = task.await.unwrap().unwrap();
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let body: Value = resp.json().await.unwrap();
        match status {
            503 => {
                assert!(body["error"] == "busy" || body["error"] == "deadline_exceeded", "{body}");
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert!(body["message"]["zh"].is_string() && body["message"]["en"].is_string());
                busy += 1;
            }
            // Verified (the VC-API does not require trust) or the photo had no code.
            200 | 422 => {}
            400 => assert_eq!(body["error"], "no_qr_code"),
            other => panic!("unexpected {other}: {body}"),
        }
        answered += 1;
    }
    assert!(busy > 0, "one thread and one queue slot cannot take 42 jobs at once");
    // All verifications may be refused while the photos hold the thread.
    assert_eq!(answered, 42, "every request is answered");
    // Once the work is done the pool takes requests again.
    let resp = http.post(format!("{base}/credentials/verify")).json(&json!({"verifiableCredential": vc})).send().await;
    assert!(matches!(resp.unwrap().status().as_u16(), 200 | 422));
}

#[tokio::test]
async fn a_photo_over_the_pixel_limit_is_refused_with_413() {
    let base = verifier(verifier::config::LoadSettings::default());
    let http = reqwest::Client::new();
    // One pixel wider than the longest side accepted: a few KB, refused from its header.
    let strip = grey_png(wallet_core::qr::MAX_IMAGE_SIDE + 1, 2);
    let resp =
        http.post(format!("{base}/verify/image")).header("content-type", "image/png").body(strip).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "image_too_large");
    assert!(body["message"]["en"].as_str().unwrap().contains("10000 pixels a side"), "{body}");
    // The inspector page says so too.
    let form = reqwest::multipart::Form::new()
        .part("photo", reqwest::multipart::Part::bytes(grey_png(wallet_core::qr::MAX_IMAGE_SIDE + 1, 2)));
    let resp = http.post(format!("{base}/inspect/image?lang=en")).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    assert!(resp.text().await.unwrap().contains("too large"));
}

#[tokio::test]
async fn photos_are_rate_limited_per_client() {
    let base = verifier(verifier::config::LoadSettings {
        image_rate_burst: 3,
        image_rate_per_minute: 1,
        ..Default::default()
    });
    let http = reqwest::Client::new();
    let post =
        || http.post(format!("{base}/verify/image")).header("content-type", "image/png").body(grey_png(8, 8)).send();
    for _ in 0..3 {
        let resp = post().await.unwrap();
        assert_eq!(resp.status(), 400, "within the burst: decoded (no code in it)");
    }
    let resp = post().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "60");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    // The inspector page shares the budget.
    let form = reqwest::multipart::Form::new().part("photo", reqwest::multipart::Part::bytes(grey_png(8, 8)));
    let resp = http.post(format!("{base}/inspect/image")).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    // Other requests are not limited.
    let resp = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// A client that sends its body one byte at a time is cut off at the request
/// deadline with 408 `request_timeout` and its connection closed, while others
/// are served.
#[tokio::test]
async fn a_client_sending_its_body_slowly_is_cut_off_at_the_deadline() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let base = verifier(verifier::config::LoadSettings { request_deadline_secs: 1, ..Default::default() });
    let address = base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /credentials/verify HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Trickle a byte every 200 ms for up to 10 s: the answer must come long before.
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < std::time::Duration::from_secs(10) {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "cut off near the 1 s deadline");
    // A well-behaved request right after is served.
    let resp = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
}
