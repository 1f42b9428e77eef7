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
