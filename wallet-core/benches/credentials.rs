//! Sign and verify one health certificate, against raw P-256 as a baseline
//! measured in the same run: `cargo bench -p wallet-core --bench credentials`.
//!
//! Issue #16 (`cargo bench --profile dev -p wallet-core --bench credentials -- issue16`):
//! the group `issue16` reports, in one run, the full verification of a shipped
//! type (a health certificate) and of the W3C ecdsa-rdfc-2019 test vector, each
//! with a log mirror that holds its digest (so the anchoring digest is
//! computed and looked up), beside a raw P-256 verify through `ring` (what the
//! signature check itself uses) and through the `p256` crate. The shipped type
//! is also verified with everything the goal names: a trust list naming its
//! issuer's certificate and its cached revocation and suspension lists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::sync::{Arc, RwLock};

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use wallet_core::canonical::canonical_nquads;
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{
    status_list_credential, Bitstring, StatusListCache, StatusPolicy, StatusPurpose, MIN_STATUS_LIST_BITS,
};
use wallet_core::transparency::{
    AnchorCalldata, AnchoringPolicy, ChainAnchor, Checkpoint, Hash, LogEntry, LogMirror, LogMirrors, LogSigner,
    MerkleTree, WitnessPolicy,
};
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    usci_check_character, CertificateValidity, DepartmentName, TrustList, TrustListContents, TrustStore,
};
use wallet_core::verification::{verify_credential, AnchoringSource, IssuerTrust, StatusSource, VerifyOptions};

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

/// A log mirror holding `digests` (logged by `issuer` at `at`), anchored at block 42.
fn mirror_of(digests: &[(Hash, String)], at: u64) -> Arc<RwLock<LogMirrors>> {
    const ORIGIN: &str = "issuer.example/log";
    let signer = LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap();
    let mut tree = MerkleTree::new();
    let entries: Vec<LogEntry> =
        digests.iter().map(|(d, issuer)| LogEntry::issued(*d, issuer.clone(), at).unwrap()).collect();
    for e in &entries {
        tree.append(e.leaf_hash());
    }
    let checkpoint = Checkpoint::new(ORIGIN, tree.size(), tree.root()).sign(&signer).unwrap().to_string();
    let mut mirror = LogMirror::new(signer.log_key().clone());
    mirror.extend(&entries, &checkpoint, at + 60).unwrap();
    mirror
        .add_anchor(ChainAnchor {
            chain_id: 31337,
            tx_hash: format!("0x{:064x}", 42),
            from: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
            block_number: 42,
            block_hash: format!("0x{:064x}", 1042),
            block_time: at + 70,
            calldata: AnchorCalldata { tree_size: tree.size(), root: tree.root(), note_digest: [0; 32] },
        })
        .unwrap();
    Arc::new(RwLock::new(LogMirrors::new(vec![mirror])))
}

/// Issue #16: full verification (signature, validity, issuer/key binding,
/// anchoring against a log mirror) of a shipped type and of a W3C-suite
/// credential, beside the raw P-256 verify, in one run.
fn issue16(c: &mut Criterion) {
    use sha2::Digest as _;
    let (key, unsigned) = sample();
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).single().expect("valid time");
    let shipped = pollster::block_on(sign_credential(&unsigned, &key, created)).expect("signs");
    let w3c: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/w3c/ecdsa-rdfc-2019-p256/signedECDSAP256.json")).unwrap();
    let digest = |vc: &serde_json::Value| -> Hash {
        sha2::Sha256::digest(pollster::block_on(canonical_nquads(vc)).unwrap().as_bytes()).into()
    };
    let signer = |vc: &serde_json::Value| {
        vc["proof"]["verificationMethod"].as_str().unwrap().split('#').next().unwrap().to_owned()
    };
    let at = u64::try_from(created.timestamp()).unwrap();
    let logs = mirror_of(&[(digest(&shipped), signer(&shipped)), (digest(&w3c), signer(&w3c))], at);
    let policy = AnchoringPolicy { required: true, grace_secs: 600, skew_secs: 300, witnesses: WitnessPolicy::none() };
    let options = VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("valid time"))
        .with_anchoring(AnchoringSource::Mirrors { logs, policy });
    for vc in [&shipped, &w3c] {
        let report = pollster::block_on(verify_credential(vc, &options)).expect("well-formed");
        assert!(report.verified && report.checks.anchoring.is_valid(), "{report:?}");
    }

    let mut g = c.benchmark_group("issue16");
    g.bench_function("full verification: shipped type (HealthCertificate)", |b| {
        b.iter(|| pollster::block_on(verify_credential(&shipped, &options)))
    });
    // Everything the goal names: signature, validity, trust (a trust list naming
    // the issuer's certificate), status (its revocation and suspension lists,
    // cached) and anchoring, all from cached data.
    let everything = options
        .clone()
        .with_trust(IssuerTrust::list(Arc::new(trust_store_for(&key))), true)
        .with_status(StatusSource::Cache { cache: Arc::new(status_cache_for(&key)), policy: StatusPolicy::default() });
    let report = pollster::block_on(verify_credential(&shipped, &everything)).expect("well-formed");
    assert!(
        report.verified
            && report.checks.issuer_trust.is_valid()
            && report.checks.status.is_valid()
            && report.checks.anchoring.is_valid(),
        "{report:?}"
    );
    g.bench_function("full verification with trust and status: shipped type (HealthCertificate)", |b| {
        b.iter(|| pollster::block_on(verify_credential(&shipped, &everything)))
    });
    g.bench_function("full verification: W3C ecdsa-rdfc-2019 vector", |b| {
        b.iter(|| pollster::block_on(verify_credential(&w3c, &options)))
    });
    // Bulk: 64 shipped-type credentials on every core (criterion reports elements/s).
    let batch = vec![shipped.clone(); 64];
    g.throughput(criterion::Throughput::Elements(64));
    g.bench_function("verify_many x64 (all cores): shipped type", |b| {
        b.iter(|| wallet_core::bulk_verification::verify_many_on_all_cores(&batch, &options))
    });
    g.throughput(criterion::Throughput::Elements(1));
    let sk = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let vk = p256::ecdsa::VerifyingKey::from(&sk);
    let msg = [7u8; 64];
    let sig: p256::ecdsa::Signature = sk.sign(&msg);
    g.bench_function("baseline: raw P-256 verify (ring)", |b| {
        b.iter(|| wallet_core::ecdsa_rdfc_2019::signature_matches(&vk, &msg, &sig))
    });
    g.bench_function("baseline: raw P-256 verify (p256 crate)", |b| b.iter(|| vk.verify(&msg, &sig)));
    g.finish();
}

