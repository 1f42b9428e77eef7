//! A selectively disclosed (`ecdsa-sd-2023`, derived) health certificate at the
//! inspector: the QR text verifies, the inspector page shows what was disclosed
//! and nothing else, and the issuer's base proof is refused.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::keys::IssuerKey;

async fn base_health_certificate() -> Value {
    let key = IssuerKey::generate();
    let mut unsigned: Value =
        serde_json::from_str(include_str!("../../../fixtures/qr/sample-health-certificate.signed.json")).unwrap();
    unsigned.as_object_mut().unwrap().remove("proof");
    unsigned["issuer"] = json!(key.did());
    // Valid now, whenever the test runs.
    let now = Utc::now();
    unsigned["validFrom"] = json!((now - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string());
    unsigned["validUntil"] = json!((now + chrono::Duration::days(300)).format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let created = Utc.timestamp_opt(now.timestamp() - 3600, 0).unwrap();
    wallet_core::selective_disclosure::sign_base_for_type(&TypeRegistry::default(), &unsigned, &key, created)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_inspector_verifies_a_derived_certificate_and_sees_only_what_was_disclosed() {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let verifier = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();

    let base = base_health_certificate().await;
    let derived = wallet_core::selective_disclosure::derive_with(&TypeRegistry::default(), &base, &[]).await.unwrap();
    let qr = wallet_core::compact::encode_credential(&derived).unwrap();
    let resp = http.post(format!("{verifier}/verify/qr")).json(&json!({"qr": qr})).send().await.unwrap();
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["report"]["checks"]["signature"]["result"], "valid", "{report:#}");
    assert_eq!(report["report"]["checks"]["validityPeriod"]["result"], "valid", "{report:#}");
    assert!(report["credential"]["credentialSubject"].get("birthDate").is_none());

    let html = http
        .post(format!("{verifier}/inspect/qr?lang=en"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("qr", qr.as_str())]).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("欧阳晓燕"), "{html}");
    assert!(!html.contains("1991-07-23"), "the birth date was not disclosed: {html}");
    assert!(!html.contains("广州市越秀区"), "the institution was not disclosed: {html}");

    // The issuer's base proof, shown as it is: refused with its own code.
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": base}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body.to_string().contains("sd_base_proof_presented"), "{body:#}");
}

#[tokio::test]
async fn a_derived_certificate_verifies_from_a_qr_image_and_the_holders_derive_endpoint() {
    let app = verifier::startup::Application::build(&verifier::config::Settings::for_tests()).unwrap();
    let verifier = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let base = base_health_certificate().await;

    // VC-API derive (the holder's): mandatory fields plus the birth date.
    let resp = http
        .post(format!("{verifier}/credentials/derive"))
        .json(
            &json!({"verifiableCredential": base, "options": {"selectivePointers": ["/credentialSubject/birthDate"]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let derived = resp.json::<Value>().await.unwrap()["verifiableCredential"].clone();
    assert_eq!(derived["credentialSubject"]["birthDate"], "1991-07-23");
    assert!(derived["credentialSubject"].get("examiningInstitution").is_none(), "{derived:#}");

    // Its QR code as a photo: the image path verifies it.
    let qr = wallet_core::compact::encode_credential(&derived).unwrap();
    let png = wallet_core::qr::render_png(&qr, 4).unwrap();
    let resp = http
        .post(format!("{verifier}/verify/image"))
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["report"]["checks"]["signature"]["result"], "valid", "{report:#}");
    assert_eq!(report["credential"]["credentialSubject"]["birthDate"], "1991-07-23");
    // VC-API verify: the proof check passes.
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": derived}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(body["checks"].as_array().unwrap().contains(&json!("proof")), "{body:#}");

    // Refused: not a base proof, a pointer to nothing, too many pointers, not JSON.
    let derive = |body: Value| {
        let http = http.clone();
        let url = format!("{verifier}/credentials/derive");
        async move {
            let resp = http.post(url).json(&body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = derive(json!({"verifiableCredential": derived})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("not_sd_base_proof")), "{body:#}");
    let (status, body) =
        derive(json!({"verifiableCredential": base, "options": {"selectivePointers": ["/credentialSubject/nothing"]}}))
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_selective_pointer")), "{body:#}");
    assert!(body["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()));
    let many = vec!["/credentialSubject/birthDate"; 257];
    let (status, body) = derive(json!({"verifiableCredential": base, "options": {"selectivePointers": many}})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_selective_pointer")), "{body:#}");
    let (status, _) = derive(json!({"verifiableCredential": "text"})).await;
    assert_eq!(status, 400);
    // A base proof value made up by the caller, its mandatory pointers 90,000
    // empty ones (each a pass over the whole document): refused before any.
    let flood = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let value = base["proof"]["proofValue"].as_str().unwrap();
        let bytes = b64.decode(&value[1..]).unwrap();
        let (header, body) = bytes.split_at(3);
        let mut parts: Vec<ciborium::Value> = ciborium::from_reader(body).unwrap();
        parts[4] = ciborium::Value::Array(vec![ciborium::Value::Text(String::new()); 90_000]);
        let mut forged = header.to_vec();
        ciborium::into_writer(&parts, &mut forged).unwrap();
        let mut flood = base.clone();
        flood["proof"]["proofValue"] = json!(format!("u{}", b64.encode(forged)));
        flood
    };
    let (status, body) = derive(json!({"verifiableCredential": flood})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("sd_proof_too_large")), "{body:#}");
    // Still serving.
    assert_eq!(http.get(format!("{verifier}/healthz")).send().await.unwrap().status(), 200);
}
