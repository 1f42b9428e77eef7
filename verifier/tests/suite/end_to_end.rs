//! End to end on real parts: the real issuer and verifier services on
//! 127.0.0.1:0, real HTTP, real SQLite, real QR images.
//! issue → fetch QR PNG → decode → verify → valid; then every way a scan can go wrong.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;

use crate::support::requests::health_request;

struct Services {
    issuer: String,
    verifier: String,
    _data: tempfile::TempDir,
    http: reqwest::Client,
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
const ROOT_PASSPHRASE: &str = "test-only-passphrase";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

/// What the departments' trust list says, made fresh (issued now) for each test.
#[derive(Default)]
struct TrustFixture {
    /// Revoke the clinic's certificate (key compromise, one hour ago).
    revoke_clinic: bool,
    /// Also list an issuer certified by a root the verifier is not configured with.
    stranger_from_unknown_root: Option<IssuerKey>,
}

fn fresh_trust_list(t: &TrustFixture) -> Vec<u8> {
    use wallet_core::trust::*;
    let now = Utc::now();
    let health_pem = fixture("trust/health-commission-root.pem");
    let market_pem = fixture("trust/market-supervision-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let market_key = decrypt_private_key(&fixture("trust/market-supervision-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let clinic_der = certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap();
    let office_der = certificate_pem_to_der(&fixture("trust/licensing-office-other-issuer.pem")).unwrap();
    let mut revoked = Vec::new();
    if t.revoke_clinic {
        let serial = hex::decode(summarize_certificate(&clinic_der).unwrap().serial).unwrap();
        revoked.push(RevocationEntry {
            serial,
            revoked_at: now - chrono::Duration::hours(1),
            reason: RevocationReason::KeyCompromise,
            invalidity_date: None,
        });
    }
    let next = now + chrono::Duration::days(7);
    let mut roots = vec![certificate_pem_to_der(&health_pem).unwrap(), certificate_pem_to_der(&market_pem).unwrap()];
    let mut issuer_certificates = vec![clinic_der, office_der];
    let mut crls = vec![
        create_crl(&health_pem, &health_key, &revoked, now - chrono::Duration::minutes(1), next).unwrap(),
        create_crl(&market_pem, &market_key, &[], now - chrono::Duration::minutes(1), next).unwrap(),
    ];
    if let Some(stranger) = &t.stranger_from_unknown_root {
        let validity = CertificateValidity {
            not_before: now - chrono::Duration::days(1),
            not_after: now + chrono::Duration::days(365),
        };
        let rogue_root_key = IssuerKey::generate();
        let rogue_root = create_root(
            &DepartmentName { organization: "未经授权的机构".into(), common_name: "Rogue Root".into() },
            &validity,
            &rogue_root_key,
        )
        .unwrap();
        let csr = create_csr(stranger, "冒牌体检中心", "91350100M000100Y43", &stranger.did()).unwrap();
        let inside = CertificateValidity {
            not_before: validity.not_before + chrono::Duration::hours(1),
            not_after: validity.not_after - chrono::Duration::days(1),
        };
        let cert =
            issue_certificate(&csr, &rogue_root, &rogue_root_key, &["HealthCertificate"], &inside, &random_serial())
                .unwrap();
        roots.push(certificate_pem_to_der(&rogue_root).unwrap());
        issuer_certificates.push(certificate_pem_to_der(&cert).unwrap());
        crls.push(create_crl(&rogue_root, &rogue_root_key, &[], now - chrono::Duration::minutes(1), next).unwrap());
    }
    let contents = TrustListContents {
        sequence: 1,
        issued_at: now - chrono::Duration::minutes(1),
        next_update: next,
        roots,
        issuer_certificates,
        crls,
    };
    build_trust_list(&contents, &health_key, &[certificate_pem_to_der(&health_pem).unwrap()]).unwrap()
}

/// Issuer (with the clinic's certified key) and verifier (configured with both
/// department roots), sharing a freshly signed trust list.
async fn spawn_with(trust: TrustFixture) -> Services {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("issuer-key.pem"), fixture("keys/test-issuer.pem")).unwrap();
    let list_path = data.path().join("trust-list.json");
    std::fs::write(&list_path, fresh_trust_list(&trust)).unwrap();
    let mut issuer_settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    issuer_settings.trust_list = Some(list_path.clone());
    let issuer_app = issuer::startup::Application::build(&issuer_settings).await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", issuer_app.port());
    tokio::spawn(issuer_app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&issuer_settings).await.unwrap();
    let mut verifier_settings = verifier::config::Settings::for_tests();
    verifier_settings.trust.roots = vec![
        format!("{FIXTURES}/trust/health-commission-root.pem").into(),
        format!("{FIXTURES}/trust/market-supervision-root.pem").into(),
    ];
    verifier_settings.trust.trust_list_file = Some(list_path);
    verifier_settings.status.status_refresh_secs = 0;
    let verifier_app = verifier::startup::Application::build(&verifier_settings).unwrap();
    let verifier = format!("http://127.0.0.1:{}", verifier_app.port());
    tokio::spawn(verifier_app.run_until_stopped());
    Services { issuer, verifier, _data: data, http }
}

async fn spawn() -> Services {
    spawn_with(TrustFixture::default()).await
}

impl Services {
    async fn issue(&self) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/v1/health-certificates", self.issuer))
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    async fn verify_qr(&self, text: &str) -> (u16, Value) {
        let resp =
            self.http.post(format!("{}/verify/qr", self.verifier)).json(&json!({"qr": text})).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn verify_image(&self, bytes: Vec<u8>, content_type: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/verify/image", self.verifier))
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn still_serving(&self) {
        for base in [&self.issuer, &self.verifier] {
            let resp = self.http.get(format!("{base}/healthz")).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{base} stopped serving");
        }
    }
}

fn test_key() -> IssuerKey {
    IssuerKey::from_pkcs8_pem(include_str!("../../../fixtures/keys/test-issuer.pem")).unwrap()
}

async fn signed(mut unsigned: Value, key: &IssuerKey) -> Value {
    unsigned["issuer"] = json!(key.did());
    sign_credential(&unsigned, key, Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()).await.unwrap()
}

fn sample_unsigned() -> Value {
    serde_json::from_str(include_str!("../../../fixtures/credentials/sample-health-certificate.unsigned.json")).unwrap()
}

#[tokio::test]
async fn issue_fetch_qr_png_decode_and_verify() {
    let s = spawn().await;
    let issued = s.issue().await;
    let png_url = format!("{}{}", s.issuer, issued["links"]["qrPng"].as_str().unwrap());
    let resp = s.http.get(&png_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let png = resp.bytes().await.unwrap().to_vec();

    // The verifier decodes the photo and verifies the credential inside.
    let (status, body) = s.verify_image(png.clone(), "image/png").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["verified"], true);
    assert_eq!(body["report"]["checks"]["signature"]["result"], "valid");
    assert_eq!(body["report"]["checks"]["validityPeriod"]["result"], "valid");
    // Lossless: the credential scanned back is exactly the one issued.
    assert_eq!(body["credential"], issued["credential"]);

    // The same QR decoded locally gives the same text the verifier accepts.
    let text = wallet_core::qr::decode_image(&png).unwrap();
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["credential"]["credentialSubject"]["fullName"], "欧阳晓燕");

    // As a multipart upload (the inspector page's fallback form).
    let form = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(png).file_name("qr.png"));
    let resp = s.http.post(format!("{}/verify/image", s.verifier)).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // SVG is served too.
    let svg_url = format!("{}{}", s.issuer, issued["links"]["qrSvg"].as_str().unwrap());
    let svg = s.http.get(&svg_url).send().await.unwrap().text().await.unwrap();
    assert!(svg.contains("<svg"));
}

#[tokio::test]
async fn tampered_field_is_rejected_with_its_reason() {
    let s = spawn().await;
    let mut vc = s.issue().await["credential"].clone();
    vc["credentialSubject"]["fullName"] = json!("王小明");
    let text = wallet_core::compact::encode_credential(&vc).unwrap();
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!(status, 422);
    assert_eq!(body["verified"], false);
    assert_eq!(body["report"]["checks"]["signature"]["code"], "bad_signature");
}

#[tokio::test]
async fn tampered_signature_is_rejected() {
    let s = spawn().await;
    let mut vc = s.issue().await["credential"].clone();
    let pv = vc["proof"]["proofValue"].as_str().unwrap().to_owned();
    let flipped: String = pv
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c == '2' {
                    '3'
                } else {
                    '2'
                }
            } else {
                c
            }
        })
        .collect();
    vc["proof"]["proofValue"] = json!(flipped);
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&vc).unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["report"]["checks"]["signature"]["code"], "bad_signature");
}

