//! `/account/password`: a signed-in staff member changes their own password.
//!
//! The current password is asked again (a wrong one counts towards the lock-out,
//! like a wrong sign-in, so a borrowed session cannot be used to guess it). A
//! change ends every session of the account, including the ones on other
//! computers; this browser gets a fresh session so the user stays signed in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use askama_web::WebTemplate;
use wallet_core::ui_text::PageContext;

use super::{form_fields, page_context, respond, WebState};
use crate::domain::accounts::{self, PasswordChangeError};
use crate::domain::issuance::Issuer;
use crate::http::routes::access::StaffUser;

pub use super::account_texts::AccountTexts;

#[derive(Template, WebTemplate)]
#[template(path = "issuer/password.html")]
struct PasswordPage {
    ctx: PageContext,
    a: &'static AccountTexts,
    notice: Option<&'static str>,
    error: Option<&'static str>,
}

/// `GET /account/password`
pub async fn password_form(req: HttpRequest, state: web::Data<WebState>, _user: StaffUser) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    let a = AccountTexts::of(ctx.lang);
    respond(&req, PasswordPage { ctx, a, notice: None, error: None }, StatusCode::OK, cookies)
}

/// `POST /account/password` (`csrf`, `current`, `new`, `repeat`).
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    user: StaffUser,
    body: web::Bytes,
) -> HttpResponse {
    let (ctx, mut cookies) = page_context(&req, &state);
    let a = AccountTexts::of(ctx.lang);
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let message = ctx.t.csrf_failed;
        return super::pages::error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let field = |name: &str| f.get(name).map_or("", String::as_str);
    let (current, new, repeat) = (field("current"), field("new"), field("repeat"));
    let refuse = |ctx, cookies, error, status| {
        respond(&req, PasswordPage { ctx, a, notice: None, error: Some(error) }, status, cookies)
    };
    let principal = user.principal();
    let store = &issuer.store;
    match accounts::change_password(store, &issuer.cpu, &user.username, &principal, current, new, repeat).await {
        Ok(()) => {}
        Err(PasswordChangeError::WrongCurrent) => return refuse(ctx, cookies, a.wrong_current, StatusCode::FORBIDDEN),
        Err(PasswordChangeError::TooShort) => {
            return refuse(ctx, cookies, a.too_short, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(PasswordChangeError::Mismatch) => {
            return refuse(ctx, cookies, a.mismatch, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(PasswordChangeError::Unchanged) => {
            return refuse(ctx, cookies, a.unchanged, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return super::pages::internal(&req, ctx, cookies, e),
    }
    tracing::info!(user = %user.username, "password changed; sessions ended");
    match super::pages::start_session(store, &state, &user.username, "login").await {
        Ok(cookie) => cookies.push(cookie),
        Err(e) => return super::pages::internal(&req, ctx, cookies, e),
    }
    respond(&req, PasswordPage { ctx, a, notice: Some(a.changed), error: None }, StatusCode::OK, cookies)
}
