//! Department trust at scale: a trust list of 10,000 clinics.
//!
//! `cargo bench -p wallet-core --bench trust -- --warm-up-time 1 --measurement-time 3`
//!
//! - `check_issuer/10k`: one issuer-trust check (DID → key index lookup,
//!   rustls-webpki path validation at the signing time, revocation, type);
//! - `check_issuer_unknown_key/10k`: the lookup alone (a key not in the list);
//! - `trust_list_load/10k`: verifying and indexing the whole list.
//!
//! - `chain_check/p256` vs `chain_check/sm2`: the same check on a one-clinic
//!   list, P-256 root and clinic against SM2 root and clinic (ratio).
//!
//! The list's size in bytes is printed once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::hint::black_box;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    usci_check_character, CertificateValidity, DepartmentName, RevocationEntry, RevocationReason, TrustAlgorithm,
    TrustKey, TrustList, TrustListContents, TrustStore,
};

const DEFAULT_CLINICS: usize = 10_000;

/// Trust-list size; `TRUST_BENCH_CLINICS` lowers it (scripts/test runs the
/// benchmarks once in test mode and does not need the 10,000-clinic fixture).
fn clinics() -> usize {
    std::env::var("TRUST_BENCH_CLINICS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 200)
        .unwrap_or(DEFAULT_CLINICS)
}
/// Revoked (superseded) certificates in the CRL, for a realistic CRL size.
const REVOKED: usize = 200;

struct Fixture {
    roots: Vec<Vec<u8>>,
    list: Vec<u8>,
    now: DateTime<Utc>,
    sample_dids: Vec<String>,
    store: TrustStore,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let started = std::time::Instant::now();
        let root_key = IssuerKey::generate();
        let root_pem = create_root(
            &DepartmentName {
                organization: "示例市卫生健康委员会".into(),
                common_name: "示例市卫生健康委员会电子证照根证书".into(),
            },
            &CertificateValidity {
                not_before: at("2025-01-01T00:00:00Z"),
                not_after: at("2045-01-01T00:00:00Z"),
            },
            &root_key,
        )
        .expect("root");
        let root_der = certificate_pem_to_der(&root_pem).expect("root der");
        let validity = CertificateValidity {
            not_before: at("2026-01-01T00:00:00Z"),
            not_after: at("2028-01-01T00:00:00Z"),
        };
        let mut certificates = Vec::with_capacity(clinics());
        let mut sample_dids = Vec::new();
        let mut revoked = Vec::new();
        for n in 0..clinics() {
            let key = IssuerKey::generate();
            let first_17 = format!("12110000MB{n:07}");
            let check = usci_check_character(&first_17).expect("usci");
            let csr = create_csr(
                &key,
                &format!("示例市第{n}社区卫生服务中心"),
                &format!("{first_17}{check}"),
                &key.did(),
            )
            .expect("csr");
            let serial = random_serial();
            let pem = issue_certificate(
                &csr,
                &root_pem,
                &root_key,
                &[HEALTH_CERTIFICATE_TYPE],
                &validity,
                &serial,
            )
            .expect("certificate");
            certificates.push(certificate_pem_to_der(&pem).expect("der"));
            if n % (clinics() / 100) == 0 {
                sample_dids.push(key.verification_method());
            }
            if n % (clinics() / REVOKED) == 1 {
                revoked.push(RevocationEntry {
                    serial,
                    revoked_at: at("2026-04-01T00:00:00Z"),
                    reason: RevocationReason::Superseded,
                    invalidity_date: None,
                });
            }
        }
        let issued_at = at("2026-06-01T00:00:00Z");
        let crl = create_crl(
            &root_pem,
            &root_key,
            &revoked,
            issued_at,
            issued_at + Duration::days(7),
        )
        .expect("crl");
        let contents = TrustListContents {
            sequence: 1,
            issued_at,
            next_update: issued_at + Duration::days(1),
            roots: vec![root_der.clone()],
            issuer_certificates: certificates,
            crls: vec![crl],
        };
        let list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der))
            .expect("list");
        let now = issued_at + Duration::hours(1);
        let roots = vec![root_der];
        let store = TrustList::load(&list, &roots, now, Duration::days(1)).expect("load");
        let average_certificate = contents
            .issuer_certificates
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            / clinics();
        println!(
            "trust list for {} clinics: {} bytes ({:.1} MiB; average issuer certificate {average_certificate} bytes DER; CRL with {REVOKED} entries {} bytes); generated in {:.1?}",
            clinics(),
            list.len(),
            list.len() as f64 / (1024.0 * 1024.0),
            contents.crls.first().map_or(0, Vec::len),
            started.elapsed()
        );
        Fixture {
            roots,
            list,
            now,
            sample_dids,
            store,
        }
    })
}

