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

use std::io::Write;

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
    let mut stack = vec![(document, 1_usize)];
    while let Some((value, depth)) = stack.pop() {
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
    let mut size = SizeCounter(0);
    // Writing to the counter cannot fail; a failure would only mean "too large".
    if serde_json::to_writer(&mut size, document).is_err() || size.0 > MAX_DOCUMENT_BYTES {
        return Err(CanonicalizationError::TooLarge { max: MAX_DOCUMENT_BYTES });
    }
    Ok(())
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

/// Counts bytes written, stopping at the limit.
struct SizeCounter(usize);

impl Write for SizeCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        if self.0 > MAX_DOCUMENT_BYTES {
            return Err(std::io::Error::other("too large"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The RDF quads of `document` as `ssi` produces them: JSON-LD expansion with
/// the bundled contexts, then conversion to RDF (blank nodes as generated labels).
pub(crate) async fn rdf_quads(
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
    let (lines, work) = budget::canonical_lines(&quads, budget)?;
    Ok(Canonical { nquads: lines.concat(), work })
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
pub(crate) fn without_proof_graph(quads: &[LexicalQuad]) -> Option<Vec<LexicalQuad>> {
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
            .map(|(_, q)| q.clone())
            .collect(),
    )
}

/// Canonicalise a signed `document` within `budget` (as [`canonicalize_with`])
/// and, from the same expansion, the document without its `proof`: one
/// JSON-LD expansion serves the budget check, the anchoring digest and the
/// signature's document hash (issue #16).
///
/// # Errors
/// As [`canonicalize_with`].
pub async fn canonicalize_signed_with(
    loader: &BundledLoader,
    document: &Value,
    budget: Budget,
) -> Result<SignedCanonical, CanonicalizationError> {
    check_json_limits(document)?;
    crate::data_model::check_percent_escapes(document, "")
        .map_err(|e| CanonicalizationError::Invalid(e.to_string()))?;
    let quads = rdf_quads(loader, document).await?;
    let (lines, work) = budget::canonical_lines(&quads, budget)?;
    let unsecured = match without_proof_graph(&quads) {
        Some(unsecured) => Some(budget::canonical_lines(&unsecured, budget)?.0.concat()),
        None => None,
    };
    Ok(SignedCanonical { signed: Canonical { nquads: lines.concat(), work }, unsecured })
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
