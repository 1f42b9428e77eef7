//! Many credentials verified across cores (issue #16): a department auditing
//! a log, a bundle checked in bulk. Each credential gets exactly the report
//! [`verify_credential`] gives it; only the work is spread over threads.

use serde_json::Value;

use crate::verification::{verify_credential, MalformedCredential, VerificationReport, VerifyOptions};

/// The outcome for one credential, as [`verify_credential`] gives it.
pub type Outcome = Result<VerificationReport, MalformedCredential>;

/// Verify every credential of `credentials` against `options` on up to
/// `threads` threads (at least one; at most one per credential), in order:
/// `out[i]` is `verify_credential(&credentials[i], options)`.
pub fn verify_many(credentials: &[Value], options: &VerifyOptions, threads: usize) -> Vec<Outcome> {
    let threads = threads.clamp(1, credentials.len().max(1));
    // Contiguous chunks, one per thread, joined in order.
    let chunk = credentials.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = credentials
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|vc| pollster::block_on(verify_credential(vc, options))).collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(outcomes) => outcomes,
                // A panic in a verification is a bug: surface it on the caller's thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// [`verify_many`] on as many threads as the machine has cores.
pub fn verify_many_on_all_cores(credentials: &[Value], options: &VerifyOptions) -> Vec<Outcome> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    verify_many(credentials, options, cores)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::issuance::sign_credential;
    use crate::keys::IssuerKey;

    #[test]
    fn reports_equal_one_by_one_verification_in_order() {
        let key = IssuerKey::generate();
        let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap();
        let mut unsigned: Value =
            serde_json::from_str(include_str!("../../fixtures/credentials/sample-health-certificate.unsigned.json"))
                .unwrap();
        unsigned["issuer"] = json!(key.did());
        let good = pollster::block_on(sign_credential(&unsigned, &key, created)).unwrap();
        let mut tampered = good.clone();
        tampered["credentialSubject"]["name"] = json!("someone else");
        let mut expired = unsigned.clone();
        expired["validUntil"] = json!("2026-04-01T00:00:00Z");
        let expired = pollster::block_on(sign_credential(&expired, &key, created)).unwrap();
        let mut wrong_key = good.clone();
        let other = IssuerKey::generate();
        wrong_key["proof"]["verificationMethod"] = json!(format!("{}#{}", other.did(), &other.did()[8..]));
        let w3c: Value =
            serde_json::from_str(include_str!("../../fixtures/w3c/ecdsa-rdfc-2019-p256/signedECDSAP256.json")).unwrap();
        let credentials = vec![
            good.clone(),
            tampered,
            json!("not a credential"),
            expired,
            w3c,
            wrong_key,
            good.clone(),
            json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}),
        ];
        let options = VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
        let one_by_one: Vec<Outcome> =
            credentials.iter().map(|vc| pollster::block_on(verify_credential(vc, &options))).collect();
        let verified: Vec<bool> = one_by_one.iter().map(|o| o.as_ref().is_ok_and(|r| r.verified)).collect();
        assert_eq!(verified, [true, false, false, false, true, false, true, false]);
        for threads in [1, 2, 3, 8, 100] {
            assert_eq!(verify_many(&credentials, &options, threads), one_by_one, "{threads} threads");
        }
        assert_eq!(verify_many_on_all_cores(&credentials, &options), one_by_one);
        assert!(verify_many(&[], &options, 4).is_empty());
    }
}
