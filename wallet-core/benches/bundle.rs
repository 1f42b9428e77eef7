//! The offline verifier bundle at provincial scale: 1,000 issuers and 1,000,000
//! credentials (1,000 each), with 2 % revoked and 0.5 % suspended.
//!
//! `cargo bench --profile dev -p wallet-core --bench bundle -- --warm-up-time 1 --measurement-time 5`
//!
//! Printed once: the bundle's size, raw and gzip-compressed (what goes over the
//! wire with `Content-Encoding: gzip`), and by part. Measured:
//!
//! - `bundle_open/1000-issuers`: what opening costs: checking the department
//!   signature, loading the trust list, indexing the 2,000 status lists (each is
//!   verified when a credential first names it);
//! - `bundle_open_eager/1000-issuers`: the baseline in the same run, opening as it
//!   was before issue #16: the same, then every status list verified
//!   (`OpenedBundle::verify_status_lists`);
//! - `bundle_first_scan/1000-issuers`: opening, then the first credential QR
//!   verified (which verifies the two lists it names): what an inspector waits for
//!   before the first answer;
//! - `bundle_reopen_after_delta/1000-issuers`: opening the bundle merged with a
//!   delta in which one issuer's revocation list changed, reusing the lists verified
//!   before (`open_payload_after`);
//! - `offline_verify/bundle`: one credential QR verified against the opened bundle
//!   (signature, validity, issuer trust, status): the inspector's per-scan cost;
//! - `offline_verify/signature_only`: the baseline in the same run, the same
//!   credential with trust and status not configured.
//!
//! `BUNDLE_BENCH_ISSUERS` lowers the issuer count (scripts/test runs benchmarks
//! once in test mode).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::hint::black_box;
use std::io::Write as _;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::Rng as _;
use serde_json::{json, Value};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{status_list_credential, Bitstring, StatusEntry, StatusPurpose, MIN_STATUS_LIST_BITS};
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, issue_certificate, random_serial,
    usci_check_character, CertificateValidity, DepartmentName, TrustListContents,
};
use wallet_core::verification::{verify_credential, VerifyOptions};
use wallet_core::verifier_bundle::{
    open_bundle, open_payload_after, sign_bundle, BundledStatusList, FreshnessPolicy, OpenedBundle, VerifierBundle,
    VERIFIER_BUNDLE_VERSION,
};

const CREDENTIALS: usize = 1_000_000;

