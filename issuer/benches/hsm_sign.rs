//! Signing with a key in a PKCS#11 token (SoftHSM2) against the file key
//! (the baseline), in the same run: one ES256 signature (what a status list,
//! a checkpoint or a credential proof costs the key), and a whole credential
//! (`sign_credential`: canonicalisation + the signature), and a department
//! root's CRL with 100 revocations (`ecert-pki crl` with `init-root --token`
//! against a file root). Without SoftHSM2
//! (`/usr/lib/softhsm/libsofthsm2.so`, Debian's softhsm2) only the baseline runs.
//!
//! ```sh
//! cargo bench --profile dev -p issuer --bench hsm_sign
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use issuer::signing_key::SigningKey;
use wallet_core::keys::IssuerKey;
use wallet_core::signer::IssuerSigner;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A throw-away SoftHSM2 token with one key: the signer, or `None` without SoftHSM2.
fn token_key(dir: &std::path::Path) -> Option<SigningKey> {
    if !std::path::Path::new(MODULE).exists() {
        eprintln!("SKIPPED the PKCS#11 half of hsm_sign: {MODULE} missing (apt-get install softhsm2)");
        return None;
    }
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nlog.level = ERROR\n", dir.join("tokens").display()))
        .unwrap();
    let out = std::process::Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::env::set_var("SOFTHSM2_CONF", &conf);
    std::fs::write(dir.join("pin"), "1234").unwrap();
    let uri =
        format!("pkcs11:token=bench;object=issuer?module-path={MODULE}&pin-source=file:{}", dir.join("pin").display());
    issuer::pkcs11_signer::generate_in_token(&issuer::pkcs11_uri::Pkcs11Uri::parse(&uri).unwrap()).unwrap();
    Some(issuer::signing_key::load(Some(&uri), dir).unwrap())
}

fn credential() -> serde_json::Value {
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:bench",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "bench"}
    })
}

fn hsm_sign(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file_key = SigningKey::new(Arc::new(IssuerKey::generate()));
    let token = token_key(dir.path());
    let mut keys = vec![("baseline_file_key", file_key)];
    keys.extend(token.map(|k| ("pkcs11_softhsm2", k)));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let unsigned = credential();

    let mut group = c.benchmark_group("hsm_sign/es256");
    for (name, key) in &keys {
        group.bench_function(*name, |b| b.iter(|| key.sign_es256(b"a status list or checkpoint").unwrap()));
    }
    group.finish();

    let mut group = c.benchmark_group("hsm_sign/credential");
    group.sample_size(20);
    for (name, key) in &keys {
        group.bench_function(*name, |b| {
            b.iter(|| {
                runtime.block_on(wallet_core::issuance::sign_credential(&unsigned, key, chrono::Utc::now())).unwrap()
            });
        });
    }
    group.finish();

    department_crl(c, &keys);
}

/// A root certificate for `key`, and a CRL of 100 revocations to sign with it.
fn department_crl(c: &mut Criterion, keys: &[(&str, SigningKey)]) {
    use wallet_core::trust::{
        create_crl, create_root, CertificateValidity, DepartmentName, RevocationEntry, RevocationReason,
        TrustSigningKey,
    };
    let now = chrono::Utc::now();
    let entries: Vec<RevocationEntry> = (1..=100u32)
        .map(|n| RevocationEntry {
            serial: n.to_be_bytes().to_vec(),
            revoked_at: now - chrono::Duration::days(1),
            reason: RevocationReason::Superseded,
            invalidity_date: None,
        })
        .collect();
    let name =
        DepartmentName { organization: "广州市卫生健康委员会".into(), common_name: "bench root".into() };
    let validity = CertificateValidity { not_before: now, not_after: now + chrono::Duration::days(365) };
    let mut group = c.benchmark_group("hsm_sign/department_crl");
    group.sample_size(20);
    for (name_of_key, key) in keys {
        let signer = TrustSigningKey::P256Signer(key);
        let root = create_root(&name, &validity, signer).unwrap();
        group.bench_function(*name_of_key, |b| {
            b.iter(|| create_crl(&root, signer, &entries, now, now + chrono::Duration::days(7)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, hsm_sign);
criterion_main!(benches);
