//! The W3C Verifiable Credentials Data Model 2.0 rules (its MUSTs), checked on
//! plain JSON before anything is signed or verified.
//!
//! * The issuer runs [`check_credential`] on the unsigned credential and answers
//!   HTTP 400/422 when it fails.
//! * The verifier runs [`check_credential`] / [`check_presentation`] before any
//!   proof is looked at and answers 4xx when it fails.
//!
//! Every violation is a [`DataModelError`] with a stable snake_case `code`, the
//! JSON Pointer of the offending member and a message in English and Chinese.
//! Only the first violation found is reported.
//!
//! The checks run cheapest first: shape rules on the JSON (`@context`, `type`,
//! `id`, `issuer`, `credentialSubject`, dates, typed objects, …), then one
//! JSON-LD expansion with [`BundledLoader`] (no network: a context that is not
//! bundled is `unknown_context`) which catches what only JSON-LD can see:
//! redefinition of `@protected` terms, types that do not map to an absolute
//! IRI and properties that no context defines.
//!
//! Proofs are not checked here beyond their shape (each needs a `type`); they are
//! also left out of the JSON-LD expansion, as Data Integrity does when it
//! canonicalises the document. Embedded verifiable credentials in a
//! presentation are checked on their own, with their own `@context`.
//!
//! # Codes
//!
//! | code | rule |
//! |---|---|
//! | `not_an_object` | the document (or an embedded credential) is not a JSON object |
//! | `missing_context` | no `@context` |
//! | `context_not_array` | `@context` is not an array (a bare string is not an ordered set) |
//! | `missing_base_context` | `https://www.w3.org/ns/credentials/v2` is not in `@context` |
//! | `context_order` | the base context is present but not first |
//! | `invalid_context` | an entry is neither a URL nor an object, or JSON-LD rejects a context |
//! | `unknown_context` | a context URL that is not bundled (nothing is fetched) |
//! | `missing_type` | no `type`, or an empty one |
//! | `invalid_type` | `type` is not a string or an array of non-empty strings |
//! | `missing_required_type` | `type` lacks `VerifiableCredential` / `VerifiablePresentation` |
//! | `type_not_mapped` | a type does not expand to an absolute IRI |
//! | `term_not_mapped` | a property that no context defines (it would be dropped from the signed data) |
//! | `redefined_protected_term` | a context redefines a `@protected` term |
//! | `jsonld_error` | any other JSON-LD expansion error |
//! | `invalid_id` | `id` is present but not a single URL |
//! | `missing_issuer` / `invalid_issuer` | `issuer` absent / not a URL or an object whose `id` is a URL |
//! | `missing_subject` / `invalid_subject` / `empty_subject` | `credentialSubject` absent / not object(s) / an object without claims |
//! | `subject_invalid_id` | `credentialSubject.id` is not a single URL |
//! | `invalid_date` | `validFrom` / `validUntil` is not an XML Schema `dateTimeStamp` (`issuanceDate` / `expirationDate` not a `dateTime` for VC 1.1) |
//! | `valid_until_before_valid_from` | `validUntil` earlier than `validFrom` |
//! | `missing_issuance_date` | VC 1.1 only: no `issuanceDate` |
//! | `invalid_name` / `invalid_description` | not a string or language value object(s) |
//! | `{status,schema,evidence,refresh,terms_of_use,proof}_invalid` | `credentialStatus`, `credentialSchema`, `evidence`, `refreshService`, `termsOfUse`, `proof` is not one or more objects |
//! | `{…}_missing_type` / `{…}_invalid_type` | such an object has no `type` / a malformed one |
//! | `{…}_invalid_id` | such an object has an `id` that is not a single URL |
//! | `schema_missing_id` | a `credentialSchema` without `id` |
//! | `related_resource_invalid` / `related_resource_missing_id` / `related_resource_invalid_id` / `related_resource_duplicate_id` / `related_resource_missing_digest` | `relatedResource` rules |
//! | `invalid_holder` | `holder` is not a URL or an object whose `id` is a URL |
//! | `invalid_verifiable_credential` | a `verifiableCredential` value that is not an object (e.g. a JWT string), or an empty list |
//! | `self_asserted_missing_holder` / `self_asserted_issuer_mismatch` | an embedded credential without its own proof is secured only by the presentation, so it must be self-asserted: the presentation needs a `holder` equal to the credential's `issuer` |
//! | `enveloped_invalid_type` / `enveloped_invalid_id` | an enveloped credential/presentation whose `type` is not `EnvelopedVerifiableCredential` / `EnvelopedVerifiablePresentation`, or whose `id` is not a `data:` URL |
//!
//! # VC 1.1
//!
//! A credential whose first context is `https://www.w3.org/2018/credentials/v1`
//! is checked by the same rules with the 1.1 date properties (`issuanceDate`
//! required, `expirationDate` optional, both `xsd:dateTime`); `validFrom` /
//! `validUntil` are 2.0 terms and are then not looked at. Anything else whose
//! first context is not the v2 URL is rejected.

use std::collections::HashSet;

use serde_json::{Map, Value};
use ssi_json_ld::expansion::{self, Action, Policy};
use ssi_json_ld::{BlankIdBuf, Expand, Id, Iri, IriBuf, Node, Object};

use crate::contexts::{BundledLoader, CREDENTIALS_V1, CREDENTIALS_V2};
use crate::credential_type::TypeRegistry;

/// A violated rule: stable snake_case `code` (e.g. "missing_context",
/// "context_order", "missing_type", "type_not_mapped", "invalid_id",
/// "invalid_issuer", "missing_subject", "empty_subject", "invalid_date",
/// "valid_until_before_valid_from", "status_missing_type", "status_invalid_id",
/// "schema_missing_type", "evidence_missing_type", "refresh_missing_type",
/// "terms_of_use_missing_type", "redefined_protected_term", "invalid_holder",
/// "unknown_context", …; the module docs list them all), the JSON Pointer of
/// the offending member (e.g. "/credentialStatus/0/type"; "" is the whole
/// document), and a human message in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{message_en} ({path})")]
pub struct DataModelError {
    /// Stable machine code (snake_case).
    pub code: &'static str,
    /// JSON Pointer (RFC 6901) of the member that breaks the rule.
    pub path: String,
    /// What is wrong, in English.
    pub message_en: String,
    /// What is wrong, in Chinese.
    pub message_zh: String,
}

impl DataModelError {
    fn new(code: &'static str, path: impl Into<String>, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self { code, path: path.into(), message_en: en.into(), message_zh: zh.into() }
    }
}

type Check = Result<(), DataModelError>;

/// The `type` of an enveloped verifiable credential.
pub const ENVELOPED_VC_TYPE: &str = "EnvelopedVerifiableCredential";
/// The `type` of an enveloped verifiable presentation.
pub const ENVELOPED_VP_TYPE: &str = "EnvelopedVerifiablePresentation";

