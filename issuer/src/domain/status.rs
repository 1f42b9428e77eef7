//! Revocation and suspension, issuer side: W3C Bitstring Status Lists.
//!
//! * **Allocation.** Every credential issued through the domain API (and VC-API
//!   credentials that bring no `credentialStatus` of their own) gets two
//!   `BitstringStatusListEntry`s, revocation and suspension, added before signing.
//!   Indexes are drawn at random, never reused ([`Store::allocate_status`]).
//! * **Changes.** Revoke, suspend, reinstate: one store transaction writes the bit,
//!   increments the list's version and records the audit event. Revocation is final.
//! * **Publication.** `GET /status/{list_id}` serves a signed
//!   `BitstringStatusListCredential` that is always derived from committed state: it
//!   is built from the status table and cached under the list's version; a cached
//!   document older than the version (or near its `validUntil`, or signed by another
//!   key, or for another URL) is rebuilt. A crash between a change and publication
//!   therefore loses nothing.
//!
//! Reasons given for changes may name people: they go to the audit table, never to
//! the log.

use std::sync::Arc;

use actix_web::http::StatusCode;
use chrono::{DateTime, Duration, DurationRound as _, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wallet_core::contexts::CREDENTIALS_V2;
use wallet_core::credential::CredentialId;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{status_list_credential, Bitstring, StatusEntry, StatusPurpose};

use crate::api_error::ApiError;
use crate::store::{
    CredentialState, PublishedStatusList, StatusAction, StatusChange, StatusChangeOutcome, StatusEvent,
    StatusListConfig, Store, StoreError, PURPOSES, SINGLE_USE_PURPOSES,
};

/// A list credential's `validUntil`: publication time + 7 days. It matches the
/// verifiers' hard freshness limit (warn after 24 h, fail after 7 days), so an
/// inspector offline for up to a week still gets an answer. Verifiers online
/// refetch every few minutes (`Cache-Control: max-age=300`), and refuse a list
/// older than one they hold (rollback).
pub const LIST_VALIDITY: Duration = Duration::days(7);
/// A cached list credential with less than this left before its `validUntil` is
/// re-signed, so what verifiers fetch is always good for at least this long.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::days(6);
/// Longest accepted reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
/// Longest accepted actor name, in characters.
pub const MAX_ACTOR_CHARS: usize = 200;

/// Status lists of one issuer: allocation, changes, publication.
#[derive(Clone)]
pub struct StatusService {
    store: Store,
    key: IssuerKey,
    base_url: Arc<str>,
    config: StatusListConfig,
    /// One rebuild at a time in this process (others wait and then find it cached).
    publish_lock: Arc<tokio::sync::Mutex<()>>,
    /// Where the lists are signed.
    cpu: service_http::cpu_pool::CpuPool,
}

impl std::fmt::Debug for StatusService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusService")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl StatusService {
    /// Lists published under `base_url` (`<base_url>/status/<list_id>`), signed with
    /// `key` on the CPU pool `cpu`.
    pub fn new(
        store: Store,
        key: IssuerKey,
        base_url: &str,
        config: StatusListConfig,
        cpu: service_http::cpu_pool::CpuPool,
    ) -> Self {
        Self {
            store,
            key,
            base_url: base_url.trim_end_matches('/').into(),
            config,
            publish_lock: Arc::new(tokio::sync::Mutex::new(())),
            cpu,
        }
    }

    /// The issuer's public base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Where list `list_id` is published.
    pub fn list_url(&self, list_id: i64) -> String {
        list_url(&self.base_url, list_id)
    }

    /// Allocates a revocation and a suspension entry for `credential_id`, and a
    /// `used` entry when it is `single_use`.
    ///
    /// # Errors
    /// 500 when the store fails.
    pub async fn allocate_entries(&self, credential_id: &str, single_use: bool) -> Result<Vec<StatusEntry>, ApiError> {
        let purposes: &[StatusPurpose] = if single_use { &SINGLE_USE_PURPOSES } else { &PURPOSES };
        let allocations =
            self.store.allocate_status(credential_id, purposes, &self.config).await.map_err(ApiError::internal)?;
        Ok(allocations.into_iter().map(|a| StatusEntry::new(a.purpose, a.index, self.list_url(a.list_id))).collect())
    }

    /// `unsigned` with a `credentialStatus` of freshly allocated entries (revocation,
    /// suspension, and `used` for a single-use credential) for `credential_id`.
    ///
    /// # Errors
    /// 500 when the store fails.
    pub async fn with_status_entries(
        &self,
        credential_id: &str,
        mut unsigned: Value,
        single_use: bool,
    ) -> Result<Value, ApiError> {
        let entries = self.allocate_entries(credential_id, single_use).await?;
        if let Some(map) = unsigned.as_object_mut() {
            map.insert("credentialStatus".into(), Value::Array(entries.iter().map(StatusEntry::to_json).collect()));
        }
        Ok(unsigned)
    }

    /// Revoke, suspend or reinstate. See [`change_status`].
    ///
    /// # Errors
    /// As [`change_status`].
    pub async fn change(
        &self,
        credential_id: &str,
        action: StatusAction,
        reason: &str,
        actor: &str,
    ) -> Result<ChangeReport, ApiError> {
        change_status(&self.store, credential_id, action, reason, actor).await
    }

    /// Marks a single-use credential used. See [`mark_used`].
    ///
    /// # Errors
    /// As [`mark_used`].
    pub async fn mark_used(&self, credential_id: &str, request: &UseRequest) -> Result<ChangeReport, ApiError> {
        mark_used(&self.store, credential_id, request).await
    }

    /// The holder's view of a credential's use: whether it is single-use, whether and
    /// when and where it was used. No reasons or names of staff.
    ///
    /// # Errors
    /// 404 for an unknown credential; 500 when the store fails.
    pub async fn use_view(&self, credential_id: &str) -> Result<UseView, ApiError> {
        let internal = |e: StoreError| ApiError::internal(e);
        if self.store.credential(credential_id).await.map_err(internal)?.is_none() {
            return Err(ApiError::not_found("该凭证", "credential"));
        }
        let record = self.store.credential_status(credential_id).await.map_err(internal)?;
        let single_use = record.as_ref().is_some_and(|r| r.entry(StatusPurpose::Used).is_some());
        let used = record.as_ref().and_then(|r| r.entry(StatusPurpose::Used)).is_some_and(|e| e.is_set);
        let use_event = if used {
            self.store
                .status_events(credential_id)
                .await
                .map_err(internal)?
                .into_iter()
                .rev()
                .find(|e| e.action == StatusAction::Use)
        } else {
            None
        };
        Ok(UseView {
            credential_id: credential_id.to_owned(),
            single_use,
            used,
            used_at: use_event.as_ref().map(|e| e.occurred_at),
            office: use_event.and_then(|e| e.place),
        })
    }

    /// The credential's status, entries (with list URLs) and audit trail.
    ///
    /// # Errors
    /// As [`status_report`].
    pub async fn report(&self, credential_id: &str) -> Result<StatusReport, ApiError> {
        let mut report = status_report(&self.store, credential_id).await?;
        for entry in &mut report.entries {
            entry.status_list_credential = Some(self.list_url(entry.list_id));
        }
        Ok(report)
    }

    /// The signed list credential for `list_id` (the path segment), rebuilt from the
    /// committed bits when the cached one is out of date.
    ///
    /// # Errors
    /// 404 for an unknown list; 500 when the store or signing fails.
    pub async fn publication(&self, list_id: &str) -> Result<PublishedStatusList, ApiError> {
        let list_id = parse_list_id(list_id).ok_or_else(list_not_found)?;
        if let Some(fresh) = self.cached(list_id).await? {
            return Ok(fresh);
        }
        let _one_at_a_time = self.publish_lock.lock().await;
        // Another request may have rebuilt it while we waited.
        if let Some(fresh) = self.cached(list_id).await? {
            return Ok(fresh);
        }
        self.rebuild(list_id).await
    }

    /// The cached publication if it is current; `Err(404)` for an unknown list.
    async fn cached(&self, list_id: i64) -> Result<Option<PublishedStatusList>, ApiError> {
        let (list, cached) = self
            .store
            .status_list_publication(list_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(list_not_found)?;
        let did = self.key.did();
        let url = self.list_url(list_id);
        let now = Utc::now();
        Ok(cached.filter(|p| {
            p.version == list.version
                && p.issuer == did
                && p.list_url == url
                && p.valid_until - now > REFRESH_BEFORE_EXPIRY
        }))
    }

    /// Builds the list credential from a snapshot of the committed bits, signs it and
    /// caches it under the snapshot's version.
    async fn rebuild(&self, list_id: i64) -> Result<PublishedStatusList, ApiError> {
        let previous = self.store.status_list_publication(list_id).await.map_err(ApiError::internal)?.and_then(|p| p.1);
        let snapshot =
            self.store.status_list_snapshot(list_id).await.map_err(ApiError::internal)?.ok_or_else(list_not_found)?;
        let size = usize::try_from(snapshot.list.size_bits).map_err(ApiError::internal)?;
        let mut bits = Bitstring::new(size);
        for &index in &snapshot.set_indexes {
            bits.set(usize::try_from(index).map_err(ApiError::internal)?, true).map_err(ApiError::internal)?;
        }
        // Verifiers refuse a list whose validFrom is older than one they have seen, and
        // validFrom has whole seconds: never go back, even if the clock does.
        let now = Utc::now().duration_trunc(Duration::seconds(1)).map_err(ApiError::internal)?;
        let valid_from = previous.as_ref().map_or(now, |p| p.published_at.max(now));
        let valid_until = valid_from + LIST_VALIDITY;
        let did = self.key.did();
        let url = self.list_url(list_id);
        let unsigned = status_list_credential(&url, &did, snapshot.list.purpose, &bits, valid_from, valid_until);
        let key = self.key.clone();
        let signed = self
            .cpu
            .run_future(move || async move { sign_credential(&unsigned, &key, valid_from).await })
            .await?
            .map_err(ApiError::internal)?;
        let credential_json = serde_json::to_string(&signed).map_err(ApiError::internal)?;
        let publication = PublishedStatusList {
            list_id,
            version: snapshot.list.version,
            issuer: did,
            list_url: url,
            etag: format!("\"{}\"", hex::encode(Sha256::digest(credential_json.as_bytes()))),
            credential_json,
            valid_until,
            published_at: valid_from,
        };
        if !self.store.save_status_list_publication(&publication).await.map_err(ApiError::internal)? {
            // Another process cached a newer one meanwhile: serve that.
            if let Some((_, Some(stored))) =
                self.store.status_list_publication(list_id).await.map_err(ApiError::internal)?
            {
                if stored.version >= publication.version {
                    return Ok(stored);
                }
            }
        }
        tracing::info!(
            list_id,
            version = publication.version,
            set = snapshot.set_indexes.len(),
            "published status list"
        );
        Ok(publication)
    }
}

/// The issuer's public base URL: `--public-url` (checked: `http(s)://host[:port][/path]`,
/// no query or fragment), else `http(s)://<bound address>` (the real port, also for
/// `:0`).
///
/// # Errors
/// A `--public-url` that is not such a URL.
pub fn base_url(settings: &crate::config::Settings, bound: std::net::SocketAddr) -> anyhow::Result<String> {
    if let Some(url) = settings.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        let host = rest.map(|r| r.split('/').next().unwrap_or(""));
        if host.is_none_or(str::is_empty) || url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
            anyhow::bail!("--public-url must be an http:// or https:// URL without query or fragment, not {url:?}");
        }
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let scheme = if settings.tls_cert.is_some() { "https" } else { "http" };
    Ok(format!("{scheme}://{bound}"))
}

