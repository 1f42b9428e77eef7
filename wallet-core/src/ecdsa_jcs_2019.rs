//! `ecdsa-jcs-2019` (W3C Data Integrity ECDSA Cryptosuites v1.0 §3.4): the
//! unsecured document and the proof configuration are canonicalised with JCS
//! (RFC 8785, [`crate::jcs`]) instead of RDF, hashed with SHA-256 (P-256 key)
//! or SHA-384 (P-384 key), and the signature covers
//! `hash(proof configuration) ‖ hash(document)`.
//!
//! * Sign ([`sign`]): the proof configuration carries the document's
//!   `@context` (§3.4.5), `created` to the second, `proofPurpose`
//!   `assertionMethod`; the signature is IEEE P1363 `r ‖ s`, multibase
//!   base58btc (`z…`).
//! * Verify ([`verify`]): one proof object; when the proof has an `@context`,
//!   the document's `@context` must be the same values in the same order
//!   (stricter than §3.4.2's "starts with": see `same_context`). The key is
//!   the `did:key` of `verificationMethod` (P-256 `zDn…` or P-384 `z82…`).
//!
//! Bounds before any work: the document's nesting and size
//! ([`crate::canonical::check_json_limits`], then [`crate::jcs`]'s own), a
//! `proofValue` of at most [`MAX_PROOF_VALUE_CHARS`] characters (base58
//! decoding is quadratic) and a `did:key` of at most
//! [`crate::keys::MAX_DID_KEY_ID_CHARS`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384};

use crate::jcs::{self, JcsError};
use crate::localized::Localized;
use crate::p384_key::{P384IssuerKey, P384_PUB_MULTICODEC};
use crate::signer::IssuerSigner;

/// The suite's name.
pub const CRYPTOSUITE: &str = "ecdsa-jcs-2019";
/// Longest `proofValue` read: a P-384 signature (96 bytes) is 132 base58 characters.
pub const MAX_PROOF_VALUE_CHARS: usize = 140;

const P256_PUB_MULTICODEC: [u8; 2] = [0x80, 0x24];

/// Why an `ecdsa-jcs-2019` proof could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsProofError {
    /// The document is not a JSON object.
    #[error("the document is not a JSON object")]
    NotAnObject,
    /// Signing a document that already has a proof.
    #[error("the document already has a proof")]
    AlreadySigned,
    /// The document or proof has no JCS form within the bounds.
    #[error(transparent)]
    Canonicalization(#[from] JcsError),
    /// Beyond the JSON limits shared with the other suites.
    #[error("the document is too deep or too large")]
    TooComplex,
    /// A proof without the members this suite requires, or not of this suite.
    #[error("the proof cannot be read: {0}")]
    MalformedProof(String),
    /// The document's `@context` is not the proof's.
    #[error("the document's @context is not the proof's @context")]
    ContextMismatch,
    /// The verification method is not a P-256 or P-384 `did:key`.
    #[error("unsupported verification method: {0}")]
    UnsupportedKey(String),
    /// The signature does not verify.
    #[error("the signature does not match")]
    BadSignature,
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signer(String),
}

