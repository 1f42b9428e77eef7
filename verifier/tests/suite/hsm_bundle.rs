//! The verifier bundle signed with a key in a PKCS#11 token (SoftHSM2): a
//! department whose root key is in the token (root certificate, CRL and trust
//! list all signed there) runs a publishing verifier with `--bundle-key
//! pkcs11:…`; the bundle it serves opens with wallet-core against that root.
//! Another token key under the same certificate, or a PIN in the URI, stops the
//! start.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{Duration, Utc};
use pkcs11_key::pkcs11_signer::{generate_in_token, Pkcs11Signer};
use pkcs11_key::pkcs11_uri::Pkcs11Uri;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_root, CertificateValidity, DepartmentName,
    TrustListContents, TrustSigningKey,
};
use wallet_core::verifier_bundle::{open_bundle, FreshnessPolicy};

use crate::support::require::{require, Dep};

const TOKEN: &str = "ecert-bundle";
const PIN: &str = "135790";

/// A throw-away token for this test binary: (module, directory with the PIN file).
fn token() -> Option<&'static (String, PathBuf)> {
    static TOKEN_DIR: OnceLock<(String, PathBuf)> = OnceLock::new();
    let module = require(Dep::SoftHsm)?;
    Some(TOKEN_DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        let tokens = dir.join("tokens");
        std::fs::write(&conf, format!("directories.tokendir = {}\nlog.level = ERROR\n", tokens.display())).unwrap();
        let out = std::process::Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "97531"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(dir.join("pin"), format!("{PIN}\n")).unwrap();
        // Before the module is first loaded in this process.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        (module, dir)
    }))
}

fn uri((module, dir): &(String, PathBuf), object: &str) -> String {
    format!("pkcs11:token={TOKEN};object={object}?module-path={module}&pin-source=file:{}", dir.join("pin").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_is_signed_with_a_key_in_the_token() {
    let Some(token) = token() else { return };
    let key_uri = uri(token, "bundle-root");
    let parsed = Pkcs11Uri::parse(&key_uri).unwrap();
    generate_in_token(&parsed).unwrap();
    let signer = Pkcs11Signer::open(&parsed).unwrap();
    let in_token = TrustSigningKey::P256Signer(&signer);

    // The department: root certificate, CRL and trust list, each signed in the token.
    let now = Utc::now();
    let root_pem = create_root(
        &DepartmentName {
            organization: "广州市卫生健康委员会".into(), common_name: "电子证照根证书（HSM）".into()
        },
        &CertificateValidity { not_before: now - Duration::hours(1), not_after: now + Duration::days(365) },
        in_token,
    )
    .unwrap();
    let root_der = certificate_pem_to_der(&root_pem).unwrap();
    let crl = create_crl(&root_pem, in_token, &[], now - Duration::minutes(1), now + Duration::days(7)).unwrap();
    let contents = TrustListContents {
        sequence: 1,
        issued_at: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        roots: vec![root_der.clone()],
        issuer_certificates: Vec::new(),
        crls: vec![crl],
    };
    let list = build_trust_list(&contents, in_token, std::slice::from_ref(&root_der)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (root_file, list_file) = (dir.path().join("root.pem"), dir.path().join("trust-list.json"));
    std::fs::write(&root_file, &root_pem).unwrap();
    std::fs::write(&list_file, &list).unwrap();

    let mut settings = verifier::config::Settings::for_tests();
    settings.trust.roots = vec![root_file.clone()];
    settings.trust.trust_list_file = Some(list_file);
    settings.bundle.key = Some(key_uri.clone().into());
    settings.bundle.certs = vec![root_file];
    settings.bundle.interval_secs = 1;

    // Another token key under the same certificate, a PIN in the URI: the verifier does not start.
    generate_in_token(&Pkcs11Uri::parse(&uri(token, "bundle-other")).unwrap()).unwrap();
    let mut wrong = settings.clone();
    wrong.bundle.key = Some(uri(token, "bundle-other").into());
    let message = format!("{:#}", verifier::startup::Application::build(&wrong).err().expect("refused"));
    assert!(message.contains("does not match"), "{message}");
    wrong.bundle.key = Some(key_uri.replace("pin-source=file:", &format!("pin-value={PIN}&x-was=")).into());
    let message = format!("{:#}", verifier::startup::Application::build(&wrong).err().expect("refused"));
    assert!(message.contains("pin-value") && !message.contains(PIN), "{message}");

    let app = verifier::startup::Application::build(&settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let mut bundle = None;
    for _ in 0..100 {
        let resp = reqwest::get(format!("{base}/bundle")).await.unwrap();
        if resp.status() == 200 {
            bundle = Some(resp.bytes().await.unwrap().to_vec());
            break;
        }
        assert_eq!(resp.status(), 503);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let bundle = bundle.expect("a bundle within 10 s");
    let opened = open_bundle(&bundle, std::slice::from_ref(&root_der), Utc::now(), FreshnessPolicy::default(), None)
        .await
        .unwrap();
    assert!(opened.problems.is_empty(), "{:?}", opened.problems);
    assert_eq!(opened.bundle.trust_list.as_bytes(), list.as_slice());
    // Against another root it does not open.
    let other = wallet_core::keys::IssuerKey::generate();
    let other_root = create_root(
        &DepartmentName { organization: "其他部门".into(), common_name: "其他根证书".into() },
        &CertificateValidity { not_before: now - Duration::hours(1), not_after: now + Duration::days(365) },
        &other,
    )
    .unwrap();
    let other_der = certificate_pem_to_der(&other_root).unwrap();
    assert!(open_bundle(&bundle, &[other_der], Utc::now(), FreshnessPolicy::default(), None).await.is_err());
}
