//! The credential model: the two kinds of credential this suite issues today,
//! built from plain fields (no JSON-LD knowledge needed by callers) and read back
//! from a W3C VC 2.0 document for display.
//!
//! Every rule about a field (formats, check digits, what is hashed and how)
//! lives here, once; the services only call it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::contexts::{CREDENTIALS_V2, ECERT_V1};
use crate::localized::Localized;

/// `type` of a food-service worker health certificate (健康证明).
pub const HEALTH_CERTIFICATE_TYPE: &str = "HealthCertificate";
/// `type` of a food business licence (食品经营许可证).
pub const FOOD_BUSINESS_LICENCE_TYPE: &str = "FoodBusinessLicence";

/// A field that does not satisfy its rule, with a stable code and bilingual text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field name as the domain API spells it (camelCase).
    pub field: &'static str,
    /// Stable machine code (`required`, `invalid_format`, `checksum`, …).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: Localized,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, code: &'static str, zh: &str, en: &str) -> Self {
        Self { field, code, message: Localized::new(zh, en) }
    }
    pub(crate) fn required(field: &'static str) -> Self {
        Self::new(field, "required", "必填项不能为空", "this field is required")
    }
}

/// A credential identifier: `urn:uuid:<v4>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CredentialId(String);

impl CredentialId {
    /// A fresh random identifier.
    pub fn generate() -> Self {
        Self(format!("urn:uuid:{}", uuid::Uuid::new_v4()))
    }
    /// Parse `urn:uuid:…` (lower-case canonical form only).
    pub fn parse(s: &str) -> Option<Self> {
        let u = s.strip_prefix("urn:uuid:")?;
        let parsed = uuid::Uuid::parse_str(u).ok()?;
        (parsed.hyphenated().to_string() == u).then(|| Self(s.to_owned()))
    }
    /// The UUID part, used in URLs (`/credentials/{uuid}`).
    pub fn uuid_part(&self) -> &str {
        self.0.trim_start_matches("urn:uuid:")
    }
    /// The full `urn:uuid:…` string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mainland resident identity card number (GB 11643-1999), validated with
/// its check character. It exists only transiently: credentials carry a salted
/// digest of it, never the number.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdNumber(<redacted>)")
    }
}

impl IdNumber {
    /// Parse and check an 18-character ID number (case-insensitive `X`).
    ///
    /// # Errors
    /// `invalid_format` or `checksum` for the field `idNumber`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field(s, "idNumber")
    }

    /// As [`IdNumber::parse`], with errors for the field `field`.
    ///
    /// # Errors
    /// `required`, `invalid_format` or `checksum`.
    pub fn parse_field(s: &str, field: &'static str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let bytes = s.as_bytes();
        let well_formed = bytes.len() == 18
            && bytes[..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if !well_formed {
            return Err(FieldError::new(
                field,
                "invalid_format",
                "身份证号码应为18位（最后一位可为X）",
                "an ID card number has 18 characters (the last may be X)",
            ));
        }
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        if CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(FieldError::new(
                field,
                "checksum",
                "身份证号码校验位不正确，请核对",
                "the ID card number's check character is wrong; please re-check it",
            ));
        }
        Ok(Self(s))
    }
}

/// A salted digest of an ID number, as carried in a health certificate:
/// `idNumberDigest = SHA-256("ecert/id-number/v1" ‖ salt ‖ number)`, both as
/// multibase base64url (`u…`). An inspector who types the number can check it
/// offline against the credential; the number itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdNumberDigest {
    /// `u` + base64url(SHA-256 digest)
    pub digest: String,
    /// `u` + base64url(16 random bytes)
    pub salt: String,
}

const ID_DIGEST_DOMAIN: &[u8] = b"ecert/id-number/v1";

impl IdNumberDigest {
    /// Digest with a fresh random salt.
    pub fn new(id: &IdNumber) -> Self {
        let salt: [u8; 16] = rand::random();
        Self::with_salt(id, &salt)
    }

