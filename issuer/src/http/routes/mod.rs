//! HTTP routes: parse the request, call the domain, shape the response.

pub mod access;
pub mod anchors;
pub mod credentials;
pub mod domain_api;
pub mod log;
pub mod notarization;
pub mod oid4vci;
pub mod status;
pub mod trust_list;
pub mod vc_api;

use actix_web::http::Method;
use actix_web::{web, HttpResponse};

/// Liveness probe.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Register every route (the API's and the web pages') with its access from
/// [`access::INVENTORY`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    register(cfg);
}

/// [`configure`], returning what was registered (the inventory test compares it with the table).
pub fn register(cfg: &mut web::ServiceConfig) -> Vec<(Method, &'static str)> {
    let mut r = access::Router::new(cfg);
    r.add(Method::GET, "/healthz", web::get().to(healthz))
        .add(Method::GET, "/trust-list", web::get().to(trust_list::trust_list))
        .add(Method::POST, "/credentials/issue", web::post().to(vc_api::issue))
        .add(Method::POST, "/credentials/status", web::post().to(status::vc_api_update))
        .add(Method::GET, "/status", web::get().to(status::list_index))
        .add(Method::GET, "/status/{list_id}", web::get().to(status::status_list))
        .add(Method::POST, "/credentials/{uuid}/status", web::post().to(status::change))
        .add(Method::GET, "/credentials/{uuid}/status", web::get().to(status::show))
        .add(Method::GET, "/credentials/{uuid}/use", web::get().to(status::show_use))
        .add(Method::POST, "/api/v1/credentials/{uuid}/use", web::post().to(status::mark_used))
        .add(Method::GET, "/credentials/{uuid}/inclusion", web::get().to(log::inclusion))
        .add(Method::GET, "/log/checkpoint", web::get().to(log::checkpoint))
        .add(Method::GET, "/log/key", web::get().to(log::key))
        .add(Method::GET, "/log/consistency", web::get().to(log::consistency))
        .add(Method::GET, "/log/entries", web::get().to(log::entries))
        .add(Method::GET, "/log/anchors", web::get().to(anchors::anchors))
        .add(Method::POST, "/api/v1/health-certificates", web::post().to(domain_api::issue_health_certificate))
        .add(Method::POST, "/api/v1/licences", web::post().to(domain_api::issue_licence))
        .add(Method::POST, "/api/v1/credential-offers", web::post().to(oid4vci::create_offer))
        .add(Method::GET, "/.well-known/openid-credential-issuer", web::get().to(oid4vci::issuer_metadata))
        .add(
            Method::GET,
            "/.well-known/oauth-authorization-server",
            web::get().to(oid4vci::authorization_server_metadata),
        )
        .add(Method::POST, "/oid4vci/token", web::post().to(oid4vci::token))
        .add(Method::POST, "/oid4vci/nonce", web::post().to(oid4vci::nonce))
        .add(Method::POST, "/oid4vci/credential", web::post().to(oid4vci::credential))
        // Up to 10,000 digests (≈ 700 KB of JSON) per request.
        .add_with(Method::POST, "/api/v1/notarizations", web::post().to(notarization::notarize), |resource| {
            resource.app_data(
                web::JsonConfig::default()
                    .limit(notarization::MAX_NOTARIZE_BODY_BYTES)
                    .error_handler(crate::api_error::json_error),
            )
        })
        .add(Method::POST, "/api/v1/notarizations/receipts", web::post().to(notarization::receipts))
        .add(Method::GET, "/api/v1/notarizations/{digest}", web::get().to(notarization::receipt))
        .add(Method::POST, "/api/v1/{api_path}/batch", web::post().to(domain_api::issue_batch))
        .add(Method::POST, "/api/v1/{api_path}", web::post().to(domain_api::issue_defined))
        .add(Method::GET, "/credentials/{uuid}", web::get().to(credentials::credential))
        .add(Method::GET, "/credentials/{uuid}/qr.png", web::get().to(credentials::qr_png))
        .add(Method::GET, "/credentials/{uuid}/qr.svg", web::get().to(credentials::qr_svg));
    crate::http::web::register(&mut r);
    r.registered().to_vec()
}

/// Largest request body any route accepts (a credential is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Read a request body of at most [`MAX_BODY_BYTES`], answering 413 in our
/// error shape beyond that (stopping as soon as the limit is crossed).
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body(payload: web::Payload) -> Result<web::Bytes, crate::api_error::ApiError> {
    read_body_limited(payload, MAX_BODY_BYTES).await
}

/// [`read_body`] with another limit (a batch).
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body_limited(
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, crate::api_error::ApiError> {
    use futures_util::StreamExt as _;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            crate::api_error::ApiError::bad_request(
                "invalid_body",
                format!("无法读取请求内容：{e}"),
                format!("cannot read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(crate::api_error::ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "请求内容过大",
                "the request body is too large",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
