//! Who may call which route, decided where the route is registered.
//!
//! [`INVENTORY`] is the one table of every route the issuer serves and what it
//! needs ([`Access`]). Routes are registered only through [`Router::add`], which
//! takes the access from the table and wraps the resource in [`enforce`]: the
//! check runs after actix has matched the (percent-decoded) path to this very
//! resource, so no other spelling of the path (`/%61pi/…`, `//api/…`, `;x=1`)
//! can reach a handler without it. A route missing from the table is refused to
//! everybody (and fails the tests, which compare the table with what was
//! registered).
//!
//! Handlers that act on someone's behalf also take [`ApiCaller`] or
//! [`StaffUser`] as an argument: they cannot run without the record the check
//! left in the request.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError as _};

use crate::api_error::ApiError;
use crate::domain::accounts::{Role, TokenScope as Scope};
use crate::http::web::session::WebState;
use crate::store::{ApiTokenRecord, Store};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anybody (public keys, lists, logs, the holder's and inspectors' pages).
    Public,
    /// A valid API token (`Authorization: Bearer …`) whose scope allows this
    /// (401 `unauthorized` without one, 403 `insufficient_scope` with a narrower one).
    ApiToken(Scope),
    /// An API token with scope `issue`, unless the issuer runs with `--open-vc-api` (W3C test suites).
    VcApiIssue,
    /// An API token with this scope or a signed-in staff member with at least this
    /// role (reading an issued credential).
    ApiTokenOrStaff(Scope, Role),
    /// A signed-in staff member with at least this role; others are sent to
    /// `/login`, a lower role gets 403 `insufficient_role`.
    Staff(Role),
    /// Refused to everybody: a route registered without a decision.
    Nobody,
}

use Access::{ApiToken, ApiTokenOrStaff, Nobody, Public, Staff, VcApiIssue};
use Role::{Clerk, Supervisor};

