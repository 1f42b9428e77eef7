//! Issue #14: signing runs on a bounded CPU pool. Saturated, the issuer answers
//! 503 `busy` with `Retry-After` at once, keeps answering `/healthz`, and every
//! credential it acknowledged (201) is stored and served.

use serde_json::Value;

use crate::support::requests::health_request;

#[tokio::test]
async fn a_saturated_pool_answers_busy_and_every_acknowledged_credential_is_stored() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.cpu_workers = Some(1);
    settings.cpu_queue = 1;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();

    let requests: Vec<_> = (0..40)
        .map(|_| {
            let request = http.post(format!("{base}/api/v1/health-certificates")).json(&health_request());
            tokio::spawn(request.send())
        })
        .collect();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let mut issued = Vec::new();
    let mut busy = 0;
    for task in requests {
        let resp = task.await.unwrap().unwrap();
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let body: Value = resp.json().await.unwrap();
        match status {
            201 => issued.push(body["links"]["credential"].as_str().unwrap().to_owned()),
            503 => {
                assert_eq!(body["error"], "busy", "{body}");
                assert_eq!(retry_after.as_deref(), Some("1"));
                busy += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(busy > 0, "one thread and one queue slot cannot take 40 signatures at once");
    assert!(!issued.is_empty());
    for link in &issued {
        let resp = http.get(format!("{base}{link}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "acknowledged {link} is stored");
    }
}
