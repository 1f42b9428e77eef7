//! How long the canonicalisation pre-check takes to refuse a bomb, and what it
//! adds to verifying a real credential (measured in the same run):
//! `cargo run --release -p wallet-core --example canonical_budget`.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::canonical::check_document;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, VerifyOptions};

const RUNS: usize = 10;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration) {
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    let min = samples.iter().min().copied().unwrap_or_default();
    let max = samples.iter().max().copied().unwrap_or_default();
    (min, median(samples), max)
}

#[allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]
fn main() {
    let key = IssuerKey::from_pkcs8_pem(include_str!("../../fixtures/keys/test-issuer.pem")).expect("fixture key");
    let options = VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("valid time"));
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).single().expect("valid time");

    // The k = 50 bomb, two subjects, with a well-formed did:key proof.
    let small = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": key.did(),
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"c": 1}
    });
    let mut bomb = pollster::block_on(sign_credential(&small, &key, created)).expect("signs");
    let subject = json!({"c": vec![json!({"c": 1}); 50]});
    bomb["credentialSubject"] = json!([subject.clone(), subject]);
    let refused = || {
        let report = pollster::block_on(verify_credential(&bomb, &options)).expect("well-formed");
        assert_eq!(report.checks.signature.invalid_code(), Some("document_too_complex"));
    };
    let (min, med, max) = time(RUNS, refused);
    println!("k=50 bomb, verify_credential refuses: min {min:?} median {med:?} max {max:?} ({RUNS} runs)");

    // A real health certificate: full verification, and the pre-check alone.
    let mut unsigned: Value =
        serde_json::from_str(include_str!("../../fixtures/credentials/sample-health-certificate.unsigned.json"))
            .expect("fixture");
    unsigned["issuer"] = json!(key.did());
    let signed = pollster::block_on(sign_credential(&unsigned, &key, created)).expect("signs");
    let runs = 200;
    let verify = || assert!(pollster::block_on(verify_credential(&signed, &options)).expect("well-formed").verified);
    let check = || pollster::block_on(check_document(&signed)).expect("within budget");
    // Warm up, then interleave the two measurements.
    time(20, verify);
    let (_, with_check, _) = time(runs, verify);
    let (_, pre_check, _) = time(runs, check);
    let without = with_check.saturating_sub(pre_check);
    println!(
        "health certificate: verify {with_check:?} (median of {runs}), of which pre-check {pre_check:?}; \
         verify without it ≈ {without:?}; ratio with/without = {:.2}",
        with_check.as_secs_f64() / without.as_secs_f64()
    );
    let work = check();
    println!("pre-check work on it: {work:?}");
}
