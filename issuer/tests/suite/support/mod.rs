//! Real services the issuer's tests run against: a local chain (anvil) and a
//! throw-away PostgreSQL database.
pub mod anvil;
pub mod postgres;
