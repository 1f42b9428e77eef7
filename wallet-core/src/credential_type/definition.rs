//! The definition file format (JSON, unknown keys refused) and its checks.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::compact::terms;
use crate::contexts;
use crate::licence_id::{self, LicenceTypeCode};
use crate::localized::Localized;
use crate::status::StatusPurpose;

/// Term codes from this value on (keys and values alike) belong to credential
/// type definitions; below it is the static term table 1.
pub const DEFINITION_CODE_START: u64 = 1000;
/// Highest code a definition may use.
pub const DEFINITION_CODE_END: u64 = 65_535;

/// The vocabulary of the suite's own terms.
pub const ECERT_VOCAB: &str = "https://w3id.org/ecert/vocab#";

/// Terms of the VC 2.0 base context (protected) and JSON-LD keywords a field may not redefine.
const RESERVED_NAMES: &[&str] = &[
    "id",
    "type",
    "name",
    "description",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialStatus",
    "proof",
    "evidence",
    "termsOfUse",
    "refreshService",
    "credentialSchema",
    "renderMethod",
    "confidenceMethod",
    "relatedResource",
    "digestSRI",
    "digestMultibase",
    "mediaType",
    "VerifiableCredential",
    "VerifiablePresentation",
    "JsonSchema",
    "url",
];

/// Bilingual text in a definition file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// 中文
    pub zh: String,
    /// English
    pub en: String,
}

impl Text {
    /// As a [`Localized`].
    pub fn localized(&self) -> Localized {
        Localized::new(self.zh.clone(), self.en.clone())
    }
}

/// How the JSON-LD terms are defined.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsonLd {
    /// The context URL credentials of this type name after the VC 2.0 context.
    pub context: String,
    /// `false` (the default): the suite generates this context from the field IRIs
    /// and bundles it. `true`: the context is one already bundled (e.g.
    /// `https://w3id.org/ecert/v1`) and must define the type and every field.
    #[serde(default)]
    pub bundled: bool,
    /// Generated contexts only: the IRI of the type (default: the ecert vocabulary + type name).
    #[serde(default)]
    pub type_iri: Option<String>,
    /// Generated contexts only: IRI prefix for fields without their own `iri`
    /// (default: `https://w3id.org/ecert/vocab#`).
    #[serde(default)]
    pub vocab: Option<String>,
}

/// Compact-QR codes for the type's string values (term table, see `compact`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValueCodes {
    /// Code of the type name (unless table 1 has it).
    #[serde(default)]
    pub type_name: Option<u64>,
    /// Code of the context URL (unless table 1 has it).
    #[serde(default)]
    pub context: Option<u64>,
}

/// How validity is set when the request does not say.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Validity {
    /// `validFrom` default: `"today"` or the name of a `date` field (its day start, UTC).
    /// Absent: the request must give `validFrom`.
    #[serde(default)]
    pub from_default: Option<String>,
    /// `validUntil` default: this many months after `validFrom`, less one second;
    /// and the type's longest validity: a credential of the type valid for
    /// longer is refused at issuance (`validity_too_long`) and at verification
    /// (`validity_exceeds_type`; so is one without `validFrom` or `validUntil`).
    /// Absent: the request must give `validUntil`, and there is no limit.
    #[serde(default)]
    pub months: Option<u32>,
}

/// One allowed value of an `enum` field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// What the credential carries.
    pub code: String,
    /// 中文
    pub zh: String,
    /// English
    pub en: String,
    /// Its compact-QR value code (1000–65535, like `valueCodes`), for a
    /// frequent value whose text is longer than the code's 4 bytes.
    #[serde(default, rename = "valueCode")]
    pub value_code: Option<u64>,
}

/// A custom error for a value outside an `enum` (e.g. `not_qualified`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomError {
    /// Stable code.
    pub code: String,
    /// 中文
    pub zh: String,
    /// English
    pub en: String,
}

/// The field types (their rules are code in [`super::fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text, `maxLength` characters, no control characters.
    Text,
    /// Latin letters, spaces, hyphens, apostrophes (GB/T 28039 pinyin).
    Pinyin,
    /// `YYYY-MM-DD`.
    Date,
    /// `M`/`F`.
    Sex,
    /// One of `values`.
    Enum,
    /// A whole number in `[min, max]`.
    Integer,
    /// A resident ID card number: only its salted digest (`idNumberDigest`, `idNumberSalt`) is carried.
    CnResidentId,
    /// A unified social credit code.
    UnifiedSocialCreditCode,
    /// A non-empty list of texts.
    TextList,
}

