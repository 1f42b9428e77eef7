//! `sm2-rdfc-2026`: a Data Integrity cryptosuite with SM2 signatures
//! (GB/T 32918.2) and SM3 digests (GB/T 32905), beside `ecdsa-rdfc-2019`.
//! The specification is `specs/sm2-rdfc-2026.md`; in short:
//!
//! - the document and the proof configuration are canonicalised with
//!   RDFC-1.0 exactly as for `ecdsa-rdfc-2019` ([`crate::data_integrity`]);
//! - `hashData = SM3(canonical proof configuration) ‖ SM3(canonical document)`;
//! - the SM2 signature of `hashData` with the default distinguishing
//!   identifier `1234567812345678` (GB/T 35276), so the signed digest is
//!   `SM3(Z_A ‖ hashData)`;
//! - `proofValue` = multibase base58btc of the 64-byte `r ‖ s` (GB/T 35276's
//!   DER form converts losslessly: [`signature_to_der`], [`signature_from_der`]);
//! - the key is a `did:key` of multicodec `sm2-pub` (0x1206) + the 33-byte
//!   compressed point, and `verificationMethod` is `did:key:zX#zX`.
//!
//! Every input is bounded: the canonicalisation runs within the budget of
//! [`crate::canonical`], and keys and signatures have fixed lengths.

use chrono::{DateTime, SecondsFormat, Utc};
use der::asn1::UintRef;
use der::{Decode as _, Encode as _};
use serde_json::{Map, Value};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::sec1::ToEncodedPoint as _;
use sm2::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use sm3::{Digest as _, Sm3};

use crate::canonical::CanonicalizationError;
use crate::contexts::BundledLoader;
use crate::credential_type::TypeRegistry;
use crate::data_integrity;
pub use crate::data_integrity::HashData;

/// The `cryptosuite` value of this suite's proofs.
pub const CRYPTOSUITE: &str = "sm2-rdfc-2026";

/// The signer's distinguishing identifier (GB/T 35276-2017 §5.2's default
/// `1234567812345678`), hashed into `Z_A`.
pub const DISTINGUISHING_ID: &str = "1234567812345678";

/// Multicodec varint prefix of a compressed SM2 public key (`sm2-pub`, 0x1206).
const SM2_PUB_MULTICODEC: [u8; 2] = [0x86, 0x24];

/// Errors of this suite.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Sm2Error {
    /// The PEM/PKCS#8 document is not an SM2 private key.
    #[error("not an SM2 PKCS#8 private key: {0}")]
    InvalidPrivateKey(String),
    /// A `did:key` (or verification method) that is not an SM2 key.
    #[error("not an SM2 did:key verification method: {0}")]
    NotSm2DidKey(String),
    /// The document is not a JSON object, or already carries a proof.
    #[error("only an unsigned JSON object can be signed")]
    NotSignable,
    /// The document has no single `sm2-rdfc-2026` `DataIntegrityProof`.
    #[error("no sm2-rdfc-2026 DataIntegrityProof")]
    NotThisSuite,
    /// The proof is not for `assertionMethod`.
    #[error("proofPurpose must be assertionMethod")]
    ProofPurpose,
    /// `proofValue` is not multibase base58btc of 64 bytes `r ‖ s` in range.
    #[error("proofValue is not a base58btc SM2 signature")]
    ProofValue,
    /// A DER signature that is not `SEQUENCE { INTEGER r, INTEGER s }` of
    /// 32-byte values.
    #[error("not a DER SM2 signature")]
    DerSignature,
    /// The document or the proof configuration cannot be canonicalised.
    #[error(transparent)]
    Canonicalization(#[from] CanonicalizationError),
}

/// The outcome of checking a well-formed proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The signature matches the document, the proof configuration and the key.
    Valid,
    /// It does not.
    Mismatch,
}

/// An SM2 issuer signing key; `Debug` does not print the secret.
#[derive(Clone)]
pub struct Sm2IssuerKey {
    secret: sm2::SecretKey,
}

impl std::fmt::Debug for Sm2IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2IssuerKey").field("did", &self.did()).finish_non_exhaustive()
    }
}

