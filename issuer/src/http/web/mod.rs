//! The clinic staff's and auditors' web pages (askama templates in `templates/`,
//! Chinese and English). Every page works without JavaScript.
//!
//! Handlers stay thin: forms are turned into the domain API's JSON and go
//! through [`crate::domain::issuance::Issuer`], so a form obeys exactly the rules the API
//! does and its errors are the same field errors, shown in the reader's language.
//! Form values (names, ID numbers) are never logged.

pub mod account;
mod account_texts;
pub mod pages;
pub mod reissue_page;
pub mod session;
mod view;

use actix_web::web;

pub use session::WebState;

/// Register the pages (their access is in [`crate::http::routes::access::INVENTORY`]).
pub fn register(r: &mut crate::http::routes::access::Router<'_>) {
    use actix_web::http::Method;
    r.add(Method::GET, "/", web::get().to(pages::home))
        .add(Method::GET, "/lang/{code}", web::get().to(pages::switch_lang))
        .add(Method::GET, "/login", web::get().to(pages::login_form))
        .add(Method::POST, "/login", web::post().to(pages::login))
        .add(Method::POST, "/logout", web::post().to(pages::logout))
        .add(Method::GET, "/certificates", web::get().to(pages::list))
        .add(Method::GET, "/certificates/new", web::get().to(pages::new_health_certificate))
        .add(Method::POST, "/certificates/new", web::post().to(pages::issue_health_certificate))
        .add(Method::GET, "/licences/new", web::get().to(pages::new_licence))
        .add(Method::POST, "/licences/new", web::post().to(pages::issue_licence))
        .add(Method::GET, "/types", web::get().to(pages::types))
        .add(Method::GET, "/types/{api_path}/new", web::get().to(pages::new_of_type))
        .add(Method::POST, "/types/{api_path}/new", web::post().to(pages::issue_of_type))
        .add(Method::GET, "/certificates/{uuid}", web::get().to(pages::certificate))
        .add(Method::POST, "/certificates/{uuid}/status", web::post().to(pages::change_status))
        .add(Method::POST, "/certificates/{uuid}/reissue", web::post().to(reissue_page::reissue))
        .add(Method::GET, "/audit", web::get().to(pages::audit))
        .add(Method::GET, "/lookup", web::get().to(pages::lookup_form))
        .add(Method::POST, "/lookup", web::post().to(pages::lookup))
        .add(Method::GET, "/account/password", web::get().to(account::password_form))
        .add(Method::POST, "/account/password", web::post().to(account::change_password));
}

pub use self::view::{form_fields, page_context, respond, signed_in, switch_href, FormView};

/// Request spans like tracing-actix-web's default, but with the path only: a
/// list search carries a holder's name in its query string, and personal data
/// never goes into logs.
pub struct PathOnlySpan;

impl tracing_actix_web::RootSpanBuilder for PathOnlySpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