/// Check a verifiable credential (signed or not) against the VC Data Model 2.0
/// rules: the syntactic rules, then JSON-LD expansion with the bundled contexts.
/// Proofs are only checked for a `type`; no signature is looked at.
///
/// An enveloped credential (`EnvelopedVerifiableCredential`) is not a
/// credential in this sense: use [`check_enveloped_credential`] for it.
///
/// # Errors
/// The first rule found broken, see [`DataModelError`] and the module docs.
pub fn check_credential(vc: &Value) -> Result<(), DataModelError> {
    check_credential_with(&TypeRegistry::default().loader(), vc)
}

/// [`check_credential`] with the contexts `loader` knows (e.g. a
/// [`TypeRegistry::loader`], which adds the generated contexts of its types).
///
/// # Errors
/// As [`check_credential`].
pub fn check_credential_with(loader: &BundledLoader, vc: &Value) -> Result<(), DataModelError> {
    check_credential_syntax_with(loader, vc)?;
    check_credential_expansion_with(loader, vc)
}

/// The first part of [`check_credential_with`]: every rule but the JSON-LD
/// expansion (contexts known, members, types, dates, ids, related resources).
///
/// # Errors
/// As [`check_credential`].
pub fn check_credential_syntax_with(loader: &BundledLoader, vc: &Value) -> Result<(), DataModelError> {
    check_credential_syntax(loader, vc, "")
}

/// The second part of [`check_credential_with`]: the credential without its
/// `proof` expands (keeping invalid IRIs, refusing undefined terms) and
/// every type maps to an absolute IRI. The verification skips it when `ssi`'s
/// stricter expansion of the whole signed credential succeeded (issue #16:
/// one expansion per credential), which implies it; the differential test
/// `single_expansion` holds the two to that on every fixture.
///
/// # Errors
/// As [`check_credential`].
pub fn check_credential_expansion_with(loader: &BundledLoader, vc: &Value) -> Result<(), DataModelError> {
    check_jsonld(loader, vc, "", &["proof"])
}

/// Check a verifiable presentation: its own rules (`@context`, `type` with
/// `VerifiablePresentation`, `id`, `holder`, `proof`, `termsOfUse`), every
/// embedded `verifiableCredential` by the rules of [`check_credential`] (an
/// `EnvelopedVerifiableCredential` by those of [`check_enveloped_credential`]
/// instead), the self-asserted rule for embedded credentials that carry no
/// proof of their own, then the JSON-LD expansion of the presentation.
///
/// # Errors
/// The first rule found broken, see [`DataModelError`] and the module docs.
pub fn check_presentation(vp: &Value) -> Result<(), DataModelError> {
    check_presentation_with(&TypeRegistry::default().loader(), vp)
}

/// [`check_presentation`] with the contexts `loader` knows.
///
/// # Errors
/// As [`check_presentation`].
pub fn check_presentation_with(loader: &BundledLoader, vp: &Value) -> Result<(), DataModelError> {
    let obj = as_object(vp, "")?;
    check_context(loader, obj, "")?;
    check_type(obj, "", "VerifiablePresentation")?;
    check_optional_id(obj, "", "invalid_id", "the presentation", "展示")?;
    let holder = check_holder(obj, "")?;
    check_typed_members(obj, "", &[TERMS_OF_USE, PROOF])?;

    // Syntactic rules of every embedded credential before any JSON-LD work.
    let credentials = embedded_credentials(obj, "")?;
    check_presented_credentials(&credentials)?;
    for (path, vc) in &credentials {
        if is_enveloped(vc, ENVELOPED_VC_TYPE) {
            check_enveloped(loader, vc, path, ENVELOPED_VC_TYPE)?;
        } else if vc.get("type").is_none() {
            return Err(DataModelError::new(
                "missing_type",
                format!("{path}/type"),
                "the embedded credential has no `type` (an enveloped credential needs type EnvelopedVerifiableCredential)",
                "所含凭证缺少 `type`（封装凭证的类型须为 EnvelopedVerifiableCredential）",
            ));
        } else {
            check_credential_syntax(loader, vc, path)?;
        }
    }
    check_self_asserted(holder.as_deref(), &credentials)?;

    check_jsonld(loader, vp, "", &["proof", "verifiableCredential"])?;
    for (path, vc) in &credentials {
        if !is_enveloped(vc, ENVELOPED_VC_TYPE) {
            check_jsonld(loader, vc, path, &["proof"])?;
        }
    }
    Ok(())
}

/// The most credentials one presentation may carry. A citizen shows a
/// certificate and a few licences; each credential costs a full verification,
/// so without a bound one request body of forgeries buys hundreds of them.
pub const MOST_PRESENTED_CREDENTIALS: usize = 32;

/// A presentation carries at most [`MOST_PRESENTED_CREDENTIALS`], and no
/// credential twice (the same `id`, or the same JSON): a relying party counting
/// what it was shown must not be told "two valid invoices" for one.
fn check_presented_credentials(credentials: &[(String, &Value)]) -> Check {
    if credentials.len() > MOST_PRESENTED_CREDENTIALS {
        return Err(DataModelError::new(
            "too_many_credentials",
            "/verifiableCredential",
            format!(
                "the presentation carries {} credentials; at most {MOST_PRESENTED_CREDENTIALS} are verified at once",
                credentials.len()
            ),
            format!("该展示含 {} 份凭证，一次最多核验 {MOST_PRESENTED_CREDENTIALS} 份", credentials.len()),
        ));
    }
    for (index, (path, vc)) in credentials.iter().enumerate() {
        let twice = credentials.iter().take(index).any(|(_, earlier)| {
            presented_id(vc).is_some_and(|id| presented_id(earlier) == Some(id)) || *earlier == *vc
        });
        if twice {
            return Err(DataModelError::new(
                "duplicate_credential",
                path.clone(),
                "the presentation carries this credential twice (the same id, or the same content)",
                "该展示重复包含同一份凭证（标识相同或内容相同）",
            ));
        }
    }
    Ok(())
}

fn presented_id(vc: &Value) -> Option<&str> {
    vc.get("id").and_then(Value::as_str)
}

/// Check an `EnvelopedVerifiableCredential` object: `@context` present and
/// including the base context, `type` exactly `EnvelopedVerifiableCredential`,
/// `id` a `data:` URL. The enveloped credential itself is not decoded here.
///
/// # Errors
/// The first rule found broken.
pub fn check_enveloped_credential(vc: &Value) -> Result<(), DataModelError> {
    check_enveloped_credential_with(&TypeRegistry::default().loader(), vc)
}

/// [`check_enveloped_credential`] with the contexts `loader` knows.
///
/// # Errors
/// The first rule found broken.
pub fn check_enveloped_credential_with(loader: &BundledLoader, vc: &Value) -> Result<(), DataModelError> {
    check_enveloped(loader, vc, "", ENVELOPED_VC_TYPE)
}

/// Check an `EnvelopedVerifiablePresentation` object, like
/// [`check_enveloped_credential`] with type `EnvelopedVerifiablePresentation`.
///
/// # Errors
/// The first rule found broken.
pub fn check_enveloped_presentation(vp: &Value) -> Result<(), DataModelError> {
    check_enveloped_presentation_with(&TypeRegistry::default().loader(), vp)
}

