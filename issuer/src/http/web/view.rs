//! What every page handler shares: the page context (language, user, CSRF,
//! navigation), the signed-in staff member, form fields and the response
//! with its cookies.

use std::collections::HashMap;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder as _};
use wallet_core::ui_text::{Lang, PageContext};

use super::session::{self, WebState};

/// The shared page data for this request (language, user, CSRF token, navigation)
/// and the cookies to set with the response (a new CSRF cookie).
pub fn page_context(req: &HttpRequest, state: &WebState) -> (PageContext, Vec<Cookie<'static>>) {
    let lang = session::lang_of(req);
    let t = lang.texts();
    let user = signed_in(req).map(|u| u.username);
    let (csrf, csrf_cookie) = state.csrf(req);
    let mut nav = Vec::new();
    if user.is_some() {
        nav.push(("/certificates".to_owned(), t.nav_certificates));
        nav.push(("/certificates/new".to_owned(), t.nav_new_certificate));
        nav.push(("/licences/new".to_owned(), t.nav_new_licence));
        nav.push(("/types".to_owned(), t.nav_other_types));
        nav.push(("/account/password".to_owned(), super::account_texts::AccountTexts::of(lang).nav_password));
    }
    nav.push(("/lookup".to_owned(), t.nav_lookup));
    nav.push(("/audit".to_owned(), t.nav_audit));
    (
        PageContext { t, lang, site: t.issuer_title, nav, user, csrf, switch_href: switch_href(req, lang) },
        csrf_cookie.into_iter().collect(),
    )
}

/// The staff member the request's session belongs to, as the access check
/// ([`crate::http::routes::access::enforce`]) found it: the session is live and the
/// account exists and is not locked.
pub fn signed_in(req: &HttpRequest) -> Option<crate::http::routes::access::StaffUser> {
    use actix_web::HttpMessage as _;
    req.extensions().get::<crate::http::routes::access::StaffUser>().cloned()
}

/// `/lang/<other>?next=<this page>`.
pub fn switch_href(req: &HttpRequest, lang: Lang) -> String {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    format!("/lang/{}?{}", lang.other().code(), serde_urlencoded::to_string([("next", here)]).unwrap_or_default())
}

/// Parse an urlencoded form body into a map (last value wins); never fails.
pub fn form_fields(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default().into_iter().collect()
}

/// A form's values and per-field error messages (already in the reader's language).
#[derive(Debug, Default, Clone)]
pub struct FormView {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    /// A message about the whole form.
    pub general: Option<String>,
}

impl FormView {
    /// A form showing `values`.
    pub fn with_values(values: HashMap<String, String>) -> Self {
        Self { values, ..Self::default() }
    }

    /// The value of a field ("" when empty).
    pub fn v(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Whether a `<select>` option is the chosen one.
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }

    /// The error of a field, if any.
    pub fn err(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }

    /// Whether any field has an error.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.general.is_some()
    }

    /// Records the errors of a failed issuance in `lang`.
    pub fn set_errors(&mut self, err: &crate::api_error::ApiError, lang: Lang) {
        for detail in &err.details {
            self.errors.entry(detail.field.to_owned()).or_insert_with(|| lang.pick(&detail.message).to_owned());
        }
        self.general = Some(if err.details.is_empty() {
            lang.pick(&err.message).to_owned()
        } else {
            lang.texts().form_has_errors.to_owned()
        });
    }
}

/// A rendered askama template as a response with `status` and extra cookies.
pub fn respond<T: actix_web::Responder + 'static>(
    req: &HttpRequest,
    template: T,
    status: StatusCode,
    cookies: Vec<Cookie<'static>>,
) -> HttpResponse {
    let mut resp = template.customize().with_status(status).respond_to(req).map_into_boxed_body();
    for cookie in cookies {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&cookie.to_string()) {
            resp.headers_mut().append(actix_web::http::header::SET_COOKIE, value);
        }
    }
    resp.headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    resp
}
