//! Credential types from definition files, on a real issuer: a type added by
//! a file alone is issued through the domain API (field errors with stable
//! codes), printed, scanned from its QR code and verified (and a tampered new
//! field fails the signature); a bad file stops the issuer naming the file and
//! the problem; a type the issuer's trust-list entry does not allow is refused.

use std::collections::HashMap;
use std::path::Path;

use chrono::{Duration, Utc};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{json, Value};
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    CertificateValidity, DepartmentName, TrustListContents,
};
use wallet_core::verification::{verify_credential, CheckResult, VerifyOptions};

const PASSWORD: &str = "correct horse battery staple";

/// A credential type that exists only as a definition file (fixtures/credential-types/).
const BOILER: &str = include_str!("../../../fixtures/credential-types/boiler-operator-certificate.json");

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
    settings: issuer::config::Settings,
    _data: tempfile::TempDir,
}

async fn spawn_with(configure: impl FnOnce(&mut issuer::config::Settings, &Path)) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    configure(&mut settings, data.path());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, did, http, settings, _data: data }
}

fn types_dir(data: &Path) -> std::path::PathBuf {
    let dir = data.join("types");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("boiler-operator-certificate.json"), BOILER).unwrap();
    dir
}

impl App {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// A staff session (cookie header) for the web pages.
    async fn staff_cookies(&self) -> String {
        let store = issuer::store::Store::connect(&self.settings.store_url()).await.unwrap();
        let hash = issuer::domain::accounts::hash_password(PASSWORD).unwrap();
        store.create_staff("dr.li", "李医生", &hash, issuer::domain::accounts::Role::Supervisor).await.unwrap();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut jar: HashMap<String, String> = HashMap::new();
        let take = |resp: &reqwest::Response, jar: &mut HashMap<String, String>| {
            for value in resp.headers().get_all(SET_COOKIE) {
                let pair = value.to_str().unwrap().split(';').next().unwrap().to_owned();
                let (k, v) = pair.split_once('=').unwrap();
                jar.insert(k.to_owned(), v.to_owned());
            }
        };
        let header =
            |jar: &HashMap<String, String>| jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let resp = client.get(format!("{}/login", self.base)).send().await.unwrap();
        take(&resp, &mut jar);
        let html = resp.text().await.unwrap();
        let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
        let csrf = html[start..start + 43].to_owned();
        let resp = client
            .post(format!("{}/login", self.base))
            .header(COOKIE, header(&jar))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([("csrf", csrf.as_str()), ("username", "dr.li"), ("password", PASSWORD)])
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303);
        take(&resp, &mut jar);
        header(&jar)
    }
}