/// [`check_enveloped_presentation`] with the contexts `loader` knows.
///
/// # Errors
/// The first rule found broken.
pub fn check_enveloped_presentation_with(loader: &BundledLoader, vp: &Value) -> Result<(), DataModelError> {
    check_enveloped(loader, vp, "", ENVELOPED_VP_TYPE)
}

// ---------------------------------------------------------------------------
// Credentials

/// Which data model the document's first context names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V1,
}

fn check_credential_syntax(loader: &BundledLoader, vc: &Value, at: &str) -> Check {
    let obj = as_object(vc, at)?;
    let version = check_context(loader, obj, at)?;
    check_type(obj, at, "VerifiableCredential")?;
    check_optional_id(obj, at, "invalid_id", "the credential", "凭证")?;
    check_issuer(obj, at)?;
    check_subject(obj, at)?;
    match version {
        Version::V2 => check_validity_period(obj, at)?,
        Version::V1 => check_v1_dates(obj, at)?,
    }
    check_language_value(obj, at, "name", "invalid_name")?;
    check_language_value(obj, at, "description", "invalid_description")?;
    check_typed_members(
        obj,
        at,
        &[CREDENTIAL_STATUS, CREDENTIAL_SCHEMA, EVIDENCE, REFRESH_SERVICE, TERMS_OF_USE, PROOF],
    )?;
    check_related_resources(obj, at)
}

fn as_object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, DataModelError> {
    v.as_object().ok_or_else(|| {
        DataModelError::new("not_an_object", at, "the document is not a JSON object", "文档不是 JSON 对象")
    })
}

fn check_context(loader: &BundledLoader, obj: &Map<String, Value>, at: &str) -> Result<Version, DataModelError> {
    let path = ptr(at, "@context");
    let items = match obj.get("@context") {
        None | Some(Value::Null) => {
            return Err(DataModelError::new(
                "missing_context",
                path,
                "`@context` is missing",
                "缺少 `@context`",
            ))
        }
        Some(Value::Array(items)) => items,
        Some(Value::String(_)) => {
            return Err(DataModelError::new(
                "context_not_array",
                path,
                format!("`@context` must be an ordered set (a JSON array) whose first item is {CREDENTIALS_V2}, not a single string"),
                format!("`@context` 必须是有序集合（JSON 数组），首项为 {CREDENTIALS_V2}，不能是单个字符串"),
            ))
        }
        Some(_) => {
            return Err(DataModelError::new(
                "invalid_context",
                path,
                "`@context` must be an array of URLs and context objects",
                "`@context` 必须是由 URL 和上下文对象组成的数组",
            ))
        }
    };
    let version = match items.first().and_then(Value::as_str) {
        Some(CREDENTIALS_V2) => Version::V2,
        Some(CREDENTIALS_V1) => Version::V1,
        _ if items.iter().any(|i| i.as_str() == Some(CREDENTIALS_V2)) => {
            return Err(DataModelError::new(
                "context_order",
                format!("{path}/0"),
                format!("the first item of `@context` must be {CREDENTIALS_V2}"),
                format!("`@context` 的第一项必须是 {CREDENTIALS_V2}"),
            ))
        }
        _ => {
            return Err(DataModelError::new(
                "missing_base_context",
                path,
                format!("`@context` must start with the base context {CREDENTIALS_V2}"),
                format!("`@context` 必须以基础上下文 {CREDENTIALS_V2} 开头"),
            ))
        }
    };
    for (i, item) in items.iter().enumerate().skip(1) {
        check_context_entry(loader, item, &format!("{path}/{i}"))?;
    }
    Ok(version)
}

fn check_context_entry(loader: &BundledLoader, item: &Value, path: &str) -> Check {
    match item {
        Value::Object(_) => Ok(()),
        Value::String(url) if !is_url(url) => Err(DataModelError::new(
            "invalid_context",
            path,
            format!("context `{url}` is not a URL"),
            format!("上下文 `{url}` 不是合法 URL"),
        )),
        Value::String(url) if !loader.is_known(url) => Err(DataModelError::new(
            "unknown_context",
            path,
            format!("context `{url}` is not one this service knows (contexts are never fetched)"),
            format!("不支持的上下文 `{url}`（本服务不会联网获取上下文）"),
        )),
        Value::String(_) => Ok(()),
        _ => Err(DataModelError::new(
            "invalid_context",
            path,
            "each `@context` item must be a URL or a context object",
            "`@context` 的每一项必须是 URL 或上下文对象",
        )),
    }
}

/// Checks `type`: one or more non-empty strings, one of them `required`.
fn check_type(obj: &Map<String, Value>, at: &str, required: &str) -> Check {
    let path = ptr(at, "type");
    let types = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(v) => Some(type_strings(v).ok_or_else(|| {
            DataModelError::new(
                "invalid_type",
                path.clone(),
                "`type` must be a string or an array of non-empty strings",
                "`type` 必须是字符串或非空字符串数组",
            )
        })?),
    };
    let Some(types) = types else {
        return Err(DataModelError::new(
            "missing_type",
            path,
            format!("`type` is missing; it must include {required}"),
            format!("缺少 `type`，其中必须包含 {required}"),
        ));
    };
    if !types.contains(&required) {
        return Err(DataModelError::new(
            "missing_required_type",
            path,
            format!("`type` must include {required}"),
            format!("`type` 必须包含 {required}"),
        ));
    }
    Ok(())
}

/// The strings of a `type` value, if it is a non-empty string or a non-empty
/// array of non-empty strings.
fn type_strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) if !s.is_empty() => Some(vec![s.as_str()]),
        Value::Array(a) if !a.is_empty() => a.iter().map(|t| t.as_str().filter(|s| !s.is_empty())).collect(),
        _ => None,
    }
}

fn check_optional_id(obj: &Map<String, Value>, at: &str, code: &'static str, what_en: &str, what_zh: &str) -> Check {
    match obj.get("id") {
        None => Ok(()),
        Some(Value::String(s)) if is_url(s) => Ok(()),
        Some(_) => Err(DataModelError::new(
            code,
            ptr(at, "id"),
            format!("the `id` of {what_en} must be a single URL"),
            format!("{what_zh}的 `id` 必须是单个 URL"),
        )),
    }
}

fn check_issuer(obj: &Map<String, Value>, at: &str) -> Check {
    let path = ptr(at, "issuer");
    let invalid = |path: String| {
        DataModelError::new(
            "invalid_issuer",
            path,
            "`issuer` must be a URL or an object whose `id` is a URL",
            "`issuer` 必须是 URL，或 `id` 为 URL 的对象",
        )
    };
    match obj.get("issuer") {
        None => Err(DataModelError::new("missing_issuer", path, "`issuer` is missing", "缺少 `issuer`（签发者）")),
        Some(Value::String(s)) if is_url(s) => Ok(()),
        Some(Value::Object(issuer)) => {
            match issuer.get("id") {
                Some(Value::String(s)) if is_url(s) => {}
                _ => return Err(invalid(ptr(&path, "id"))),
            }
            check_language_value(issuer, &path, "name", "invalid_name")?;
            check_language_value(issuer, &path, "description", "invalid_description")
        }
        Some(_) => Err(invalid(path)),
    }
}

