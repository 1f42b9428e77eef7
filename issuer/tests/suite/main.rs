//! The issuer's integration tests, in one test binary: every file used to be its
//! own binary linking the whole dependency tree (~250 MB each with line tables). Run one part with e.g.
//! `cargo test -p issuer --test suite store::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

mod accounts;
mod anchoring;
mod api;
mod bulk;
mod crash;
mod credential_types;
mod document_budget;
mod hsm;
mod hsm_pki;
mod issue_guards;
mod licence_ids;
mod log_api;
mod notarization;
mod oid4vci;
mod overload;
mod pki_cli;
mod reissue;
mod route_access;
mod scale_out;
mod sd_issuance;
mod single_use;
mod status_api;
mod store;
mod support;
mod vc_api_status;
mod vc_api_suites;
mod web;
