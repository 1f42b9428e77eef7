//! Canonicalisation bombs over HTTP: a credential whose RDF canonicalisation
//! would run away (arrays of identical blank nodes) is answered at once with
//! 4xx and `document_too_complex`, and the service keeps answering.

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;

fn start_verifier() -> String {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// A credential with a well-formed `did:key` proof whose two subjects then
/// get `k` identical `{"c": 1}` elements each (847 bytes at k = 9).
async fn bomb(k: usize) -> Value {
    let key = IssuerKey::generate();
    let small = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": key.did(),
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"c": 1}
    });
    let mut signed = sign_credential(&small, &key, Utc::now()).await.unwrap();
    let subject = json!({"c": vec![json!({"c": 1}); k]});
    signed["credentialSubject"] = json!([subject.clone(), subject]);
    signed
}

fn error_codes(body: &Value) -> Vec<&str> {
    body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["code"].as_str()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_canonicalisation_bomb_is_refused_with_document_too_complex_and_the_verifier_stays_up() {
    let verifier = start_verifier();
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().unwrap();
    for k in [9, 50] {
        let resp = http
            .post(format!("{verifier}/credentials/verify"))
            .json(&json!({"verifiableCredential": bomb(k).await}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 422, "k = {k}: {body:#}");
        assert_eq!(body["verified"], false);
        assert_eq!(error_codes(&body), ["document_too_complex"], "k = {k}: {body:#}");
        assert_eq!(body["report"]["checks"]["signature"]["code"], "document_too_complex");
        assert!(body["report"]["checks"]["signature"]["reason"]["zh"].is_string());
    }
    // The same bomb as a scanned QR code (the compact form carries any JSON).
    let qr = wallet_core::compact::encode_credential(&bomb(50).await).unwrap();
    let resp = http.post(format!("{verifier}/verify/qr")).json(&json!({"qr": qr})).send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["signature"]["code"], "document_too_complex", "{body:#}");

    let vp = json!({
        "verifiablePresentation": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [bomb(20).await]
        }
    });
    let resp = http.post(format!("{verifier}/presentations/verify")).json(&vp).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["credentials"][0]["checks"]["signature"]["code"], "document_too_complex", "{body:#}");

    // JSON nested deeper than serde_json's limit is a 400 with a code, not a 500.
    let deep = format!("{{\"verifiableCredential\": {}1{}}}", "[".repeat(200), "]".repeat(200));
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 400, "{body:#}");
    assert!(body["error"].as_str().is_some_and(|c| !c.is_empty()), "{body:#}");

    // Deeper than wallet-core's limit (but within serde_json's): 400 document_too_deep.
    let mut deep = bomb(1).await;
    deep["credentialSubject"] = (0..20).fold(json!(1), |inner, _| json!({ "c": inner }));
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": deep}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "document_too_deep", "{body:#}");

    let health = http.get(format!("{verifier}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}
