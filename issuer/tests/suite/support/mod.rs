//! What the issuer's tests share: real services to run against (a local chain,
//! a throw-away PostgreSQL database) and the requests they send.
pub mod anvil;
pub mod postgres;
pub mod requests;
#[path = "../../../../test-support/require.rs"]
pub mod require;
pub mod softhsm;
