//! The issuer refuses to sign a document whose RDF canonicalisation would run
//! away (`document_too_complex`, 4xx) and keeps answering.

use serde_json::{json, Value};

#[tokio::test]
async fn vc_api_refuses_to_sign_a_canonicalisation_bomb() {
    let data = tempfile::tempdir().unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();

    for k in [9, 50] {
        let subject = json!({"c": vec![json!({"c": 1}); k]});
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
            "type": ["VerifiableCredential", "ExampleCredential"],
            "issuer": did,
            "credentialSubject": [subject.clone(), subject]
        });
        let resp = http
            .post(format!("{base}/credentials/issue"))
            .json(&json!({"credential": credential}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert!((400..500).contains(&status), "k = {k}: {status} {body:#}");
        assert_eq!(body["error"], "document_too_complex", "k = {k}: {body:#}");
        assert!(body["message"]["zh"].is_string() && body["message"]["en"].is_string());
    }
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}