/// Every route: method, path pattern (as registered), access.
pub const INVENTORY: &[(Method, &str, Access)] = &[
    // Service, public keys and lists.
    (Method::GET, "/healthz", Public),
    (Method::GET, "/trust-list", Public),
    (Method::GET, "/status", Public),
    (Method::GET, "/status/{list_id}", Public),
    (Method::GET, "/log/checkpoint", Public),
    (Method::GET, "/log/key", Public),
    (Method::GET, "/log/consistency", Public),
    (Method::GET, "/log/entries", Public),
    (Method::GET, "/log/anchors", Public),
    (Method::GET, "/credentials/{uuid}/inclusion", Public),
    // VC-API.
    (Method::POST, "/credentials/issue", VcApiIssue),
    (Method::POST, "/credentials/status", ApiToken(Scope::Status)),
    // A credential and its audit trail.
    (Method::GET, "/credentials/{uuid}", ApiTokenOrStaff(Scope::Issue, Clerk)),
    (Method::GET, "/api/v1/licence-ids/{licence_id}", ApiTokenOrStaff(Scope::Issue, Clerk)),
    (Method::GET, "/api/v1/licence-ids/{licence_id}/versions", ApiTokenOrStaff(Scope::Issue, Clerk)),
    (Method::GET, "/credentials/{uuid}/qr.png", ApiTokenOrStaff(Scope::Issue, Clerk)),
    (Method::GET, "/credentials/{uuid}/qr.svg", ApiTokenOrStaff(Scope::Issue, Clerk)),
    (Method::GET, "/credentials/{uuid}/use", ApiTokenOrStaff(Scope::Issue, Clerk)),
    (Method::GET, "/credentials/{uuid}/status", ApiToken(Scope::Status)),
    (Method::POST, "/credentials/{uuid}/status", ApiToken(Scope::Status)),
    // Domain API. Marking a single-use credential used is a status change.
    (Method::POST, "/api/v1/credentials/{uuid}/use", ApiToken(Scope::Status)),
    // A reissue issues the next version and revokes the previous one: a token
    // must cover both (scope `all`); staff need the role that may revoke.
    (Method::POST, "/api/v1/credentials/{uuid}/reissue", ApiToken(Scope::All)),
    (Method::POST, "/api/v1/health-certificates", ApiToken(Scope::Issue)),
    (Method::POST, "/api/v1/licences", ApiToken(Scope::Issue)),
    (Method::POST, "/api/v1/credential-offers", ApiToken(Scope::Issue)),
    (Method::POST, "/api/v1/notarizations", ApiToken(Scope::Notarize)),
    (Method::POST, "/api/v1/notarizations/receipts", ApiToken(Scope::Notarize)),
    (Method::GET, "/api/v1/notarizations/{digest}", ApiToken(Scope::Notarize)),
    (Method::POST, "/api/v1/{api_path}", ApiToken(Scope::Issue)),
    // Bulk issuance (NDJSON or CSV, a key per row): a hospital system or a clerk.
    // Staff come with a SameSite=Strict cookie and a non-form content type.
    (Method::POST, "/api/v1/{api_path}/batch", ApiTokenOrStaff(Scope::Issue, Clerk)),
    // OpenID4VCI: the wallet authenticates with the offer's pre-authorised code and
    // then the access token, which those handlers check themselves.
    (Method::GET, "/.well-known/openid-credential-issuer", Public),
    (Method::GET, "/.well-known/oauth-authorization-server", Public),
    (Method::POST, "/oid4vci/token", Public),
    (Method::POST, "/oid4vci/nonce", Public),
    (Method::POST, "/oid4vci/credential", Public),
    // Web pages. Issuing (printed or as a wallet offer) is a clerk's work; status
    // changes need a supervisor. Staff and tokens are managed with the CLI (admin).
    (Method::GET, "/", Public),
    (Method::GET, "/lang/{code}", Public),
    (Method::GET, "/login", Public),
    (Method::POST, "/login", Public),
    (Method::POST, "/logout", Public),
    (Method::GET, "/audit", Public),
    (Method::GET, "/lookup", Public),
    (Method::POST, "/lookup", Public),
    (Method::GET, "/certificates", Staff(Clerk)),
    (Method::GET, "/certificates/new", Staff(Clerk)),
    (Method::POST, "/certificates/new", Staff(Clerk)),
    (Method::GET, "/licences/new", Staff(Clerk)),
    (Method::POST, "/licences/new", Staff(Clerk)),
    (Method::GET, "/types", Staff(Clerk)),
    (Method::GET, "/types/{api_path}/new", Staff(Clerk)),
    (Method::POST, "/types/{api_path}/new", Staff(Clerk)),
    (Method::GET, "/certificates/{uuid}", Staff(Clerk)),
    (Method::POST, "/certificates/{uuid}/status", Staff(Supervisor)),
    (Method::POST, "/certificates/{uuid}/reissue", Staff(Supervisor)),
    (Method::GET, "/account/password", Staff(Clerk)),
    (Method::POST, "/account/password", Staff(Clerk)),
];

/// The access [`INVENTORY`] gives a route; [`Access::Nobody`] when it has none.
pub fn access_of(method: &Method, path: &str) -> Access {
    INVENTORY.iter().find(|(m, p, _)| m == method && *p == path).map_or(Nobody, |(_, _, a)| *a)
}

/// The least staff role a route admits ([`Role::Admin`] when staff cannot use it),
/// for pages that show a form only to those who may send it.
pub fn access_needed_role(method: &Method, path: &str) -> Role {
    match access_of(method, path) {
        Staff(role) | ApiTokenOrStaff(_, role) => role,
        Public => Role::Clerk,
        ApiToken(_) | VcApiIssue | Nobody => Role::Admin,
    }
}

/// Whether the VC-API issue endpoint is open without a token (`--open-vc-api`).
#[derive(Debug, Clone, Copy)]
pub struct ApiAccess {
    /// `POST /credentials/issue` without a token.
    pub open_vc_api: bool,
}

/// Registers routes, each with its access from [`INVENTORY`].
pub struct Router<'a> {
    cfg: &'a mut web::ServiceConfig,
    registered: Vec<(Method, &'static str)>,
}

