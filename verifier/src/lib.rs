//! The verifier service: VC-API verification, QR text and image verification
//! for inspectors. Every rule lives in `wallet-core`; this crate only speaks HTTP.

pub mod api_error;
pub mod audit;
pub mod bundle_publish;
pub mod config;
pub mod log_sync;
pub mod offline_check;
pub mod routes;
pub mod startup;
pub mod status_sync;
pub mod telemetry;
pub mod tls;
pub mod trust_sync;
pub mod verify_flow;
pub mod web;
pub mod witness;
