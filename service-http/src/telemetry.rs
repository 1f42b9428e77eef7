//! Logging setup for the binaries. Never log personal data: handlers record
//! credential ids only.

/// Install a `tracing` subscriber reading `RUST_LOG` (default `info`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
