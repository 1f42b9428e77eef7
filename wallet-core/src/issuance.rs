//! Issuance: a Data Integrity proof, cryptosuite `ecdsa-rdfc-2019` on P-256.
//!
//! The suite is named explicitly: `AnySuite::pick` would choose the older
//! `EcdsaSecp256r1Signature2019`. Only the proof produced by `ssi` is taken;
//! it is attached to the caller's JSON document untouched, so the credential we
//! hand out is byte-for-byte the document that was canonicalised and signed.

use chrono::{DateTime, Utc};
use serde_json::Value;
use ssi_claims_core::SignatureEnvironment;
use ssi_data_integrity::{AnySuite, CryptographicSuite, ProofOptions};
use ssi_verification_methods::AnyMethod;

use crate::canonical::CanonicalizationError;
use crate::contexts::{BundledLoader, CREDENTIALS_V2, DATA_INTEGRITY_V2};
use crate::credential::format_timestamp;
use crate::credential_type::TypeRegistry;
use crate::data_model::{self, DataModelError};
use crate::did_key::DidKeyResolver;
use crate::ld_claims::LdClaims;
use crate::signer::{IssuerSigner, SsiSigner};

/// Why a credential could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The unsigned credential breaks a VC Data Model rule.
    #[error("invalid credential: {0}")]
    DataModel(#[from] DataModelError),
    /// The document already carries a proof.
    #[error("the credential already has a proof")]
    AlreadySigned,
    /// `ssi` could not read the document as a credential.
    #[error("not a credential: {0}")]
    NotACredential(String),
    /// The document is beyond the canonicalisation budget (or the JSON
    /// limits): refused before signing, see [`crate::canonical`].
    #[error("{0}")]
    TooComplex(CanonicalizationError),
    /// Signing failed (canonicalisation or key problem).
    #[error("signing failed: {0}")]
    Signing(String),
}

impl IssueError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DataModel(e) => e.code,
            Self::AlreadySigned => "already_signed",
            Self::NotACredential(_) => "not_a_credential",
            Self::TooComplex(e) => e.code(),
            Self::Signing(_) => "signing_failed",
        }
    }
}

impl From<crate::one_pass_signing::Failure> for IssueError {
    fn from(failure: crate::one_pass_signing::Failure) -> Self {
        use crate::one_pass_signing::Failure;
        match failure {
            Failure::NotACredential(why) => Self::NotACredential(why),
            Failure::TooComplex(e) => Self::TooComplex(e),
            Failure::Signing(why) => Self::Signing(why),
        }
    }
}

/// VC 1.1 documents do not define `DataIntegrityProof`: as the Data Integrity
/// spec requires, add the data-integrity/v2 context when neither it nor the
/// VC 2.0 context (which includes it) is present.
pub(crate) fn with_data_integrity_context(unsigned: &Value) -> Value {
    let mut doc = unsigned.clone();
    let has = |ctx: &Value, url: &str| match ctx {
        Value::String(s) => s == url,
        Value::Array(a) => a.iter().any(|c| c == url),
        _ => false,
    };
    if let Some(ctx) = doc.get_mut("@context") {
        if !has(ctx, CREDENTIALS_V2) && !has(ctx, DATA_INTEGRITY_V2) {
            match ctx {
                Value::Array(a) => a.push(Value::String(DATA_INTEGRITY_V2.into())),
                other => *other = Value::Array(vec![other.clone(), Value::String(DATA_INTEGRITY_V2.into())]),
            }
        }
    }
    doc
}

/// Sign an unsigned W3C credential (VC 2.0, or 1.1 for the W3C suites' sake)
/// with `key` (any [`IssuerSigner`]: a key in memory or in a token), proof `created` at the given time. Returns the signed document:
/// the input with a `proof` member appended.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_credential(
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<Value, IssueError> {
    sign_credential_with(&TypeRegistry::default(), unsigned, key, created).await
}

