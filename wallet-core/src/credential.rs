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
    pub field: String,
    /// Stable machine code (`required`, `invalid_format`, `checksum`, …).
    pub code: String,
    /// What is wrong, for a person.
    pub message: Localized,
}

impl FieldError {
    pub(crate) fn new(field: &str, code: &str, zh: &str, en: &str) -> Self {
        Self { field: field.to_owned(), code: code.to_owned(), message: Localized::new(zh, en) }
    }
    pub(crate) fn required(field: &str) -> Self {
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
    pub fn parse_field(s: &str, field: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let Some((&last, body)) = s.as_bytes().split_last().filter(|(last, body)| {
            body.len() == 17 && body.iter().all(u8::is_ascii_digit) && (last.is_ascii_digit() || **last == b'X')
        }) else {
            return Err(FieldError::new(
                field,
                "invalid_format",
                "身份证号码应为18位（最后一位可为X）",
                "an ID card number has 18 characters (the last may be X)",
            ));
        };
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = body.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        if CHECK.get((sum % 11) as usize) != Some(&last) {
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

/// A department's secret key for ID number digests (v2): 32 random bytes.
///
/// Only the issuer, its staff pages and authorised inspectors hold it (see
/// DESIGN.md, "The ID number"); without it a v2 `idNumberDigest` cannot be
/// brute-forced from the credential's `birthDate` and `sex`. Its text form is
/// `u` + base64url(key); its key id ([`IdNumberKey::key_id`]) is derived from
/// the key, so a key file is the key alone.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumberKey {
    key: [u8; 32],
    kid: [u8; ID_KEY_ID_LEN],
}

impl std::fmt::Debug for IdNumberKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumberKey({}, <redacted>)", self.key_id())
    }
}

const ID_KEY_ID_LEN: usize = 4;
const ID_KEY_ID_DOMAIN: &[u8] = b"ecert/id-number-key-id/v2";

impl IdNumberKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_bytes(rand::random())
    }

    /// The key with these bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let h = Sha256::new().chain_update(ID_KEY_ID_DOMAIN).chain_update(key).finalize();
        let mut kid = [0u8; ID_KEY_ID_LEN];
        kid.iter_mut().zip(h).for_each(|(k, b)| *k = b);
        Self { key, kid }
    }

    /// Parse the text form (`u` + base64url of 32 bytes; surrounding white space ignored).
    ///
    /// # Errors
    /// A message when the text is not a 32-byte key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text
            .trim()
            .strip_prefix('u')
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .ok_or("an ID number key is `u` followed by base64url")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "an ID number key has 32 bytes".to_owned())?;
        Ok(Self::from_bytes(key))
    }

    /// The text form, for a key file.
    pub fn to_text(&self) -> String {
        format!("u{}", URL_SAFE_NO_PAD.encode(self.key))
    }

    /// The key id carried in v2 digests (8 hex digits; not secret).
    pub fn key_id(&self) -> String {
        hex::encode(self.kid)
    }

    #[allow(clippy::expect_used)] // HMAC accepts keys of any length
    fn mac(&self, salt: &[u8], id: &IdNumber) -> [u8; 32] {
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(ID_DIGEST_DOMAIN_V2);
        mac.update(salt);
        mac.update(id.0.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// A salted digest of an ID number, as carried in a credential's subject
/// (`idNumberDigest`, `idNumberSalt`, both multibase base64url, `u…`). An
/// inspector who types the number checks it against the credential; the
/// number itself is never stored.
///
/// - **v2** (issued now): `idNumberDigest = u + base64url(0x02 ‖ kid ‖ HMAC-SHA256(K_dept,
///   "ecert/id-number/v2" ‖ salt ‖ number)[..16])`, `kid` the 4-byte id of the
///   department key ([`IdNumberKey`]). Without `K_dept` the ~1.75 M numbers left
///   by `birthDate` and `sex` cannot be tried.
/// - **v1** (before issue #13): `u + base64url(SHA-256("ecert/id-number/v1" ‖ salt ‖ number))`,
///   32 bytes. Anyone holding such a credential can brute-force the number
///   in under a second; v1 digests are no longer issued. Checking one needs no key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdNumberDigest {
    /// `u` + base64url(digest), see above.
    pub digest: String,
    /// `u` + base64url(16 random bytes)
    pub salt: String,
}

const ID_DIGEST_DOMAIN_V1: &[u8] = b"ecert/id-number/v1";
const ID_DIGEST_DOMAIN_V2: &[u8] = b"ecert/id-number/v2";
const ID_DIGEST_V2: u8 = 0x02;
/// The HMAC is truncated to 128 bits (RFC 2104 §5): the QR code has few bytes to spare.
const ID_MAC_LEN: usize = 16;

/// The outcome of comparing a typed ID number with a credential's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdMatch {
    /// The number is the credential's.
    Matches,
    /// It is not.
    Differs,
    /// A v2 digest under a key this checker does not hold: nothing can be said.
    KeyUnavailable,
    /// The digest or salt is not a v1 or v2 digest.
    Malformed,
}

