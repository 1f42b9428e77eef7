//! The transformation step shared by the RDFC-based Data Integrity
//! cryptosuites (`ecdsa-rdfc-2019` and our `sm2-rdfc-2026`, W3C vc-di-ecdsa
//! §3.3.1–§3.3.5): what a proof signs, before each suite hashes it.

use serde_json::Value;

use crate::canonical::{canonical_nquads_with, CanonicalizationError};
use crate::contexts::BundledLoader;

/// The two canonical N-Quads documents a proof covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalParts {
    /// The proof configuration: the proof without `proofValue`, read in the
    /// document's `@context`.
    pub proof_config: String,
    /// The unsecured document: the document without `proof`.
    pub document: String,
}

/// The canonical proof configuration and unsecured document of `proof` over
/// `document`; `None` when `proof` is not a `DataIntegrityProof` object of
/// `cryptosuite` or `document` is not an object. `loader` holds the contexts
/// the documents may use.
///
/// # Errors
/// When either part cannot be canonicalised within the budget
/// ([`crate::canonical`]).
pub async fn canonical_parts(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
    cryptosuite: &str,
) -> Result<Option<CanonicalParts>, CanonicalizationError> {
    let (Some(document), Some(proof)) = (document.as_object(), proof.as_object()) else {
        return Ok(None);
    };
    if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
        || proof.get("cryptosuite").and_then(Value::as_str) != Some(cryptosuite)
    {
        return Ok(None);
    }
    let mut unsecured = document.clone();
    unsecured.remove("proof");
    let mut config = proof.clone();
    config.remove("proofValue");
    // The proof configuration is read in the document's context (§3.3.5).
    match document.get("@context") {
        Some(context) => config.insert("@context".to_owned(), context.clone()),
        None => config.remove("@context"),
    };
    Ok(Some(CanonicalParts {
        proof_config: canonical_nquads_with(loader, &Value::Object(config)).await?,
        document: canonical_nquads_with(loader, &Value::Object(unsecured)).await?,
    }))
}
