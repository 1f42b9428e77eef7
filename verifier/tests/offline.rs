//! Offline inspection with a signed verifier bundle: `verifier check` runs in a
//! network namespace with only loopback (`unshare -n`), so any network use
//! would fail. A fresh bundle verifies a valid credential and fails a revoked
//! one; 3 days old, the result carries staleness warnings; 8 days old, the
//! status check fails; a bundle signed by an unknown key is refused.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use wallet_core::trust::*;
use wallet_core::verifier_bundle::{sign_bundle, BundledStatusList, VerifierBundle, VERIFIER_BUNDLE_VERSION};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
const ROOT_PASSPHRASE: &str = "test-only-passphrase";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

/// The departments' trust list as issued `issued` ago (valid 7 days from then).
fn trust_list(issued: chrono::DateTime<Utc>) -> Vec<u8> {
    let health_pem = fixture("trust/health-commission-root.pem");
    let market_pem = fixture("trust/market-supervision-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let market_key = decrypt_private_key(&fixture("trust/market-supervision-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let next = issued + Duration::days(7);
    let contents = TrustListContents {
        sequence: 1,
        issued_at: issued,
        next_update: next,
        roots: vec![certificate_pem_to_der(&health_pem).unwrap(), certificate_pem_to_der(&market_pem).unwrap()],
        issuer_certificates: vec![certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap()],
        crls: vec![
            create_crl(&health_pem, &health_key, &[], issued - Duration::minutes(1), next).unwrap(),
            create_crl(&market_pem, &market_key, &[], issued - Duration::minutes(1), next).unwrap(),
        ],
    };
    build_trust_list(&contents, &health_key, &[certificate_pem_to_der(&health_pem).unwrap()]).unwrap()
}

/// A bundle collected `age` ago, signed by the health commission's root key (or `signer`).
fn bundle(
    age: Duration,
    lists: &[BundledStatusList],
    signer: Option<(&wallet_core::keys::IssuerKey, Vec<u8>)>,
) -> Vec<u8> {
    let issued = Utc::now() - age;
    let contents = VerifierBundle {
        version: VERIFIER_BUNDLE_VERSION,
        sequence: 7,
        issued_at: issued,
        trust_list: String::from_utf8(trust_list(issued)).unwrap(),
        status_lists: lists.to_vec(),
        checkpoints: Vec::new(),
    };
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    match signer {
        Some((key, cert)) => sign_bundle(&contents, key, &[cert]).unwrap(),
        None => sign_bundle(&contents, &health_key, &[certificate_pem_to_der(&health_pem).unwrap()]).unwrap(),
    }
}

/// `unshare -n` when this machine allows it (root, user namespaces), else `None`.
fn offline_prefix() -> Option<Vec<String>> {
    let works = Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    if works {
        return Some(vec!["unshare".into(), "-n".into()]);
    }
    let required = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!required, "unshare -n is not available on this CI machine");
    eprintln!("note: unshare -n not permitted here; running `verifier check` without a network namespace");
    None
}

