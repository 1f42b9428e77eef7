//! Inputs the fuzz targets (fuzz/) found crashing a parser, each kept in
//! fuzz/regressions/TARGET/ (scripts/fuzz-smoke replays them too) and checked
//! here for the stable error the parser now returns instead.

use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::verification::{verify_credential, verify_presentation, VerifyOptions};

fn regression(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn regression_json(target: &str, name: &str) -> Value {
    serde_json::from_slice(&regression(target, name)).expect("the regression input is JSON")
}

fn options() -> VerifyOptions {
    VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().expect("instant"))
}

/// The refusal code of a credential the verifier must not accept as one.
async fn refusal_code(vc: &Value) -> String {
    match verify_credential(vc, &options()).await {
        Ok(report) => panic!("accepted as a checkable credential: {:?}", report.checks),
        Err(e) => e.code().to_owned(),
    }
}

fn signed_sample() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/qr/sample-health-certificate.signed.json");
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("fixture is JSON")
}

#[tokio::test]
async fn proof_created_with_a_100_digit_year_is_an_unreadable_proof() {
    let vc = regression_json("credential_json", "proof-created-100-digit-year.json");
    assert_eq!(vc["proof"]["created"].as_str().map(str::len), Some(100 + "-03-15T08:00:00Z".len()));
    assert_eq!(refusal_code(&vc).await, "unreadable_proof");
}

#[tokio::test]
async fn proof_expires_with_a_100_digit_year_is_an_unreadable_proof() {
    let vc = regression_json("credential_json", "proof-expires-100-digit-year.json");
    assert_eq!(refusal_code(&vc).await, "unreadable_proof");
}

#[tokio::test]
async fn proof_dates_that_are_not_date_times_are_unreadable_proofs() {
    for created in [json!("yesterday"), json!(20260315), json!(""), json!("2026-03-15T08:00:00")] {
        let mut vc = signed_sample();
        vc["proof"]["created"] = created.clone();
        assert_eq!(refusal_code(&vc).await, "unreadable_proof", "created = {created}");
    }
}

#[tokio::test]
async fn valid_from_with_an_11_digit_year_is_an_invalid_date() {
    let vc = regression_json("credential_json", "valid-from-11-digit-year.json");
    assert_eq!(refusal_code(&vc).await, "invalid_date");
}

#[tokio::test]
async fn ordinary_dates_still_reach_the_signature_check() {
    // The guard refuses nothing readable: the sample and a 5-digit year (valid
    // XML Schema, within range) are reports, judged by the signature check.
    verify_credential(&signed_sample(), &options()).await.expect("the sample is checkable");
    let mut vc = signed_sample();
    vc["validUntil"] = json!("10000-01-01T00:00:00Z");
    let report = verify_credential(&vc, &options()).await.expect("a 5-digit year is checkable");
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
}

#[tokio::test]
async fn a_signed_presentation_carrying_a_credential_with_an_11_digit_year_is_refused() {
    let vc = regression_json("credential_json", "valid-from-11-digit-year.json");
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [vc],
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "ecdsa-rdfc-2019",
            "created": "2026-03-15T08:00:00Z",
            "verificationMethod": signed_sample()["proof"]["verificationMethod"].clone(),
            "proofPurpose": "authentication",
            "proofValue": "z1111"
        }
    });
    let error = verify_presentation(&vp, &options(), None, None).await.expect_err("refused");
    assert_eq!(error.code(), "invalid_date");
}

#[tokio::test]
async fn a_percent_escape_that_is_not_utf8_in_an_iri_is_an_invalid_iri() {
    // Found by fuzzing: pct-str (inside the JSON-LD crates) panicked on `%c2` alone.
    let vc = regression_json("credential_json", "lone-percent-escape-in-iri.json");
    assert_eq!(refusal_code(&vc).await, "invalid_iri");
    let mut vc = signed_sample();
    vc["id"] = json!("urn:uuid:3f%c2a7e");
    assert_eq!(refusal_code(&vc).await, "invalid_iri");
    // Well-formed escapes (UTF-8) and text with a `%` are not IRIs in trouble.
    vc["id"] = json!("urn:uuid:3f%C3%A9");
    verify_credential(&vc, &options()).await.expect("a UTF-8 escape is fine");
    let mut vc = signed_sample();
    vc["credentialSubject"]["occupation"] = json!("100%c2 food service");
    verify_credential(&vc, &options()).await.expect("text is not an IRI");
}

#[test]
fn the_wallet_refuses_a_credential_file_with_a_percent_escape_that_is_not_utf8() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = wallet_core::wallet::StoreKey::new([7; 32]);
    let mut wallet = wallet_core::wallet::Wallet::open(dir.path().join("wallet.bin"), key).expect("a new wallet");
    let error = wallet
        .import_file(&regression("wallet_import", "percent-escape-not-utf8.json"))
        .expect_err("refused, not imported");
    assert!(error.to_string().contains("percent escapes"), "{error}");
}
