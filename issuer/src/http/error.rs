//! Domain errors as HTTP answers: the one place where a refusal gets its
//! status. The code and the zh/en message are the domain's own
//! ([`StatusError::code`], [`StatusError::message`], …); the body shape is
//! [`ApiError`]'s.

use actix_web::http::StatusCode;
use wallet_core::localized::Localized;

use crate::api_error::ApiError;
use crate::domain::issuance::IssuanceError;
use crate::domain::offers::OfferError;
use crate::domain::reissue_refusal::ReissueRefusal;
use crate::domain::status::StatusError;
use crate::domain::transparency_log::LogError;

fn answer(status: StatusCode, code: &str, message: Localized) -> ApiError {
    ApiError::new(status, code, message.zh, message.en)
}

impl From<StatusError> for ApiError {
    fn from(e: StatusError) -> Self {
        let status = match &e {
            StatusError::Busy(_) | StatusError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            StatusError::UseNeedsOffice
            | StatusError::Required(_)
            | StatusError::TooLong(..)
            | StatusError::ActorInvalid => StatusCode::BAD_REQUEST,
            StatusError::CredentialNotFound | StatusError::ListNotFound => StatusCode::NOT_FOUND,
            StatusError::AlreadyRevoked
            | StatusError::AlreadyUsed(_)
            | StatusError::Suspended
            | StatusError::NotSingleUse
            | StatusError::NoStatusEntry { .. } => StatusCode::CONFLICT,
        };
        let (code, message) = (e.code(), e.message());
        match e {
            StatusError::Busy(busy) => ApiError::from(busy),
            StatusError::Internal(cause) => ApiError::internal(cause),
            StatusError::AlreadyUsed(event) => {
                let mut error = answer(status, &code, message);
                error.previous_use = Some(Box::new(serde_json::json!({
                    "usedAt": event.occurred_at,
                    "office": event.place,
                    "reference": event.reason,
                    "by": event.actor,
                    "eventId": event.event_id,
                })));
                error
            }
            _ => answer(status, &code, message),
        }
    }
}

impl From<IssuanceError> for ApiError {
    fn from(e: IssuanceError) -> Self {
        let status = match &e {
            IssuanceError::InvalidJson(_)
            | IssuanceError::InvalidIdempotencyKey
            | IssuanceError::IdempotencyKeyMissing
            | IssuanceError::InvalidBatch(_)
            | IssuanceError::Unsignable(_)
            | IssuanceError::ProofOptions { .. }
            | IssuanceError::LicenceIdAssigned
            | IssuanceError::StatusEntryAssigned
            | IssuanceError::StatusNeedsV2Context
            | IssuanceError::IssuerMismatch(_) => StatusCode::BAD_REQUEST,
            IssuanceError::TypeNotAuthorised { .. } => StatusCode::FORBIDDEN,
            IssuanceError::TooManyRows { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IssuanceError::UnknownCredentialType | IssuanceError::CredentialNotFound => StatusCode::NOT_FOUND,
            IssuanceError::CredentialIdExists => StatusCode::CONFLICT,
            IssuanceError::Reissue(ReissueRefusal::NotReissuable) => StatusCode::UNPROCESSABLE_ENTITY,
            IssuanceError::Reissue(_) => StatusCode::CONFLICT,
            IssuanceError::IdempotencyKeyReused | IssuanceError::InvalidFields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IssuanceError::IdNumberKeyMissing => StatusCode::SERVICE_UNAVAILABLE,
            IssuanceError::Status(_) | IssuanceError::Busy(_) | IssuanceError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        match e {
            IssuanceError::Status(e) => ApiError::from(e),
            IssuanceError::Busy(busy) => ApiError::from(busy),
            IssuanceError::Internal(cause) => ApiError::internal(cause),
            IssuanceError::InvalidFields(details) => ApiError::invalid_fields(details),
            other => answer(status, &other.code(), other.message()),
        }
    }
}

impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::Issuance(e) => ApiError::from(e),
            OfferError::Internal(cause) => ApiError::internal(cause),
            OfferError::HolderKeyFromWallet | OfferError::UnknownConfiguration(_) => {
                answer(StatusCode::BAD_REQUEST, &e.code(), e.message())
            }
            // OAuth 2.0 errors (RFC 6749 §5.2, RFC 6750 §3.1).
            OfferError::InvalidToken => {
                let message = e.message();
                ApiError::oauth(StatusCode::UNAUTHORIZED, &e.code(), message.zh, message.en)
            }
            OfferError::InvalidRequest(_)
            | OfferError::UnsupportedGrantType
            | OfferError::InvalidGrant(_)
            | OfferError::InvalidCredentialRequest(_)
            | OfferError::UnknownConfigurationId
            | OfferError::ProofCount
            | OfferError::InvalidProof(..)
            | OfferError::InvalidNonce { .. } => {
                let message = e.message();
                ApiError::oauth(StatusCode::BAD_REQUEST, &e.code(), message.zh, message.en)
            }
        }
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Integrity(failure) => {
                tracing::error!(%failure, "transparency log integrity failure");
                let seq = failure.first_bad_seq.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into());
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log_integrity_failure",
                    format!("透明日志完整性校验失败（第一个损坏的条目：{seq}）：{failure}"),
                    format!("transparency log integrity failure (first bad entry: seq {seq}): {failure}"),
                )
            }
            LogError::NotFound => ApiError::not_found("该凭证的日志条目", "log entry for this credential"),
            LogError::BadRange(message) => ApiError::bad_request(
                "invalid_log_range",
                format!("请求的日志范围无效：{message}"),
                format!("invalid log range: {message}"),
            ),
            LogError::Internal(cause) => ApiError::internal(cause),
        }
    }
}