#[tokio::test]
async fn expired_and_not_yet_valid_each_say_so() {
    let s = spawn().await;
    let key = test_key();
    let mut expired = sample_unsigned();
    expired["validFrom"] = json!("2020-01-01T00:00:00Z");
    expired["validUntil"] = json!("2021-01-01T00:00:00Z");
    let (status, body) =
        s.verify_qr(&wallet_core::compact::encode_credential(&signed(expired, &key).await).unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["report"]["checks"]["validityPeriod"]["code"], "expired");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "valid");

    let mut future = sample_unsigned();
    future["validFrom"] = json!("2099-01-01T00:00:00Z");
    future["validUntil"] = json!("2100-01-01T00:00:00Z");
    let (status, body) =
        s.verify_qr(&wallet_core::compact::encode_credential(&signed(future, &key).await).unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["report"]["checks"]["validityPeriod"]["code"], "not_yet_valid");
}

#[tokio::test]
async fn unknown_key_type_is_rejected() {
    let s = spawn().await;
    let mut vc = s.issue().await["credential"].clone();
    let k1 = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";
    vc["proof"]["verificationMethod"] = json!(format!("{k1}#{}", &k1[8..]));
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&vc).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "invalid");
}

#[tokio::test]
async fn malformed_qr_texts_get_their_own_error_codes() {
    let s = spawn().await;
    let vc = s.issue().await["credential"].clone();
    let text = wallet_core::compact::encode_credential(&vc).unwrap();

    let (status, body) = s.verify_qr(&text[..text.len() / 2]).await;
    assert_eq!(status, 400, "truncated: {body:#}");
    assert!(body["error"].is_string() && body["message"]["zh"].is_string() && body["message"]["en"].is_string());
    let truncated_code = body["error"].as_str().unwrap().to_owned();
    assert_ne!(truncated_code, "wrong_prefix");

    let (status, body) = s.verify_qr(&text.replacen("EC1:", "HC1:", 1)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("wrong_prefix")));

    let random: String = (0..300).map(|i| char::from(b'!' + ((i * 37 + 11) % 90) as u8)).collect();
    let (status, body) = s.verify_qr(&random).await;
    assert_eq!(status, 400, "random: {body:#}");

    let (status, body) = s.verify_qr(&format!("EC1:{}", "A".repeat(3))).await;
    assert_eq!(status, 400, "short: {body:#}");

    // Random bytes as a raw text/plain body (not UTF-8).
    let resp = s
        .http
        .post(format!("{}/verify/qr", s.verifier))
        .header("content-type", "text/plain")
        .body(vec![0xff, 0xfe, 0x00, 0x80])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    s.still_serving().await;
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused_and_the_services_keep_serving() {
    let s = spawn().await;
    let big = vec![b'a'; 10 * 1024 * 1024];
    let mut answered = 0;
    for (url, ct) in [
        (format!("{}/verify/image", s.verifier), "image/png"),
        (format!("{}/verify/qr", s.verifier), "text/plain"),
        (format!("{}/credentials/verify", s.verifier), "application/json"),
        (format!("{}/api/v1/health-certificates", s.issuer), "application/json"),
        (format!("{}/credentials/issue", s.issuer), "application/json"),
    ] {
        let resp = s.http.post(&url).header("content-type", ct).body(big.clone()).send().await;
        // The server may close the connection once it has answered 413.
        if let Ok(resp) = resp {
            answered += 1;
            assert_eq!(resp.status(), 413, "{url}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "payload_too_large", "{url}");
        }
    }
    eprintln!("413 answers read back: {answered}/5");
    assert!(answered >= 3, "most 10 MB requests must get a readable 413, got {answered}");
    s.still_serving().await;
}

#[tokio::test]
async fn an_image_without_a_qr_code_says_so() {
    let s = spawn().await;
    let mut img = image::RgbImage::from_pixel(400, 300, image::Rgb([255, 255, 255]));
    for (i, p) in img.pixels_mut().enumerate() {
        if (i * 7919) % 13 == 0 {
            *p = image::Rgb([30, 30, 30]);
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let (status, body) = s.verify_image(png, "image/png").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("no_qr_code")), "{body:#}");

    let (status, body) = s.verify_image(b"definitely not an image".to_vec(), "image/png").await;
    assert_eq!(status, 400, "{body:#}");
    assert_ne!(body["error"], "no_qr_code");
    s.still_serving().await;
}

#[tokio::test]
async fn vc_api_verify_answers_4xx_for_failures_never_200_false() {
    let s = spawn().await;
    let vc = s.issue().await["credential"].clone();
    let url = format!("{}/credentials/verify", s.verifier);
    let resp = s
        .http
        .post(&url)
        .json(&json!({"verifiableCredential": vc, "options": {"checks": ["proof"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["checks"].as_array().unwrap().contains(&json!("proof")));

    let mut tampered = vc.clone();
    tampered["credentialSubject"]["sex"] = json!("M");
    let resp = s.http.post(&url).json(&json!({"verifiableCredential": tampered})).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["verified"], false);
    assert_eq!(body["errors"][0]["code"], "bad_signature");

    // Not a credential at all.
    let resp = s.http.post(&url).json(&json!({"verifiableCredential": {"hello": "world"}})).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = s.http.post(&url).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_json");
}

// ---- issuer trust (department trust list) ----

/// A licence signed with the clinic's key, which its certificate allows only health
/// certificates for. The issuer service refuses to make one (its own trust-list entry
/// does not allow the type); a thief with the key, or a misconfigured issuer, could.
async fn licence_from_the_clinic(s: &Services) -> Value {
    let request = json!({
        "licenceNumber": "JY14401030012345", "licensee": "好味道餐饮店", "unifiedSocialCreditCode": "91350100M000100Y43",
        "legalRepresentative": "李四", "businessAddress": "中山五路100号", "businessScope": ["热食类食品制售"],
        "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2040-12-31T23:59:59Z"
    });
    let resp = s.http.post(format!("{}/api/v1/licences", s.issuer)).json(&request).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "credential_type_not_authorised");

    let key = IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap();
    let def = wallet_core::credential_type::TypeRegistry::shipped().unwrap().by_type("FoodBusinessLicence").unwrap();
    let checked = def
        .check_request_keyed(
            &request,
            Utc::now().date_naive(),
            Some(&wallet_core::credential::IdNumberKey::from_bytes([0x5a; 32])),
        )
        .unwrap();
    let (unsigned, lists) = crate::support::status_lists::with_status_entries(def.to_unsigned_credential(
        &checked,
        &wallet_core::credential::CredentialId::generate(),
        &key.did(),
    ));
    lists.serve_signed_by(&key).await;
    sign_credential(&unsigned, &key, Utc::now()).await.unwrap()
}

#[tokio::test]
async fn a_clinic_not_allowed_to_issue_licences_is_rejected_at_inspection() {
    let s = spawn().await;
    let licence = licence_from_the_clinic(&s).await;
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&licence).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "type_not_allowed");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "valid");
    // VC-API reports trust but, by default, does not require it.
    let resp = s
        .http
        .post(format!("{}/credentials/verify", s.verifier))
        .json(&json!({"verifiableCredential": licence}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "type_not_allowed");
}

#[tokio::test]
async fn issuers_from_an_unknown_root_or_without_certificate_are_rejected() {
    let stranger = IssuerKey::generate();
    let s = spawn_with(TrustFixture { stranger_from_unknown_root: Some(stranger.clone()), ..Default::default() }).await;
    let mut unsigned = sample_unsigned();
    unsigned["validFrom"] = json!("2026-01-01T00:00:00Z");
    unsigned["validUntil"] = json!("2040-01-01T00:00:00Z");
    let vc = sign_credential(
        &{
            let mut u = unsigned.clone();
            u["issuer"] = json!(stranger.did());
            u
        },
        &stranger,
        Utc::now(),
    )
    .await
    .unwrap();
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&vc).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "untrusted_root");

    let nobody = IssuerKey::generate();
    let vc = sign_credential(
        &{
            let mut u = unsigned.clone();
            u["issuer"] = json!(nobody.did());
            u
        },
        &nobody,
        Utc::now(),
    )
    .await
    .unwrap();
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&vc).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "unknown_issuer");
}

