//! 证照标识 on issued credentials: serials from the store, unique per issuing
//! authority and licence type, on SQLite and PostgreSQL; the identifier is
//! valid, verifies, fits the QR and is found by the API (which checks it first).

use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::licence_id::LicenceId;

use crate::support::postgres;
use crate::support::requests::health_request;

struct App {
    base: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

async fn spawn(database_url: Option<String>) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.database_url = database_url;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, http, _data: data }
}

fn licence_request() -> Value {
    json!({
        "licenceNumber": "JY14401030012345", "licensee": "广州市越秀区好味道餐饮店",
        "unifiedSocialCreditCode": "91350100M000100Y43", "legalRepresentative": "李四",
        "businessAddress": "广州市越秀区中山五路100号", "businessScope": ["热食类食品制售"],
        "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-12-31T23:59:59Z"
    })
}

impl App {
    async fn issue(&self, path: &str, body: &Value) -> Value {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{body:#}");
        body["credential"].clone()
    }

    async fn by_licence_id(&self, licence_id: &str) -> (u16, Value) {
        let resp = self.http.get(format!("{}/api/v1/licence-ids/{licence_id}", self.base)).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null))
    }
}

fn licence_id(vc: &Value) -> LicenceId {
    LicenceId::parse(vc["licenceId"].as_str().expect("a licence id")).unwrap()
}

/// Two of one type get serials 1 and 2 from the same authority; another type
/// counts on its own; every one is version 001 with its type's code.
async fn serials_count_per_issuer_and_type(app: &App) {
    let types = TypeRegistry::shipped().unwrap();
    let health_code = types.by_type("HealthCertificate").unwrap().licence_type_code.clone().unwrap();
    let food_code = types.by_type("FoodBusinessLicence").unwrap().licence_type_code.clone().unwrap();
    let first = licence_id(&app.issue("/api/v1/health-certificates", &health_request()).await);
    let second = licence_id(&app.issue("/api/v1/health-certificates", &health_request()).await);
    let licence = licence_id(&app.issue("/api/v1/licences", &licence_request()).await);
    assert_eq!((first.serial(), second.serial(), licence.serial()), ("1", "2", "1"));
    assert_eq!(first.issuer(), second.issuer());
    assert_eq!(first.issuer().as_str(), issuer::config::TEST_USCI);
    assert_eq!((first.type_code(), licence.type_code()), (&health_code, &food_code));
    assert!([&first, &second, &licence].iter().all(|id| id.version() == 1));
}

#[tokio::test]
async fn serials_count_per_issuer_and_type_on_sqlite() {
    serials_count_per_issuer_and_type(&spawn(None).await).await;
}

#[tokio::test]
async fn serials_count_per_issuer_and_type_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("licid").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    serials_count_per_issuer_and_type(&app).await;
    drop(app);
    database.drop_now().await;
}

#[tokio::test]
async fn an_issued_licence_id_verifies_fits_the_qr_and_is_found_by_the_api() {
    let app = spawn(None).await;
    let vc = app.issue("/api/v1/health-certificates", &health_request()).await;
    let id = licence_id(&vc);

    // The compact QR carries it losslessly (tag 20) and still fits version 15 at level M.
    let text = wallet_core::compact::encode_credential(&vc).unwrap();
    assert_eq!(wallet_core::compact::decode_credential(&text).unwrap(), vc);
    let version = wallet_core::qr::qr_version(&text).unwrap();
    assert!(version <= 15, "the issued health certificate needs version {version} at level M");

    // Verification: the check passes (no trust list here, so the authority is not compared).
    let report =
        wallet_core::verification::verify_credential(&vc, &wallet_core::verification::VerifyOptions::default())
            .await
            .unwrap();
    assert!(report.checks.licence_id.is_valid(), "{:?}", report.checks.licence_id);

    let (status, found) = app.by_licence_id(&id.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(found, vc);
    // Lower case is the same identifier.
    let (status, _) = app.by_licence_id(&id.to_string().to_lowercase()).await;
    assert_eq!(status, 200);

    let text = id.to_string();
    let (body, check) = text.split_at(text.len() - 1);
    let (status, err) = app.by_licence_id(&format!("{body}{}", if check == "0" { "1" } else { "0" })).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("licence_id_check")), "{err:#}");
    assert!(err["message"]["zh"].as_str().unwrap().contains("校验位"));
    assert!(err["message"]["en"].as_str().unwrap().contains("check character"));
    let (status, err) = app.by_licence_id("not-an-id").await;
    assert_eq!((status, err["error"].as_str()), (400, Some("licence_id_root")));

    let unknown = LicenceId::new(id.type_code().clone(), id.issuer().clone(), "999", 1).unwrap();
    let (status, _) = app.by_licence_id(&unknown.to_string()).await;
    assert_eq!(status, 404);
}

/// One request per shipped type with a licence type code (realistic values).
fn shipped_type_requests() -> Vec<(&'static str, Value)> {
    vec![
        ("/api/v1/health-certificates", health_request()),
        ("/api/v1/licences", licence_request()),
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
        (
            "/api/v1/medical-invoices",
            json!({
            "invoiceCode": "44010126", "invoiceNumber": "0012345678", "payerName": "王芳",
            "payee": "示例市第一人民医院", "visitType": "outpatient", "amountFen": 12850, "issueDate": "2026-03-01"}),
        ),
    ]
}

/// The compact QR of every shipped type with its 证照标识, beside the same
/// credential without it: characters and QR version at level M. Prints the
/// table (`cargo test -p issuer --test suite qr_sizes_of_the_shipped_types -- --nocapture`);
/// the full health certificate and physician certificate must fit version 15.
#[tokio::test]
async fn qr_sizes_of_the_shipped_types() {
    let app = spawn(None).await;
    // Serials of a busy issuer (six digits), not 1.
    for _ in 0..2 {
        app.issue("/api/v1/health-certificates", &health_request()).await;
    }
    println!("| type | serial | chars without / with 证照标识 | QR version M without / with |");
    let mut must_fit = Vec::new();
    for (path, request) in shipped_type_requests() {
        let vc = app.issue(path, &request).await;
        let with = wallet_core::compact::encode_credential(&vc).unwrap();
        assert_eq!(wallet_core::compact::decode_credential(&with).unwrap(), vc, "{path}");
        let mut without = vc.clone();
        without.as_object_mut().unwrap().remove("licenceId");
        let without = wallet_core::compact::encode_credential(&without).unwrap();
        let (v_with, v_without) =
            (wallet_core::qr::qr_version(&with).unwrap(), wallet_core::qr::qr_version(&without).unwrap());
        println!(
            "| {path} | {} | {} / {} | {v_without} / {v_with} |",
            licence_id(&vc).serial(),
            without.len(),
            with.len()
        );
        if ["/api/v1/health-certificates", "/api/v1/physician-practising-certificates"].contains(&path) {
            must_fit.push((path, v_with, with.len()));
        }
    }
    assert_eq!(must_fit.len(), 2);
    for (path, version, chars) in must_fit {
        assert!(version <= 15, "the issued {path} credential needs version {version} at level M ({chars} chars)");
    }
}