impl IdNumberDigest {
    /// A v2 digest under `key`, with a fresh random salt.
    pub fn new(id: &IdNumber, key: &IdNumberKey) -> Self {
        let salt: [u8; 16] = rand::random();
        Self::with_salt(id, key, &salt)
    }

    fn with_salt(id: &IdNumber, key: &IdNumberKey, salt: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(1 + ID_KEY_ID_LEN + ID_MAC_LEN);
        bytes.push(ID_DIGEST_V2);
        bytes.extend_from_slice(&key.kid);
        bytes.extend_from_slice(&key.mac(salt, id)[..ID_MAC_LEN]);
        Self {
            digest: format!("u{}", URL_SAFE_NO_PAD.encode(bytes)),
            salt: format!("u{}", URL_SAFE_NO_PAD.encode(salt)),
        }
    }

    fn decode(s: &str) -> Option<Vec<u8>> {
        s.strip_prefix('u').and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
    }

    /// 1 for a legacy SHA-256 digest, 2 for a keyed one, `None` for neither.
    pub fn version(&self) -> Option<u8> {
        match Self::decode(&self.digest)?.as_slice() {
            d if d.len() == 32 => Some(1),
            d if d.len() == 1 + ID_KEY_ID_LEN + ID_MAC_LEN && d.first() == Some(&ID_DIGEST_V2) => Some(2),
            _ => None,
        }
    }

    /// The key id of a v2 digest.
    pub fn key_id(&self) -> Option<String> {
        let d = Self::decode(&self.digest)?;
        if self.version() != Some(2) {
            return None;
        }
        d.get(1..=ID_KEY_ID_LEN).map(hex::encode)
    }

    /// Compare `id` with this digest using the department keys `keys` (any
    /// order; the one whose key id the digest names is used). Constant-time on
    /// the digest bytes.
    pub fn check(&self, id: &IdNumber, keys: &[IdNumberKey]) -> IdMatch {
        let (Some(d), Some(salt)) = (Self::decode(&self.digest), Self::decode(&self.salt)) else {
            return IdMatch::Malformed;
        };
        let same =
            |a: &[u8], b: &[u8]| a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        match self.version() {
            Some(1) => {
                let v1 = Sha256::new()
                    .chain_update(ID_DIGEST_DOMAIN_V1)
                    .chain_update(&salt)
                    .chain_update(id.0.as_bytes())
                    .finalize();
                if same(&v1, &d) {
                    IdMatch::Matches
                } else {
                    IdMatch::Differs
                }
            }
            Some(2) => {
                // Every held key with this id (ids are 32 bits: a collision is unlikely, not impossible).
                let (Some(kid), Some(mac)) = (d.get(1..=ID_KEY_ID_LEN), d.get(1 + ID_KEY_ID_LEN..)) else {
                    return IdMatch::Malformed;
                };
                let mut named = keys.iter().filter(|k| k.kid.as_slice() == kid).peekable();
                if named.peek().is_none() {
                    return IdMatch::KeyUnavailable;
                }
                if named.any(|k| k.mac(&salt, id).get(..ID_MAC_LEN).is_some_and(|m| same(m, mac))) {
                    IdMatch::Matches
                } else {
                    IdMatch::Differs
                }
            }
            _ => IdMatch::Malformed,
        }
    }

