//! The one error type of the HTTP API: a status, a stable snake_case `code`, a
//! message in zh and en, optional field-level details. Internal causes are
//! logged, never sent to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use wallet_core::credential::FieldError;
use wallet_core::localized::Localized;

/// An API error as the client sees it.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// Stable machine code.
    pub error: String,
    /// Human message.
    pub message: Localized,
    /// Per-field problems (validation errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
    /// For `already_used`: when, where and by whom the credential was used.
    #[serde(rename = "previousUse", skip_serializing_if = "Option::is_none")]
    pub previous_use: Option<Box<serde_json::Value>>,
    /// OAuth 2.0 / OpenID4VCI endpoints: also answer the standard `error_description` (English).
    #[serde(skip)]
    oauth: bool,
    /// `Retry-After` in seconds (503 busy, 429 too many requests). A `u32`
    /// (136 years) keeps the error under clippy's 128-byte `result_large_err`.
    #[serde(skip)]
    retry_after: Option<u32>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message.en)
    }
}

impl ApiError {
    /// A client error with a code and bilingual message.
    pub fn new(status: StatusCode, code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            status,
            error: code.to_owned(),
            message: Localized::new(zh, en),
            details: Vec::new(),
            previous_use: None,
            oauth: false,
            retry_after: None,
        }
    }
    /// An OAuth-style error (`invalid_grant`, `invalid_proof`, …): our shape plus
    /// `error_description`, so standard clients and our apps both read it.
    pub fn oauth(status: StatusCode, code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { oauth: true, ..Self::new(status, code, zh, en) }
    }
    /// The same, telling the client when to try again (`Retry-After`, seconds).
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(u32::try_from(seconds).unwrap_or(u32::MAX));
        self
    }
    /// 400 for input that cannot be used.
    pub fn bad_request(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, zh, en)
    }
    /// 422 with field errors.
    pub fn invalid_fields(details: Vec<FieldError>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid_fields".into(),
            message: Localized::new("提交的内容有误，请按提示修改", "some fields are invalid; see details"),
            details,
            previous_use: None,
            oauth: false,
            retry_after: None,
        }
    }
    /// 404.
    pub fn not_found(what_zh: &str, what_en: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("未找到{what_zh}"), format!("{what_en} not found"))
    }
    /// 500; the cause is logged here and not shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "服务器内部错误，请稍后重试",
            "internal server error; please retry later",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        if self.oauth {
            let mut body = serde_json::to_value(self).unwrap_or_default();
            if let Some(map) = body.as_object_mut() {
                map.insert("error_description".into(), self.message.en.clone().into());
            }
            let mut response = HttpResponse::build(self.status);
            if self.status == StatusCode::UNAUTHORIZED {
                // RFC 6750 §3: a protected resource names the scheme and the error.
                response.insert_header((
                    actix_web::http::header::WWW_AUTHENTICATE,
                    format!("Bearer error=\"{}\"", self.error),
                ));
            }
            return response.json(body);
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(self)
    }
}

/// Turn actix's JSON extractor failures into our error shape (413 for a body
/// over the limit, 400 for anything unparseable, 415 for a wrong content type).
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "请求内容过大",
            "the request body is too large",
        ),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求内容类型应为 application/json",
            "the request body must be application/json",
        ),
        E::Deserialize(e) => ApiError::bad_request(
            "invalid_json",
            format!("请求内容不是有效的 JSON 或缺少字段：{e}"),
            format!("the body is not valid JSON for this request: {e}"),
        ),
        other => ApiError::bad_request(
            "invalid_body",
            format!("无法读取请求内容：{other}"),
            format!("cannot read the request body: {other}"),
        ),
    };
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}
