//! Headers every response of both services carries for browsers:
//!
//! - no framing by any site (`X-Frame-Options: DENY`, CSP `frame-ancestors
//!   'none'`): a staff page's one-click reissue or revoke button, or the
//!   inspector's verdict, shown inside another page is a clickjacking target;
//! - no Referer (`Referrer-Policy: no-referrer`): a page's URL may carry a
//!   search for a holder's name;
//! - no MIME sniffing (`X-Content-Type-Options: nosniff`): what is served as
//!   text or JSON is never run as script.

use actix_web::middleware::DefaultHeaders;

/// The middleware adding them (a response that sets one keeps its own).
pub fn defaults() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Frame-Options", "DENY"))
        .add(("Content-Security-Policy", "frame-ancestors 'none'"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
}
