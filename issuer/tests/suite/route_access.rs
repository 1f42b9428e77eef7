//! Every protected route, attacked without a token (and with a wrong one) under
//! other spellings of its path. Requests are written by hand on a TCP stream:
//! HTTP clients normalise dot segments and would not send what an attacker sends.

use issuer::http::routes::access::{Access, INVENTORY};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::requests::health_request;

struct Target {
    port: u16,
    base: String,
    token: String,
    store: issuer::store::Store,
    _data: tempfile::TempDir,
}

async fn spawn() -> Target {
    let data = tempfile::tempdir().unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_api_token(&store, "test").await.unwrap();
    Target { port, base: format!("http://127.0.0.1:{port}"), token, store, _data: data }
}

/// `(status, Location header, body)` of a hand-written HTTP/1.1 request.
async fn raw(port: u16, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    // One write, no Nagle: a head and body in two small writes wait on the peer's delayed ACK.
    stream.set_nodelay(true).unwrap();
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.unwrap();
    // Read the head, then exactly Content-Length bytes: waiting for the server to
    // close a connection whose request body it never read costs ~300 ms a request.
    let mut reply = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&reply[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if length.is_some_and(|n| reply.len() >= end + 4 + n) {
                    return;
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => reply.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "{method} {target}: no complete answer within 10 s: {}", String::from_utf8_lossy(&reply));
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let location = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("location")).map(|(_, v)| v.trim()))
        .unwrap_or("")
        .to_owned();
    (status, location, body.to_owned())
}

/// The same path as an attacker might spell it (each spelling may reach the route
/// after actix's percent-decoding, or must reach nothing).
fn spellings(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = path.chars().collect();
    // Percent-encode the first and last letter of each segment (lower and upper hex
    // digits), e.g. /%61pi/…, /credentials/statu%73.
    for (i, c) in bytes.iter().enumerate() {
        let starts = i > 0 && bytes[i - 1] == '/';
        let ends = bytes.get(i + 1).is_none_or(|n| *n == '/');
        if c.is_ascii_alphabetic() && (starts || ends) {
            let before: String = bytes[..i].iter().collect();
            let after: String = bytes[i + 1..].iter().collect();
            out.push(format!("{before}%{:02x}{after}", *c as u32));
            out.push(format!("{before}%{:02X}{after}", *c as u32));
        }
    }
    // A letter of the other case, encoded: must not reach the route either (A ≠ a).
    if let Some(first) = path[1..].chars().next().filter(char::is_ascii_lowercase) {
        out.push(format!("/%{:02X}{}", first.to_ascii_uppercase() as u32, &path[2..]));
    }
    out.push(format!("/{path}"));
    if let Some((head, tail)) = path[1..].split_once('/') {
        out.push(format!("/{head}//{tail}"));
    }
    out.push(format!("/x/..{path}"));
    out.push(format!("/.{path}"));
    out.push(format!("{path}/"));
    out.push(format!("{path};x=1"));
    out.push(format!("{path}?x=1"));
    out.push(format!("{path}%2f"));
    out
}

async fn tree_size(t: &Target) -> String {
    let (status, _, body) = raw(t.port, "GET", "/log/checkpoint", &[], b"").await;
    assert_eq!(status, 200);
    body.lines().nth(1).unwrap().to_owned()
}

