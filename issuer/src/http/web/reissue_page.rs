//! `POST /certificates/{uuid}/reissue`: a supervisor reissues a licence from its
//! page (content unchanged; corrections go through the API), after ticking the
//! confirmation. Refusals are shown on the page in the reader's language.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError as _};

use super::pages::{error_page, internal, render_certificate};
use super::{form_fields, page_context, signed_in, WebState};
use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;

/// Reissue `uuid` unchanged and show the new version's page (`?reissued=1`).
pub async fn reissue(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(user) = signed_in(&req) else {
        return HttpResponse::SeeOther().insert_header((header::LOCATION, "/login")).finish();
    };
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let (ctx, cookies) = page_context(&req, &state);
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let lang = super::session::lang_of(&req);
    if f.get("confirm").map(String::as_str) != Some("yes") {
        return render_certificate(&req, &state, &issuer, &uuid, Some(lang.texts().reissue_confirm.to_owned())).await;
    }
    match issuer.reissue(&uuid, b"", &user.principal()).await.map_err(ApiError::from) {
        Ok(answer) => {
            let new_uuid = answer
                .get("id")
                .and_then(serde_json::Value::as_str)
                .and_then(|id| id.strip_prefix("urn:uuid:"))
                .unwrap_or(uuid.as_str())
                .to_owned();
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/certificates/{new_uuid}?reissued=1")))
                .finish()
        }
        Err(e) if e.status_code().is_server_error() => {
            let (ctx, cookies) = page_context(&req, &state);
            internal(&req, ctx, cookies, e)
        }
        Err(e) => render_certificate(&req, &state, &issuer, &uuid, Some(lang.pick(&e.message).to_owned())).await,
    }
}
