//! The issuing domain: validate, sign, store, with idempotency. Routes call
//! this; it knows nothing of HTTP beyond the status code it records for replays
//! (the idempotency record keeps the answer as it was given).

use chrono::Utc;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use wallet_core::credential::{CredentialId, FOOD_BUSINESS_LICENCE_TYPE, HEALTH_CERTIFICATE_TYPE};
use wallet_core::credential_type::{Definition, RequestError, TypeRegistry};
use wallet_core::issuance::IssueError;
use wallet_core::status::StatusPurpose;
use wallet_core::trust::{IssuerTrustFailureCode, TrustStore};

use wallet_core::localized::Localized;

use crate::domain::proof_suite::ProofSuite;
use crate::store::{IdempotencyRecord, IssuedToSave, NewCredential, SaveOutcome, Store};

/// Everything the issuing routes need.
#[derive(Clone)]
pub struct Issuer {
    /// Persistent state.
    pub store: Store,
    /// The signing key.
    pub key: crate::signing_key::SigningKey,
    /// Revocation and suspension lists.
    pub status: crate::domain::status::StatusService,
    /// The issuance transparency log (entries are appended by the store).
    pub log: crate::domain::transparency_log::TransparencyLog,
    /// OpenID4VCI secrets of this process (the nonce MAC key).
    pub oid4vci: crate::domain::offer_keys::Oid4vciKeys,
    /// The credential types this issuer knows (shipped + `--credential-types`).
    pub types: Arc<TypeRegistry>,
    /// This issuer's own trust list (`--trust-list`), read to refuse types its
    /// certificate does not allow; `None` without a trust list (demo mode).
    pub own_trust: Option<Arc<TrustStore>>,
    /// The department's ID number key (`--id-number-key`); without it types with
    /// an ID number are refused (`id_number_key_missing`).
    pub id_number_key: Option<wallet_core::credential::IdNumberKey>,
    /// Where signing, canonicalisation and password hashing run (never on the
    /// async workers); full → [`IssuanceError::Busy`].
    pub cpu: service_http::cpu_pool::CpuPool,
    /// The issuing authority in 证照标识 (see `domain::licence_ids`); `None`:
    /// credentials carry none.
    pub licence_authority: Option<wallet_core::credential::UnifiedSocialCreditCode>,
}

pub use super::issuance_error::IssuanceError;

/// Read `--trust-list` for the issuer's own guard: verified against the roots it
/// carries (the issuer checks what its department certified, not whom to trust).
/// A list that cannot be read gives a warning and no guard.
pub fn own_trust_store(path: Option<&std::path::Path>) -> Option<Arc<TrustStore>> {
    let path = path?;
    let read = || -> Result<TrustStore, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let list = wallet_core::trust::trust_list::TrustList::parse(&bytes).map_err(|e| e.to_string())?;
        let roots = list.listed_roots().map_err(|e| e.to_string())?;
        list.verify(&roots, Utc::now(), chrono::Duration::days(36_500)).map_err(|e| e.to_string())
    };
    match read() {
        Ok(store) => Some(Arc::new(store)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "trust list unreadable: credential types not checked before issuing");
            None
        }
    }
}

/// Check a domain request against its type's definition, today.
///
/// # Errors
/// [`IssuanceError::InvalidJson`] for a body that is not this type's JSON;
/// [`IssuanceError::InvalidFields`]; [`IssuanceError::IdNumberKeyMissing`].
pub(crate) fn check_typed_request(
    def: &Definition,
    req: &Value,
    id_key: Option<&wallet_core::credential::IdNumberKey>,
) -> Result<wallet_core::credential_type::Validated, IssuanceError> {
    if def.carries_id_number() && id_key.is_none() {
        return Err(id_number_key_missing());
    }
    def.check_request_keyed(req, Utc::now().date_naive(), id_key).map_err(|e| match e {
        RequestError::Fields(errors) => IssuanceError::InvalidFields(errors),
        RequestError::Malformed(m) => IssuanceError::InvalidJson(m.to_string()),
    })
}

/// `id_number_key_missing`: a type with an ID number, and no ID number key configured.
pub(crate) fn id_number_key_missing() -> IssuanceError {
    IssuanceError::IdNumberKeyMissing
}

