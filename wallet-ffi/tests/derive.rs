//! `ecert_derive_credential`, called as C would (NUL-terminated strings in, an
//! owned string out): the holder's selective-disclosure step through the C ABI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report
#![allow(unsafe_code)] // it calls the C ABI as C does: raw pointers in and out

use std::ffi::{CStr, CString};

use chrono::{TimeZone, Utc};
use ecert_wallet::{ecert_derive_credential, ecert_last_error, ecert_string_free};
use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::keys::IssuerKey;

fn base_credential() -> Value {
    let pem =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/test-issuer.pem")).unwrap();
    let key = IssuerKey::from_pkcs8_pem(&pem).unwrap();
    let mut unsigned: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/qr/sample-health-certificate.signed.json"
        ))
        .unwrap(),
    )
    .unwrap();
    unsigned.as_object_mut().unwrap().remove("proof");
    unsigned["issuer"] = json!(key.did());
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap();
    pollster::block_on(wallet_core::selective_disclosure::sign_base_for_type(
        &TypeRegistry::default(),
        &unsigned,
        &key,
        created,
    ))
    .unwrap()
}

fn derive(base: &str, pointers: &str) -> Result<Value, Value> {
    let (base, pointers) = (CString::new(base).unwrap(), CString::new(pointers).unwrap());
    // SAFETY: both are NUL-terminated strings that outlive the call.
    let out = unsafe { ecert_derive_credential(base.as_ptr(), pointers.as_ptr()) };
    if out.is_null() {
        // SAFETY: the last error is a NUL-terminated string owned by the library.
        let error = unsafe { CStr::from_ptr(ecert_last_error()) }.to_str().unwrap();
        return Err(serde_json::from_str(error).unwrap());
    }
    // SAFETY: a string this library returned, freed once below.
    let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
    // SAFETY: returned by this library, not used afterwards.
    unsafe { ecert_string_free(out) };
    Ok(serde_json::from_str(&text).unwrap())
}

#[test]
fn a_derived_credential_comes_back_with_its_qr_text_and_verifies() {
    let base = base_credential().to_string();
    let out = derive(&base, r#"["/credentialSubject/fullNamePinyin"]"#).unwrap();
    let credential = &out["credential"];
    assert_eq!(credential["credentialSubject"]["fullNamePinyin"], "OUYANG Xiaoyan");
    assert!(credential["credentialSubject"].get("birthDate").is_none());
    let qr_text = out["qrText"].as_str().unwrap();
    assert!(qr_text.starts_with("EC1:"));
    assert_eq!(&wallet_core::compact::decode_credential(qr_text).unwrap(), credential);
    let at = wallet_core::verification::VerifyOptions::at(Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap());
    let report = pollster::block_on(wallet_core::verification::verify_credential(credential, &at)).unwrap();
    assert!(report.verified, "{report:#?}");
}

#[test]
fn what_cannot_be_derived_is_an_error_not_a_crash() {
    let base = base_credential().to_string();
    assert_eq!(derive(&base, r#"["/credentialSubject/nothing"]"#).unwrap_err()["error"], "bad_selective_pointer");
    assert_eq!(derive(&base, "not json").unwrap_err()["error"], "invalid_json");
    let rdfc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/qr/sample-health-certificate.signed.json"
    ))
    .unwrap();
    assert_eq!(derive(&rdfc, "[]").unwrap_err()["error"], "not_sd_base_proof");
    // SAFETY: NULL arguments are part of the contract (an error, not UB).
    assert!(unsafe { ecert_derive_credential(std::ptr::null(), std::ptr::null()) }.is_null());
}
