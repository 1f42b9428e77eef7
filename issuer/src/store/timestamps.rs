//! Timestamps as the store keeps them: fixed-width RFC 3339 UTC text, so that
//! text order is time order on both backends.

use chrono::{DateTime, SecondsFormat, Utc};

use super::StoreError;

/// Formats a timestamp as fixed-width RFC 3339 UTC text with microseconds, e.g.
/// `2024-05-01T12:00:00.000000Z`. Fixed width makes text order equal time order.
/// Sub-microsecond precision is truncated.
pub(crate) fn format_timestamp(timestamp: DateTime<Utc>) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses RFC 3339 text read from the database; `what` names the value for the error.
pub(crate) fn parse_timestamp(text: &str, what: impl FnOnce() -> String) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|timestamp| timestamp.with_timezone(&Utc))
        .map_err(|err| StoreError::Corrupt(format!("{} is not an RFC 3339 timestamp: {err}", what())))
}

/// Parses an optional RFC 3339 timestamp read from the database.
pub(crate) fn parse_optional_timestamp(
    text: Option<&str>,
    what: impl FnOnce() -> String,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|text| parse_timestamp(text, what)).transpose()
}
