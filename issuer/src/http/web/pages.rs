//! Page handlers: sign-in, issuance forms, the printable certificate, the list,
//! status changes, the auditors' page.

use std::collections::HashMap;

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError as _};
use askama::Template;
use askama_web::WebTemplate;
use serde_json::{json, Map, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::{Definition, FieldType};
use wallet_core::localized::Localized;
use wallet_core::ui_text::{self, Lang, PageContext};

use super::session::web_query;
use super::{form_fields, page_context, respond, signed_in, FormView, WebState};
use crate::api_error::ApiError;
use crate::domain::accounts::{self, SignInError};
use crate::domain::issuance::{IdempotencyKey, Issuer};
use crate::domain::search::{self, holder_of, Search};
use crate::domain::{audit, lookup};
use crate::store::{CredentialState, PeriodCounts, StatusAction};

/// Days with activity shown on the audit page (newest first).
const AUDIT_DAYS: usize = 31;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageContext,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/login.html")]
struct LoginPage {
    ctx: PageContext,
    username: String,
    next: String,
    error: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/health_form.html")]
struct HealthFormPage {
    ctx: PageContext,
    form: FormView,
    idem: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/licence_form.html")]
struct LicenceFormPage {
    ctx: PageContext,
    form: FormView,
    idem: String,
}

/// The OpenID4VCI offer made from an issuance form: its QR code (our own SVG) and the PIN.
#[derive(Template, WebTemplate)]
#[template(path = "issuer/offer.html")]
struct OfferPage {
    ctx: PageContext,
    kind: String,
    qr_svg: String,
    uri: String,
    pin: String,
    expires: String,
}

struct EventRow {
    at: String,
    action: &'static str,
    reason: String,
    actor: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/certificate.html")]
struct CertificatePage {
    ctx: PageContext,
    uuid: String,
    id: String,
    /// The 证照标识, when the credential carries one.
    licence_id: Option<String>,
    kind: String,
    rows: Vec<(String, String)>,
    issuer_did: String,
    valid_from: String,
    valid_until: String,
    state: &'static str,
    state_class: &'static str,
    revoked: bool,
    /// The signed-in role may revoke, suspend and reinstate (the route checks it again).
    may_change_status: bool,
    events: Vec<EventRow>,
    notice: Option<&'static str>,
    status_error: Option<String>,
    /// The signed-in role may reissue (the route checks it again), and the
    /// credential has a 证照标识 to reissue.
    may_reissue: bool,
    /// Every version of this licence (same 证照标识 serial), oldest first:
    /// identifier, page UUID, whether it is this page's.
    versions: Vec<(String, String, bool)>,
}

struct ListRow {
    uuid: String,
    id: String,
    kind: String,
    holder: String,
    issued_at: String,
    valid_until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/list.html")]
struct ListPage {
    ctx: PageContext,
    error: Option<String>,
    q: String,
    from: String,
    to: String,
    rows: Vec<ListRow>,
    page: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
}

struct AnchorRow {
    tree_size: u64,
    state: String,
    block: String,
    tx: String,
    time: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/audit.html")]
struct AuditPage {
    ctx: PageContext,
    did: String,
    total_issued: u64,
    total_revoked: u64,
    total_suspended: u64,
    months: Vec<PeriodCounts>,
    days: Vec<PeriodCounts>,
    checkpoint: Option<(u64, String, String)>,
    anchors: Vec<AnchorRow>,
}

fn redirect(to: &str, cookies: Vec<Cookie<'static>>) -> HttpResponse {
    let mut resp = HttpResponse::SeeOther();
    resp.insert_header((header::LOCATION, to.to_owned()));
    for cookie in cookies {
        resp.cookie(cookie);
    }
    resp.finish()
}

pub(super) fn error_page(
    req: &HttpRequest,
    ctx: PageContext,
    cookies: Vec<Cookie<'static>>,
    status: StatusCode,
    message: &str,
) -> HttpResponse {
    respond(req, ErrorPage { ctx, message: message.to_owned() }, status, cookies)
}

pub(super) fn internal(
    req: &HttpRequest,
    ctx: PageContext,
    cookies: Vec<Cookie<'static>>,
    cause: impl std::fmt::Display,
) -> HttpResponse {
    tracing::error!(error = %cause, path = req.path(), "page failed");
    let message = ctx.t.internal_error;
    error_page(req, ctx, cookies, StatusCode::INTERNAL_SERVER_ERROR, message)
}

fn login_redirect(req: &HttpRequest) -> HttpResponse {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    redirect(&format!("/login?{}", serde_urlencoded::to_string([("next", here)]).unwrap_or_default()), Vec::new())
}

fn new_idempotency_key() -> String {
    format!("web-{}", uuid::Uuid::new_v4())
}

/// `GET /`
pub async fn home(req: HttpRequest) -> HttpResponse {
    redirect(if signed_in(&req).is_some() { "/certificates" } else { "/login" }, Vec::new())
}

/// `GET /lang/{code}?next=…`: remember the language, go back.
pub async fn switch_lang(req: HttpRequest, state: web::Data<WebState>, code: web::Path<String>) -> HttpResponse {
    let lang = Lang::parse(&code).unwrap_or_default();
    redirect(
        &service_http::redirect::local_path(web_query(&req, "next").as_deref(), "/"),
        vec![state.lang_cookie(lang)],
    )
}

/// `GET /login`
pub async fn login_form(req: HttpRequest, state: web::Data<WebState>) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    let next = service_http::redirect::local_path(web_query(&req, "next").as_deref(), "/");
    respond(&req, LoginPage { ctx, username: String::new(), next, error: None }, StatusCode::OK, cookies)
}

/// `POST /login`
pub async fn login(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    body: web::Bytes,
) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let username = f.get("username").map_or("", |u| u.trim()).to_owned();
    let password = f.get("password").map_or("", String::as_str);
    let next = service_http::redirect::local_path(f.get("next").map(String::as_str), "/");
    let ip = req.peer_addr().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if !state.login_limiter.allow(ip) {
        let error = Some(ctx.t.too_many_requests);
        let page = LoginPage { ctx, username, next, error };
        return respond(&req, page, StatusCode::TOO_MANY_REQUESTS, cookies);
    }
    // One password check at a time (see `WebState::password_checks`).
    let turn = tokio::time::timeout(super::session::PASSWORD_CHECK_WAIT, state.password_checks.acquire()).await;
    let Ok(Ok(_turn)) = turn else {
        let error = Some(ctx.t.too_many_requests);
        let page = LoginPage { ctx, username, next, error };
        let mut page = respond(&req, page, StatusCode::SERVICE_UNAVAILABLE, cookies);
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(service_http::cpu_pool::RETRY_AFTER_SECS),
        );
        return page;
    };
    let client = ip.to_string();
    match accounts::sign_in(&issuer.store, &issuer.cpu, &username, password, &client).await {
        Err(e) => internal(&req, ctx, cookies, e),
        Ok(Ok(account)) => {
            let session = match start_session(&issuer.store, &state, &account.username, "login").await {
                Ok(session) => session,
                Err(e) => return internal(&req, ctx, cookies, e),
            };
            tracing::info!(user = %account.username, "signed in");
            let to = if next == "/" { "/certificates".to_owned() } else { next };
            redirect(&to, vec![session])
        }
        Ok(Err(why)) => {
            let (error, status) = match why {
                SignInError::BadCredentials => (ctx.t.bad_credentials, StatusCode::UNAUTHORIZED),
                SignInError::Locked => (ctx.t.account_locked, StatusCode::FORBIDDEN),
                SignInError::Busy => (ctx.t.too_many_requests, StatusCode::SERVICE_UNAVAILABLE),
            };
            let mut page = respond(&req, LoginPage { ctx, username, next, error: Some(error) }, status, cookies);
            if why == SignInError::Busy {
                page.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(service_http::cpu_pool::RETRY_AFTER_SECS),
                );
            }
            page
        }
    }
}

/// A new session for `username` (stored as its hash), recorded in the audit trail
/// as `action` by the account itself; expired sessions are purged on the way.
/// Returns the cookie to set.
pub(super) async fn start_session(
    store: &crate::store::Store,
    state: &WebState,
    username: &str,
    action: &str,
) -> Result<Cookie<'static>, crate::store::StoreError> {
    let id = super::session::new_session_id();
    accounts::open_session(store, &id.hash(), username, action, state.sessions).await?;
    Ok(state.session_cookie(&id))
}

/// `POST /logout`: ends the session in the store (the cookie is worthless after).
pub async fn logout(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    body: web::Bytes,
) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    if !state.csrf_ok(&req, form_fields(&body).get("csrf").map(String::as_str)) {
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    if let Some(user) = signed_in(&req) {
        let principal = user.principal();
        let ended = accounts::close_session(&issuer.store, &user.session_hash, &principal);
        if let Err(e) = ended.await {
            return internal(&req, ctx, cookies, e);
        }
    }
    redirect("/login", vec![state.clear_session()])
}

/// `GET /certificates/new`
pub async fn new_health_certificate(req: HttpRequest, state: web::Data<WebState>) -> HttpResponse {
    if signed_in(&req).is_none() {
        return login_redirect(&req);
    }
    let (ctx, cookies) = page_context(&req, &state);
    let mut values = HashMap::new();
    values.insert("examinationDate".to_owned(), chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string());
    values.insert("examinationResult".to_owned(), "qualified".to_owned());
    let page = HealthFormPage { ctx, form: FormView::with_values(values), idem: new_idempotency_key() };
    respond(&req, page, StatusCode::OK, cookies)
}

fn text_fields(f: &HashMap<String, String>, names: &[&str]) -> Map<String, Value> {
    names.iter().map(|n| ((*n).to_owned(), Value::String(f.get(*n).map_or("", |v| v.trim()).to_owned()))).collect()
}

/// The domain API body for a health certificate form.
fn health_request(f: &HashMap<String, String>) -> Value {
    let mut body = text_fields(
        f,
        &[
            "fullName",
            "fullNamePinyin",
            "sex",
            "birthDate",
            "idNumber",
            "examinationDate",
            "examiningInstitution",
            "examinationResult",
        ],
    );
    if let Some(occupation) = f.get("occupation").map(|o| o.trim()).filter(|o| !o.is_empty()) {
        body.insert("occupation".into(), json!(occupation));
    }
    Value::Object(body)
}

/// `YYYY-MM-DD` → start of that day in China (UTC+8), as the domain API wants RFC 3339;
/// anything else is passed on for the domain rules to reject.
fn date_to_timestamp(value: &str) -> String {
    match chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(_) => format!("{value}T00:00:00+08:00"),
        Err(_) => value.to_owned(),
    }
}

