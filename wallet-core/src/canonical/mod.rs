//! RDF Dataset Canonicalization (RDFC-1.0) of a JSON-LD document, exactly as
//! the `ecdsa-rdfc-2019` cryptosuite computes it before hashing — with a work
//! budget. Exposed so tests can compare our pipeline byte for byte with the
//! W3C spec vectors, and so digests of credentials do not depend on JSON key
//! order or whitespace.
//!
//! RDFC-1.0 tries every permutation of blank nodes it cannot tell apart: a
//! credential of a few hundred bytes (an array of nine identical `{"c": 1}`
//! objects) would keep `ssi`'s canonicaliser busy for most of a minute, and
//! forty would exhaust memory. So nothing here, and nothing that signs or
//! verifies, canonicalises without a budget:
//!
//! - [`check_json_limits`]: nesting depth ([`MAX_JSON_DEPTH`]) and size
//!   ([`MAX_DOCUMENT_BYTES`]) of the JSON itself;
//! - [`check_document`]: the document's RDF (as `ssi` expands it) canonicalised
//!   by [`budget`] — at most [`MAX_BLANK_NODES`] blank nodes, groups of at
//!   most [`MAX_INDISTINGUISHABLE`] indistinguishable ones, [`MAX_STEPS`]
//!   steps. Signing, the signature checks and the wallet's import call it
//!   before `ssi` does any proof work, and refuse with
//!   `document_too_complex` (or `document_too_deep` / `document_too_large`);
//! - [`canonical_nquads`] (the anchoring digest) is the budgeted algorithm
//!   itself, byte-identical to `ssi`'s on every real document.

pub mod budget;
mod bundled_expansion;
mod first_degree;
mod nquads;

use serde_json::Value;
use ssi_json_ld::syntax::Parse as _;
use ssi_json_ld::{CompactJsonLd, Expandable as _};
use ssi_rdf::{AnyLdEnvironment as _, LdEnvironment, LexicalQuad};

pub use self::budget::{Budget, Limit, Work, MAX_BLANK_NODES, MAX_INDISTINGUISHABLE, MAX_STEPS};
use crate::contexts::BundledLoader;
use crate::credential_type::TypeRegistry;
use crate::localized::Localized;

/// Deepest nesting of JSON objects and arrays accepted in a credential or
/// presentation: twice the deepest fixture (5 levels; `serde_json` itself
/// stops at 128). JSON-LD expansion recurses with ~130 KB of stack per level
/// (measured in a debug build): 16 levels overflowed a 2 MiB thread stack and
/// aborted the process, so this is checked before any JSON-LD processing.
pub const MAX_JSON_DEPTH: usize = 10;
/// Largest credential or presentation accepted, serialised (the services'
/// request bodies are capped at the same 256 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a document was not canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalizationError {
    /// Not valid JSON-LD for the bundled contexts, or not convertible to RDF.
    #[error("JSON-LD canonicalisation failed: {0}")]
    Invalid(String),
    /// Canonicalising it would take more work than any real credential needs.
    #[error("the document is too complex to canonicalise: {found} {} (at most {max})", .limit.describe().1)]
    TooComplex {
        /// The limit crossed.
        limit: Limit,
        /// What the document needed (at least).
        found: u64,
        /// The limit.
        max: u64,
    },
    /// Objects and arrays nested deeper than [`MAX_JSON_DEPTH`].
    #[error("the document is nested more than {max} levels deep")]
    TooDeep {
        /// [`MAX_JSON_DEPTH`].
        max: usize,
    },
    /// Larger than [`MAX_DOCUMENT_BYTES`] serialised.
    #[error("the document is larger than {max} bytes")]
    TooLarge {
        /// [`MAX_DOCUMENT_BYTES`].
        max: usize,
    },
}

