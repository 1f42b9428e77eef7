//! Revocation status: the verifier's per-credential cost and the issuer's
//! publication cost.
//!
//! `cargo bench --profile dev -p wallet-core --bench status -- --warm-up-time 1 --measurement-time 3`
//!
//! - `check_status/cached_131072`: one `check_status` of a credential with a
//!   revocation and a suspension entry against two cached, verified
//!   131,072-entry lists (what every verification pays);
//! - `encode/1000000_after_one_change`: flip one bit of a 1,000,000-entry list
//!   and produce its `encodedList` (GZIP + base64url; the issuer's publication
//!   cost, signing excluded);
//! - `sign_list_credential/1000000`: `sign_credential` of that list credential
//!   (`ecdsa-rdfc-2019`, JSON-LD canonicalisation included);
//! - `offer/131072`: verifying and decoding one fetched list into the cache
//!   (what a verifier pays per list refresh).
//!
//! Encoded sizes are printed once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{
    check_status, status_list_credential, Bitstring, StatusEntry, StatusListCache, StatusPolicy, StatusPurpose,
    MIN_STATUS_LIST_BITS,
};

const REV_URL: &str = "https://issuer.example.gov.cn/status/3";
const SUS_URL: &str = "https://issuer.example.gov.cn/status/4";
const BIG_LIST_BITS: usize = 1_000_000;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

fn key() -> IssuerKey {
    let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/test-issuer.pem"))
        .expect("test key");
    IssuerKey::from_pkcs8_pem(&pem).expect("test key")
}

/// A list with a realistic sprinkling of set bits (0.5 %, pseudo-random).
fn sprinkled(len: usize, seed: u64) -> Bitstring {
    let mut bits = Bitstring::new(len);
    let mut x = seed;
    for _ in 0..len / 200 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let _ = bits.set((x >> 33) as usize % len, true);
    }
    bits
}

fn bench_status(c: &mut Criterion) {
    let key = key();
    let now = at("2026-04-03T12:00:00Z");
    let from = at("2026-04-03T00:00:00Z");
    let until = from + Duration::hours(24);

    // Verifier: two cached lists and a credential pointing into them.
    let mut rev_bits = sprinkled(MIN_STATUS_LIST_BITS, 1);
    let _ = rev_bits.set(94_567, false);
    let mut sus_bits = sprinkled(MIN_STATUS_LIST_BITS, 2);
    let _ = sus_bits.set(23_110, false);
    let sign = |v: &Value| pollster::block_on(sign_credential(v, &key, from)).expect("sign");
    let rev_list =
        sign(&status_list_credential(REV_URL, &key.did(), StatusPurpose::Revocation, &rev_bits, from, until));
    let sus_list =
        sign(&status_list_credential(SUS_URL, &key.did(), StatusPurpose::Suspension, &sus_bits, from, until));
    println!(
        "131,072-entry list with {} set: encodedList {} chars",
        rev_bits.count_set(),
        rev_list["credentialSubject"]["encodedList"].as_str().map_or(0, str::len)
    );
    let mut cache = StatusListCache::default();
    pollster::block_on(cache.offer(REV_URL, &rev_list, now, now)).expect("offer");
    pollster::block_on(cache.offer(SUS_URL, &sus_list, now, now)).expect("offer");
    let mut credential: Value =
        serde_json::from_str(include_str!("../../fixtures/status/credential.json")).expect("credential");
    credential["credentialStatus"] = json!([
        StatusEntry::new(StatusPurpose::Revocation, 94_567, REV_URL).to_json(),
        StatusEntry::new(StatusPurpose::Suspension, 23_110, SUS_URL).to_json(),
    ]);
    credential["issuer"] = json!(key.did());
    let policy = StatusPolicy::default();
    let (result, _) = check_status(&credential, &cache, &policy, now);
    assert!(result.is_valid(), "{result:?}");
    c.bench_function("check_status/cached_131072", |b| {
        b.iter(|| check_status(black_box(&credential), black_box(&cache), &policy, now))
    });

    c.bench_function("offer/131072", |b| {
        b.iter(|| {
            let mut cache = StatusListCache::default();
            pollster::block_on(cache.offer(REV_URL, black_box(&rev_list), now, now)).expect("offer");
            cache
        })
    });

    // Issuer: one status change on a 1,000,000-entry list, then publish.
    let mut big = sprinkled(BIG_LIST_BITS, 3);
    let encoded = big.encode();
    println!(
        "1,000,000-entry list with {} set: encodedList {} chars ({} bytes uncompressed)",
        big.count_set(),
        encoded.len(),
        big.as_bytes().len()
    );
    let mut i = 0usize;
    c.bench_function("encode/1000000_after_one_change", |b| {
        b.iter(|| {
            i = (i + 7_919) % BIG_LIST_BITS;
            let _ = big.set(i, true);
            black_box(big.encode())
        })
    });
    let big_list = status_list_credential(REV_URL, &key.did(), StatusPurpose::Revocation, &big, from, until);
    let mut group = c.benchmark_group("sign_list_credential");
    group.sample_size(20);
    group.bench_function("1000000", |b| {
        b.iter(|| pollster::block_on(sign_credential(black_box(&big_list), &key, from)).expect("sign"))
    });
    group.finish();
}

criterion_group!(benches, bench_status);
criterion_main!(benches);