/// [`sign_credential`] with the contexts of `types` (the generated contexts of
/// its credential type definitions besides the bundled ones).
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_credential_with(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<Value, IssueError> {
    Ok(sign_credential_anchored(types, unsigned, key, created).await?.signed)
}

/// [`sign_credential_with`], with the anchoring digest of the signed
/// credential (what [`crate::transparency::credential_digest_with`] gives)
/// read off the same expansion: see [`crate::one_pass_signing`].
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_credential_anchored(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<crate::one_pass_signing::AnchoredCredential, IssueError> {
    let loader = types.loader();
    check_unsigned_syntax(&loader, unsigned)?;
    let with_context = with_data_integrity_context(unsigned);
    let signed = sign_checked_with_issuer_suite(&loader, &with_context, key, created).await;
    // One expansion per issued credential (issue #16), as in the verification:
    // the signing expansion (`ssi`'s stricter policy) succeeding implies the data
    // model's expansion rules for the same document. When the data-integrity
    // context was added (other terms defined) or signing failed, the data
    // model's own expansion runs, so its verdict and error stay what
    // `check_unsigned_credential` gives (test `single_expansion`).
    if signed.is_err() || with_context != *unsigned {
        data_model::check_credential_expansion_with(&loader, unsigned)?;
    }
    signed
}

/// [`sign_credential_anchored`] for a credential the caller has just put
/// through [`check_unsigned_credential`] itself, adding nothing but the
/// `credentialStatus` entries of [`crate::status`] (the issuer's VC-API route
/// checks before it allocates them, so that bad input wastes no index): the
/// data-model check is not run a second time.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_checked_credential_anchored(
    types: &TypeRegistry,
    checked: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<crate::one_pass_signing::AnchoredCredential, IssueError> {
    if checked.get("proof").is_some() {
        return Err(IssueError::AlreadySigned);
    }
    crate::canonical::check_json_limits(checked).map_err(IssueError::TooComplex)?;
    sign_checked_with_issuer_suite(&types.loader(), &with_data_integrity_context(checked), key, created).await
}

/// The issuer key's own suite: `sm2-rdfc-2026` for an SM2 issuer (then the
/// digest is the signed credential's, canonicalised once more), else
/// `ecdsa-rdfc-2019` in one pass ([`crate::one_pass_signing`]).
async fn sign_checked_with_issuer_suite(
    loader: &BundledLoader,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<crate::one_pass_signing::AnchoredCredential, IssueError> {
    let Some(sm2) = key.sm2_credential_key() else {
        return Ok(crate::one_pass_signing::sign(loader, unsigned, key, created).await?);
    };
    refuse_beyond_budget(loader, unsigned).await?;
    let signed = crate::sm2_rdfc_2026::sign_with(loader, unsigned, sm2, created)
        .await
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    let digest = crate::transparency::credential_digest_with(loader, &signed)
        .await
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    Ok(crate::one_pass_signing::AnchoredCredential { signed, digest })
}

/// What is checked before a credential is signed: no proof yet, the JSON
/// limits, the VC Data Model rules.
///
/// # Errors
/// [`IssueError::AlreadySigned`], [`IssueError::TooComplex`], [`IssueError::DataModel`].
pub fn check_unsigned_credential(loader: &BundledLoader, unsigned: &Value) -> Result<(), IssueError> {
    check_unsigned_syntax(loader, unsigned)?;
    data_model::check_credential_expansion_with(loader, unsigned)?;
    Ok(())
}

/// [`check_unsigned_credential`] but the data model's JSON-LD expansion.
fn check_unsigned_syntax(loader: &BundledLoader, unsigned: &Value) -> Result<(), IssueError> {
    if unsigned.get("proof").is_some() {
        return Err(IssueError::AlreadySigned);
    }
    crate::canonical::check_json_limits(unsigned).map_err(IssueError::TooComplex)?;
    data_model::check_credential_syntax_with(loader, unsigned)?;
    Ok(())
}

/// `ssi`'s `ecdsa-rdfc-2019` signature of `unsigned`: the reference
/// [`sign_credential_with`] is held to, byte for byte, by the differential
/// test (`tests/suite/one_pass_signing.rs`). Not for production use.
///
/// # Errors
/// See [`IssueError`].
#[doc(hidden)]
pub async fn sign_credential_with_ssi(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<Value, IssueError> {
    let loader = types.loader();
    check_unsigned_credential(&loader, unsigned)?;
    let unsigned = &with_data_integrity_context(unsigned);
    refuse_beyond_budget(&loader, unsigned).await?;
    if key.sm2_credential_key().is_some() {
        return Err(IssueError::Signing("the ssi reference signs ecdsa-rdfc-2019 only".into()));
    }
    let credential = LdClaims::from_json(unsigned).map_err(IssueError::NotACredential)?;
    let resolver = DidKeyResolver;
    let signer = ssi_verification_methods::LocalSigner(SsiSigner(key));
    let options = proof_options(key, created)?;
    let environment = SignatureEnvironment { json_ld_loader: loader, eip712_loader: () };
    let signed = AnySuite::EcdsaRdfc2019
        .sign_with(environment, credential, resolver, signer, options, Default::default())
        .await
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    with_proof(unsigned, &signed.proofs)
}

/// `ssi` canonicalises without a budget: a document beyond ours (or the JSON
/// limits) is refused before signing. Invalid JSON-LD is left to `ssi`.
pub(crate) async fn refuse_beyond_budget(loader: &BundledLoader, unsigned: &Value) -> Result<(), IssueError> {
    match crate::canonical::check_document_with(loader, unsigned).await {
        Err(e) if e.is_limit() => Err(IssueError::TooComplex(e)),
        _ => Ok(()),
    }
}

/// What a presentation proof is for (`proofPurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentationPurpose {
    /// `authentication`: the holder proves control of its key to a relying
    /// party (the only purpose a verifier accepts on a presentation).
    Authentication,
    /// `assertionMethod`: an issuer's purpose; a verifier refuses it on a
    /// presentation (kept so tests can make one).
    AssertionMethod,
}

/// Sign an unsigned W3C presentation (VC 2.0) as its holder with `key`:
/// an `ecdsa-rdfc-2019` proof over the relying party's `challenge` and
/// `domain` (when given), with `purpose`.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_presentation(
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
    challenge: Option<&str>,
    domain: Option<&str>,
    purpose: PresentationPurpose,
) -> Result<Value, IssueError> {
    sign_presentation_with(&TypeRegistry::default(), unsigned, key, created, challenge, domain, purpose).await
}

/// [`sign_presentation`] with the contexts of `types`.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_presentation_with(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
    challenge: Option<&str>,
    domain: Option<&str>,
    purpose: PresentationPurpose,
) -> Result<Value, IssueError> {
    if unsigned.get("proof").is_some() {
        return Err(IssueError::AlreadySigned);
    }
    let loader = types.loader();
    crate::canonical::check_json_limits(unsigned).map_err(IssueError::TooComplex)?;
    data_model::check_presentation_with(&loader, unsigned)?;
    refuse_beyond_budget(&loader, unsigned).await?;
    let presentation = LdClaims::from_json(unsigned).map_err(IssueError::NotACredential)?;
    let resolver = DidKeyResolver;
    let signer = ssi_verification_methods::LocalSigner(SsiSigner(key));
    let mut options = proof_options(key, created)?;
    options.proof_purpose = match purpose {
        PresentationPurpose::Authentication => ssi_verification_methods::ProofPurpose::Authentication,
        PresentationPurpose::AssertionMethod => ssi_verification_methods::ProofPurpose::Assertion,
    };
    options.challenge = challenge.map(str::to_owned);
    options.domains = domain.into_iter().map(str::to_owned).collect();
    let environment = SignatureEnvironment { json_ld_loader: loader, eip712_loader: () };
    let signed = AnySuite::EcdsaRdfc2019
        .sign_with(environment, presentation, resolver, signer, options, Default::default())
        .await
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    with_proof(unsigned, &signed.proofs)
}

/// `ecdsa-rdfc-2019` proof options for `key`'s verification method, created at `created`.
fn proof_options(
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<ProofOptions<AnyMethod, ssi_data_integrity::AnyInputSuiteOptions>, IssueError> {
    if key.sm2_credential_key().is_some() {
        // Its verification method names the SM2 key: no ECDSA proof can match it.
        return Err(IssueError::Signing("an SM2 issuer signs credentials with sm2-rdfc-2026 only".into()));
    }
    let vm = ssi_verification_methods::ReferenceOrOwned::Reference(
        key.verification_method().parse().map_err(|_| IssueError::Signing("bad verification method".into()))?,
    );
    let mut options = ProofOptions::from_method(vm);
    options.created =
        Some(format_timestamp(created).parse().map_err(|_| IssueError::Signing("bad created time".into()))?);
    Ok(options)
}

/// `unsigned` with `proofs` as its `proof` (one proof as an object, as the VC spec's examples show it).
pub(crate) fn with_proof(unsigned: &Value, proofs: &impl serde::Serialize) -> Result<Value, IssueError> {
    let proof = match serde_json::to_value(proofs).map_err(|e| IssueError::Signing(e.to_string()))? {
        Value::Array(mut a) if a.len() == 1 => a.remove(0),
        other => other,
    };
    let mut out = unsigned.clone();
    if let Value::Object(map) = &mut out {
        map.insert("proof".into(), proof);
    }
    Ok(out)
}