/// Runs `verifier check` offline; (exit code, JSON output).
fn check(bundle_path: &Path, input: &str) -> (i32, Value) {
    let verifier = env!("CARGO_BIN_EXE_verifier");
    let args = [
        "check".to_owned(),
        "--bundle".into(),
        bundle_path.display().to_string(),
        "--trust-root".into(),
        format!("{FIXTURES}/trust/health-commission-root.pem"),
        "--trust-root".into(),
        format!("{FIXTURES}/trust/market-supervision-root.pem"),
        input.to_owned(),
    ];
    let output = match offline_prefix() {
        Some(prefix) => Command::new(&prefix[0]).args(&prefix[1..]).arg(verifier).args(&args).output(),
        None => Command::new(verifier).args(&args).output(),
    }
    .expect("running verifier check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap_or(-1), json)
}

fn warning_codes(report: &Value) -> Vec<String> {
    report["report"]["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_checks_against_a_signed_bundle() {
    // Online: a real issuer with the clinic's certified key issues two certificates and revokes one.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("issuer-key.pem"), fixture("keys/test-issuer.pem")).unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&settings).await.unwrap();
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
    });
    let mut issued = Vec::new();
    for _ in 0..2 {
        let resp = http.post(format!("{base}/api/v1/health-certificates")).json(&request).send().await.unwrap();
        assert_eq!(resp.status(), 201);
        issued.push(resp.json::<Value>().await.unwrap()["credential"].clone());
    }
    let (valid, revoked) = (&issued[0], &issued[1]);
    let uuid = revoked["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    let resp = http
        .post(format!("{base}/credentials/{uuid}/status"))
        .json(&json!({"action": "revoke", "reason": "证件遗失 / reported lost", "by": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The department collects the status lists the credentials name.
    let mut lists = Vec::new();
    let mut urls: Vec<String> = issued
        .iter()
        .flat_map(|vc| vc["credentialStatus"].as_array().unwrap().clone())
        .map(|entry| entry["statusListCredential"].as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    urls.dedup();
    for url in urls {
        let credential: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        lists.push(BundledStatusList { url, credential });
    }
    let qr = |vc: &Value| wallet_core::compact::encode_credential(vc).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    // Fresh bundle.
    let fresh = write("fresh.json", bundle(Duration::minutes(5), &lists, None));
    let (code, out) = check(&fresh, &qr(valid));
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["report"]["checks"]["status"]["result"], "valid");
    assert_eq!(out["report"]["checks"]["issuerTrust"]["result"], "valid");
    assert!(out["bundleProblems"].as_array().unwrap().is_empty(), "{out:#}");
    let (code, out) = check(&fresh, &qr(revoked));
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["report"]["checks"]["status"]["code"], "revoked");

    // From a photo of the QR code, too.
    let png = wallet_core::qr::render_png(&qr(valid), 4).unwrap();
    let photo = write("qr.png", png);
    let (code, _) = check(&fresh, photo.to_str().unwrap());
    assert_eq!(code, 0);

    // Three days old: still verifies, and says which data is aging.
    let aging = write("aging.json", bundle(Duration::days(3), &lists, None));
    let (code, out) = check(&aging, &qr(valid));
    assert_eq!(code, 0, "{out:#}");
    let warnings = warning_codes(&out);
    assert!(warnings.iter().any(|w| w == "status_data_aging"), "{warnings:?}");

    // Eight days old: the status check fails, naming the stale status data.
    let stale = write("stale.json", bundle(Duration::days(8), &lists, None));
    let (code, out) = check(&stale, &qr(valid));
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["report"]["checks"]["status"]["code"], "status_data_stale", "{out:#}");

    // Signed by a key no configured department vouches for: refused.
    let stranger = wallet_core::keys::IssuerKey::generate();
    let validity =
        CertificateValidity { not_before: Utc::now() - Duration::days(1), not_after: Utc::now() + Duration::days(30) };
    let rogue = create_root(
        &DepartmentName { organization: "冒牌部门".into(), common_name: "Rogue".into() },
        &validity,
        &stranger,
    )
    .unwrap();
    let forged = write(
        "forged.json",
        bundle(Duration::minutes(5), &lists, Some((&stranger, certificate_pem_to_der(&rogue).unwrap()))),
    );
    let (code, out) = check(&forged, &qr(valid));
    assert_eq!(code, 2, "{out:#}");
    assert_eq!(out["error"], "bundle_untrusted_signer", "{out:#}");

    // A bundle altered after signing: refused.
    let mut tampered = std::fs::read(&fresh).unwrap();
    let at = tampered.windows(7).position(|w| w == b"\"sequen").unwrap();
    tampered[at + 12] = b'8';
    let tampered = write("tampered.json", tampered);
    let (code, out) = check(&tampered, &qr(valid));
    assert_eq!(code, 2, "{out:#}");
}
