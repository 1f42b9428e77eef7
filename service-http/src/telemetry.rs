//! Logging setup for the binaries. Never log personal data: handlers record
//! credential ids only.

use std::io::IsTerminal as _;

/// Install a `tracing` subscriber reading `RUST_LOG` (default `info`), writing
/// to stderr, with ANSI colours only when stderr is a terminal (log files and
/// journald get plain text; `NO_COLOR` turns colours off everywhere).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours_wanted())
        .try_init();
}

fn colours_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}
