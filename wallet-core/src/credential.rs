//! The credential model's building blocks: identifiers, and the field rules
//! (ID card check digit, salted ID digest, credit-code checksum, sex, dates)
//! that credential type definitions ([`crate::credential_type`]) use. The
//! credential types themselves are data (`credential-types/*.json`).
//!
//! Every rule about a field (formats, check digits, what is hashed and how)
//! lives here, once; the services only call it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::localized::Localized;

/// `type` of a food-service worker health certificate (健康证明), a shipped definition.
pub const HEALTH_CERTIFICATE_TYPE: &str = "HealthCertificate";
/// `type` of a food business licence (食品经营许可证), a shipped definition.
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

/// The kind of a credential, from its `type`: the type name of an installed
/// credential type definition ([`crate::credential_type`]), else `Generic`.
pub fn credential_kind(vc: &Value) -> &'static str {
    crate::credential_type::installed_for_credential(vc).map_or("Generic", |d| d.type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn credential_id_is_canonical_urn_uuid() {
        let id = CredentialId::generate();
        assert_eq!(CredentialId::parse(id.as_str()), Some(id.clone()));
        assert!(CredentialId::parse("urn:uuid:NOT-A-UUID").is_none());
        assert!(CredentialId::parse(&id.as_str().to_uppercase()).is_none());
    }
}