/// The domain API body for a licence form.
fn licence_request(f: &HashMap<String, String>) -> Value {
    let mut body = text_fields(
        f,
        &["licenceNumber", "licensee", "unifiedSocialCreditCode", "legalRepresentative", "businessAddress"],
    );
    let scope: Vec<Value> = f
        .get("businessScope")
        .map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!(l)).collect())
        .unwrap_or_default();
    body.insert("businessScope".into(), Value::Array(scope));
    for field in ["validFrom", "validUntil"] {
        body.insert(field.into(), json!(date_to_timestamp(f.get(field).map_or("", |v| v.trim()))));
    }
    Value::Object(body)
}

/// `POST /certificates/new`
pub async fn issue_health_certificate(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    body: web::Bytes,
) -> HttpResponse {
    issue_from_form(req, state, issuer, body, Kind::Health).await
}

/// `GET /licences/new`
pub async fn new_licence(req: HttpRequest, state: web::Data<WebState>) -> HttpResponse {
    if signed_in(&req).is_none() {
        return login_redirect(&req);
    }
    let (ctx, cookies) = page_context(&req, &state);
    let page = LicenceFormPage { ctx, form: FormView::default(), idem: new_idempotency_key() };
    respond(&req, page, StatusCode::OK, cookies)
}

/// `POST /licences/new`
pub async fn issue_licence(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    body: web::Bytes,
) -> HttpResponse {
    issue_from_form(req, state, issuer, body, Kind::Licence).await
}

