//! HTTP routes: parse the request, call wallet-core, shape the response.

pub mod inspect;
pub mod vc_api;

use actix_web::{web, HttpResponse};

use crate::api_error::ApiError;

/// Largest JSON body accepted (a credential or presentation is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest uploaded photo accepted.
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;

/// Liveness probe.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// `GET /anchoring/status`: the logs this verifier mirrors, their anchors and sync errors.
pub async fn anchoring_status(anchoring: web::Data<crate::log_sync::AnchoringState>) -> HttpResponse {
    HttpResponse::Ok().json(anchoring.status())
}

/// Register every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/credentials/verify", web::post().to(vc_api::verify_credential))
        .route("/presentations/verify", web::post().to(vc_api::verify_presentation))
        .route("/verify/qr", web::post().to(inspect::verify_qr))
        .route("/verify/image", web::post().to(inspect::verify_image))
        .route("/witness/checkpoint", web::get().to(crate::witness::checkpoint))
        .route("/witness/key", web::get().to(crate::witness::key))
        .route("/witness/status", web::get().to(crate::witness::status))
        .route("/anchoring/status", web::get().to(anchoring_status))
        // gzip on request: the bundle's JWS base64url-encodes its payload, which
        // gzip more than takes back (3.05 MiB → 0.58 MiB for 1,000 issuers).
        .service(
            web::resource("/bundle")
                .wrap(actix_web::middleware::Compress::default())
                .route(web::get().to(crate::bundle_publish::bundle)),
        );
}

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "请求内容过大",
        "the request body is too large",
    )
}

/// Read a body of at most `limit` bytes, stopping as soon as it is crossed.
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt as _;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "invalid_body",
                format!("无法读取请求内容：{e}"),
                format!("cannot read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
