//! `GET /trust-list`: the department-signed trust list, at a stable URL.
//! The issuer only serves it; its authority is the department's signature,
//! which every verifier checks against its configured roots.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::api_error::ApiError;

/// Where the trust list file is, if this issuer serves one.
#[derive(Debug, Clone)]
pub struct TrustListFile(pub Option<std::path::PathBuf>);

/// Serve the file with an ETag (its SHA-256) and a short cache lifetime.
///
/// # Errors
/// 404 when no trust list is configured; 500 when the file cannot be read.
pub async fn trust_list(file: web::Data<TrustListFile>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(path) = file.0.clone() else {
        return Err(ApiError::not_found("信任列表（本服务未配置）", "trust list (not configured on this service)"));
    };
    let bytes = tokio::fs::read(&path).await.map_err(ApiError::internal)?;
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&bytes)));
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    resp.insert_header((header::ETAG, etag)).insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    Ok(if not_modified { resp.finish() } else { resp.content_type("application/json").body(bytes) })
}
