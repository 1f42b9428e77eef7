//! Revocation and suspension, issuer side: W3C Bitstring Status Lists.
//!
//! * **Allocation.** Every credential issued through the domain API (and VC-API
//!   credentials that bring no `credentialStatus` of their own) gets two
//!   `BitstringStatusListEntry`s, revocation and suspension (and `used` for a
//!   single-use type), added before signing. A VC-API credential of one of our
//!   types (`statusRequired`) cannot bring its own (`issuance::check_status_assignable`).
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

use crate::signing_key::SigningKey;
use chrono::{DateTime, Duration, DurationRound as _, Utc};
use serde::Serialize;
use serde_json::Value;
use service_http::cpu_pool::CpuPoolError;
use sha2::{Digest, Sha256};
use wallet_core::contexts::CREDENTIALS_V2;
use wallet_core::credential::CredentialId;
use wallet_core::issuance::sign_credential;
use wallet_core::localized::Localized;
use wallet_core::status::{status_list_credential, Bitstring, StatusEntry, StatusPurpose};

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

/// Why a status operation was refused, or failed. [`StatusError::code`] is the
/// stable machine code, [`StatusError::message`] the zh/en text shown to people.
#[derive(Debug)]
#[non_exhaustive]
pub enum StatusError {
    /// `use` asked through a status change (it needs an office).
    UseNeedsOffice,
    /// A reason, office or reference that is empty.
    Required(TextField),
    /// A reason, office or reference that is too long (or, but for a reason, has control characters).
    TooLong(TextField, usize),
    /// An actor that is empty, too long or has control characters.
    ActorInvalid,
    /// No such credential (or not a credential id at all).
    CredentialNotFound,
    /// No such status list.
    ListNotFound,
    /// The credential is revoked: nothing else can happen to it.
    AlreadyRevoked,
    /// A single-use credential used before: this is when, where and by whom.
    AlreadyUsed(Box<StatusEvent>),
    /// A suspended credential cannot be used.
    Suspended,
    /// `use` of a credential with no `used` entry.
    NotSingleUse,
    /// A credential issued without our status entries; `changing` when a change was asked.
    NoStatusEntry {
        /// A change was asked (rather than a report).
        changing: bool,
    },
    /// The CPU pool is full or past its deadline.
    Busy(CpuPoolError),
    /// Anything else (the store, signing); the cause is for the logs only.
    Internal(String),
}

/// The texts a status change checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextField {
    /// Why a credential is revoked, suspended or reinstated.
    Reason,
    /// The office using a single-use credential.
    Office,
    /// The office's reference for that use.
    Reference,
}

impl TextField {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reason => "reason",
            Self::Office => "office",
            Self::Reference => "reference",
        }
    }
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Reason => ("原因", "a reason"),
            Self::Office => ("使用单位", "the office"),
            Self::Reference => ("业务编号", "a reference"),
        }
    }
}

impl StatusError {
    /// For any failure that is not the caller's (the cause is logged, never shown).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The stable machine code.
    pub fn code(&self) -> String {
        match self {
            Self::UseNeedsOffice => "use_needs_office".into(),
            Self::Required(field) => format!("{}_required", field.as_str()),
            Self::TooLong(field, _) => format!("{}_too_long", field.as_str()),
            Self::ActorInvalid => "actor_invalid".into(),
            Self::CredentialNotFound | Self::ListNotFound => "not_found".into(),
            Self::AlreadyRevoked => "already_revoked".into(),
            Self::AlreadyUsed(_) => "already_used".into(),
            Self::Suspended => "suspended".into(),
            Self::NotSingleUse => "not_single_use".into(),
            Self::NoStatusEntry { .. } => "no_status_entry".into(),
            Self::Busy(CpuPoolError::Busy) => "busy".into(),
            Self::Busy(CpuPoolError::DeadlineExceeded) => "deadline_exceeded".into(),
            Self::Busy(_) | Self::Internal(_) => "internal_error".into(),
        }
    }