impl FieldType {
    /// Every type name, as written in definition files.
    pub const NAMES: &'static [&'static str] =
        &["text", "pinyin", "date", "sex", "enum", "integer", "cnResidentId", "unifiedSocialCreditCode", "textList"];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "text" => Self::Text,
            "pinyin" => Self::Pinyin,
            "date" => Self::Date,
            "sex" => Self::Sex,
            "enum" => Self::Enum,
            "integer" => Self::Integer,
            "cnResidentId" => Self::CnResidentId,
            "unifiedSocialCreditCode" => Self::UnifiedSocialCreditCode,
            "textList" => Self::TextList,
            _ => return None,
        })
    }
}

/// A field as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    field_type: String,
    label: Text,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    print: bool,
    #[serde(default = "yes")]
    qr: bool,
    #[serde(default)]
    iri: Option<String>,
    #[serde(default)]
    code: Option<u64>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    alphanumeric: bool,
    #[serde(default)]
    not_in_future: bool,
    #[serde(default)]
    min: Option<i64>,
    #[serde(default)]
    max: Option<i64>,
    #[serde(default)]
    values: Vec<EnumValue>,
    #[serde(default)]
    other_value_error: Option<CustomError>,
}

fn yes() -> bool {
    true
}

/// A definition file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDefinition {
    #[serde(rename = "type")]
    type_name: String,
    api_path: String,
    name: Text,
    issuing_departments: Vec<Text>,
    json_ld: JsonLd,
    #[serde(default)]
    value_codes: ValueCodes,
    #[serde(default)]
    validity: Validity,
    /// Single use (e-invoices, medical bills): the credential gets a `used` status
    /// entry and can be marked used exactly once.
    #[serde(default)]
    single_use: bool,
    /// Every credential of the type carries a revocation and a suspension
    /// entry (and a `used` one when single use): one without them is refused.
    #[serde(default)]
    status_required: bool,
    /// `ecdsa-sd-2023` mandatory pointers (RFC 6901 JSON pointers into the
    /// credential): what a holder cannot withhold from a derived credential.
    #[serde(default)]
    mandatory_pointers: Vec<String>,
    /// 证照类型代码 (GB/T 36904): the defining authority's credit code and three
    /// digits; credentials of the type then carry a `licenceId`.
    #[serde(default)]
    licence_type_code: Option<String>,
    fields: Vec<RawField>,
}

/// A checked field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Name in the request and in `credentialSubject` (for `cnResidentId`: the request only).
    pub name: String,
    /// Its type.
    pub field_type: FieldType,
    /// Label.
    pub label: Localized,
    /// Must be given.
    pub required: bool,
    /// Printed on the card.
    pub print: bool,
    /// Shown to the inspector after a scan (every field is signed and carried in the QR).
    pub qr: bool,
    /// JSON-LD IRI (generated contexts).
    pub iri: String,
    /// Compact-QR key code (definition range), when table 1 has no code for the name.
    pub code: Option<u64>,
    /// Longest text, in characters.
    pub max_length: usize,
    /// Text: letters and digits only.
    pub alphanumeric: bool,
    /// Date: not after today.
    pub not_in_future: bool,
    /// Integer bounds.
    pub min: i64,
    /// Integer bounds.
    pub max: i64,
    /// Enum values.
    pub values: Vec<EnumValue>,
    /// Enum: the error for any other value.
    pub other_value_error: Option<CustomError>,
}

