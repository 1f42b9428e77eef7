//! The signature algorithms of the department PKI, a closed set: ECDSA P-256
//! with SHA-256, and SM2 with SM3 (GB/T 32918, GB/T 35276, GM/T 0015). Every
//! certificate, CSR, CRL and trust-list signature is made and checked here,
//! and nowhere else.
//!
//! A key and a signature algorithm belong together: a P-256 key verifies only
//! `ecdsa-with-SHA256` (1.2.840.10045.4.3.2), an SM2 key (id-ecPublicKey on
//! curve 1.2.156.10197.1.301) only `SM2-with-SM3` (1.2.156.10197.1.501), both
//! without parameters. A structure naming the other algorithm than its
//! signer's key is refused before any arithmetic ([`TrustPublicKey::verify_x509`]).
//!
//! SM2 signatures in X.509 are DER `SEQUENCE { r, s }` over
//! `SM3(Z_A ‖ message)` with the default distinguishing ID
//! `1234567812345678` (GB/T 35276-2017 §5.2, GM/T 0015-2012), as Chinese CAs
//! and BouncyCastle do. OpenSSL 3.0 uses an empty ID unless told otherwise
//! (`-sigopt distid:1234567812345678` to sign, `-vfyopt distid:…` to verify a
//! certificate); it has no way to set the ID when it checks a CRL, so
//! `openssl verify -crl_check` cannot check an SM2 CRL made to the standard
//! (ours, or its own `openssl ca -gencrl -sigopt distid:…`).

use der::asn1::BitString;
use der::{Decode as _, Encode as _};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::oid;
use crate::keys::IssuerKey;
use crate::signer::IssuerSigner;
use crate::sm2_rdfc_2026::{self, Sm2IssuerKey, DISTINGUISHING_ID};

/// A signature algorithm of the department PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustAlgorithm {
    /// ECDSA on P-256 with SHA-256 (the default).
    P256,
    /// SM2 with SM3, distinguishing ID `1234567812345678`.
    Sm2,
}

impl TrustAlgorithm {
    /// `p256` or `sm2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P256 => "p256",
            Self::Sm2 => "sm2",
        }
    }

    /// The X.509 `signatureAlgorithm` (parameters absent).
    pub(crate) fn identifier(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Self::P256 => oid::ECDSA_WITH_SHA256,
            Self::Sm2 => oid::SM2_WITH_SM3,
        };
        AlgorithmIdentifierOwned { oid, parameters: None }
    }

    /// The JWS `alg` of a department JWS signed with this algorithm. `SM2SM3`
    /// is not IANA-registered (no JOSE algorithm for SM2 exists); the signature
    /// is the 64-byte `r ‖ s` as for ES256.
    pub(crate) fn jws_alg(self) -> &'static str {
        match self {
            Self::P256 => "ES256",
            Self::Sm2 => "SM2SM3",
        }
    }

    pub(crate) fn from_jws_alg(alg: &str) -> Option<Self> {
        [Self::P256, Self::Sm2].into_iter().find(|a| a.jws_alg() == alg)
    }
}

impl std::str::FromStr for TrustAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ecdsa" => Ok(Self::P256),
            "sm2" => Ok(Self::Sm2),
            other => Err(format!("unknown algorithm {other:?}: p256 or sm2")),
        }
    }
}

impl std::fmt::Display for TrustAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key that cannot sign (does not happen for a valid key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigningError(pub(crate) String);

impl std::fmt::Display for SigningError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unusable private key: {}", self.0)
    }
}

fn signing_key_of(key: &IssuerKey) -> Result<p256::ecdsa::SigningKey, SigningError> {
    let pem = key.to_pkcs8_pem().map_err(|e| SigningError(e.to_string()))?;
    p256::SecretKey::from_pkcs8_pem(&pem).map(p256::ecdsa::SigningKey::from).map_err(|e| SigningError(e.to_string()))
}

/// Why a signature does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureProblem {
    /// Not DER, or not a signed structure.
    Malformed,
    /// Not the signature algorithm of the key.
    UnsupportedAlgorithm,
    /// The signature does not verify with the key.
    Mismatch,
}

/// A public key of the department PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrustPublicKey {
    P256(p256::PublicKey),
    Sm2(sm2::PublicKey),
}

