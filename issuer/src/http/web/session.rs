//! Sessions, anti-CSRF tokens and the language cookie.
//!
//! * Session: cookie `ecert_session` = a random 256-bit id (base64url); the store keeps
//!   only its SHA-256 (`staff_sessions`), with the time of sign-in and of the last
//!   request. A session ends after [`SessionLimits::idle_secs`] without a request,
//!   [`SessionLimits::max_secs`] after sign-in, or at once on sign-out, lock-out,
//!   removal of the account or a password change (the rows are deleted).
//!   HttpOnly, SameSite=Strict, Secure when the issuer serves HTTPS or runs behind
//!   a TLS-terminating proxy (`--secure-cookies`).
//! * CSRF: a random token in cookie `ecert_csrf` (HttpOnly, SameSite=Strict) that every
//!   form repeats in a hidden `csrf` field; a POST whose field does not equal the
//!   cookie is refused (double submit, compared in constant time).

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use wallet_core::ui_text::Lang;

use crate::store::SessionLimits;

/// Session cookie name.
pub const SESSION_COOKIE: &str = "ecert_session";
/// CSRF cookie name.
pub const CSRF_COOKIE: &str = "ecert_csrf";
/// Language cookie name.
pub const LANG_COOKIE: &str = "lang";

/// Per-process secrets of the web pages.
#[derive(Clone)]
pub struct WebState {
    /// How long staff sessions live.
    pub sessions: SessionLimits,
    /// Set the `Secure` flag on cookies (the issuer serves HTTPS).
    pub secure: bool,
    /// Slows down the ID-number lookup (per client address).
    pub lookup_limiter: std::sync::Arc<RateLimiter>,
    /// Slows down sign-in attempts (per client address).
    pub login_limiter: std::sync::Arc<RateLimiter>,
    /// Slows down OpenID4VCI token requests (per client address): the route
    /// is anonymous and each request opens a write transaction, so a flood
    /// of made-up codes would queue ahead of issuance and revocation.
    pub oid4vci_token_limiter: std::sync::Arc<RateLimiter>,
    /// Sign-in password checks (argon2, ~19 MiB and tens of milliseconds
    /// each) running at once: one. They run on the CPU pool that also signs
    /// credentials and status lists, and sign-in is open to anyone, so a
    /// flood of anonymous logins from many addresses would otherwise fill
    /// the pool: issuance answering 503 and a revocation never reaching
    /// the published list. Others wait their turn (a few seconds at most).
    pub password_checks: std::sync::Arc<tokio::sync::Semaphore>,
}

/// How long a sign-in waits for its turn at the password check before it is
/// answered 503 (try again).
pub const PASSWORD_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A token bucket per client address (bounded memory; shared with the verifier).
pub use service_http::rate_limit::RateLimiter;

impl WebState {
    /// Default session limits (30 minutes idle, 8 hours at most).
    pub fn new(secure: bool) -> Self {
        Self {
            sessions: SessionLimits::default(),
            secure,
            lookup_limiter: std::sync::Arc::new(RateLimiter::new(5, 10)),
            login_limiter: std::sync::Arc::new(RateLimiter::new(20, 30)),
            oid4vci_token_limiter: std::sync::Arc::new(RateLimiter::new(30, 60)),
            password_checks: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// With these session limits.
    #[must_use]
    pub fn with_session_limits(mut self, sessions: SessionLimits) -> Self {
        self.sessions = sessions;
        self
    }

    /// The session cookie carrying `session_id` (from [`new_session_id`]); the
    /// browser keeps it no longer than the session's absolute lifetime.
    pub fn session_cookie(&self, session_id: &SessionId) -> Cookie<'static> {
        self.cookie(SESSION_COOKIE, session_id.0.clone(), CookieDuration::seconds(self.sessions.max_secs))
    }

    /// A cookie that removes the session.
    pub fn clear_session(&self) -> Cookie<'static> {
        self.cookie(SESSION_COOKIE, String::new(), CookieDuration::ZERO)
    }

    /// The hash under which the request's session would be stored, if it carries a
    /// well-formed session cookie (43 base64url characters). Whether that session
    /// is live is for the store to say.
    pub fn session_hash(&self, req: &HttpRequest) -> Option<String> {
        let cookie = req.cookie(SESSION_COOKIE)?;
        let value = cookie.value();
        (value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| session_hash_of(value))
    }