/// What an issuance returns: the HTTP status to answer with and the body.
#[derive(Debug, Clone)]
pub struct Issued {
    /// 201 for a new credential; the recorded status for a replay.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// True when this answer is a replay of an earlier request with the same key.
    pub replayed: bool,
}

/// Rows of one batch being signed at once (on the CPU pool: its workers stay
/// busy while finished rows are committed).
pub const BATCH_PARALLELISM: usize = 8;

/// One row's answer in a batch.
#[derive(Debug)]
pub struct BatchOutcome {
    /// The row's position in the batch (1-based).
    pub row: usize,
    /// Its idempotency key, as given.
    pub idempotency_key: Option<String>,
    /// Issued (or replayed, [`Issued::replayed`]), or why not.
    pub result: Result<Issued, IssuanceError>,
}

/// An `Idempotency-Key` header value: 1–255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parse the header value.
    ///
    /// # Errors
    /// [`IssuanceError::InvalidIdempotencyKey`].
    pub fn parse(s: &str) -> Result<Self, IssuanceError> {
        if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IssuanceError::InvalidIdempotencyKey);
        }
        Ok(Self(s.to_owned()))
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(super) fn digest_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether the caller has already run the data-model check on what it signs.
#[derive(Debug, Clone, Copy)]
enum DataModel {
    Unchecked,
    Checked,
}

fn sign_error(e: IssueError) -> IssuanceError {
    match e {
        IssueError::Signing(cause) => IssuanceError::internal(cause),
        other => IssuanceError::Unsignable(other),
    }
}

impl Issuer {
    /// Sign `unsigned` now and make its log entry (canonicalisation and digest),
    /// both on the CPU pool.
    ///
    /// # Errors
    /// [`IssuanceError::Unsignable`] for a credential the data model refuses,
    /// [`IssuanceError::Busy`] when the pool is full, `Internal` when signing fails.
    pub(super) async fn sign_and_digest(
        &self,
        unsigned: Value,
        suite: &ProofSuite,
    ) -> Result<(Value, wallet_core::transparency::LogEntry), IssuanceError> {
        self.sign_and_digest_as(unsigned, suite, DataModel::Unchecked).await
    }

    /// [`Issuer::sign_and_digest`]; an `ecdsa-rdfc-2019` credential is signed
    /// in one pass, its digest read off the signature's expansion
    /// ([`wallet_core::one_pass_signing`]), and its data model is not checked
    /// again when the caller has (`DataModel::Checked`).
    async fn sign_and_digest_as(
        &self,
        unsigned: Value,
        suite: &ProofSuite,
        data_model: DataModel,
    ) -> Result<(Value, wallet_core::transparency::LogEntry), IssuanceError> {
        let key = self.key.clone();
        let types = self.types.clone();
        suite.check_signer(&key)?;
        let mandatory = suite.mandatory_pointers(&types, &unsigned)?;
        let suite = suite.clone();
        self.cpu
            .run_future(move || async move {
                // The issuer key's own suite signs with the log entry's digest
                // (ecdsa-rdfc-2019 in one pass, read off the signature's
                // expansion); the others sign, then digest the signed credential.
                if mandatory.is_none() && suite.is_issuer_key_rdfc() {
                    let anchored = match data_model {
                        DataModel::Unchecked => {
                            wallet_core::issuance::sign_credential_anchored(&types, &unsigned, &key, Utc::now()).await
                        }
                        DataModel::Checked => {
                            wallet_core::issuance::sign_checked_credential_anchored(&types, &unsigned, &key, Utc::now())
                                .await
                        }
                    }
                    .map_err(sign_error)?;
                    let log_entry =
                        crate::domain::transparency_log::issued_entry_of_digest(anchored.digest, &key.did())
                            .map_err(IssuanceError::internal)?;
                    return Ok::<_, IssuanceError>((anchored.signed, log_entry));
                }
                let signed = crate::domain::proof_suite::sign(&types, &unsigned, &key, &suite, mandatory.as_deref())
                    .await
                    .map_err(sign_error)?;
                let log_entry = crate::domain::transparency_log::issued_entry(&types, &signed, &key.did())
                    .await
                    .map_err(IssuanceError::internal)?;
                Ok::<_, IssuanceError>((signed, log_entry))
            })
            .await?
    }

