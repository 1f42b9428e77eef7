//! The transformation step shared by the RDFC-based Data Integrity
//! cryptosuites (`ecdsa-rdfc-2019` and our `sm2-rdfc-2026`, W3C vc-di-ecdsa
//! §3.3.1–§3.3.5): what a proof signs, and the two digests of it that each
//! suite signs with its own hash function.

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
    let Some((document, proof)) = proof_of_suite(document, proof, cryptosuite) else {
        return Ok(None);
    };
    let mut unsecured = document.clone();
    unsecured.remove("proof");
    Ok(Some(CanonicalParts {
        proof_config: canonical_nquads_with(loader, &proof_configuration(document, proof)).await?,
        document: canonical_nquads_with(loader, &Value::Object(unsecured)).await?,
    }))
}

type JsonObject = serde_json::Map<String, Value>;

/// `document` and `proof` as objects when `proof` is a `DataIntegrityProof`
/// of `cryptosuite`; else `None` (another suite decides).
fn proof_of_suite<'a>(
    document: &'a Value,
    proof: &'a Value,
    cryptosuite: &str,
) -> Option<(&'a JsonObject, &'a JsonObject)> {
    let (document, proof) = (document.as_object()?, proof.as_object()?);
    let of_suite = proof.get("type").and_then(Value::as_str) == Some("DataIntegrityProof")
        && proof.get("cryptosuite").and_then(Value::as_str) == Some(cryptosuite);
    of_suite.then_some((document, proof))
}

/// The proof configuration: the proof without `proofValue`, with the
/// document's `@context` (§3.3.5).
fn proof_configuration(document: &serde_json::Map<String, Value>, proof: &serde_json::Map<String, Value>) -> Value {
    let mut config = proof.clone();
    config.remove("proofValue");
    match document.get("@context") {
        Some(context) => config.insert("@context".to_owned(), context.clone()),
        None => config.remove("@context"),
    };
    Value::Object(config)
}

/// [`hash_data_with`] when the canonical unsecured document is already known
/// (read off the signed document's RDF by
/// [`crate::canonical::canonicalize_signed_with`]): only the proof
/// configuration is canonicalised.
///
/// # Errors
/// When the proof configuration cannot be canonicalised within the budget.
pub async fn hash_data_with_unsecured(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
    cryptosuite: &str,
    unsecured: &str,
    digest: fn(&[u8]) -> [u8; 32],
) -> Result<Option<HashData>, CanonicalizationError> {
    let Some((document, proof)) = proof_of_suite(document, proof, cryptosuite) else {
        return Ok(None);
    };
    let config = canonical_nquads_with(loader, &proof_configuration(document, proof)).await?;
    Ok(Some(HashData { proof_config: digest(config.as_bytes()), document: digest(unsecured.as_bytes()) }))
}

/// [`hash_data_with_unsecured`] when the canonical proof configuration is
/// known too (both read off the signed document's RDF by
/// [`crate::canonical::canonicalize_signed_with`]): no canonicalisation at all.
/// `None` when `proof` is not a `DataIntegrityProof` object of `cryptosuite`.
pub fn hash_data_from_canonical(
    document: &Value,
    proof: &Value,
    cryptosuite: &str,
    unsecured: &str,
    proof_config: &str,
    digest: fn(&[u8]) -> [u8; 32],
) -> Option<HashData> {
    proof_of_suite(document, proof, cryptosuite)?;
    Some(HashData { proof_config: digest(proof_config.as_bytes()), document: digest(unsecured.as_bytes()) })
}

/// The two digests a proof signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashData {
    /// The digest of the canonical proof configuration.
    pub proof_config: [u8; 32],
    /// The digest of the canonical unsecured document.
    pub document: [u8; 32],
}

impl HashData {
    /// `proof_config ‖ document`, the message the signature covers.
    pub fn bytes(&self) -> [u8; 64] {
        let mut out = [0_u8; 64];
        let (first, second) = out.split_at_mut(32);
        first.copy_from_slice(&self.proof_config);
        second.copy_from_slice(&self.document);
        out
    }
}

/// The digests (`digest` of each canonical part) that `proof` signs over
/// `document`; `None` when `proof` is not a `DataIntegrityProof` object of
/// `cryptosuite`.
///
/// # Errors
/// When either part cannot be canonicalised within the budget.
pub async fn hash_data_with(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
    cryptosuite: &str,
    digest: fn(&[u8]) -> [u8; 32],
) -> Result<Option<HashData>, CanonicalizationError> {
    let Some(parts) = canonical_parts(loader, document, proof, cryptosuite).await? else {
        return Ok(None);
    };
    Ok(Some(HashData {
        proof_config: digest(parts.proof_config.as_bytes()),
        document: digest(parts.document.as_bytes()),
    }))
}
