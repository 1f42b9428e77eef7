//! Operators' command-line tools (`issuer status …`, `issuer notarize …`).

pub mod notarize;
pub mod status;