/// `<base_url>/status/<list_id>`.
pub fn list_url(base_url: &str, list_id: i64) -> String {
    format!("{}/status/{list_id}", base_url.trim_end_matches('/'))
}

/// Whether the VC-API should add status entries to this credential: a VC 2.0
/// credential without `credentialStatus` of its own and without a proof. (VC 1.1
/// contexts do not define `BitstringStatusListEntry`.)
pub fn wants_status_entries(credential: &Value) -> bool {
    let Some(obj) = credential.as_object() else {
        return false;
    };
    let first_context = match obj.get("@context") {
        Some(Value::Array(a)) => a.first(),
        other => other,
    };
    first_context.and_then(Value::as_str) == Some(CREDENTIALS_V2)
        && !obj.contains_key("credentialStatus")
        && !obj.contains_key("proof")
}

/// A list id as it appears in the URL: a positive decimal number without leading zeros.
fn parse_list_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn list_not_found() -> ApiError {
    ApiError::not_found("该状态列表", "status list")
}

/// A credential id from `urn:uuid:…` or the bare UUID.
///
/// # Errors
/// 404 when it is neither.
pub fn parse_credential_id(text: &str) -> Result<CredentialId, ApiError> {
    let text = text.trim();
    CredentialId::parse(text)
        .or_else(|| CredentialId::parse(&format!("urn:uuid:{text}")))
        .ok_or_else(|| ApiError::not_found("该凭证", "credential"))
}

