//! `ecdsa-jcs-2019` (P-256, P-384) beside `ecdsa-rdfc-2019` (P-256, the
//! baseline), same health certificate, same run:
//! `cargo bench --profile dev -p wallet-core --bench jcs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use wallet_core::ecdsa_jcs_2019::{self, SigningKey};
use wallet_core::ecdsa_rdfc_2019::FastPath;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::p384_key::P384IssuerKey;

fn unsigned() -> serde_json::Value {
    serde_json::from_str(include_str!("../../fixtures/credentials/sample-health-certificate.unsigned.json"))
        .expect("fixture")
}

fn benches(c: &mut Criterion) {
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).single().expect("valid time");
    let p256 = IssuerKey::from_pkcs8_pem(include_str!("../../fixtures/keys/test-issuer.pem")).expect("key");
    let p384 = P384IssuerKey::generate();
    let mut doc = unsigned();
    doc["issuer"] = serde_json::json!(p256.did());
    let rdfc = pollster::block_on(sign_credential(&doc, &p256, created)).expect("signs");
    let rdfc_proof = rdfc["proof"].clone();
    assert_eq!(pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify(&rdfc, &rdfc_proof)), FastPath::Valid);
    let jcs_p256 = ecdsa_jcs_2019::sign(&doc, SigningKey::P256(&p256), created).expect("signs");
    doc["issuer"] = serde_json::json!(p384.did());
    let jcs_p384 = ecdsa_jcs_2019::sign(&doc, SigningKey::P384(&p384), created).expect("signs");
    ecdsa_jcs_2019::verify(&jcs_p256).expect("valid");
    ecdsa_jcs_2019::verify(&jcs_p384).expect("valid");

    let mut g = c.benchmark_group("proof on the health certificate");
    g.bench_function("ecdsa-rdfc-2019 P-256 verify (baseline)", |b| {
        b.iter(|| pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify(&rdfc, &rdfc_proof)))
    });
    g.bench_function("ecdsa-jcs-2019 P-256 verify", |b| b.iter(|| ecdsa_jcs_2019::verify(&jcs_p256)));
    g.bench_function("ecdsa-jcs-2019 P-384 verify", |b| b.iter(|| ecdsa_jcs_2019::verify(&jcs_p384)));
    g.bench_function("JCS of the credential", |b| b.iter(|| wallet_core::jcs::canonicalize(&jcs_p256)));
    g.finish();
}

criterion_group!(name = group; config = Criterion::default().sample_size(20); targets = benches);
criterion_main!(group);