    /// What to tell people, in zh and en.
    pub fn message(&self) -> Localized {
        match self {
            Self::UseNeedsOffice => Localized::new(
                "标记“已使用”请调用 POST /api/v1/credentials/{id}/use，并注明使用单位",
                "mark a credential used with POST /api/v1/credentials/{id}/use, naming the office",
            ),
            Self::Required(field) => {
                let (zh, en) = field.names();
                Localized::new(format!("请填写{zh}"), format!("{en} is required"))
            }
            Self::TooLong(field, max_chars) => {
                let (zh, en) = field.names();
                Localized::new(
                    format!("{zh}不能超过 {max_chars} 个字符，且不能含控制字符"),
                    format!("{en} must be at most {max_chars} characters, without control characters"),
                )
            }
            Self::ActorInvalid => Localized::new(
                format!("操作人应为1至{MAX_ACTOR_CHARS}个字符"),
                format!("the actor must be 1 to {MAX_ACTOR_CHARS} characters"),
            ),
            Self::CredentialNotFound => Localized::new("未找到该凭证", "credential not found"),
            Self::ListNotFound => Localized::new("未找到该状态列表", "status list not found"),
            Self::AlreadyRevoked => Localized::new(
                "该凭证已被吊销；吊销不可撤销，不能再暂停、恢复或使用",
                "the credential is revoked; revocation is final: it cannot be suspended, reinstated or used",
            ),
            Self::AlreadyUsed(event) => {
                let at = event.occurred_at.format("%Y-%m-%d %H:%M:%S UTC");
                let office = event.place.as_deref().unwrap_or("?");
                Localized::new(
                    format!("该凭证已于 {at} 在“{office}”使用（业务编号 {}），不能再次使用", event.reason),
                    format!(
                        "the credential was already used at {at} by \"{office}\" (reference {}); it cannot be used again",
                        event.reason
                    ),
                )
            }
            Self::Suspended => Localized::new(
                "该凭证已被暂停，暂停期间不能使用",
                "the credential is suspended and cannot be used while suspended",
            ),
            Self::NotSingleUse => Localized::new(
                "该凭证不是一次性凭证（没有“已使用”状态条目），无需也不能标记为已使用",
                "the credential is not single-use (it has no `used` status entry); it cannot be marked used",
            ),
            Self::NoStatusEntry { changing: true } => Localized::new(
                "该凭证签发时没有本服务的状态条目，无法吊销或暂停",
                "the credential was issued without this service's status entries; its status cannot be changed",
            ),
            Self::NoStatusEntry { changing: false } => Localized::new(
                "该凭证签发时没有本服务的状态条目",
                "the credential was issued without this service's status entries",
            ),
            Self::Busy(_) | Self::Internal(_) => {
                Localized::new("服务器内部错误，请稍后重试", "internal server error; please retry later")
            }
        }
    }
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Busy(e) => write!(f, "{e}"),
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
            other => write!(f, "{}: {}", other.code(), other.message().en),
        }
    }
}

impl std::error::Error for StatusError {}

impl From<StoreError> for StatusError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<CpuPoolError> for StatusError {
    fn from(e: CpuPoolError) -> Self {
        Self::Busy(e)
    }
}

/// Status lists of one issuer: allocation, changes, publication.
#[derive(Clone)]
pub struct StatusService {
    store: Store,
    key: SigningKey,
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
        key: SigningKey,
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

    /// Every status list of this issuer: its URL and purpose.
    ///
    /// # Errors
    /// [`StatusError::Internal`] when the store fails.
    pub async fn lists(&self) -> Result<Vec<(String, StatusPurpose)>, StatusError> {
        let lists = self.store.status_lists().await.map_err(StatusError::internal)?;
        Ok(lists.iter().map(|l| (self.list_url(l.list_id), l.purpose)).collect())
    }