async fn status_of(t: &Target, uuid: &str) -> Value {
    let auth = format!("Bearer {}", t.token);
    let (status, _, body) =
        raw(t.port, "GET", &format!("/credentials/{uuid}/status"), &[("Authorization", &auth)], b"").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn no_spelling_of_a_protected_path_gets_past_its_check() {
    let t = spawn().await;
    let http = reqwest::Client::new();
    let issued: Value = http
        .post(format!("{}/api/v1/health-certificates", t.base))
        .bearer_auth(&t.token)
        .json(&health_request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = issued["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();

    // The raw client reaches routes through percent-encoded spellings: the attack is real.
    let (status, _, _) = raw(t.port, "GET", "/%6Cog/checkpoint", &[], b"").await;
    assert_eq!(status, 200, "actix decodes %6C before matching");
    let auth = format!("Bearer {}", t.token);
    let (status, _, _) =
        raw(t.port, "GET", &format!("/credentials/{uuid}/%73tatus"), &[("Authorization", &auth)], b"").await;
    assert_eq!(status, 200, "and so does the check, with a token");

    let size_before = tree_size(&t).await;
    let count_before = t.store.count_credentials(None).await.unwrap();
    let status_before = status_of(&t, &uuid).await;

    let credential = json!({
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:attacker"}
        }
    });
    let mut tried = 0;
    for (method, pattern, access) in INVENTORY {
        if *access == Access::Public {
            continue;
        }
        let path = pattern
            .replace("{uuid}", &uuid)
            .replace("{api_path}", "health-certificates")
            .replace("{digest}", &"ab".repeat(32));
        let body = match *pattern {
            "/credentials/issue" => credential.to_string(),
            "/credentials/status" => json!({"credentialId": issued["id"], "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}]}).to_string(),
            "/credentials/{uuid}/status" => json!({"action": "revoke", "reason": "attack"}).to_string(),
            "/api/v1/notarizations" => json!({"digests": ["ab".repeat(32)]}).to_string(),
            "/types/{api_path}/new" | "/certificates/new" | "/licences/new" | "/certificates/{uuid}/status" => {
                "action=revoke&reason=x".to_owned()
            }
            _ => health_request().to_string(),
        };
        let mut targets = spellings(&path);
        targets.push(path.clone());
        for target in targets {
            let plain = target == path;
            for authorization in [None, Some("Bearer ect_000000000000_not-a-token"), Some("Basic dGVzdDp0ZXN0")] {
                if authorization.is_some_and(|a| a.starts_with("Basic")) && !plain {
                    continue;
                }
                let mut headers = vec![("Content-Type", "application/json")];
                if let Some(a) = authorization {
                    headers.push(("Authorization", a));
                }
                let (status, location, reply) = raw(t.port, method.as_str(), &target, &headers, body.as_bytes()).await;
                tried += 1;
                let refused = match access {
                    Access::Staff(_) => status == 404 || (status == 303 && location.starts_with("/login")),
                    _ => [401, 403, 404].contains(&status),
                };
                assert!(refused, "{method} {target} ({authorization:?}) answered {status} {location} {reply}");
                if status == 401 {
                    let error: Value = serde_json::from_str(&reply).unwrap();
                    assert_eq!(error["error"], "unauthorized", "{method} {target}");
                }
            }
        }
    }
    assert!(tried > 500, "{tried} requests");

    assert_eq!(tree_size(&t).await, size_before, "nothing was logged");
    assert_eq!(t.store.count_credentials(None).await.unwrap(), count_before, "nothing was stored");
    assert_eq!(status_of(&t, &uuid).await, status_before, "the credential's status did not change");
}

#[tokio::test]
async fn reading_a_credential_needs_a_token_or_a_staff_session() {
    let t = spawn().await;
    let http = reqwest::Client::new();
    let issued: Value = http
        .post(format!("{}/api/v1/health-certificates", t.base))
        .bearer_auth(&t.token)
        .json(&health_request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = issued["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
    for path in [
        format!("/credentials/{uuid}"),
        format!("/credentials/{uuid}/qr.png"),
        format!("/credentials/{uuid}/qr.svg"),
        format!("/credentials/{uuid}/use"),
    ] {
        let resp = http.get(format!("{}{path}", t.base)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let resp = http.get(format!("{}{path}", t.base)).bearer_auth(&t.token).send().await.unwrap();
        assert_ne!(resp.status(), 401, "{path} with a token");
        // Review 4: the credential and its QR code (which holds all of it) stay
        // in no browser cache on a shared clinic PC.
        if !path.ends_with("/use") {
            assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
        }
    }
    // The public keeps what a verifier needs: status lists and the log.
    let list = issued["credential"]["credentialStatus"][0]["statusListCredential"].as_str().unwrap();
    assert_eq!(http.get(list).send().await.unwrap().status(), 200);
    let inclusion = http.get(format!("{}/credentials/{uuid}/inclusion", t.base)).send().await.unwrap();
    assert_eq!(inclusion.status(), 200);
}

#[tokio::test]
async fn secure_cookies_marks_the_staff_cookies_secure_behind_a_proxy() {
    for secure in [false, true] {
        let data = tempfile::tempdir().unwrap();
        let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
        settings.secure_cookies = secure;
        let app = issuer::startup::Application::build(&settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let resp = reqwest::Client::new().get(format!("{base}/login")).send().await.unwrap();
        // Review 4: no site may frame a staff page (a one-click reissue or
        // revoke button under someone else's page), and no Referer leaves.
        for (name, value) in [
            ("x-frame-options", "DENY"),
            ("content-security-policy", "frame-ancestors 'none'"),
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
        ] {
            assert_eq!(resp.headers()[name], value, "{name}");
        }
        let cookies: Vec<String> =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert!(!cookies.is_empty());
        for cookie in cookies {
            assert_eq!(cookie.contains("; Secure"), secure, "{cookie}");
        }
    }
}
