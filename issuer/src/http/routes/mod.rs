//! HTTP routes: parse the request, call the domain, shape the response.

pub mod access;
pub mod anchors;
mod body;
pub mod credentials;
pub mod domain_api;
pub mod log;
pub mod notarization;
pub mod oid4vci;
pub mod reissue;
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
        .add(Method::POST, "/api/v1/credentials/{uuid}/reissue", web::post().to(reissue::reissue))
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
        .add(Method::GET, "/api/v1/licence-ids/{licence_id}", web::get().to(credentials::by_licence_id))
        .add(Method::GET, "/api/v1/licence-ids/{licence_id}/versions", web::get().to(reissue::versions))
        .add(Method::GET, "/credentials/{uuid}/qr.png", web::get().to(credentials::qr_png))
        .add(Method::GET, "/credentials/{uuid}/qr.svg", web::get().to(credentials::qr_svg));
    crate::http::web::register(&mut r);
    r.registered().to_vec()
}

pub use self::body::{read_body, read_body_limited, MAX_BODY_BYTES};