impl CanonicalizationError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_json_ld",
            Self::TooComplex { .. } => "document_too_complex",
            Self::TooDeep { .. } => "document_too_deep",
            Self::TooLarge { .. } => "document_too_large",
        }
    }

    /// A limit refused the document (as opposed to invalid JSON-LD, which
    /// callers report as they did before: `ssi` finds the same problem).
    pub fn is_limit(&self) -> bool {
        !matches!(self, Self::Invalid(_))
    }

    /// For a person, in zh and en.
    pub fn message(&self) -> Localized {
        match self {
            Self::Invalid(d) => {
                Localized::new(format!("JSON-LD 处理失败：{d}"), format!("JSON-LD processing failed: {d}"))
            }
            Self::TooComplex { limit, found, max } => {
                let (zh, en) = limit.describe();
                Localized::new(
                    format!("文档结构过于复杂，拒绝处理（{zh}至少 {found}，上限 {max}）；真实凭证不会如此"),
                    format!(
                        "the document is too complex to process ({en}: at least {found}, limit {max}); \
                         no real credential is"
                    ),
                )
            }
            Self::TooDeep { max } => Localized::new(
                format!("文档嵌套层数超过 {max} 层，拒绝处理"),
                format!("the document is nested more than {max} levels deep"),
            ),
            Self::TooLarge { max } => Localized::new(
                format!("文档超过 {max} 字节，拒绝处理"),
                format!("the document is larger than {max} bytes"),
            ),
        }
    }
}

impl From<budget::Exceeded> for CanonicalizationError {
    fn from(e: budget::Exceeded) -> Self {
        Self::TooComplex { limit: e.limit, found: e.found, max: e.max }
    }
}

/// A document canonicalised within a budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// The canonical N-Quads: sorted lines, each ending in `\n`.
    pub nquads: String,
    /// The work it took.
    pub work: Work,
}

/// Nesting depth and size of the JSON itself, checked without recursion.
///
/// # Errors
/// [`CanonicalizationError::TooDeep`], [`CanonicalizationError::TooLarge`].
pub fn check_json_limits(document: &Value) -> Result<(), CanonicalizationError> {
    // The size is that of `serde_json`'s compact serialisation, counted in
    // the same walk instead of serialising (issue #16; the unit test holds
    // the two equal).
    let mut size = 0_usize;
    let mut stack = vec![(document, 1_usize)];
    while let Some((value, depth)) = stack.pop() {
        size += own_serialised_len(value);
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if depth > MAX_JSON_DEPTH {
            return Err(CanonicalizationError::TooDeep { max: MAX_JSON_DEPTH });
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    if size > MAX_DOCUMENT_BYTES {
        return Err(CanonicalizationError::TooLarge { max: MAX_DOCUMENT_BYTES });
    }
    Ok(())
}

/// The bytes `value` adds to `serde_json`'s compact serialisation besides
/// those of its children: a scalar whole; brackets and commas of an array;
/// braces, commas, keys and colons of an object.
fn own_serialised_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => escaped_len(s),
        Value::Array(a) => 2 + a.len().saturating_sub(1),
        Value::Object(o) => 2 + o.len().saturating_sub(1) + o.keys().map(|k| escaped_len(k) + 1).sum::<usize>(),
    }
}

/// Length of `s` as a JSON string in `serde_json`'s output (quotes, and
/// its escapes: two characters for `"`, `\\` and the five short controls, six
/// for the other controls).
fn escaped_len(s: &str) -> usize {
    // Byte by byte: every byte of a multi-byte character is >= 0x80 and
    // written as is, so the length is the byte length plus the escapes'.
    let mut len = 2 + s.len();
    for byte in s.bytes() {
        match byte {
            b'"' | b'\\' | 0x08 | 0x0c | b'\n' | b'\r' | b'\t' => len += 1,
            0x00..=0x1f => len += 5,
            _ => {}
        }
    }
    len
}

/// Parse a credential or presentation from JSON bytes within the JSON limits:
/// larger than [`MAX_DOCUMENT_BYTES`] or nested deeper than [`MAX_JSON_DEPTH`]
/// is refused with its own code (`serde_json`'s recursion limit, 128, would
/// otherwise surface as a syntax error).
///
/// # Errors
/// [`CanonicalizationError::TooLarge`], [`CanonicalizationError::TooDeep`];
/// [`CanonicalizationError::Invalid`] for bytes that are not JSON.
pub fn parse_document(bytes: &[u8]) -> Result<Value, CanonicalizationError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(CanonicalizationError::TooLarge { max: MAX_DOCUMENT_BYTES });
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => {
            check_json_limits(&value)?;
            Ok(value)
        }
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
            Err(CanonicalizationError::TooDeep { max: MAX_JSON_DEPTH })
        }
        Err(e) => Err(CanonicalizationError::Invalid(e.to_string())),
    }
}

