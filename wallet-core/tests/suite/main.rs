//! wallet-core's integration tests, in one test binary (see issuer/tests/suite).
//! Run one part with e.g. `cargo test -p wallet-core --test suite trust::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

mod anchoring;
mod attack_common;
mod attack_jsonld;
mod attack_oid4vci;
mod attack_presentation;
mod attack_qr;
mod attack_sd;
mod attack_status;
mod attack_status_entry;
mod attack_suites;
mod attack_trust;
mod attack_validity;
mod bundled_expansion;
mod canonical_budget;
mod credential_types;
mod credentials;
mod data_model;
mod ecdsa_jcs;
mod fuzz_regressions;
mod id_number;
mod licence_ids;
mod offline_anchoring;
mod offline_status;
mod one_pass_signing;
mod presentations;
mod proof_fast_path;
mod qr_roundtrip;
mod rdfc_fast_path;
mod selective_disclosure;
mod single_expansion;
mod sm2_suite;
mod sm2_trust;
mod sm2_verification;
mod status;
mod transparency;
mod trust;
mod wallet;

/// The department ID number key of these tests.
pub fn id_key() -> wallet_core::credential::IdNumberKey {
    wallet_core::credential::IdNumberKey::from_bytes([0x5a; 32])
}

/// The status entries our issuer gives every credential of a type that says
/// `statusRequired` (every shipped type): revocation and suspension, and
/// `used` for a single-use type, on lists at
/// `https://issuer.example.gov.cn/status/<purpose>`. Without them such a
/// credential is refused (`status_entry_missing`); verified without status
/// lists at hand they read `unchecked status_not_checked`.
pub fn with_status_entries(mut unsigned: serde_json::Value) -> serde_json::Value {
    let types = wallet_core::credential_type::TypeRegistry::default();
    let purposes = types.for_credential(&unsigned).map_or(&[][..], |d| d.required_status_purposes());
    let entries: Vec<serde_json::Value> = purposes
        .iter()
        .map(|purpose| {
            let url = format!("https://issuer.example.gov.cn/status/{}", purpose.as_str());
            wallet_core::status::StatusEntry::new(*purpose, 7, url).to_json()
        })
        .collect();
    if !entries.is_empty() {
        unsigned["credentialStatus"] = serde_json::Value::Array(entries);
    }
    unsigned
}
