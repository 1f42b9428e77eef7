//! The verifier service: VC-API verification, QR text and image verification
//! for inspectors. Every rule lives in `wallet-core`; this crate only speaks HTTP.

// The bundle publisher's future (which fetches status lists, one fetch per
// list at a time) is deep; the default limit of 128 is exceeded computing its layout.
#![recursion_limit = "256"]

pub mod audit;
pub mod bundle_key;
pub mod bundle_publish;
pub mod config;
pub mod cpu;
pub mod log_sync;
pub mod offline_check;
pub mod rollback_state;
pub mod routes;
pub mod startup;
pub mod status_sync;
pub mod trust_sync;
pub mod verify_flow;
pub mod web;
pub mod witness;

// The HTTP edge both services share (error shape, HTTPS, logging), under the
// paths the service code has always used.
pub use service_http::{api_error, telemetry, tls};