impl JcsProofError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::AlreadySigned => "already_signed",
            Self::Canonicalization(JcsError::TooDeep) => "document_too_deep",
            Self::Canonicalization(JcsError::TooLarge) | Self::TooComplex => "document_too_large",
            Self::Canonicalization(_) => "bad_number",
            Self::MalformedProof(_) => "unreadable_proof",
            Self::ContextMismatch => "proof_context_mismatch",
            Self::UnsupportedKey(_) => "unsupported_key",
            Self::BadSignature => "bad_signature",
            Self::Signer(_) => "signer_failed",
        }
    }

    /// For people, in Chinese and English.
    pub fn message(&self) -> Localized {
        let zh = match self {
            Self::NotAnObject => "文档不是 JSON 对象".to_owned(),
            Self::AlreadySigned => "文档已带签名".to_owned(),
            Self::Canonicalization(JcsError::TooDeep) => format!("文档嵌套超过 {} 层", jcs::MAX_DEPTH),
            Self::Canonicalization(JcsError::TooLarge) | Self::TooComplex => "文档过大".to_owned(),
            Self::Canonicalization(_) => "文档含有无法规范化的数字（JCS，RFC 8785）".to_owned(),
            Self::MalformedProof(_) => "签名信息无法读取".to_owned(),
            Self::ContextMismatch => "凭证的 @context 与签名的 @context 不一致".to_owned(),
            Self::UnsupportedKey(_) => "不支持的签名密钥（只支持 P-256、P-384 的 did:key）".to_owned(),
            Self::BadSignature => "签名无效：凭证内容被改动或不是由该密钥签发".to_owned(),
            Self::Signer(_) => "签名失败".to_owned(),
        };
        Localized::new(zh, self.to_string())
    }
}

/// A public key of the suite, with its hash.
#[derive(Debug, Clone)]
pub enum VerifyingKey {
    /// P-256, SHA-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384, SHA-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl VerifyingKey {
    /// The key a `did:key:zX#zX` verification method names.
    ///
    /// # Errors
    /// [`JcsProofError::UnsupportedKey`] for anything but a P-256 or P-384 did:key.
    pub fn from_verification_method(url: &str) -> Result<Self, JcsProofError> {
        let unsupported = || JcsProofError::UnsupportedKey(url.chars().take(120).collect());
        let rest = url.strip_prefix("did:key:").ok_or_else(unsupported)?;
        let (id, fragment) = rest.split_once('#').unwrap_or((rest, rest));
        if fragment != id || id.len() > crate::keys::MAX_DID_KEY_ID_CHARS {
            return Err(unsupported());
        }
        let bytes = id.strip_prefix('z').and_then(|b58| bs58::decode(b58).into_vec().ok()).ok_or_else(unsupported)?;
        if let Some(point) = bytes.strip_prefix(&P256_PUB_MULTICODEC[..]) {
            p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map(Self::P256).map_err(|_| unsupported())
        } else if let Some(point) = bytes.strip_prefix(&P384_PUB_MULTICODEC[..]) {
            p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map(Self::P384).map_err(|_| unsupported())
        } else {
            Err(unsupported())
        }
    }

    fn is_p384(&self) -> bool {
        matches!(self, Self::P384(_))
    }

    /// ES256 / ES384 over `message` (raw `r ‖ s`), through `ring` as the
    /// `ecdsa-rdfc-2019` fast path does (several times the RustCrypto crates'
    /// speed: `benches/jcs.rs`, `benches/sm2.rs`).
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JcsProofError> {
        let (algorithm, point) = match self {
            Self::P256(key) => {
                (&ring::signature::ECDSA_P256_SHA256_FIXED, key.to_encoded_point(false).as_bytes().to_vec())
            }
            Self::P384(key) => {
                (&ring::signature::ECDSA_P384_SHA384_FIXED, key.to_encoded_point(false).as_bytes().to_vec())
            }
        };
        ring::signature::UnparsedPublicKey::new(algorithm, point)
            .verify(message, signature)
            .map_err(|_| JcsProofError::BadSignature)
    }
}

