//! The inspectors' pages: scan with the phone camera (the only page using
//! JavaScript: `getUserMedia` + the vendored jsQR decoder, served from here), or
//! upload a photo / paste the QR text (plain HTML forms); one result screen with a
//! big verdict, the holder's details to compare with the ID card, and every check
//! in plain words; an offline ID-number check against the credential's salted digest.
//!
//! Nothing personal is logged: the result is logged by credential id only, and the
//! typed ID number is used once for the comparison and dropped.

use std::collections::HashMap;
use std::net::IpAddr;

use actix_multipart::Multipart;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, Responder as _};
use askama::Template;
use askama_web::WebTemplate;
use futures_util::StreamExt as _;
use wallet_core::credential::{IdMatch, IdNumber, IdNumberDigest};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::qr;
use wallet_core::ui_text::{self, Lang, PageContext};
use wallet_core::verification::{CheckResult, VerificationReport};

use crate::cpu::{CpuWork, ImageRefusal, VerifyError};
use crate::routes::MAX_IMAGE_BYTES;
use crate::status_sync::StatusState;
use crate::trust_sync::TrustState;

/// The jsQR build served at `/static/jsQR.js` (npm `jsqr` 1.4.0, Apache-2.0; see
/// `verifier/static/README.md`).
const JSQR_JS: &str = include_str!("../static/jsQR.js");
/// The camera page's script.
const SCAN_JS: &str = include_str!("../static/scan.js");

/// Register the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/lang/{code}", web::get().to(switch_lang))
        .route("/inspect", web::get().to(inspect))
        .route("/inspect/image", web::post().to(inspect_image))
        .route("/inspect/qr", web::post().to(inspect_qr))
        .route("/inspect/id-check", web::post().to(id_check))
        .route("/static/jsQR.js", web::get().to(|| async { javascript(JSQR_JS) }))
        .route("/static/scan.js", web::get().to(|| async { javascript(SCAN_JS) }));
}

fn javascript(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// The per-address token bucket of the ID-number check (it is the one form an
/// attacker could use as an oracle, so it is slowed down) and of photo uploads.
pub use service_http::rate_limit::{KeyedRateLimiter, RateLimiter};

/// The ID check's limit per credential (per ID digest), whatever addresses the
/// checks come from: 10 at once, then 1 a minute. Someone holding a photo of
/// the QR code would need years for the ~1.75 M numbers that birth date and sex
/// leave; an inspector checking one person never notices.
pub fn id_target_limiter() -> KeyedRateLimiter {
    KeyedRateLimiter::new(10, 1)
}

fn lang_of(req: &HttpRequest) -> Lang {
    let query = query_param(req, "lang");
    let cookie = req.cookie("lang").map(|c| c.value().to_owned());
    let accept = req.headers().get("accept-language").and_then(|v| v.to_str().ok());
    Lang::choose(query.as_deref(), cookie.as_deref(), accept)
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == name).then_some(v))
}

fn page_context(req: &HttpRequest) -> PageContext {
    let lang = lang_of(req);
    let t = lang.texts();
    // After a POST the page to come back to is the scanner.
    let here = if req.method() == actix_web::http::Method::GET { req.path().to_owned() } else { "/inspect".to_owned() };
    PageContext {
        t,
        lang,
        site: t.verifier_title,
        nav: vec![("/inspect".to_owned(), t.inspect_title)],
        user: None,
        csrf: String::new(),
        switch_href: format!(
            "/lang/{}?{}",
            lang.other().code(),
            serde_urlencoded::to_string([("next", here)]).unwrap_or_default()
        ),
    }
}

fn respond<T: actix_web::Responder + 'static>(req: &HttpRequest, template: T, status: StatusCode) -> HttpResponse {
    let mut resp = template.customize().with_status(status).respond_to(req).map_into_boxed_body();
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

async fn home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/inspect")).finish()
}

