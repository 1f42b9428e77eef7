//! Issuing from a definition: a request (a JSON object of plain fields) is
//! checked field by field (every error collected), then becomes the unsigned
//! credential; and the reverse, a credential's fields for display.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use super::definition::{Definition, Field, FieldType};
use crate::contexts::CREDENTIALS_V2;
use crate::credential::{
    day_start, format_timestamp, parse_date, parse_datetime, required_text, CredentialId, FieldError, IdNumber,
    IdNumberDigest, IdNumberKey, Sex, UnifiedSocialCreditCode,
};
use crate::localized::Localized;

/// Why a request cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a JSON object of this type's fields (unknown field, wrong JSON type): HTTP 400.
    #[error("{0}")]
    Malformed(String),
    /// Fields that break their rules: HTTP 422.
    #[error("{} field errors", .0.len())]
    Fields(Vec<FieldError>),
}

/// The request key carrying the holder's device public key (any type may be bound).
pub const HOLDER_KEY: &str = "holderKey";

/// A checked request, ready to become a credential.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The `credentialSubject`, in definition order.
    pub subject: Map<String, Value>,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
}

/// A field of a credential, for a person to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayField {
    /// The field name.
    pub name: String,
    /// Its label.
    pub label: Localized,
    /// The value (enum and sex codes turned into their labels; lists joined with `、` / `; `).
    pub value: Localized,
    /// Printed on the card.
    pub print: bool,
    /// Shown to the inspector.
    pub qr: bool,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The properties of a credential of a defined type before the issuer adds
/// its own (status entries, 证照标识, proof): what
/// [`Definition::to_unsigned_credential`] writes.
const CREDENTIAL_PROPERTIES: [&str; 7] =
    ["@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject"];

/// The field error code for an ID number given to an issuer without an ID number key.
pub const ID_NUMBER_KEY_MISSING: &str = "id_number_key_missing";

/// What one request field becomes: its `credentialSubject` entries, and its date (for validity defaults).
struct CheckedField {
    entries: Vec<(String, Value)>,
    date: Option<NaiveDate>,
}