/// What a status change did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeReport {
    /// The credential.
    pub credential_id: String,
    /// The requested action.
    pub action: StatusAction,
    /// The state now.
    pub status: CredentialState,
    /// The state before.
    pub previous_status: CredentialState,
    /// False when the credential already was in the requested state (nothing written).
    pub changed: bool,
    /// The audit event written, when changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
}

/// Revokes, suspends or reinstates `credential_id` (bit, list version and audit
/// event in one transaction). Repeating a request is harmless (`changed: false`).
///
/// # Errors
/// 400 `reason_required` / `reason_too_long` / `actor_invalid`; 404 for an unknown
/// credential; 409 `already_revoked` (suspend or reinstate after revocation) or
/// `no_status_entry` (a credential issued without our status entries); 500 when the
/// store fails.
pub async fn change_status(
    store: &Store,
    credential_id: &str,
    action: StatusAction,
    reason: &str,
    actor: &str,
) -> Result<ChangeReport, ApiError> {
    if action == StatusAction::Use {
        return Err(ApiError::bad_request(
            "use_needs_office",
            "标记“已使用”请调用 POST /api/v1/credentials/{id}/use，并注明使用单位",
            "mark a credential used with POST /api/v1/credentials/{id}/use, naming the office",
        ));
    }
    let reason = checked_text(reason, MAX_REASON_CHARS, "reason")?;
    let actor = checked_actor(actor)?;
    let id = parse_credential_id(credential_id)?;
    apply_change(
        store,
        StatusChange {
            credential_id: id.as_str().to_owned(),
            action,
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            place: None,
            at: Utc::now(),
        },
    )
    .await
}