fn check_subject(obj: &Map<String, Value>, at: &str) -> Check {
    let path = ptr(at, "credentialSubject");
    match obj.get("credentialSubject") {
        None => Err(DataModelError::new(
            "missing_subject",
            path,
            "`credentialSubject` is missing",
            "缺少 `credentialSubject`（凭证主体）",
        )),
        Some(Value::Object(subject)) => check_one_subject(subject, &path),
        Some(Value::Array(subjects)) if subjects.is_empty() => Err(DataModelError::new(
            "empty_subject",
            path,
            "`credentialSubject` must contain at least one subject",
            "`credentialSubject` 至少要有一个主体",
        )),
        Some(Value::Array(subjects)) => {
            for (i, subject) in subjects.iter().enumerate() {
                let path = format!("{path}/{i}");
                match subject {
                    Value::Object(subject) => check_one_subject(subject, &path)?,
                    _ => return Err(invalid_subject(path)),
                }
            }
            Ok(())
        }
        Some(_) => Err(invalid_subject(path)),
    }
}

fn invalid_subject(path: String) -> DataModelError {
    DataModelError::new(
        "invalid_subject",
        path,
        "`credentialSubject` must be an object or an array of objects",
        "`credentialSubject` 必须是对象或对象数组",
    )
}

fn check_one_subject(subject: &Map<String, Value>, path: &str) -> Check {
    if subject.is_empty() {
        return Err(DataModelError::new(
            "empty_subject",
            path,
            "each `credentialSubject` must make at least one claim",
            "每个 `credentialSubject` 至少要包含一项声明",
        ));
    }
    check_optional_id(subject, path, "subject_invalid_id", "a credential subject", "凭证主体")
}

fn check_validity_period(obj: &Map<String, Value>, at: &str) -> Check {
    let from = date_member(obj, at, "validFrom", true)?;
    let until = date_member(obj, at, "validUntil", true)?;
    if let (Some(from), Some(until)) = (from, until) {
        if until < from {
            return Err(DataModelError::new(
                "valid_until_before_valid_from",
                ptr(at, "validUntil"),
                "`validUntil` is earlier than `validFrom`",
                "`validUntil`（有效期止）早于 `validFrom`（有效期起）",
            ));
        }
    }
    Ok(())
}

fn check_v1_dates(obj: &Map<String, Value>, at: &str) -> Check {
    if !obj.contains_key("issuanceDate") {
        return Err(DataModelError::new(
            "missing_issuance_date",
            ptr(at, "issuanceDate"),
            "a VC 1.1 credential needs `issuanceDate`",
            "VC 1.1 凭证必须有 `issuanceDate`（签发日期）",
        ));
    }
    date_member(obj, at, "issuanceDate", false)?;
    date_member(obj, at, "expirationDate", false)?;
    Ok(())
}

/// Parses an optional date member; `stamp` demands a time zone (dateTimeStamp).
fn date_member(obj: &Map<String, Value>, at: &str, key: &str, stamp: bool) -> Result<Option<Instant>, DataModelError> {
    let Some(v) = obj.get(key) else {
        return Ok(None);
    };
    match v.as_str().and_then(|s| parse_date_time(s, stamp)) {
        Some(t) => Ok(Some(t)),
        None => {
            let (en, zh) = if stamp {
                (
                    "an XML Schema dateTimeStamp with a time zone, e.g. 2026-03-15T00:00:00Z",
                    "带时区的 XML Schema dateTimeStamp，例如 2026-03-15T00:00:00Z",
                )
            } else {
                ("an XML Schema dateTime, e.g. 2026-03-15T00:00:00Z", "XML Schema dateTime，例如 2026-03-15T00:00:00Z")
            };
            Err(DataModelError::new(
                "invalid_date",
                ptr(at, key),
                format!("`{key}` must be {en}"),
                format!("`{key}` 必须是{zh}"),
            ))
        }
    }
}

/// `name` / `description`: a string, a language value object, or an array of those.
fn check_language_value(obj: &Map<String, Value>, at: &str, key: &str, code: &'static str) -> Check {
    let Some(v) = obj.get(key) else { return Ok(()) };
    let ok = match v {
        Value::Array(a) => !a.is_empty() && a.iter().all(is_language_value),
        other => is_language_value(other),
    };
    if ok {
        Ok(())
    } else {
        Err(DataModelError::new(
            code,
            ptr(at, key),
            format!("`{key}` must be a string or a language value object (only `@value`, `@language`, `@direction`)"),
            format!("`{key}` 必须是字符串或语言值对象（只能含 `@value`、`@language`、`@direction`）"),
        ))
    }
}

fn is_language_value(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Object(o) => {
            o.get("@value").is_some_and(Value::is_string)
                && o.get("@language").is_none_or(Value::is_string)
                && o.get("@direction").is_none_or(|d| matches!(d.as_str(), Some("ltr" | "rtl")))
                && o.keys().all(|k| matches!(k.as_str(), "@value" | "@language" | "@direction"))
        }
        _ => false,
    }
}

/// A property whose values are objects that need a `type` (and maybe an `id`).
struct TypedMember {
    key: &'static str,
    invalid: &'static str,
    missing_type: &'static str,
    invalid_type: &'static str,
    invalid_id: &'static str,
    /// `Some(code)` when `id` is required.
    missing_id: Option<&'static str>,
}

const CREDENTIAL_STATUS: TypedMember = TypedMember {
    key: "credentialStatus",
    invalid: "status_invalid",
    missing_type: "status_missing_type",
    invalid_type: "status_invalid_type",
    invalid_id: "status_invalid_id",
    missing_id: None,
};
const CREDENTIAL_SCHEMA: TypedMember = TypedMember {
    key: "credentialSchema",
    invalid: "schema_invalid",
    missing_type: "schema_missing_type",
    invalid_type: "schema_invalid_type",
    invalid_id: "schema_invalid_id",
    missing_id: Some("schema_missing_id"),
};
const EVIDENCE: TypedMember = TypedMember {
    key: "evidence",
    invalid: "evidence_invalid",
    missing_type: "evidence_missing_type",
    invalid_type: "evidence_invalid_type",
    invalid_id: "evidence_invalid_id",
    missing_id: None,
};
const REFRESH_SERVICE: TypedMember = TypedMember {
    key: "refreshService",
    invalid: "refresh_invalid",
    missing_type: "refresh_missing_type",
    invalid_type: "refresh_invalid_type",
    invalid_id: "refresh_invalid_id",
    missing_id: None,
};
const TERMS_OF_USE: TypedMember = TypedMember {
    key: "termsOfUse",
    invalid: "terms_of_use_invalid",
    missing_type: "terms_of_use_missing_type",
    invalid_type: "terms_of_use_invalid_type",
    invalid_id: "terms_of_use_invalid_id",
    missing_id: None,
};
const PROOF: TypedMember = TypedMember {
    key: "proof",
    invalid: "proof_invalid",
    missing_type: "proof_missing_type",
    invalid_type: "proof_invalid_type",
    invalid_id: "proof_invalid_id",
    missing_id: None,
};

