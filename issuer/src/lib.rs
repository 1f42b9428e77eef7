//! The issuer service: issuance APIs (VC-API and a domain API for clinics),
//! storage, the signing key.
//!
//! Layers: `routes` (HTTP) → `issuance` (domain) → `store` (persistence);
//! every rule about credentials lives in `wallet-core`.

pub mod accounts;
pub mod anchor;
pub mod config;
pub mod issuance;
pub mod notarization;
pub mod notarize_cli;
pub mod oid4vci;
pub mod pki_cli;
pub mod routes;
pub mod signing_key;
pub mod startup;
pub mod status;
pub mod status_cli;
pub mod store;
pub mod transparency_log;
pub mod web;

// The HTTP edge both services share (error shape, HTTPS, logging), under the
// paths the service code has always used.
pub use service_http::{api_error, telemetry, tls};