/// Longest accepted office name or reference, in characters.
pub const MAX_OFFICE_CHARS: usize = 200;

/// A request to mark a single-use credential used.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UseRequest {
    /// Where: the office using it (e.g. the reimbursing office of a social-insurance
    /// bureau). Required: a refused second use names it.
    pub office: String,
    /// The office's own reference (claim or voucher number). Required.
    pub reference: String,
    /// Who at the office (defaults to the API token's name when empty).
    #[serde(default)]
    pub by: String,
}

/// Marks a single-use credential used, once: the `used` bit, the list version, the
/// audit event (with the office) and the log entry in one transaction. Concurrent
/// requests for one credential queue on its row lock (PostgreSQL) or the write lock
/// (SQLite): exactly one succeeds.
///
/// # Errors
/// 400 `office_required` / `reference_required` / `…_too_long` / `actor_invalid`;
/// 404 for an unknown credential; 409 `already_used` (with `previousUse`: when, where,
/// by whom), `already_revoked`, `suspended`, or `not_single_use` (no `used` entry);
/// 500 when the store fails.
pub async fn mark_used(store: &Store, credential_id: &str, request: &UseRequest) -> Result<ChangeReport, ApiError> {
    let office = checked_text(&request.office, MAX_OFFICE_CHARS, "office")?;
    let reference = checked_text(&request.reference, MAX_OFFICE_CHARS, "reference")?;
    let actor = checked_actor(if request.by.trim().is_empty() { office } else { &request.by })?;
    let id = parse_credential_id(credential_id)?;
    apply_change(
        store,
        StatusChange {
            credential_id: id.as_str().to_owned(),
            action: StatusAction::Use,
            reason: reference.to_owned(),
            actor: actor.to_owned(),
            place: Some(office.to_owned()),
            at: Utc::now(),
        },
    )
    .await
}