#[derive(Clone, Copy)]
enum Kind {
    Health,
    Licence,
}

async fn issue_from_form(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    body: web::Bytes,
    kind: Kind,
) -> HttpResponse {
    let Some(user) = signed_in(&req).map(|u| u.username) else { return login_redirect(&req) };
    let (ctx, cookies) = page_context(&req, &state);
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let idem = f.get("idem").cloned().filter(|k| IdempotencyKey::parse(k).is_ok()).unwrap_or_else(new_idempotency_key);
    if f.get("deliver").map(String::as_str) == Some("wallet") {
        return offer_from_form(&req, ctx, cookies, &issuer, &user, f, kind, idem).await;
    }
    let key = IdempotencyKey::parse(&idem).ok();
    let result = match kind {
        Kind::Health => issuer.issue_health_certificate(health_request(&f).to_string().as_bytes(), key).await,
        Kind::Licence => issuer.issue_licence(licence_request(&f).to_string().as_bytes(), key).await,
    };
    match result.map_err(ApiError::from) {
        Ok(issued) => {
            let id = issued.body.get("id").and_then(Value::as_str).and_then(CredentialId::parse);
            let Some(id) = id else { return internal(&req, ctx, cookies, "issued credential without an id") };
            tracing::info!(user = %user, credential_id = %id.as_str(), "issued from the web form");
            redirect(&format!("/certificates/{}?issued=1", id.uuid_part()), cookies)
        }
        Err(e) if e.status_code().is_server_error() => internal(&req, ctx, cookies, e),
        Err(e) => form_with_errors(&req, ctx, cookies, f, &e, kind, idem),
    }
}

/// The health or licence form again, with the staff's values and the API's
/// field errors (422).
fn form_with_errors(
    req: &HttpRequest,
    ctx: PageContext,
    cookies: Vec<Cookie<'static>>,
    f: HashMap<String, String>,
    e: &crate::api_error::ApiError,
    kind: Kind,
    idem: String,
) -> HttpResponse {
    let mut form = FormView::with_values(f);
    form.set_errors(e, ctx.lang);
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    match kind {
        Kind::Health => respond(req, HealthFormPage { ctx, form, idem }, status, cookies),
        Kind::Licence => respond(req, LicenceFormPage { ctx, form, idem }, status, cookies),
    }
}

/// "Send to the holder's phone wallet": the same form, the same domain rules, but an
/// OpenID4VCI offer (QR code + PIN) instead of a printed certificate.
#[allow(clippy::too_many_arguments)]
async fn offer_from_form(
    req: &HttpRequest,
    ctx: PageContext,
    cookies: Vec<Cookie<'static>>,
    issuer: &Issuer,
    user: &str,
    f: HashMap<String, String>,
    kind: Kind,
    idem: String,
) -> HttpResponse {
    let (configuration, request) = match kind {
        Kind::Health => (wallet_core::credential::HEALTH_CERTIFICATE_TYPE, health_request(&f)),
        Kind::Licence => (wallet_core::credential::FOOD_BUSINESS_LICENCE_TYPE, licence_request(&f)),
    };
    let body = json!({"credentialConfigurationId": configuration, "request": request}).to_string();
    match issuer.create_offer(body.as_bytes(), &format!("staff:{user}")).await.map_err(ApiError::from) {
        Ok(offer) => {
            let page = OfferPage {
                kind: issuer
                    .types
                    .by_type(configuration)
                    .map_or_else(|| configuration.to_owned(), |def| ctx.lang.pick(&def.name).to_owned()),
                qr_svg: text(&offer, "qrSvg"),
                uri: text(&offer, "credentialOfferUri"),
                pin: text(&offer, "txCode"),
                expires: text(&offer, "expiresAt").chars().take(19).collect::<String>().replace('T', " "),
                ctx,
            };
            respond(req, page, StatusCode::OK, cookies)
        }
        Err(e) if e.status_code().is_server_error() => internal(req, ctx, cookies, e),
        Err(e) => form_with_errors(req, ctx, cookies, f, &e, kind, idem),
    }
}

