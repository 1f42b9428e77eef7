//! Who signs for an issuer: the [`IssuerSigner`] trait. A P-256 key held in
//! this process ([`IssuerKey`]) is one signer; a key that never leaves a
//! hardware token (the issuer service's PKCS#11 signer) is another. Every
//! signing function of this crate that acts as an issuer (credentials,
//! presentations, transparency-log checkpoints) takes `&dyn IssuerSigner`, so
//! this crate knows nothing of PKCS#11 and stays small enough for phone apps.

use p256::elliptic_curve::scalar::IsHigh as _;

use crate::keys::{public_key_multibase, IssuerKey};
use crate::sm2_rdfc_2026::Sm2IssuerKey;

/// Why a signer could not sign (a token that went away, a session error).
#[derive(Debug, Clone, thiserror::Error)]
#[error("signer failed: {0}")]
pub struct SignerError(pub String);

/// A P-256 signing key, wherever its secret is.
///
/// `sign_es256` is ES256: an ECDSA P-256 signature over SHA-256(`message`),
/// as the 64 bytes `r ‖ s` with a low `s` (implementations that get a
/// signature from elsewhere normalise it with [`normalize_signature`]).
///
/// An SM2 issuer ([`Sm2IssuerSigner`]) is one too: its `did` and
/// `verification_method` name its SM2 credential key, while `public_key` and
/// `sign_es256` are those of its P-256 key for what must be ES256 (log
/// checkpoints). Code that needs the credential issuer's identity uses `did`.
pub trait IssuerSigner: Send + Sync {
    /// The public key of the (ES256) signing key.
    fn public_key(&self) -> p256::PublicKey;

    /// ES256 over `message` (the signer hashes it), `r ‖ s`.
    ///
    /// # Errors
    /// [`SignerError`] when the key cannot be used (a token error).
    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError>;

    /// The Multikey `publicKeyMultibase` (`zDn…`) of the public key.
    fn public_key_multibase(&self) -> String {
        public_key_multibase(&self.public_key())
    }

    /// `did:key:zDn…` naming this key.
    fn did(&self) -> String {
        format!("did:key:{}", self.public_key_multibase())
    }

    /// The verification method URL used in proofs: `did:key:zX#zX`.
    fn verification_method(&self) -> String {
        let mb = self.public_key_multibase();
        format!("did:key:{mb}#{mb}")
    }

    /// The SM2 key credentials are signed with (`sm2-rdfc-2026`) when this
    /// is an SM2 issuer ([`Sm2IssuerSigner`]); `None` (the default) for a
    /// P-256 one.
    fn sm2_credential_key(&self) -> Option<&Sm2IssuerKey> {
        None
    }
}

/// An SM2 issuer: credentials and status lists are signed with its SM2 key
/// (`sm2-rdfc-2026`), and [`IssuerSigner::did`] / `verification_method` name
/// that key. What is ES256 by its format (transparency-log checkpoints,
/// C2SP signed notes with ECDSA P-256) is signed by a separate P-256 key,
/// `es256`: [`IssuerSigner::public_key`] and [`IssuerSigner::sign_es256`] are
/// that key's.
pub struct Sm2IssuerSigner {
    credential_key: Sm2IssuerKey,
    es256: std::sync::Arc<dyn IssuerSigner>,
}

impl Sm2IssuerSigner {
    /// Credentials signed by `credential_key`, ES256 by `es256` (a P-256 signer).
    pub fn new(credential_key: Sm2IssuerKey, es256: std::sync::Arc<dyn IssuerSigner>) -> Self {
        Self { credential_key, es256 }
    }
}

impl std::fmt::Debug for Sm2IssuerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2IssuerSigner")
            .field("did", &self.credential_key.did())
            .field("es256", &self.es256.did())
            .finish_non_exhaustive()
    }
}

impl IssuerSigner for Sm2IssuerSigner {
    fn public_key(&self) -> p256::PublicKey {
        self.es256.public_key()
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        self.es256.sign_es256(message)
    }

    fn public_key_multibase(&self) -> String {
        crate::sm2_rdfc_2026::public_key_multibase(&self.credential_key.public_key())
    }

    fn did(&self) -> String {
        self.credential_key.did()
    }

    fn verification_method(&self) -> String {
        self.credential_key.verification_method()
    }

    fn sm2_credential_key(&self) -> Option<&Sm2IssuerKey> {
        Some(&self.credential_key)
    }
}

impl IssuerSigner for IssuerKey {
    fn public_key(&self) -> p256::PublicKey {
        IssuerKey::public_key(self)
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        Ok(IssuerKey::sign_es256(self, message))
    }
}

