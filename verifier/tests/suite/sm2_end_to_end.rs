//! SM2 end to end (issue #17 item 2): an SM2 department root certifies an SM2
//! clinic key; the issuer serves with that key (`--key-algorithm sm2`) and
//! issues over the domain API; the verifier, configured with the SM2 root and
//! the SM2-signed trust list, reports the credential valid (JSON and QR), and
//! refuses it tampered, signed by a P-256 key in the SM2 issuer's name, and
//! revoked (the status list it fetches is signed by the same SM2 key).

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    CertificateValidity, DepartmentName, TrustAlgorithm, TrustKey, TrustListContents,
};

use crate::support::requests::health_request;

struct Services {
    issuer: String,
    verifier: String,
    clinic_did: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

/// The SM2 department: root, the clinic's certificate for `clinic`, an empty
/// CRL, the SM2-signed trust list. Writes the root PEM and the list into `dir`.
fn sm2_department(dir: &std::path::Path, clinic: &TrustKey) {
    let now = Utc::now();
    let root_key = TrustKey::generate(TrustAlgorithm::Sm2);
    let validity = CertificateValidity { not_before: now - Duration::days(1), not_after: now + Duration::days(3650) };
    let root_pem = create_root(
        &DepartmentName {
            organization: "示例市卫生健康委员会".into(),
            common_name: "示例市卫生健康委员会SM2根证书".into(),
        },
        &validity,
        &root_key,
    )
    .unwrap();
    let csr = create_csr(clinic, "示例市第一人民医院", issuer::config::TEST_USCI, &clinic.did()).unwrap();
    let inside = CertificateValidity { not_before: now - Duration::hours(1), not_after: now + Duration::days(365) };
    let cert =
        issue_certificate(&csr, &root_pem, &root_key, &["HealthCertificate"], &inside, &random_serial()).unwrap();
    let root_der = certificate_pem_to_der(&root_pem).unwrap();
    let contents = TrustListContents {
        sequence: 1,
        issued_at: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        roots: vec![root_der.clone()],
        issuer_certificates: vec![certificate_pem_to_der(&cert).unwrap()],
        crls: vec![create_crl(&root_pem, &root_key, &[], now - Duration::minutes(1), now + Duration::days(7)).unwrap()],
    };
    let list = build_trust_list(&contents, &root_key, &[root_der]).unwrap();
    std::fs::write(dir.join("sm2-root.pem"), root_pem).unwrap();
    std::fs::write(dir.join("trust-list.json"), list).unwrap();
}

async fn spawn() -> Services {
    let data = tempfile::tempdir().unwrap();
    let clinic = TrustKey::generate(TrustAlgorithm::Sm2);
    let TrustKey::Sm2(sm2) = &clinic else { unreachable!() };
    std::fs::write(data.path().join(issuer::signing_key::SM2_KEY_FILE), sm2.to_pkcs8_pem().unwrap()).unwrap();
    sm2_department(data.path(), &clinic);
    let list_path = data.path().join("trust-list.json");

    let mut issuer_settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    issuer_settings.key_algorithm = TrustAlgorithm::Sm2;
    issuer_settings.trust_list = Some(list_path.clone());
    let issuer_app = issuer::startup::Application::build(&issuer_settings).await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", issuer_app.port());
    tokio::spawn(issuer_app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&issuer_settings).await.unwrap();

    let mut verifier_settings = verifier::config::Settings::for_tests();
    verifier_settings.trust.roots = vec![data.path().join("sm2-root.pem")];
    verifier_settings.trust.trust_list_file = Some(list_path);
    verifier_settings.trust.require_trust_on_vc_api = true;
    verifier_settings.status.status_refresh_secs = 0;
    let verifier_app = verifier::startup::Application::build(&verifier_settings).unwrap();
    let verifier = format!("http://127.0.0.1:{}", verifier_app.port());
    tokio::spawn(verifier_app.run_until_stopped());
    Services { issuer, verifier, clinic_did: clinic.did(), http, _data: data }
}

impl Services {
    async fn issue(&self) -> Value {
        let resp =
            self.http.post(format!("{}/api/v1/health-certificates", self.issuer)).json(&health_request()).send().await;
        let resp = resp.unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    async fn verify(&self, vc: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/credentials/verify", self.verifier))
            .json(&json!({"verifiableCredential": vc}))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn verify_qr(&self, text: &str) -> (u16, Value) {
        let resp =
            self.http.post(format!("{}/verify/qr", self.verifier)).json(&json!({"qr": text})).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

fn check<'a>(body: &'a Value, name: &str) -> (&'a str, &'a str) {
    let c = &body["report"]["checks"][name];
    (c["result"].as_str().unwrap_or(""), c["code"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn sm2_root_clinic_issuer_and_verifier_end_to_end() {
    let s = spawn().await;
    let issued = s.issue().await;
    let vc = issued["credential"].clone();
    assert_eq!(vc["issuer"], json!(s.clinic_did));
    assert_eq!(vc["proof"]["cryptosuite"], "sm2-rdfc-2026");
    assert!(vc["proof"]["verificationMethod"].as_str().unwrap().starts_with(&s.clinic_did));

    // Valid, every check the verifier makes: signature, the SM2 certificate,
    // the status lists the issuer signed with the same SM2 key.
    let (status, body) = s.verify(&vc).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["verified"], true, "{body:#}");
    assert_eq!(check(&body, "signature").0, "valid");
    assert_eq!(check(&body, "issuerTrust").0, "valid", "{body:#}");
    assert_eq!(check(&body, "status").0, "valid", "{body:#}");
    // The status list itself is an sm2-rdfc-2026 credential.
    let list_url = vc["credentialStatus"][0]["statusListCredential"].as_str().unwrap();
    let list: Value = s.http.get(list_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["proof"]["cryptosuite"], "sm2-rdfc-2026");

    // The issuer's QR (the compact form) gets the same verdict.
    let png_url = format!("{}{}", s.issuer, issued["links"]["qrPng"].as_str().unwrap());
    let png = s.http.get(&png_url).send().await.unwrap().bytes().await.unwrap().to_vec();
    let text = wallet_core::qr::decode_image(&png).unwrap();
    let (status, qr_body) = s.verify_qr(&text).await;
    assert_eq!(status, 200, "{qr_body:#}");
    assert_eq!(qr_body["verified"], true);
    assert_eq!(qr_body["credential"], vc);

    // Tampered.
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["fullName"] = json!("王五");
    let (status, body) = s.verify(&tampered).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(check(&body, "signature"), ("invalid", "bad_signature"));
    let (status, body) = s.verify_qr(&wallet_core::compact::encode_credential(&tampered).unwrap()).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(check(&body, "signature"), ("invalid", "bad_signature"));

    // A P-256 key issuing in the SM2 issuer's name, and its signature relabelled
    // with the SM2 verification method: the SM2 certificate vouches for neither.
    let p256 = IssuerKey::generate();
    let mut unsigned = vc.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    let forged = sign_credential(&unsigned, &p256, Utc::now()).await.unwrap();
    let (status, body) = s.verify(&forged).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(check(&body, "issuerTrust"), ("invalid", "issuer_not_key_controller"));
    let mut relabelled = forged.clone();
    relabelled["proof"]["verificationMethod"] = vc["proof"]["verificationMethod"].clone();
    let (status, body) = s.verify(&relabelled).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(check(&body, "signature").0, "invalid", "{body:#}");

    // Malformed SM2 proof values and keys: a report, not a crash.
    let mut short = vc.clone();
    let value = vc["proof"]["proofValue"].as_str().unwrap();
    short["proof"]["proofValue"] = json!(&value[..value.len() - 4]);
    let (status, body) = s.verify(&short).await;
    assert_eq!((status, check(&body, "signature")), (422, ("invalid", "bad_signature")), "{body:#}");
    let mut p256_method = vc.clone();
    p256_method["proof"]["verificationMethod"] = json!(p256.verification_method());
    let (status, body) = s.verify(&p256_method).await;
    assert_eq!((status, check(&body, "signature")), (422, ("invalid", "unsupported_key")), "{body:#}");

    // An SM2 issuer signs sm2-rdfc-2026 only: a selective-disclosure request is a 4xx.
    let resp = s
        .http
        .post(format!("{}/api/v1/health-certificates?cryptosuite=ecdsa-sd-2023", s.issuer))
        .json(&health_request())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert!((400..500).contains(&status), "{status} {body:#}");
    assert_eq!(body["error"], "unsupported_cryptosuite", "{body:#}");

    // Revoked at the issuer: the verifier's next fetch of the SM2-signed list says so.
    let uuid = issued["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    let resp = s
        .http
        .post(format!("{}/credentials/{uuid}/status", s.issuer))
        .json(&json!({"action": "revoke", "reason": "licence withdrawn", "by": "tester"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, body) = s.verify(&vc).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(check(&body, "status"), ("invalid", "revoked"), "{body:#}");
    let (status, body) = s.verify_qr(&text).await;
    assert_eq!((status, check(&body, "status")), (422, ("invalid", "revoked")), "{body:#}");
}