fn state_label(state: CredentialState, lang: Lang) -> (&'static str, &'static str) {
    let t = lang.texts();
    match state {
        CredentialState::Active => (t.status_active, "ok"),
        CredentialState::Suspended => (t.status_suspended, "warn"),
        CredentialState::Revoked => (t.status_revoked, "bad"),
        CredentialState::Used => (t.status_used, "warn"),
    }
}

fn action_label(action: StatusAction, lang: Lang) -> &'static str {
    let t = lang.texts();
    match action {
        StatusAction::Revoke => t.action_revoke,
        StatusAction::Suspend => t.action_suspend,
        StatusAction::Reinstate => t.action_reinstate,
        StatusAction::Use => t.action_use,
    }
}

pub(super) async fn render_certificate(
    req: &HttpRequest,
    state: &WebState,
    issuer: &Issuer,
    uuid: &str,
    status_error: Option<String>,
) -> HttpResponse {
    let (ctx, cookies) = page_context(req, state);
    let lang = ctx.lang;
    let vc = match issuer.credential(uuid).await.map_err(ApiError::from) {
        Ok(vc) => vc,
        Err(e) if e.status_code() == StatusCode::NOT_FOUND => {
            let message = ctx.t.not_found;
            return error_page(req, ctx, cookies, StatusCode::NOT_FOUND, message);
        }
        Err(e) => return internal(req, ctx, cookies, e),
    };
    let id = text(&vc, "id");
    let (state_name, state_class, revoked, events) = match issuer.status.report(&id).await {
        Ok(report) => {
            let (name, class) = state_label(report.status, lang);
            let events = report
                .events
                .iter()
                .map(|e| EventRow {
                    at: e.occurred_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    action: action_label(e.action, lang),
                    reason: e.reason.clone(),
                    actor: e.actor.clone(),
                })
                .collect();
            (name, class, report.status == CredentialState::Revoked, events)
        }
        Err(_) => ("—", "", false, Vec::new()),
    };
    let notice = (web_query(req, "issued").is_some())
        .then_some(ctx.t.issued_ok)
        .or_else(|| (web_query(req, "changed").is_some()).then_some(ctx.t.status_changed))
        .or_else(|| (web_query(req, "reissued").is_some()).then_some(ctx.t.reissued_ok));
    let licence_id = vc.get(wallet_core::licence_id::CREDENTIAL_TERM).and_then(Value::as_str).map(str::to_owned);
    let versions = licence_versions(issuer, licence_id.as_deref(), &id).await;
    let may_reissue = licence_id.is_some()
        && !revoked
        && signed_in(req).is_some_and(|u| {
            u.role
                >= crate::http::routes::access::access_needed_role(
                    &actix_web::http::Method::POST,
                    "/certificates/{uuid}/reissue",
                )
        });
    let status = if status_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = CertificatePage {
        uuid: uuid.to_owned(),
        kind: ui_text::kind_name(&issuer.types, &vc, lang),
        rows: ui_text::subject_rows(&issuer.types, &vc, lang, ui_text::Shown::OnCard),
        issuer_did: vc
            .get("issuer")
            .and_then(|issuer| issuer.as_str().or_else(|| issuer.get("id").and_then(Value::as_str)))
            .unwrap_or_default()
            .to_owned(),
        valid_from: ui_text::date_of(&vc, "validFrom"),
        valid_until: ui_text::date_of(&vc, "validUntil"),
        licence_id,
        may_reissue,
        versions,
        id,
        state: state_name,
        state_class,
        revoked,
        may_change_status: signed_in(req).is_some_and(|u| {
            u.role
                >= crate::http::routes::access::access_needed_role(
                    &actix_web::http::Method::POST,
                    "/certificates/{uuid}/status",
                )
        }),
        events,
        notice,
        status_error,
        ctx,
    };
    respond(req, page, status, cookies)
}

/// The versions of the licence `licence_id` names (empty for one version, or
/// none): identifier, page UUID, whether it is `this_id`'s.
async fn licence_versions(issuer: &Issuer, licence_id: Option<&str>, this_id: &str) -> Vec<(String, String, bool)> {
    let Some(parsed) = licence_id.and_then(|l| wallet_core::licence_id::LicenceId::parse(l).ok()) else {
        return Vec::new();
    };
    let versions = issuer.licence_versions(&parsed).await.unwrap_or_default();
    if versions.len() < 2 {
        return Vec::new();
    }
    versions
        .into_iter()
        .map(|v| {
            let uuid = v.credential_id.strip_prefix("urn:uuid:").unwrap_or(&v.credential_id).to_owned();
            let this = v.credential_id == this_id;
            (v.licence_id, uuid, this)
        })
        .collect()
}

