//! The log's own checkpoint-signing key.

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _};
use sha2::{Digest, Sha256};

use super::note::{
    check_key_name, format_vkey, key_id, parse_vkey, signature_type, NoteError, NoteSigner, NoteVerifier,
};
use crate::keys::IssuerKey;
use crate::signer::IssuerSigner;

#[derive(Clone, Debug, PartialEq, Eq)]
enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A log's public checkpoint key: what witnesses and verifiers are
/// configured with. Its name is the log's **origin** (the first line of its
/// checkpoints).
///
/// Our issuers hold P-256 keys ([`IssuerKey`]), so the log signs checkpoints
/// with **ECDSA P-256 over SHA-256, signed-note signature type `0x02`** — the
/// type C2SP `signed-note` assigns to the ECDSA signatures of
/// `transparency-dev/witness` (also used by Sigstore's Rekor): the signature
/// is ASN.1 DER, and the key ID is the first four bytes of SHA-256 of the
/// DER-encoded SubjectPublicKeyInfo (it does not commit to the key name).
///
/// C2SP `tlog-tiles` requires an **Ed25519** (`0x01`) log signature for logs
/// that interact with the *public* witness network. Our witnesses are the
/// departments' own verifiers, so P-256 is enough; [`LogSigner::ed25519`] is
/// there for a log that joins the public network later (a checkpoint may carry
/// both signatures; verifiers ignore the ones they do not know).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogKey {
    name: String,
    key_id: u32,
    key: PublicKey,
}

impl LogKey {
    /// An ECDSA P-256 log key named `origin`.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`] when the name is empty or contains spaces or `+`.
    pub fn ecdsa_p256(origin: impl Into<String>, public_key: &p256::PublicKey) -> Result<Self, NoteError> {
        let name = origin.into();
        check_key_name(&name)?;
        let spki = spki_der(public_key)?;
        Ok(Self { name, key_id: ecdsa_key_id(&spki), key: PublicKey::EcdsaP256(public_key.into()) })
    }

    /// An Ed25519 log key named `origin`.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn ed25519(origin: impl Into<String>, public_key: &ed25519_dalek::VerifyingKey) -> Result<Self, NoteError> {
        let name = origin.into();
        check_key_name(&name)?;
        let key_id = key_id(&name, signature_type::ED25519, public_key.as_bytes());
        Ok(Self { name, key_id, key: PublicKey::Ed25519(*public_key) })
    }

    /// Parse a verifier key string `<origin>+<key id>+<base64(type ‖ key)>`
    /// (type `0x02` followed by a DER SPKI, or `0x01` followed by 32 bytes).
    ///
    /// # Errors
    /// [`NoteError::InvalidVerifierKey`] when malformed, of another type, or
    /// when the key ID does not match the key.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, claimed_id, kind, key) = parse_vkey(vkey)?;
        let parsed = match kind {
            signature_type::ECDSA => {
                let public_key = p256::PublicKey::from_public_key_der(&key)
                    .map_err(|_| NoteError::InvalidVerifierKey("not a P-256 SubjectPublicKeyInfo"))?;
                Self::ecdsa_p256(name, &public_key)?
            }
            signature_type::ED25519 => {
                let bytes: [u8; 32] =
                    key.try_into().map_err(|_| NoteError::InvalidVerifierKey("Ed25519 key is not 32 bytes"))?;
                let public_key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| NoteError::InvalidVerifierKey("invalid Ed25519 key"))?;
                Self::ed25519(name, &public_key)?
            }
            _ => return Err(NoteError::InvalidVerifierKey("not an ECDSA (0x02) or Ed25519 (0x01) log key")),
        };
        if parsed.key_id != claimed_id {
            return Err(NoteError::InvalidVerifierKey("key ID does not match the key"));
        }
        Ok(parsed)
    }

    /// The verifier key string, `<origin>+<key id>+<base64(type ‖ key)>`.
    pub fn to_vkey(&self) -> String {
        match &self.key {
            PublicKey::EcdsaP256(key) => {
                let spki = key.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
                format_vkey(&self.name, self.key_id, signature_type::ECDSA, &spki)
            }
            PublicKey::Ed25519(key) => format_vkey(&self.name, self.key_id, signature_type::ED25519, key.as_bytes()),
        }
    }

    /// The log's origin (= the key name).
    pub fn origin(&self) -> &str {
        &self.name
    }

    /// Is this the ECDSA P-256 key `key`?
    pub fn is_p256_key(&self, key: &p256::PublicKey) -> bool {
        matches!(&self.key, PublicKey::EcdsaP256(k) if *k == p256::ecdsa::VerifyingKey::from(key))
    }
}

impl NoteVerifier for LogKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        match &self.key {
            PublicKey::EcdsaP256(key) => p256::ecdsa::Signature::from_der(signature)
                .map(|sig| key.verify(text.as_bytes(), &sig).is_ok())
                .unwrap_or(false),
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .map(|sig| key.verify_strict(text.as_bytes(), &sig).is_ok())
                .unwrap_or(false),
        }
    }
}

