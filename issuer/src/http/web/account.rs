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
use wallet_core::ui_text::{Lang, PageContext};

use super::{form_fields, page_context, respond, WebState};
use crate::domain::accounts::{self, PasswordChangeError};
use crate::domain::issuance::Issuer;
use crate::http::routes::access::StaffUser;

/// The page's words in one language. (They belong with the others in
/// `wallet_core::ui_text` once that catalogue is opened for edits again.)
pub struct AccountTexts {
    /// Navigation link.
    pub nav_password: &'static str,
    /// Page heading.
    pub title: &'static str,
    /// What a change does.
    pub explain: &'static str,
    /// Field labels and button.
    pub current: &'static str,
    /// New password label.
    pub new: &'static str,
    /// Minimum length hint.
    pub new_hint: &'static str,
    /// Repeat label.
    pub repeat: &'static str,
    /// Button.
    pub submit: &'static str,
    /// Wrong current password.
    pub wrong_current: &'static str,
    /// New password too short.
    pub too_short: &'static str,
    /// The two new passwords differ.
    pub mismatch: &'static str,
    /// New equals current.
    pub unchanged: &'static str,
    /// Success.
    pub changed: &'static str,
}

const ZH: AccountTexts = AccountTexts {
    nav_password: "修改密码",
    title: "修改密码",
    explain: "修改后，本账户在其他电脑上的登录会立即失效。",
    current: "当前密码",
    new: "新密码",
    new_hint: "至少 10 个字符",
    repeat: "再次输入新密码",
    submit: "修改密码",
    wrong_current: "当前密码不正确",
    too_short: "新密码至少需要 10 个字符",
    mismatch: "两次输入的新密码不一致",
    unchanged: "新密码不能与当前密码相同",
    changed: "密码已修改，其他登录已全部退出",
};

const EN: AccountTexts = AccountTexts {
    nav_password: "Change password",
    title: "Change password",
    explain: "After a change, this account's sign-ins on other computers end at once.",
    current: "Current password",
    new: "New password",
    new_hint: "At least 10 characters",
    repeat: "New password again",
    submit: "Change password",
    wrong_current: "The current password is not correct",
    too_short: "The new password needs at least 10 characters",
    mismatch: "The two new passwords differ",
    unchanged: "The new password must differ from the current one",
    changed: "Password changed; every other sign-in has ended",
};

impl AccountTexts {
    /// The texts in `lang`.
    pub fn of(lang: Lang) -> &'static AccountTexts {
        match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

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