impl<'a> Router<'a> {
    /// A router over `cfg`.
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Self { cfg, registered: Vec::new() }
    }

    /// Register `handler` for `method path`, guarded by the route's access.
    pub fn add(&mut self, method: Method, path: &'static str, handler: actix_web::Route) -> &mut Self {
        self.add_with(method, path, handler, |r| r)
    }

    /// [`Router::add`], with resource settings (e.g. a larger JSON limit).
    pub fn add_with(
        &mut self,
        method: Method,
        path: &'static str,
        handler: actix_web::Route,
        settings: impl FnOnce(actix_web::Resource) -> actix_web::Resource,
    ) -> &mut Self {
        let access = access_of(&method, path);
        if access == Nobody {
            tracing::error!(%method, path, "route without an access decision in routes::access::INVENTORY: refused");
        }
        let resource = settings(web::resource(path))
            .guard(actix_web::guard::Method(method.clone()))
            .route(handler)
            .wrap(actix_web::middleware::from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                enforce(access, req, next)
            }));
        self.cfg.service(resource);
        self.registered.push((method, path));
        self
    }

    /// What has been registered so far.
    pub fn registered(&self) -> &[(Method, &'static str)] {
        &self.registered
    }
}

/// 401 `unauthorized` with `WWW-Authenticate: Bearer`.
pub fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "需要有效的 API 令牌（Authorization: Bearer …）",
        "a valid API token is required (Authorization: Bearer …)",
    )
}

fn unauthorized_response() -> HttpResponse {
    let mut resp = unauthorized().error_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    resp
}

/// 403 `insufficient_role`: signed in, but the route needs a higher role.
pub fn insufficient_role(needed: Role) -> ApiError {
    let zh = match needed {
        Role::Clerk => "办事员",
        Role::Supervisor => "主管",
        Role::Admin => "管理员",
    };
    ApiError::new(
        StatusCode::FORBIDDEN,
        "insufficient_role",
        format!("您的账户角色无权执行此操作（需要“{zh}”或更高角色）"),
        format!("your account's role may not do this (needs {} or above)", needed.as_str()),
    )
}

/// 403 `insufficient_scope`: a valid token whose scope does not cover the route.
pub fn insufficient_scope(needed: Scope) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        format!("此 API 令牌的权限范围不包括此操作（需要“{}”）", needed.as_str()),
        format!("this API token's scope does not cover this (needs {})", needed.as_str()),
    )
}

fn forbidden_response() -> HttpResponse {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "此路径不对外开放", "this route is not open to anyone")
        .error_response()
}

fn login_redirect(req: &HttpRequest) -> HttpResponse {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let next = service_http::redirect::local_path(Some(&here), "/");
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/login?{}", serde_urlencoded::to_string([("next", next)]).unwrap_or_default()),
        ))
        .finish()
}

/// The API token a request presents, if it is a valid, unrevoked one.
async fn bearer(store: &Store, req: &HttpRequest) -> Result<Option<ApiTokenRecord>, crate::store::StoreError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(token) = value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty() && t.len() < 200) else {
        return Ok(None);
    };
    crate::domain::accounts::api_token(store, token).await
}

/// The signed-in staff member, if any: a session cookie whose session is live in
/// the store (not ended, idle or too old; this request marks it seen) and whose
/// account still exists and is not locked. Checked on every request, so ending a
/// session or locking an account takes effect at once; the role is read afresh.
async fn staff(req: &HttpRequest) -> Result<Option<StaffUser>, crate::store::StoreError> {
    let Some(state) = req.app_data::<web::Data<WebState>>() else { return Ok(None) };
    let Some(session_hash) = state.session_hash(req) else { return Ok(None) };
    let Some(store) = req.app_data::<web::Data<crate::domain::issuance::Issuer>>().map(|i| i.store.clone()) else {
        return Ok(None);
    };
    let resumed = crate::domain::accounts::resume_session(&store, &session_hash, state.sessions).await?;
    Ok(resumed.map(|(username, role)| StaffUser { username, role, session_hash }))
}