/// `GET /certificates/{uuid}`: the printable card and its status.
pub async fn certificate(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
) -> HttpResponse {
    if signed_in(&req).is_none() {
        return login_redirect(&req);
    }
    render_certificate(&req, &state, &issuer, &uuid, None).await
}

/// `POST /certificates/{uuid}/status`: revoke, suspend or reinstate with a reason.
pub async fn change_status(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(user) = signed_in(&req).map(|u| u.username) else { return login_redirect(&req) };
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let (ctx, cookies) = page_context(&req, &state);
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let lang = super::session::lang_of(&req);
    let Some(action) = f.get("action").and_then(|a| StatusAction::parse(a)) else {
        return render_certificate(&req, &state, &issuer, &uuid, Some(lang.texts().form_has_errors.to_owned())).await;
    };
    let reason = f.get("reason").map_or("", |r| r.trim());
    if reason.is_empty() {
        return render_certificate(&req, &state, &issuer, &uuid, Some(lang.texts().reason_required.to_owned())).await;
    }
    let id = format!("urn:uuid:{uuid}");
    match issuer.status.change(&id, action, reason, &user).await.map_err(ApiError::from) {
        Ok(_) => redirect(&format!("/certificates/{uuid}?changed=1"), Vec::new()),
        Err(e) if e.status_code().is_server_error() => {
            let (ctx, cookies) = page_context(&req, &state);
            internal(&req, ctx, cookies, e)
        }
        Err(e) => render_certificate(&req, &state, &issuer, &uuid, Some(lang.pick(&e.message).to_owned())).await,
    }
}

fn parse_day(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|d| d.and_utc())
}

/// The string at `key` of a JSON object, or "" (missing, or not a string).
fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// `GET /certificates?q=&from=&to=&page=`: newest first, 20 a page. `q` is a
/// certificate number (the UUID, with or without `urn:uuid:`) or part of a name
/// (searched among the newest 500 in the date range).
pub async fn list(req: HttpRequest, state: web::Data<WebState>, issuer: web::Data<Issuer>) -> HttpResponse {
    if signed_in(&req).is_none() {
        return login_redirect(&req);
    }
    let (ctx, cookies) = page_context(&req, &state);
    let lang = ctx.lang;
    let q = web_query(&req, "q").unwrap_or_default().trim().to_owned();
    let from = web_query(&req, "from").unwrap_or_default();
    let to = web_query(&req, "to").unwrap_or_default();
    let page = web_query(&req, "page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(1).clamp(1, 10_000);
    let search = Search {
        text: q.clone(),
        issued_from: parse_day(&from),
        issued_until: parse_day(&to).map(|d| d + chrono::Duration::days(1)),
        page,
    };
    let (results, error) = match search::search(&issuer.store, &issuer.types, &search).await {
        Ok(results) => (results, None),
        Err(e @ search::SearchError::LicenceId(_)) => {
            (search::Results::default(), Some(lang.pick(&e.message()).to_owned()))
        }
        Err(e) => return internal(&req, ctx, cookies, e),
    };
    let has_more = results.has_more;
    let rows = results
        .found
        .iter()
        .map(|found| {
            let vc = &found.credential;
            let id = text(vc, "id");
            ListRow {
                uuid: id.trim_start_matches("urn:uuid:").to_owned(),
                kind: ui_text::kind_name(&issuer.types, vc, lang),
                holder: holder_of(&issuer.types, vc),
                issued_at: found.issued_at.format("%Y-%m-%d %H:%M").to_string(),
                valid_until: ui_text::date_of(vc, "validUntil"),
                id,
            }
        })
        .collect();
    let href = |p: u32| {
        format!(
            "/certificates?{}",
            serde_urlencoded::to_string([("q", q.as_str()), ("from", &from), ("to", &to), ("page", &p.to_string())])
                .unwrap_or_default()
        )
    };
    let prev_href = (page > 1).then(|| href(page - 1));
    let next_href = has_more.then(|| href(page + 1));
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let view =
        ListPage { ctx, error, q: q.clone(), from: from.clone(), to: to.clone(), rows, page, prev_href, next_href };
    respond(&req, view, status, cookies)
}

/// `GET /audit`: counts per month, latest checkpoint, anchors. Public: auditors need
/// no account, and the page holds no personal data.
pub async fn audit(req: HttpRequest, state: web::Data<WebState>, issuer: web::Data<Issuer>) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    let activity = match audit::activity(&issuer.store).await {
        Ok(activity) => activity,
        Err(e) => return internal(&req, ctx, cookies, e),
    };
    let audit::Activity { months, mut days, total_issued, checkpoint, anchors } = activity;
    let when = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
    };
    let anchors = anchors
        .iter()
        .rev()
        .take(20)
        .map(|a| AnchorRow {
            tree_size: a.tree_size,
            state: a.state.as_str().to_owned(),
            block: a.block_number.map(|b| b.to_string()).unwrap_or_default(),
            tx: a.tx_hash.clone().unwrap_or_default(),
            time: a.block_time.map(when).unwrap_or_default(),
        })
        .collect();
    days.truncate(AUDIT_DAYS);
    let page = AuditPage {
        did: issuer.key.did(),
        total_issued,
        total_revoked: months.iter().map(|m| m.revoked).sum(),
        total_suspended: months.iter().map(|m| m.suspended).sum(),
        months,
        days,
        checkpoint: checkpoint
            .map(|c| (c.size, hex::encode(&c.root), c.created_at.format("%Y-%m-%d %H:%M UTC").to_string())),
        anchors,
        ctx,
    };
    respond(&req, page, StatusCode::OK, cookies)
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/lookup.html")]
struct LookupPage {
    ctx: PageContext,
    name: String,
    message: Option<(&'static str, &'static str)>,
}

