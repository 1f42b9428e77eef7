//! P-384 issuer keys (W3C vc-di-ecdsa's second curve): a key held in this
//! process, its `did:key` (`z82…`, multicodec `p384-pub` 0x1201), and ES384
//! signatures (ECDSA P-384 over SHA-384, 96 bytes `r ‖ s`).
//!
//! The service's main key stays P-256 ([`crate::keys::IssuerKey`], also
//! behind PKCS#11); a P-384 key signs only what a VC-API caller asks of it
//! (#17: the W3C suites' P-384 issuers).

use p384::elliptic_curve::sec1::ToEncodedPoint;
use p384::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use chrono::{DateTime, Utc};
use serde_json::Value;
use ssi_claims_core::SignatureEnvironment;
use ssi_data_integrity::{AnySuite, CryptographicSuite, ProofOptions};

use crate::credential::format_timestamp;
use crate::credential_type::TypeRegistry;
use crate::data_model;
use crate::did_key::DidKeyResolver;
use crate::issuance::IssueError;
use crate::keys::KeyError;
use crate::ld_claims::LdClaims;

/// Multicodec varint prefix of a compressed P-384 public key (`p384-pub`, 0x1201).
pub const P384_PUB_MULTICODEC: [u8; 2] = [0x81, 0x24];

/// A P-384 signing key. `Debug` does not print the secret.
#[derive(Clone)]
pub struct P384IssuerKey {
    secret: p384::SecretKey,
}

impl std::fmt::Debug for P384IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P384IssuerKey").field("did", &self.did()).finish_non_exhaustive()
    }
}

impl P384IssuerKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Self {
        Self { secret: p384::SecretKey::random(&mut rand::rngs::OsRng) }
    }

    /// A key from its 48 secret bytes (test vectors).
    ///
    /// # Errors
    /// [`KeyError::InvalidPrivateKey`] for bytes that are no P-384 scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        p384::SecretKey::from_slice(bytes)
            .map(|secret| Self { secret })
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// Parse a PKCS#8 PEM private key.
    ///
    /// # Errors
    /// [`KeyError::InvalidPrivateKey`] when it is not a P-384 PKCS#8 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        p384::SecretKey::from_pkcs8_pem(pem)
            .map(|secret| Self { secret })
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// Unencrypted PKCS#8 PEM (for a file readable only by the service).
    ///
    /// # Errors
    /// Only if the encoder fails.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| KeyError::InvalidPrivateKey(e.to_string()))
    }

    /// The public key.
    pub fn public_key(&self) -> p384::PublicKey {
        self.secret.public_key()
    }

    /// The Multikey `publicKeyMultibase` (`z82…`).
    pub fn public_key_multibase(&self) -> String {
        public_key_multibase(&self.public_key())
    }

    /// `did:key:z82…`.
    pub fn did(&self) -> String {
        format!("did:key:{}", self.public_key_multibase())
    }

    /// The verification method URL used in proofs: `did:key:zX#zX`.
    pub fn verification_method(&self) -> String {
        let mb = self.public_key_multibase();
        format!("did:key:{mb}#{mb}")
    }

    /// ES384: ECDSA P-384 over SHA-384(`message`) (RFC 6979 nonces), the 96 bytes `r ‖ s`.
    pub fn sign_es384(&self, message: &[u8]) -> Vec<u8> {
        use p384::ecdsa::signature::Signer as _;
        let signature: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(&self.secret).sign(message);
        signature.to_bytes().to_vec()
    }
}

/// The Multikey `publicKeyMultibase` of a P-384 public key.
pub fn public_key_multibase(key: &p384::PublicKey) -> String {
    let mut bytes = P384_PUB_MULTICODEC.to_vec();
    bytes.extend_from_slice(key.to_encoded_point(true).as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// `key` as an `ssi` signer: the Data Integrity suites (`ecdsa-rdfc-2019`,
/// `ecdsa-sd-2023`) ask a P-384 key for ES384 signatures.
pub(crate) struct SsiP384Signer<'a>(pub &'a P384IssuerKey);

impl<M: ssi_verification_methods::VerificationMethod> ssi_verification_methods::Signer<M> for SsiP384Signer<'_> {
    type MessageSigner = Self;

    async fn for_method(
        &self,
        _method: std::borrow::Cow<'_, M>,
    ) -> Result<Option<Self::MessageSigner>, ssi_claims_core::SignatureError> {
        Ok(Some(SsiP384Signer(self.0)))
    }
}

impl<A: ssi_crypto::algorithm::SignatureAlgorithmType> ssi_verification_methods::MessageSigner<A> for SsiP384Signer<'_>
where
    A::Instance: Into<ssi_crypto::AlgorithmInstance>,
{
    async fn sign(
        self,
        algorithm: A::Instance,
        message: &[u8],
    ) -> Result<Vec<u8>, ssi_claims_core::MessageSignatureError> {
        match algorithm.into().algorithm() {
            ssi_crypto::Algorithm::ES384 => Ok(self.0.sign_es384(message)),
            other => Err(ssi_claims_core::MessageSignatureError::UnsupportedAlgorithm(other.to_string())),
        }
    }
}

/// Sign `unsigned` with an `ecdsa-rdfc-2019` proof by a P-384 key (RDFC-1.0,
/// SHA-384, ES384; `ssi`'s suite with its `secp384r1` feature), as
/// [`crate::issuance::sign_credential_with`] does with a P-256 signer.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_ecdsa_rdfc_2019(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &P384IssuerKey,
    created: DateTime<Utc>,
) -> Result<Value, IssueError> {
    if unsigned.get("proof").is_some() {
        return Err(IssueError::AlreadySigned);
    }
    let loader = types.loader();
    crate::canonical::check_json_limits(unsigned).map_err(IssueError::TooComplex)?;
    data_model::check_credential_with(&loader, unsigned)?;
    let unsigned = &crate::issuance::with_data_integrity_context(unsigned);
    crate::issuance::refuse_beyond_budget(&loader, unsigned).await?;
    let credential = LdClaims::from_json(unsigned).map_err(IssueError::NotACredential)?;
    let signer = ssi_verification_methods::LocalSigner(SsiP384Signer(key));
    let vm = ssi_verification_methods::ReferenceOrOwned::Reference(
        key.verification_method().parse().map_err(|_| IssueError::Signing("bad verification method".into()))?,
    );
    let mut options = ProofOptions::from_method(vm);
    options.created =
        Some(format_timestamp(created).parse().map_err(|_| IssueError::Signing("bad created time".into()))?);
    let environment = SignatureEnvironment { json_ld_loader: loader, eip712_loader: () };
    let signed = AnySuite::EcdsaRdfc2019
        .sign_with(environment, credential, DidKeyResolver, signer, options, Default::default())
        .await
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    crate::issuance::with_proof(unsigned, &signed.proofs)
}