    /// Allocates a revocation and a suspension entry for `credential_id`, and a
    /// `used` entry when it is `single_use`.
    ///
    /// # Errors
    /// [`StatusError::Internal`] when the store fails.
    pub async fn allocate_entries(
        &self,
        credential_id: &str,
        single_use: bool,
    ) -> Result<Vec<StatusEntry>, StatusError> {
        let purposes: &[StatusPurpose] = if single_use { &SINGLE_USE_PURPOSES } else { &PURPOSES };
        self.allocate_entries_for(credential_id, purposes).await
    }

    /// Allocates one entry per purpose of `purposes` for `credential_id`.
    ///
    /// # Errors
    /// [`StatusError::Internal`] when the store fails.
    async fn allocate_entries_for(
        &self,
        credential_id: &str,
        purposes: &[StatusPurpose],
    ) -> Result<Vec<StatusEntry>, StatusError> {
        let allocations = self
            .store
            .allocate_status_coalesced(credential_id, purposes, &self.config)
            .await
            .map_err(StatusError::internal)?;
        Ok(allocations.into_iter().map(|a| StatusEntry::new(a.purpose, a.index, self.list_url(a.list_id))).collect())
    }

    /// `unsigned` with a `credentialStatus` of freshly allocated entries (revocation,
    /// suspension, and `used` for a single-use credential) for `credential_id`.
    ///
    /// # Errors
    /// [`StatusError::Internal`] when the store fails.
    pub async fn with_status_entries(
        &self,
        credential_id: &str,
        unsigned: Value,
        single_use: bool,
    ) -> Result<Value, StatusError> {
        let purposes: &[StatusPurpose] = if single_use { &SINGLE_USE_PURPOSES } else { &PURPOSES };
        self.with_entries_for(credential_id, unsigned, purposes).await
    }

    /// `unsigned` with a `credentialStatus` of freshly allocated entries, one per
    /// purpose of `purposes` (a type's `Definition::required_status_purposes`),
    /// for `credential_id`.
    ///
    /// # Errors
    /// [`StatusError::Internal`] when the store fails.
    pub async fn with_entries_for(
        &self,
        credential_id: &str,
        mut unsigned: Value,
        purposes: &[StatusPurpose],
    ) -> Result<Value, StatusError> {
        let entries = self.allocate_entries_for(credential_id, purposes).await?;
        if let Some(map) = unsigned.as_object_mut() {
            map.insert("credentialStatus".into(), Value::Array(entries.iter().map(StatusEntry::to_json).collect()));
        }
        Ok(unsigned)
    }

    /// [`StatusService::with_status_entries`] for many credentials, with one
    /// allocation transaction for all of them (batch issuance): `unsigned[i]`
    /// gets the entries of `credential_ids[i]`.
    ///
    /// # Errors
    /// [`StatusError::Internal`] when the store fails or the lengths differ.
    pub async fn with_status_entries_many(
        &self,
        credential_ids: &[&str],
        unsigned: Vec<Value>,
        single_use: bool,
    ) -> Result<Vec<Value>, StatusError> {
        if credential_ids.len() != unsigned.len() {
            return Err(StatusError::internal("status allocation: ids and credentials differ in number"));
        }
        let purposes: &[StatusPurpose] = if single_use { &SINGLE_USE_PURPOSES } else { &PURPOSES };
        let allocations = self
            .store
            .allocate_status_many(credential_ids, purposes, &self.config)
            .await
            .map_err(StatusError::internal)?;
        Ok(unsigned
            .into_iter()
            .zip(allocations)
            .map(|(mut unsigned, allocations)| {
                let entries: Vec<Value> = allocations
                    .into_iter()
                    .map(|a| StatusEntry::new(a.purpose, a.index, self.list_url(a.list_id)).to_json())
                    .collect();
                if let Some(map) = unsigned.as_object_mut() {
                    map.insert("credentialStatus".into(), Value::Array(entries));
                }
                unsigned
            })
            .collect())
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
    ) -> Result<ChangeReport, StatusError> {
        change_status(&self.store, credential_id, action, reason, actor).await
    }