impl Sm2IssuerKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Self {
        Self { secret: sm2::SecretKey::random(&mut rand::rngs::OsRng) }
    }

    /// Parse a PKCS#8 PEM private key (as `openssl genpkey -algorithm SM2` writes).
    ///
    /// # Errors
    /// [`Sm2Error::InvalidPrivateKey`] when it is not an SM2 PKCS#8 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Sm2Error> {
        sm2::SecretKey::from_pkcs8_pem(pem)
            .map(|secret| Self { secret })
            .map_err(|e| Sm2Error::InvalidPrivateKey(e.to_string()))
    }

    /// Unencrypted PKCS#8 PEM.
    ///
    /// # Errors
    /// Only if the encoder fails, which does not happen for a valid key.
    pub fn to_pkcs8_pem(&self) -> Result<String, Sm2Error> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| Sm2Error::InvalidPrivateKey(e.to_string()))
    }

    /// The public key.
    pub fn public_key(&self) -> sm2::PublicKey {
        self.secret.public_key()
    }

    /// `did:key:z…` naming this key.
    pub fn did(&self) -> String {
        format!("did:key:{}", public_key_multibase(&self.public_key()))
    }

    /// The verification method URL used in proofs: `did:key:zX#zX`.
    pub fn verification_method(&self) -> String {
        let mb = public_key_multibase(&self.public_key());
        format!("did:key:{mb}#{mb}")
    }

    /// The SM2 signature (`r ‖ s`) of `message` with [`DISTINGUISHING_ID`].
    ///
    /// # Errors
    /// [`Sm2Error::InvalidPrivateKey`] if the key cannot sign (it always can).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], Sm2Error> {
        let signing = sm2::dsa::SigningKey::new(DISTINGUISHING_ID, &self.secret)
            .map_err(|e| Sm2Error::InvalidPrivateKey(e.to_string()))?;
        let signature: sm2::dsa::Signature = signing.sign(message);
        Ok(signature.to_bytes())
    }
}

