//! did:key, the only DID method we resolve: a verification method URL
//! `did:key:zX#zX` is its own public key, so resolving it is decoding it.
//!
//! It replaces `did-method-key` + `ssi-dids-core`'s generic DID resolver:
//! `ssi-dids-core` 0.3 declares reqwest (with vendored OpenSSL) as an
//! unconditional dependency on Android, which would put an HTTP client in the
//! phone build of the C ABI library. The method built is the one did-method-key
//! builds (its default, `Multikey`: id, controller, `publicKeyMultibase`) and goes
//! through the same `AnyMethod::try_from(GenericVerificationMethod)`.

use std::borrow::Cow;

use ssi_json_ld::Iri;
use ssi_verification_methods::{
    AnyMethod, GenericVerificationMethod, ReferenceOrOwnedRef, ResolutionOptions, VerificationMethod as _,
    VerificationMethodResolutionError, VerificationMethodResolver,
};

/// Resolves `did:key` verification methods, offline.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DidKeyResolver;

impl DidKeyResolver {
    fn method(url: &str) -> Result<AnyMethod, VerificationMethodResolutionError> {
        let Some(rest) = url.strip_prefix("did:key:") else {
            return Err(VerificationMethodResolutionError::UnsupportedKeyId(url.to_owned()));
        };
        let Some((id, fragment)) = rest.split_once('#') else {
            return Err(VerificationMethodResolutionError::NotAVerificationMethod(url.to_owned()));
        };
        if fragment != id {
            return Err(VerificationMethodResolutionError::InternalError(format!(
                "verification method `{url}` not found in the did:key document"
            )));
        }
        // The method-specific id is multibase base58btc of a multicodec key.
        let bytes = id
            .strip_prefix('z')
            .filter(|b58| b58.len() < crate::keys::MAX_DID_KEY_ID_CHARS)
            .and_then(|b58| bs58::decode(b58).into_vec().ok())
            .filter(|b| b.len() > 1)
            .ok_or_else(|| VerificationMethodResolutionError::InvalidKeyId(url.to_owned()))?;
        let generic: GenericVerificationMethod = serde_json::from_value(serde_json::json!({
            "id": url,
            "type": "Multikey",
            "controller": format!("did:key:{id}"),
            "publicKeyMultibase": format!("z{}", bs58::encode(bytes).into_string()),
        }))
        .map_err(|_| VerificationMethodResolutionError::InvalidKeyId(url.to_owned()))?;
        Ok(AnyMethod::try_from(generic)?)
    }
}

impl VerificationMethodResolver for DidKeyResolver {
    type Method = AnyMethod;

    async fn resolve_verification_method_with(
        &'_ self,
        _issuer: Option<&Iri>,
        method: Option<ReferenceOrOwnedRef<'_, AnyMethod>>,
        _options: ResolutionOptions,
    ) -> Result<Cow<'_, AnyMethod>, VerificationMethodResolutionError> {
        let method = method.ok_or(VerificationMethodResolutionError::MissingVerificationMethod)?;
        let url = match method {
            ReferenceOrOwnedRef::Reference(iri) => iri.as_str(),
            ReferenceOrOwnedRef::Owned(m) => m.id().as_str(),
        };
        Self::method(url).map(Cow::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: &str =
        "did:key:zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP#zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP";

    #[test]
    fn a_p256_did_key_is_a_multikey() {
        let method = DidKeyResolver::method(VM).expect("resolves");
        assert!(matches!(method, AnyMethod::Multikey(_)));
        assert_eq!(method.id().as_str(), VM);
    }

    #[test]
    fn other_urls_are_refused() {
        assert!(DidKeyResolver::method("did:web:example.org#key-1").is_err());
        assert!(DidKeyResolver::method("did:key:zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP").is_err());
        assert!(DidKeyResolver::method("did:key:zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP#other").is_err());
        assert!(DidKeyResolver::method("did:key:z0OIl#z0OIl").is_err());
    }
}