async fn switch_lang(req: HttpRequest, code: web::Path<String>) -> HttpResponse {
    let lang = Lang::parse(&code).unwrap_or_default();
    let next = service_http::redirect::local_path(query_param(&req, "next").as_deref(), "/inspect");
    let cookie = Cookie::build("lang", lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(365))
        .finish();
    HttpResponse::SeeOther().insert_header((header::LOCATION, next)).cookie(cookie).finish()
}

#[derive(Template, WebTemplate)]
#[template(path = "verifier/inspect.html")]
struct InspectPage {
    ctx: PageContext,
    error: Option<String>,
}

/// A check as shown: name, outcome word, class, reason.
pub struct CheckRow {
    name: &'static str,
    outcome: &'static str,
    class: &'static str,
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "verifier/result.html")]
struct ResultPage {
    ctx: PageContext,
    verdict: &'static str,
    verdict_code: &'static str,
    verdict_class: &'static str,
    reason: String,
    kind: String,
    rows: Vec<(String, String)>,
    valid_from: String,
    valid_until: String,
    issuer_name: Option<String>,
    checks: Vec<CheckRow>,
    warnings: Vec<String>,
    qr_text: String,
    has_id_digest: bool,
    id_check: Option<(&'static str, &'static str)>,
    credential_id: String,
    /// The 证照标识 the credential carries, if any (checked in `checks`).
    licence_id: Option<String>,
}

/// The one-word verdict for a report: `(code, class)`.
pub fn verdict(report: &VerificationReport) -> (&'static str, &'static str) {
    let c = &report.checks;
    let code = match report.first_failure() {
        Some("revoked") => "revoked",
        Some("suspended") => "suspended",
        Some("used") => "used",
        Some("expired") => "expired",
        Some("not_yet_valid") => "not_yet_valid",
        Some(_) if c.issuer_trust.is_invalid() => "untrusted",
        Some(_) if c.anchoring.is_invalid() && !c.signature.is_invalid() => "not_anchored",
        Some(_) => "invalid",
        None if report.verified => "valid",
        None if !c.issuer_trust.is_valid() => "untrusted",
        None => "invalid",
    };
    let class = match code {
        "valid" => "ok",
        "suspended" | "not_yet_valid" | "not_anchored" => "warn",
        _ => "bad",
    };
    (code, class)
}

fn verdict_text(code: &str, lang: Lang) -> &'static str {
    let t = lang.texts();
    match code {
        "valid" => t.verdict_valid,
        "revoked" => t.verdict_revoked,
        "suspended" => t.verdict_suspended,
        "used" => t.verdict_used,
        "expired" => t.verdict_expired,
        "not_yet_valid" => t.verdict_not_yet_valid,
        "untrusted" => t.verdict_untrusted,
        "not_anchored" => t.verdict_not_anchored,
        _ => t.verdict_invalid,
    }
}

fn check_row(name: &'static str, result: &CheckResult, lang: Lang) -> CheckRow {
    let t = lang.texts();
    match result {
        CheckResult::Valid => CheckRow { name, outcome: t.result_valid, class: "ok", reason: String::new() },
        CheckResult::Invalid { reason, .. } => {
            CheckRow { name, outcome: t.result_invalid, class: "bad", reason: lang.pick(reason).to_owned() }
        }
        CheckResult::Unchecked { reason, .. } => {
            CheckRow { name, outcome: t.result_unchecked, class: "warn", reason: lang.pick(reason).to_owned() }
        }
    }
}

/// The department ID number keys this verifier holds (`--id-number-key`).
#[derive(Debug, Clone, Default)]
pub struct IdNumberKeys(pub Vec<wallet_core::credential::IdNumberKey>);

async fn inspect(req: HttpRequest) -> HttpResponse {
    respond(&req, InspectPage { ctx: page_context(&req), error: None }, StatusCode::OK)
}

fn inspect_error(req: &HttpRequest, message: &str, status: StatusCode) -> HttpResponse {
    respond(req, InspectPage { ctx: page_context(req), error: Some(message.to_owned()) }, status)
}

