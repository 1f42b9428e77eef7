//! Bulk issuance input: a batch body (NDJSON or CSV) read into rows, each with
//! its own idempotency key and the single-item request body it stands for.
//! Issuing the rows is [`crate::domain::issuance::Issuer::issue_batch`]
//! (`batch_issuance.rs`): the single-item rules, with group commit.
//!
//! * NDJSON: one JSON object per line, the domain API's request plus a member
//!   `idempotencyKey`; blank lines are skipped.
//! * CSV: a header row naming the type's fields (and `idempotencyKey`); every
//!   other row is one request. Cells are text; a field of type text list takes
//!   `;`-separated items; an empty cell leaves its field out.
//!
//! A row that cannot be read (not JSON, not an object, a CSV record with the
//! wrong number of cells) is refused on its own, never the whole batch.

use serde_json::{Map, Value};
use wallet_core::credential_type::{Definition, FieldType};

use crate::domain::issuance_error::IssuanceError;

/// Rows per request at most (more: [`IssuanceError::TooManyRows`], 413).
pub const MAX_BATCH_ROWS: usize = 1000;

/// The member (NDJSON) or column (CSV) carrying a row's idempotency key.
pub const IDEMPOTENCY_KEY_FIELD: &str = "idempotencyKey";

/// One row of a batch, as read from the body.
#[derive(Debug)]
pub struct BatchRow {
    /// 1-based position among the batch's rows (blank NDJSON lines and the CSV
    /// header are not rows).
    pub row: usize,
    /// The row's idempotency key, as given (checked when the row is issued).
    pub idempotency_key: Option<String>,
    /// The single-item request body (JSON), or why the row cannot be read.
    pub body: Result<Vec<u8>, IssuanceError>,
}

/// The formats a batch comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// `application/x-ndjson`.
    Ndjson,
    /// `text/csv`.
    Csv,
}

fn too_many(rows: usize) -> IssuanceError {
    IssuanceError::TooManyRows { rows, max: MAX_BATCH_ROWS }
}

/// The row's request: the object without its key, as JSON (keys sorted, so the
/// same row always has the same digest for the idempotency check).
fn request_of(mut object: Map<String, Value>) -> (Option<String>, Result<Vec<u8>, IssuanceError>) {
    let key = match object.remove(IDEMPOTENCY_KEY_FIELD) {
        Some(Value::String(k)) => Some(k),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let body = serde_json::to_vec(&Value::Object(object)).map_err(IssuanceError::internal);
    (key, body)
}

/// Read an NDJSON batch.
///
/// # Errors
/// [`IssuanceError::TooManyRows`].
pub fn parse_ndjson(body: &[u8]) -> Result<Vec<BatchRow>, IssuanceError> {
    let mut rows = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = rows.len() + 1;
        if row > MAX_BATCH_ROWS {
            return Err(too_many(body.split(|b| *b == b'\n').filter(|l| !l.trim_ascii().is_empty()).count()));
        }
        let (idempotency_key, body) = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(object)) => request_of(object),
            Ok(_) => (None, Err(IssuanceError::InvalidJson("the line is not a JSON object".into()))),
            Err(e) => (None, Err(IssuanceError::InvalidJson(e.to_string()))),
        };
        rows.push(BatchRow { row, idempotency_key, body });
    }
    Ok(rows)
}

/// Read a CSV batch whose header names `def`'s fields.
///
/// # Errors
/// [`IssuanceError::InvalidBatch`] when the header cannot be read;
/// [`IssuanceError::TooManyRows`].
pub fn parse_csv(def: &Definition, body: &[u8]) -> Result<Vec<BatchRow>, IssuanceError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| IssuanceError::InvalidBatch(format!("the CSV header cannot be read: {e}")))?
        .iter()
        // A spreadsheet's UTF-8 byte order mark is not part of the first name.
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(IssuanceError::InvalidBatch("the CSV has no header row".into()));
    }
    let lists: Vec<bool> = header
        .iter()
        .map(|name| def.field(name).is_some_and(|f| matches!(f.field_type, FieldType::TextList)))
        .collect();
    let key_column = header.iter().position(|h| h == IDEMPOTENCY_KEY_FIELD);
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 1;
        if row > MAX_BATCH_ROWS {
            return Err(too_many(row + reader.records().count()));
        }
        let (idempotency_key, body) = match record {
            Err(e) => (None, Err(IssuanceError::InvalidJson(format!("the CSV row cannot be read: {e}")))),
            Ok(record) => {
                let key = key_column.and_then(|i| record.get(i)).map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
                if record.len() != header.len() {
                    let why = format!("the CSV row has {} cells, the header {}", record.len(), header.len());
                    (key, Err(IssuanceError::InvalidJson(why)))
                } else {
                    let mut object = Map::new();
                    for ((name, cell), list) in header.iter().zip(record.iter()).zip(&lists) {
                        let cell = cell.trim();
                        if cell.is_empty() {
                            continue;
                        }
                        let value = if *list {
                            Value::Array(
                                cell.split(';')
                                    .map(str::trim)
                                    .filter(|s| !s.is_empty())
                                    .map(|s| Value::String(s.to_owned()))
                                    .collect(),
                            )
                        } else {
                            Value::String(cell.to_owned())
                        };
                        object.insert(name.clone(), value);
                    }
                    request_of(object)
                }
            }
        };
        rows.push(BatchRow { row, idempotency_key, body });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_rows_keep_their_keys_and_a_bad_line_is_one_refused_row() {
        let body = b"{\"a\":\"1\",\"idempotencyKey\":\"k1\"}\n\nnot json\r\n[1]\n{\"b\":2}";
        let rows = parse_ndjson(body).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].idempotency_key.as_deref(), Some("k1"));
        assert_eq!(rows[0].body.as_ref().unwrap(), br#"{"a":"1"}"#);
        assert!(matches!(rows[1].body, Err(IssuanceError::InvalidJson(_))));
        assert!(matches!(rows[2].body, Err(IssuanceError::InvalidJson(_))));
        assert_eq!(rows[3].idempotency_key, None);
        assert_eq!(rows[3].row, 4);
    }

    #[test]
    fn csv_header_may_start_with_a_byte_order_mark() {
        let registry = wallet_core::credential_type::TypeRegistry::shipped().unwrap();
        let def = registry.by_api_path("licences").unwrap();
        let body = "\u{feff}idempotencyKey,licensee,businessScope\nk1,店, a ; b ;\n";
        let rows = parse_csv(&def, body.as_bytes()).unwrap();
        assert_eq!(rows[0].idempotency_key.as_deref(), Some("k1"));
        let request: Value = serde_json::from_slice(rows[0].body.as_ref().unwrap()).unwrap();
        assert_eq!(request, serde_json::json!({"licensee": "店", "businessScope": ["a", "b"]}));
    }

    #[test]
    fn ndjson_beyond_the_row_cap_is_refused_whole() {
        let body = "{}\n".repeat(MAX_BATCH_ROWS + 1);
        assert!(
            matches!(parse_ndjson(body.as_bytes()), Err(IssuanceError::TooManyRows { rows, .. }) if rows == MAX_BATCH_ROWS + 1)
        );
        assert_eq!(parse_ndjson("{}\n".repeat(MAX_BATCH_ROWS).as_bytes()).unwrap().len(), MAX_BATCH_ROWS);
    }
}