/// `text` trimmed, or 400 `<field>_required` / `<field>_too_long`.
fn checked_text<'a>(text: &'a str, max_chars: usize, field: &str) -> Result<&'a str, ApiError> {
    let text = text.trim();
    let (zh_name, en_name) = match field {
        "reason" => ("原因", "a reason"),
        "office" => ("使用单位", "the office"),
        _ => ("业务编号", "a reference"),
    };
    if text.is_empty() {
        return Err(ApiError::bad_request(
            &format!("{field}_required"),
            format!("请填写{zh_name}"),
            format!("{en_name} is required"),
        ));
    }
    if text.chars().count() > max_chars || (field != "reason" && text.chars().any(char::is_control)) {
        return Err(ApiError::bad_request(
            &format!("{field}_too_long"),
            format!("{zh_name}不能超过 {max_chars} 个字符，且不能含控制字符"),
            format!("{en_name} must be at most {max_chars} characters, without control characters"),
        ));
    }
    Ok(text)
}

fn checked_actor(actor: &str) -> Result<&str, ApiError> {
    let actor = actor.trim();
    if actor.is_empty() || actor.chars().count() > MAX_ACTOR_CHARS || actor.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "actor_invalid",
            format!("操作人应为1至{MAX_ACTOR_CHARS}个字符"),
            format!("the actor must be 1 to {MAX_ACTOR_CHARS} characters"),
        ));
    }
    Ok(actor)
}

async fn apply_change(store: &Store, change: StatusChange) -> Result<ChangeReport, ApiError> {
    let action = change.action;
    let outcome = store.change_status(&change).await.map_err(ApiError::internal)?;
    let report = |previous, status, changed, event_id| ChangeReport {
        credential_id: change.credential_id.clone(),
        action,
        status,
        previous_status: previous,
        changed,
        event_id,
    };
    match outcome {
        StatusChangeOutcome::Changed { previous, current, event_id, list_id } => {
            tracing::info!(credential_id = %change.credential_id, %action, %previous, %current, list_id, "credential status changed");
            Ok(report(previous, current, true, Some(event_id)))
        }
        StatusChangeOutcome::Unchanged(state) => Ok(report(state, state, false, None)),
        StatusChangeOutcome::AlreadyRevoked => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_revoked",
            "该凭证已被吊销；吊销不可撤销，不能再暂停、恢复或使用",
            "the credential is revoked; revocation is final: it cannot be suspended, reinstated or used",
        )),
        StatusChangeOutcome::AlreadyUsed { use_event } => {
            let at = use_event.occurred_at.format("%Y-%m-%d %H:%M:%S UTC");
            let office = use_event.place.as_deref().unwrap_or("?");
            tracing::info!(credential_id = %change.credential_id, %action, "refused: already used");
            let mut error = ApiError::new(
                StatusCode::CONFLICT,
                "already_used",
                format!("该凭证已于 {at} 在“{office}”使用（业务编号 {}），不能再次使用", use_event.reason),
                format!(
                    "the credential was already used at {at} by \"{office}\" (reference {}); it cannot be used again",
                    use_event.reason
                ),
            );
            error.previous_use = Some(Box::new(serde_json::json!({
                "usedAt": use_event.occurred_at,
                "office": use_event.place,
                "reference": use_event.reason,
                "by": use_event.actor,
                "eventId": use_event.event_id,
            })));
            Err(error)
        }
        StatusChangeOutcome::Suspended => Err(ApiError::new(
            StatusCode::CONFLICT,
            "suspended",
            "该凭证已被暂停，暂停期间不能使用",
            "the credential is suspended and cannot be used while suspended",
        )),
        StatusChangeOutcome::NoStatusEntry if action == StatusAction::Use => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_single_use",
            "该凭证不是一次性凭证（没有“已使用”状态条目），无需也不能标记为已使用",
            "the credential is not single-use (it has no `used` status entry); it cannot be marked used",
        )),
        StatusChangeOutcome::NoStatusEntry => Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_status_entry",
            "该凭证签发时没有本服务的状态条目，无法吊销或暂停",
            "the credential was issued without this service's status entries; its status cannot be changed",
        )),
        StatusChangeOutcome::UnknownCredential => Err(ApiError::not_found("该凭证", "credential")),
    }
}