/// Verify `text` and render the result (or the scanner again with the reason).
async fn verify_and_render(
    req: &HttpRequest,
    types: &TypeRegistry,
    trust: &TrustState,
    status: &StatusState,
    cpu: &CpuWork,
    text: &str,
    id_number: Option<&str>,
) -> HttpResponse {
    let ctx = page_context(req);
    let lang = ctx.lang;
    let t = ctx.t;
    let text = text.trim();
    let Ok(scanned) = wallet_core::presentation::read_scanned_with(types, text) else {
        return inspect_error(req, t.not_a_credential, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let vc = std::sync::Arc::new(scanned.credential);
    let anchoring = req.app_data::<web::Data<crate::log_sync::AnchoringState>>().map(|a| a.get_ref().clone());
    let anchoring = anchoring.unwrap_or_default();
    let report = match crate::verify_flow::verify_credential(
        &vc,
        types,
        trust,
        status,
        &anchoring,
        true,
        scanned.presentation,
        None,
        cpu,
    )
    .await
    {
        Ok(report) => report,
        Err(VerifyError::Malformed(e)) => {
            let message = format!("{}: {}", t.not_a_credential, lang.pick(&e.message()));
            return inspect_error(req, &message, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(VerifyError::Pool(e)) => return refusal_page(req, &e.into()),
    };
    let (code, class) = verdict(&report);
    tracing::info!(credential_id = report.credential_id.as_deref().unwrap_or("-"), verdict = code, "inspected");
    let c = &report.checks;
    let mut checks = vec![
        check_row(t.check_signature, &c.signature, lang),
        check_row(t.check_issuer_trust, &c.issuer_trust, lang),
        check_row(t.check_status, &c.status, lang),
        check_row(t.check_validity, &c.validity_period, lang),
        check_row(t.check_anchoring, &c.anchoring, lang),
    ];
    // Only for holder-bound credentials: the row would mean nothing for the others.
    if !matches!(&c.holder_binding, CheckResult::Unchecked { code, .. } if code == "not_holder_bound") {
        checks.push(check_row(t.check_holder_binding, &c.holder_binding, lang));
    }
    checks.push(check_row(t.check_licence_id, &c.licence_id, lang));
    let reason =
        [&c.signature, &c.issuer_trust, &c.status, &c.validity_period, &c.anchoring, &c.holder_binding, &c.licence_id]
            .into_iter()
            .find_map(|r| match r {
                CheckResult::Invalid { reason, .. } => Some(lang.pick(reason).to_owned()),
                _ => None,
            })
            .unwrap_or_default();
    let digest = IdNumberDigest::of_credential(&vc);
    let keys = req.app_data::<web::Data<IdNumberKeys>>().map_or(&[][..], |k| k.0.as_slice());
    // The ID number is compared only with the digest of a credential whose
    // signature holds, by an issuer the trust list names (or, with no trust
    // list configured here, whose signature holds); only then is the
    // credential's guess budget charged. Made-up digests in forged or
    // self-signed QR texts cost nothing anyone else needs: they once filled
    // the per-credential limiter, which then refused every new credential.
    let genuine = c.signature.is_valid()
        && (c.issuer_trust.is_valid()
            || matches!(&c.issuer_trust, CheckResult::Unchecked { code, .. } if code == "no_trust_list"));
    if let (Some(_), true, Some(d), Some(targets)) =
        (id_number, genuine, &digest, req.app_data::<web::Data<KeyedRateLimiter>>())
    {
        // Guesses at one credential's ID number are limited whatever address they come from.
        if !targets.allow(&d.digest) {
            tracing::warn!("ID check refused: too many checks against one credential");
            return inspect_error(req, t.too_many_requests, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    let id_check = id_number.map(|typed| match (&digest, IdNumber::parse(typed)) {
        _ if !genuine => (t.id_not_checked, "warn"),
        (None, _) => (t.id_no_digest, "warn"),
        (_, Err(_)) => (t.id_invalid, "bad"),
        (Some(d), Ok(n)) => match d.check(&n, keys) {
            IdMatch::Matches if d.version() == Some(1) => (t.id_matches_legacy, "warn"),
            IdMatch::Matches => (t.id_matches, "ok"),
            IdMatch::Differs => (t.id_differs, "bad"),
            IdMatch::KeyUnavailable => (t.id_key_unavailable, "warn"),
            IdMatch::Malformed => (t.id_no_digest, "warn"),
        },
    });
    let page = ResultPage {
        verdict: verdict_text(code, lang),
        verdict_code: code,
        verdict_class: class,
        reason,
        kind: ui_text::authorised_kind_name(types, &report, lang),
        rows: ui_text::subject_rows(types, &vc, lang, ui_text::Shown::ToInspector),
        valid_from: ui_text::date_of(&vc, "validFrom"),
        valid_until: ui_text::date_of(&vc, "validUntil"),
        issuer_name: report.trusted_issuer.as_ref().map(|i| i.organization_name.clone()),
        checks,
        warnings: report.warnings.iter().map(|w| lang.pick(&w.message).to_owned()).collect(),
        qr_text: text.to_owned(),
        has_id_digest: digest.is_some(),
        id_check,
        credential_id: report.credential_id.clone().unwrap_or_default(),
        licence_id: vc
            .get(wallet_core::licence_id::CREDENTIAL_TERM)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        ctx,
    };
    respond(req, page, StatusCode::OK)
}

/// The scanner page again with an API refusal's words, status and `Retry-After`.
fn refusal_page(req: &HttpRequest, error: &crate::api_error::ApiError) -> HttpResponse {
    use actix_web::ResponseError as _;
    let api = error.error_response();
    let message = crate::cpu::page_message(error, lang_of(req));
    let mut page = inspect_error(req, &message, api.status());
    if let Some(retry_after) = api.headers().get(header::RETRY_AFTER) {
        page.headers_mut().insert(header::RETRY_AFTER, retry_after.clone());
    }
    page
}

fn form_fields(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default().into_iter().collect()
}

/// `POST /inspect/qr` (form field `qr`): the text the camera page decoded, or pasted.
async fn inspect_qr(
    req: HttpRequest,
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    cpu: web::Data<CpuWork>,
    body: web::Bytes,
) -> HttpResponse {
    let f = form_fields(&body);
    verify_and_render(&req, &types, &trust, &status, &cpu, f.get("qr").map_or("", String::as_str), None).await
}

/// `POST /inspect/id-check` (form fields `qr`, `idNumber`): the result again, with
/// whether the typed number matches the credential's salted digest. Rate limited.
async fn id_check(
    req: HttpRequest,
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    limiter: web::Data<RateLimiter>,
    cpu: web::Data<CpuWork>,
    body: web::Bytes,
) -> HttpResponse {
    let ip = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if !limiter.allow(ip) {
        let message = lang_of(&req).texts().too_many_requests;
        return inspect_error(&req, message, StatusCode::TOO_MANY_REQUESTS);
    }
    let f = form_fields(&body);
    // The per-credential limit is charged in `verify_and_render`, once the
    // credential verified.
    let typed = f.get("idNumber").map_or("", |s| s.trim());
    verify_and_render(&req, &types, &trust, &status, &cpu, f.get("qr").map_or("", String::as_str), Some(typed)).await
}

/// `POST /inspect/image` (multipart, field `photo`): a photo of the QR code.
async fn inspect_image(
    req: HttpRequest,
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    cpu: web::Data<CpuWork>,
    payload: web::Payload,
) -> HttpResponse {
    let t = lang_of(&req).texts();
    if let Err(refused) = cpu.admit_image(&req) {
        return refusal_page(&req, &refused);
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return inspect_error(&req, t.no_qr_found, StatusCode::BAD_REQUEST);
    }
    let image = match first_file(Multipart::new(req.headers(), payload)).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return inspect_error(&req, t.no_qr_found, StatusCode::UNPROCESSABLE_ENTITY),
        Err(FileError::TooLarge) => return inspect_error(&req, t.no_qr_found, StatusCode::PAYLOAD_TOO_LARGE),
        Err(FileError::Malformed) => return inspect_error(&req, t.no_qr_found, StatusCode::BAD_REQUEST),
    };
    match cpu.decode_image(image).await {
        Ok(text) => verify_and_render(&req, &types, &trust, &status, &cpu, &text, None).await,
        Err(refused @ (ImageRefusal::Pool(_) | ImageRefusal::Decode(qr::QrError::ImageTooLarge { .. }))) => {
            refusal_page(&req, &refused.into())
        }
        Err(ImageRefusal::Decode(_)) => inspect_error(&req, t.no_qr_found, StatusCode::UNPROCESSABLE_ENTITY),
    }
}

enum FileError {
    TooLarge,
    Malformed,
}

async fn first_file(mut form: Multipart) -> Result<Option<Vec<u8>>, FileError> {
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| FileError::Malformed)?;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| FileError::Malformed)?;
            if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(FileError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if !bytes.is_empty() {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::localized::Localized;
    use wallet_core::verification::Checks;

    fn report(checks: Checks, verified: bool) -> VerificationReport {
        VerificationReport {
            verified,
            credential_id: None,
            issuer: None,
            trusted_issuer: None,
            types: Vec::new(),
            checks,
            anchor: None,
            warnings: Vec::new(),
            checked_at: chrono::Utc::now(),
        }
    }

    fn invalid(code: &str) -> CheckResult {
        CheckResult::Invalid { code: code.into(), reason: Localized::new("原因", "reason") }
    }

    fn unchecked() -> CheckResult {
        CheckResult::Unchecked { code: "x".into(), reason: Localized::new("未检查", "not checked") }
    }

    fn all_valid() -> Checks {
        Checks {
            signature: CheckResult::Valid,
            validity_period: CheckResult::Valid,
            issuer_trust: CheckResult::Valid,
            status: CheckResult::Valid,
            anchoring: unchecked(),
            holder_binding: unchecked(),
            licence_id: CheckResult::Valid,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(&report(all_valid(), true)), ("valid", "ok"), "anchoring unchecked is not a failure");
        let with = |f: fn(&mut Checks)| {
            let mut c = all_valid();
            f(&mut c);
            verdict(&report(c, false)).0
        };
        assert_eq!(with(|c| c.status = invalid("revoked")), "revoked");
        assert_eq!(with(|c| c.status = invalid("suspended")), "suspended");
        assert_eq!(with(|c| c.status = invalid("used")), "used");
        assert_eq!(with(|c| c.validity_period = invalid("expired")), "expired");
        assert_eq!(with(|c| c.validity_period = invalid("not_yet_valid")), "not_yet_valid");
        assert_eq!(with(|c| c.issuer_trust = invalid("unknown_issuer")), "untrusted");
        assert_eq!(with(|c| c.issuer_trust = unchecked()), "untrusted");
        assert_eq!(with(|c| c.anchoring = invalid("not_in_log")), "not_anchored");
        assert_eq!(with(|c| c.signature = invalid("bad_signature")), "invalid");
        for code in
            ["valid", "revoked", "suspended", "used", "expired", "not_yet_valid", "untrusted", "not_anchored", "x"]
        {
            assert_ne!(verdict_text(code, Lang::Zh), verdict_text(code, Lang::En));
        }
    }

    #[test]
    fn inspect_page_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            let req = actix_web::test::TestRequest::default()
                .uri("/inspect")
                .insert_header(("accept-language", lang.code()))
                .to_http_request();
            let page = InspectPage { ctx: page_context(&req), error: Some(lang.texts().no_qr_found.into()) };
            let html = page.render().unwrap();
            let html = match (html.find("<style>"), html.find("</style>")) {
                (Some(a), Some(b)) => format!("{}<style>…</style>{}", &html[..a], &html[b + 8..]),
                _ => html,
            };
            insta::assert_snapshot!(format!("inspect_{}", lang.code()), html);
        }
    }
}