    fn with_salt(id: &IdNumber, salt: &[u8]) -> Self {
        let digest =
            Sha256::new().chain_update(ID_DIGEST_DOMAIN).chain_update(salt).chain_update(id.0.as_bytes()).finalize();
        Self {
            digest: format!("u{}", URL_SAFE_NO_PAD.encode(digest)),
            salt: format!("u{}", URL_SAFE_NO_PAD.encode(salt)),
        }
    }

    /// Does this digest belong to `id`? (Constant-time on the digest bytes.)
    pub fn matches(&self, id: &IdNumber) -> bool {
        let Some(salt) = self.salt.strip_prefix('u').and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()) else {
            return false;
        };
        let expected = Self::with_salt(id, &salt);
        let (a, b) = (expected.digest.as_bytes(), self.digest.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015), checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnifiedSocialCreditCode(String);

impl UnifiedSocialCreditCode {
    /// Parse and check the 18-character code.
    ///
    /// # Errors
    /// `invalid_format` or `checksum` for the field `unifiedSocialCreditCode`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field(s, "unifiedSocialCreditCode")
    }

    /// As [`UnifiedSocialCreditCode::parse`], with errors for the field `field`.
    ///
    /// # Errors
    /// `required`, `invalid_format` or `checksum`.
    pub fn parse_field(s: &str, field: &'static str) -> Result<Self, FieldError> {
        const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const WEIGHTS: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let values: Option<Vec<usize>> = s.bytes().map(|c| ALPHABET.iter().position(|a| *a == c)).collect();
        let Some(values) = values.filter(|v| v.len() == 18) else {
            return Err(FieldError::new(
                field,
                "invalid_format",
                "统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）",
                "a unified social credit code has 18 digits or capital letters (no I, O, Z, S, V)",
            ));
        };
        let sum: usize = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            return Err(FieldError::new(
                field,
                "checksum",
                "统一社会信用代码校验位不正确，请核对",
                "the unified social credit code's check character is wrong; please re-check it",
            ));
        }
        Ok(Self(s))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Sex as printed on the certificate (GB/T 2261.1 letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// 男
    #[serde(rename = "M")]
    Male,
    /// 女
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    /// `M` / `F` (also accepts 男 / 女, male / female).
    ///
    /// # Errors
    /// `invalid_value` for the field `sex`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field(s, "sex")
    }

    /// As [`Sex::parse`], with errors for the field `field`.
    ///
    /// # Errors
    /// `required` or `invalid_value`.
    pub fn parse_field(s: &str, field: &'static str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "m" | "male" | "男" => Ok(Self::Male),
            "f" | "female" | "女" => Ok(Self::Female),
            "" => Err(FieldError::required(field)),
            _ => {
                Err(FieldError::new(field, "invalid_value", "性别应为“男”或“女”", "sex must be M (male) or F (female)"))
            }
        }
    }
    /// The code used in the credential.
    pub fn code(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
    /// For display.
    pub fn label(self) -> Localized {
        match self {
            Self::Male => Localized::new("男", "Male"),
            Self::Female => Localized::new("女", "Female"),
        }
    }
}

/// What a clinic's system sends to issue a health certificate: plain fields,
/// including the raw ID number (hashed here, never kept).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCertificateRequest {
    /// Holder's name in Chinese characters.
    pub full_name: String,
    /// Holder's name in pinyin (GB/T 28039: `SURNAME Given`).
    pub full_name_pinyin: String,
    /// `M`/`F`.
    pub sex: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Resident ID card number; only its salted digest goes into the credential.
    pub id_number: String,
    /// `YYYY-MM-DD`.
    pub examination_date: String,
    /// Name of the examining institution.
    pub examining_institution: String,
    /// `qualified` (合格). A certificate is issued only to those found fit.
    pub examination_result: String,
    /// Optional occupation category, e.g. `food-service`.
    #[serde(default)]
    pub occupation: Option<String>,
    /// Start of validity (RFC 3339). Defaults to the examination date.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// End of validity (RFC 3339). Defaults to one year after `validFrom`.
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// A validated health certificate (健康证明), ready to become a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCertificate {
    /// 姓名
    pub full_name: String,
    /// 姓名拼音
    pub full_name_pinyin: String,
    /// 性别
    pub sex: Sex,
    /// 出生日期
    pub birth_date: NaiveDate,
    /// Salted digest of the ID number.
    pub id_number_digest: IdNumberDigest,
    /// 体检日期
    pub examination_date: NaiveDate,
    /// 体检机构
    pub examining_institution: String,
    /// 体检结论
    pub examination_result: String,
    /// 从业类别
    pub occupation: Option<String>,
    /// 有效期起
    pub valid_from: DateTime<Utc>,
    /// 有效期至
    pub valid_until: DateTime<Utc>,
}