/// `GET /lookup`: the inspectors' "type the ID number" form (no account needed).
pub async fn lookup_form(req: HttpRequest, state: web::Data<WebState>) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    respond(&req, LookupPage { ctx, name: String::new(), message: None }, StatusCode::OK, cookies)
}

/// `POST /lookup` (`fullName`, `idNumber`): credentials of this issuer whose holder has
/// exactly this name and whose salted ID digest matches the number. Rate limited per
/// client address; the number is used for the comparison only, never stored or logged.
pub async fn lookup(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    body: web::Bytes,
) -> HttpResponse {
    let (ctx, cookies) = page_context(&req, &state);
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let ip = req.peer_addr().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if !state.lookup_limiter.allow(ip) {
        let message = ctx.t.too_many_requests;
        return error_page(&req, ctx, cookies, StatusCode::TOO_MANY_REQUESTS, message);
    }
    let t = ctx.t;
    let name = f.get("fullName").map_or("", |n| n.trim()).to_owned();
    let number = match wallet_core::credential::IdNumber::parse(f.get("idNumber").map_or("", |n| n.trim())) {
        Ok(n) => n,
        Err(_) => {
            let page = LookupPage { ctx, name, message: Some((t.id_invalid, "bad")) };
            return respond(&req, page, StatusCode::UNPROCESSABLE_ENTITY, cookies);
        }
    };
    let keys = issuer.id_number_key.as_slice();
    let found = match lookup::holds_certificate(&issuer.store, keys, &name, &number).await {
        Ok(found) => found,
        Err(e) => return internal(&req, ctx, cookies, e),
    };
    // Yes or no: the page never shows which credential matched (nor its id).
    tracing::info!(found, "ID-number lookup");
    let message = if found { (t.lookup_found, "ok") } else { (t.lookup_not_found, "bad") };
    respond(&req, LookupPage { ctx, name, message: Some(message) }, StatusCode::OK, cookies)
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/types.html")]
struct TypesPage {
    ctx: PageContext,
    types: Vec<(String, String)>,
}

/// One input of a form built from a credential type definition.
struct TypeFieldView {
    name: String,
    label: String,
    /// `text`, `date`, `number`, `select` or `textarea`.
    input: &'static str,
    options: Vec<(String, String)>,
    hint: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "issuer/type_form.html")]
struct TypeFormPage {
    ctx: PageContext,
    form: FormView,
    idem: String,
    title: String,
    api_path: String,
    fields: Vec<TypeFieldView>,
}

/// Validity inputs a definition leaves to the form.
fn validity_inputs(def: &Definition) -> Vec<&'static str> {
    let mut v = Vec::new();
    if def.validity.from_default.is_none() {
        v.push("validFrom");
    }
    if def.validity.months.is_none() {
        v.push("validUntil");
    }
    v
}

fn type_fields(def: &Definition, lang: Lang) -> Vec<TypeFieldView> {
    let t = lang.texts();
    let mut fields: Vec<TypeFieldView> = def
        .fields
        .iter()
        .map(|f| {
            let (input, options, hint) = match f.field_type {
                FieldType::Date => ("date", Vec::new(), t.date_hint.to_owned()),
                FieldType::Integer => ("number", Vec::new(), String::new()),
                FieldType::Sex => (
                    "select",
                    vec![("M".to_owned(), t.sex_m.to_owned()), ("F".to_owned(), t.sex_f.to_owned())],
                    String::new(),
                ),
                FieldType::Enum => (
                    "select",
                    f.values
                        .iter()
                        .map(|v| (v.code.clone(), lang.pick(&Localized::new(&v.zh, &v.en)).to_owned()))
                        .collect(),
                    String::new(),
                ),
                FieldType::TextList => ("textarea", Vec::new(), t.list_hint.to_owned()),
                _ => ("text", Vec::new(), String::new()),
            };
            TypeFieldView { name: f.name.clone(), label: lang.pick(&f.label).to_owned(), input, options, hint }
        })
        .collect();
    for name in validity_inputs(def) {
        let label = if name == "validFrom" { t.valid_from } else { t.valid_until };
        fields.push(TypeFieldView {
            name: name.to_owned(),
            label: label.to_owned(),
            input: "date",
            options: Vec::new(),
            hint: t.date_hint.to_owned(),
        });
    }
    fields
}