/// Who signs an `ecdsa-jcs-2019` proof.
#[derive(Clone, Copy)]
pub enum SigningKey<'a> {
    /// A P-256 signer (a file key or a PKCS#11 token).
    P256(&'a dyn IssuerSigner),
    /// A P-384 key.
    P384(&'a P384IssuerKey),
}

impl SigningKey<'_> {
    /// The verification method URL its proofs name.
    pub fn verification_method(&self) -> String {
        match self {
            Self::P256(k) => k.verification_method(),
            Self::P384(k) => k.verification_method(),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JcsProofError> {
        match self {
            Self::P256(k) => k.sign_es256(message).map(|s| s.to_vec()).map_err(|e| JcsProofError::Signer(e.0)),
            Self::P384(k) => Ok(k.sign_es384(message)),
        }
    }
}

/// `hash(JCS(proof configuration)) ‖ hash(JCS(document))`, SHA-384 for a
/// P-384 key, else SHA-256 (§3.4.3).
///
/// # Errors
/// [`JcsProofError::Canonicalization`] beyond the JCS bounds.
pub fn hash_data(unsecured: &Value, proof_config: &Value, p384: bool) -> Result<Vec<u8>, JcsProofError> {
    let proof = jcs::canonicalize(proof_config)?;
    let document = jcs::canonicalize(unsecured)?;
    Ok(if p384 {
        [Sha384::digest(proof.as_bytes()).to_vec(), Sha384::digest(document.as_bytes()).to_vec()].concat()
    } else {
        [Sha256::digest(proof.as_bytes()).to_vec(), Sha256::digest(document.as_bytes()).to_vec()].concat()
    })
}

/// The proof configuration a signer makes for `unsecured` (§3.4.5).
pub fn proof_configuration(unsecured: &Map<String, Value>, verification_method: &str, created: DateTime<Utc>) -> Value {
    let mut config = Map::new();
    config.insert("type".into(), "DataIntegrityProof".into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    config.insert("created".into(), created.to_rfc3339_opts(SecondsFormat::Secs, true).into());
    config.insert("verificationMethod".into(), verification_method.into());
    config.insert("proofPurpose".into(), "assertionMethod".into());
    if let Some(context) = unsecured.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Value::Object(config)
}

/// Sign `unsecured` with `key` at `created`: the document with its proof.
///
/// # Errors
/// [`JcsProofError`]: not an object, already signed, beyond the bounds, or the signer failed.
pub fn sign(unsecured: &Value, key: SigningKey<'_>, created: DateTime<Utc>) -> Result<Value, JcsProofError> {
    let document = unsecured.as_object().ok_or(JcsProofError::NotAnObject)?;
    if document.contains_key("proof") {
        return Err(JcsProofError::AlreadySigned);
    }
    crate::canonical::check_json_limits(unsecured).map_err(|_| JcsProofError::TooComplex)?;
    let config = proof_configuration(document, &key.verification_method(), created);
    let hash = hash_data(unsecured, &config, matches!(key, SigningKey::P384(_)))?;
    let signature = key.sign(&hash)?;
    let mut proof = config;
    if let Value::Object(p) = &mut proof {
        p.insert("proofValue".into(), format!("z{}", bs58::encode(signature).into_string()).into());
    }
    let mut secured = document.clone();
    secured.insert("proof".into(), proof);
    Ok(Value::Object(secured))
}

/// Verify the one `ecdsa-jcs-2019` proof of `secured` (§3.4.2). The proof's
/// purpose, dates and the issuer's relation to the key are the caller's to
/// judge (`verify_credential` does, as for every suite).
///
/// # Errors
/// [`JcsProofError`] saying why it does not verify.
pub fn verify(secured: &Value) -> Result<(), JcsProofError> {
    let document = secured.as_object().ok_or(JcsProofError::NotAnObject)?;
    crate::canonical::check_json_limits(secured).map_err(|_| JcsProofError::TooComplex)?;
    let malformed = |why: &str| JcsProofError::MalformedProof(why.to_owned());
    let proof =
        document.get("proof").and_then(Value::as_object).ok_or_else(|| malformed("one proof object expected"))?;
    if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
        || proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE)
    {
        return Err(malformed("not a DataIntegrityProof of ecdsa-jcs-2019"));
    }
    if let Some(created) = proof.get("created") {
        created
            .as_str()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .ok_or_else(|| malformed("created is not a date-time"))?;
    }
    let proof_value = proof.get("proofValue").and_then(Value::as_str).ok_or_else(|| malformed("no proofValue"))?;
    let signature = proof_value
        .strip_prefix('z')
        .filter(|b58| b58.len() <= MAX_PROOF_VALUE_CHARS)
        .and_then(|b58| bs58::decode(b58).into_vec().ok())
        .ok_or_else(|| malformed("proofValue is not base58btc of a signature"))?;
    let method =
        proof.get("verificationMethod").and_then(Value::as_str).ok_or_else(|| malformed("no verificationMethod"))?;
    let key = VerifyingKey::from_verification_method(method)?;

    let mut options = proof.clone();
    options.remove("proofValue");
    let mut unsecured = document.clone();
    unsecured.remove("proof");
    if let Some(proof_context) = options.get("@context") {
        if !same_context(unsecured.get("@context"), proof_context) {
            return Err(JcsProofError::ContextMismatch);
        }
        unsecured.insert("@context".into(), proof_context.clone());
    }
    let hash = hash_data(&Value::Object(unsecured), &Value::Object(options), key.is_p384())?;
    key.verify(&hash, &signature)
}

/// Whether the document's `@context` is the proof's: the same values in the
/// same order, and no more. The specification (§3.4.2) lets the document's
/// continue after the proof's; an appended context is not signed, yet it can
/// change what a signed member means to a JSON-LD reader (a term named like an
/// enumeration value, `{"qualified": "https://…/unqualified"}`, turns the
/// signed `"examinationResult": "qualified"` into another IRI) while the JSON
/// shown stays the same. We sign one JCS proof alone (no proof chains that
/// add contexts), so nothing needs the extra room.
fn same_context(document: Option<&Value>, proof: &Value) -> bool {
    fn list(v: &Value) -> &[Value] {
        match v {
            Value::Array(items) => items,
            single => std::slice::from_ref(single),
        }
    }
    let Some(document) = document else { return false };
    list(document) == list(proof)
}

/// The verifier's signature check when a proof of `proof` (one object or a
/// set) is `ecdsa-jcs-2019`, else `None` (another suite's check runs).
/// Only a lone proof is checked; a proof set mixing it with others is refused.
pub(crate) fn check_signature(vc: &Value, proof: &Value) -> Option<crate::report::CheckResult> {
    let is_jcs = |p: &Value| p.get("cryptosuite").and_then(Value::as_str) == Some(CRYPTOSUITE);
    let result = match proof {
        Value::Array(set) if set.iter().any(is_jcs) => {
            Err(JcsProofError::MalformedProof("ecdsa-jcs-2019 proofs are checked alone, not in a proof set".into()))
        }
        single if is_jcs(single) => verify(vc),
        _ => return None,
    };
    Some(match result {
        Ok(()) => crate::report::CheckResult::Valid,
        Err(e) => {
            let message = e.message();
            crate::report::CheckResult::Invalid { code: e.code().to_owned(), reason: message }
        }
    })
}

/// Sign a credential as an issuer does: the data model checked first (as for
/// every other suite), the Data Integrity context added to a VC 1.1 document
/// (so its JSON-LD form, which the transparency log hashes, keeps the proof's
/// terms), then [`sign`].
///
/// # Errors
/// [`crate::issuance::IssueError`]: the data model's, or signing's as `Signing`.
pub fn sign_credential(
    types: &crate::credential_type::TypeRegistry,
    unsigned: &Value,
    key: SigningKey<'_>,
    created: DateTime<Utc>,
) -> Result<Value, crate::issuance::IssueError> {
    use crate::issuance::IssueError;
    if unsigned.get("proof").is_some() {
        return Err(IssueError::AlreadySigned);
    }
    crate::canonical::check_json_limits(unsigned).map_err(IssueError::TooComplex)?;
    crate::data_model::check_credential_with(&types.loader(), unsigned)?;
    let unsigned = crate::issuance::with_data_integrity_context(unsigned);
    sign(&unsigned, key, created).map_err(|e| IssueError::Signing(e.to_string()))
}