/// The check [`Router::add`] puts in front of every route.
///
/// # Errors
/// Errors of the wrapped service.
pub async fn enforce(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let open_vc_api = req.app_data::<web::Data<ApiAccess>>().is_some_and(|a| a.open_vc_api);
    if access == Nobody {
        return Ok(req.into_response(forbidden_response()));
    }
    // Who is signed in matters on every page (the header shows it), so a session
    // cookie is resolved whatever the route needs.
    let staff_user = match staff(req.request()).await {
        Ok(user) => user,
        Err(e) => return Ok(req.into_response(ApiError::internal(e).error_response())),
    };
    if let Some(user) = &staff_user {
        req.extensions_mut().insert(user.clone());
    }
    let needed_scope = match access {
        Public | Nobody => None,
        VcApiIssue => (!open_vc_api).then_some(Scope::Issue),
        ApiToken(scope) => Some(scope),
        ApiTokenOrStaff(scope, role) => match &staff_user {
            Some(user) if user.role >= role => None,
            Some(_) => return Ok(req.into_response(insufficient_role(role).error_response())),
            None => Some(scope),
        },
        Staff(role) => match &staff_user {
            Some(user) if user.role >= role => None,
            Some(_) => return Ok(req.into_response(insufficient_role(role).error_response())),
            None => {
                let resp = login_redirect(req.request());
                return Ok(req.into_response(resp));
            }
        },
    };
    if let Some(scope) = needed_scope {
        let Some(store) = req.app_data::<web::Data<crate::domain::issuance::Issuer>>().map(|i| i.store.clone()) else {
            return Ok(req.into_response(ApiError::internal("no issuer state").error_response()));
        };
        match bearer(&store, req.request()).await {
            Ok(Some(token)) if token.scope.allows(scope) => {
                tracing::debug!(token_id = %token.token_id, "API token accepted");
                req.extensions_mut().insert(ApiCaller(token));
            }
            Ok(Some(token)) => {
                tracing::info!(token_id = %token.token_id, needed = scope.as_str(), "API token outside its scope");
                return Ok(req.into_response(insufficient_scope(scope).error_response()));
            }
            Ok(None) => return Ok(req.into_response(unauthorized_response())),
            Err(e) => return Ok(req.into_response(ApiError::internal(e).error_response())),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The API token a request was accepted with. A handler taking this argument
/// cannot run for a request without a valid token.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub ApiTokenRecord);

impl ApiCaller {
    /// `token:<id> (<clinic>)`, for audit trails.
    pub fn principal(&self) -> String {
        crate::domain::accounts::token_principal(&self.0.token_id, &self.0.clinic)
    }
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(req.extensions().get::<Self>().cloned().ok_or_else(unauthorized))
    }
}

/// The signed-in staff member a request was accepted for.
#[derive(Debug, Clone)]
pub struct StaffUser {
    /// The sign-in name.
    pub username: String,
    /// The account's role at this request.
    pub role: Role,
    /// The hex SHA-256 of the session id this request came with.
    pub session_hash: String,
}

impl StaffUser {
    /// `staff:<username>`, for audit trails.
    pub fn principal(&self) -> String {
        crate::domain::accounts::staff_principal(&self.username)
    }
}

impl FromRequest for StaffUser {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions().get::<Self>().cloned().ok_or_else(|| {
                actix_web::error::InternalError::from_response("not signed in", login_redirect(req)).into()
            }),
        )
    }
}