/// The domain API body for a form of a defined type.
fn type_request(def: &Definition, f: &HashMap<String, String>) -> Value {
    let value = |n: &str| f.get(n).map_or("", |v| v.trim()).to_owned();
    let mut body = Map::new();
    for field in &def.fields {
        let v = value(&field.name);
        let json = match field.field_type {
            FieldType::TextList => {
                Value::Array(v.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!(l)).collect())
            }
            _ => Value::String(v),
        };
        body.insert(field.name.clone(), json);
    }
    for name in validity_inputs(def) {
        body.insert(name.to_owned(), json!(date_to_timestamp(&value(name))));
    }
    Value::Object(body)
}

/// `GET /types`: the credential types without a hand-made form.
pub async fn types(req: HttpRequest, state: web::Data<WebState>, issuer: web::Data<Issuer>) -> HttpResponse {
    if signed_in(&req).is_none() {
        return login_redirect(&req);
    }
    let (ctx, cookies) = page_context(&req, &state);
    let types = issuer
        .types
        .definitions()
        .map(|d| (format!("/types/{}/new", d.api_path), ctx.lang.pick(&d.name).to_owned()))
        .collect();
    respond(&req, TypesPage { ctx, types }, StatusCode::OK, cookies)
}

/// `GET /types/{api_path}/new`: an issuance form built from the type's definition.
pub async fn new_of_type(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    path: web::Path<String>,
) -> HttpResponse {
    if signed_in(&req).is_none() {
        return login_redirect(&req);
    }
    let (ctx, cookies) = page_context(&req, &state);
    let Ok(def) = issuer.definition_at(&path) else {
        let message = ctx.t.not_found;
        return error_page(&req, ctx, cookies, StatusCode::NOT_FOUND, message);
    };
    let lang = ctx.lang;
    let page = TypeFormPage {
        ctx,
        form: FormView::default(),
        idem: new_idempotency_key(),
        title: lang.pick(&def.name).to_owned(),
        api_path: def.api_path.clone(),
        fields: type_fields(&def, lang),
    };
    respond(&req, page, StatusCode::OK, cookies)
}