fn bench_check_issuer(c: &mut Criterion) {
    let fixture = fixture();
    let types = vec!["VerifiableCredential".to_owned(), HEALTH_CERTIFICATE_TYPE.to_owned()];
    let signed_at = at("2026-03-01T08:00:00Z");
    assert!(fixture.store.check_issuer(&fixture.sample_dids[0], &types, signed_at).is_valid());
    let mut next = 0usize;
    c.bench_function("check_issuer/10k", |b| {
        b.iter(|| {
            next = (next + 1) % fixture.sample_dids.len();
            black_box(fixture.store.check_issuer(black_box(&fixture.sample_dids[next]), black_box(&types), signed_at))
        })
    });
    let stranger = IssuerKey::generate().verification_method();
    c.bench_function("check_issuer_unknown_key/10k", |b| {
        b.iter(|| black_box(fixture.store.check_issuer(black_box(&stranger), &types, signed_at)))
    });
}

fn bench_load(c: &mut Criterion) {
    let fixture = fixture();
    let mut group = c.benchmark_group("trust_list_load");
    group.sample_size(10);
    group.bench_function("10k", |b| {
        b.iter(|| {
            black_box(
                TrustList::load(black_box(&fixture.list), &fixture.roots, fixture.now, Duration::days(1))
                    .map(|store| store.issuer_certificate_count()),
            )
        })
    });
    group.finish();
}

/// One root, one clinic, one empty CRL, all of `algorithm`: the store and
/// the clinic's DID.
fn small_store(algorithm: TrustAlgorithm) -> (TrustStore, String) {
    let root_key = TrustKey::generate(algorithm);
    let root_pem = create_root(
        &DepartmentName { organization: "部门".into(), common_name: "部门根证书".into() },
        &CertificateValidity { not_before: at("2025-01-01T00:00:00Z"), not_after: at("2045-01-01T00:00:00Z") },
        &root_key,
    )
    .expect("root");
    let root_der = certificate_pem_to_der(&root_pem).expect("der");
    let key = TrustKey::generate(algorithm);
    let csr = create_csr(&key, "示例诊所", "12110000MB0000001U", &key.did()).expect("csr");
    let validity =
        CertificateValidity { not_before: at("2026-01-01T00:00:00Z"), not_after: at("2028-01-01T00:00:00Z") };
    let pem = issue_certificate(&csr, &root_pem, &root_key, &[HEALTH_CERTIFICATE_TYPE], &validity, &random_serial())
        .expect("issue");
    let issued = at("2026-06-01T00:00:00Z");
    let crl = create_crl(&root_pem, &root_key, &[], issued, issued + Duration::days(30)).expect("crl");
    let contents = TrustListContents {
        sequence: 1,
        issued_at: issued,
        next_update: issued + Duration::days(2),
        roots: vec![root_der.clone()],
        issuer_certificates: vec![certificate_pem_to_der(&pem).expect("der")],
        crls: vec![crl],
    };
    let list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).expect("list");
    let store = TrustList::load(&list, &[root_der], issued + Duration::hours(1), Duration::days(1)).expect("load");
    (store, key.did())
}

/// `chain_check/p256` against `chain_check/sm2`: one issuer-trust check
/// (path validation with one signature, revocation, type) per algorithm, in
/// the same run; the ratio is what to read.
fn bench_chain_by_algorithm(c: &mut Criterion) {
    let types = vec!["VerifiableCredential".to_owned(), HEALTH_CERTIFICATE_TYPE.to_owned()];
    let signed_at = at("2026-03-01T08:00:00Z");
    let mut group = c.benchmark_group("chain_check");
    for algorithm in [TrustAlgorithm::P256, TrustAlgorithm::Sm2] {
        let (store, did) = small_store(algorithm);
        assert!(store.assess_issuer(&did, &types, signed_at).is_ok());
        group.bench_function(algorithm.as_str(), |b| {
            b.iter(|| black_box(store.assess_issuer(black_box(&did), &types, signed_at).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_check_issuer, bench_load, bench_chain_by_algorithm);
criterion_main!(benches);