/// Allowed examination results (code lists keep the QR small and the meaning fixed).
pub const EXAMINATION_RESULTS: &[(&str, &str, &str)] = &[("qualified", "合格", "Qualified")];

/// Collects every field error of a request instead of stopping at the first.
#[derive(Default)]
struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
    /// `validUntil` must come after `validFrom` (when both parsed).
    fn check_validity_order(&mut self, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) {
        if let (Some(from), Some(until)) = (from, until) {
            if until <= from {
                self.0.push(FieldError::new(
                    "validUntil",
                    "before_valid_from",
                    "有效期截止时间必须晚于起始时间",
                    "validUntil must be after validFrom",
                ));
            }
        }
    }
}

pub(crate) fn required_text(field: &'static str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::required(field));
    }
    if v.chars().count() > max_chars || v.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_format",
            &format!("内容过长（最多{max_chars}个字符）或含控制字符"),
            &format!("too long (at most {max_chars} characters) or contains control characters"),
        ));
    }
    Ok(v.to_owned())
}

pub(crate) fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::required(field));
    }
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "invalid_date", "日期格式应为 YYYY-MM-DD", "dates are written YYYY-MM-DD"))
}

pub(crate) fn parse_datetime(field: &'static str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(value.trim()).map(|d| d.with_timezone(&Utc)).map_err(|_| {
        FieldError::new(
            field,
            "invalid_datetime",
            "时间格式应为 RFC 3339，例如 2026-03-15T00:00:00Z",
            "times are written in RFC 3339, e.g. 2026-03-15T00:00:00Z",
        )
    })
}

