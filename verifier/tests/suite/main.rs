//! The verifier's integration tests, in one test binary (see issuer/tests/suite).
//! Run one part with e.g. `cargo test -p verifier --test suite offline::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

mod anchoring;
mod bombs;
mod browser;
mod credential_types;
mod end_to_end;
mod hsm_bundle;
mod id_check;
mod jcs_p384;
mod lang_switch;
mod log_memory;
mod offline;
mod outbound_fetch;
mod overload;
mod presentations;
mod selective_disclosure;
mod sm2_anchoring;
mod sm2_end_to_end;
mod support;
mod trust_binding;
mod witness;
