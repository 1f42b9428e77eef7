//! Reading issued credentials and their QR codes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use wallet_core::{compact, qr, selective_disclosure};

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;

/// `GET /credentials/{uuid}`: the full signed VC.
///
/// # Errors
/// 404 when unknown.
pub async fn credential(
    _who: crate::http::routes::access::Principal,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vc = issuer.credential(&uuid).await?;
    // Personal data: kept in no browser or proxy cache.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/vc+ld+json")
        .body(vc.to_string()))
}

/// `GET /api/v1/licence-ids/{licence_id}`: the credential carrying this 证照标识
/// (its check character is checked first: 400 with the identifier's code).
///
/// # Errors
/// 400 for an identifier that does not check out, 404 when none carries it.
pub async fn by_licence_id(
    _who: crate::http::routes::access::Principal,
    issuer: web::Data<Issuer>,
    licence_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let parsed = licence_id_in_path(&licence_id)?;
    let vc = issuer.credential_by_licence_id(&parsed).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/vc+ld+json")
        .body(vc.to_string()))
}

/// A 证照标识 named in a route's path, its check character checked: 400 with the
/// identifier's own code (and zh/en message) when it does not check out.
///
/// # Errors
/// [`ApiError::bad_request`] for anything but a valid identifier.
pub(super) fn licence_id_in_path(raw: &str) -> Result<wallet_core::licence_id::LicenceId, ApiError> {
    crate::domain::search::licence_id_query(raw)
        .and_then(|id| id.ok_or(wallet_core::licence_id::LicenceIdError::Root))
        .map_err(|e| ApiError::bad_request(e.code(), e.message_zh(), e.to_string()))
}

/// The QR text of a stored credential: what its holder shows (for a credential
/// issued for selective disclosure, the mandatory-only derived credential; the
/// base proof is the holder's and a verifier refuses it).
async fn qr_text(issuer: &Issuer, uuid: &str) -> Result<String, ApiError> {
    let vc = issuer.credential(uuid).await?;
    let shown = selective_disclosure::shown_with(&issuer.types, &vc, &[]).await.map_err(ApiError::internal)?;
    compact::encode_credential_with(&issuer.types, &shown).map_err(ApiError::internal)
}

/// `GET /credentials/{uuid}/qr.png`
///
/// # Errors
/// 404 when unknown.
pub async fn qr_png(
    _who: crate::http::routes::access::Principal,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = qr_text(&issuer, &uuid).await?;
    let png = qr::render_png(&text, 6).map_err(ApiError::internal)?;
    // The QR code holds the whole credential (name, birth date, result).
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).content_type("image/png").body(png))
}

/// `GET /credentials/{uuid}/qr.svg`
///
/// # Errors
/// 404 when unknown.
pub async fn qr_svg(
    _who: crate::http::routes::access::Principal,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = qr_text(&issuer, &uuid).await?;
    let svg = qr::render_svg(&text).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).content_type("image/svg+xml").body(svg))
}
