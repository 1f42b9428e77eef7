//! A credential type added by a definition file, at the inspector: the verifier
//! started with the same file reads the QR code, verifies the signature and shows
//! the fields the definition flags for inspectors, with their zh/en labels.

use serde_json::{json, Value};

const BOILER: &str = r#"{
  "type": "BoilerOperatorCertificate",
  "apiPath": "boiler-operator-certificates",
  "name": {"zh": "锅炉作业人员证", "en": "Boiler operator certificate"},
  "issuingDepartments": [{"zh": "市场监督管理局", "en": "Administration for Market Regulation"}],
  "jsonLd": {"context": "https://w3id.org/ecert/types/boiler-operator-certificate/v1"},
  "valueCodes": {"typeName": 2000, "context": 2001},
  "validity": {"fromDefault": "today", "months": 48},
  "fields": [
    {"name": "fullName", "type": "text", "maxLength": 50, "label": {"zh": "姓名", "en": "Name"}, "print": true},
    {"name": "idNumber", "type": "cnResidentId", "label": {"zh": "身份证号码", "en": "ID card number"}},
    {"name": "boilerClass", "type": "enum", "code": 2002, "label": {"zh": "作业项目", "en": "Operation"}, "print": true,
     "values": [{"code": "G1", "zh": "工业锅炉司炉", "en": "Industrial boiler operation"}]},
    {"name": "employer", "type": "text", "maxLength": 100, "code": 2003, "label": {"zh": "用人单位", "en": "Employer"}, "qr": false}
  ]
}"#;

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
        .json(&json!({"fullName": "赵强", "idNumber": "11010519491231002X", "boilerClass": "G1", "employer": "示例热力公司"}))
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