fn check_field(
    f: &Field,
    value: &Value,
    today: NaiveDate,
    id_key: Option<&IdNumberKey>,
) -> Result<CheckedField, FieldError> {
    let name = f.name.as_str();
    let as_text = || text_of(value).unwrap_or_default();
    let one = |v: Value| Ok(CheckedField { entries: vec![(name.to_owned(), v)], date: None });
    match f.field_type {
        FieldType::Text => {
            let t = required_text(name, &as_text(), f.max_length)?;
            if f.alphanumeric && !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(FieldError::new(
                    name,
                    "invalid_format",
                    "只能包含字母和数字",
                    "only letters and digits are allowed",
                ));
            }
            one(Value::String(t))
        }
        FieldType::Pinyin => {
            let p = required_text(name, &as_text(), f.max_length)?;
            if p.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '-' || c == '\'' || c == 'ü' || c == 'Ü')
            {
                one(Value::String(p))
            } else {
                Err(FieldError::new(
                    name,
                    "invalid_format",
                    "拼音只能包含拉丁字母、空格和连字符",
                    "pinyin may contain only Latin letters, spaces and hyphens",
                ))
            }
        }
        FieldType::Date => {
            let d = parse_date(name, &as_text())?;
            if f.not_in_future && d > today {
                return Err(FieldError::new(
                    name,
                    "in_future",
                    &format!("{}不能晚于今天", f.label.zh),
                    &format!("the {} cannot be in the future", f.label.en.to_lowercase()),
                ));
            }
            Ok(CheckedField {
                entries: vec![(name.to_owned(), Value::String(d.format("%Y-%m-%d").to_string()))],
                date: Some(d),
            })
        }
        FieldType::Sex => one(Value::String(Sex::parse_field(&as_text(), name)?.code().to_owned())),
        FieldType::Enum => {
            let t = as_text();
            let t = t.trim();
            if t.is_empty() {
                return Err(FieldError::required(name));
            }
            match f.values.iter().find(|v| v.code == t || v.zh == t) {
                Some(v) => one(Value::String(v.code.clone())),
                None => Err(match &f.other_value_error {
                    Some(e) => FieldError::new(name, &e.code, &e.zh, &e.en),
                    None => {
                        let codes: Vec<&str> = f.values.iter().map(|v| v.code.as_str()).collect();
                        let zh: Vec<&str> = f.values.iter().map(|v| v.zh.as_str()).collect();
                        FieldError::new(
                            name,
                            "invalid_value",
                            &format!("应为以下之一：{}", zh.join("、")),
                            &format!("must be one of: {}", codes.join(", ")),
                        )
                    }
                }),
            }
        }
        FieldType::Integer => {
            let n = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) if s.trim().is_empty() => return Err(FieldError::required(name)),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if (f.min..=f.max).contains(&n) => one(json!(n)),
                _ => Err(FieldError::new(
                    name,
                    "out_of_range",
                    &format!("应为 {} 至 {} 之间的整数", f.min, f.max),
                    &format!("must be a whole number from {} to {}", f.min, f.max),
                )),
            }
        }
        FieldType::CnResidentId => {
            let id = IdNumber::parse_field(&as_text(), name)?;
            // Never the keyless (v1) digest: it can be brute-forced from birthDate and sex.
            let Some(key) = id_key else {
                return Err(FieldError::new(
                    name,
                    ID_NUMBER_KEY_MISSING,
                    "签发机构未配置身份证号码摘要密钥，不能签发含身份证号码的凭证",
                    "the issuer has no ID number key configured: it cannot issue a credential with an ID number",
                ));
            };
            let d = IdNumberDigest::new(&id, key);
            Ok(CheckedField {
                entries: vec![
                    ("idNumberDigest".to_owned(), Value::String(d.digest)),
                    ("idNumberSalt".to_owned(), Value::String(d.salt)),
                ],
                date: None,
            })
        }
        FieldType::UnifiedSocialCreditCode => {
            one(Value::String(UnifiedSocialCreditCode::parse_field(&as_text(), name)?.as_str().to_owned()))
        }
        FieldType::TextList => {
            let items = value.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return Err(FieldError::required(name));
            }
            let mut out = Vec::new();
            for item in &items {
                out.push(Value::String(required_text(name, &text_of(item).unwrap_or_default(), f.max_length)?));
            }
            one(Value::Array(out))
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

impl Definition {
    /// Check a request body: a JSON object with this type's field names (plus
    /// `validFrom` / `validUntil`, RFC 3339, and `holderKey`: the holder's device
    /// public key, a P-256 JWK, to bind the credential to), every error collected.
    ///
    /// # Errors
    /// [`RequestError::Malformed`] for an unknown field or a value of the wrong
    /// JSON type; [`RequestError::Fields`] with every field error.
    pub fn check_request(&self, body: &Value, today: NaiveDate) -> Result<Validated, RequestError> {
        self.check_request_keyed(body, today, None)
    }

    /// Does this type carry an ID number digest (a `cnResidentId` field)?
    pub fn carries_id_number(&self) -> bool {
        self.fields.iter().any(|f| f.field_type == FieldType::CnResidentId)
    }