/// `POST /types/{api_path}/new`
pub async fn issue_of_type(
    req: HttpRequest,
    state: web::Data<WebState>,
    issuer: web::Data<Issuer>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(user) = signed_in(&req).map(|u| u.username) else { return login_redirect(&req) };
    let (ctx, cookies) = page_context(&req, &state);
    let Ok(def) = issuer.definition_at(&path) else {
        let message = ctx.t.not_found;
        return error_page(&req, ctx, cookies, StatusCode::NOT_FOUND, message);
    };
    let f = form_fields(&body);
    if !state.csrf_ok(&req, f.get("csrf").map(String::as_str)) {
        let message = ctx.t.csrf_failed;
        return error_page(&req, ctx, cookies, StatusCode::FORBIDDEN, message);
    }
    let idem = f.get("idem").cloned().filter(|k| IdempotencyKey::parse(k).is_ok()).unwrap_or_else(new_idempotency_key);
    let key = IdempotencyKey::parse(&idem).ok();
    match issuer
        .issue_type(&def.type_name, type_request(&def, &f).to_string().as_bytes(), key)
        .await
        .map_err(ApiError::from)
    {
        Ok(issued) => {
            let id = issued.body.get("id").and_then(Value::as_str).and_then(CredentialId::parse);
            let Some(id) = id else { return internal(&req, ctx, cookies, "issued credential without an id") };
            tracing::info!(user = %user, credential_id = %id.as_str(), kind = %def.type_name, "issued from the web form");
            redirect(&format!("/certificates/{}?issued=1", id.uuid_part()), cookies)
        }
        Err(e) if e.status_code().is_server_error() => internal(&req, ctx, cookies, e),
        Err(e) => {
            let lang = ctx.lang;
            let mut form = FormView::with_values(f);
            form.set_errors(&e, lang);
            let page = TypeFormPage {
                ctx,
                form,
                idem,
                title: lang.pick(&def.name).to_owned(),
                api_path: def.api_path.clone(),
                fields: type_fields(&def, lang),
            };
            respond(&req, page, StatusCode::UNPROCESSABLE_ENTITY, cookies)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(lang: Lang) -> PageContext {
        let t = lang.texts();
        PageContext {
            t,
            lang,
            site: t.issuer_title,
            nav: vec![("/certificates".into(), t.nav_certificates), ("/audit".into(), t.nav_audit)],
            user: Some("dr.li".into()),
            csrf: "CSRF-TOKEN".into(),
            switch_href: format!("/lang/{}?next=%2Fcertificates%2Fnew", lang.other().code()),
        }
    }

    /// The page without the inlined stylesheet (snapshotted once, not per page).
    fn without_style(html: &str) -> String {
        match (html.find("<style>"), html.find("</style>")) {
            (Some(a), Some(b)) => format!("{}<style>…</style>{}", &html[..a], &html[b + "</style>".len()..]),
            _ => html.to_owned(),
        }
    }

    #[test]
    fn login_page_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            let page = LoginPage {
                ctx: PageContext { user: None, ..ctx(lang) },
                username: "dr.li".into(),
                next: "/".into(),
                error: Some(lang.texts().account_locked),
            };
            insta::assert_snapshot!(format!("login_{}", lang.code()), without_style(&page.render().unwrap()));
        }
    }

    #[test]
    fn health_form_errors_come_from_the_domain_rules_in_both_languages() {
        let empty = health_request(
            &[("birthDate", "1991-02-30"), ("idNumber", "110105194912310021"), ("sex", "X")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        );
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 12).unwrap();
        let def = wallet_core::credential_type::TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
        let Err(wallet_core::credential_type::RequestError::Fields(errors)) = def.check_request(&empty, today) else {
            panic!("field errors expected")
        };
        let api_error = crate::api_error::ApiError::invalid_fields(errors);
        for lang in [Lang::Zh, Lang::En] {
            let mut form = FormView::with_values(
                [("fullName", "<script>alert(1)</script>"), ("sex", "X")]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            );
            form.set_errors(&api_error, lang);
            assert!(form.err("fullName").is_some() && form.err("idNumber").is_some());
            let html = HealthFormPage { ctx: ctx(lang), form, idem: "web-fixed".into() }.render().unwrap();
            assert!(!html.contains("<script>alert"), "values are escaped");
            insta::assert_snapshot!(format!("health_form_errors_{}", lang.code()), without_style(&html));
        }
    }

    #[test]
    fn every_page_template_renders_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            let t = lang.texts();
            let pages = [
                ErrorPage { ctx: ctx(lang), message: t.not_found.into() }.render().unwrap(),
                LookupPage { ctx: ctx(lang), name: "欧阳晓燕".into(), message: Some((t.lookup_found, "ok")) }
                    .render()
                    .unwrap(),
                LicenceFormPage { ctx: ctx(lang), form: FormView::default(), idem: "k".into() }.render().unwrap(),
                OfferPage {
                    ctx: ctx(lang),
                    kind: t.health_certificate.to_owned(),
                    qr_svg: "<svg></svg>".into(),
                    uri: "openid-credential-offer://?credential_offer=%7B%7D".into(),
                    pin: "123456".into(),
                    expires: "2026-03-15 08:10:00".into(),
                }
                .render()
                .unwrap(),
                ListPage {
                    ctx: ctx(lang),
                    error: None,
                    q: String::new(),
                    from: String::new(),
                    to: String::new(),
                    rows: Vec::new(),
                    page: 1,
                    prev_href: None,
                    next_href: Some("/certificates?page=2".into()),
                }
                .render()
                .unwrap(),
                AuditPage {
                    ctx: ctx(lang),
                    did: "did:key:z".into(),
                    total_issued: 3,
                    total_revoked: 1,
                    total_suspended: 0,
                    months: vec![PeriodCounts { period: "2026-03".into(), issued: 3, revoked: 1, suspended: 0 }],
                    days: Vec::new(),
                    checkpoint: None,
                    anchors: Vec::new(),
                }
                .render()
                .unwrap(),
                TypesPage { ctx: ctx(lang), types: vec![("/types/x/new".into(), "犬只免疫证明".into())] }
                    .render()
                    .unwrap(),
            ];
            // Every shipped type's form, built from its definition.
            let registry = wallet_core::credential_type::TypeRegistry::shipped().unwrap();
            let forms: Vec<String> = registry
                .definitions()
                .map(|def| {
                    let html = TypeFormPage {
                        ctx: ctx(lang),
                        form: FormView::default(),
                        idem: "k".into(),
                        title: lang.pick(&def.name).to_owned(),
                        api_path: def.api_path.clone(),
                        fields: type_fields(def, lang),
                    }
                    .render()
                    .unwrap();
                    for f in &def.fields {
                        assert!(html.contains(&format!("name=\"{}\"", f.name)), "{}: {}", def.type_name, f.name);
                        let label = lang.pick(&f.label);
                        let escaped = [label.to_owned(), label.replace('\'', "&#39;"), label.replace('\'', "&#x27;")];
                        assert!(escaped.iter().any(|l| html.contains(l)), "{}: {}", def.type_name, f.name);
                    }
                    html
                })
                .collect();
            for html in pages.iter().chain(&forms) {
                assert!(html.contains(&format!("lang=\"{}\"", lang.html_lang())));
                assert!(html.contains(t.skip_to_content) && html.contains(t.switch_language));
            }
        }
    }

    #[test]
    fn form_to_domain_request() {
        let f: HashMap<String, String> = [("fullName", " 张三 "), ("occupation", ""), ("csrf", "x")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let body = health_request(&f);
        assert_eq!(body["fullName"], "张三");
        assert!(body.get("occupation").is_none());
        assert!(body.get("csrf").is_none());
        let f: HashMap<String, String> =
            [("businessScope", "热食类食品制售\n\n冷食类食品制售"), ("validFrom", "2026-01-01")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        let body = licence_request(&f);
        assert_eq!(body["businessScope"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["validFrom"], "2026-01-01T00:00:00+08:00");
        assert_eq!(body["validUntil"], "");
    }
}
