//! Reissuing a licence (换发): a new credential with the **same** 证照标识
//! serial and the next version (check character recomputed), and the previous
//! version revoked with the reason [`SUPERSEDED_REASON`], in the transaction
//! that stores the new one ([`crate::store::Store::save_reissued`]): nothing
//! is lost on a crash and no two versions are live. The content is the
//! previous credential's, or the corrected fields a request brings (checked as
//! an issuance of the type is).
//!
//! Refused (4xx, [`ReissueRefusal`]): a credential without 证照标识 or
//! revocation entry, a revoked one, a suspended one (a reissue would lift the
//! suspension), a used single-use one, a version already reissued, version 999. Of two concurrent reissues of one credential exactly
//! one is saved; the other is refused as superseded.
//!
//! With an `Idempotency-Key` ([`Issuer::reissue_with_key`]) the answer is
//! remembered as an issuance's is, in the scope [`REISSUE_SCOPE`] (no
//! issuance scope can be equal: an `apiPath` has no `/`), for the request
//! digest of the source credential and the corrections: a retry gets the same
//! new credential (nothing signed, revoked or logged again), also when it
//! races the first; the key with another body or another credential is
//! `idempotency_key_reused`.

use serde_json::{json, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::Definition;
use wallet_core::licence_id::LicenceId;
use wallet_core::selective_disclosure;

use super::issuance::{
    check_typed_request, digest_hex, issued_body, new_credential, parse_request, replay, IdempotencyKey, IssuanceError,
    Issued, Issuer,
};
use super::proof_suite::ProofSuite;
use super::reissue_refusal::ReissueRefusal;
use crate::store::{CredentialState, IdempotencyRecord, IssuedToSave, LicenceVersion, ReissueOutcome};

/// The reason recorded when a reissue revokes the previous version.
pub const SUPERSEDED_REASON: &str = "superseded by reissue";

/// The idempotency scope of reissues. Issuance scopes are an `apiPath`
/// (lower-case letters, digits, `-`) with an optional `#suite`: never this.
pub const REISSUE_SCOPE: &str = "credentials/reissue";

/// What a reissue request is, for its idempotency record: the source
/// credential (the path's UUID, lower-cased) and the corrections (none for an
/// empty body and `{}` alike).
fn reissue_digest(uuid: &str, corrections: &[u8]) -> String {
    let mut request = Vec::with_capacity(uuid.len() + 1 + corrections.len());
    request.extend_from_slice(uuid.to_ascii_lowercase().as_bytes());
    request.push(b'\n');
    if !brings_nothing(corrections) {
        request.extend_from_slice(corrections);
    }
    digest_hex(&request)
}

fn refused(refusal: ReissueRefusal) -> IssuanceError {
    IssuanceError::Reissue(refusal)
}

/// The identifier of the next version, or why there is none.
///
/// # Errors
/// [`ReissueRefusal::VersionExhausted`] after version 999.
pub fn next_version(current: &LicenceId) -> Result<LicenceId, IssuanceError> {
    current.reissued().map_err(|_| refused(ReissueRefusal::VersionExhausted))
}

/// `previous` as the unsigned content of its reissue `id`: no proof, no status
/// entries (new ones are allocated), signed by this issuer.
fn unchanged_content(previous: &Value, id: &CredentialId, did: &str) -> Value {
    let mut content = previous.clone();
    if let Some(members) = content.as_object_mut() {
        members.remove("proof");
        members.remove("credentialStatus");
        members.insert("id".to_owned(), Value::String(id.as_str().to_owned()));
        match members.get_mut("issuer") {
            Some(Value::Object(issuer)) => {
                issuer.insert("id".to_owned(), Value::String(did.to_owned()));
            }
            _ => {
                members.insert("issuer".to_owned(), Value::String(did.to_owned()));
            }
        }
    }
    content
}

/// Whether a reissue request brings no corrections (empty body, or `{}`).
fn brings_nothing(body: &[u8]) -> bool {
    let trimmed = body.trim_ascii();
    trimmed.is_empty()
        || serde_json::from_slice::<Value>(trimmed).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

impl Issuer {
    /// Reissue the stored credential `uuid` (the UUID part of its id) on behalf
    /// of `actor`, with `corrections` (the type's issuance request, JSON) or
    /// unchanged (an empty body or `{}`). Answers as an issuance does, plus
    /// `previous` (the superseded credential's id).
    ///
    /// # Errors
    /// `CredentialNotFound`; [`IssuanceError::Reissue`]; the issuance's own
    /// errors for corrections (`invalid_fields`, …); `Internal` when the store
    /// or signing fails.
    pub async fn reissue(&self, uuid: &str, corrections: &[u8], actor: &str) -> Result<Value, IssuanceError> {
        Ok(self.reissue_with_key(uuid, corrections, actor, None).await?.body)
    }

    /// [`Issuer::reissue`] with an optional idempotency key (scope
    /// [`REISSUE_SCOPE`]): a key already used for this credential and these
    /// corrections replays the recorded answer (`replayed`, nothing reissued);
    /// concurrent requests with one key save one reissue and get its answer.
    ///
    /// # Errors
    /// As [`Issuer::reissue`]; `IdempotencyKeyReused` when the key was used
    /// for another credential or other corrections.
    pub async fn reissue_with_key(
        &self,
        uuid: &str,
        corrections: &[u8],
        actor: &str,
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<Issued, IssuanceError> {
        let request_digest = reissue_digest(uuid, corrections);
        let Some(key) = idempotency_key else {
            return self.reissue_once(uuid, corrections, actor, None).await;
        };
        if let Some(saved) = self.recorded_reissue(&key).await? {
            return replay(saved, &request_digest);
        }
        let record = (key.clone(), request_digest.clone());
        match self.reissue_once(uuid, corrections, actor, Some(record)).await {
            // A request with the same key committed after our look-up, before
            // our check found the credential superseded: its answer is ours.
            Err(refusal @ IssuanceError::Reissue(_)) => match self.recorded_reissue(&key).await? {
                Some(saved) => replay(saved, &request_digest),
                None => Err(refusal),
            },
            other => other,
        }
    }

    async fn recorded_reissue(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, IssuanceError> {
        self.store.idempotent_response(REISSUE_SCOPE, key.as_str()).await.map_err(IssuanceError::internal)
    }

    /// One reissue, recorded under `idempotency` (key and request digest) when given.
    async fn reissue_once(
        &self,
        uuid: &str,
        corrections: &[u8],
        actor: &str,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Issued, IssuanceError> {
        let previous = self.credential(uuid).await?;
        let previous_id = previous
            .get("id")
            .and_then(Value::as_str)
            .and_then(CredentialId::parse)
            .ok_or_else(|| IssuanceError::internal("a stored credential without an id"))?;
        let current = LicenceId::of_credential(&previous)
            .and_then(Result::ok)
            .ok_or_else(|| refused(ReissueRefusal::NotReissuable))?;
        let def = self.types.for_credential(&previous).ok_or_else(|| refused(ReissueRefusal::NotReissuable))?;
        self.check_authorised(&def)?;
        self.refuse_unless_live(&previous_id, &current).await?;
        let next = next_version(&current)?;

        let id = CredentialId::generate();
        let did = self.key.did();
        let unsigned = if brings_nothing(corrections) {
            unchanged_content(&previous, &id, &did)
        } else {
            let request: Value = parse_request(corrections)?;
            let checked = check_typed_request(&def, &request, self.id_number_key.as_ref())?;
            def.to_unsigned_credential(&checked, &id, &did)
        };
        let unsigned = next.put_into(unsigned);
        let unsigned = self.status.with_status_entries(id.as_str(), unsigned, def.single_use).await?;
        let (signed, log_entry) = self.sign_and_digest(unsigned, &suite_of(&def, &previous)).await?;
        let mut body = issued_body(&id, &signed);
        if let Some(members) = body.as_object_mut() {
            members.insert("previous".to_owned(), json!(previous_id.as_str()));
        }
        let request_digest = idempotency.as_ref().map(|(_, digest)| digest.clone()).unwrap_or_default();
        let idempotency = idempotency.map(|(key, request_digest)| IdempotencyRecord {
            scope: REISSUE_SCOPE.to_owned(),
            key: key.as_str().to_owned(),
            request_digest,
            response_status: 201,
            response_body: body.to_string(),
            credential_id: Some(id.as_str().to_owned()),
        });
        let item = IssuedToSave { credential: new_credential(&self.types, &id, &signed)?, idempotency, log_entry };
        let outcome = self
            .store
            .save_reissued(&item, previous_id.as_str(), SUPERSEDED_REASON, actor)
            .await
            .map_err(IssuanceError::internal)?;
        match outcome {
            ReissueOutcome::Saved(appended) => {
                if let Some(appended) = appended {
                    self.log.appended(appended).await;
                }
                tracing::info!(credential_id = %id, previous = %previous_id, version = next.version(), "reissued");
                Ok(Issued { status: 201, body, replayed: false })
            }
            // A concurrent request with the same key committed first: ours is discarded.
            ReissueOutcome::Replayed(saved) => replay(saved, &request_digest),
            // A concurrent reissue (or revocation) committed first: ours is discarded.
            ReissueOutcome::PreviousRevoked | ReissueOutcome::Duplicate => {
                Err(self.superseded_or_revoked(&current).await?)
            }
            ReissueOutcome::PreviousUsed => Err(refused(ReissueRefusal::Used)),
            ReissueOutcome::PreviousSuspended => Err(refused(ReissueRefusal::Suspended)),
            ReissueOutcome::PreviousNotRevocable => Err(refused(ReissueRefusal::NotReissuable)),
        }
    }

    /// Refuse before anything is signed when `id` is revoked, used or reissued
    /// already (the save checks again, atomically).
    async fn refuse_unless_live(&self, id: &CredentialId, current: &LicenceId) -> Result<(), IssuanceError> {
        let status = self.store.credential_status(id.as_str()).await.map_err(IssuanceError::internal)?;
        let Some(status) = status else {
            return Err(refused(ReissueRefusal::NotReissuable));
        };
        match status.state() {
            CredentialState::Revoked => Err(self.superseded_or_revoked(current).await?),
            CredentialState::Used => Err(refused(ReissueRefusal::Used)),
            CredentialState::Suspended => Err(refused(ReissueRefusal::Suspended)),
            CredentialState::Active => Ok(()),
        }
    }

    /// Why a revoked version is refused: superseded (naming the newest version)
    /// when a later version exists, else revoked.
    async fn superseded_or_revoked(&self, current: &LicenceId) -> Result<IssuanceError, IssuanceError> {
        let versions = self.licence_versions(current).await?;
        let later = versions
            .into_iter()
            .filter_map(|v| LicenceId::parse(&v.licence_id).ok())
            .filter(|v| v.version() > current.version())
            .max_by_key(LicenceId::version);
        Ok(match later {
            Some(by) => refused(ReissueRefusal::Superseded { by: by.to_string() }),
            None => refused(ReissueRefusal::Revoked),
        })
    }

    /// The version chain of the licence `licence_id` names (any version of
    /// it): each version's 证照标识, credential id and status, oldest first.
    ///
    /// # Errors
    /// `CredentialNotFound` when no version is stored; `Internal` when the store fails.
    pub async fn licence_chain(&self, licence_id: &LicenceId) -> Result<Value, IssuanceError> {
        let versions = self.licence_versions(licence_id).await?;
        if versions.is_empty() {
            return Err(IssuanceError::CredentialNotFound);
        }
        let mut chain = Vec::with_capacity(versions.len());
        for v in versions {
            let status = self.store.credential_status(&v.credential_id).await.map_err(IssuanceError::internal)?;
            chain.push(json!({
                "licenceId": v.licence_id,
                "credentialId": v.credential_id,
                "status": status.map(|s| s.state().as_str()),
            }));
        }
        let current = chain.last().and_then(|v| v.get("licenceId")).cloned();
        Ok(json!({"requested": licence_id.to_string(), "current": current, "versions": chain}))
    }

    /// Every stored version of `licence_id`'s licence (same serial), oldest first.
    ///
    /// # Errors
    /// `Internal` when the store fails.
    pub async fn licence_versions(&self, licence_id: &LicenceId) -> Result<Vec<LicenceVersion>, IssuanceError> {
        self.store.licence_versions(&licence_id.versions_prefix()).await.map_err(IssuanceError::internal)
    }
}

/// The reissue is signed as the previous version was: a selectively disclosable
/// credential stays one.
fn suite_of(def: &Definition, previous: &Value) -> ProofSuite {
    let suite = previous.get("proof").and_then(|p| p.get("cryptosuite")).and_then(Value::as_str);
    if suite == Some(selective_disclosure::CRYPTOSUITE) && !def.mandatory_pointers.is_empty() {
        ProofSuite::EcdsaSd2023 { requested: Vec::new() }
    } else {
        ProofSuite::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::credential::UnifiedSocialCreditCode;
    use wallet_core::licence_id::LicenceTypeCode;

    fn id(version: u16) -> LicenceId {
        let authority = UnifiedSocialCreditCode::parse("11430000006122244L").unwrap();
        let code = LicenceTypeCode::new(UnifiedSocialCreditCode::parse("11100000000013338W").unwrap(), 11).unwrap();
        LicenceId::new(code, authority, "20230000403", version).unwrap()
    }

    #[test]
    fn the_next_version_keeps_the_serial_and_stops_after_999() {
        let next = next_version(&id(1)).unwrap();
        assert_eq!((next.serial(), next.version()), ("20230000403", 2));
        assert_eq!(LicenceId::parse(&next.to_string()).unwrap(), next, "check character recomputed");
        assert_eq!(next.versions_prefix(), id(1).versions_prefix());
        assert_eq!(next_version(&id(998)).unwrap().version(), 999);
        let refusal = next_version(&id(999)).unwrap_err();
        assert_eq!(refusal.code(), "licence_version_exhausted");
    }

    #[test]
    fn an_empty_body_or_empty_object_asks_for_no_corrections() {
        assert!(brings_nothing(b""));
        assert!(brings_nothing(b" {} \n"));
        assert!(!brings_nothing(b"{\"name\":\"x\"}"));
        assert!(!brings_nothing(b"[]"));
    }

    #[test]
    fn the_reissue_digest_names_the_credential_and_the_corrections() {
        let uuid = "3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a14";
        assert_eq!(reissue_digest(uuid, b""), reissue_digest(uuid, b" {} "));
        assert_eq!(reissue_digest(uuid, b""), reissue_digest(&uuid.to_ascii_uppercase(), b""));
        assert_ne!(reissue_digest(uuid, b""), reissue_digest("3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a15", b""));
        assert_ne!(reissue_digest(uuid, b""), reissue_digest(uuid, b"{\"fullName\":\"x\"}"));
        assert_ne!(reissue_digest(uuid, b"{\"fullName\":\"x\"}"), reissue_digest(uuid, b"{\"fullName\":\"y\"}"));
    }

    #[test]
    fn unchanged_content_drops_proof_and_status_and_takes_the_new_id() {
        let previous = json!({"id": "urn:uuid:old", "issuer": "did:key:old", "proof": {}, "credentialStatus": [],
            "credentialSubject": {"name": "x"}});
        let new_id = CredentialId::generate();
        let content = unchanged_content(&previous, &new_id, "did:key:new");
        assert_eq!(content["id"], new_id.as_str());
        assert_eq!(content["issuer"], "did:key:new");
        assert!(content.get("proof").is_none() && content.get("credentialStatus").is_none());
        assert_eq!(content["credentialSubject"], previous["credentialSubject"]);
    }
}