pub(crate) fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Format a timestamp the way credentials carry it: whole seconds, `Z`.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl HealthCertificate {
    /// Validate a request, collecting every field error (not just the first).
    ///
    /// # Errors
    /// All the [`FieldError`]s found.
    pub fn from_request(req: &HealthCertificateRequest, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let full_name = errors.take(required_text("fullName", &req.full_name, 50));
        let full_name_pinyin = errors.take(required_text("fullNamePinyin", &req.full_name_pinyin, 100).and_then(|p| {
            if p.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '-' || c == '\'' || c == 'ü' || c == 'Ü')
            {
                Ok(p)
            } else {
                Err(FieldError::new(
                    "fullNamePinyin",
                    "invalid_format",
                    "拼音只能包含拉丁字母、空格和连字符",
                    "pinyin may contain only Latin letters, spaces and hyphens",
                ))
            }
        }));
        let sex = errors.take(Sex::parse(&req.sex));
        let birth_date = errors.take(parse_date("birthDate", &req.birth_date).and_then(|d| {
            if d > today {
                Err(FieldError::new(
                    "birthDate",
                    "in_future",
                    "出生日期不能晚于今天",
                    "the birth date cannot be in the future",
                ))
            } else {
                Ok(d)
            }
        }));
        let id_number = errors.take(IdNumber::parse(&req.id_number));
        let examination_date = errors.take(parse_date("examinationDate", &req.examination_date).and_then(|d| {
            if d > today {
                Err(FieldError::new(
                    "examinationDate",
                    "in_future",
                    "体检日期不能晚于今天",
                    "the examination date cannot be in the future",
                ))
            } else {
                Ok(d)
            }
        }));
        let examining_institution = errors.take(required_text("examiningInstitution", &req.examining_institution, 100));
        let examination_result = errors.take(match req.examination_result.trim() {
            r if EXAMINATION_RESULTS.iter().any(|(code, zh, _)| *code == r || *zh == r) => Ok(EXAMINATION_RESULTS
                .iter()
                .find(|(code, zh, _)| *code == r || *zh == r)
                .map_or("qualified", |e| e.0)
                .to_owned()),
            "" => Err(FieldError::required("examinationResult")),
            _ => Err(FieldError::new(
                "examinationResult",
                "not_qualified",
                "只能为体检合格者签发健康证明",
                "a health certificate is issued only when the result is `qualified`",
            )),
        });
        let occupation = match req.occupation.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(o) => errors.take(required_text("occupation", o, 50)),
        };
        let valid_from = match (&req.valid_from, examination_date) {
            (Some(v), _) => errors.take(parse_datetime("validFrom", v)),
            (None, Some(d)) => Some(day_start(d)),
            (None, None) => None,
        };
        let valid_until = match (&req.valid_until, valid_from) {
            (Some(v), _) => errors.take(parse_datetime("validUntil", v)),
            (None, Some(from)) => {
                from.checked_add_months(chrono::Months::new(12)).map(|t| t - chrono::Duration::seconds(1))
            }
            (None, None) => None,
        };
        errors.check_validity_order(valid_from, valid_until);
        match (
            full_name,
            full_name_pinyin,
            sex,
            birth_date,
            id_number,
            examination_date,
            examining_institution,
            examination_result,
            valid_from,
            valid_until,
        ) {
            (
                Some(full_name),
                Some(full_name_pinyin),
                Some(sex),
                Some(birth_date),
                Some(id),
                Some(examination_date),
                Some(examining_institution),
                Some(examination_result),
                Some(valid_from),
                Some(valid_until),
            ) if errors.0.is_empty() => Ok(Self {
                full_name,
                full_name_pinyin,
                sex,
                birth_date,
                id_number_digest: IdNumberDigest::new(&id),
                examination_date,
                examining_institution,
                examination_result,
                occupation,
                valid_from,
                valid_until,
            }),
            _ => Err(errors.0),
        }
    }

    /// The unsigned W3C VC 2.0 credential.
    pub fn to_unsigned_credential(&self, id: &CredentialId, issuer: &str) -> Value {
        let mut subject = json!({
            "fullName": self.full_name,
            "fullNamePinyin": self.full_name_pinyin,
            "sex": self.sex.code(),
            "birthDate": self.birth_date.format("%Y-%m-%d").to_string(),
            "idNumberDigest": self.id_number_digest.digest,
            "idNumberSalt": self.id_number_digest.salt,
            "examinationDate": self.examination_date.format("%Y-%m-%d").to_string(),
            "examiningInstitution": self.examining_institution,
            "examinationResult": self.examination_result,
        });
        if let (Some(o), Some(map)) = (&self.occupation, subject.as_object_mut()) {
            map.insert("occupation".into(), Value::String(o.clone()));
        }
        json!({
            "@context": [CREDENTIALS_V2, ECERT_V1],
            "id": id.as_str(),
            "type": ["VerifiableCredential", HEALTH_CERTIFICATE_TYPE],
            "issuer": issuer,
            "validFrom": format_timestamp(self.valid_from),
            "validUntil": format_timestamp(self.valid_until),
            "credentialSubject": subject,
        })
    }
}

/// What a licensing office's system sends to issue a food business licence.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FoodBusinessLicenceRequest {
    /// 许可证编号, e.g. `JY14401030012345`.
    pub licence_number: String,
    /// 经营者名称
    pub licensee: String,
    /// 统一社会信用代码
    pub unified_social_credit_code: String,
    /// 法定代表人（负责人）
    pub legal_representative: String,
    /// 经营场所
    pub business_address: String,
    /// 经营项目
    pub business_scope: Vec<String>,
    /// RFC 3339
    pub valid_from: String,
    /// RFC 3339
    pub valid_until: String,
}

