//! `POST /api/v1/credentials/{uuid}/reissue`: reissue a licence (证照标识 with the
//! same serial, next version) with corrected fields or unchanged; the previous
//! version is revoked in the same transaction (`crate::domain::reissue`).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;
use crate::http::routes::access::ApiCaller;

/// `POST /api/v1/credentials/{uuid}/reissue`: an empty body (or `{}`) reissues
/// the content unchanged; else the body is the type's issuance request.
/// 201 with the new credential, its links and `previous`. An
/// `Idempotency-Key` is honoured as by the issuing routes: a retry gets the
/// first answer again (`Idempotent-Replayed: true`), nothing reissued twice.
///
/// # Errors
/// 404 unknown credential; 409 `already_revoked` / `already_superseded` /
/// `already_used` / `suspended` / `licence_version_exhausted`; 422 `not_reissuable` or
/// invalid corrections, `idempotency_key_reused` for a key used for another
/// credential or other corrections; 400 `invalid_idempotency_key`; 415 a body
/// that is not JSON.
pub async fn reissue(
    caller: ApiCaller,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = super::domain_api::idempotency_key(&req)?;
    let body = super::body::read_body(payload).await?;
    if !body.trim_ascii().is_empty() {
        super::domain_api::require_json(&req)?;
    }
    let answer = issuer.reissue_with_key(&uuid, &body, &caller.principal(), key).await?;
    Ok(super::domain_api::respond(answer))
}

/// `GET /api/v1/licence-ids/{licence_id}/versions`: every version of the licence
/// (old → new) with its credential id and status; the identifier is checked
/// first (400 with its code).
///
/// # Errors
/// 400 for an identifier that does not check out, 404 when no version is stored.
pub async fn versions(
    _who: crate::http::routes::access::Principal,
    issuer: web::Data<Issuer>,
    licence_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let parsed = super::credentials::licence_id_in_path(&licence_id)?;
    Ok(HttpResponse::Ok().json(issuer.licence_chain(&parsed).await?))
}