    /// The request's CSRF token, or a new one with the cookie to set.
    pub fn csrf(&self, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
        match req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).filter(|v| v.len() == 43) {
            Some(token) => (token, None),
            None => {
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                let token = URL_SAFE_NO_PAD.encode(bytes);
                let cookie = self.cookie(CSRF_COOKIE, token.clone(), CookieDuration::days(1));
                (token, Some(cookie))
            }
        }
    }

    /// Whether a submitted form's `csrf` field matches the cookie.
    pub fn csrf_ok(&self, req: &HttpRequest, submitted: Option<&str>) -> bool {
        let (Some(cookie), Some(submitted)) = (req.cookie(CSRF_COOKIE), submitted) else { return false };
        let a = cookie.value().as_bytes();
        let b = submitted.as_bytes();
        a.len() == 43 && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn cookie(&self, name: &'static str, value: String, max_age: CookieDuration) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(max_age)
            .finish()
    }

    /// The language cookie (readable by pages; not a secret).
    pub fn lang_cookie(&self, lang: Lang) -> Cookie<'static> {
        Cookie::build(LANG_COOKIE, lang.code())
            .path("/")
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(CookieDuration::days(365))
            .finish()
    }
}

/// A new session's id: 256 random bits, base64url. Only the browser holds it.
pub struct SessionId(String);

impl SessionId {
    /// The hex SHA-256 under which the store keeps the session.
    pub fn hash(&self) -> String {
        session_hash_of(&self.0)
    }
}

/// The id stays out of debug output.
impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(…)")
    }
}

/// A fresh random session id.
pub fn new_session_id() -> SessionId {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    SessionId(URL_SAFE_NO_PAD.encode(bytes))
}

fn session_hash_of(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The reader's language: `?lang=`, the cookie, `Accept-Language`, else Chinese.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let query = web_query(req, "lang");
    let cookie = req.cookie(LANG_COOKIE).map(|c| c.value().to_owned());
    let accept = req.headers().get("accept-language").and_then(|v| v.to_str().ok());
    Lang::choose(query.as_deref(), cookie.as_deref(), accept)
}

/// One query parameter.
pub fn web_query(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == name).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn session_cookies_carry_a_random_id_whose_hash_is_stored() {
        let state = WebState::new(true).with_session_limits(SessionLimits { idle_secs: 60, max_secs: 120 });
        let id = new_session_id();
        let cookie = state.session_cookie(&id);
        assert!(cookie.http_only().unwrap_or(false));
        assert!(cookie.secure().unwrap_or(false));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        assert_eq!(cookie.max_age(), Some(CookieDuration::seconds(120)));
        assert_eq!(URL_SAFE_NO_PAD.decode(cookie.value()).unwrap().len(), 32, "256 bits");
        let req = TestRequest::default().cookie(cookie.clone()).to_http_request();
        let hash = state.session_hash(&req).unwrap();
        assert_eq!(hash, id.hash());
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(cookie.value()), "the stored value is not the cookie");
        assert_ne!(new_session_id().hash(), id.hash());
        for bad in ["", "short", &"a".repeat(44), &format!("{}!", "a".repeat(42))] {
            let req = TestRequest::default().cookie(Cookie::new(SESSION_COOKIE, bad.to_owned())).to_http_request();
            assert_eq!(state.session_hash(&req), None, "{bad:?}");
        }
        assert!(!format!("{id:?}").contains(cookie.value()));
    }

    #[test]
    fn csrf_double_submit() {
        let state = WebState::new(false);
        let req = TestRequest::default().to_http_request();
        let (token, cookie) = state.csrf(&req);
        let cookie = cookie.unwrap();
        let req = TestRequest::default().cookie(cookie).to_http_request();
        assert!(state.csrf_ok(&req, Some(&token)));
        assert!(!state.csrf_ok(&req, None));
        assert!(!state.csrf_ok(&req, Some("x")));
        assert!(!state.csrf_ok(&TestRequest::default().to_http_request(), Some(&token)));
    }
}
