//! A credential type added by a definition file, at the inspector: the verifier
//! started with the same file reads the QR code, verifies the signature and shows
//! the fields the definition flags for inspectors, with their zh/en labels.

use serde_json::{json, Value};

/// A credential type that exists only as a definition file (fixtures/credential-types/).
const BOILER: &str = include_str!("../../../fixtures/credential-types/boiler-operator-certificate.json");

#[tokio::test]
async fn an_inspector_reads_and_verifies_a_type_defined_by_a_file() {
    let data = tempfile::tempdir().unwrap();
    let types = data.path().join("types");
    std::fs::create_dir_all(&types).unwrap();
    std::fs::write(types.join("boiler.json"), BOILER).unwrap();

    let mut issuer_settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    issuer_settings.credential_types = Some(types.clone());
    let issuer_app = issuer::startup::Application::build(&issuer_settings).await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", issuer_app.port());
    tokio::spawn(issuer_app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&issuer_settings).await.unwrap();

    let mut verifier_settings = verifier::config::Settings::for_tests();
    verifier_settings.credential_types = Some(types.clone());
    let verifier_app = verifier::startup::Application::build(&verifier_settings).unwrap();
    let verifier = format!("http://127.0.0.1:{}", verifier_app.port());
    tokio::spawn(verifier_app.run_until_stopped());

    let resp = http
        .post(format!("{issuer}/api/v1/boiler-operator-certificates"))
        .json(&json!({"fullName": "赵强", "idNumber": "11010519491231002X", "boilerClass": "G1", "yearsOfExperience": 12, "employer": "示例热力公司"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    let png = http.get(format!("{issuer}{}", body["links"]["qrPng"].as_str().unwrap())).send().await.unwrap();
    let text = wallet_core::qr::decode_image(&png.bytes().await.unwrap()).unwrap();

    // JSON: the signature is valid (issuer trust is not configured here, so not "verified").
    let resp = http.post(format!("{verifier}/verify/qr")).json(&json!({"qr": text})).send().await.unwrap();
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["report"]["checks"]["signature"]["result"], "valid", "{report:#}");
    assert_eq!(report["credential"]["credentialSubject"]["boilerClass"], "G1");

    // The inspector page: type name, labels and values from the definition; `qr: false` fields hidden.
    let web = reqwest::Client::new();
    for (lang, kind, label, value) in [
        ("zh", "锅炉作业人员证", "作业项目", "工业锅炉司炉"),
        ("en", "Boiler operator certificate", "Operation", "Industrial boiler operation"),
    ] {
        let html = web
            .post(format!("{verifier}/inspect/qr?lang={lang}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("qr", text.as_str())]).unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(kind), "{lang}: {html}");
        assert!(html.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")), "{lang}: {html}");
        assert!(html.contains("<dd>赵强</dd>"));
        assert!(!html.contains("示例热力公司"), "employer is not shown to inspectors");
    }

    // A verifier given a bad definition directory does not start.
    let bad = data.path().join("bad-types");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("boiler.json"), BOILER.replace("\"zh\": \"用人单位\"", "\"zh\": \"\"")).unwrap();
    let mut settings = verifier::config::Settings::for_tests();
    settings.credential_types = Some(bad);
    let err = format!("{:#}", verifier::startup::Application::build(&settings).err().expect("refused"));
    assert!(err.contains("boiler.json") && err.contains("field \"employer\": the label has no zh text"), "{err}");
}