    /// [`Definition::check_request`] with the department's ID number key, which a
    /// `cnResidentId` field needs (its digest is an HMAC under it). Without a key
    /// such a field gets the error `id_number_key_missing`.
    ///
    /// # Errors
    /// As [`Definition::check_request`].
    pub fn check_request_keyed(
        &self,
        body: &Value,
        today: NaiveDate,
        id_key: Option<&IdNumberKey>,
    ) -> Result<Validated, RequestError> {
        let Some(obj) = body.as_object() else {
            return Err(RequestError::Malformed("the body must be a JSON object".into()));
        };
        for (k, v) in obj {
            if k == HOLDER_KEY {
                continue;
            }
            let expected_list = match self.field(k) {
                Some(f) => f.field_type == FieldType::TextList,
                None if k == "validFrom" || k == "validUntil" => false,
                None => return Err(RequestError::Malformed(format!("unknown field `{k}`"))),
            };
            let integer = self.field(k).is_some_and(|f| f.field_type == FieldType::Integer);
            let ok = match v {
                Value::Null => true,
                Value::String(_) => !expected_list,
                Value::Array(a) => expected_list && a.iter().all(Value::is_string),
                Value::Number(_) => integer,
                _ => false,
            };
            if !ok {
                let want = if expected_list { "an array of strings" } else { "a string" };
                return Err(RequestError::Malformed(format!("field `{k}` must be {want}")));
            }
        }
        let mut errors: Vec<FieldError> = Vec::new();
        let mut subject = Map::new();
        // Holder binding: `credentialSubject.id` = the device key's `did:key`, first
        // (the compact QR form's records need the term table's key order).
        if let Some(jwk) = obj.get(HOLDER_KEY).filter(|j| !j.is_null()) {
            match crate::holder::did_from_jwk(jwk) {
                Ok(did) => {
                    subject.insert("id".into(), Value::String(did));
                }
                Err(e) => errors.push(FieldError::new(
                    HOLDER_KEY,
                    "invalid_holder_key",
                    &format!("持有人设备公钥应为 P-256 公钥 JWK：{e}"),
                    &format!("the holder's device key must be a P-256 public JWK: {e}"),
                )),
            }
        }
        let mut dates: Vec<(&str, NaiveDate)> = Vec::new();
        for f in &self.fields {
            let value = obj.get(&f.name).cloned().unwrap_or(Value::Null);
            if is_empty(&value) {
                if f.required {
                    errors.push(FieldError::required(&f.name));
                }
                continue;
            }
            match check_field(f, &value, today, id_key) {
                Ok(CheckedField { entries, date }) => {
                    subject.extend(entries);
                    if let Some(d) = date {
                        dates.push((f.name.as_str(), d));
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let given = |k: &str| obj.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let valid_from = match (given("validFrom"), self.validity.from_default.as_deref()) {
            (Some(v), _) => parse_datetime("validFrom", v).map_err(|e| errors.push(e)).ok(),
            (None, Some("today")) => Some(day_start(today)),
            (None, Some(field)) => dates.iter().find(|(n, _)| *n == field).map(|(_, d)| day_start(*d)),
            (None, None) => {
                errors.push(FieldError::required("validFrom"));
                None
            }
        };
        let valid_until = match (given("validUntil"), self.validity.months) {
            (Some(v), _) => parse_datetime("validUntil", v).map_err(|e| errors.push(e)).ok(),
            (None, Some(months)) => valid_from
                .and_then(|from| from.checked_add_months(chrono::Months::new(months)))
                .map(|t| t - chrono::Duration::seconds(1)),
            (None, None) => {
                errors.push(FieldError::required("validUntil"));
                None
            }
        };
        if let (Some(from), Some(until)) = (valid_from, valid_until) {
            if until <= from {
                errors.push(FieldError::new(
                    "validUntil",
                    "before_valid_from",
                    "有效期截止时间必须晚于起始时间",
                    "validUntil must be after validFrom",
                ));
            }
        }
        if let (Some(from), Some(until), Some(months)) = (valid_from, valid_until, self.validity.months) {
            if self.latest_valid_until(from).is_some_and(|latest| until > latest) {
                errors.push(FieldError::new(
                    "validUntil",
                    "validity_too_long",
                    &format!("{}的有效期最长为 {months} 个月", self.name.zh),
                    &format!("a {} is valid for at most {months} months", self.name.en.to_lowercase()),
                ));
            }
        }
        match (valid_from, valid_until) {
            (Some(valid_from), Some(valid_until)) if errors.is_empty() => {
                Ok(Validated { subject, valid_from, valid_until })
            }
            _ => Err(RequestError::Fields(errors)),
        }
    }

    /// A credential of this type sent whole (the VC-API's `/credentials/issue`)
    /// as the request it stands for: its subject's fields, `validFrom` and
    /// `validUntil`, and the holder's device key (a P-256 `did:key` subject id,
    /// as [`HOLDER_KEY`]). The issuer checks that request with
    /// [`Definition::check_request_keyed`] and builds the credential with
    /// [`Definition::to_unsigned_credential`], so a credential of a defined type
    /// passes the same field rules whichever API it came through, and carries
    /// nothing its definition does not describe. The ID number comes plain
    /// (only the issuer holds the key of its digest); a digest brought by the
    /// caller is refused, since nobody could check it stands for a real number.
    ///
    /// # Errors
    /// Every shape problem, as field errors naming the property: not an object;
    /// a property other than `@context`, `id`, `type`, `issuer`, `validFrom`,
    /// `validUntil` and `credentialSubject` (`unknown_property`); another
    /// context list (`context_not_of_type`) or type list (`type_not_of_definition`);
    /// an id other than a `urn:uuid` (`invalid_credential_id`); an issuer
    /// other than a DID string (`invalid_issuer`); a subject that is not one
    /// object (`invalid_subject`), with a key that is not one of this type's
    /// fields (`unknown_property`) or an id that is not a P-256 `did:key`
    /// (`invalid_holder_key`).
    pub fn request_of_credential(&self, credential: &Value) -> Result<Value, Vec<FieldError>> {
        let Some(properties) = credential.as_object() else {
            return Err(vec![FieldError::new(
                "credential",
                "invalid_subject",
                "凭证应为 JSON 对象",
                "the credential must be a JSON object",
            )]);
        };
        let mut errors = Vec::new();
        let unknown = |name: &str| {
            FieldError::new(
                name,
                "unknown_property",
                &format!("“{}”不含此属性", self.name.zh),
                &format!("a “{}” has no such property", self.name.en),
            )
        };
        for key in properties.keys() {
            if !CREDENTIAL_PROPERTIES.contains(&key.as_str()) {
                errors.push(unknown(key));
            }
        }
        let contexts = [CREDENTIALS_V2, self.context_url.as_str()];
        let context_ok = properties.get("@context").and_then(Value::as_array).is_some_and(|given| {
            given.len() == contexts.len() && given.iter().zip(contexts).all(|(g, c)| g.as_str() == Some(c))
        });
        if !context_ok {
            errors.push(FieldError::new(
                "@context",
                "context_not_of_type",
                &format!("上下文应为 [\"{}\", \"{}\"]", contexts[0], contexts[1]),
                &format!("the context must be [\"{}\", \"{}\"]", contexts[0], contexts[1]),
            ));
        }
        let mut types: Vec<&str> = match properties.get("type") {
            Some(Value::Array(all)) => all.iter().map(|t| t.as_str().unwrap_or("")).collect(),
            Some(Value::String(one)) => vec![one.as_str()],
            _ => Vec::new(),
        };
        types.sort_unstable();
        let mut expected = ["VerifiableCredential", self.type_name.as_str()];
        expected.sort_unstable();
        if types != expected {
            errors.push(FieldError::new(
                "type",
                "type_not_of_definition",
                &format!("类型应为 VerifiableCredential 与 {}", self.type_name),
                &format!("the type must be VerifiableCredential and {}", self.type_name),
            ));
        }
        if properties.get("id").is_some_and(|id| id.as_str().and_then(CredentialId::parse).is_none()) {
            errors.push(FieldError::new(
                "id",
                "invalid_credential_id",
                "凭证标识应为 urn:uuid:（小写）",
                "the credential id must be a lower-case urn:uuid:",
            ));
        }
        let issuer_ok = match properties.get("issuer") {
            None | Some(Value::String(_)) => true,
            Some(Value::Object(named)) => named.len() == 1 && named.get("id").is_some_and(Value::is_string),
            Some(_) => false,
        };
        if !issuer_ok {
            errors.push(FieldError::new(
                "issuer",
                "invalid_issuer",
                "签发者应为签发机构的 DID",
                "the issuer must be the issuing organisation's DID",
            ));
        }
        let mut request = Map::new();
        for validity in ["validFrom", "validUntil"] {
            if let Some(v) = properties.get(validity) {
                request.insert(validity.to_owned(), v.clone());
            }
        }
        match properties.get("credentialSubject") {
            Some(Value::Object(subject)) => {
                for (key, value) in subject {
                    if key == "id" {
                        match value.as_str().map(crate::keys::p256_key_from_did) {
                            Some(Ok(device_key)) => {
                                request.insert(HOLDER_KEY.to_owned(), crate::holder::jwk_of(&device_key));
                            }
                            _ => errors.push(FieldError::new(
                                "credentialSubject.id",
                                "invalid_holder_key",
                                "持有人标识应为持有人设备公钥的 P-256 did:key",
                                "the subject id must be the holder's device key, a P-256 did:key",
                            )),
                        }
                    } else if self.field(key).is_some() {
                        request.insert(key.clone(), value.clone());
                    } else {
                        errors.push(unknown(&format!("credentialSubject.{key}")));
                    }
                }
            }
            _ => errors.push(FieldError::new(
                "credentialSubject",
                "invalid_subject",
                "凭证主体应为一个 JSON 对象",
                "the credential subject must be one JSON object",
            )),
        }
        if errors.is_empty() {
            Ok(Value::Object(request))
        } else {
            Err(errors)
        }
    }

    /// The unsigned W3C VC 2.0 credential.
    pub fn to_unsigned_credential(&self, checked: &Validated, id: &CredentialId, issuer: &str) -> Value {
        json!({
            "@context": [CREDENTIALS_V2, self.context_url],
            "id": id.as_str(),
            "type": ["VerifiableCredential", self.type_name],
            "issuer": issuer,
            "validFrom": format_timestamp(checked.valid_from),
            "validUntil": format_timestamp(checked.valid_until),
            "credentialSubject": checked.subject,
        })
    }

    /// A credential's fields for a person (absent fields and ID-number digests left out).
    pub fn display_fields(&self, vc: &Value) -> Vec<DisplayField> {
        let subject = &vc["credentialSubject"];
        self.fields
            .iter()
            .filter(|f| f.field_type != FieldType::CnResidentId)
            .filter_map(|f| {
                let v = subject.get(&f.name)?;
                let value = match (f.field_type, v) {
                    (FieldType::Sex, Value::String(s)) => match Sex::parse(s) {
                        Ok(sex) => sex.label(),
                        Err(_) => Localized::new(s.clone(), s.clone()),
                    },
                    (FieldType::Enum, Value::String(s)) => match f.values.iter().find(|e| e.code == *s) {
                        Some(e) => Localized::new(e.zh.clone(), e.en.clone()),
                        None => Localized::new(s.clone(), s.clone()),
                    },
                    (_, Value::Array(items)) => {
                        let items: Vec<String> =
                            items.iter().map(|i| i.as_str().unwrap_or_default().to_owned()).collect();
                        Localized::new(items.join("、"), items.join("; "))
                    }
                    (_, Value::String(s)) => Localized::new(s.clone(), s.clone()),
                    (_, other) => Localized::new(other.to_string(), other.to_string()),
                };
                Some(DisplayField { name: f.name.clone(), label: f.label.clone(), value, print: f.print, qr: f.qr })
            })
            .collect()
    }

    /// Does the definition carry an ID-number digest (so an inspector can check a typed number)?
    pub fn has_resident_id(&self) -> bool {
        self.fields.iter().any(|f| f.field_type == FieldType::CnResidentId)
    }
}