    /// Marks a single-use credential used. See [`mark_used`].
    ///
    /// # Errors
    /// As [`mark_used`].
    pub async fn mark_used(&self, credential_id: &str, request: &UseRequest) -> Result<ChangeReport, StatusError> {
        mark_used(&self.store, credential_id, request).await
    }

    /// The holder's view of a credential's use: whether it is single-use, whether and
    /// when and where it was used. No reasons or names of staff.
    ///
    /// # Errors
    /// [`StatusError::CredentialNotFound`]; `Internal` when the store fails.
    pub async fn use_view(&self, credential_id: &str) -> Result<UseView, StatusError> {
        if self.store.credential(credential_id).await?.is_none() {
            return Err(StatusError::CredentialNotFound);
        }
        let record = self.store.credential_status(credential_id).await?;
        let single_use = record.as_ref().is_some_and(|r| r.entry(StatusPurpose::Used).is_some());
        let used = record.as_ref().and_then(|r| r.entry(StatusPurpose::Used)).is_some_and(|e| e.is_set);
        let use_event = if used {
            self.store.status_events(credential_id).await?.into_iter().rev().find(|e| e.action == StatusAction::Use)
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
    pub async fn report(&self, credential_id: &str) -> Result<StatusReport, StatusError> {
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
    /// [`StatusError::ListNotFound`]; `Internal` when the store or signing fails.
    pub async fn publication(&self, list_id: &str) -> Result<PublishedStatusList, StatusError> {
        let list_id = parse_list_id(list_id).ok_or_else(list_not_found)?;
        let previous = match self.cached(list_id).await? {
            Cached::Current(fresh) => return Ok(fresh),
            Cached::Stale(previous) => previous,
        };
        // A changed list is dated one second after the one before it (see
        // `next_valid_from`). Wait for that second rather than date the list ahead
        // of the clock: changes and fetches more often than once a second would
        // otherwise push `validFrom` minutes into the future, past the verifiers'
        // allowance. Waiting happens outside the lock and lasts under a second.
        if let Some(previous) = &previous {
            let ahead = previous.published_at + Duration::seconds(1) - Utc::now();
            if ahead > Duration::zero() && ahead <= Duration::seconds(1) {
                tokio::time::sleep(ahead.to_std().map_err(StatusError::internal)?).await;
            }
        }
        let _one_at_a_time = self.publish_lock.lock().await;
        // Another request may have rebuilt it while we waited.
        if let Cached::Current(fresh) = self.cached(list_id).await? {
            return Ok(fresh);
        }
        self.rebuild(list_id).await
    }

    /// The cached publication, current or not; `ListNotFound` for an unknown list.
    async fn cached(&self, list_id: i64) -> Result<Cached, StatusError> {
        let (list, cached) = self
            .store
            .status_list_publication(list_id)
            .await
            .map_err(StatusError::internal)?
            .ok_or_else(list_not_found)?;
        let did = self.key.did();
        let url = self.list_url(list_id);
        let now = Utc::now();
        Ok(match cached {
            Some(p)
                if p.version == list.version
                    && p.issuer == did
                    && p.list_url == url
                    && p.valid_until - now > REFRESH_BEFORE_EXPIRY =>
            {
                Cached::Current(p)
            }
            previous => Cached::Stale(previous),
        })
    }

    /// Builds the list credential from a snapshot of the committed bits, signs it and
    /// caches it under the snapshot's version. A publication the store refuses
    /// (another issuer process on the database published meanwhile) is never
    /// served: the stored one is, when it is as new, else the list is built
    /// again after it (a list served but not stored could share its `validFrom`
    /// with the stored one, and the two be replayed over each other).
    async fn rebuild(&self, list_id: i64) -> Result<PublishedStatusList, StatusError> {
        for _ in 0..4 {
            if let Some(publication) = self.try_rebuild(list_id).await? {
                return Ok(publication);
            }
        }
        Err(StatusError::internal("the status list kept being published by another process; try again"))
    }

    /// One [`StatusService::rebuild`] attempt: `None` when another process's
    /// older publication got stored first.
    async fn try_rebuild(&self, list_id: i64) -> Result<Option<PublishedStatusList>, StatusError> {
        let previous =
            self.store.status_list_publication(list_id).await.map_err(StatusError::internal)?.and_then(|p| p.1);
        let snapshot = self
            .store
            .status_list_snapshot(list_id)
            .await
            .map_err(StatusError::internal)?
            .ok_or_else(list_not_found)?;
        let size = usize::try_from(snapshot.list.size_bits).map_err(StatusError::internal)?;
        let mut bits = Bitstring::new(size);
        for &index in &snapshot.set_indexes {
            bits.set(usize::try_from(index).map_err(StatusError::internal)?, true).map_err(StatusError::internal)?;
        }
        let now = Utc::now().duration_trunc(Duration::seconds(1)).map_err(StatusError::internal)?;
        let valid_from = previous.as_ref().map_or(now, |p| next_valid_from(p, snapshot.list.version, now));
        let valid_until = valid_from + LIST_VALIDITY;
        let did = self.key.did();
        let url = self.list_url(list_id);
        let unsigned = status_list_credential(&url, &did, snapshot.list.purpose, &bits, valid_from, valid_until);
        let key = self.key.clone();
        let signed = self
            .cpu
            .run_future(move || async move { sign_credential(&unsigned, &key, valid_from).await })
            .await?
            .map_err(StatusError::internal)?;
        let credential_json = serde_json::to_string(&signed).map_err(StatusError::internal)?;
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
        if !self.store.save_status_list_publication(&publication).await.map_err(StatusError::internal)? {
            // Another process cached one meanwhile: serve it when it is as new,
            // else build after it.
            return match self.store.status_list_publication(list_id).await.map_err(StatusError::internal)? {
                Some((_, Some(stored))) if stored.version >= publication.version => Ok(Some(stored)),
                _ => Ok(None),
            };
        }
        tracing::info!(
            list_id,
            version = publication.version,
            set = snapshot.set_indexes.len(),
            "published status list"
        );
        Ok(Some(publication))
    }
}

/// What [`StatusService::cached`] found: a publication to serve as it is, or the
/// one before (if any) that a rebuild must follow.
enum Cached {
    Current(PublishedStatusList),
    Stale(Option<PublishedStatusList>),
}

/// The `validFrom` of a list of `version` built at `now` (whole seconds) after
/// `previous`. Verifiers refuse a list whose `validFrom` is older than one they
/// have seen, and `validFrom` has whole seconds: never go back, even if the clock
/// does. A list whose bits changed is strictly later than the one before (two
/// changes in one second would otherwise share a `validFrom`, and the earlier
/// list, still validly signed, could be replayed over the later one at a
/// verifier). [`StatusService::publication`] waits for that second rather than
/// date a list ahead of the clock.
fn next_valid_from(previous: &PublishedStatusList, version: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let floor =
        if previous.version == version { previous.published_at } else { previous.published_at + Duration::seconds(1) };
    floor.max(now)
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
    first_context_is_v2(credential) && !obj.contains_key("credentialStatus") && !obj.contains_key("proof")
}

/// Whether the first `@context` is exactly the VC 2.0 context (which defines
/// `BitstringStatusListEntry`).
pub(crate) fn first_context_is_v2(credential: &Value) -> bool {
    let first_context = match credential.get("@context") {
        Some(Value::Array(a)) => a.first(),
        other => other,
    };
    first_context.and_then(Value::as_str) == Some(CREDENTIALS_V2)
}

/// A list id as it appears in the URL: a positive decimal number without leading zeros.
fn parse_list_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn list_not_found() -> StatusError {
    StatusError::ListNotFound
}

/// A credential id from `urn:uuid:…` or the bare UUID.
///
/// # Errors
/// [`StatusError::CredentialNotFound`] when it is neither.
pub fn parse_credential_id(text: &str) -> Result<CredentialId, StatusError> {
    let text = text.trim();
    CredentialId::parse(text)
        .or_else(|| CredentialId::parse(&format!("urn:uuid:{text}")))
        .ok_or(StatusError::CredentialNotFound)
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
/// `reason_required` / `reason_too_long` / `actor_invalid`; `not_found` for an unknown
/// credential; `already_revoked` (suspend or reinstate after revocation) or
/// `no_status_entry` (a credential issued without our status entries); `Internal` when the
/// store fails.
pub async fn change_status(
    store: &Store,
    credential_id: &str,
    action: StatusAction,
    reason: &str,
    actor: &str,
) -> Result<ChangeReport, StatusError> {
    if action == StatusAction::Use {
        return Err(StatusError::UseNeedsOffice);
    }
    let reason = checked_text(reason, MAX_REASON_CHARS, TextField::Reason)?;
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
/// `office_required` / `reference_required` / `…_too_long` / `actor_invalid`;
/// `not_found` for an unknown credential; `already_used` (with `previousUse`: when, where,
/// by whom), `already_revoked`, `suspended`, or `not_single_use` (no `used` entry);
/// [`StatusError::Internal`] when the store fails.
pub async fn mark_used(store: &Store, credential_id: &str, request: &UseRequest) -> Result<ChangeReport, StatusError> {
    let office = checked_text(&request.office, MAX_OFFICE_CHARS, TextField::Office)?;
    let reference = checked_text(&request.reference, MAX_OFFICE_CHARS, TextField::Reference)?;
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

/// `text` trimmed, or `<field>_required` / `<field>_too_long`.
fn checked_text(text: &str, max_chars: usize, field: TextField) -> Result<&str, StatusError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(StatusError::Required(field));
    }
    // A reason may run over lines; nothing else hidden (an escape sequence or
    // a carriage return forges lines in an operator's `status history`).
    let hidden =
        |c: char| wallet_core::display_text::is_hidden_or_control(c) && !(field == TextField::Reason && c == '\n');
    if text.chars().count() > max_chars || text.chars().any(hidden) {
        return Err(StatusError::TooLong(field, max_chars));
    }
    Ok(text)
}

fn checked_actor(actor: &str) -> Result<&str, StatusError> {
    let actor = actor.trim();
    if actor.is_empty() || actor.chars().count() > MAX_ACTOR_CHARS || actor.chars().any(char::is_control) {
        return Err(StatusError::ActorInvalid);
    }
    Ok(actor)
}

async fn apply_change(store: &Store, change: StatusChange) -> Result<ChangeReport, StatusError> {
    let action = change.action;
    let outcome = store.change_status(&change).await.map_err(StatusError::internal)?;
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
        StatusChangeOutcome::AlreadyRevoked => Err(StatusError::AlreadyRevoked),
        StatusChangeOutcome::AlreadyUsed { use_event } => {
            tracing::info!(credential_id = %change.credential_id, %action, "refused: already used");
            Err(StatusError::AlreadyUsed(use_event))
        }
        StatusChangeOutcome::Suspended => Err(StatusError::Suspended),
        StatusChangeOutcome::NoStatusEntry if action == StatusAction::Use => Err(StatusError::NotSingleUse),
        StatusChangeOutcome::NoStatusEntry => Err(StatusError::NoStatusEntry { changing: true }),
        StatusChangeOutcome::UnknownCredential => Err(StatusError::CredentialNotFound),
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
/// `not_found` for an unknown credential; `no_status_entry`; `Internal` when the store fails.
pub async fn status_report(store: &Store, credential_id: &str) -> Result<StatusReport, StatusError> {
    let id = parse_credential_id(credential_id)?;
    let Some(record) = store.credential_status(id.as_str()).await? else {
        return Err(match store.credential(id.as_str()).await? {
            None => StatusError::CredentialNotFound,
            Some(_) => StatusError::NoStatusEntry { changing: false },
        });
    };
    if store.credential(id.as_str()).await?.is_none() {
        // Entries allocated for an issuance that never completed.
        return Err(StatusError::CredentialNotFound);
    }
    let events = store.status_events(id.as_str()).await?;
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