/// Whether a credential was used (the holder's view).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UseView {
    /// The credential.
    pub credential_id: String,
    /// Whether it is a single-use credential (has a `used` entry).
    pub single_use: bool,
    /// Whether it has been used.
    pub used: bool,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
    /// Where (the office).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
}

/// One status entry of a credential, for reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryReport {
    /// `revocation` or `suspension`.
    pub status_purpose: String,
    /// The list.
    pub list_id: i64,
    /// The list's URL (when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_list_credential: Option<String>,
    /// The bit's position (a string, as in the credential).
    pub status_list_index: String,
    /// The bit.
    pub set: bool,
    /// When the bit last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A credential's status and history.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The credential.
    pub credential_id: String,
    /// `active`, `suspended` or `revoked`.
    pub status: CredentialState,
    /// Its entries.
    pub entries: Vec<EntryReport>,
    /// Its audit trail, oldest first.
    pub events: Vec<StatusEvent>,
}

/// The status, entries and audit trail of a stored credential.
///
/// # Errors
/// 404 for an unknown credential; 409 `no_status_entry`; 500 when the store fails.
pub async fn status_report(store: &Store, credential_id: &str) -> Result<StatusReport, ApiError> {
    let id = parse_credential_id(credential_id)?;
    let internal = |e: StoreError| ApiError::internal(e);
    let Some(record) = store.credential_status(id.as_str()).await.map_err(internal)? else {
        return Err(match store.credential(id.as_str()).await.map_err(internal)? {
            None => ApiError::not_found("该凭证", "credential"),
            Some(_) => ApiError::new(
                StatusCode::CONFLICT,
                "no_status_entry",
                "该凭证签发时没有本服务的状态条目",
                "the credential was issued without this service's status entries",
            ),
        });
    };
    if store.credential(id.as_str()).await.map_err(internal)?.is_none() {
        // Entries allocated for an issuance that never completed.
        return Err(ApiError::not_found("该凭证", "credential"));
    }
    let events = store.status_events(id.as_str()).await.map_err(internal)?;
    Ok(StatusReport {
        credential_id: record.credential_id.clone(),
        status: record.state(),
        entries: record
            .entries
            .iter()
            .map(|e| EntryReport {
                status_purpose: e.purpose.as_str().to_owned(),
                list_id: e.list_id,
                status_list_credential: None,
                status_list_index: e.index.to_string(),
                set: e.is_set,
                updated_at: e.updated_at,
            })
            .collect(),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_ids_are_plain_positive_numbers() {
        assert_eq!(parse_list_id("1"), Some(1));
        assert_eq!(parse_list_id("42"), Some(42));
        for bad in ["", "0", "01", "-1", "1a", "１", "99999999999999999999"] {
            assert_eq!(parse_list_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_unsigned_vc2_credentials_without_status_get_entries() {
        let vc2 = json!({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"]});
        assert!(wants_status_entries(&vc2));
        let mut with_status = vc2.clone();
        with_status["credentialStatus"] = json!({"type": "X"});
        assert!(!wants_status_entries(&with_status));
        let mut signed = vc2.clone();
        signed["proof"] = json!({});
        assert!(!wants_status_entries(&signed));
        assert!(!wants_status_entries(&json!({"@context": ["https://www.w3.org/2018/credentials/v1"]})));
        assert!(!wants_status_entries(&json!("x")));
    }

    #[test]
    fn credential_ids_in_either_form() {
        let uuid = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(parse_credential_id(uuid).unwrap().as_str(), format!("urn:uuid:{uuid}"));
        assert_eq!(parse_credential_id(&format!("urn:uuid:{uuid}")).unwrap().as_str(), format!("urn:uuid:{uuid}"));
        assert!(parse_credential_id("nope").is_err());
    }
}
