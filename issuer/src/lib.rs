//! The issuer service: issuance APIs (VC-API and a domain API for clinics),
//! web pages for clinic staff, storage, the signing key, command-line tools.
//!
//! Layers: `http` (API routes and pages) → `domain` (issuance, status,
//! offers, accounts, notarisation, the log) → `store` (persistence); `cli`
//! holds the operators' tools over the same domain and store. The department
//! PKI tool is a binary of its own (`src/bin/ecert-pki`). Every rule about
//! credentials lives in `wallet-core`.

pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod signing_key;
pub mod startup;
pub mod store;
pub mod vc_api_p384_key;

/// Keys in a PKCS#11 token (the `pkcs11-key` crate, shared with the verifier),
/// under the paths the issuer and `ecert-pki` have always used.
pub use pkcs11_key::{pkcs11_module, pkcs11_signer, pkcs11_uri};

/// [`domain::accounts`] under its former path, which the verifier's tests use to
/// start an issuer with a token or staff account (they live outside this crate).
pub use domain::accounts;

// The HTTP edge both services share (error shape, HTTPS, logging), under the
// paths the service code has always used.
pub use service_http::{api_error, telemetry, tls};
