//! `ecdsa-rdfc-2019` proof verification (W3C vc-di-ecdsa §3.3) on our own
//! budgeted canonicalisation, for P-256 `did:key` signers.
//!
//! `ssi` verifies the same proof by expanding and canonicalising the document
//! again after our budget pre-check did; here the steps are the
//! specification's, once each:
//!
//! 1. the *unsecured document* is the credential without its `proof`;
//! 2. the *proof configuration* is the proof without `proofValue`, with the
//!    document's `@context`;
//! 3. both are canonicalised (RDFC-1.0, [`crate::canonical`], within the
//!    budget): `hashData = SHA-256(canonical proof configuration) ‖
//!    SHA-256(canonical document)`;
//! 4. `proofValue` (multibase base58btc, 64 bytes `r ‖ s`) is checked as an
//!    ECDSA P-256 / SHA-256 signature of `hashData` by the key that the
//!    `did:key` verification method is.
//!
//! Anything else (another key type, another suite) is [`FastPath::NotApplicable`]
//! and goes to `ssi`. The differential test (`wallet-core/tests/suite/proof_fast_path.rs`)
//! holds this to `ssi`'s answer on every fixture, the W3C vectors and tampered copies.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::canonical::CanonicalizationError;
use crate::contexts::BundledLoader;
use crate::credential_type::TypeRegistry;
use crate::data_integrity;
pub use crate::data_integrity::HashData;

/// The outcome of the fast path for one proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FastPath {
    /// The signature matches.
    Valid,
    /// The signature does not match this document and proof configuration.
    Mismatch,
    /// A document or proof the fast path does not handle: ask `ssi`.
    NotApplicable(&'static str),
    /// The document or the proof configuration cannot be canonicalised.
    Canonicalization(CanonicalizationError),
}

/// [`verify_with`] the contexts of the shipped credential types.
pub async fn verify(document: &Value, proof: &Value) -> FastPath {
    verify_with(&TypeRegistry::default().loader(), document, proof).await
}

/// Check one `ecdsa-rdfc-2019` proof of `document` (a credential or
/// presentation whose top-level `proof` holds `proof`), expanding with the
/// contexts `loader` knows.
pub async fn verify_with(loader: &BundledLoader, document: &Value, proof: &Value) -> FastPath {
    verify_with_unsecured(loader, document, proof, None).await
}

/// [`verify_with`], given the canonical N-Quads of the unsecured document
/// when the caller has them (read off the signed document's RDF by
/// [`crate::canonical::canonicalize_signed_with`]): then only the proof
/// configuration is canonicalised here.
pub async fn verify_with_unsecured(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
    unsecured: Option<&str>,
) -> FastPath {
    verify_with_canonical(loader, document, proof, unsecured, None).await
}

/// [`verify_with_unsecured`], given also the canonical N-Quads of the proof
/// configuration when the caller has them (read off the proof graph of the
/// signed document by [`crate::canonical::canonicalize_signed_with`]): with
/// both, nothing is canonicalised here.
pub async fn verify_with_canonical(
    loader: &BundledLoader,
    document: &Value,
    proof: &Value,
    unsecured: Option<&str>,
    proof_config: Option<&str>,
) -> FastPath {
    let Some(key) = signer_key(proof) else {
        return FastPath::NotApplicable("not a P-256 did:key verification method");
    };
    let Some(signature) = proof_signature(proof) else {
        return FastPath::NotApplicable("proofValue is not a base58btc P-256 signature");
    };
    let hashed = match (unsecured, proof_config) {
        (Some(unsecured), Some(config)) => Ok(data_integrity::hash_data_from_canonical(
            document,
            proof,
            "ecdsa-rdfc-2019",
            unsecured,
            config,
            |bytes| Sha256::digest(bytes).into(),
        )),
        (Some(unsecured), None) => {
            data_integrity::hash_data_with_unsecured(loader, document, proof, "ecdsa-rdfc-2019", unsecured, |bytes| {
                Sha256::digest(bytes).into()
            })
            .await
        }
        (None, _) => hash_data_with(loader, document, proof).await,
    };
    let hash_data = match hashed {
        Ok(Some(hash_data)) => hash_data,
        Ok(None) => return FastPath::NotApplicable("not an ecdsa-rdfc-2019 DataIntegrityProof"),
        Err(e) => return FastPath::Canonicalization(e),
    };
    if signature_matches(&key, &hash_data.bytes(), &signature) {
        FastPath::Valid
    } else {
        FastPath::Mismatch
    }
}

