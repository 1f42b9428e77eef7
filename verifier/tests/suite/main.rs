//! The verifier's integration tests, in one test binary (see issuer/tests/suite).
//! Run one part with e.g. `cargo test -p verifier --test suite offline::`.

/// The local chain, shared with the issuer's tests.
#[path = "../../../issuer/tests/suite/support/anvil.rs"]
mod support_anvil;
mod support {
    pub(crate) use super::support_anvil as anvil;
}
mod anchoring;
mod browser;
mod credential_types;
mod end_to_end;
mod offline;
mod witness;