#[tokio::test]
async fn a_type_defined_by_a_file_alone_is_issued_printed_scanned_and_verified() {
    let app = spawn_with(|s, data| s.credential_types = Some(types_dir(data))).await;
    let path = "/api/v1/boiler-operator-certificates";

    // Field-level errors, stable codes, both languages.
    let (status, body) =
        app.post(path, &json!({"fullName": "", "idNumber": "110105194912310021", "boilerClass": "G9", "yearsOfExperience": 99, "employer": "示例热力公司"})).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["error"], "invalid_fields");
    let details: Vec<(String, String)> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap().to_owned(), d["code"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("fullName", "required"),
        ("idNumber", "checksum"),
        ("boilerClass", "invalid_value"),
        ("yearsOfExperience", "out_of_range"),
    ];
    assert_eq!(details, expected.map(|(f, c)| (f.to_owned(), c.to_owned())));
    for d in body["details"].as_array().unwrap() {
        assert!(!d["message"]["zh"].as_str().unwrap().is_empty() && !d["message"]["en"].as_str().unwrap().is_empty());
    }
    assert!(!body.to_string().contains("110105194912310021"), "the ID number is not echoed");
    let (status, body) = app.post(path, &json!({"fullName": "赵强", "colour": "red"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_json")));
    assert!(body["message"]["en"].as_str().unwrap().contains("colour"));
    let anonymous = reqwest::Client::new().post(format!("{}{path}", app.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401, "the domain API needs a token for every type");
    let (status, body) = app.post("/api/v1/crane-operator-certificates", &json!({})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_credential_type")));

    // Issue.
    let request = json!({"fullName": "赵强", "idNumber": "11010519491231002X", "boilerClass": "G1", "yearsOfExperience": 12, "employer": "示例热力公司"});
    let (status, body) = app.post(path, &request).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = body["credential"].clone();
    assert_eq!(vc["type"], json!(["VerifiableCredential", "BoilerOperatorCertificate"]));
    assert_eq!(vc["issuer"], app.did.as_str());
    assert_eq!(vc["credentialSubject"]["yearsOfExperience"], 12);
    assert!(!body.to_string().contains("11010519491231002X"));
    let uuid = body["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();

    // Print page: the fields flagged for print, with their labels, in both languages; the others not.
    let cookies = app.staff_cookies().await;
    let web = reqwest::Client::new();
    for (lang, kind, labels, value) in [
        ("zh", "锅炉作业人员证", ["姓名", "作业项目", "从业年限"], "工业锅炉司炉"),
        (
            "en",
            "Boiler operator certificate",
            ["Name", "Operation", "Years of experience"],
            "Industrial boiler operation",
        ),
    ] {
        let resp = web
            .get(format!("{}/certificates/{uuid}?lang={lang}", app.base))
            .header(COOKIE, &cookies)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let html = resp.text().await.unwrap();
        assert!(html.contains(kind), "{lang}: type name");
        for label in labels {
            assert!(html.contains(&format!("<dt>{label}</dt>")), "{lang}: {label}");
        }
        assert!(
            html.contains(&format!("<dd>{value}</dd>"))
                && html.contains("<dd>赵强</dd>")
                && html.contains("<dd>12</dd>")
        );
        assert!(!html.contains("示例热力公司") && !html.contains("用人单位"), "employer is not printed");
    }

    // Scan: the QR image holds the compact form of exactly the signed credential.
    let png =
        app.http.get(format!("{}/credentials/{uuid}/qr.png", app.base)).send().await.unwrap().bytes().await.unwrap();
    let text = wallet_core::qr::decode_image(&png).unwrap();
    // An inspector's device with the same definition file (nothing is shared through the process).
    let types = wallet_core::credential_type::TypeRegistry::load(app.settings.credential_types.as_deref()).unwrap();
    let scanned = wallet_core::compact::decode_credential_with(&types, &text).unwrap();
    assert_eq!(scanned, vc);
    assert!(wallet_core::compact::decode_credential(&text).is_err(), "the shipped types alone do not read it");

    // Verify, as an inspector's device would.
    let inspector = || VerifyOptions::at(Utc::now()).with_types(types.clone());
    let report = verify_credential(&scanned, &inspector()).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(report.checks.signature, CheckResult::Valid);
    for (field, value) in [("boilerClass", json!("G2")), ("yearsOfExperience", json!(13)), ("employer", json!("别家"))]
    {
        let mut tampered = scanned.clone();
        tampered["credentialSubject"][field] = value;
        let report = verify_credential(&tampered, &inspector()).await.unwrap();
        assert!(!report.verified && matches!(report.checks.signature, CheckResult::Invalid { .. }), "{field}");
    }
}

#[tokio::test]
async fn the_shipped_types_issue_through_the_api_and_round_trip_the_qr_form() {
    let app = spawn_with(|_, _| {}).await;
    let requests = [
        (
            "/api/v1/physician-practising-certificates",
            json!({
            "fullName": "张伟", "sex": "M", "birthDate": "1980-02-01", "idNumber": "11010519491231002X",
            "certificateNumber": "110440100001234", "practiceCategory": "临床", "practiceScope": "内科专业",
            "practiceInstitution": "示例市第一人民医院", "registrationDate": "2025-06-01"}),
        ),
        (
            "/api/v1/driving-instructor-licences",
            json!({
            "fullName": "李娜", "sex": "F", "idNumber": "11010519491231002X", "certificateNumber": "JL2025000123",
            "vehicleClass": "C1", "trainingSchool": "示例市安达驾驶培训学校", "issueDate": "2025-09-10"}),
        ),
        (
            "/api/v1/dog-vaccination-certificates",
            json!({
            "ownerName": "陈静", "dogName": "旺财", "breed": "中华田园犬", "dogSex": "male", "birthYear": "2022",
            "vaccine": "rabies", "vaccinationDate": "2026-03-01", "vaccinationClinic": "示例市动物疫病预防控制中心"}),
        ),
    ];
    for (path, request) in requests {
        let (status, body) = app.post(path, &request).await;
        assert_eq!(status, 201, "{path}: {body:#}");
        let vc = &body["credential"];
        let png =
            app.http.get(format!("{}{}", app.base, body["links"]["qrPng"].as_str().unwrap())).send().await.unwrap();
        let text = wallet_core::qr::decode_image(&png.bytes().await.unwrap()).unwrap();
        let scanned = wallet_core::compact::decode_credential(&text).unwrap();
        assert_eq!(&scanned, vc, "{path}");
        assert!(verify_credential(&scanned, &VerifyOptions::at(Utc::now())).await.unwrap().verified, "{path}");
    }
}

#[tokio::test]
async fn a_bad_definition_file_stops_the_issuer_naming_the_file_and_the_problem() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("types");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = BOILER.replace(r#""type": "enum", "code": 2002"#, r#""type": "colour", "code": 2002"#);
    std::fs::write(dir.join("boiler.json"), bad).unwrap();

    // In process: the build fails with the reason.
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.credential_types = Some(dir.clone());
    let err = format!("{:#}", issuer::startup::Application::build(&settings).await.err().expect("refused"));
    assert!(
        err.contains("boiler.json") && err.contains("field \"boilerClass\": unknown field type \"colour\""),
        "{err}"
    );

    // The binary exits non-zero, naming the file and the problem.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_issuer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--credential-types")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&dir.join("boiler.json").display().to_string()), "{stderr}");
    assert!(stderr.contains("unknown field type \"colour\""), "{stderr}");
}

/// A trust list in which a health commission certifies `key` for health certificates only.
pub(crate) fn trust_list_for(key: &IssuerKey, types: &[&str]) -> Vec<u8> {
    let now = Utc::now();
    let validity = CertificateValidity { not_before: now - Duration::days(1), not_after: now + Duration::days(365) };
    let root_key = IssuerKey::generate();
    let root_pem = create_root(
        &DepartmentName {
            organization: "示例市卫生健康委员会".into(),
            common_name: "示例市卫生健康委员会电子证照根证书".into(),
        },
        &CertificateValidity { not_before: now - Duration::days(2), not_after: now + Duration::days(3650) },
        &root_key,
    )
    .unwrap();
    let root_der = certificate_pem_to_der(&root_pem).unwrap();
    let csr = create_csr(key, "示例市第一人民医院体检中心", "12110000MB0000001U", &key.did()).unwrap();
    let cert = issue_certificate(&csr, &root_pem, &root_key, types, &validity, &random_serial()).unwrap();
    let crl = create_crl(&root_pem, &root_key, &[], now - Duration::hours(1), now + Duration::days(30)).unwrap();
    let contents = TrustListContents {
        sequence: 1,
        issued_at: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        roots: vec![root_der.clone()],
        issuer_certificates: vec![certificate_pem_to_der(&cert).unwrap()],
        crls: vec![crl],
    };
    build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).unwrap()
}

#[tokio::test]
async fn a_type_the_issuers_trust_list_entry_does_not_allow_is_refused() {
    let app = spawn_with(|s, data| {
        let key = issuer::signing_key::load_or_generate(data).unwrap();
        let list = data.join("trust-list.json");
        std::fs::write(&list, trust_list_for(&key, &["HealthCertificate"])).unwrap();
        s.trust_list = Some(list);
    })
    .await;
    let (status, body) = app
        .post(
            "/api/v1/dog-vaccination-certificates",
            &json!({"ownerName": "陈静", "dogName": "旺财", "breed": "中华田园犬", "dogSex": "male", "birthYear": 2022,
                    "vaccine": "rabies", "vaccinationDate": "2026-03-01", "vaccinationClinic": "示例市动物疫病预防控制中心"}),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("credential_type_not_authorised")), "{body:#}");
    assert!(body["message"]["zh"].as_str().unwrap().contains("犬只免疫证明"), "{body:#}");
    assert!(body["message"]["en"].as_str().unwrap().contains("HealthCertificate"), "names what is allowed: {body:#}");
    let (status, _) = app
        .post(
            "/api/v1/licences",
            &json!({"licenceNumber": "JY1", "licensee": "x", "unifiedSocialCreditCode": "91350100M000100Y43",
                    "legalRepresentative": "x", "businessAddress": "x", "businessScope": ["x"],
                    "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 403);
    // The allowed type is issued.
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let (status, body) = app
        .post(
            "/api/v1/health-certificates",
            &json!({"fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
                    "idNumber": "11010519491231002X", "examinationDate": today,
                    "examiningInstitution": "示例市第一人民医院体检中心", "examinationResult": "qualified"}),
        )
        .await;
    assert_eq!(status, 201, "{body:#}");
}

#[tokio::test]
async fn the_web_form_of_a_type_from_a_file_is_built_from_its_definition() {
    let app = spawn_with(|s, data| s.credential_types = Some(types_dir(data))).await;
    let cookies = app.staff_cookies().await;
    let web = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: String| web.get(format!("{}{path}", app.base)).header(COOKIE, &cookies).send();

    let html = get("/types?lang=zh".into()).await.unwrap().text().await.unwrap();
    assert!(html.contains("href=\"/types/boiler-operator-certificates/new\"") && html.contains("锅炉作业人员证"));
    for (lang, labels) in [
        ("zh", ["作业项目", "工业锅炉司炉", "从业年限", "用人单位"]),
        ("en", ["Operation", "Industrial boiler operation", "Years of experience", "Employer"]),
    ] {
        let resp = get(format!("/types/boiler-operator-certificates/new?lang={lang}")).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let html = resp.text().await.unwrap();
        for label in labels {
            assert!(html.contains(label), "{lang}: {label}");
        }
        assert!(html.contains("<select id=\"f-boilerClass\"") && html.contains("type=\"number\""));
    }
    assert_eq!(get("/types/no-such-things/new".into()).await.unwrap().status().as_u16(), 404);

    let html = get("/types/boiler-operator-certificates/new?lang=en".into()).await.unwrap().text().await.unwrap();
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = html[start..start + 43].to_owned();
    let post = |form: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, &str)> = form;
        form.push(("csrf", csrf.as_str()));
        web.post(format!("{}/types/boiler-operator-certificates/new?lang=en", app.base))
            .header(COOKIE, &cookies)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&form).unwrap())
            .send()
    };
    let resp = post(vec![
        ("fullName", "赵强"),
        ("idNumber", "11010519491231002X"),
        ("boilerClass", ""),
        ("yearsOfExperience", "x"),
        ("employer", "e"),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"e-boilerClass\"") && html.contains("this field is required"), "localized field error");
    assert!(html.contains("id=\"e-yearsOfExperience\"") && html.contains("must be a whole number from 0 to 60"));
    let resp = post(vec![
        ("fullName", "赵强"),
        ("idNumber", "11010519491231002X"),
        ("boilerClass", "G2"),
        ("yearsOfExperience", "3"),
        ("employer", "e"),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let html = get(format!("{location}&lang=zh")).await.unwrap().text().await.unwrap();
    assert!(html.contains("<dd>电站锅炉司炉</dd>") && html.contains("<dd>3</dd>"), "{html}");
}
