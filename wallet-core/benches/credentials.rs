//! Sign and verify one health certificate, against raw P-256 as a baseline
//! measured in the same run: `cargo bench -p wallet-core --bench credentials`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use wallet_core::canonical::canonical_nquads;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, VerifyOptions};

fn sample() -> (IssuerKey, serde_json::Value) {
    let key = IssuerKey::from_pkcs8_pem(include_str!("../../fixtures/keys/test-issuer.pem")).expect("fixture key");
    let mut unsigned: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/credentials/sample-health-certificate.unsigned.json"))
            .expect("fixture");
    unsigned["issuer"] = serde_json::json!(key.did());
    (key, unsigned)
}

fn benches(c: &mut Criterion) {
    let (key, unsigned) = sample();
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).single().expect("valid time");
    let signed = pollster::block_on(sign_credential(&unsigned, &key, created)).expect("signs");
    let options = VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("valid time"));
    assert!(pollster::block_on(verify_credential(&signed, &options)).expect("well-formed").verified);

    let mut g = c.benchmark_group("credential");
    g.bench_function("sign ecdsa-rdfc-2019", |b| {
        b.iter(|| pollster::block_on(sign_credential(&unsigned, &key, created)))
    });
    g.bench_function("verify (full report)", |b| b.iter(|| pollster::block_on(verify_credential(&signed, &options))));
    // The signature check alone: ssi's Data Integrity verification against our
    // fast path (issue #16), same credential, same run.
    let proof = signed["proof"].clone();
    assert_eq!(
        pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify(&signed, &proof)),
        wallet_core::ecdsa_rdfc_2019::FastPath::Valid
    );
    g.bench_function("signature: ssi Data Integrity", |b| {
        b.iter(|| pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify_with_ssi(&signed, options.now)))
    });
    g.bench_function("signature: ecdsa_rdfc_2019 fast path", |b| {
        b.iter(|| pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify(&signed, &proof)))
    });
    g.bench_function("data-model check (VCDM 2.0 rules + JSON-LD expansion)", |b| {
        b.iter(|| wallet_core::data_model::check_credential(&signed))
    });
    g.bench_function("canonicalize (RDFC-1.0)", |b| b.iter(|| pollster::block_on(canonical_nquads(&unsigned))));

    // The canonicalisation budget (issue #14): its pre-check on this real
    // certificate (part of "verify (full report)" above), and how long a
    // k = 50 bomb (two subjects of 50 identical blank nodes, well-formed
    // did:key proof) takes to be refused.
    g.bench_function("budget pre-check (canonical::check_document)", |b| {
        b.iter(|| pollster::block_on(wallet_core::canonical::check_document(&signed)))
    });
    let mut bomb = signed.clone();
    let subject = serde_json::json!({"c": vec![serde_json::json!({"c": 1}); 50]});
    bomb["@context"] =
        serde_json::json!(["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]);
    bomb["type"] = serde_json::json!(["VerifiableCredential", "ExampleCredential"]);
    bomb["credentialSubject"] = serde_json::json!([subject.clone(), subject]);
    let refused = pollster::block_on(verify_credential(&bomb, &options)).expect("well-formed");
    assert_eq!(refused.checks.signature.invalid_code(), Some("document_too_complex"));
    g.bench_function("verify k=50 bomb (refused: document_too_complex)", |b| {
        b.iter(|| pollster::block_on(verify_credential(&bomb, &options)))
    });

    // Baseline: the bare P-256 operations over a 64-byte message (hash ‖ hash).
    let sk = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let vk = p256::ecdsa::VerifyingKey::from(&sk);
    let msg = [7u8; 64];
    let sig: p256::ecdsa::Signature = sk.sign(&msg);
    g.bench_function("baseline: raw P-256 sign", |b| b.iter(|| -> p256::ecdsa::Signature { sk.sign(&msg) }));
    g.bench_function("baseline: raw P-256 verify", |b| b.iter(|| vk.verify(&msg, &sig)));
    g.finish();
}

criterion_group!(credential_benches, benches);
criterion_main!(credential_benches);
