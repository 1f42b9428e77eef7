//! Sessions, anti-CSRF tokens and the language cookie.
//!
//! * Session: cookie `ecert_session` = `base64url(username \n expiry) . base64url(HMAC-SHA256)`,
//!   keyed by a random per-process key (a restart signs everyone out), HttpOnly,
//!   SameSite=Strict, Secure when the issuer serves HTTPS, 8 hours.
//! * CSRF: a random token in cookie `ecert_csrf` (HttpOnly, SameSite=Strict) that every
//!   form repeats in a hidden `csrf` field; a POST whose field does not equal the
//!   cookie is refused (double submit, compared in constant time).

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;
use wallet_core::ui_text::Lang;

/// Session cookie name.
pub const SESSION_COOKIE: &str = "ecert_session";
/// CSRF cookie name.
pub const CSRF_COOKIE: &str = "ecert_csrf";
/// Language cookie name.
pub const LANG_COOKIE: &str = "lang";
const SESSION_SECONDS: i64 = 8 * 3600;

/// Per-process secrets of the web pages.
#[derive(Clone)]
pub struct WebState {
    key: [u8; 32],
    /// Set the `Secure` flag on cookies (the issuer serves HTTPS).
    pub secure: bool,
    /// Slows down the ID-number lookup (per client address).
    pub lookup_limiter: std::sync::Arc<RateLimiter>,
}

/// A token bucket per client address (bounded memory; shared with the verifier).
pub use service_http::rate_limit::RateLimiter;

impl WebState {
    /// A fresh random key.
    pub fn new(secure: bool) -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key, secure, lookup_limiter: std::sync::Arc::new(RateLimiter::new(5, 10)) }
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        #[allow(clippy::expect_used)] // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// The session cookie for `username`.
    pub fn session_cookie(&self, username: &str) -> Cookie<'static> {
        let expiry = chrono::Utc::now().timestamp() + SESSION_SECONDS;
        let payload = format!("{username}\n{expiry}");
        let value =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes())));
        self.cookie(SESSION_COOKIE, value, CookieDuration::seconds(SESSION_SECONDS))
    }

    /// A cookie that removes the session.
    pub fn clear_session(&self) -> Cookie<'static> {
        self.cookie(SESSION_COOKIE, String::new(), CookieDuration::ZERO)
    }

    /// The signed-in username, if the request carries a valid, unexpired session.
    pub fn user(&self, req: &HttpRequest) -> Option<String> {
        let cookie = req.cookie(SESSION_COOKIE)?;
        let (payload, mac) = cookie.value().split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        check.update(&payload);
        check.verify_slice(&mac).ok()?;
        let text = String::from_utf8(payload).ok()?;
        let (user, expiry) = text.split_once('\n')?;
        (expiry.parse::<i64>().ok()? > chrono::Utc::now().timestamp()).then(|| user.to_owned())
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

/// A local path to come back to (`/…`, not `//…`), else `/`. Browsers drop tabs
/// and newlines from URLs and read `\\` as `/`, so `/\t/evil.example` or
/// `/\\evil.example` would leave the site: any control character, space or
/// backslash refuses the path.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() < 512
                && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn session_round_trip_and_tampering() {
        let state = WebState::new(false);
        let cookie = state.session_cookie("dr.li");
        assert!(cookie.http_only().unwrap_or(false));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        let req = TestRequest::default().cookie(cookie.clone()).to_http_request();
        assert_eq!(state.user(&req).as_deref(), Some("dr.li"));
        let other = WebState::new(false);
        assert_eq!(other.user(&req), None, "another key refuses it");
        let (payload, mac) = cookie.value().split_once('.').unwrap();
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode("admin\n99999999999"));
        assert_ne!(forged.split_once('.').unwrap().0, payload);
        let req = TestRequest::default().cookie(Cookie::new(SESSION_COOKIE, forged)).to_http_request();
        assert_eq!(state.user(&req), None);
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

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next(Some("/certificates?page=2")), "/certificates?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/ /evil.example",
            "/\u{7f}/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }
}