/// A validated food business licence (食品经营许可证).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoodBusinessLicence {
    /// 许可证编号
    pub licence_number: String,
    /// 经营者名称
    pub licensee: String,
    /// 统一社会信用代码
    pub unified_social_credit_code: UnifiedSocialCreditCode,
    /// 法定代表人（负责人）
    pub legal_representative: String,
    /// 经营场所
    pub business_address: String,
    /// 经营项目
    pub business_scope: Vec<String>,
    /// 有效期起
    pub valid_from: DateTime<Utc>,
    /// 有效期至
    pub valid_until: DateTime<Utc>,
}

impl FoodBusinessLicence {
    /// Validate a request, collecting every field error.
    ///
    /// # Errors
    /// All the [`FieldError`]s found.
    pub fn from_request(req: &FoodBusinessLicenceRequest) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let licence_number = errors.take(required_text("licenceNumber", &req.licence_number, 32).and_then(|n| {
            if n.chars().all(|c| c.is_ascii_alphanumeric()) {
                Ok(n)
            } else {
                Err(FieldError::new(
                    "licenceNumber",
                    "invalid_format",
                    "许可证编号只能包含字母和数字",
                    "a licence number has only letters and digits",
                ))
            }
        }));
        let licensee = errors.take(required_text("licensee", &req.licensee, 100));
        let usci = errors.take(UnifiedSocialCreditCode::parse(&req.unified_social_credit_code));
        let legal_representative = errors.take(required_text("legalRepresentative", &req.legal_representative, 50));
        let business_address = errors.take(required_text("businessAddress", &req.business_address, 200));
        let business_scope = if req.business_scope.is_empty() {
            errors.take(Err(FieldError::required("businessScope")))
        } else {
            let items: Vec<_> =
                req.business_scope.iter().filter_map(|s| errors.take(required_text("businessScope", s, 100))).collect();
            (items.len() == req.business_scope.len()).then_some(items)
        };
        let valid_from = errors.take(parse_datetime("validFrom", &req.valid_from));
        let valid_until = errors.take(parse_datetime("validUntil", &req.valid_until));
        errors.check_validity_order(valid_from, valid_until);
        match (
            licence_number,
            licensee,
            usci,
            legal_representative,
            business_address,
            business_scope,
            valid_from,
            valid_until,
        ) {
            (
                Some(licence_number),
                Some(licensee),
                Some(unified_social_credit_code),
                Some(legal_representative),
                Some(business_address),
                Some(business_scope),
                Some(valid_from),
                Some(valid_until),
            ) if errors.0.is_empty() => Ok(Self {
                licence_number,
                licensee,
                unified_social_credit_code,
                legal_representative,
                business_address,
                business_scope,
                valid_from,
                valid_until,
            }),
            _ => Err(errors.0),
        }
    }

    /// The unsigned W3C VC 2.0 credential.
    pub fn to_unsigned_credential(&self, id: &CredentialId, issuer: &str) -> Value {
        json!({
            "@context": [CREDENTIALS_V2, ECERT_V1],
            "id": id.as_str(),
            "type": ["VerifiableCredential", FOOD_BUSINESS_LICENCE_TYPE],
            "issuer": issuer,
            "validFrom": format_timestamp(self.valid_from),
            "validUntil": format_timestamp(self.valid_until),
            "credentialSubject": {
                "licenceNumber": self.licence_number,
                "licensee": self.licensee,
                "unifiedSocialCreditCode": self.unified_social_credit_code.as_str(),
                "legalRepresentative": self.legal_representative,
                "businessAddress": self.business_address,
                "businessScope": self.business_scope,
            },
        })
    }
}

