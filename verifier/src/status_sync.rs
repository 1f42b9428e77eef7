//! Revocation and suspension status for the verifier: whole Bitstring Status
//! Lists fetched from the issuer (never one request per credential, so the
//! issuer cannot learn where a holder went), verified, cached, and refetched
//! when older than `--status-refresh-secs` (default 300 s, matching the
//! issuer's `Cache-Control: max-age=300`): a revocation reaches inspectors
//! within about five minutes. Offline, the cached lists keep working with a
//! warning after 24 h and fail (`status_data_stale`) after 7 days.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use chrono::{Duration, Utc};
use serde_json::Value;
use wallet_core::status::{status_entries, verify_status_list, StatusError, StatusListCache, StatusPolicy};
use wallet_core::verification::StatusSource;

use crate::rollback_state::RollbackState;

/// Largest status list document accepted from the network.
const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// Status-list settings.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusSettings {
    /// Refetch a cached status list when it is older than this many seconds.
    #[arg(long = "status-refresh-secs", env = "VERIFIER_STATUS_REFRESH_SECS", default_value_t = 300)]
    pub status_refresh_secs: i64,
    /// Warn when the status data is older than this many hours.
    #[arg(long = "status-warn-hours", env = "VERIFIER_STATUS_WARN_HOURS", default_value_t = 24)]
    pub status_warn_after_hours: i64,
    /// Fail the status check when the status data is older than this many hours.
    #[arg(long = "status-max-age-hours", env = "VERIFIER_STATUS_MAX_AGE_HOURS", default_value_t = 168)]
    pub status_max_age_hours: i64,
    /// An extra CA certificate (PEM) to accept when fetching status lists over
    /// HTTPS, e.g. a department's private CA or a test certificate. The lists'
    /// own signatures are what make them trustworthy; TLS keeps them private.
    #[arg(long = "status-ca-cert", env = "VERIFIER_STATUS_CA_CERT")]
    pub status_ca_cert: Option<std::path::PathBuf>,
}

impl Default for StatusSettings {
    fn default() -> Self {
        Self { status_refresh_secs: 300, status_warn_after_hours: 24, status_max_age_hours: 168, status_ca_cert: None }
    }
}

/// The verifier's status lists, shared by all workers.
#[derive(Debug, Clone)]
pub struct StatusState {
    cache: Arc<RwLock<StatusListCache>>,
    policy: StatusPolicy,
    refresh: Duration,
    client: reqwest::Client,
    /// The rollback floors, persisted across restarts.
    rollback: RollbackState,
}

impl StatusState {
    /// An empty cache with the given policy.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: &StatusSettings, rollback: RollbackState) -> anyhow::Result<Self> {
        let mut cache = StatusListCache::new();
        cache.restore_rollback_floors(&rollback.floors().status_lists);
        Ok(Self {
            cache: Arc::new(RwLock::new(cache)),
            rollback,
            policy: StatusPolicy {
                warn_after: Duration::hours(settings.status_warn_after_hours),
                max_age: Duration::hours(settings.status_max_age_hours),
            },
            refresh: Duration::seconds(settings.status_refresh_secs.max(0)),
            client: http_client(settings.status_ca_cert.as_deref())?,
        })
    }

    /// The lists to verify with, right now.
    pub fn snapshot(&self) -> StatusSource {
        let cache = match self.cache.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        StatusSource::Cache { cache, policy: self.policy }
    }

    /// The signed list credentials held for `url` (one per signer; which one
    /// counts for a credential is decided when it is checked).
    pub fn verified_lists(&self, url: &str) -> Vec<Value> {
        let cache = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.lists(url).into_iter().map(|list| list.credential().clone()).collect()
    }

    /// The HTTP client status lists are fetched with.
    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// The list URLs `vc` names that are missing from the cache or due for a refetch.
    pub fn lists_to_fetch(&self, vc: &Value) -> Vec<String> {
        let Ok(entries) = status_entries(vc) else { return Vec::new() };
        let urls: BTreeSet<String> = entries.into_iter().map(|e| e.list_url).collect();
        let now = Utc::now();
        let cache = match self.cache.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        urls.into_iter().filter(|url| cache.fetched_at(url).is_none_or(|at| now - at >= self.refresh)).collect()
    }

    /// Fetch, verify and cache each list; failures are recorded (and reported
    /// by the status check) while a good list already held is kept.
    pub async fn fetch(&self, urls: &[String]) {
        for url in urls {
            let outcome = match self.download(url).await {
                Ok(document) => self.offer(url, &document).await,
                Err(e) => {
                    self.record_failure(url, e.clone());
                    Err(e)
                }
            };
            match outcome {
                Ok(()) => tracing::debug!(url, "status list cached"),
                Err(e) => tracing::warn!(url, error = %e, "status list refused or unavailable"),
            }
        }
    }

    /// Verify the list document fetched from `url` and cache it, unless its
    /// signer's list held (or accepted before a restart) is newer. The new
    /// rollback floor is saved before the list is used; if it cannot be
    /// saved, the list is refused.
    ///
    /// # Errors
    /// Why the list was refused (also recorded for the status check).
    pub async fn offer(&self, url: &str, document: &Value) -> Result<(), StatusError> {
        let now = Utc::now();
        let verified = match verify_status_list(url, document, now).await {
            Ok(list) => list,
            Err(e) => {
                self.record_failure(url, e.clone());
                return Err(e);
            }
        };
        let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The new floor is saved before the list goes into the cache.
        let result = cache.check_rollback(&verified).and_then(|()| {
            let signers = verified.signer_dids().iter().map(|s| (s.clone(), verified.valid_from())).collect();
            let floors = [(url.to_owned(), signers)].into_iter().collect();
            self.rollback.record_status_floors(&floors).map_err(|e| {
                tracing::error!(url, error = %format!("{e:#}"), "cannot save the status list rollback floor");
                StatusError::FetchFailed(format!("the rollback state cannot be saved: {e}"))
            })
        });
        let result = result.and_then(|()| cache.insert_verified(verified, now));
        if let Err(e) = &result {
            cache.record_failure(url, e.clone(), now);
        }
        result
    }

    fn record_failure(&self, url: &str, error: StatusError) {
        let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.record_failure(url, error, Utc::now());
    }

    async fn download(&self, url: &str) -> Result<Value, StatusError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(StatusError::FetchFailed(format!("not an http(s) URL: {url}")));
        }
        let resp = self.client.get(url).send().await.map_err(|e| StatusError::FetchFailed(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(StatusError::HttpStatus(resp.status().as_u16()));
        }
        let bytes = resp.bytes().await.map_err(|e| StatusError::FetchFailed(e.to_string()))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(StatusError::FetchFailed("status list larger than 16 MiB".into()));
        }
        serde_json::from_slice(&bytes).map_err(|e| StatusError::FetchFailed(format!("not JSON: {e}")))
    }
}

fn http_client(extra_ca: Option<&std::path::Path>) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context as _;
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10));
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder.build()?)
}