#[derive(Clone)]
enum SecretKey {
    EcdsaP256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    /// A P-256 key held elsewhere (a hardware token): only its signatures come here.
    Signer(std::sync::Arc<dyn IssuerSigner>),
}

/// The log's checkpoint-signing key (held by the issuer service). `Debug`
/// does not print the secret.
#[derive(Clone)]
pub struct LogSigner {
    verifier: LogKey,
    key: SecretKey,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSigner").field("origin", &self.verifier.name).finish_non_exhaustive()
    }
}

impl LogSigner {
    /// Sign as log `origin` with an issuer's P-256 key.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`], or [`NoteError::Signing`] if the key
    /// cannot be exported.
    pub fn from_issuer_key(origin: impl Into<String>, key: &IssuerKey) -> Result<Self, NoteError> {
        // IssuerKey only hands its secret out as PKCS#8.
        let pem = key.to_pkcs8_pem().map_err(|e| NoteError::Signing(e.to_string()))?;
        let secret = p256::SecretKey::from_pkcs8_pem(&pem).map_err(|e| NoteError::Signing(e.to_string()))?;
        Self::ecdsa_p256(origin, p256::ecdsa::SigningKey::from(secret))
    }

    /// Sign as log `origin` with an issuer's P-256 [`IssuerSigner`] (a key in
    /// a hardware token signs checkpoints without leaving it).
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn from_signer(origin: impl Into<String>, signer: std::sync::Arc<dyn IssuerSigner>) -> Result<Self, NoteError> {
        let verifier = LogKey::ecdsa_p256(origin, &signer.public_key())?;
        Ok(Self { verifier, key: SecretKey::Signer(signer) })
    }

    /// Sign as log `origin` with a P-256 ECDSA key.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn ecdsa_p256(origin: impl Into<String>, key: p256::ecdsa::SigningKey) -> Result<Self, NoteError> {
        let verifier = LogKey::ecdsa_p256(origin, &p256::PublicKey::from(key.verifying_key()))?;
        Ok(Self { verifier, key: SecretKey::EcdsaP256(key) })
    }

    /// Sign as log `origin` with an Ed25519 key.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn ed25519(origin: impl Into<String>, key: ed25519_dalek::SigningKey) -> Result<Self, NoteError> {
        let verifier = LogKey::ed25519(origin, &key.verifying_key())?;
        Ok(Self { verifier, key: SecretKey::Ed25519(key) })
    }

    /// The matching public key.
    pub fn log_key(&self) -> &LogKey {
        &self.verifier
    }
}

impl NoteSigner for LogSigner {
    fn name(&self) -> &str {
        &self.verifier.name
    }

    fn key_id(&self) -> u32 {
        self.verifier.key_id
    }

    fn sign(&self, text: &str) -> Result<Vec<u8>, NoteError> {
        Ok(match &self.key {
            SecretKey::EcdsaP256(key) => {
                let signature = match crate::p256_signing::sign(key.as_nonzero_scalar(), text.as_bytes()) {
                    Some(signature) => signature,
                    None => key.try_sign(text.as_bytes()).map_err(|e| NoteError::Signing(e.to_string()))?,
                };
                signature.to_der().as_bytes().to_vec()
            }
            SecretKey::Ed25519(key) => key.sign(text.as_bytes()).to_bytes().to_vec(),
            SecretKey::Signer(signer) => {
                let raw = signer.sign_es256(text.as_bytes()).map_err(|e| NoteError::Signing(e.to_string()))?;
                let signature =
                    p256::ecdsa::Signature::from_slice(&raw).map_err(|e| NoteError::Signing(e.to_string()))?;
                signature.to_der().as_bytes().to_vec()
            }
        })
    }
}

fn spki_der(key: &p256::PublicKey) -> Result<Vec<u8>, NoteError> {
    key.to_public_key_der()
        .map(|doc| doc.as_bytes().to_vec())
        .map_err(|_| NoteError::InvalidVerifierKey("cannot encode the public key"))
}

/// Key ID of a signed-note ECDSA key: SHA-256 of its DER SPKI, first 4 bytes.
fn ecdsa_key_id(spki_der: &[u8]) -> u32 {
    let [a, b, c, d, ..]: [u8; 32] = Sha256::digest(spki_der).into();
    u32::from_be_bytes([a, b, c, d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_key_id_matches_rekor() {
        // Rekor's public key as an ECDSA note verifier key (key material from
        // transparency-dev/formats note/note_verifier.go); Rekor's log ID,
        // SHA-256 of its DER SPKI, starts with c0d23d6a.
        let material = "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
        let log = LogKey::from_vkey(&format!("rekor.sigstore.dev+c0d23d6a+{material}")).unwrap();
        assert_eq!(log.key_id, 0xc0d2_3d6a);
        assert_eq!(log.to_vkey(), format!("rekor.sigstore.dev+c0d23d6a+{material}"));
        assert!(LogKey::from_vkey(&format!("rekor.sigstore.dev+c0d23d6b+{material}")).is_err());
    }
}
