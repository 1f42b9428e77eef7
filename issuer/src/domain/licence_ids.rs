//! 证照标识 (GB/T 36904) for issued credentials: whose credit code is the
//! issuing authority, and the serial from the store. The identifier's rules
//! (format, check character) are `wallet_core::licence_id`'s.
//!
//! The authority is the unified social credit code in this issuer's
//! certificate (the trust list it is given with `--trust-list`); an issuer
//! without a certificate (development, a demo) uses `--usci`, checked; with
//! neither, credentials carry no identifier and the issuer says so at start.
//! Serials count per (authority, type code) from 1, in decimal; the version
//! is 001 at first issuance and goes up by one on every reissue.

use serde_json::Value;
use wallet_core::credential::UnifiedSocialCreditCode;
use wallet_core::credential_type::Definition;
use wallet_core::licence_id::{LicenceId, LicenceIdError};
use wallet_core::trust::TrustStore;

use super::issuance::{IssuanceError, Issuer};

/// The issuing authority for 证照标识: the certificate's credit code, else the
/// configured one (`--usci`), else none.
///
/// # Errors
/// A configured code that is not a valid unified social credit code.
pub fn licence_authority(
    configured: Option<&str>,
    own_trust: Option<&TrustStore>,
    did: &str,
) -> anyhow::Result<Option<UnifiedSocialCreditCode>> {
    let configured = configured
        .map(|c| {
            UnifiedSocialCreditCode::parse(c)
                .map_err(|e| anyhow::anyhow!("--usci {c:?} is not a unified social credit code: {}", e.message.en))
        })
        .transpose()?;
    let certified =
        own_trust.and_then(|t| t.organization_usci(did)).and_then(|u| UnifiedSocialCreditCode::parse(&u).ok());
    match (certified, configured) {
        (Some(certified), Some(configured)) if certified != configured => {
            tracing::warn!(
                certificate = certified.as_str(),
                configured = configured.as_str(),
                "--usci differs from this issuer's certificate: the certificate's code is used in licence identifiers"
            );
            Ok(Some(certified))
        }
        (Some(certified), _) => Ok(Some(certified)),
        (None, Some(configured)) => {
            tracing::warn!(
                usci = configured.as_str(),
                "no certificate for this issuer's key: licence identifiers use the configured --usci"
            );
            Ok(Some(configured))
        }
        (None, None) => {
            tracing::warn!(
                "no issuer certificate and no --usci: credentials are issued without a licence identifier (证照标识)"
            );
            Ok(None)
        }
    }
}

fn licence_id_error(e: &LicenceIdError) -> IssuanceError {
    IssuanceError::internal(format!("licence identifier: {e}"))
}

impl Issuer {
    /// `unsigned` with a new 证照标识 (next serial, version 001) when its type has
    /// a licence type code and this issuer an authority; else unchanged.
    ///
    /// # Errors
    /// `Internal` when the store cannot hand out a serial.
    pub(crate) async fn with_new_licence_id(&self, def: &Definition, unsigned: Value) -> Result<Value, IssuanceError> {
        let (Some(type_code), Some(authority)) = (&def.licence_type_code, &self.licence_authority) else {
            return Ok(unsigned);
        };
        let serial = self
            .store
            .next_licence_serial(authority.as_str(), &type_code.to_string())
            .await
            .map_err(IssuanceError::internal)?;
        let id = LicenceId::new(type_code.clone(), authority.clone(), &serial.to_string(), 1)
            .map_err(|e| licence_id_error(&e))?;
        Ok(id.put_into(unsigned))
    }

    /// [`Self::with_new_licence_id`] for a batch of `def`'s credentials: their
    /// serials are taken at once, consecutive in batch order.
    ///
    /// # Errors
    /// `Internal` when the store cannot hand out serials.
    pub(crate) async fn with_new_licence_ids(
        &self,
        def: &Definition,
        unsigned: Vec<Value>,
    ) -> Result<Vec<Value>, IssuanceError> {
        let (Some(type_code), Some(authority)) = (&def.licence_type_code, &self.licence_authority) else {
            return Ok(unsigned);
        };
        let Ok(count) = u32::try_from(unsigned.len()) else {
            return Err(IssuanceError::internal("too many credentials for one serial range"));
        };
        if count == 0 {
            return Ok(unsigned);
        }
        let first = self
            .store
            .next_licence_serials(authority.as_str(), &type_code.to_string(), count)
            .await
            .map_err(IssuanceError::internal)?;
        unsigned
            .into_iter()
            .zip(first..)
            .map(|(credential, serial)| {
                let id = LicenceId::new(type_code.clone(), authority.clone(), &serial.to_string(), 1)
                    .map_err(|e| licence_id_error(&e))?;
                Ok(id.put_into(credential))
            })
            .collect()
    }

    /// A VC-API `credential` with a new 证照标识 (the domain API's allocation)
    /// when it is of a loaded type with a licence type code and this issuer has
    /// an authority; `None` when it gets none.
    ///
    /// # Errors
    /// [`IssuanceError::LicenceIdAssigned`] when it brings its own;
    /// `Internal` when the store cannot hand out a serial.
    pub(crate) async fn with_vc_api_licence_id(&self, credential: &Value) -> Result<Option<Value>, IssuanceError> {
        let Some(def) = self.types.for_credential(credential).filter(|d| d.licence_type_code.is_some()) else {
            return Ok(None);
        };
        if self.licence_authority.is_none() {
            return Ok(None);
        }
        if credential.get(wallet_core::licence_id::CREDENTIAL_TERM).is_some() {
            return Err(IssuanceError::LicenceIdAssigned);
        }
        self.with_new_licence_id(&def, credential.clone()).await.map(Some)
    }

    /// The stored credential carrying `licence_id`.
    ///
    /// # Errors
    /// [`IssuanceError::CredentialNotFound`].
    pub async fn credential_by_licence_id(&self, licence_id: &LicenceId) -> Result<Value, IssuanceError> {
        let id =
            self.store.credential_id_by_licence_id(&licence_id.to_string()).await.map_err(IssuanceError::internal)?;
        let stored = match id {
            Some(id) => self.store.credential(&id).await.map_err(IssuanceError::internal)?,
            None => None,
        };
        let stored = stored.ok_or(IssuanceError::CredentialNotFound)?;
        serde_json::from_str(&stored.credential_json).map_err(IssuanceError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_code_is_checked_and_used_without_a_certificate() {
        let did = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169";
        let code = licence_authority(Some("11430000006122244L"), None, did).unwrap();
        assert_eq!(code.map(|c| c.as_str().to_owned()).as_deref(), Some("11430000006122244L"));
        assert!(licence_authority(Some("11430000006122244X"), None, did).is_err(), "wrong check character");
        assert!(licence_authority(None, None, did).unwrap().is_none());
    }
}