impl TrustPublicKey {
    pub(crate) fn algorithm(&self) -> TrustAlgorithm {
        match self {
            Self::P256(_) => TrustAlgorithm::P256,
            Self::Sm2(_) => TrustAlgorithm::Sm2,
        }
    }

    /// The key of a SubjectPublicKeyInfo: id-ecPublicKey on P-256 or on the
    /// SM2 curve; `None` for anything else.
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Option<Self> {
        if spki.algorithm.oid != oid::ID_EC_PUBLIC_KEY {
            return None;
        }
        let curve: der::asn1::ObjectIdentifier = spki.algorithm.parameters.as_ref()?.decode_as().ok()?;
        let der_bytes = spki.to_der().ok()?;
        if curve == oid::SECP256R1 {
            p256::PublicKey::from_public_key_der(&der_bytes).ok().map(Self::P256)
        } else if curve == oid::SM2_CURVE {
            sm2::PublicKey::from_public_key_der(&der_bytes).ok().map(Self::Sm2)
        } else {
            None
        }
    }

    pub(crate) fn to_spki(&self) -> Result<SubjectPublicKeyInfoOwned, der::Error> {
        let document = match self {
            Self::P256(key) => key.to_public_key_der(),
            Self::Sm2(key) => key.to_public_key_der(),
        }
        .map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
        SubjectPublicKeyInfoOwned::from_der(document.as_bytes())
    }

    /// The `did:key` naming this key (P-256 or `sm2-pub` multikey).
    pub(crate) fn did(&self) -> String {
        match self {
            Self::P256(key) => format!("did:key:{}", crate::keys::public_key_multibase(key)),
            Self::Sm2(key) => format!("did:key:{}", sm2_rdfc_2026::public_key_multibase(key)),
        }
    }

    /// The key a `did:key` (fragment allowed) names, of either algorithm.
    pub(crate) fn from_did(did: &str) -> Option<Self> {
        if let Ok(key) = crate::keys::p256_key_from_did(did) {
            return Some(Self::P256(key));
        }
        sm2_rdfc_2026::sm2_key_from_did(did).ok().map(Self::Sm2)
    }

    /// Check an X.509 signature (DER) over `message`: `algorithm` must be
    /// exactly this key's signature algorithm.
    pub(crate) fn verify_x509(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        signature_der: &[u8],
    ) -> Result<(), SignatureProblem> {
        if *algorithm != self.algorithm().identifier() {
            return Err(SignatureProblem::UnsupportedAlgorithm);
        }
        match self {
            Self::P256(key) => {
                let signature =
                    p256::ecdsa::DerSignature::try_from(signature_der).map_err(|_| SignatureProblem::Mismatch)?;
                p256::ecdsa::VerifyingKey::from(key).verify(message, &signature).map_err(|_| SignatureProblem::Mismatch)
            }
            Self::Sm2(key) => {
                let raw = sm2_rdfc_2026::signature_from_der(signature_der).map_err(|_| SignatureProblem::Mismatch)?;
                verify_sm2_raw(key, message, &raw).then_some(()).ok_or(SignatureProblem::Mismatch)
            }
        }
    }

    /// Check a department JWS signature (`r ‖ s`, 64 octets) made with `alg`.
    pub(crate) fn verify_jws(&self, alg: TrustAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        if alg != self.algorithm() {
            return false;
        }
        match self {
            Self::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| p256::ecdsa::VerifyingKey::from(key).verify(message, &s).is_ok()),
            Self::Sm2(key) => <[u8; 64]>::try_from(signature).is_ok_and(|raw| verify_sm2_raw(key, message, &raw)),
        }
    }
}

fn verify_sm2_raw(key: &sm2::PublicKey, message: &[u8], raw: &[u8; 64]) -> bool {
    let Ok(signature) = sm2::dsa::Signature::from_slice(raw) else { return false };
    sm2::dsa::VerifyingKey::new(DISTINGUISHING_ID, *key).is_ok_and(|v| v.verify(message, &signature).is_ok())
}

