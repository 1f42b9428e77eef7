//! RDF Dataset Canonicalization (RDFC-1.0) of a JSON-LD document, exactly as
//! the `ecdsa-rdfc-2019` cryptosuite computes it before hashing. Exposed so
//! tests can compare our pipeline byte for byte with the W3C spec vectors, and
//! so digests of credentials do not depend on JSON key order or whitespace.

use serde_json::Value;
use ssi::json_ld::syntax::Parse as _;
use ssi::json_ld::{CompactJsonLd, Expandable as _};
use ssi::rdf::{AnyLdEnvironment as _, LdEnvironment};

use crate::contexts::BundledLoader;

/// Canonicalisation failed (unknown context, invalid JSON-LD).
#[derive(Debug, thiserror::Error)]
#[error("JSON-LD canonicalisation failed: {0}")]
pub struct CanonicalizationError(pub String);

/// The canonical N-Quads of `document`: sorted lines, each ending in `\n`.
///
/// # Errors
/// [`CanonicalizationError`] when the document cannot be expanded with the
/// bundled contexts or turned into RDF.
pub async fn canonical_nquads(document: &Value) -> Result<String, CanonicalizationError> {
    let text = serde_json::to_string(document).map_err(|e| CanonicalizationError(e.to_string()))?;
    let (json, _) = ssi::json_ld::syntax::Value::parse_str(&text).map_err(|e| CanonicalizationError(e.to_string()))?;
    let doc = CompactJsonLd(json);
    let mut ld = LdEnvironment::default();
    let expanded = doc.expand_with(&mut ld, &BundledLoader).await.map_err(|e| CanonicalizationError(e.to_string()))?;
    let lines = ld.canonical_form_of(&expanded).map_err(|e| CanonicalizationError(e.to_string()))?;
    Ok(lines.concat())
}
