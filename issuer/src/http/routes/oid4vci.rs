//! OpenID4VCI endpoints (see [`crate::domain::offers`]): the staff's offer API, the
//! metadata, token, nonce and credential endpoints.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;

fn no_store(json: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json)
}

/// `POST /api/v1/credential-offers` (API token): `{"credentialConfigurationId", "request"}`.
///
/// # Errors
/// 400/422 for a request that would not issue.
pub async fn create_offer(
    caller: crate::http::routes::access::ApiCaller,
    issuer: web::Data<Issuer>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::body::read_body(payload).await?;
    // The audit trail names the token that was checked (`token:<id> (<clinic>)`).
    let offer = issuer.create_offer(&body, &caller.principal()).await?;
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(offer))
}

/// `GET /.well-known/openid-credential-issuer`
pub async fn issuer_metadata(issuer: web::Data<Issuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.issuer_metadata())
}

/// `GET /.well-known/oauth-authorization-server`
pub async fn authorization_server_metadata(issuer: web::Data<Issuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.authorization_server_metadata())
}

/// `POST /oid4vci/token` (form-encoded).
///
/// # Errors
/// OAuth errors (400).
pub async fn token(
    issuer: web::Data<Issuer>,
    limits: web::Data<crate::http::web::session::WebState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let address = req.peer_addr().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if !limits.oid4vci_token_limiter.allow(address) {
        return Err(ApiError::oauth(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "请求过于频繁，请稍后再试",
            "too many token requests from this address; try again in a minute",
        ));
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::oauth(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            "请求内容类型应为 application/x-www-form-urlencoded",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = super::body::read_body(payload).await?;
    Ok(no_store(issuer.token(&body).await?))
}

/// `POST /oid4vci/nonce`
pub async fn nonce(issuer: web::Data<Issuer>) -> HttpResponse {
    no_store(issuer.nonce())
}

/// `POST /oid4vci/credential` (Bearer access token, JSON).
///
/// # Errors
/// 401 `invalid_token`; 400 OpenID4VCI errors.
pub async fn credential(
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = super::body::read_body(payload).await?;
    Ok(no_store(issuer.oid4vci_credential(authorization.as_deref(), &body).await?))
}