/// The kind of a credential, from its `type`: the type name of an installed
/// credential type definition ([`crate::credential_type`]), else `Generic`.
pub fn credential_kind(vc: &Value) -> &'static str {
    crate::credential_type::installed_for_credential(vc).map_or("Generic", |d| d.type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> HealthCertificateRequest {
        HealthCertificateRequest {
            full_name: "欧阳晓燕".into(),
            full_name_pinyin: "OUYANG Xiaoyan".into(),
            sex: "F".into(),
            birth_date: "1991-07-23".into(),
            id_number: "11010519491231002X".into(),
            examination_date: "2026-03-12".into(),
            examining_institution: "广州市越秀区疾病预防控制中心".into(),
            examination_result: "qualified".into(),
            occupation: Some("food-service".into()),
            valid_from: None,
            valid_until: None,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
    }

    #[test]
    fn id_number_check_character() {
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert_eq!(IdNumber::parse("110105194912310021").unwrap_err().code, "checksum");
        assert_eq!(IdNumber::parse("1101051949123100").unwrap_err().code, "invalid_format");
        assert_eq!(IdNumber::parse("").unwrap_err().code, "required");
        assert!(!format!("{:?}", IdNumber::parse("11010519491231002X").unwrap()).contains("1101"));
    }

    #[test]
    fn usci_check_character() {
        assert!(UnifiedSocialCreditCode::parse("91350100M000100Y43").is_ok());
        assert_eq!(UnifiedSocialCreditCode::parse("91350100M000100Y42").unwrap_err().code, "checksum");
        assert_eq!(UnifiedSocialCreditCode::parse("91350100M000100Y4").unwrap_err().code, "invalid_format");
        assert_eq!(UnifiedSocialCreditCode::parse("91350100I000100Y43").unwrap_err().code, "invalid_format");
    }

    #[test]
    fn id_digest_matches_only_its_number_and_hides_it() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let other = IdNumber::parse("110105194912310021".replace("0021", "0038").as_str());
        let d = IdNumberDigest::new(&id);
        assert!(d.matches(&id));
        if let Ok(other) = other {
            assert!(!d.matches(&other));
        }
        assert!(!d.digest.contains("1101") && !d.salt.contains("1101"));
        // Fresh salt each time: two certificates of one person are unlinkable by digest.
        assert_ne!(IdNumberDigest::new(&id).digest, d.digest);
    }

    #[test]
    fn health_certificate_defaults_to_one_year_from_the_examination() {
        let hc = HealthCertificate::from_request(&request(), today()).unwrap();
        assert_eq!(format_timestamp(hc.valid_from), "2026-03-12T00:00:00Z");
        assert_eq!(format_timestamp(hc.valid_until), "2027-03-11T23:59:59Z");
        let vc = hc.to_unsigned_credential(&CredentialId::generate(), "did:key:zDnae");
        assert_eq!(vc["credentialSubject"]["fullName"], "欧阳晓燕");
        assert!(vc["credentialSubject"].get("idNumber").is_none());
        assert!(!vc.to_string().contains("11010519491231002X"));
        assert_eq!(credential_kind(&vc), HEALTH_CERTIFICATE_TYPE);
    }

    #[test]
    fn health_certificate_reports_every_bad_field() {
        let mut r = request();
        r.full_name = " ".into();
        r.sex = "x".into();
        r.birth_date = "1991/07/23".into();
        r.id_number = "110105194912310021".into();
        r.examination_result = "unqualified".into();
        let errs = HealthCertificate::from_request(&r, today()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("fullName", "required"),
                ("sex", "invalid_value"),
                ("birthDate", "invalid_date"),
                ("idNumber", "checksum"),
                ("examinationResult", "not_qualified")
            ]
        );
    }

    #[test]
    fn credential_id_is_canonical_urn_uuid() {
        let id = CredentialId::generate();
        assert_eq!(CredentialId::parse(id.as_str()), Some(id.clone()));
        assert!(CredentialId::parse("urn:uuid:NOT-A-UUID").is_none());
        assert!(CredentialId::parse(&id.as_str().to_uppercase()).is_none());
    }
}
