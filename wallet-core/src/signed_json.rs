//! JSON a credential shows that its RDF signature does not cover: refused
//! before the signature check (`verify_credential`), as the signature check's
//! result. An RDF-based proof signs what JSON-LD expansion makes of the
//! document, never the document's `@context`, so an attacker may add to a
//! signed credential anything expansion drops or maps onto the signed
//! statements:
//!
//! * a member whose key looks like a keyword but is none (`@remark`):
//!   expansion ignores it (`unsigned_member`);
//! * a term an inline context maps to `null`: its values are dropped
//!   (`unsigned_member`);
//! * an inline context (anywhere in the document) defining the name of a
//!   credential type the registry knows: the JSON `type` could then name a
//!   type the signed RDF does not (`type_term_redefined`). Type names come
//!   from their own shipped or generated contexts only;
//! * an inline context aliasing a keyword (`{"kind": "@type"}`,
//!   `{"ref": {"@id": "@id"}}`): the signed RDF is the same, but the JSON
//!   members every check and every screen reads (`type`, `id`) no longer
//!   carry it, e.g. a credential type moved out of `type` or a holder-bound
//!   subject's `id` moved out of `credentialSubject.id` so the credential
//!   reads as unbound (`keyword_alias`). Refused whether or not trust is
//!   required: what is shown must be what is signed;
//! * a keyword written out as a member where a check reads its alias
//!   (`"@id"` for `id`, `"@type"` for `type`) or one that moves members
//!   (`"@nest": {"credentialStatus": …}`, `{"@set": [subject]}`): expansion
//!   gives the same signed RDF, but the JSON member every check and every
//!   screen reads is gone, so a holder-bound credential reads as unbound, a
//!   revoked one as carrying no status entry, an expired one as never
//!   expiring (`keyword_member`). The only keywords a credential may write
//!   out are `@context`, and inside a value object (`{"@value": "Dog",
//!   "@language": "en"}`, the VC 2.0 language-tagged names) `@value`,
//!   `@language`, `@direction` and `@type`: they say how one literal is
//!   signed, not where a member is;
//! * an inline term usable as a prefix (`{"k": "did:key:"}`, `"@prefix":
//!   true`): `"k:zDn…"` is signed as `did:key:zDn…` but read as no
//!   `did:key` (`prefix_term`); an inline term with the IRI of a property
//!   the checks read (`{"cs": {"@id": "https://www.w3.org/2018/credentials#credentialStatus"}}`):
//!   the status entries signed under `cs`, unseen (`signed_term_alias`).

use serde_json::{Map, Value};

use crate::credential_type::TypeRegistry;
use crate::report::CheckResult;

/// The JSON-LD 1.1 keywords.
const KEYWORDS: &[&str] = &[
    "@base",
    "@container",
    "@context",
    "@direction",
    "@graph",
    "@id",
    "@import",
    "@included",
    "@index",
    "@json",
    "@language",
    "@list",
    "@nest",
    "@none",
    "@prefix",
    "@propagate",
    "@protected",
    "@reverse",
    "@set",
    "@type",
    "@value",
    "@version",
    "@vocab",
];

/// RFC 3986 gen-delims: a simple term definition whose IRI ends with one can
/// be used as a prefix (JSON-LD 1.1 §4.1.3), so `"k:zDn…"` expands to
/// `did:key:zDn…` under `{"k": "did:key:"}`.
const GEN_DELIMS: &[char] = &[':', '/', '?', '#', '[', ']', '@'];

/// The vocabularies of the properties the checks read (`credentialStatus`,
/// `validUntil`, `credentialSubject`, the proof's, and our credential
/// types'): an inline term with an IRI in them is a second name for a signed
/// property, under which its value is signed and no check sees it.
const SIGNED_VOCABULARIES: &[&str] =
    &["https://www.w3.org/2018/credentials#", "https://w3id.org/security#", "https://w3id.org/ecert/"];