/// The RDF quads of `document` as `ssi` produces them: JSON-LD expansion with
/// the bundled contexts, then conversion to RDF (blank nodes as generated labels).
pub(crate) async fn rdf_quads(
    loader: &BundledLoader,
    document: &Value,
) -> Result<Vec<LexicalQuad>, CanonicalizationError> {
    // The bundled contexts' fast path (issue #16); outside its subset, and for
    // every error, the generic path.
    if let Some(quads) = bundled_expansion::quads(loader, document).await {
        return Ok(quads);
    }
    generic_rdf_quads(loader, document).await
}

/// [`rdf_quads`] through `json-ld`'s expansion and `ssi`'s conversion alone.
async fn generic_rdf_quads(
    loader: &BundledLoader,
    document: &Value,
) -> Result<Vec<LexicalQuad>, CanonicalizationError> {
    let invalid = |e: &dyn std::fmt::Display| CanonicalizationError::Invalid(e.to_string());
    let text = serde_json::to_string(document).map_err(|e| invalid(&e))?;
    let (json, _) = ssi_json_ld::syntax::Value::parse_str(&text).map_err(|e| invalid(&e))?;
    let mut ld = LdEnvironment::default();
    // The policy `ssi` expands with (`CompactJsonLd::expand_with`).
    let options = ssi_json_ld::expansion::Options {
        policy: ssi_json_ld::expansion::Policy {
            invalid: ssi_json_ld::expansion::Action::Reject,
            allow_undefined: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let expanded = match crate::processed_contexts::expand(loader, &json, options).await {
        Some(expanded) => expanded,
        None => CompactJsonLd(json).expand_with(&mut ld, loader).await.map_err(|e| invalid(&e))?,
    };
    ld.quads_of(&expanded).map_err(|e| invalid(&e))
}

/// The canonical N-Quads of `document` through the bundled contexts' fast
/// path alone (`None`: outside its subset) and through the generic path
/// alone: what the differential test compares. Not for production use.
#[doc(hidden)]
pub async fn fast_and_generic_nquads(
    loader: &BundledLoader,
    document: &Value,
) -> (Option<Result<String, CanonicalizationError>>, Result<String, CanonicalizationError>) {
    let lines = |quads: Vec<LexicalQuad>| -> Result<String, CanonicalizationError> {
        Ok(budget::canonical_lines(&quads, Budget::default())?.0.concat())
    };
    let fast = bundled_expansion::quads(loader, document).await.map(lines);
    let generic = generic_rdf_quads(loader, document).await.and_then(lines);
    (fast, generic)
}

/// [`canonicalize_with`] the contexts of the shipped credential types.
///
/// # Errors
/// As [`canonicalize_with`].
pub async fn canonicalize(document: &Value, budget: Budget) -> Result<Canonical, CanonicalizationError> {
    canonicalize_with(&TypeRegistry::default().loader(), document, budget).await
}

/// Canonicalise `document` within `budget`, expanding it with the contexts
/// `loader` knows.
///
/// # Errors
/// [`CanonicalizationError`]: invalid JSON-LD, or a limit crossed (checked
/// before and during the work, never after it).
pub async fn canonicalize_with(
    loader: &BundledLoader,
    document: &Value,
    budget: Budget,
) -> Result<Canonical, CanonicalizationError> {
    check_json_limits(document)?;
    // The JSON-LD crates panic on percent escapes that are not UTF-8 (found by
    // fuzzing); refused here too, whoever calls first (the wallet's import does).
    crate::data_model::check_percent_escapes(document, "")
        .map_err(|e| CanonicalizationError::Invalid(e.to_string()))?;
    let quads = rdf_quads(loader, document).await?;
    let (nquads, work) = budget::canonical_text_of(&quads, budget)?;
    Ok(Canonical { nquads, work })
}

/// A signed document canonicalised within a budget, with the canonical
/// N-Quads of the same document without its `proof` (the *unsecured
/// document* a Data Integrity proof signs), read off the same RDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCanonical {
    /// The whole document (the anchoring digest is SHA-256 of its N-Quads).
    pub signed: Canonical,
    /// Without `proof`, when the proof is the one `sec:proof` graph of the
    /// document (otherwise `None`: canonicalise the unsecured document itself).
    pub unsecured: Option<String>,
    /// The proof configuration (the proof without `proofValue`, read in the
    /// document's `@context`, W3C vc-di-ecdsa §3.3.5), when the proof is one
    /// flat object of strings without a `@context` of its own: the proof
    /// graph's quads without the `proofValue` one (see [`proof_configuration_quads`]).
    /// Otherwise `None`: canonicalise the proof configuration itself.
    pub proof_config: Option<String>,
}

/// The `sec:proof` property: its value is a graph (`@container: @graph`).
const SECURITY_PROOF: &str = "https://w3id.org/security#proof";

/// The quads of the document without its `proof`, from those of the signed
/// document: JSON-LD turns a `proof` into one quad `(document, sec:proof, _:g)`
/// and the proof's quads inside the graph `_:g`, and nothing else; so without
/// them the rest are the unsecured document's quads (blank node labels aside,
/// which canonicalisation does not see). `None` unless there is exactly one
/// `sec:proof` quad in the default graph, whose object is a blank node used
/// nowhere but as that graph's name.
pub(crate) fn without_proof_graph(quads: &[LexicalQuad]) -> Option<Vec<&LexicalQuad>> {
    use ssi_json_ld::rdf_types::{Id, Term};
    let mut links = quads.iter().enumerate().filter(|(_, q)| q.1.as_str() == SECURITY_PROOF && q.3.is_none());
    let (link, link_quad) = links.next()?;
    if links.next().is_some() {
        return None;
    }
    let Term::Id(Id::Blank(graph)) = &link_quad.2 else { return None };
    let names_graph = |id: &Id| matches!(id, Id::Blank(b) if b == graph);
    let elsewhere = quads
        .iter()
        .enumerate()
        .any(|(i, q)| i != link && (names_graph(&q.0) || matches!(&q.2, Term::Id(id) if names_graph(id))));
    if elsewhere {
        return None;
    }
    Some(
        quads
            .iter()
            .enumerate()
            .filter(|(i, q)| *i != link && !q.3.as_ref().is_some_and(names_graph))
            .map(|(_, q)| q)
            .collect(),
    )
}

/// `sec:proofValue`: the one member of a proof that its configuration leaves out.
const SECURITY_PROOF_VALUE: &str = "https://w3id.org/security#proofValue";

/// The quads of the proof configuration, from those of the signed document,
/// for a `proof` that is one JSON object whose members are all strings and
/// that has no `@context` of its own. Such a proof is one node: in the signed
/// document it is expanded in the document's top-level context (a type-scoped
/// context of the credential does not propagate into it), then its own
/// type-scoped context, exactly as the proof configuration is expanded at the
/// top level; its quads are those in the proof graph, moved to the default
/// graph, less the `proofValue` quad. `None` when the shape does not hold (a
/// second proof graph, quads of more than one subject, a blank node object).
fn proof_configuration_quads(document: &Value, quads: &[LexicalQuad]) -> Option<Vec<LexicalQuad>> {
    use ssi_json_ld::rdf_types::{Id, Term};
    let proof = document.get("proof")?.as_object()?;
    if proof.contains_key("@context") || !proof.values().all(Value::is_string) {
        return None;
    }
    let mut links = quads.iter().filter(|q| q.1.as_str() == SECURITY_PROOF && q.3.is_none());
    let link = links.next()?;
    if links.next().is_some() {
        return None;
    }
    let Term::Id(Id::Blank(graph)) = &link.2 else { return None };
    let in_graph: Vec<&LexicalQuad> =
        quads.iter().filter(|q| matches!(&q.3, Some(Id::Blank(b)) if b == graph)).collect();
    let subject = &in_graph.first()?.0;
    let flat = in_graph.iter().all(|q| &q.0 == subject && !matches!(&q.2, Term::Id(Id::Blank(_))));
    flat.then(|| {
        in_graph
            .into_iter()
            .filter(|q| q.1.as_str() != SECURITY_PROOF_VALUE)
            .map(|q| ssi_json_ld::rdf_types::Quad(q.0.clone(), q.1.clone(), q.2.clone(), None))
            .collect()
    })
}

/// Canonicalise a signed `document` within `budget` (as [`canonicalize_with`])
/// and, from the same expansion, the document without its `proof` and the
/// proof configuration: one JSON-LD expansion serves the budget check, the
/// anchoring digest and both digests of the signature (issue #16).
///
/// # Errors
/// As [`canonicalize_with`].
pub async fn canonicalize_signed_with(
    loader: &BundledLoader,
    document: &Value,
    budget: Budget,
) -> Result<SignedCanonical, CanonicalizationError> {
    check_json_limits(document)?;
    canonicalize_signed_within_limits(loader, document, budget).await
}

/// [`canonicalize_signed_with`] for a document the caller has just held to
/// [`check_json_limits`] (the verification, which checks them first).
pub(crate) async fn canonicalize_signed_within_limits(
    loader: &BundledLoader,
    document: &Value,
    budget: Budget,
) -> Result<SignedCanonical, CanonicalizationError> {
    crate::data_model::check_percent_escapes(document, "")
        .map_err(|e| CanonicalizationError::Invalid(e.to_string()))?;
    let quads = rdf_quads(loader, document).await?;
    let (nquads, work) = budget::canonical_text_of(&quads, budget)?;
    let unsecured = match without_proof_graph(&quads) {
        Some(unsecured) => Some(budget::canonical_text_of(&unsecured, budget)?.0),
        None => None,
    };
    let proof_config = match proof_configuration_quads(document, &quads) {
        Some(config) => Some(budget::canonical_text_of(&config, budget)?.0),
        None => None,
    };
    Ok(SignedCanonical { signed: Canonical { nquads, work }, unsecured, proof_config })
}

/// The canonical N-Quads of `document`: sorted lines, each ending in `\n`;
/// byte-identical to what `ssi` signs, within the default [`Budget`].
///
/// # Errors
/// [`CanonicalizationError`] when the document cannot be expanded with the
/// bundled contexts or turned into RDF, or is beyond the budget.
pub async fn canonical_nquads(document: &Value) -> Result<String, CanonicalizationError> {
    canonical_nquads_with(&TypeRegistry::default().loader(), document).await
}

/// [`canonical_nquads`] with the contexts `loader` knows.
///
/// # Errors
/// As [`canonical_nquads`].
pub async fn canonical_nquads_with(loader: &BundledLoader, document: &Value) -> Result<String, CanonicalizationError> {
    Ok(canonicalize_with(loader, document, Budget::default()).await?.nquads)
}

/// The pre-check before `ssi` canonicalises `document` (to sign or verify
/// it): JSON limits, then our canonicalisation within the default budget.
/// Returns the work it took.
///
/// # Errors
/// As [`canonicalize`]; callers refuse on [`CanonicalizationError::is_limit`].
pub async fn check_document(document: &Value) -> Result<Work, CanonicalizationError> {
    check_document_with(&TypeRegistry::default().loader(), document).await
}

/// [`check_document`] with the contexts `loader` knows.
///
/// # Errors
/// As [`canonicalize_with`]; callers refuse on [`CanonicalizationError::is_limit`].
pub async fn check_document_with(loader: &BundledLoader, document: &Value) -> Result<Work, CanonicalizationError> {
    Ok(canonicalize_with(loader, document, Budget::default()).await?.work)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The size `check_json_limits` counts is `serde_json`'s compact output's.
    #[test]
    fn the_counted_size_is_the_serialised_size() {
        let counted = |v: &Value| {
            let mut size = 0;
            let mut stack = vec![v];
            while let Some(value) = stack.pop() {
                size += own_serialised_len(value);
                match value {
                    Value::Array(a) => stack.extend(a.iter()),
                    Value::Object(o) => stack.extend(o.values()),
                    _ => {}
                }
            }
            size
        };
        let mut documents = vec![
            json!({"a": [1, -2, 3.5, 1e300, -0.0, 18446744073709551615_u64, true, false, null], "": {}, "b": []}),
            json!("quote \" backslash \\ controls \u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f} del \u{7f} 中文 😀"),
            json!([[[]], {"k\n\"": "v"}]),
        ];
        let mut stack = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap_or_default()) {
                documents.push(v);
            }
        }
        assert!(documents.len() > 100);
        for v in &documents {
            assert_eq!(counted(v), serde_json::to_vec(v).unwrap().len(), "{v}");
        }
        // And the limit, at the boundary.
        let at = |n: usize| json!("x".repeat(n - 2));
        assert!(check_json_limits(&at(MAX_DOCUMENT_BYTES)).is_ok());
        assert_eq!(
            check_json_limits(&at(MAX_DOCUMENT_BYTES + 1)),
            Err(CanonicalizationError::TooLarge { max: MAX_DOCUMENT_BYTES })
        );
    }
}