/// A checked credential type definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The file it came from (`shipped:<name>` for embedded ones).
    pub source: String,
    /// The VC `type` (besides `VerifiableCredential`).
    pub type_name: String,
    /// URL segment: `POST /api/v1/<apiPath>`.
    pub api_path: String,
    /// Human name.
    pub name: Localized,
    /// The departments whose issuers may be authorised for it (the trust list decides per issuer).
    pub issuing_departments: Vec<Localized>,
    /// The context URL.
    pub context_url: String,
    /// The generated context document (None when bundled).
    pub context_document: Option<String>,
    /// Compact-QR value codes.
    pub value_codes: ValueCodes,
    /// Validity defaults.
    pub validity: Validity,
    /// Single use: issued with a `used` status entry (see `issuer`'s `/use`).
    pub single_use: bool,
    /// Every credential of the type carries its status entries
    /// (`statusRequired` in the file; [`Definition::required_status_purposes`]):
    /// one without them, a derived credential that withholds them included,
    /// has status `invalid status_entry_missing`. Every shipped type says so
    /// (the issuer gives each credential of a defined type its entries).
    pub status_required: bool,
    /// Selective disclosure (`ecdsa-sd-2023`): the JSON pointers a holder
    /// cannot withhold (`mandatoryPointers` in the file; empty: none). Each is
    /// an RFC 6901 pointer to a VC 2.0 member of the credential or to
    /// `/credentialSubject/<field>`; a pointer to a member a credential does
    /// not carry (an optional field left out) is skipped when it is issued.
    pub mandatory_pointers: Vec<String>,
    /// The licence type code (`licenceTypeCode`): credentials of this type carry
    /// a 证照标识 ([`crate::licence_id`]) with it. `None`: they carry none.
    pub licence_type_code: Option<LicenceTypeCode>,
    /// Fields in credential order.
    pub fields: Vec<Field>,
}

/// A definition file that cannot be used: which file, which part, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential type definition {source_name}: {location}{problem}")]
pub struct DefinitionError {
    /// The file.
    pub source_name: String,
    /// `field "x": ` or empty.
    pub location: String,
    /// What is wrong.
    pub problem: String,
}

impl DefinitionError {
    pub(crate) fn new(source: &str, field: Option<&str>, problem: impl Into<String>) -> Self {
        Self {
            source_name: source.to_owned(),
            location: field.map(|f| format!("field \"{f}\": ")).unwrap_or_default(),
            problem: problem.into(),
        }
    }
}

fn is_term_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_ascii_alphabetic()) && c.all(|c| c.is_ascii_alphanumeric())
}

fn check_iri(iri: &str) -> Result<(), String> {
    let scheme_ok = iri.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if !scheme_ok || iri.chars().any(|c| c.is_whitespace() || "<>\"{}|\\^`".contains(c)) {
        return Err(format!("{iri:?} is not an absolute IRI"));
    }
    ssi_json_ld::Iri::new(iri).map(|_| ()).map_err(|_| format!("{iri:?} is not an absolute IRI"))
}

fn check_code(code: u64) -> Result<(), String> {
    if (DEFINITION_CODE_START..=DEFINITION_CODE_END).contains(&code) {
        Ok(())
    } else {
        Err(format!("code {code} is outside the definition range {DEFINITION_CODE_START}–{DEFINITION_CODE_END}"))
    }
}

fn check_text(what: &str, text: &Text) -> Result<(), String> {
    if text.zh.trim().is_empty() {
        return Err(format!("{what} has no zh text"));
    }
    if text.en.trim().is_empty() {
        return Err(format!("{what} has no en text"));
    }
    Ok(())
}

/// Top-level credential members a mandatory pointer may name (besides
/// `/credentialSubject/<field>`): VC 2.0 members our issuer writes.
const POINTER_MEMBERS: &[&str] = &[
    "@context",
    "id",
    "type",
    "name",
    "description",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialStatus",
    "credentialSchema",
    "evidence",
    "termsOfUse",
    "renderMethod",
    licence_id::CREDENTIAL_TERM,
];

/// `mandatoryPointers`: each an RFC 6901 JSON pointer (`/`-separated, `~0` and
/// `~1` the only escapes), naming a VC 2.0 member ([`POINTER_MEMBERS`]) or,
/// under `/credentialSubject/`, a field of this type (for a `cnResidentId`
/// field: `idNumberDigest` / `idNumberSalt`); no pointer twice.
fn check_mandatory_pointers(pointers: &[String], fields: &[Field]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for p in pointers {
        let bad = |why: &str| format!("mandatoryPointers: {p:?} {why}");
        if ssi_data_integrity::JsonPointer::new(p.as_str()).is_err() || p.is_empty() {
            return Err(bad("is not a JSON pointer (RFC 6901: \"/member/…\", escapes ~0 and ~1)"));
        }
        if !seen.insert(p.as_str()) {
            return Err(bad("is given twice"));
        }
        let mut tokens = p.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~"));
        let first = tokens.next().unwrap_or_default();
        if !POINTER_MEMBERS.contains(&first.as_str()) {
            return Err(bad(&format!("names {first:?}, not a credential member ({})", POINTER_MEMBERS.join(", "))));
        }
        if first == "credentialSubject" {
            if let Some(name) = tokens.next() {
                let known = fields.iter().any(|f| match f.field_type {
                    FieldType::CnResidentId => name == "idNumberDigest" || name == "idNumberSalt",
                    _ => f.name == name,
                }) || name == "id"
                    || name == "type";
                if !known {
                    return Err(bad(&format!("names the subject member {name:?}, which is not a field of this type")));
                }
            }
        }
    }
    Ok(())
}

