//! SM2/SM3 (`sm2-rdfc-2026`) beside P-256 (`ecdsa-rdfc-2019`), same message,
//! same credential, same run: `cargo bench -p wallet-core --bench sm2`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use wallet_core::ecdsa_rdfc_2019::FastPath;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::sm2_rdfc_2026::{self, Sm2IssuerKey, Verdict};
use wallet_core::verification::{verify_credential, IssuerTrust, VerifyOptions};

fn unsigned() -> serde_json::Value {
    serde_json::from_str(include_str!("../../fixtures/credentials/sample-health-certificate.unsigned.json"))
        .expect("fixture")
}

fn benches(c: &mut Criterion) {
    let message = [7_u8; 64]; // the size of hashData
    let p256_key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let p256_verifying = *p256_key.verifying_key();
    let p256_signature: p256::ecdsa::Signature = p256_key.sign(&message);
    let sm2_key = Sm2IssuerKey::generate();
    let sm2_public = sm2_key.public_key();
    let sm2_signature = sm2::dsa::Signature::from_bytes(&sm2_key.sign(&message).unwrap()).unwrap();
    let sm2_verifying = sm2::dsa::VerifyingKey::new(sm2_rdfc_2026::DISTINGUISHING_ID, sm2_public).unwrap();

    let mut g = c.benchmark_group("raw");
    g.bench_function("P-256 sign (baseline)", |b| b.iter(|| -> p256::ecdsa::Signature { p256_key.sign(&message) }));
    g.bench_function("SM2 sign", |b| b.iter(|| sm2_key.sign(&message)));
    g.bench_function("P-256 verify (baseline)", |b| b.iter(|| p256_verifying.verify(&message, &p256_signature)));
    g.bench_function("P-256 verify through ring (the fast path's)", |b| {
        b.iter(|| wallet_core::ecdsa_rdfc_2019::signature_matches(&p256_verifying, &message, &p256_signature))
    });
    g.bench_function("SM2 verify", |b| b.iter(|| sm2_verifying.verify(&message, &sm2_signature)));
    g.bench_function("SHA-256 of 1 KiB (baseline)", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest([1_u8; 1024]))
    });
    g.bench_function("SM3 of 1 KiB", |b| b.iter(|| <sm3::Sm3 as sm3::Digest>::digest([1_u8; 1024])));
    g.finish();

    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).single().expect("valid time");
    let p256_issuer = IssuerKey::from_pkcs8_pem(include_str!("../../fixtures/keys/test-issuer.pem")).expect("key");
    let mut doc = unsigned();
    doc["issuer"] = serde_json::json!(p256_issuer.did());
    let p256_signed = pollster::block_on(sign_credential(&doc, &p256_issuer, created)).expect("signs");
    let proof = p256_signed["proof"].clone();
    assert_eq!(pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify(&p256_signed, &proof)), FastPath::Valid);
    doc["issuer"] = serde_json::json!(sm2_key.did());
    let sm2_signed = pollster::block_on(sm2_rdfc_2026::sign(&doc, &sm2_key, created)).expect("signs");
    assert_eq!(pollster::block_on(sm2_rdfc_2026::verify(&sm2_signed)).unwrap(), Verdict::Valid);

    let mut g = c.benchmark_group("proof on the health certificate");
    g.bench_function("ecdsa-rdfc-2019 verify (baseline)", |b| {
        b.iter(|| pollster::block_on(wallet_core::ecdsa_rdfc_2019::verify(&p256_signed, &proof)))
    });
    g.bench_function("sm2-rdfc-2026 verify", |b| b.iter(|| pollster::block_on(sm2_rdfc_2026::verify(&sm2_signed))));
    g.bench_function("sm2-rdfc-2026 sign", |b| {
        b.iter(|| pollster::block_on(sm2_rdfc_2026::sign(&doc, &sm2_key, created)))
    });
    g.finish();

    // The one verification routine (every check), with a trust list in which a
    // P-256 department root certifies both clinic keys.
    let options = full_verification_options(&p256_issuer, &sm2_key);
    let p256_report = pollster::block_on(verify_credential(&p256_signed, &options)).expect("report");
    let sm2_report = pollster::block_on(verify_credential(&sm2_signed, &options)).expect("report");
    for report in [&p256_report, &sm2_report] {
        assert!(report.checks.signature.is_valid() && report.checks.issuer_trust.is_valid(), "{report:#?}");
    }
    let mut g = c.benchmark_group("full verification (verify_credential with a trust list)");
    g.bench_function("P-256 ecdsa-rdfc-2019 (baseline)", |b| {
        b.iter(|| pollster::block_on(verify_credential(&p256_signed, &options)))
    });
    g.bench_function("SM2 sm2-rdfc-2026", |b| b.iter(|| pollster::block_on(verify_credential(&sm2_signed, &options))));
    g.finish();
}

fn full_verification_options(p256: &IssuerKey, sm2_key: &Sm2IssuerKey) -> VerifyOptions {
    use wallet_core::trust::*;
    let now = Utc::now();
    let root_key = IssuerKey::generate();
    let validity = CertificateValidity { not_before: now - Duration::days(400), not_after: now + Duration::days(3650) };
    let root = create_root(
        &DepartmentName { organization: "示例市卫生健康委员会".into(), common_name: "根证书".into() },
        &validity,
        &root_key,
    )
    .unwrap();
    let certify = |key: TrustSigningKey<'_>| {
        let csr = create_csr(key, "示例市第一人民医院", "12110000MB0000001U", &key.did()).unwrap();
        let pem = issue_certificate(
            &csr,
            &root,
            &root_key,
            &[wallet_core::credential::HEALTH_CERTIFICATE_TYPE],
            &CertificateValidity {
                not_before: validity.not_before + Duration::days(1),
                not_after: validity.not_after - Duration::days(1),
            },
            &random_serial(),
        )
        .unwrap();
        certificate_pem_to_der(&pem).unwrap()
    };
    let root_der = certificate_pem_to_der(&root).unwrap();
    let contents = TrustListContents {
        sequence: 1,
        issued_at: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        roots: vec![root_der.clone()],
        issuer_certificates: vec![certify(p256.into()), certify(sm2_key.into())],
        crls: vec![create_crl(&root, &root_key, &[], now - Duration::minutes(1), now + Duration::days(7)).unwrap()],
    };
    let list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).unwrap();
    let store = TrustList::load(&list, &[&root_der], now, Duration::days(1)).unwrap();
    VerifyOptions::at(now).with_trust(IssuerTrust::list(std::sync::Arc::new(store)), true)
}

criterion_group!(sm2_benches, benches);
criterion_main!(sm2_benches);
