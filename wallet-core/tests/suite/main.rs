//! wallet-core's integration tests, in one test binary (see issuer/tests/suite).
//! Run one part with e.g. `cargo test -p wallet-core --test suite trust::`.

mod anchoring;
mod credential_types;
mod credentials;
mod data_model;
mod offline_anchoring;
mod presentations;
mod qr_roundtrip;
mod status;
mod transparency;
mod trust;
mod wallet;