/// Whoever a request was accepted for: an API token or a staff member.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A hospital system's token.
    Api(ApiCaller),
    /// A clinic staff member.
    Staff(StaffUser),
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        let found = ext
            .get::<ApiCaller>()
            .cloned()
            .map(Principal::Api)
            .or_else(|| ext.get::<StaffUser>().cloned().map(Principal::Staff));
        std::future::ready(found.ok_or_else(unauthorized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_route_has_a_decision_and_every_decision_a_route() {
        let mut registered = Vec::new();
        let _app = actix_web::App::new().configure(|cfg| {
            registered = crate::http::routes::register(cfg);
        });
        let mut listed: Vec<(Method, &str)> = INVENTORY.iter().map(|(m, p, _)| (m.clone(), *p)).collect();
        let mut seen: Vec<(Method, &str)> = registered.clone();
        let key = |(m, p): &(Method, &str)| format!("{m} {p}");
        listed.sort_by_key(key);
        seen.sort_by_key(key);
        let mut deduped = listed.clone();
        deduped.dedup();
        assert_eq!(deduped.len(), listed.len(), "a route is listed twice in INVENTORY");
        assert_eq!(seen, listed, "INVENTORY and the registered routes differ");
        assert!(registered.iter().all(|(m, p)| access_of(m, p) != Nobody));
    }

    #[test]
    fn an_unlisted_route_is_refused_to_everybody() {
        assert_eq!(access_of(&Method::POST, "/api/v1/new-thing"), Nobody);
        assert_eq!(access_of(&Method::DELETE, "/api/v1/health-certificates"), Nobody);
        assert_eq!(access_of(&Method::POST, "/api/v1/health-certificates"), ApiToken(Scope::Issue));
    }

    #[test]
    fn changing_status_needs_a_supervisor_or_a_status_token_and_issuing_a_clerk_or_an_issue_token() {
        for (method, path, _) in INVENTORY {
            let access = access_of(method, path);
            let changes_status = *method == Method::POST && (path.contains("status") || path.ends_with("/use"));
            // A reissue issues the next version and revokes the previous one.
            let reissues = *method == Method::POST && path.ends_with("/reissue");
            match access {
                Staff(role) if reissues => assert_eq!(role, Supervisor, "{method} {path}"),
                ApiToken(scope) if reissues => assert_eq!(scope, Scope::All, "{method} {path}"),
                Staff(role) if changes_status => assert_eq!(role, Supervisor, "{method} {path}"),
                Staff(role) => assert_eq!(role, Clerk, "{method} {path}"),
                ApiToken(scope) if changes_status => assert_eq!(scope, Scope::Status, "{method} {path}"),
                ApiToken(scope) if path.ends_with("/status") => assert_eq!(scope, Scope::Status, "{method} {path}"),
                // An archive's token notarises and does nothing else.
                ApiToken(scope) if path.contains("/notarizations") => {
                    assert_eq!(scope, Scope::Notarize, "{method} {path}")
                }
                ApiToken(scope) => assert_eq!(scope, Scope::Issue, "{method} {path}"),
                ApiTokenOrStaff(scope, role) => assert_eq!((scope, role), (Scope::Issue, Clerk), "{method} {path}"),
                Public | VcApiIssue => {}
                Nobody => panic!("{method} {path} has no decision"),
            }
        }
        assert!(!Scope::Issue.allows(Scope::Status) && !Scope::Status.allows(Scope::Issue));
        assert!(Scope::All.allows(Scope::Issue) && Scope::All.allows(Scope::Status));
        assert!(Scope::Issue.allows(Scope::Notarize) && Scope::All.allows(Scope::Notarize));
        assert!(!Scope::Notarize.allows(Scope::Issue) && !Scope::Notarize.allows(Scope::Status));
        assert!(!Scope::Status.allows(Scope::Notarize));
        assert!(Clerk < Supervisor && Supervisor < Role::Admin);
        assert_eq!(access_needed_role(&Method::POST, "/certificates/{uuid}/status"), Supervisor);
        assert_eq!(access_needed_role(&Method::POST, "/certificates/{uuid}/reissue"), Supervisor);
        assert_eq!(access_needed_role(&Method::POST, "/api/v1/licences"), Role::Admin);
    }

    #[actix_web::test]
    async fn an_unlisted_route_answers_403_even_with_nobody_checking() {
        let app = actix_web::test::init_service(actix_web::App::new().configure(|cfg| {
            Router::new(cfg).add(Method::GET, "/not-in-the-table", web::get().to(HttpResponse::Ok));
        }))
        .await;
        let req = actix_web::test::TestRequest::get().uri("/not-in-the-table").to_request();
        let resp = actix_web::test::call_service(&app, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
}