/// A reference signs as what it refers to (so `&&IssuerKey` is a signer too).
impl<T: IssuerSigner + ?Sized> IssuerSigner for &T {
    fn public_key(&self) -> p256::PublicKey {
        (**self).public_key()
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        (**self).sign_es256(message)
    }

    fn public_key_multibase(&self) -> String {
        (**self).public_key_multibase()
    }

    fn did(&self) -> String {
        (**self).did()
    }

    fn verification_method(&self) -> String {
        (**self).verification_method()
    }

    fn sm2_credential_key(&self) -> Option<&Sm2IssuerKey> {
        (**self).sm2_credential_key()
    }
}

/// A P-256 signature from outside (raw `r ‖ s` as PKCS#11's `CKM_ECDSA` gives
/// it, or DER) checked and normalised to low `s`, as 64 bytes. `s` and
/// `n − s` both verify; low `s` is the form strict verifiers (and this crate's
/// signers) use.
///
/// # Errors
/// [`SignerError`] for anything that is not a P-256 signature.
pub fn normalize_signature(bytes: &[u8]) -> Result<[u8; 64], SignerError> {
    let signature = match bytes.len() {
        64 => p256::ecdsa::Signature::from_slice(bytes),
        _ => p256::ecdsa::Signature::from_der(bytes),
    }
    .map_err(|e| SignerError(format!("not a P-256 signature: {e}")))?;
    let signature =
        if bool::from(signature.s().is_high()) { signature.normalize_s().unwrap_or(signature) } else { signature };
    Ok(signature.to_bytes().into())
}

/// `signer` as an `ssi` signer for any verification method: the Data
/// Integrity suites ask it for ES256 signatures only.
pub(crate) struct SsiSigner<'a>(pub &'a dyn IssuerSigner);

impl<M: ssi_verification_methods::VerificationMethod> ssi_verification_methods::Signer<M> for SsiSigner<'_> {
    type MessageSigner = Self;

    async fn for_method(
        &self,
        _method: std::borrow::Cow<'_, M>,
    ) -> Result<Option<Self::MessageSigner>, ssi_claims_core::SignatureError> {
        Ok(Some(SsiSigner(self.0)))
    }
}

impl<A: ssi_crypto::algorithm::SignatureAlgorithmType> ssi_verification_methods::MessageSigner<A> for SsiSigner<'_>
where
    A::Instance: Into<ssi_crypto::AlgorithmInstance>,
{
    async fn sign(
        self,
        algorithm: A::Instance,
        message: &[u8],
    ) -> Result<Vec<u8>, ssi_claims_core::MessageSignatureError> {
        match algorithm.into().algorithm() {
            ssi_crypto::Algorithm::ES256 => self
                .0
                .sign_es256(message)
                .map(|s| s.to_vec())
                .map_err(|e| ssi_claims_core::MessageSignatureError::SignatureFailed(e.0)),
            other => Err(ssi_claims_core::MessageSignatureError::UnsupportedAlgorithm(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;

    #[test]
    fn issuer_key_signs_es256_that_verifies_with_its_public_key() {
        let key = IssuerKey::generate();
        let signer: &dyn IssuerSigner = &key;
        let sig = signer.sign_es256(b"checkpoint").unwrap();
        let vk = p256::ecdsa::VerifyingKey::from(signer.public_key());
        vk.verify(b"checkpoint", &p256::ecdsa::Signature::from_slice(&sig).unwrap()).unwrap();
        assert_eq!(signer.did(), key.did());
        assert_eq!(signer.verification_method(), key.verification_method());
    }

    #[test]
    fn normalisation_makes_s_low_and_keeps_the_signature_valid() {
        let key = IssuerKey::generate();
        let sig = p256::ecdsa::Signature::from_slice(&key.sign_es256(b"m")).unwrap();
        let r = sig.r();
        let s = sig.s();
        let high_s = -*s;
        let high = p256::ecdsa::Signature::from_scalars(r, high_s).unwrap();
        assert!(bool::from(high.s().is_high()) || bool::from(sig.s().is_high()));
        let normalised = normalize_signature(&high.to_bytes()).unwrap();
        let again = p256::ecdsa::Signature::from_slice(&normalised).unwrap();
        assert!(!bool::from(again.s().is_high()));
        let vk = p256::ecdsa::VerifyingKey::from(key.public_key());
        vk.verify(b"m", &again).unwrap();
        // DER in, raw out.
        assert_eq!(normalize_signature(high.to_der().as_bytes()).unwrap(), normalised);
        assert!(normalize_signature(&[0u8; 10]).is_err());
        assert!(normalize_signature(&[0u8; 64]).is_err());
    }
}