fn issuers() -> usize {
    std::env::var("BUNDLE_BENCH_ISSUERS").ok().and_then(|s| s.parse().ok()).filter(|n| *n >= 1).unwrap_or(1000)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

struct Fixture {
    bundle: Vec<u8>,
    roots: Vec<Vec<u8>>,
    now: DateTime<Utc>,
    qr: String,
    opened: OpenedBundle,
    /// The payload after a delta changing issuer 0's revocation list.
    after_delta: VerifierBundle,
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip").len()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let started = std::time::Instant::now();
        let issuers = issuers();
        let per_issuer = CREDENTIALS / 1000;
        let root_key = IssuerKey::generate();
        let root_pem = create_root(
            &DepartmentName {
                organization: "示例省卫生健康委员会".into(), common_name: "示例省电子证照根证书".into()
            },
            &CertificateValidity { not_before: at("2025-01-01T00:00:00Z"), not_after: at("2045-01-01T00:00:00Z") },
            &root_key,
        )
        .expect("root");
        let root_der = certificate_pem_to_der(&root_pem).expect("root der");
        let validity =
            CertificateValidity { not_before: at("2026-01-01T00:00:00Z"), not_after: at("2028-01-01T00:00:00Z") };
        let collected = at("2026-06-01T08:00:00Z");
        let mut certificates = Vec::with_capacity(issuers);
        let mut status_lists = Vec::with_capacity(2 * issuers);
        let mut sample = None;
        let mut changed_list = None;
        let mut rng = rand::thread_rng();
        for n in 0..issuers {
            let key = IssuerKey::generate();
            let first_17 = format!("12110000MB{n:07}");
            let check = usci_check_character(&first_17).expect("usci");
            let csr = create_csr(&key, &format!("示例市第{n}医院体检中心"), &format!("{first_17}{check}"), &key.did())
                .expect("csr");
            let pem =
                issue_certificate(&csr, &root_pem, &root_key, &[HEALTH_CERTIFICATE_TYPE], &validity, &random_serial())
                    .expect("certificate");
            certificates.push(certificate_pem_to_der(&pem).expect("der"));
            let base = format!("https://issuer{n}.example.gov.cn/status");
            for (list_id, purpose, rate) in
                [(1, StatusPurpose::Revocation, 0.02), (2, StatusPurpose::Suspension, 0.005)]
            {
                let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
                let set = (per_issuer as f64 * rate) as usize;
                for _ in 0..set {
                    bits.set(rng.gen_range(1..MIN_STATUS_LIST_BITS), true).expect("in range");
                }
                let url = format!("{base}/{list_id}");
                let unsigned =
                    status_list_credential(&url, &key.did(), purpose, &bits, collected, collected + Duration::days(7));
                let credential = pollster::block_on(sign_credential(&unsigned, &key, collected)).expect("sign list");
                status_lists.push(BundledStatusList { url, credential });
            }
            if n == 0 {
                // Bit 0 is never set above: the sample credential is valid.
                let mut unsigned: Value = serde_json::from_str(include_str!(
                    "../../fixtures/credentials/sample-health-certificate.unsigned.json"
                ))
                .expect("sample");
                unsigned["issuer"] = json!(key.did());
                unsigned["credentialStatus"] = json!([
                    StatusEntry::new(StatusPurpose::Revocation, 0, format!("{base}/1")).to_json(),
                    StatusEntry::new(StatusPurpose::Suspension, 0, format!("{base}/2")).to_json(),
                ]);
                let signed = pollster::block_on(sign_credential(&unsigned, &key, at("2026-03-15T00:00:00Z")))
                    .expect("sign credential");
                sample = Some(wallet_core::compact::encode_credential(&signed).expect("qr"));
                // The next publication of its revocation list: one more bit set.
                let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
                bits.set(7, true).expect("in range");
                let url = format!("{base}/1");
                let later = collected + Duration::hours(1);
                let unsigned = status_list_credential(
                    &url,
                    &key.did(),
                    StatusPurpose::Revocation,
                    &bits,
                    later,
                    later + Duration::days(7),
                );
                let credential = pollster::block_on(sign_credential(&unsigned, &key, later)).expect("sign list");
                changed_list = Some(BundledStatusList { url, credential });
            }
        }
        let crl = create_crl(&root_pem, &root_key, &[], collected, collected + Duration::days(7)).expect("crl");
        let contents = TrustListContents {
            sequence: 1,
            issued_at: collected,
            next_update: collected + Duration::days(7),
            roots: vec![root_der.clone()],
            issuer_certificates: certificates,
            crls: vec![crl],
        };
        let trust_list = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).expect("trust list");
        let lists_json: usize = status_lists.iter().map(|l| l.credential.to_string().len()).sum();
        let payload = VerifierBundle {
            version: VERIFIER_BUNDLE_VERSION,
            sequence: 1,
            issued_at: collected,
            trust_list: String::from_utf8(trust_list).expect("utf-8"),
            status_lists,
            checkpoints: Vec::new(),
            logs: Vec::new(),
            base_sequence: None,
        };
        let bundle = sign_bundle(&payload, &root_key, std::slice::from_ref(&root_der)).expect("bundle");
        let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
        println!(
            "verifier bundle for {issuers} issuers / {} credentials: {} bytes ({:.2} MiB), gzip {:.2} MiB; \
             trust list {:.2} MiB, {} status lists {:.2} MiB (JSON, before the JWS's base64url); generated in {:.1?}",
            issuers * per_issuer,
            bundle.len(),
            mib(bundle.len()),
            mib(gzip_len(&bundle)),
            mib(payload.trust_list.len()),
            payload.status_lists.len(),
            mib(lists_json),
            started.elapsed()
        );
        let roots = vec![root_der];
        let now = collected + Duration::hours(2);
        let opened = pollster::block_on(open_bundle(&bundle, &roots, now, FreshnessPolicy::default(), None))
            .expect("open bundle");
        assert!(opened.problems.is_empty(), "{:?}", opened.problems);
        let list_problems = pollster::block_on(opened.verify_status_lists());
        assert!(list_problems.is_empty(), "{list_problems:?}");
        let qr = sample.expect("sample credential");
        let checked = pollster::block_on(opened.verify_qr_text(&qr, None, now)).expect("verify");
        assert!(checked.report.verified, "{:#?}", checked.report);
        let mut newer = payload.clone();
        newer.sequence = 2;
        let changed = changed_list.expect("changed list");
        if let Some(slot) = newer.status_lists.iter_mut().find(|l| l.url == changed.url) {
            *slot = changed;
        }
        let delta = newer.delta_since(&payload);
        assert_eq!(delta.status_lists.len(), 1);
        let after_delta = VerifierBundle::apply_delta(&payload, delta).expect("apply");
        Fixture { bundle, roots, now, qr, opened, after_delta }
    })
}