#[tokio::test]
async fn a_revoked_issuer_is_rejected() {
    let s = spawn_with(TrustFixture { revoke_clinic: true, ..Default::default() }).await;
    let vc = s.issue().await["credential"].clone();
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&vc).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "issuer_revoked");
}

#[tokio::test]
async fn the_verifier_syncs_the_trust_list_from_the_issuer_url() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("issuer-key.pem"), fixture("keys/test-issuer.pem")).unwrap();
    let list_path = data.path().join("trust-list.json");
    std::fs::write(&list_path, fresh_trust_list(&TrustFixture::default())).unwrap();
    let mut issuer_settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    issuer_settings.trust_list = Some(list_path);
    let issuer_app = issuer::startup::Application::build(&issuer_settings).await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", issuer_app.port());
    tokio::spawn(issuer_app.run_until_stopped());

    let http = issuer::accounts::authorized_client(&issuer_settings).await.unwrap();
    let resp = http.get(format!("{issuer}/trust-list")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let resp = http.get(format!("{issuer}/trust-list")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(resp.status(), 304);

    let mut settings = verifier::config::Settings::for_tests();
    settings.trust.roots = vec![format!("{FIXTURES}/trust/health-commission-root.pem").into()];
    settings.trust.trust_list_url = Some(format!("{issuer}/trust-list"));
    let app = verifier::startup::Application::build(&settings).unwrap();
    let verifier = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let s = Services { issuer, verifier, _data: data, http };
    let text = wallet_core::compact::encode_credential(&s.issue().await["credential"]).unwrap();
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, body) = s.verify_qr(&text).await;
        if status == 200 {
            assert_eq!(body["report"]["checks"]["issuerTrust"]["result"], "valid");
            return;
        }
        last = body;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the verifier never trusted the issuer: {last:#}");
}

// ---- revocation and suspension (Bitstring Status Lists) ----

async fn change_status(s: &Services, credential_id: &str, action: &str) {
    let uuid = credential_id.trim_start_matches("urn:uuid:");
    let resp = s
        .http
        .post(format!("{}/credentials/{uuid}/status", s.issuer))
        .json(&json!({"action": action, "reason": "复查发现传染病 / follow-up exam", "by": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{action}: {}", resp.text().await.unwrap());
}

#[tokio::test]
async fn revoked_and_suspended_certificates_say_so_at_the_next_scan() {
    // The verifier refetches lists older than refresh_secs; 0 here, 300 s by default.
    let s = spawn_with(TrustFixture::default()).await;
    let issued = s.issue().await;
    let vc = issued["credential"].clone();
    assert_eq!(vc["credentialStatus"].as_array().map(Vec::len), Some(2), "two status entries");
    let text = wallet_core::compact::encode_credential(&vc).unwrap();
    // With its 证照标识 (a tag 20 record: about 6 more bytes) the full
    // certificate still fits V15 at M (77×77 modules), as does the
    // mandatory-only derived credential an inspector is shown.
    assert!(wallet_core::qr::qr_version(&text).unwrap() <= 15, "the issued certificate fits V15 at M");

    let (status, body) = s.verify_qr(&text).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["report"]["checks"]["status"]["result"], "valid");

    let id = issued["id"].as_str().unwrap();
    change_status(&s, id, "suspend").await;
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["status"]["code"], "suspended");

    change_status(&s, id, "reinstate").await;
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!(status, 200, "{body:#}");

    change_status(&s, id, "revoke").await;
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["status"]["code"], "revoked");
    // Revocation is final.
    let resp = s
        .http
        .post(format!("{}/credentials/{}/status", s.issuer, id.trim_start_matches("urn:uuid:")))
        .json(&json!({"action": "reinstate", "reason": "mistake"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!((status, body["report"]["checks"]["status"]["code"].as_str()), (422, Some("revoked")));
}

#[tokio::test]
async fn a_status_list_that_cannot_be_fetched_fails_closed() {
    let s = spawn_with(TrustFixture::default()).await;
    let mut vc = s.issue().await["credential"].clone();
    // Point the entries at a list that does not exist, and re-sign as the clinic.
    let missing = format!("{}/status/999999", s.issuer);
    for entry in vc["credentialStatus"].as_array_mut().unwrap() {
        let index = entry["statusListIndex"].as_str().unwrap().to_owned();
        entry["statusListCredential"] = json!(missing);
        entry["id"] = json!(format!("{missing}#{index}"));
    }
    vc.as_object_mut().unwrap().remove("proof");
    let vc = sign_credential(&vc, &test_key(), Utc::now()).await.unwrap();
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&vc).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["status"]["code"], "status_list_unavailable");
}

#[test]
fn the_command_lines_parse() {
    // clap checks its definitions (e.g. duplicate argument ids) when a command is built.
    for (bin, args) in
        [(env!("CARGO_BIN_EXE_verifier"), &["serve", "--help"][..]), (env!("CARGO_BIN_EXE_verifier"), &["--help"][..])]
    {
        let out = std::process::Command::new(bin).args(args).env("RUST_BACKTRACE", "0").output().unwrap();
        assert!(out.status.success(), "{bin} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[tokio::test]
async fn the_inspector_route_checks_holder_presentations() {
    use wallet_core::holder::DeviceKey;
    use wallet_core::presentation::{present, Freshness};
    let s = spawn().await;
    let device = DeviceKey::generate();
    let mut request = health_request();
    request["holderKey"] = device.jwk();
    let resp = s.http.post(format!("{}/api/v1/health-certificates", s.issuer)).json(&request).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    let vc = &issued["credential"];

    // A fresh presentation (as a photo of its QR, too): verified, holder binding valid.
    let fresh = present(vc, &device, &Freshness::At(Utc::now())).unwrap();
    let (status, body) = s.verify_qr(&fresh).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["report"]["checks"]["holderBinding"]["result"], "valid");
    assert_eq!(&body["credential"], vc);
    let png = wallet_core::qr::render_png(&fresh, 4).unwrap();
    let (status, body) = s.verify_image(png, "image/png").await;
    assert_eq!((status, body["report"]["checks"]["holderBinding"]["result"].as_str()), (200, Some("valid")));

    // The inspector page shows the holder-presentation row (the page's form posts the scanned text).
    let page = s
        .http
        .post(format!("{}/inspect/qr?lang=en", s.verifier))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(wallet_core::oid4vci::form_encode(&[("qr", &fresh)]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Holder presentation"), "{html}");

    // The plain QR of a bound credential: the document verifies, the binding is not established.
    let plain = wallet_core::compact::encode_credential(vc).unwrap();
    println!(
        "issuer-issued bound credential (with status entries): plain QR {} chars, version {}; presentation QR {} chars, version {} (EC level M)",
        plain.len(),
        wallet_core::qr::qr_version(&plain).unwrap(),
        fresh.len(),
        wallet_core::qr::qr_version(&fresh).unwrap()
    );
    let (status, body) = s.verify_qr(&plain).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["report"]["checks"]["holderBinding"]["code"], "no_presentation");
    assert!(body["report"]["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "holder_binding_not_presented"));

    // Yesterday's screenshot and another phone's key fail.
    let stale = present(vc, &device, &Freshness::At(Utc::now() - chrono::Duration::minutes(2))).unwrap();
    let (status, body) = s.verify_qr(&stale).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["holderBinding"]["code"], "presentation_expired");
    let mut rebound = vc.clone();
    let thief = DeviceKey::generate();
    rebound["credentialSubject"]["id"] = json!(thief.did());
    let thiefs = present(&rebound, &thief, &Freshness::At(Utc::now())).unwrap();
    let (status, body) = s.verify_qr(&thiefs).await;
    assert_eq!(status, 422, "the altered credential fails its signature: {body:#}");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "invalid");

    // The inspector's challenge: answered → valid; another one or none → 422.
    let answered = present(vc, &device, &Freshness::Challenge(Utc::now(), "K7Q2".into())).unwrap();
    let with_challenge = |qr: &str, challenge: &str| {
        s.http.post(format!("{}/verify/qr", s.verifier)).json(&json!({"qr": qr, "challenge": challenge})).send()
    };
    let resp = with_challenge(&answered, "K7Q2").await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = with_challenge(&answered, "ZZ99").await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["checks"]["holderBinding"]["code"], "presentation_challenge_mismatch");
    assert_eq!(with_challenge(&fresh, "K7Q2").await.unwrap().status(), 422);
    // Attack: the plain QR (a screenshot of someone else's credential) shown
    // when a challenge was asked. Before: 200, holder binding "not presented".
    let resp = with_challenge(&plain, "K7Q2").await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["verified"], false, "{body:#}");
    assert_eq!(body["report"]["checks"]["holderBinding"]["code"], "presentation_challenge_missing", "{body:#}");

    // Garbage in the presentation form is a 400 with a code; the services keep serving.
    let (status, body) = s.verify_qr("EP1:00000").await;
    assert_eq!(status, 400, "{body:#}");
    s.still_serving().await;
}