fn check_typed_members(obj: &Map<String, Value>, at: &str, members: &[TypedMember]) -> Check {
    for member in members {
        let Some(v) = obj.get(member.key) else {
            continue;
        };
        let path = ptr(at, member.key);
        let key = member.key;
        let entries: Vec<(String, &Value)> = match v {
            Value::Object(_) => vec![(path.clone(), v)],
            Value::Array(a) if !a.is_empty() => a.iter().enumerate().map(|(i, e)| (format!("{path}/{i}"), e)).collect(),
            _ => {
                return Err(DataModelError::new(
                    member.invalid,
                    path,
                    format!("`{key}` must be one or more objects"),
                    format!("`{key}` 必须是一个或多个对象"),
                ))
            }
        };
        for (path, entry) in entries {
            let Some(entry) = entry.as_object() else {
                return Err(DataModelError::new(
                    member.invalid,
                    path,
                    format!("each `{key}` value must be an object"),
                    format!("`{key}` 的每个值都必须是对象"),
                ));
            };
            match entry.get("type") {
                None | Some(Value::Null) => {
                    return Err(DataModelError::new(
                        member.missing_type,
                        ptr(&path, "type"),
                        format!("each `{key}` object must have a `type`"),
                        format!("每个 `{key}` 对象都必须有 `type`"),
                    ))
                }
                Some(t) if type_strings(t).is_none() => {
                    return Err(DataModelError::new(
                        member.invalid_type,
                        ptr(&path, "type"),
                        format!("the `type` of `{key}` must be a term or URL string (or an array of them)"),
                        format!("`{key}` 的 `type` 必须是术语或 URL 字符串（或其数组）"),
                    ))
                }
                Some(_) => {}
            }
            match (entry.get("id"), member.missing_id) {
                (None, Some(code)) => {
                    return Err(DataModelError::new(
                        code,
                        ptr(&path, "id"),
                        format!("each `{key}` object must have an `id` URL"),
                        format!("每个 `{key}` 对象都必须有 URL 形式的 `id`"),
                    ))
                }
                (None, None) => {}
                (Some(Value::String(s)), _) if is_url(s) => {}
                (Some(_), _) => {
                    return Err(DataModelError::new(
                        member.invalid_id,
                        ptr(&path, "id"),
                        format!("the `id` of `{key}` must be a single URL"),
                        format!("`{key}` 的 `id` 必须是单个 URL"),
                    ))
                }
            }
        }
    }
    Ok(())
}

