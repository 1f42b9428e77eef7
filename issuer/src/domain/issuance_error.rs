//! Why an issuance (or reading an issued credential) was refused or failed:
//! the domain's error, with its stable code and zh/en message and no HTTP
//! status (`http/error.rs` gives it one). Its own file, so that what the
//! issuance uses (batch parsing) can name it without importing the issuer.

use service_http::cpu_pool::CpuPoolError;
use wallet_core::credential::FieldError;
use wallet_core::issuance::IssueError;
use wallet_core::localized::Localized;

use crate::domain::reissue_refusal::ReissueRefusal;
use crate::domain::status::StatusError;

/// Why an issuance (or reading an issued credential) was refused, or failed.
/// [`IssuanceError::code`] is the stable machine code, [`IssuanceError::message`]
/// the zh/en text shown to people.
#[derive(Debug)]
#[non_exhaustive]
pub enum IssuanceError {
    /// A type with an ID number, and no ID number key configured.
    IdNumberKeyMissing,
    /// Field-level problems with the request.
    InvalidFields(Vec<FieldError>),
    /// A body that is not this request's JSON.
    InvalidJson(String),
    /// An `Idempotency-Key` that is not 1–255 visible ASCII characters.
    InvalidIdempotencyKey,
    /// A batch row without its `idempotencyKey`.
    IdempotencyKeyMissing,
    /// A batch with more rows than one request may carry.
    TooManyRows {
        /// Rows sent.
        rows: usize,
        /// Rows allowed.
        max: usize,
    },
    /// A batch body that cannot be read at all (a CSV without a readable header).
    InvalidBatch(String),
    /// The credential breaks the data model or cannot be signed as it is.
    Unsignable(IssueError),
    /// No type is served at this path.
    UnknownCredentialType,
    /// This issuer's certificate does not allow the type (or a defined type
    /// carries another type beside it).
    TypeNotAuthorised {
        /// The type (or types), by name.
        name: Localized,
        /// Why not.
        why: Localized,
    },
    /// A VC-API credential naming another issuer (this one's DID given).
    IssuerMismatch(String),
    /// A credential with this id was issued already.
    CredentialIdExists,
    /// The idempotency key was used for a different request.
    IdempotencyKeyReused,
    /// No such credential.
    CredentialNotFound,
    /// Allocating status entries failed.
    Status(StatusError),
    /// Proof options (cryptosuite, mandatory pointers) this issuer cannot honour
    /// (`crate::domain::proof_suite`).
    ProofOptions {
        /// The stable code.
        code: &'static str,
        /// What is wrong.
        why: Localized,
    },
    /// A VC-API credential of a type with a licence type code that brings its
    /// own 证照标识 (the issuer assigns it).
    LicenceIdAssigned,
    /// A VC-API credential of a type whose credentials always carry status
    /// entries that brings its own `credentialStatus` (the issuer assigns them).
    StatusEntryAssigned,
    /// A VC-API credential of a type whose credentials always carry status
    /// entries whose first context is not VC 2.0's (which defines them).
    StatusNeedsV2Context,
    /// A reissue refused (`crate::domain::reissue`).
    Reissue(ReissueRefusal),
    /// The CPU pool is full or past its deadline.
    Busy(CpuPoolError),
    /// Anything else (the store, signing); the cause is for the logs only.
    Internal(String),
}

impl IssuanceError {
    /// For any failure that is not the caller's (the cause is logged, never shown).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The stable machine code.
    pub fn code(&self) -> String {
        match self {
            Self::IdNumberKeyMissing => wallet_core::credential_type::ID_NUMBER_KEY_MISSING.into(),
            Self::InvalidFields(_) => "invalid_fields".into(),
            Self::InvalidJson(_) => "invalid_json".into(),
            Self::InvalidIdempotencyKey => "invalid_idempotency_key".into(),
            Self::IdempotencyKeyMissing => "idempotency_key_missing".into(),
            Self::TooManyRows { .. } => "too_many_rows".into(),
            Self::InvalidBatch(_) => "invalid_batch".into(),
            Self::Unsignable(e) => e.code().into(),
            Self::UnknownCredentialType => "unknown_credential_type".into(),
            Self::TypeNotAuthorised { .. } => "credential_type_not_authorised".into(),
            Self::IssuerMismatch(_) => "issuer_mismatch".into(),
            Self::CredentialIdExists => "credential_id_exists".into(),
            Self::IdempotencyKeyReused => "idempotency_key_reused".into(),
            Self::CredentialNotFound => "not_found".into(),
            Self::Status(e) => e.code(),
            Self::ProofOptions { code, .. } => (*code).into(),
            Self::Reissue(refusal) => refusal.code().into(),
            Self::LicenceIdAssigned => "licence_id_assigned_by_issuer".into(),
            Self::StatusEntryAssigned => "status_entry_assigned_by_issuer".into(),
            Self::StatusNeedsV2Context => "status_entries_need_credentials_v2".into(),
            Self::Busy(CpuPoolError::Busy) => "busy".into(),
            Self::Busy(CpuPoolError::DeadlineExceeded) => "deadline_exceeded".into(),
            Self::Busy(_) | Self::Internal(_) => "internal_error".into(),
        }
    }

