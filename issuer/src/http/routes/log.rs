//! The issuance transparency log over HTTP.
//!
//! * `GET /log/checkpoint`: the latest signed checkpoint note (`text/plain`).
//! * `GET /log/key`: the log's verifier key (`<origin>+<key id>+<base64>`, `text/plain`).
//! * `GET /credentials/{uuid}/inclusion`: the `InclusionBundle` JSON of the
//!   credential's `Issued` entry against the latest checkpoint.
//! * `GET /log/consistency?from=N&to=M`: `{"from", "to", "proof": [base64…]}`
//!   (`to` defaults to the current size).
//! * `GET /log/entries?start=S&count=C`: `{"start", "entries": [{"index", "entry",
//!   "leafHash"}]}`, at most 1000 entries.
//!
//! A log whose stored entries do not match their leaf hashes or the last signed
//! checkpoint answers 500 `log_integrity_failure`, naming the first bad entry.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wallet_core::credential::CredentialId;

use crate::api_error::ApiError;
use crate::domain::transparency_log::TransparencyLog;
use crate::store::MAX_LOG_PAGE;

/// `GET /log/checkpoint`
///
/// # Errors
/// 500 `log_integrity_failure` or `internal_error`.
pub async fn checkpoint(log: web::Data<TransparencyLog>) -> Result<HttpResponse, ApiError> {
    let checkpoint = log.checkpoint().await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(checkpoint.note.to_string()))
}

/// `GET /log/key`
pub async fn key(log: web::Data<TransparencyLog>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(log.log_key().to_vkey())
}

/// `GET /credentials/{uuid}/inclusion`
///
/// # Errors
/// 404 for an unknown credential (or one without a log entry); 500 as above.
pub async fn inclusion(log: web::Data<TransparencyLog>, uuid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id =
        CredentialId::parse(&format!("urn:uuid:{uuid}")).ok_or_else(|| ApiError::not_found("该凭证", "credential"))?;
    let bundle = log.inclusion_bundle(id.as_str()).await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(bundle.to_json()))
}

/// Query of `GET /log/consistency`.
#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /log/consistency?from=N&to=M`
///
/// # Errors
/// 400 `invalid_log_range`; 500 as above.
pub async fn consistency(
    log: web::Data<TransparencyLog>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (to, proof) = log.consistency_proof(query.from, query.to).await?;
    let proof: Vec<String> = proof.iter().map(|h| base64(h)).collect();
    Ok(HttpResponse::Ok().json(json!({"from": query.from, "to": to, "proof": proof})))
}

/// Query of `GET /log/entries`.
#[derive(Debug, Deserialize)]
pub struct EntriesQuery {
    #[serde(default)]
    start: u64,
    count: Option<u64>,
}

/// `GET /log/entries?start=S&count=C`
///
/// # Errors
/// 500 as above.
pub async fn entries(
    log: web::Data<TransparencyLog>,
    query: web::Query<EntriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let count = query.count.unwrap_or(100).min(MAX_LOG_PAGE);
    let entries = log.entries(query.start, count).await?;
    Ok(HttpResponse::Ok().json(json!({"start": query.start, "entries": entries})))
}

/// Standard base64 with padding (RFC 4648 §4), as checkpoints encode roots.
fn base64(bytes: &[u8]) -> String {
    use ::base64::Engine as _;
    ::base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        for (input, expected) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(super::base64(input.as_bytes()), expected);
        }
    }
}