    /// Issue a health certificate from plain fields.
    ///
    /// # Errors
    /// As [`Issuer::issue_type`].
    pub async fn issue_health_certificate(
        &self,
        request_body: &[u8],
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<Issued, IssuanceError> {
        self.issue_type(HEALTH_CERTIFICATE_TYPE, request_body, idempotency_key).await
    }

    /// Issue a food business licence from plain fields.
    ///
    /// # Errors
    /// As [`Issuer::issue_health_certificate`].
    pub async fn issue_licence(
        &self,
        request_body: &[u8],
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<Issued, IssuanceError> {
        self.issue_type(FOOD_BUSINESS_LICENCE_TYPE, request_body, idempotency_key).await
    }

    /// The definition served at `POST /api/v1/<api_path>`.
    ///
    /// # Errors
    /// [`IssuanceError::UnknownCredentialType`].
    pub fn definition_at(&self, api_path: &str) -> Result<Arc<Definition>, IssuanceError> {
        self.types.by_api_path(api_path).ok_or(IssuanceError::UnknownCredentialType)
    }

    /// Issue a credential of a defined type from plain fields.
    ///
    /// # Errors
    /// [`IssuanceError::TypeNotAuthorised`] when this issuer's trust-list entry does
    /// not allow the type; `InvalidJson` for a body that is not this type's JSON;
    /// `InvalidFields`; `IdempotencyKeyReused` when the
    /// idempotency key was used for another request.
    pub async fn issue_type(
        &self,
        type_name: &str,
        request_body: &[u8],
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<Issued, IssuanceError> {
        self.issue_type_with(type_name, request_body, idempotency_key, &ProofSuite::default()).await
    }

    /// [`Issuer::issue_type`] signed with `suite` (`crate::domain::proof_suite`).
    ///
    /// # Errors
    /// As [`Issuer::issue_type`].
    pub async fn issue_type_with(
        &self,
        type_name: &str,
        request_body: &[u8],
        idempotency_key: Option<IdempotencyKey>,
        suite: &ProofSuite,
    ) -> Result<Issued, IssuanceError> {
        let def = self
            .types
            .by_type(type_name)
            .ok_or_else(|| IssuanceError::internal(format!("type {type_name} not loaded")))?;
        self.check_authorised(&def)?;
        let scope = format!("{}{}", def.api_path, suite.scope_suffix());
        self.issue_domain(&def, &scope, suite, request_body, idempotency_key, |body, key, id| {
            let req: Value = parse_request(body)?;
            let checked = check_typed_request(&def, &req, self.id_number_key.as_ref())?;
            Ok(def.to_unsigned_credential(&checked, id, &key.did()))
        })
        .await
    }

    /// Refuse a type the issuer's own trust-list entry does not allow (when a trust list is configured).
    pub(super) fn check_authorised(&self, def: &Definition) -> Result<(), IssuanceError> {
        self.check_types_authorised(&["VerifiableCredential".to_owned(), def.type_name.to_owned()])
    }

    /// The type guard of every issuing route, exact: each type other than the base
    /// `VerifiableCredential` must be allowed on its own by this issuer's certificate
    /// (when a trust list is configured), and a credential of a defined type (the
    /// loaded definitions) carries no other type beside it.
    ///
    /// # Errors
    /// [`IssuanceError::TypeNotAuthorised`].
    pub fn check_types_authorised(&self, types: &[String]) -> Result<(), IssuanceError> {
        let specific: Vec<&String> = types.iter().filter(|t| t.as_str() != "VerifiableCredential").collect();
        let refuse = |name_zh: &str, name_en: &str, zh: &str, en: &str| IssuanceError::TypeNotAuthorised {
            name: Localized::new(name_zh, name_en),
            why: Localized::new(zh, en),
        };
        if specific.len() > 1 {
            if let Some(defined) = specific.iter().find_map(|t| self.types.by_type(t)) {
                let names = specific.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
                return Err(refuse(
                    &names,
                    &names,
                    &format!("“{}”类凭证不能再带其他类型", defined.name.zh),
                    &format!("a “{}” carries no other type", defined.name.en),
                ));
            }
        }
        let Some(trust) = &self.own_trust else {
            return Ok(());
        };
        for t in specific {
            let one = ["VerifiableCredential".to_owned(), t.clone()];
            match trust.assess_issuer(&self.key.did(), &one, Utc::now()) {
                Err(failure)
                    if matches!(
                        failure.code,
                        IssuerTrustFailureCode::TypeNotAllowed | IssuerTrustFailureCode::TypeNotAuthorisedByRoot
                    ) =>
                {
                    let name = self.types.by_type(t).map_or_else(|| t.clone(), |d| d.name.zh.to_string());
                    let name_en = self.types.by_type(t).map_or_else(|| t.clone(), |d| d.name.en.to_string());
                    return Err(refuse(&name, &name_en, &failure.reason.zh, &failure.reason.en));
                }
                // Other trust failures (revoked, expired, not listed) are for inspectors to
                // report; the issuer only refuses what its department never allowed.
                Err(failure) => {
                    tracing::warn!(
                        code = failure.code.as_str(),
                        "this issuer's own trust-list entry does not check out"
                    );
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    async fn issue_domain(
        &self,
        def: &Definition,
        scope: &str,
        suite: &ProofSuite,
        request_body: &[u8],
        idempotency_key: Option<IdempotencyKey>,
        build: impl FnOnce(&[u8], &crate::signing_key::SigningKey, &CredentialId) -> Result<Value, IssuanceError>,
    ) -> Result<Issued, IssuanceError> {
        let single_use = def.single_use;
        let request_digest = digest_hex(request_body);
        if let Some(key) = &idempotency_key {
            if let Some(saved) = self.store.idempotent_response(scope, &key.0).await.map_err(IssuanceError::internal)? {
                return replay(saved, &request_digest);
            }
        }
        let id = CredentialId::generate();
        let unsigned = build(request_body, &self.key, &id)?;
        let unsigned = self.with_new_licence_id(def, unsigned).await?;
        // A single-use type (its definition says so) also gets a `used` entry.
        let unsigned = self.status.with_status_entries(id.as_str(), unsigned, single_use).await?;
        let (signed, log_entry) = self.sign_and_digest(unsigned, suite).await?;
        let mut body = issued_body(&id, &signed);
        let warnings = self.backdating_warnings(&signed);
        if let (false, Some(members)) = (warnings.is_empty(), body.as_object_mut()) {
            members.insert("warnings".to_owned(), Value::Array(warnings));
        }
        let record = idempotency_key.map(|key| IdempotencyRecord {
            scope: scope.to_owned(),
            key: key.0,
            request_digest: request_digest.clone(),
            response_status: 201,
            response_body: body.to_string(),
            credential_id: Some(id.as_str().to_owned()),
        });
        // Concurrent requests share a commit (see `crate::store::Store::save_issued_coalesced`).
        let to_save =
            IssuedToSave { credential: new_credential(&self.types, &id, &signed)?, idempotency: record, log_entry };
        match self.store.save_issued_coalesced(to_save).await.map_err(IssuanceError::internal)? {
            (SaveOutcome::Saved, appended) => {
                if let Some(appended) = appended {
                    self.log.appended(appended).await;
                }
                tracing::info!(credential_id = %id, kind = %self.types.kind_of(&signed), "issued");
                Ok(Issued { status: 201, body, replayed: false })
            }
            // A concurrent request with the same key won the race: our signature is discarded.
            (SaveOutcome::Replayed(saved), _) => replay(saved, &request_digest),
        }
    }

    /// The warnings of the answer to an issuance: with a trust list
    /// (`--trust-list`), a `validFrom` before this issuer's authorisation for the
    /// credential's types (the verifier's `valid_from_before_authorisation`, by
    /// wallet-core's rule, [`TrustStore::assess_issuer_from`]). A warning, not a
    /// refusal: the date of the attested event may rightly precede the issuer's
    /// current certificate (DESIGN.md, "Backdating").
    fn backdating_warnings(&self, signed: &Value) -> Vec<Value> {
        let Some(trust) = &self.own_trust else {
            return Vec::new();
        };
        let types: Vec<String> = match signed.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let valid_from = wallet_core::trust::claimed_start(signed);
        match trust.assess_issuer_from(&self.key.did(), &types, Utc::now(), valid_from) {
            Ok((_, Some(finding))) => vec![json!({
                "code": wallet_core::trust::ValidFromBeforeAuthorisation::CODE,
                "message": {"zh": finding.reason.zh.to_string(), "en": finding.reason.en.to_string()},
            })],
            _ => Vec::new(),
        }
    }

    /// VC-API issue: sign the caller's credential as it is, with the issuer's
    /// status entries (every purpose its type requires, for a type of ours).
    ///
    /// # Errors
    /// `IssuerMismatch`, `TypeNotAuthorised`, `StatusEntryAssigned` and
    /// `StatusNeedsV2Context` (a type of ours), `CredentialIdExists`, or
    /// `Unsignable` when the credential breaks the data model or cannot be signed.
    pub async fn issue_vc_api(&self, credential: &Value, suite: &ProofSuite) -> Result<Value, IssuanceError> {
        if let Some(issuer) = credential.get("issuer") {
            let named = issuer.as_str().or_else(|| issuer.get("id").and_then(Value::as_str));
            let signer = suite.signer_did().unwrap_or_else(|| self.key.did());
            if named.is_some_and(|n| n != signer) {
                return Err(IssuanceError::IssuerMismatch(signer));
            }
        }
        let types: Vec<String> = match credential.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        self.check_types_authorised(&types)?;
        // A credential of a type whose credentials always carry status entries
        // (`statusRequired`) gets the issuer's, one per purpose the type requires;
        // refused before anything is allocated when it brings its own or cannot
        // carry them.
        let definition = self.types.for_credential(credential);
        let required = definition.as_deref().map_or(&[][..], Definition::required_status_purposes);
        check_status_assignable(credential, required)?;
        let id = credential
            .get("id")
            .and_then(Value::as_str)
            .and_then(CredentialId::parse)
            .unwrap_or_else(CredentialId::generate);
        // A credential of a type of ours passes the domain API's field rules and
        // is rebuilt from its checked fields, as the domain API builds it
        // (`Definition::request_of_credential`): no made-up fields, codes or
        // digests, nothing its definition does not describe.
        let of_type;
        let credential = match &definition {
            Some(def) => {
                if def.licence_type_code.is_some() && credential.get(wallet_core::licence_id::CREDENTIAL_TERM).is_some()
                {
                    return Err(IssuanceError::LicenceIdAssigned);
                }
                let request = def.request_of_credential(credential).map_err(IssuanceError::InvalidFields)?;
                let checked = check_typed_request(def, &request, self.id_number_key.as_ref())?;
                let signer = suite.signer_did().unwrap_or_else(|| self.key.did());
                of_type = def.to_unsigned_credential(&checked, &id, &signer);
                &of_type
            }
            None => credential,
        };
        // An id already issued is refused before anything is signed, logged or stored.
        if self.store.credential(id.as_str()).await.map_err(IssuanceError::internal)?.is_some() {
            return Err(credential_id_exists());
        }
        // A credential sent without an id gets the one it is stored under, so the
        // caller can read it back and change its status later.
        let with_id;
        let credential = if let Some(object) = credential.as_object().filter(|o| !o.contains_key("id")) {
            let mut named = object.clone();
            named.insert("id".to_owned(), Value::String(id.as_str().to_owned()));
            with_id = Value::Object(named);
            &with_id
        } else {
            credential
        };
        // A credential of a type with a licence type code gets its 证照标识 here, as in the domain API.
        let with_licence_id;
        let credential = match self.with_vc_api_licence_id(credential).await? {
            Some(assigned) => {
                with_licence_id = assigned;
                &with_licence_id
            }
            None => credential,
        };
        // Status entries are part of what is signed; checked first (once: signing
        // does not check again) so bad input wastes no index.
        wallet_core::issuance::check_unsigned_credential(&self.types.loader(), credential).map_err(sign_error)?;
        let credential = if !required.is_empty() {
            self.status.with_entries_for(id.as_str(), credential.clone(), required).await?
        } else if crate::domain::status::wants_status_entries(credential) {
            self.status.with_status_entries(id.as_str(), credential.clone(), false).await?
        } else {
            credential.clone()
        };
        let (signed, log_entry) = self.sign_and_digest_as(credential, suite, DataModel::Checked).await?;
        match self.store.save_issued_logged(&new_credential(&self.types, &id, &signed)?, None, Some(&log_entry)).await {
            Ok((_, Some(appended))) => self.log.appended(appended).await,
            Ok(_) => {}
            // A concurrent request stored the same id first: this signature is discarded.
            Err(crate::store::StoreError::Duplicate(_)) => return Err(credential_id_exists()),
            Err(e) => return Err(IssuanceError::internal(e)),
        }
        Ok(signed)
    }

    /// A stored credential by the UUID part of its id.
    ///
    /// # Errors
    /// [`IssuanceError::CredentialNotFound`].
    pub async fn credential(&self, uuid: &str) -> Result<Value, IssuanceError> {
        let id = CredentialId::parse(&format!("urn:uuid:{uuid}")).ok_or(IssuanceError::CredentialNotFound)?;
        let stored = self.store.credential(id.as_str()).await.map_err(IssuanceError::internal)?;
        let stored = stored.ok_or(IssuanceError::CredentialNotFound)?;
        serde_json::from_str(&stored.credential_json).map_err(IssuanceError::internal)
    }
}

/// The answer to a domain issuance: the id, the signed credential, its links.
pub(super) fn issued_body(id: &CredentialId, signed: &Value) -> Value {
    json!({
        "id": id.as_str(),
        "credential": signed,
        "links": {
            "credential": format!("/credentials/{}", id.uuid_part()),
            "qrPng": format!("/credentials/{}/qr.png", id.uuid_part()),
            "qrSvg": format!("/credentials/{}/qr.svg", id.uuid_part()),
        }
    })
}

/// A VC-API credential whose type requires the status entries `required`
/// (`Definition::required_status_purposes`, empty for a type not ours): it
/// must leave `credentialStatus` to the issuer (its own entries could point at
/// a list nobody sets, at another credential's index, or leave one purpose
/// out), and be a VC 2.0 credential, whose context defines the entries.
///
/// # Errors
/// [`IssuanceError::StatusEntryAssigned`], [`IssuanceError::StatusNeedsV2Context`].
fn check_status_assignable(credential: &Value, required: &[StatusPurpose]) -> Result<(), IssuanceError> {
    if required.is_empty() {
        return Ok(());
    }
    if credential.get("credentialStatus").is_some() {
        return Err(IssuanceError::StatusEntryAssigned);
    }
    if !crate::domain::status::first_context_is_v2(credential) {
        return Err(IssuanceError::StatusNeedsV2Context);
    }
    Ok(())
}

fn credential_id_exists() -> IssuanceError {
    IssuanceError::CredentialIdExists
}

pub(crate) fn parse_request<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, IssuanceError> {
    serde_json::from_slice(body).map_err(|e| IssuanceError::InvalidJson(e.to_string()))
}

pub(super) fn replay(saved: IdempotencyRecord, request_digest: &str) -> Result<Issued, IssuanceError> {
    if saved.request_digest != request_digest {
        return Err(IssuanceError::IdempotencyKeyReused);
    }
    let body = serde_json::from_str(&saved.response_body).map_err(IssuanceError::internal)?;
    Ok(Issued { status: saved.response_status, body, replayed: true })
}

pub(super) fn new_credential(
    types: &TypeRegistry,
    id: &CredentialId,
    signed: &Value,
) -> Result<NewCredential, IssuanceError> {
    let time = |k: &str| {
        signed
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    };
    Ok(NewCredential {
        id: id.as_str().to_owned(),
        kind: types.kind_of(signed),
        issuer: signed
            .get("issuer")
            .map(|i| i.as_str().or_else(|| i.get("id").and_then(Value::as_str)).unwrap_or("").to_owned())
            .unwrap_or_default(),
        issued_at: Utc::now(),
        valid_from: time("validFrom"),
        valid_until: time("validUntil"),
        credential_json: serde_json::to_string(signed).map_err(IssuanceError::internal)?,
        search_digest: None,
        licence_id: wallet_core::licence_id::LicenceId::of_credential(signed)
            .and_then(Result::ok)
            .map(|licence_id| licence_id.to_string()),
    })
}