/// The Multikey `publicKeyMultibase` of an SM2 public key: base58btc of the
/// multicodec-prefixed compressed point.
pub fn public_key_multibase(key: &sm2::PublicKey) -> String {
    let mut bytes = SM2_PUB_MULTICODEC.to_vec();
    bytes.extend_from_slice(key.to_encoded_point(true).as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The SM2 key a `did:key:zX` or `did:key:zX#zX` names.
///
/// # Errors
/// [`Sm2Error::NotSm2DidKey`] for anything else (another key type, a fragment
/// naming another key, a point not on the curve).
pub fn sm2_key_from_did(did: &str) -> Result<sm2::PublicKey, Sm2Error> {
    let err = || Sm2Error::NotSm2DidKey(did.chars().take(120).collect());
    let rest = did.strip_prefix("did:key:").ok_or_else(err)?;
    let id = match rest.split_once('#') {
        Some((id, fragment)) if id == fragment => id,
        Some(_) => return Err(err()),
        None => rest,
    };
    // 2 prefix bytes + 33 point bytes are 48 base58 characters at most.
    let encoded = id.strip_prefix('z').filter(|e| e.len() <= crate::keys::MAX_DID_KEY_ID_CHARS).ok_or_else(err)?;
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| err())?;
    let point = bytes.strip_prefix(&SM2_PUB_MULTICODEC[..]).ok_or_else(err)?;
    if point.len() != 33 {
        return Err(err());
    }
    sm2::PublicKey::from_sec1_bytes(point).map_err(|_| err())
}

/// The digests `proof` signs over `document`; `None` when `proof` is not an
/// `sm2-rdfc-2026` `DataIntegrityProof` object.
///
/// # Errors
/// When either part cannot be canonicalised within the budget.
pub async fn hash_data(document: &Value, proof: &Value) -> Result<Option<HashData>, CanonicalizationError> {
    hash_data_with(&TypeRegistry::default().loader(), document, proof).await
}

/// [`hash_data`] with the contexts `loader` knows.
///
/// # Errors
/// When either part cannot be canonicalised within the budget.
pub async fn hash_data_with(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
) -> Result<Option<HashData>, CanonicalizationError> {
    data_integrity::hash_data_with(loader, document, proof, CRYPTOSUITE, sm3_digest).await
}

fn sm3_digest(bytes: &[u8]) -> [u8; 32] {
    Sm3::digest(bytes).into()
}

/// Sign `document` (an object without `proof`) for `assertionMethod` at
/// `created`; returns the document with its proof appended.
///
/// # Errors
/// [`Sm2Error::NotSignable`] for anything but an unsigned object; a
/// canonicalisation error for a document beyond the budget.
pub async fn sign(document: &Value, key: &Sm2IssuerKey, created: DateTime<Utc>) -> Result<Value, Sm2Error> {
    sign_with(&TypeRegistry::default().loader(), document, key, created).await
}

/// [`sign`] with the contexts `loader` knows (an issuer's generated type contexts).
///
/// # Errors
/// As [`sign`].
pub async fn sign_with(
    loader: &BundledLoader,
    document: &Value,
    key: &Sm2IssuerKey,
    created: DateTime<Utc>,
) -> Result<Value, Sm2Error> {
    let Some(object) = document.as_object().filter(|o| !o.contains_key("proof")) else {
        return Err(Sm2Error::NotSignable);
    };
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
    proof.insert("created".into(), created.to_rfc3339_opts(SecondsFormat::Secs, true).into());
    proof.insert("verificationMethod".into(), key.verification_method().into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    let mut proof = Value::Object(proof);
    let hash = hash_data_with(loader, document, &proof).await?.ok_or(Sm2Error::NotSignable)?;
    let signature = key.sign(&hash.bytes())?;
    if let Some(p) = proof.as_object_mut() {
        p.insert("proofValue".into(), format!("z{}", bs58::encode(signature).into_string()).into());
    }
    let mut signed = object.clone();
    signed.insert("proof".into(), proof);
    Ok(Value::Object(signed))
}

/// Check the `sm2-rdfc-2026` proof of `document` (a credential or
/// presentation whose `proof` is one such proof object).
///
/// # Errors
/// A proof that is not this suite's, a verification method that is not an SM2
/// `did:key`, a malformed `proofValue`, or a document beyond the budget. A
/// well-formed proof that does not match is `Ok(Verdict::Mismatch)`.
pub async fn verify(document: &Value) -> Result<Verdict, Sm2Error> {
    let proof = document.get("proof").filter(|p| p.is_object()).ok_or(Sm2Error::NotThisSuite)?;
    verify_proof(&TypeRegistry::default().loader(), document, proof, None).await
}

/// [`verify`] of `proof` (the document's one proof object) with the contexts
/// `loader` knows; `unsecured` is the canonical unsecured document when the
/// caller has it already (see [`data_integrity::hash_data_with_unsecured`]).
///
/// # Errors
/// As [`verify`].
pub async fn verify_proof(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
    unsecured: Option<&str>,
) -> Result<Verdict, Sm2Error> {
    if proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE) {
        return Err(Sm2Error::NotThisSuite);
    }
    if proof.get("proofPurpose").and_then(Value::as_str) != Some("assertionMethod") {
        return Err(Sm2Error::ProofPurpose);
    }
    let method = proof.get("verificationMethod").and_then(Value::as_str).unwrap_or_default();
    if !method.contains('#') {
        return Err(Sm2Error::NotSm2DidKey(method.chars().take(120).collect()));
    }
    let key = sm2_key_from_did(method)?;
    let signature = proof_signature(proof).ok_or(Sm2Error::ProofValue)?;
    let hash = match unsecured {
        Some(unsecured) => {
            data_integrity::hash_data_with_unsecured(loader, document, proof, CRYPTOSUITE, unsecured, sm3_digest)
                .await?
        }
        None => hash_data_with(loader, document, proof).await?,
    }
    .ok_or(Sm2Error::NotThisSuite)?;
    let verifying =
        sm2::dsa::VerifyingKey::new(DISTINGUISHING_ID, key).map_err(|e| Sm2Error::NotSm2DidKey(e.to_string()))?;
    Ok(if verifying.verify(&hash.bytes(), &signature).is_ok() { Verdict::Valid } else { Verdict::Mismatch })
}

/// `proofValue`: multibase base58btc (`z`) of the 64-byte `r ‖ s`, both in
/// `[1, n-1]`.
fn proof_signature(proof: &Value) -> Option<sm2::dsa::Signature> {
    let encoded = proof.get("proofValue")?.as_str()?.strip_prefix('z')?;
    // 64 bytes are 88 base58 characters at most.
    if encoded.len() > 96 {
        return None;
    }
    let bytes = bs58::decode(encoded).into_vec().ok()?;
    sm2::dsa::Signature::from_slice(&bytes).ok()
}

/// `SEQUENCE { INTEGER r, INTEGER s }` (GB/T 35276 §7.3, what OpenSSL writes)
/// for a raw `r ‖ s`.
///
/// # Errors
/// [`Sm2Error::DerSignature`] only if the encoder fails.
pub fn signature_to_der(raw: &[u8; 64]) -> Result<Vec<u8>, Sm2Error> {
    let (r, s) = raw.split_at(32);
    let r = UintRef::new(r).map_err(|_| Sm2Error::DerSignature)?;
    let s = UintRef::new(s).map_err(|_| Sm2Error::DerSignature)?;
    DerSignature { r, s }.to_der().map_err(|_| Sm2Error::DerSignature)
}

/// The raw `r ‖ s` of a DER signature.
///
/// # Errors
/// [`Sm2Error::DerSignature`] for anything but two non-negative integers of at
/// most 32 bytes in one DER sequence with nothing after it.
pub fn signature_from_der(der: &[u8]) -> Result<[u8; 64], Sm2Error> {
    let parsed = DerSignature::from_der(der).map_err(|_| Sm2Error::DerSignature)?;
    let mut raw = [0_u8; 64];
    let (r_out, s_out) = raw.split_at_mut(32);
    for (value, out) in [(parsed.r, r_out), (parsed.s, s_out)] {
        let bytes = value.as_bytes();
        let start = out.len().checked_sub(bytes.len()).ok_or(Sm2Error::DerSignature)?;
        out.get_mut(start..).ok_or(Sm2Error::DerSignature)?.copy_from_slice(bytes);
    }
    Ok(raw)
}

#[derive(der::Sequence)]
struct DerSignature<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_matches_the_standard_example() {
        // GB/T 32905-2016 Annex A.1: SM3("abc").
        assert_eq!(
            hex::encode(Sm3::digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn did_key_round_trips_and_refuses_other_keys() {
        let key = Sm2IssuerKey::generate();
        assert_eq!(sm2_key_from_did(&key.did()).unwrap(), key.public_key());
        assert_eq!(sm2_key_from_did(&key.verification_method()).unwrap(), key.public_key());
        let p256 = crate::keys::IssuerKey::generate();
        assert!(sm2_key_from_did(&p256.did()).is_err());
        let other = Sm2IssuerKey::generate();
        let mixed = format!("{}#{}", key.did(), other.did().trim_start_matches("did:key:"));
        assert!(sm2_key_from_did(&mixed).is_err());
        assert!(sm2_key_from_did(&format!("did:key:z{}", "1".repeat(5000))).is_err());
    }

    #[test]
    fn der_round_trips_and_refuses_junk() {
        let key = Sm2IssuerKey::generate();
        let raw = key.sign(b"message").unwrap();
        let der = signature_to_der(&raw).unwrap();
        assert_eq!(signature_from_der(&der).unwrap(), raw);
        assert!(signature_from_der(&[]).is_err());
        assert!(signature_from_der(&der[..der.len() - 1]).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(signature_from_der(&trailing).is_err());
        // A 33-byte integer (after its sign byte) does not fit.
        let mut long = vec![0x30, 0x26, 0x02, 0x21];
        long.extend([0x7f; 33]);
        long.extend([0x02, 0x01, 0x01]);
        assert!(signature_from_der(&long).is_err());
    }
}
