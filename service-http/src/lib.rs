//! What the issuer and the verifier services share at their HTTP edge, so that
//! both answer errors, serve HTTPS, log and talk to the chain the same way:
//!
//! - [`api_error`]: the one error shape of the HTTP APIs (stable code, zh/en
//!   message, field details), and JSON-body errors turned into it;
//! - [`tls`]: rustls server configuration from PEM files;
//! - [`telemetry`]: the `tracing` subscriber of the binaries;
//! - [`cpu_pool`]: the bounded thread pool CPU-bound work runs on (never on the
//!   async workers), answering 503 `busy` when full;
//! - [`rate_limit`]: a token bucket per client address, with bounded memory;
//! - [`request_deadline`]: every request answered or cut off (408) within a deadline;
//! - [`chain_rpc`]: Ethereum JSON-RPC over HTTP, the transport behind
//!   wallet-core's [`JsonRpc`](wallet_core::transparency::JsonRpc);
//! - [`outbound`]: the one outbound HTTP client configuration (timeouts, no
//!   redirects, no private addresses unless allowed) and a capped body reader;
//! - [`redirect`]: the local path a page may send the browser back to (`?next=`).
//!
//! Credential rules do not live here (they live in wallet-core); nor does
//! anything one service needs and the other does not.

pub mod api_error;
pub mod browser_headers;
pub mod chain_rpc;
pub mod cpu_pool;
pub mod outbound;
pub mod rate_limit;
pub mod redirect;
pub mod request_deadline;
pub mod telemetry;
pub mod tls;
