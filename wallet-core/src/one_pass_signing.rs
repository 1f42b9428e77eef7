//! `ecdsa-rdfc-2019` signing with one expansion of the credential (issue #16).
//!
//! Issuing used to expand and canonicalise the same credential four times: the
//! budget check, `ssi`'s signature (the unsecured document, then the proof
//! configuration, each expanded from the context text up), and the anchoring
//! digest (the signed document, once more). Here the steps are the
//! specification's (W3C vc-di-ecdsa §3.3), each done once:
//!
//! 1. the credential is expanded **as it will be signed**: with its `proof`,
//!    whose `proofValue` is a placeholder ([`PENDING_PROOF_VALUE`]), through the
//!    kept processed contexts ([`crate::canonical`]'s expansion);
//! 2. the *unsecured document*'s quads are those quads without the `sec:proof`
//!    link and the proof graph (the reading [`crate::canonical::canonicalize_signed_with`]
//!    gives verifiers), canonicalised within the budget;
//! 3. the *proof configuration* (small) is canonicalised on its own, and kept:
//!    it changes only with `created` (whole seconds), so the issuances of one
//!    second share it; `hashData = SHA-256(config) ‖ SHA-256(document)` is signed;
//! 4. the anchoring digest is SHA-256 of the canonical N-Quads of the quads of
//!    step 1 with the placeholder's literal text replaced by the real
//!    `proofValue`: JSON-LD turns a string value into a literal whose text is
//!    the string and nothing else depends on it, so these are the quads of the
//!    signed credential.
//!
//! Held to `ssi` by the differential test (`tests/suite/one_pass_signing.rs`):
//! the same signed bytes as `ssi`'s signature and the same digest as
//! canonicalising the signed credential, over every shipped type and many
//! generated credentials.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use ssi_json_ld::rdf_types::{Id, Term};
use ssi_rdf::LexicalQuad;

use crate::canonical::{self, Budget, CanonicalizationError};
use crate::contexts::{self, BundledLoader};
use crate::credential::format_timestamp;
use crate::signer::IssuerSigner;
use crate::transparency::Hash;

/// The `proofValue` the credential is expanded with before it is signed.
pub const PENDING_PROOF_VALUE: &str = "z";

/// `sec:proofValue`.
const PROOF_VALUE: &str = "https://w3id.org/security#proofValue";

/// A credential signed with `ecdsa-rdfc-2019`, with its anchoring digest.
#[derive(Debug, Clone)]
pub struct AnchoredCredential {
    /// The credential with its `proof`.
    pub signed: Value,
    /// SHA-256 of the signed credential's canonical N-Quads (the digest its
    /// transparency-log entry carries).
    pub digest: Hash,
}

/// Why signing failed (the caller, `crate::issuance`, reports it as its `IssueError` of the same name).
#[derive(Debug)]
pub(crate) enum Failure {
    /// Not valid JSON-LD, or not an object.
    NotACredential(String),
    /// Beyond the JSON limits or the canonicalisation budget.
    TooComplex(CanonicalizationError),
    /// The key could not sign, or the expansion is not what signing expects.
    Signing(String),
}

fn refused(e: CanonicalizationError) -> Failure {
    match e {
        CanonicalizationError::Invalid(why) => Failure::NotACredential(why),
        limit => Failure::TooComplex(limit),
    }
}