fn bench_open(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("bundle_open");
    group.sample_size(10);
    group.bench_function(format!("{}-issuers", issuers()), |b| {
        b.iter(|| {
            let opened = pollster::block_on(open_bundle(
                black_box(&f.bundle),
                &f.roots,
                f.now,
                FreshnessPolicy::default(),
                None,
            ));
            black_box(opened.map(|o| o.problems.len()))
        })
    });
    group.finish();
    let mut group = c.benchmark_group("bundle_open_eager");
    group.sample_size(10);
    group.bench_function(format!("{}-issuers", issuers()), |b| {
        b.iter(|| {
            let opened = pollster::block_on(open_bundle(
                black_box(&f.bundle),
                &f.roots,
                f.now,
                FreshnessPolicy::default(),
                None,
            ))
            .expect("open");
            let problems = pollster::block_on(opened.verify_status_lists());
            assert!(problems.is_empty(), "{problems:?}");
            black_box(problems.len())
        })
    });
    group.finish();
    let mut group = c.benchmark_group("bundle_first_scan");
    group.sample_size(10);
    group.bench_function(format!("{}-issuers", issuers()), |b| {
        b.iter(|| {
            let opened = pollster::block_on(open_bundle(
                black_box(&f.bundle),
                &f.roots,
                f.now,
                FreshnessPolicy::default(),
                None,
            ))
            .expect("open");
            let checked = pollster::block_on(opened.verify_qr_text(&f.qr, None, f.now)).expect("verify");
            assert!(checked.report.verified);
            black_box(checked.report.verified)
        })
    });
    group.finish();
    let mut group = c.benchmark_group("bundle_reopen_after_delta");
    group.sample_size(10);
    group.bench_function(format!("{}-issuers", issuers()), |b| {
        b.iter(|| {
            let reopened = pollster::block_on(open_payload_after(
                black_box(f.after_delta.clone()),
                &f.roots,
                f.now,
                FreshnessPolicy::default(),
                Some(&f.opened),
            ));
            assert!(reopened.problems.is_empty(), "{:?}", reopened.problems);
            black_box(reopened.problems.len())
        })
    });
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("offline_verify");
    group.bench_function("bundle", |b| {
        b.iter(|| {
            black_box(
                pollster::block_on(f.opened.verify_qr_text(black_box(&f.qr), None, f.now)).map(|c| c.report.verified),
            )
        })
    });
    let vc = wallet_core::compact::decode_credential(&f.qr).expect("decode");
    let options = VerifyOptions::at(f.now);
    group.bench_function("signature_only", |b| {
        b.iter(|| black_box(pollster::block_on(verify_credential(black_box(&vc), &options)).map(|r| r.verified)))
    });
    group.finish();
}

criterion_group!(benches, bench_open, bench_verify);
criterion_main!(benches);