/// A private key that signs for the department PKI: a department root, a
/// trust-list signer, or (for its CSR) an issuer. `&IssuerKey` and
/// `&Sm2IssuerKey` convert into it.
#[derive(Clone, Copy)]
pub enum TrustSigningKey<'a> {
    /// A P-256 key.
    P256(&'a IssuerKey),
    /// A P-256 key held elsewhere (a PKCS#11 token): it signs, it is never exported.
    P256Signer(&'a dyn IssuerSigner),
    /// An SM2 key.
    Sm2(&'a Sm2IssuerKey),
}

impl<'a> From<&'a IssuerKey> for TrustSigningKey<'a> {
    fn from(key: &'a IssuerKey) -> Self {
        Self::P256(key)
    }
}

impl std::fmt::Debug for TrustSigningKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TrustSigningKey").field(&self.algorithm()).field(&self.did()).finish()
    }
}

impl<'a> From<&'a dyn IssuerSigner> for TrustSigningKey<'a> {
    /// An SM2 issuer ([`crate::signer::Sm2IssuerSigner`]) signs with its SM2 key.
    fn from(key: &'a dyn IssuerSigner) -> Self {
        match key.sm2_credential_key() {
            Some(sm2) => Self::Sm2(sm2),
            None => Self::P256Signer(key),
        }
    }
}

impl<'a> From<&'a Sm2IssuerKey> for TrustSigningKey<'a> {
    fn from(key: &'a Sm2IssuerKey) -> Self {
        Self::Sm2(key)
    }
}

impl<'a> From<&&'a IssuerKey> for TrustSigningKey<'a> {
    fn from(key: &&'a IssuerKey) -> Self {
        Self::P256(key)
    }
}

impl<'a> From<&&'a Sm2IssuerKey> for TrustSigningKey<'a> {
    fn from(key: &&'a Sm2IssuerKey) -> Self {
        Self::Sm2(key)
    }
}

impl<'a> From<&'a TrustKey> for TrustSigningKey<'a> {
    fn from(key: &'a TrustKey) -> Self {
        match key {
            TrustKey::P256(key) => Self::P256(key),
            TrustKey::Sm2(key) => Self::Sm2(key),
        }
    }
}

impl TrustSigningKey<'_> {
    /// The key's algorithm.
    pub fn algorithm(&self) -> TrustAlgorithm {
        match self {
            Self::P256(_) | Self::P256Signer(_) => TrustAlgorithm::P256,
            Self::Sm2(_) => TrustAlgorithm::Sm2,
        }
    }

    /// The key's `did:key`.
    pub fn did(&self) -> String {
        self.public_key().did()
    }

    pub(crate) fn public_key(&self) -> TrustPublicKey {
        match self {
            Self::P256(key) => TrustPublicKey::P256(key.public_key()),
            Self::P256Signer(key) => TrustPublicKey::P256(key.public_key()),
            Self::Sm2(key) => TrustPublicKey::Sm2(key.public_key()),
        }
    }

    /// The X.509 signature (DER, as a BIT STRING) of `to_be_signed`.
    pub(crate) fn sign_x509(&self, to_be_signed: &[u8]) -> Result<BitString, SigningError> {
        let der_signature = match self {
            Self::P256(key) => {
                let signature: p256::ecdsa::Signature = signing_key_of(key)?.sign(to_be_signed);
                signature.to_der().as_bytes().to_vec()
            }
            Self::P256Signer(key) => {
                let raw = key.sign_es256(to_be_signed).map_err(|e| SigningError(e.0))?;
                let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(|e| SigningError(e.to_string()))?;
                signature.to_der().as_bytes().to_vec()
            }
            Self::Sm2(key) => {
                let raw = key.sign(to_be_signed).map_err(|e| SigningError(e.to_string()))?;
                sm2_rdfc_2026::signature_to_der(&raw).map_err(|e| SigningError(e.to_string()))?
            }
        };
        BitString::from_bytes(&der_signature).map_err(|e| SigningError(e.to_string()))
    }

    /// A department JWS signature (`r ‖ s`, 64 octets) of `input`.
    pub(crate) fn sign_jws(&self, input: &[u8]) -> Result<Vec<u8>, SigningError> {
        match self {
            Self::P256(key) => {
                let signature: p256::ecdsa::Signature = signing_key_of(key)?.sign(input);
                Ok(signature.to_bytes().to_vec())
            }
            Self::P256Signer(key) => Ok(key.sign_es256(input).map_err(|e| SigningError(e.0))?.to_vec()),
            Self::Sm2(key) => Ok(key.sign(input).map_err(|e| SigningError(e.to_string()))?.to_vec()),
        }
    }
}

