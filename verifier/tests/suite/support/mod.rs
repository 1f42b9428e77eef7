//! What the verifier's tests share: the local chain (the issuer's tests' helper)
//! and the issuance requests they send.

#[path = "../../../../issuer/tests/suite/support/anvil.rs"]
pub mod anvil;
pub mod requests;
#[path = "../../../../test-support/require.rs"]
pub mod require;
pub mod status_lists;