impl Definition {
    /// Parse and check one definition file's text on its own (cross-file
    /// checks — clashes of names, paths and codes — are the registry's).
    ///
    /// # Errors
    /// A [`DefinitionError`] naming the file, the field and the problem.
    pub fn parse(source: &str, text: &str) -> Result<Self, DefinitionError> {
        let err = |field: Option<&str>, p: String| DefinitionError::new(source, field, p);
        let raw: RawDefinition = serde_json::from_str(text).map_err(|e| err(None, format!("not a definition: {e}")))?;
        if !is_term_name(&raw.type_name) {
            return Err(err(
                None,
                format!("type {:?} is not a type name (a letter, then letters and digits)", raw.type_name),
            ));
        }
        if RESERVED_NAMES.contains(&raw.type_name.as_str()) {
            return Err(err(None, format!("type {:?} is a built-in VC type", raw.type_name)));
        }
        if raw.api_path.is_empty()
            || !raw.api_path.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err(
                None,
                format!("apiPath {:?} must be lower-case letters, digits and hyphens", raw.api_path),
            ));
        }
        check_text("name", &raw.name).map_err(|p| err(None, p))?;
        if raw.issuing_departments.is_empty() {
            return Err(err(
                None,
                "issuingDepartments is empty: name the departments that may authorise issuers".into(),
            ));
        }
        for d in &raw.issuing_departments {
            check_text("an issuing department", d).map_err(|p| err(None, p))?;
        }
        check_iri(&raw.json_ld.context).map_err(|p| err(None, format!("jsonLd.context: {p}")))?;
        let bundled_terms: Option<serde_json::Map<String, serde_json::Value>> = if raw.json_ld.bundled {
            let doc = contexts::bundled_document(&raw.json_ld.context).ok_or_else(|| {
                err(None, format!("jsonLd.context {:?} is not a bundled context", raw.json_ld.context))
            })?;
            let v: serde_json::Value = serde_json::from_str(doc).map_err(|e| err(None, e.to_string()))?;
            let terms = v.get("@context").and_then(serde_json::Value::as_object).cloned().unwrap_or_default();
            if !terms.contains_key(&raw.type_name) {
                return Err(err(None, format!("the bundled context {} does not define the type", raw.json_ld.context)));
            }
            if raw.json_ld.type_iri.is_some() || raw.json_ld.vocab.is_some() {
                return Err(err(None, "typeIri and vocab are for generated contexts only".into()));
            }
            Some(terms)
        } else {
            if contexts::bundled_document(&raw.json_ld.context).is_some() {
                return Err(err(
                    None,
                    format!("jsonLd.context {} is a bundled context: set \"bundled\": true", raw.json_ld.context),
                ));
            }
            None
        };
        let vocab = raw.json_ld.vocab.clone().unwrap_or_else(|| ECERT_VOCAB.to_owned());
        check_iri(&vocab).map_err(|p| err(None, format!("jsonLd.vocab: {p}")))?;
        let type_iri = raw.json_ld.type_iri.clone().unwrap_or_else(|| format!("{vocab}{}", raw.type_name));
        check_iri(&type_iri).map_err(|p| err(None, format!("jsonLd.typeIri: {p}")))?;

        // Value codes: needed exactly when table 1 has no code.
        for (what, value, code) in [
            ("type", raw.type_name.as_str(), raw.value_codes.type_name),
            ("context", raw.json_ld.context.as_str(), raw.value_codes.context),
        ] {
            match (terms::VALUES.contains(&value), code) {
                (true, Some(_)) => {
                    return Err(err(
                        None,
                        format!("valueCodes: the {what} {value:?} already has a code in term table 1"),
                    ))
                }
                (false, None) => {
                    return Err(err(
                        None,
                        format!("valueCodes: the {what} {value:?} needs a code (term table 1 has none)"),
                    ))
                }
                (false, Some(c)) => check_code(c).map_err(|p| err(None, format!("valueCodes.{what}: {p}")))?,
                (true, None) => {}
            }
        }

        if raw.fields.is_empty() {
            return Err(err(None, "no fields".into()));
        }
        let mut names = HashSet::new();
        let mut codes = HashSet::new();
        let mut fields = Vec::new();
        let mut resident_ids = 0;
        for f in &raw.fields {
            let name = f.name.as_str();
            let ferr = |p: String| err(Some(name), p);
            if !is_term_name(name) {
                return Err(ferr("the name must be a letter, then letters and digits".into()));
            }
            if RESERVED_NAMES.contains(&name)
                || name == "idNumberDigest"
                || name == "idNumberSalt"
                || name == licence_id::CREDENTIAL_TERM
            {
                return Err(ferr("the name is reserved (a VC 2.0 term or one the suite writes itself)".into()));
            }
            if !names.insert(name) {
                return Err(ferr("duplicate field name".into()));
            }
            let field_type = FieldType::parse(&f.field_type).ok_or_else(|| {
                ferr(format!("unknown field type {:?} (known: {})", f.field_type, FieldType::NAMES.join(", ")))
            })?;
            check_text("the label", &f.label).map_err(&ferr)?;
            if field_type == FieldType::CnResidentId {
                resident_ids += 1;
                if resident_ids > 1 {
                    return Err(ferr(
                        "only one cnResidentId field per type (it becomes idNumberDigest/idNumberSalt)".into(),
                    ));
                }
            }
            let max_length = match (field_type, f.max_length) {
                (FieldType::Text | FieldType::TextList, None) => {
                    return Err(ferr("a text field needs maxLength".into()));
                }
                (FieldType::Text | FieldType::TextList | FieldType::Pinyin, Some(n)) if n == 0 || n > 1000 => {
                    return Err(ferr(format!("maxLength {n} is not in 1–1000")));
                }
                (FieldType::Text | FieldType::TextList | FieldType::Pinyin, Some(n)) => n,
                (FieldType::Pinyin, None) => 100,
                (_, Some(_)) => return Err(ferr(format!("maxLength does not apply to {} fields", f.field_type))),
                (_, None) => 0,
            };
            if f.alphanumeric && field_type != FieldType::Text {
                return Err(ferr("alphanumeric applies to text fields only".into()));
            }
            if f.not_in_future && field_type != FieldType::Date {
                return Err(ferr("notInFuture applies to date fields only".into()));
            }
            if (f.min.is_some() || f.max.is_some()) && field_type != FieldType::Integer {
                return Err(ferr("min/max apply to integer fields only".into()));
            }
            let (min, max) = (f.min.unwrap_or(0), f.max.unwrap_or(i64::from(u32::MAX)));
            if min > max {
                return Err(ferr(format!("min {min} is above max {max}")));
            }
            if field_type == FieldType::Enum {
                if f.values.is_empty() {
                    return Err(ferr("an enum field needs values".into()));
                }
                let mut seen = HashSet::new();
                for v in &f.values {
                    if v.code.trim().is_empty() || !seen.insert(v.code.as_str()) {
                        return Err(ferr(format!("enum value {:?} is empty or repeated", v.code)));
                    }
                    check_text(&format!("enum value {:?}", v.code), &Text { zh: v.zh.clone(), en: v.en.clone() })
                        .map_err(&ferr)?;
                    if let Some(c) = v.value_code {
                        if !(DEFINITION_CODE_START..=DEFINITION_CODE_END).contains(&c) {
                            return Err(ferr(format!(
                                "enum value {:?}: valueCode {c} is outside {DEFINITION_CODE_START}–{DEFINITION_CODE_END}",
                                v.code
                            )));
                        }
                        if terms::VALUES.contains(&v.code.as_str()) {
                            return Err(ferr(format!("enum value {:?} already has a code in term table 1", v.code)));
                        }
                    }
                }
            } else if !f.values.is_empty() || f.other_value_error.is_some() {
                return Err(ferr("values/otherValueError apply to enum fields only".into()));
            }
            if let Some(e) = &f.other_value_error {
                if !is_term_name(&e.code.replace('_', "x")) || e.zh.trim().is_empty() || e.en.trim().is_empty() {
                    return Err(ferr("otherValueError needs a code (letters, digits, _) and zh and en text".into()));
                }
            }
            // JSON-LD: the credential's terms must be defined, or canonicalisation would drop them.
            let out_names: Vec<&str> =
                if field_type == FieldType::CnResidentId { vec!["idNumberDigest", "idNumberSalt"] } else { vec![name] };
            let iri = match &bundled_terms {
                Some(terms) => {
                    if f.iri.is_some() {
                        return Err(ferr("iri is for generated contexts; the bundled context defines the term".into()));
                    }
                    if let Some(missing) = out_names.iter().find(|n| !terms.contains_key(**n)) {
                        return Err(ferr(format!("the bundled context does not define the term {missing:?}")));
                    }
                    String::new()
                }
                None => {
                    let iri = f.iri.clone().unwrap_or_else(|| format!("{vocab}{name}"));
                    check_iri(&iri).map_err(|p| ferr(format!("iri: {p}")))?;
                    iri
                }
            };
            // Compact QR: a key code is needed exactly when table 1 has none.
            let in_table_one = out_names.iter().all(|n| terms::KEYS.contains(n));
            let code = match (in_table_one, f.code) {
                (true, Some(_)) => return Err(ferr("code: the name already has a code in term table 1".into())),
                (false, None) => {
                    return Err(ferr(format!(
                        "needs a compact-QR code ({DEFINITION_CODE_START}–{DEFINITION_CODE_END}; term table 1 has none for it)"
                    )))
                }
                (false, Some(c)) => {
                    check_code(c).map_err(|p| ferr(format!("code: {p}")))?;
                    if !codes.insert(c) {
                        return Err(ferr(format!("duplicate code {c}")));
                    }
                    Some(c)
                }
                (true, None) => None,
            };
            fields.push(Field {
                name: name.to_owned(),
                field_type,
                label: f.label.localized(),
                required: f.required,
                print: f.print,
                qr: f.qr,
                iri,
                code,
                max_length,
                alphanumeric: f.alphanumeric,
                not_in_future: f.not_in_future,
                min,
                max,
                values: f.values.clone(),
                other_value_error: f.other_value_error.clone(),
            });
        }
        let enum_codes = raw.fields.iter().flat_map(|f| f.values.iter()).filter_map(|v| v.value_code);
        let value_codes: Vec<u64> =
            [raw.value_codes.type_name, raw.value_codes.context].into_iter().flatten().chain(enum_codes).collect();
        if let Some(c) = value_codes.iter().find(|c| codes.contains(c)) {
            // Keys and values are separate tables; refusing the overlap keeps files readable.
            return Err(err(None, format!("valueCodes: code {c} is also a field's code")));
        }
        if value_codes.iter().collect::<HashSet<_>>().len() != value_codes.len() {
            return Err(err(None, "valueCodes: two values (type, context, enum values) have the same code".into()));
        }
        if let Some(from) = &raw.validity.from_default {
            let ok =
                from == "today" || raw.fields.iter().any(|f| f.name == *from && f.field_type == "date" && f.required);
            if !ok {
                return Err(err(
                    None,
                    format!("validity.fromDefault {from:?} is neither \"today\" nor a required date field"),
                ));
            }
        }
        if raw.validity.months == Some(0) {
            return Err(err(None, "validity.months must be at least 1".into()));
        }
        check_mandatory_pointers(&raw.mandatory_pointers, &fields).map_err(|p| err(None, p))?;
        // A single-use credential without its `used` entry could be used again and again.
        if raw.single_use && !raw.status_required {
            return Err(err(None, "singleUse needs statusRequired: true (the `used` status entry)".to_owned()));
        }
        let licence_type_code = match &raw.licence_type_code {
            None => None,
            Some(code) => {
                let parsed = LicenceTypeCode::parse(code).ok().filter(|c| c.to_string() == *code).ok_or_else(|| {
                    err(None, format!("licenceTypeCode {code:?} is not a credit code followed by three digits 001–999"))
                })?;
                if let Some(terms) = &bundled_terms {
                    if !terms.contains_key(licence_id::CREDENTIAL_TERM) {
                        return Err(err(
                            None,
                            format!("the bundled context does not define {:?}", licence_id::CREDENTIAL_TERM),
                        ));
                    }
                }
                Some(parsed)
            }
        };

        let context_document = if raw.json_ld.bundled {
            None
        } else {
            let mut map = BTreeMap::new();
            map.insert(raw.type_name.clone(), serde_json::Value::String(type_iri));
            if licence_type_code.is_some() {
                map.insert(
                    licence_id::CREDENTIAL_TERM.to_owned(),
                    serde_json::Value::String(format!("{ECERT_VOCAB}{}", licence_id::CREDENTIAL_TERM)),
                );
            }
            for f in &fields {
                match f.field_type {
                    FieldType::CnResidentId => {
                        for n in ["idNumberDigest", "idNumberSalt"] {
                            map.insert(n.to_owned(), serde_json::Value::String(format!("{ECERT_VOCAB}{n}")));
                        }
                    }
                    FieldType::Date => {
                        map.insert(
                            f.name.clone(),
                            serde_json::json!({"@id": f.iri, "@type": "http://www.w3.org/2001/XMLSchema#date"}),
                        );
                    }
                    _ => {
                        map.insert(f.name.clone(), serde_json::Value::String(f.iri.clone()));
                    }
                }
            }
            let mut ctx = serde_json::Map::new();
            ctx.insert("@protected".into(), true.into());
            ctx.insert("@version".into(), serde_json::json!(1.1));
            ctx.extend(map);
            Some(serde_json::json!({ "@context": ctx }).to_string())
        };

        Ok(Self {
            source: source.to_owned(),
            type_name: raw.type_name,
            api_path: raw.api_path,
            name: raw.name.localized(),
            issuing_departments: raw.issuing_departments.iter().map(Text::localized).collect(),
            context_url: raw.json_ld.context,
            context_document,
            value_codes: raw.value_codes,
            validity: raw.validity,
            single_use: raw.single_use,
            status_required: raw.status_required,
            mandatory_pointers: raw.mandatory_pointers,
            licence_type_code,
            fields,
        })
    }

    /// Read and check a file.
    ///
    /// # Errors
    /// As [`Definition::parse`], or the file cannot be read.
    pub fn read(path: &Path) -> Result<Self, DefinitionError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| DefinitionError::new(&source, None, format!("cannot read: {e}")))?;
        Self::parse(&source, &text)
    }

    /// The status purposes every credential of the type carries an entry
    /// for (empty unless `statusRequired`): revocation and suspension, and
    /// `used` for a single-use type.
    pub fn required_status_purposes(&self) -> &'static [StatusPurpose] {
        match (self.status_required, self.single_use) {
            (false, _) => &[],
            (true, false) => &[StatusPurpose::Revocation, StatusPurpose::Suspension],
            (true, true) => &[StatusPurpose::Revocation, StatusPurpose::Suspension, StatusPurpose::Used],
        }
    }

    /// The latest `validUntil` a credential of this type valid from `from` may
    /// carry: [`Validity::months`] after it (`None`: the type sets no limit).
    pub fn latest_valid_until(&self, from: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
        let months = self.validity.months?;
        // Past chrono's last date (year 262143) nothing is later: the limit is that date.
        Some(from.checked_add_months(chrono::Months::new(months)).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC))
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The compact-QR key codes this definition adds: (credential key, code).
    pub fn key_codes(&self) -> Vec<(&str, u64)> {
        self.fields.iter().filter_map(|f| f.code.map(|c| (f.name.as_str(), c))).collect()
    }

    /// The compact-QR value codes this definition adds: (value, code).
    pub fn value_code_entries(&self) -> Vec<(String, u64)> {
        let mut v = Vec::new();
        if let Some(c) = self.value_codes.type_name {
            v.push((self.type_name.clone(), c));
        }
        if let Some(c) = self.value_codes.context {
            v.push((self.context_url.clone(), c));
        }
        for value in self.fields.iter().flat_map(|f| f.values.iter()) {
            if let Some(c) = value.value_code {
                v.push((value.code.clone(), c));
            }
        }
        v
    }
}