/// Sign `unsigned` (checked by the caller: no proof, the data model, the
/// data-integrity context present) with `key` at `created`.
///
/// # Errors
/// [`Failure::TooComplex`] beyond the budget, [`Failure::NotACredential`]
/// for a document that is not valid JSON-LD, [`Failure::Signing`].
pub(crate) async fn sign(
    loader: &BundledLoader,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<AnchoredCredential, Failure> {
    let Value::Object(document) = unsigned else {
        return Err(Failure::NotACredential("not a JSON object".into()));
    };
    let proof = proof_options(key, created);
    let mut pending_proof = proof.clone();
    pending_proof.insert("proofValue".into(), PENDING_PROOF_VALUE.into());
    let mut pending = document.clone();
    pending.insert("proof".into(), Value::Object(pending_proof));
    let pending = Value::Object(pending);
    canonical::check_json_limits(&pending).map_err(Failure::TooComplex)?;
    crate::data_model::check_percent_escapes(&pending, "").map_err(|e| Failure::NotACredential(e.to_string()))?;

    let mut quads = canonical::rdf_quads(loader, &pending).await.map_err(refused)?;
    let unsecured = match canonical::without_proof_graph(&quads) {
        Some(unsecured) => canonical_nquads(&unsecured)?,
        // The credential itself holds a `sec:proof` elsewhere: expand it on its own.
        None => canonical_nquads(&canonical::rdf_quads(loader, unsigned).await.map_err(refused)?)?,
    };
    let config = canonical_proof_configuration(loader, &proof_configuration(document, &proof)).await?;

    let mut hash_data = [0_u8; 64];
    let (first, second) = hash_data.split_at_mut(32);
    first.copy_from_slice(&Sha256::digest(config.as_bytes()));
    second.copy_from_slice(&Sha256::digest(unsecured.as_bytes()));
    let signature = key.sign_es256(&hash_data).map_err(|e| Failure::Signing(e.0))?;
    let proof_value = format!("z{}", bs58::encode(signature).into_string());

    set_proof_value(&mut quads, &proof_value)?;
    let digest = Sha256::digest(canonical_nquads(&quads)?.as_bytes()).into();
    let mut proof = proof;
    proof.insert("proofValue".into(), proof_value.into());
    let mut signed = document.clone();
    signed.insert("proof".into(), Value::Object(proof));
    Ok(AnchoredCredential { signed: Value::Object(signed), digest })
}

/// Proof configurations kept at most (one per second and key is what is used).
const MAX_KEPT_CONFIGS: usize = 16;

/// Canonical proof configurations by their JSON text (see [`canonical_proof_configuration`]).
static KEPT_CONFIGS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Mutex::default);

/// The canonical N-Quads of a proof configuration, kept when its `@context`
/// lists bundled contexts only (then its JSON text fixes them: a generated
/// context is read from the loader, which another registry may fill otherwise).
async fn canonical_proof_configuration(loader: &BundledLoader, config: &Value) -> Result<String, Failure> {
    let bundled_only = match config.get("@context") {
        Some(Value::String(url)) => contexts::bundled_document(url).is_some(),
        Some(Value::Array(urls)) => {
            urls.iter().all(|u| u.as_str().is_some_and(|u| contexts::bundled_document(u).is_some()))
        }
        _ => false,
    };
    let text = config.to_string();
    if bundled_only {
        if let Some(kept) = KEPT_CONFIGS.lock().ok().and_then(|kept| kept.get(&text).cloned()) {
            return Ok(kept);
        }
    }
    let canonical = canonical::canonical_nquads_with(loader, config).await.map_err(refused)?;
    if bundled_only {
        if let Ok(mut kept) = KEPT_CONFIGS.lock() {
            if kept.len() >= MAX_KEPT_CONFIGS {
                kept.clear();
            }
            kept.insert(text, canonical.clone());
        }
    }
    Ok(canonical)
}

/// The canonical N-Quads of `quads` within the default budget.
fn canonical_nquads<Q: std::borrow::Borrow<LexicalQuad>>(quads: &[Q]) -> Result<String, Failure> {
    let (text, _) =
        canonical::budget::canonical_text_of(quads, Budget::default()).map_err(|e| Failure::TooComplex(e.into()))?;
    Ok(text)
}

/// The proof, without `proofValue`, in the member order `ssi` writes it.
fn proof_options(key: &dyn IssuerSigner, created: DateTime<Utc>) -> Map<String, Value> {
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), "ecdsa-rdfc-2019".into());
    proof.insert("created".into(), format_timestamp(created).into());
    proof.insert("verificationMethod".into(), key.verification_method().into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    proof
}

/// The proof configuration: the proof without `proofValue`, with the
/// document's `@context` (§3.3.5).
fn proof_configuration(document: &Map<String, Value>, proof: &Map<String, Value>) -> Value {
    let mut config = proof.clone();
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Value::Object(config)
}

/// Give the one `sec:proofValue` quad inside a named graph (the proof's)
/// the real value in place of [`PENDING_PROOF_VALUE`].
fn set_proof_value(quads: &mut [LexicalQuad], proof_value: &str) -> Result<(), Failure> {
    let mut pending = quads.iter_mut().filter(|q| {
        q.1.as_str() == PROOF_VALUE
            && matches!(q.3, Some(Id::Blank(_)))
            && matches!(&q.2, Term::Literal(l) if l.value == PENDING_PROOF_VALUE)
    });
    match (pending.next(), pending.next()) {
        (Some(quad), None) => {
            if let Term::Literal(literal) = &mut quad.2 {
                proof_value.clone_into(&mut literal.value);
            }
            Ok(())
        }
        _ => Err(Failure::Signing("the proof value is not one literal of the proof graph".into())),
    }
}
