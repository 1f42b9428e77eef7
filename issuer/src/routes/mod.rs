//! HTTP routes: parse the request, call the domain, shape the response.

pub mod anchors;
pub mod credentials;
pub mod domain_api;
pub mod log;
pub mod notarization;
pub mod oid4vci;
pub mod status;
pub mod trust_list;
pub mod vc_api;

use actix_web::{web, HttpResponse};

/// Liveness probe.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Register every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/trust-list", web::get().to(trust_list::trust_list))
        .route("/credentials/issue", web::post().to(vc_api::issue))
        .route("/credentials/status", web::post().to(status::vc_api_update))
        .route("/status", web::get().to(status::list_index))
        .route("/status/{list_id}", web::get().to(status::status_list))
        .route("/credentials/{uuid}/status", web::post().to(status::change))
        .route("/credentials/{uuid}/status", web::get().to(status::show))
        .route("/credentials/{uuid}/use", web::get().to(status::show_use))
        .route("/api/v1/credentials/{uuid}/use", web::post().to(status::mark_used))
        .route("/credentials/{uuid}/inclusion", web::get().to(log::inclusion))
        .route("/log/checkpoint", web::get().to(log::checkpoint))
        .route("/log/key", web::get().to(log::key))
        .route("/log/consistency", web::get().to(log::consistency))
        .route("/log/entries", web::get().to(log::entries))
        .route("/log/anchors", web::get().to(anchors::anchors))
        .route("/api/v1/health-certificates", web::post().to(domain_api::issue_health_certificate))
        .route("/api/v1/licences", web::post().to(domain_api::issue_licence))
        .route("/api/v1/credential-offers", web::post().to(oid4vci::create_offer))
        .route("/.well-known/openid-credential-issuer", web::get().to(oid4vci::issuer_metadata))
        .route("/.well-known/oauth-authorization-server", web::get().to(oid4vci::authorization_server_metadata))
        .route("/oid4vci/token", web::post().to(oid4vci::token))
        .route("/oid4vci/nonce", web::post().to(oid4vci::nonce))
        .route("/oid4vci/credential", web::post().to(oid4vci::credential))
        .service(
            // Up to 10,000 digests (≈ 700 KB of JSON) per request.
            web::resource("/api/v1/notarizations")
                .app_data(
                    web::JsonConfig::default()
                        .limit(notarization::MAX_NOTARIZE_BODY_BYTES)
                        .error_handler(crate::api_error::json_error),
                )
                .route(web::post().to(notarization::notarize)),
        )
        .route("/api/v1/notarizations/receipts", web::post().to(notarization::receipts))
        .route("/api/v1/notarizations/{digest}", web::get().to(notarization::receipt))
        .route("/api/v1/{api_path}", web::post().to(domain_api::issue_defined))
        .route("/credentials/{uuid}", web::get().to(credentials::credential))
        .route("/credentials/{uuid}/qr.png", web::get().to(credentials::qr_png))
        .route("/credentials/{uuid}/qr.svg", web::get().to(credentials::qr_svg));
}

/// Largest request body any route accepts (a credential is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Read a request body of at most [`MAX_BODY_BYTES`], answering 413 in our
/// error shape beyond that (stopping as soon as the limit is crossed).
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, crate::api_error::ApiError> {
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
        if body.len() + chunk.len() > MAX_BODY_BYTES {
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