/// A trust list of one department root naming `key`'s certificate for health
/// certificates, valid at the bench's verification time (2026-06-01).
fn trust_store_for(key: &IssuerKey) -> TrustStore {
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("valid time");
    let root_key = IssuerKey::generate();
    let department = DepartmentName {
        organization: "示例市卫生健康委员会".into(),
        common_name: "示例市卫生健康委员会电子证照根证书".into(),
    };
    let root_pem = create_root(
        &department,
        &CertificateValidity { not_before: at(2025, 1, 1), not_after: at(2045, 1, 1) },
        &root_key,
    )
    .expect("root");
    let root_der = certificate_pem_to_der(&root_pem).expect("root der");
    let first_17 = "12110000MB0000001";
    let usci = format!("{first_17}{}", usci_check_character(first_17).expect("usci"));
    let csr = create_csr(key, "示例市第一社区卫生服务中心", &usci, &key.did()).expect("csr");
    let certificate = issue_certificate(
        &csr,
        &root_pem,
        &root_key,
        &[HEALTH_CERTIFICATE_TYPE],
        &CertificateValidity { not_before: at(2026, 1, 1), not_after: at(2028, 1, 1) },
        &random_serial(),
    )
    .expect("certificate");
    let issued_at = at(2026, 5, 31);
    let crl = create_crl(&root_pem, &root_key, &[], issued_at, issued_at + chrono::Duration::days(7)).expect("crl");
    let contents = TrustListContents {
        sequence: 1,
        issued_at,
        next_update: issued_at + chrono::Duration::days(1),
        roots: vec![root_der.clone()],
        issuer_certificates: vec![certificate_pem_to_der(&certificate).expect("der")],
        crls: vec![crl],
    };
    let list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).expect("list");
    TrustList::load(&list, &[root_der], issued_at + chrono::Duration::hours(1), chrono::Duration::days(1))
        .expect("load")
}

/// The sample's revocation and suspension lists (131,072 entries, its bits
/// clear), signed by `key` and cached, fresh at 2026-06-01.
fn status_cache_for(key: &IssuerKey) -> StatusListCache {
    let from = Utc.with_ymd_and_hms(2026, 5, 31, 12, 0, 0).single().expect("valid time");
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("valid time");
    let mut cache = StatusListCache::default();
    for (url, purpose) in [
        ("https://issuer.example.gov.cn/status/3", StatusPurpose::Revocation),
        ("https://issuer.example.gov.cn/status/4", StatusPurpose::Suspension),
    ] {
        let bits = Bitstring::new(MIN_STATUS_LIST_BITS);
        let unsigned = status_list_credential(url, &key.did(), purpose, &bits, from, from + chrono::Duration::days(30));
        let list = pollster::block_on(sign_credential(&unsigned, key, from)).expect("sign");
        pollster::block_on(cache.offer(url, &list, now, now)).expect("offer");
    }
    cache
}

criterion_group!(credential_benches, benches, issue16);
criterion_main!(credential_benches);