fn check_related_resources(obj: &Map<String, Value>, at: &str) -> Check {
    let Some(v) = obj.get("relatedResource") else {
        return Ok(());
    };
    let path = ptr(at, "relatedResource");
    let invalid = |path: String| {
        DataModelError::new(
            "related_resource_invalid",
            path,
            "`relatedResource` must be one or more objects",
            "`relatedResource` 必须是一个或多个对象",
        )
    };
    let entries: Vec<(String, &Value)> = match v {
        Value::Object(_) => vec![(path.clone(), v)],
        Value::Array(a) if !a.is_empty() => a.iter().enumerate().map(|(i, e)| (format!("{path}/{i}"), e)).collect(),
        _ => return Err(invalid(path)),
    };
    let mut seen = HashSet::new();
    for (path, entry) in entries {
        let Some(entry) = entry.as_object() else {
            return Err(invalid(path));
        };
        let id = match entry.get("id") {
            None => {
                return Err(DataModelError::new(
                    "related_resource_missing_id",
                    ptr(&path, "id"),
                    "each `relatedResource` needs an `id`",
                    "每个 `relatedResource` 都必须有 `id`",
                ))
            }
            Some(Value::String(s)) if is_url(s) => s.as_str(),
            Some(_) => {
                return Err(DataModelError::new(
                    "related_resource_invalid_id",
                    ptr(&path, "id"),
                    "the `id` of a `relatedResource` must be a single URL",
                    "`relatedResource` 的 `id` 必须是单个 URL",
                ))
            }
        };
        if !seen.insert(id) {
            return Err(DataModelError::new(
                "related_resource_duplicate_id",
                ptr(&path, "id"),
                format!("`relatedResource` lists `{id}` more than once"),
                format!("`relatedResource` 中 `{id}` 重复出现"),
            ));
        }
        if !entry.contains_key("digestSRI") && !entry.contains_key("digestMultibase") {
            return Err(DataModelError::new(
                "related_resource_missing_digest",
                path,
                "each `relatedResource` needs `digestSRI` or `digestMultibase`",
                "每个 `relatedResource` 都必须有 `digestSRI` 或 `digestMultibase`",
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Presentations

/// Returns the holder's URL, if any.
fn check_holder(obj: &Map<String, Value>, at: &str) -> Result<Option<String>, DataModelError> {
    let path = ptr(at, "holder");
    let invalid = |path: String| {
        DataModelError::new(
            "invalid_holder",
            path,
            "`holder` must be a URL or an object whose `id` is a URL",
            "`holder`（持有者）必须是 URL，或 `id` 为 URL 的对象",
        )
    };
    match obj.get("holder") {
        None => Ok(None),
        Some(Value::String(s)) if is_url(s) => Ok(Some(s.clone())),
        Some(Value::Object(holder)) => match holder.get("id") {
            Some(Value::String(s)) if is_url(s) => Ok(Some(s.clone())),
            _ => Err(invalid(ptr(&path, "id"))),
        },
        Some(_) => Err(invalid(path)),
    }
}

/// The `verifiableCredential` values with their paths; each must be an object.
fn embedded_credentials<'a>(obj: &'a Map<String, Value>, at: &str) -> Result<Vec<(String, &'a Value)>, DataModelError> {
    let path = ptr(at, "verifiableCredential");
    let invalid = |path: String| {
        DataModelError::new(
            "invalid_verifiable_credential",
            path,
            "each `verifiableCredential` value must be a verifiable credential object or an EnvelopedVerifiableCredential object, not a string, number or URL",
            "`verifiableCredential` 的每个值都必须是可验证凭证对象或 EnvelopedVerifiableCredential 对象，不能是字符串、数字或 URL",
        )
    };
    let entries: Vec<(String, &Value)> = match obj.get("verifiableCredential") {
        None => return Ok(Vec::new()),
        Some(v @ Value::Object(_)) => vec![(path, v)],
        Some(Value::Array(a)) if !a.is_empty() => {
            a.iter().enumerate().map(|(i, e)| (format!("{path}/{i}"), e)).collect()
        }
        Some(_) => return Err(invalid(path)),
    };
    for (path, entry) in &entries {
        if !entry.is_object() {
            return Err(invalid(path.clone()));
        }
    }
    Ok(entries)
}

/// An embedded credential without a proof of its own is secured only by the
/// presentation's securing mechanism, which vouches for it only if it is
/// self-asserted: the presentation then MUST name a `holder`, and the
/// credential's `issuer` must be that holder.
fn check_self_asserted(holder: Option<&str>, credentials: &[(String, &Value)]) -> Check {
    for (path, vc) in credentials {
        if is_enveloped(vc, ENVELOPED_VC_TYPE) || vc.get("proof").is_some_and(|p| !p.is_null()) {
            continue;
        }
        let Some(holder) = holder else {
            return Err(DataModelError::new(
                "self_asserted_missing_holder",
                "/holder",
                format!("the credential at {path} has no proof of its own, so it is self-asserted and the presentation must name its `holder`"),
                format!("{path} 处的凭证没有自身的证明，属于持有者自述凭证，展示必须注明 `holder`"),
            ));
        };
        let issuer = vc.get("issuer").and_then(|i| match i {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        if issuer != Some(holder) {
            return Err(DataModelError::new(
                "self_asserted_issuer_mismatch",
                format!("{path}/issuer"),
                "a credential without a proof of its own must be self-asserted: its `issuer` must be the presentation's `holder`",
                "没有自身证明的凭证必须是持有者自述凭证：其 `issuer` 必须与展示的 `holder` 相同",
            ));
        }
    }
    Ok(())
}

fn is_enveloped(v: &Value, envelope_type: &str) -> bool {
    match v.get("type") {
        Some(Value::String(s)) => s == envelope_type,
        Some(Value::Array(a)) => a.iter().any(|t| t.as_str() == Some(envelope_type)),
        _ => false,
    }
}

fn check_enveloped(loader: &BundledLoader, v: &Value, at: &str, envelope_type: &str) -> Check {
    let obj = as_object(v, at)?;
    let path = ptr(at, "@context");
    let items: Vec<&Value> = match obj.get("@context") {
        None | Some(Value::Null) => {
            return Err(DataModelError::new("missing_context", path, "`@context` is missing", "缺少 `@context`"))
        }
        Some(Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
    };
    if !items.iter().any(|i| i.as_str() == Some(CREDENTIALS_V2)) {
        return Err(DataModelError::new(
            "missing_base_context",
            path,
            format!("the `@context` of an {envelope_type} must include {CREDENTIALS_V2}"),
            format!("{envelope_type} 的 `@context` 必须包含 {CREDENTIALS_V2}"),
        ));
    }
    let single = !obj.get("@context").is_some_and(Value::is_array);
    for (i, item) in items.iter().enumerate() {
        let item_path = if single { path.clone() } else { format!("{path}/{i}") };
        check_context_entry(loader, item, &item_path)?;
    }
    let type_ok = match obj.get("type") {
        None | Some(Value::Null) => {
            return Err(DataModelError::new(
                "missing_type",
                ptr(at, "type"),
                format!("`type` is missing; it must be {envelope_type}"),
                format!("缺少 `type`，其值必须为 {envelope_type}"),
            ))
        }
        Some(Value::String(s)) => s == envelope_type,
        Some(Value::Array(a)) => a.len() == 1 && a.first().and_then(Value::as_str) == Some(envelope_type),
        Some(_) => false,
    };
    if !type_ok {
        return Err(DataModelError::new(
            "enveloped_invalid_type",
            ptr(at, "type"),
            format!("the `type` of an enveloped object must be {envelope_type}"),
            format!("封装对象的 `type` 必须是 {envelope_type}"),
        ));
    }
    match obj.get("id").and_then(Value::as_str) {
        Some(id) if is_data_url(id) => Ok(()),
        _ => Err(DataModelError::new(
            "enveloped_invalid_id",
            ptr(at, "id"),
            format!("the `id` of an {envelope_type} must be a data: URL holding the secured document"),
            format!("{envelope_type} 的 `id` 必须是承载受保护文档的 data: URL"),
        )),
    }
}

/// `data:[<mediatype>][;base64],<data>` (RFC 2397), loosely: the scheme and the comma.
fn is_data_url(s: &str) -> bool {
    s.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
        && s.contains(',')
        && !s.chars().any(char::is_whitespace)
}

// ---------------------------------------------------------------------------
// JSON-LD

/// Expands `doc` without the members in `strip` and maps JSON-LD failures to
/// rule violations: unknown or malformed contexts, protected term redefinition,
/// undefined properties, types that are not absolute IRIs.
/// Every IRI-like string (no white space, a `:`) and key must percent-decode to
/// UTF-8: the JSON-LD crates (pct-str) panic on an escape such as `%c2` alone
/// when they hash the IRI (found by fuzzing). Code `invalid_iri`.
pub(crate) fn check_percent_escapes(v: &Value, at: &str) -> Check {
    fn decodes(s: &str) -> bool {
        if !s.contains('%') || !s.contains(':') || s.chars().any(char::is_whitespace) {
            return true;
        }
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            let hex = |b: u8| char::from(b).to_digit(16);
            match (byte, bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (b'%', Some(hi), Some(lo)) => {
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&out).is_ok()
    }
    let bad = |s: &str| {
        DataModelError::new(
            "invalid_iri",
            at.to_owned(),
            format!("`{}` has percent escapes that are not UTF-8", s.chars().take(80).collect::<String>()),
            format!("`{}` 含有不是 UTF-8 的百分号转义", s.chars().take(80).collect::<String>()),
        )
    };
    match v {
        Value::String(s) if !decodes(s) => Err(bad(s)),
        Value::Array(items) => items.iter().try_for_each(|item| check_percent_escapes(item, at)),
        Value::Object(map) => {
            map.iter().try_for_each(
                |(key, item)| {
                    if decodes(key) {
                        check_percent_escapes(item, at)
                    } else {
                        Err(bad(key))
                    }
                },
            )
        }
        _ => Ok(()),
    }
}

fn check_jsonld(loader: &BundledLoader, doc: &Value, at: &str, strip: &[&str]) -> Check {
    let Some(obj) = doc.as_object() else {
        return Ok(());
    };
    let mut stripped = obj.clone();
    for key in strip {
        stripped.remove(*key);
    }
    let stripped = Value::Object(stripped);
    check_percent_escapes(&stripped, at)?;
    let json: ssi_json_ld::syntax::Value = serde_json::from_value(stripped.clone()).map_err(|e| {
        DataModelError::new(
            "jsonld_error",
            at,
            format!("the document cannot be read as JSON-LD: {e}"),
            format!("文档无法作为 JSON-LD 读取：{e}"),
        )
    })?;
    let options = expansion::Options {
        policy: Policy { invalid: Action::Keep, vocab: Action::Keep, allow_undefined: false },
        ..Default::default()
    };
    // The bundled and generated contexts processed once (issue #16); any
    // other context, and every error, through the generic path.
    let expanded = match pollster::block_on(crate::processed_contexts::expand(loader, &json, options)) {
        Some(expanded) => expanded,
        None => {
            let mut vocabulary = ();
            pollster::block_on(json.expand_full(
                &mut vocabulary,
                ssi_json_ld::Context::<IriBuf, BlankIdBuf>::new(None),
                None,
                loader,
                options,
                (),
            ))
            .map_err(|e| expansion_error(&e, &stripped, at))?
        }
    };

    for object in &expanded {
        if let Some(bad) = invalid_type_in(object.inner()) {
            let path = find_type(&stripped, &bad).map_or_else(|| ptr(at, "type"), |p| format!("{at}{p}"));
            return Err(DataModelError::new(
                "type_not_mapped",
                path,
                format!("type `{bad}` does not map to a URL: no @context defines it, or it maps to something that is not an absolute URL"),
                format!("类型 `{bad}` 无法映射为 URL：没有任何 @context 定义它，或它映射到的不是绝对 URL"),
            ));
        }
    }
    Ok(())
}

fn expansion_error(e: &expansion::Error, doc: &Value, at: &str) -> DataModelError {
    use ssi_json_ld::context_processing::Error as Ctx;
    let context_path = ptr(at, "@context");
    match e {
        expansion::Error::ContextProcessing(Ctx::ProtectedTermRedefinition) => DataModelError::new(
            "redefined_protected_term",
            context_path,
            "a context redefines a protected term (such as one of the base context)",
            "某个上下文重新定义了受保护的术语（例如基础上下文中的术语）",
        ),
        expansion::Error::ContextProcessing(Ctx::ContextLoadingFailed(_) | Ctx::LoadingDocumentFailed) => {
            DataModelError::new(
                "unknown_context",
                context_path,
                format!("a context could not be loaded (contexts are never fetched): {e}"),
                format!("无法加载某个上下文（本服务不会联网获取上下文）：{e}"),
            )
        }
        expansion::Error::ContextProcessing(Ctx::InvalidIriMapping) => match bad_iri_mapping(doc) {
            // A term mapped to something that is not an IRI, used as a type.
            Some((term, _)) if find_type(doc, &term).is_some() => {
                let path = find_type(doc, &term).map_or_else(|| ptr(at, "type"), |p| format!("{at}{p}"));
                DataModelError::new(
                    "type_not_mapped",
                    path,
                    format!("type `{term}` is mapped by the @context to something that is not an absolute URL"),
                    format!("类型 `{term}` 在 @context 中被映射为非绝对 URL"),
                )
            }
            Some((term, context_path)) => DataModelError::new(
                "invalid_context",
                format!("{at}{context_path}"),
                format!("the @context maps `{term}` to something that is not an absolute URL"),
                format!("@context 将 `{term}` 映射为非绝对 URL"),
            ),
            None => DataModelError::new(
                "invalid_context",
                context_path,
                format!("JSON-LD context processing failed: {e}"),
                format!("JSON-LD 上下文处理失败：{e}"),
            ),
        },
        expansion::Error::ContextProcessing(_) | expansion::Error::ContextSyntax(_) => DataModelError::new(
            "invalid_context",
            context_path,
            format!("JSON-LD context processing failed: {e}"),
            format!("JSON-LD 上下文处理失败：{e}"),
        ),
        expansion::Error::KeyExpansionFailed(key) => DataModelError::new(
            "term_not_mapped",
            find_key(doc, key).map_or_else(|| at.to_owned(), |p| format!("{at}{p}")),
            format!("property `{key}` is not defined by any @context (add a context that defines it, or the undefined-terms context last)"),
            format!("属性 `{key}` 未被任何 @context 定义（请加入定义它的上下文，或在最后加入 undefined-terms 上下文）"),
        ),
        expansion::Error::InvalidTypeValue => DataModelError::new(
            "invalid_type",
            at,
            format!("JSON-LD expansion failed: {e}"),
            format!("JSON-LD 展开失败：{e}"),
        ),
        expansion::Error::InvalidIdValue => DataModelError::new(
            "invalid_id",
            at,
            format!("JSON-LD expansion failed: {e}"),
            format!("JSON-LD 展开失败：{e}"),
        ),
        _ => DataModelError::new(
            "jsonld_error",
            at,
            format!("JSON-LD expansion failed: {e}"),
            format!("JSON-LD 展开失败：{e}"),
        ),
    }
}

/// The first term of an inline context (anywhere in `doc`) whose IRI mapping
/// looks absolute (has a `:`) but is not an IRI, with the JSON Pointer of its
/// definition.
fn bad_iri_mapping(doc: &Value) -> Option<(String, String)> {
    fn in_context(ctx: &Value, path: &str) -> Option<(String, String)> {
        match ctx {
            Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, item)| in_context(item, &format!("{path}/{i}")))
            }
            Value::Object(terms) => terms.iter().find_map(|(term, def)| {
                let def_path = ptr(path, term);
                let iri = match def {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(d) => d.get("@id").and_then(Value::as_str),
                    _ => None,
                };
                if iri.is_some_and(|s| !s.starts_with('@') && s.contains(':') && !is_url(s) && !s.starts_with("_:")) {
                    return Some((term.clone(), def_path));
                }
                // Scoped contexts inside term definitions.
                def.get("@context").and_then(|scoped| in_context(scoped, &ptr(&def_path, "@context")))
            }),
            _ => None,
        }
    }
    match doc {
        Value::Object(o) => o.iter().find_map(|(k, v)| {
            let path = ptr("", k);
            if k == "@context" {
                in_context(v, &path)
            } else {
                bad_iri_mapping(v).map(|(t, p)| (t, format!("{path}{p}")))
            }
        }),
        Value::Array(a) => {
            a.iter().enumerate().find_map(|(i, v)| bad_iri_mapping(v).map(|(t, p)| (t, format!("/{i}{p}"))))
        }
        _ => None,
    }
}

/// The first node type that is not a valid absolute IRI or blank node.
fn invalid_type_in(object: &Object<IriBuf, BlankIdBuf>) -> Option<String> {
    match object {
        Object::Node(node) => invalid_type_in_node(node),
        Object::List(list) => list.iter().find_map(|o| invalid_type_in(o.inner())),
        Object::Value(_) => None,
    }
}

fn invalid_type_in_node(node: &Node<IriBuf, BlankIdBuf>) -> Option<String> {
    for ty in node.types() {
        if let Id::Invalid(s) = ty {
            return Some(s.clone());
        }
    }
    for (_, objects) in node.properties() {
        if let Some(bad) = objects.iter().find_map(|o| invalid_type_in(o.inner())) {
            return Some(bad);
        }
    }
    if let Some(reverse) = node.reverse_properties() {
        for (_, nodes) in reverse {
            if let Some(bad) = nodes.iter().find_map(|n| invalid_type_in_node(n.inner())) {
                return Some(bad);
            }
        }
    }
    if let Some(graph) = node.graph() {
        if let Some(bad) = graph.iter().find_map(|o| invalid_type_in(o.inner())) {
            return Some(bad);
        }
    }
    if let Some(included) = node.included() {
        if let Some(bad) = included.iter().find_map(|n| invalid_type_in_node(n.inner())) {
            return Some(bad);
        }
    }
    None
}

/// JSON Pointer of the first `type` / `@type` member holding `ty` (outside `@context`).
fn find_type(v: &Value, ty: &str) -> Option<String> {
    match v {
        Value::Object(o) => {
            for key in ["type", "@type"] {
                match o.get(key) {
                    Some(Value::String(s)) if s == ty => return Some(ptr("", key)),
                    Some(Value::Array(a)) => {
                        if let Some(i) = a.iter().position(|t| t.as_str() == Some(ty)) {
                            return Some(format!("{}/{i}", ptr("", key)));
                        }
                    }
                    _ => {}
                }
            }
            o.iter()
                .filter(|(k, _)| k.as_str() != "@context")
                .find_map(|(k, child)| find_type(child, ty).map(|p| format!("{}{p}", ptr("", k))))
        }
        Value::Array(a) => a.iter().enumerate().find_map(|(i, child)| find_type(child, ty).map(|p| format!("/{i}{p}"))),
        _ => None,
    }
}

/// JSON Pointer of the first member named `key` (outside `@context`).
fn find_key(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(o) => {
            if o.contains_key(key) {
                return Some(ptr("", key));
            }
            o.iter()
                .filter(|(k, _)| k.as_str() != "@context")
                .find_map(|(k, child)| find_key(child, key).map(|p| format!("{}{p}", ptr("", k))))
        }
        Value::Array(a) => a.iter().enumerate().find_map(|(i, child)| find_key(child, key).map(|p| format!("/{i}{p}"))),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Small helpers

/// `at` + `/key`, with `~` and `/` escaped as RFC 6901 wants.
fn ptr(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// An absolute URL (IRI syntax: scheme, no spaces; `did:` and `urn:` count).
fn is_url(s: &str) -> bool {
    Iri::new(s).is_ok()
}

/// A point in time: seconds since 1970-01-01T00:00:00Z and the fractional
/// digits (trailing zeros removed), comparable for any year.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Instant {
    seconds: i128,
    fraction: String,
}

/// Parses an XML Schema 1.1 `dateTime`, i.e. the regular expression in VC DM 2.0
/// §"Representing Time" plus the day-of-month constraint; `require_tz` makes it
/// a `dateTimeStamp`. Without a time zone the value is read as UTC.
fn parse_date_time(s: &str, require_tz: bool) -> Option<Instant> {
    // -?([1-9][0-9]{3,}|0[0-9]{3})
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let year_len = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    let (year_digits, rest) = unsigned.split_at_checked(year_len)?;
    if year_len < 4 || (year_len > 4 && year_digits.starts_with('0')) || year_len > 12 {
        return None;
    }
    let year: i128 = year_digits.parse().ok()?;
    let year = if negative { -year } else { year };
    // -MM-DDThh:mm:ss(\.[0-9]+)?
    let (month, rest) = two_digits(rest.strip_prefix('-')?)?;
    let (day, rest) = two_digits(rest.strip_prefix('-')?)?;
    let (hour, rest) = two_digits(rest.strip_prefix('T')?)?;
    let (minute, rest) = two_digits(rest.strip_prefix(':')?)?;
    let (second, mut rest) = two_digits(rest.strip_prefix(':')?)?;
    let mut fraction = "";
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        (fraction, rest) = after_dot.split_at_checked(len)?;
    }
    let fraction = fraction.trim_end_matches('0').to_owned();
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour == 24 {
        if minute != 0 || second != 0 || !fraction.is_empty() {
            return None;
        }
    } else if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // (Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))
    let offset_seconds: i128 = match rest {
        "" if !require_tz => 0,
        "Z" => 0,
        _ => {
            let (sign, tz) = match rest.strip_prefix('+') {
                Some(tz) => (1, tz),
                None => (-1, rest.strip_prefix('-')?),
            };
            let (h, tz) = two_digits(tz)?;
            let (m, tz) = two_digits(tz.strip_prefix(':')?)?;
            if !tz.is_empty() || m > 59 || h > 14 || (h == 14 && m != 0) {
                return None;
            }
            sign * i128::from(h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + i128::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(Instant { seconds, fraction })
}

/// Two ASCII digits at the start of `s`, and what follows them.
fn two_digits(s: &str) -> Option<(u32, &str)> {
    let (digits, rest) = s.split_at_checked(2)?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

fn is_leap(year: i128) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i128, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i128, month: u32, day: u32) -> i128 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i128::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i128::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Option<Instant> {
        parse_date_time(s, true)
    }

    #[test]
    fn date_time_stamp_grammar() {
        for ok in [
            "2023-02-26T01:02:58.447Z",
            "2023-02-25T19:10:39-06:00",
            "4023-02-26T01:02:58.447Z",
            "2024-02-29T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T00:00:00+14:00",
            "-0044-03-15T12:00:00Z",
            "12023-01-01T00:00:00Z",
        ] {
            assert!(t(ok).is_some(), "{ok} should parse");
        }
        for bad in [
            "Sat 25 Feb 2023 07:16:31 PM CST",
            "Sun, 26 Feb 2023 01:22:14 +0000",
            "2023-02-26T01:02:58",
            "2023-02-26",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-01-01T24:00:01Z",
            "2023-01-01T00:00:60Z",
            "2023-01-01T00:00:00+14:30",
            "2023-01-01T00:00:00.Z",
            "02023-01-01T00:00:00Z",
            "2023-01-01t00:00:00z",
            "2023-01-01T00:00:00Z ",
            "FUTURE DATE",
            "",
        ] {
            assert!(t(bad).is_none(), "{bad} should not parse");
        }
        // Without a time zone: an xsd:dateTime, but not a dateTimeStamp.
        assert!(parse_date_time("2023-02-26T01:02:58", false).is_some());
    }

    #[test]
    fn instants_compare_across_time_zones() {
        let utc = t("2023-02-26T01:21:29Z");
        let cst = t("2023-02-25T19:21:29-06:00");
        assert_eq!(utc, cst);
        assert!(t("2023-02-26T01:20:18.477Z") > t("2023-02-26T01:20:18.4Z"));
        assert_eq!(t("2023-02-26T01:20:18.40Z"), t("2023-02-26T01:20:18.4Z"));
        assert_eq!(t("2023-01-01T24:00:00Z"), t("2023-01-02T00:00:00Z"));
        assert!(t("-0001-12-31T23:59:59Z") < t("0000-01-01T00:00:00Z"));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn urls() {
        assert!(is_url("did:example:subject"));
        assert!(is_url("urn:uuid:3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a14"));
        assert!(is_url("https://example.org/#ExampleCredential"));
        assert!(!is_url("https ://not-a-url/x"));
        assert!(!is_url("fake-issuer"));
        assert!(!is_url("z6MkpJySvETLnxhQG9DzEdmKJtysBDjuuTeDfUj1uNNCUqcj"));
        assert!(!is_url(""));
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(ptr("", "a/b~c"), "/a~1b~0c");
        assert_eq!(ptr("/x", "type"), "/x/type");
    }

    #[test]
    fn non_objects_do_not_panic() {
        for v in [json!(null), json!(1), json!("x"), json!([]), json!({})] {
            assert!(check_credential(&v).is_err());
            assert!(check_presentation(&v).is_err());
            assert!(check_enveloped_credential(&v).is_err());
        }
    }

    #[test]
    fn language_values() {
        assert!(is_language_value(&json!("x")));
        assert!(is_language_value(&json!({"@value": "x", "@language": "en", "@direction": "ltr"})));
        assert!(!is_language_value(&json!({"@value": "x", "url": "y"})));
        assert!(!is_language_value(&json!({"@language": "en"})));
        assert!(!is_language_value(&json!(3)));
    }
}