/// An owned private key of either algorithm (what
/// [`decrypt_trust_key`](super::decrypt_trust_key) returns).
#[derive(Debug, Clone)]
pub enum TrustKey {
    /// A P-256 key.
    P256(IssuerKey),
    /// An SM2 key.
    Sm2(Sm2IssuerKey),
}

impl TrustKey {
    /// A fresh key of `algorithm`.
    pub fn generate(algorithm: TrustAlgorithm) -> Self {
        match algorithm {
            TrustAlgorithm::P256 => Self::P256(IssuerKey::generate()),
            TrustAlgorithm::Sm2 => Self::Sm2(Sm2IssuerKey::generate()),
        }
    }

    /// Borrow it for signing.
    pub fn signing(&self) -> TrustSigningKey<'_> {
        self.into()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> TrustAlgorithm {
        self.signing().algorithm()
    }

    /// The key's `did:key`.
    pub fn did(&self) -> String {
        self.signing().did()
    }
}

/// `SM2-with-SM3` for rustls-webpki's path building, beside ring's
/// `ECDSA_P256_SHA256`: webpki picks an algorithm only when both the issuer's
/// SPKI algorithm and the signature algorithm match byte for byte, so an SM2
/// signature is never checked with a P-256 key or the reverse.
#[derive(Debug)]
pub(crate) struct Sm2WithSm3;

/// `AlgorithmIdentifier` contents: id-ecPublicKey, namedCurve SM2.
const SM2_PUBLIC_KEY_ALG_ID: &[u8] =
    &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
/// `AlgorithmIdentifier` contents: SM2-with-SM3, no parameters.
const SM2_WITH_SM3_ALG_ID: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];

impl SignatureVerificationAlgorithm for Sm2WithSm3 {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        let key = sm2::PublicKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let raw = sm2_rdfc_2026::signature_from_der(signature).map_err(|_| InvalidSignature)?;
        verify_sm2_raw(&key, message, &raw).then_some(()).ok_or(InvalidSignature)
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SM2_PUBLIC_KEY_ALG_ID)
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SM2_WITH_SM3_ALG_ID)
    }
    fn fips(&self) -> bool {
        false
    }
}

/// The algorithms webpki may use for department certificates.
pub(crate) static WEBPKI_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] =
    &[webpki::ring::ECDSA_P256_SHA256, &Sm2WithSm3];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webpki_identifiers_are_the_oids() {
        let curve = oid::SM2_CURVE.to_der().unwrap();
        let ec = oid::ID_EC_PUBLIC_KEY.to_der().unwrap();
        assert_eq!(SM2_PUBLIC_KEY_ALG_ID, [ec, curve].concat());
        assert_eq!(SM2_WITH_SM3_ALG_ID, oid::SM2_WITH_SM3.to_der().unwrap());
    }

    #[test]
    fn a_key_verifies_only_its_own_algorithm() {
        let sm2_key = Sm2IssuerKey::generate();
        let signing = TrustSigningKey::from(&sm2_key);
        let signature = signing.sign_x509(b"tbs").unwrap();
        let public = signing.public_key();
        let bytes = signature.as_bytes().unwrap();
        assert_eq!(public.verify_x509(&TrustAlgorithm::Sm2.identifier(), b"tbs", bytes), Ok(()));
        assert_eq!(
            public.verify_x509(&TrustAlgorithm::Sm2.identifier(), b"tbx", bytes),
            Err(SignatureProblem::Mismatch)
        );
        assert_eq!(
            public.verify_x509(&TrustAlgorithm::P256.identifier(), b"tbs", bytes),
            Err(SignatureProblem::UnsupportedAlgorithm)
        );
        let jws = signing.sign_jws(b"input").unwrap();
        assert!(public.verify_jws(TrustAlgorithm::Sm2, b"input", &jws));
        assert!(!public.verify_jws(TrustAlgorithm::P256, b"input", &jws));
        assert_eq!(TrustPublicKey::from_spki(&public.to_spki().unwrap()), Some(public.clone()));
        assert_eq!(TrustPublicKey::from_did(&public.did()), Some(public));
    }
}
