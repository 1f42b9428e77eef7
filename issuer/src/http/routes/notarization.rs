//! Notarisation API (see [`crate::domain::notarization`]).
//!
//! * `POST /api/v1/notarizations` `{"digests": ["<hex SHA-256>", …]}` (at most
//!   10,000) → 202 `{"notarized": [{"digest", "index"}]}`: entered in the log,
//!   one transaction.
//! * `POST /api/v1/notarizations/receipts` `{"digests": […]}` (at most 1,000) →
//!   200 `[{"state": "anchored", "digest", "receipt"} | {"state": "pending",
//!   "digest", "index"} | {"state": "unknown", "digest"}]`.
//! * `GET /api/v1/notarizations/{hex}` → 200 the receipt, 202 pending, 404 unknown.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use wallet_core::transparency::Hash;

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;
use crate::domain::notarization::{self, ReceiptState, MAX_DIGESTS_PER_REQUEST};

/// Largest body of `POST /api/v1/notarizations`.
pub const MAX_NOTARIZE_BODY_BYTES: usize = 1024 * 1024;

/// Most digests per receipts request.
pub const MAX_RECEIPTS_PER_REQUEST: usize = 1000;

/// A batch of digests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digests {
    digests: Vec<String>,
}

fn parse_all(digests: &[String], max: usize) -> Result<Vec<Hash>, ApiError> {
    if digests.is_empty() || digests.len() > max {
        return Err(ApiError::bad_request(
            "invalid_batch_size",
            format!("每次需提交 1 至 {max} 个摘要"),
            format!("send between 1 and {max} digests per request"),
        ));
    }
    digests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            notarization::parse_digest(d).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_digest",
                    format!("第 {i} 个摘要不是 64 位十六进制 SHA-256"),
                    format!("digest {i} is not a 64-character hex SHA-256"),
                )
            })
        })
        .collect()
}

/// `POST /api/v1/notarizations`
///
/// # Errors
/// 400 for a malformed batch; 500 on store failures.
pub async fn notarize(
    _caller: crate::http::routes::access::ApiCaller,
    issuer: web::Data<Issuer>,
    body: web::Json<Digests>,
) -> Result<HttpResponse, ApiError> {
    let digests = parse_all(&body.digests, MAX_DIGESTS_PER_REQUEST)?;
    let notarized = notarization::notarize(&issuer, &digests).await.map_err(|e| ApiError::internal(e.to_string()))?;
    tracing::info!(count = notarized.len(), "documents notarised");
    Ok(HttpResponse::Accepted().json(json!({"notarized": notarized})))
}

/// `POST /api/v1/notarizations/receipts`
///
/// # Errors
/// 400 for a malformed batch; 500 on store or log failures.
pub async fn receipts(
    _caller: crate::http::routes::access::ApiCaller,
    issuer: web::Data<Issuer>,
    body: web::Json<Digests>,
) -> Result<HttpResponse, ApiError> {
    let digests = parse_all(&body.digests, MAX_RECEIPTS_PER_REQUEST)?;
    let states = notarization::receipts(&issuer, &digests).await?;
    Ok(HttpResponse::Ok().json(states))
}

/// `GET /api/v1/notarizations/{hex}`
///
/// # Errors
/// 400 for a malformed digest, 404 when never notarised.
pub async fn receipt(
    _caller: crate::http::routes::access::ApiCaller,
    issuer: web::Data<Issuer>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let digests = parse_all(&[path.into_inner()], 1)?;
    let mut states = notarization::receipts(&issuer, &digests).await?;
    match states.pop() {
        Some(ReceiptState::Anchored { receipt, .. }) => Ok(HttpResponse::Ok().json(receipt)),
        Some(pending @ ReceiptState::Pending { .. }) => Ok(HttpResponse::build(StatusCode::ACCEPTED).json(pending)),
        _ => Err(ApiError::not_found("该文档摘要的公证记录", "notarisation of this digest")),
    }
}
