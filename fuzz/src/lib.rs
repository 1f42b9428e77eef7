//! What every fuzz target shares: a fixed clock (runs are reproducible) and
//! the fixture trust roots the verifier would be configured with.

use chrono::{DateTime, TimeZone, Utc};

/// The clock of every fuzz run: inside the fixtures' validity periods.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().expect("a valid instant")
}

/// The department roots (DER) a verifier is configured with: the fixtures'.
pub fn configured_roots() -> Vec<Vec<u8>> {
    [
        include_str!("../../fixtures/trust/health-commission-root.pem"),
        include_str!("../../fixtures/trust/market-supervision-root.pem"),
    ]
    .iter()
    .map(|pem| wallet_core::trust::certificate_pem_to_der(pem).expect("fixture root PEM"))
    .collect()
}

/// The input as text, or `None` when it is not UTF-8 (text parsers take `&str`).
pub fn as_text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