    /// What to tell people, in zh and en.
    pub fn message(&self) -> Localized {
        match self {
            Self::IdNumberKeyMissing => Localized::new(
                "签发机构未配置身份证号码摘要密钥（--id-number-key），不能签发含身份证号码的凭证",
                "this issuer has no ID number key (--id-number-key): it cannot issue credentials with an ID number",
            ),
            Self::InvalidFields(_) => {
                Localized::new("提交的内容有误，请按提示修改", "some fields are invalid; see details")
            }
            Self::InvalidJson(m) => Localized::new(
                format!("请求内容不是有效的 JSON 或字段有误：{m}"),
                format!("the body is not valid JSON for this request: {m}"),
            ),
            Self::InvalidIdempotencyKey => Localized::new(
                "Idempotency-Key 应为1至255个可见 ASCII 字符",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ),
            Self::Unsignable(IssueError::DataModel(e)) => Localized::new(e.message_zh.clone(), e.message_en.clone()),
            Self::Unsignable(other) => {
                Localized::new(format!("无法签发该凭证：{other}"), format!("cannot issue this credential: {other}"))
            }
            Self::IdempotencyKeyMissing => Localized::new(
                "每一行都需要自己的 idempotencyKey（1至255个可见 ASCII 字符）",
                "every row needs its own idempotencyKey (1 to 255 visible ASCII characters)",
            ),
            Self::TooManyRows { rows, max } => Localized::new(
                format!("一次最多提交 {max} 行，本次为 {rows} 行；请分批提交"),
                format!("at most {max} rows per request, this one has {rows}: send it in chunks"),
            ),
            Self::InvalidBatch(m) => {
                Localized::new(format!("批量内容无法读取：{m}"), format!("the batch cannot be read: {m}"))
            }
            Self::ProofOptions { why, .. } => why.clone(),
            Self::Reissue(refusal) => refusal.message(),
            Self::LicenceIdAssigned => Localized::new(
                "证照标识由签发机构分配，请求中不应携带 licenceId",
                "the licence identifier (证照标识) is assigned by the issuer: send the credential without licenceId",
            ),
            Self::StatusEntryAssigned => Localized::new(
                "此类凭证的状态条目（吊销、暂停、已使用）由签发机构分配，请求中不应携带 credentialStatus",
                "status entries (revocation, suspension, used) of this credential type are assigned by the issuer: \
                 send the credential without credentialStatus",
            ),
            Self::StatusNeedsV2Context => Localized::new(
                "此类凭证必须带有状态条目，@context 的第一项应为 https://www.w3.org/ns/credentials/v2",
                "this credential type always carries status entries: the first item of @context must be \
                 https://www.w3.org/ns/credentials/v2",
            ),
            Self::UnknownCredentialType => {
                Localized::new("本签发服务没有这种凭证类型", "this issuer has no such credential type")
            }
            Self::TypeNotAuthorised { name, why } => Localized::new(
                format!("不能签发“{}”：{}", name.zh, why.zh),
                format!("cannot issue “{}”: {}", name.en, why.en),
            ),
            Self::IssuerMismatch(did) => {
                Localized::new(format!("本签发服务只能以 {did} 的身份签发"), format!("this issuer signs only as {did}"))
            }
            Self::CredentialIdExists => {
                Localized::new("已签发过使用此 id 的凭证", "a credential with this id was already issued")
            }
            Self::IdempotencyKeyReused => Localized::new(
                "该 Idempotency-Key 已用于另一个不同的请求",
                "this Idempotency-Key was already used for a different request",
            ),
            Self::CredentialNotFound => Localized::new("未找到该凭证", "credential not found"),
            Self::Status(e) => e.message(),
            Self::Busy(_) | Self::Internal(_) => {
                Localized::new("服务器内部错误，请稍后重试", "internal server error; please retry later")
            }
        }
    }
}

impl std::fmt::Display for IssuanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(e) => write!(f, "{e}"),
            Self::Busy(e) => write!(f, "{e}"),
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
            other => write!(f, "{}: {}", other.code(), other.message().en),
        }
    }
}

impl std::error::Error for IssuanceError {}

impl From<StatusError> for IssuanceError {
    fn from(e: StatusError) -> Self {
        Self::Status(e)
    }
}

impl From<CpuPoolError> for IssuanceError {
    fn from(e: CpuPoolError) -> Self {
        Self::Busy(e)
    }
}