/// ECDSA P-256 / SHA-256 verification of `message`, through `ring` (the
/// `p256` crate gives the same answer, an order of magnitude slower here:
/// `benches/sm2.rs`).
pub fn signature_matches(key: &p256::ecdsa::VerifyingKey, message: &[u8], signature: &p256::ecdsa::Signature) -> bool {
    let point = key.to_encoded_point(false);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point.as_bytes())
        .verify(message, &signature.to_bytes())
        .is_ok()
}

/// The digests `proof` signs over `document`; `None` when `proof` is not an
/// `ecdsa-rdfc-2019` `DataIntegrityProof` object.
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
    data_integrity::hash_data_with(loader, document, proof, "ecdsa-rdfc-2019", |bytes| Sha256::digest(bytes).into())
        .await
}

/// The P-256 key a `did:key:zDn…#zDn…` verification method is.
fn signer_key(proof: &Value) -> Option<p256::ecdsa::VerifyingKey> {
    let url = proof.get("verificationMethod")?.as_str()?;
    let (did, fragment) = url.split_once('#')?;
    let id = did.strip_prefix("did:key:")?;
    if fragment != id {
        return None;
    }
    crate::keys::p256_key_from_did(did).ok().map(|key| p256::ecdsa::VerifyingKey::from(&key))
}

/// `proofValue`: multibase base58btc (`z`) of the 64-byte `r ‖ s`.
fn proof_signature(proof: &Value) -> Option<p256::ecdsa::Signature> {
    let encoded = proof.get("proofValue")?.as_str()?.strip_prefix('z')?;
    // 64 bytes are 88 base58 characters at most (and base58 decoding is quadratic).
    if encoded.len() > 96 {
        return None;
    }
    let bytes = bs58::decode(encoded).into_vec().ok()?;
    p256::ecdsa::Signature::from_slice(&bytes).ok()
}

/// `ssi`'s answer for the same document (every proof), the reference the
/// fast path is held to by the differential test. Not for production use.
#[doc(hidden)]
pub async fn verify_with_ssi(document: &Value, now: chrono::DateTime<chrono::Utc>) -> bool {
    use ssi_claims_core::{ValidateProof as _, VerificationParameters};
    use ssi_data_integrity::{AnySuite, DataIntegrity};
    let Ok(bytes) = serde_json::to_vec(document) else { return false };
    let parsed: Result<DataIntegrity<crate::ld_claims::LdClaims, AnySuite>, _> =
        ssi_data_integrity::from_json_slice(&bytes);
    let Ok(signed) = parsed else { return false };
    let params = VerificationParameters::from_resolver(crate::did_key::DidKeyResolver)
        .with_json_ld_loader(TypeRegistry::default().loader())
        .with_date_time(now);
    matches!(signed.proofs.validate_proof(&params, &signed.claims).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../fixtures/w3c/ecdsa-rdfc-2019-p256/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    #[test]
    fn ring_and_the_p256_crate_agree() {
        use p256::ecdsa::signature::{Signer as _, Verifier as _};
        for i in 0..50_u8 {
            let signing = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
            let key = *signing.verifying_key();
            let message = [i; 64];
            let signature: p256::ecdsa::Signature = signing.sign(&message);
            let (r, s) = signature.split_scalars();
            // The same signature with s negated (high S), a flipped message, another key.
            let high_s = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
            let other = *p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng).verifying_key();
            let mut flipped = message;
            flipped[(i % 64) as usize] ^= 1;
            for (k, m, sig) in [
                (&key, &message, &signature),
                (&key, &message, &high_s),
                (&key, &flipped, &signature),
                (&other, &message, &signature),
            ] {
                assert_eq!(signature_matches(k, m, sig), k.verify(m, sig).is_ok());
            }
            assert!(signature_matches(&key, &message, &signature));
        }
    }

    #[tokio::test]
    async fn the_w3c_vector_hashes_and_verifies() {
        let signed: Value = serde_json::from_str(&vector("signedECDSAP256.json")).unwrap();
        let proof = signed["proof"].clone();
        let hash = hash_data(&signed, &proof).await.unwrap().unwrap();
        assert_eq!(hex::encode(hash.proof_config), vector("proofHashECDSAP256.txt").trim());
        assert_eq!(hex::encode(hash.document), vector("docHashECDSAP256.txt").trim());
        assert_eq!(hex::encode(hash.bytes()), vector("combinedHashECDSAP256.txt").trim());
        assert_eq!(verify(&signed, &proof).await, FastPath::Valid);
    }
}
