//! The domain API for clinics' and licensing offices' systems: plain fields
//! in, signed credential out, `Idempotency-Key` honoured.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api_error::ApiError;
use crate::domain::issuance::{IdempotencyKey, Issued, Issuer};
use crate::http::routes::access::ApiCaller;

fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    match req.headers().get("Idempotency-Key") {
        None => Ok(None),
        // A header that is not visible ASCII is parsed as "" and refused with the same error.
        Some(v) => IdempotencyKey::parse(v.to_str().unwrap_or("")).map(Some).map_err(ApiError::from),
    }
}

fn respond(issued: Issued) -> HttpResponse {
    let status = StatusCode::from_u16(issued.status).unwrap_or(StatusCode::CREATED);
    let mut resp = HttpResponse::build(status);
    if issued.replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    resp.json(issued.body)
}

fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求内容类型应为 application/json",
            "the request body must be application/json",
        ))
    }
}

/// `POST /api/v1/health-certificates`
///
/// # Errors
/// 400/415/422 for bad input.
pub async fn issue_health_certificate(
    _caller: ApiCaller,
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_json(&req)?;
    let key = idempotency_key(&req)?;
    let body = super::read_body(payload).await?;
    Ok(respond(issuer.issue_health_certificate(&body, key).await?))
}

/// `POST /api/v1/licences`
///
/// # Errors
/// 400/415/422 for bad input.
pub async fn issue_licence(
    _caller: ApiCaller,
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_json(&req)?;
    let key = idempotency_key(&req)?;
    let body = super::read_body(payload).await?;
    Ok(respond(issuer.issue_licence(&body, key).await?))
}

/// `POST /api/v1/{api_path}`: any type from a definition file.
///
/// # Errors
/// 404 for an unknown type; 400/403/415/422 as the other issuing routes.
pub async fn issue_defined(
    _caller: ApiCaller,
    issuer: web::Data<Issuer>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let def = issuer.definition_at(&path)?;
    require_json(&req)?;
    let key = idempotency_key(&req)?;
    let body = super::read_body(payload).await?;
    Ok(respond(issuer.issue_type(&def.type_name, &body, key).await?))
}