    /// The digest in `credentialSubject`, when it carries one.
    pub fn of_credential(vc: &Value) -> Option<Self> {
        let s = &vc["credentialSubject"];
        Some(Self { digest: s["idNumberDigest"].as_str()?.to_owned(), salt: s["idNumberSalt"].as_str()?.to_owned() })
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
    pub fn parse_field(s: &str, field: &str) -> Result<Self, FieldError> {
        const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const WEIGHTS: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
        let s = s.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::required(field));
        }
        let values: Option<Vec<usize>> = s.bytes().map(|c| ALPHABET.iter().position(|a| *a == c)).collect();
        let Some((&last, body)) =
            values.as_deref().and_then(<[usize]>::split_last).filter(|(_, body)| body.len() == 17)
        else {
            return Err(FieldError::new(
                field,
                "invalid_format",
                "统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）",
                "a unified social credit code has 18 digits or capital letters (no I, O, Z, S, V)",
            ));
        };
        let sum: usize = body.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if last != check {
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
    pub fn parse_field(s: &str, field: &str) -> Result<Self, FieldError> {
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

pub(crate) fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::required(field));
    }
    if v.chars().count() > max_chars || crate::display_text::has_hidden_or_control(v) {
        return Err(FieldError::new(
            field,
            "invalid_format",
            &format!("内容过长（最多{max_chars}个字符）或含控制字符、不可见字符（如方向控制符、零宽字符）"),
            &format!(
                "too long (at most {max_chars} characters) or contains control or invisible characters \
                 (direction overrides, zero-width characters)"
            ),
        ));
    }
    Ok(v.to_owned())
}

pub(crate) fn parse_date(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::required(field));
    }
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "invalid_date", "日期格式应为 YYYY-MM-DD", "dates are written YYYY-MM-DD"))
}

pub(crate) fn parse_datetime(field: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
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
        let other = IdNumber::parse("110105194912310038").unwrap();
        let key = IdNumberKey::generate();
        let d = IdNumberDigest::new(&id, &key);
        assert_eq!(d.version(), Some(2));
        assert_eq!(d.key_id(), Some(key.key_id()));
        assert_eq!(d.check(&id, std::slice::from_ref(&key)), IdMatch::Matches);
        assert_eq!(d.check(&other, std::slice::from_ref(&key)), IdMatch::Differs);
        // Without the department key (or with another one) nothing can be said.
        assert_eq!(d.check(&id, &[]), IdMatch::KeyUnavailable);
        assert_eq!(d.check(&id, &[IdNumberKey::generate()]), IdMatch::KeyUnavailable);
        assert!(!d.digest.contains("1101") && !d.salt.contains("1101"));
        // Fresh salt each time: two certificates of one person are unlinkable by digest.
        assert_ne!(IdNumberDigest::new(&id, &key).digest, d.digest);
        assert!(!format!("{key:?}").contains(&key.to_text()[1..]));
        assert_eq!(IdNumberKey::parse(&key.to_text()).unwrap(), key);
        assert!(IdNumberKey::parse("uAAAA").is_err() && IdNumberKey::parse("not a key").is_err());
    }

    #[test]
    fn legacy_v1_digest_still_checks_and_malformed_ones_do_not() {
        // The fixtures' digest (issued before issue #13) is a v1 digest of this number.
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let salt = [7u8; 16];
        let v1 =
            Sha256::new().chain_update(ID_DIGEST_DOMAIN_V1).chain_update(salt).chain_update(id.0.as_bytes()).finalize();
        let d = IdNumberDigest {
            digest: format!("u{}", URL_SAFE_NO_PAD.encode(v1)),
            salt: format!("u{}", URL_SAFE_NO_PAD.encode(salt)),
        };
        assert_eq!(d.version(), Some(1));
        assert_eq!(d.check(&id, &[]), IdMatch::Matches);
        assert_eq!(d.check(&IdNumber::parse("110105194912310038").unwrap(), &[]), IdMatch::Differs);
        for bad in ["uAAAA", "not-multibase", "u", ""] {
            let d = IdNumberDigest { digest: bad.into(), salt: d.salt.clone() };
            assert_eq!(d.check(&id, &[]), IdMatch::Malformed, "{bad}");
        }
        let bad_salt = IdNumberDigest { digest: d.digest.clone(), salt: "zz".into() };
        assert_eq!(bad_salt.check(&id, &[]), IdMatch::Malformed);
    }

    #[test]
    fn credential_id_is_canonical_urn_uuid() {
        let id = CredentialId::generate();
        assert_eq!(CredentialId::parse(id.as_str()), Some(id.clone()));
        assert!(CredentialId::parse("urn:uuid:NOT-A-UUID").is_none());
        assert!(CredentialId::parse(&id.as_str().to_uppercase()).is_none());
    }
}