/// Whether `iri` names a property of [`SIGNED_VOCABULARIES`]: a property's
/// local name starts with a lower-case letter (`credentialStatus`,
/// `validUntil`), a class's with a capital (`Ed25519Signature2020`, which a
/// W3C test input defines inline: a second name for a class can only be a
/// `type` value and hides no member).
fn is_checked_property(iri: &str) -> bool {
    SIGNED_VOCABULARIES.iter().any(|vocabulary| {
        iri.strip_prefix(vocabulary).is_some_and(|rest| {
            let local = rest.rsplit(['#', '/']).next().unwrap_or(rest);
            !local.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}

/// The keywords a value object (an object with `@value`) may hold besides
/// `@value`: how its one literal is signed.
const VALUE_OBJECT_KEYWORDS: &[&str] = &["@language", "@direction", "@type"];

/// `Some(invalid)` when `vc` holds JSON its signature cannot cover (see the module docs).
pub(crate) fn check(vc: &Value, types: &TypeRegistry) -> Option<CheckResult> {
    let mut stack = vec![vc];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(members) => {
                let value_object = members.contains_key("@value");
                for (key, member) in members {
                    if !key.starts_with('@') {
                        stack.push(member);
                    } else if key == "@context" {
                        if let Some(refused) = check_context(member, types) {
                            return Some(refused);
                        }
                    } else if value_object && (key == "@value" || VALUE_OBJECT_KEYWORDS.contains(&key.as_str())) {
                        // A literal (a JSON literal's object included): signed as it is.
                    } else if KEYWORDS.contains(&key.as_str()) {
                        return Some(keyword_member(key));
                    } else {
                        return Some(unsigned_member(key));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn check_context(context: &Value, types: &TypeRegistry) -> Option<CheckResult> {
    let objects: Vec<&Map<String, Value>> = match context {
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        Value::Object(o) => vec![o],
        _ => Vec::new(),
    };
    for object in objects {
        for (term, definition) in object {
            if term.starts_with('@') {
                continue;
            }
            if types.by_type(term).is_some() {
                let term: String = term.chars().take(60).collect();
                return Some(CheckResult::invalid(
                    "type_term_redefined",
                    format!("凭证内嵌的 @context 重新定义了凭证类型 {term}：显示的类型可能不是签名所覆盖的类型"),
                    format!(
                        "an inline @context defines the credential type name {term}: the type shown may not be the one signed"
                    ),
                ));
            }
            let target = match definition {
                Value::String(target) => Some(target.as_str()),
                Value::Object(d) => d.get("@id").and_then(Value::as_str),
                _ => None,
            };
            if let Some(keyword) = target.filter(|t| KEYWORDS.contains(t)) {
                return Some(keyword_alias(term, keyword));
            }
            let dropped = definition.is_null() || definition.get("@id").is_some_and(Value::is_null);
            if dropped {
                return Some(unsigned_member(term));
            }
            if let Some(target) = target {
                let explicit_prefix = definition.get("@prefix").and_then(Value::as_bool) == Some(true);
                if explicit_prefix || (definition.is_string() && target.ends_with(GEN_DELIMS)) {
                    return Some(prefix_term(term));
                }
                if is_checked_property(target) {
                    return Some(signed_term_alias(term, target));
                }
            }
            // A scoped context inside a term definition.
            if let Some(refused) = definition.get("@context").and_then(|c| check_context(c, types)) {
                return Some(refused);
            }
        }
    }
    None
}

fn unsigned_member(key: &str) -> CheckResult {
    let key: String = key.chars().take(60).collect();
    CheckResult::invalid(
        "unsigned_member",
        format!("凭证含有签名不覆盖的成员 {key}（JSON-LD 展开时被丢弃）"),
        format!("the credential has a member its signature does not cover: {key} (dropped by JSON-LD expansion)"),
    )
}

fn prefix_term(term: &str) -> CheckResult {
    let term: String = term.chars().take(60).collect();
    CheckResult::invalid(
        "prefix_term",
        format!("凭证内嵌的 @context 把 {term} 定义为前缀：显示的标识符（如 {term}:…）可能与签名覆盖的不一致"),
        format!(
            "an inline @context makes {term} a prefix: an identifier shown as {term}:… may not be the one the checks read"
        ),
    )
}

fn signed_term_alias(term: &str, target: &str) -> CheckResult {
    let term: String = term.chars().take(60).collect();
    let target: String = target.chars().take(100).collect();
    CheckResult::invalid(
        "signed_term_alias",
        format!("凭证内嵌的 @context 给 {term} 以受检属性的 IRI {target}：该属性可能被藏在检查读不到的名字下"),
        format!(
            "an inline @context gives {term} the IRI of a checked property ({target}): its value may be hidden from the checks under another name"
        ),
    )
}

fn keyword_member(keyword: &str) -> CheckResult {
    CheckResult::invalid(
        "keyword_member",
        format!("凭证把 JSON-LD 关键字 {keyword} 直接写作成员：各项检查和显示读取的内容可能与签名覆盖的不一致"),
        format!(
            "the credential writes the JSON-LD keyword {keyword} out as a member: what is checked and shown may differ from what is signed"
        ),
    )
}

fn keyword_alias(term: &str, keyword: &str) -> CheckResult {
    let term: String = term.chars().take(60).collect();
    CheckResult::invalid(
        "keyword_alias",
        format!("凭证内嵌的 @context 把 {term} 定义为关键字 {keyword} 的别名：显示的内容可能与签名覆盖的不一致"),
        format!(
            "an inline @context makes {term} an alias of the keyword {keyword}: what is shown may differ from what is signed"
        ),
    )
}
