//! Revocation and suspension status for the verifier: whole Bitstring Status
//! Lists fetched from the issuer (never one request per credential, so the
//! issuer cannot learn where a holder went), verified, cached, and refetched
//! when older than `--status-refresh-secs` (default 300 s, matching the
//! issuer's `Cache-Control: max-age=300`): a revocation reaches inspectors
//! within about five minutes.
//!
//! Online freshness: a list that could not be refreshed for
//! `--status-missed-refreshes` refresh intervals (default 3 × 300 s = 15
//! minutes) no longer vouches for a clear bit: the status check says
//! `unchecked`, `status_list_not_refreshed` (`--stale-status-fails`: it fails).
//! The ages of offline data (warning after 24 h, `status_data_stale` after
//! `--status-max-age-hours`) still apply beyond that.
//!
//! What is fetched: only lists that credentials with a verified signature
//! (and, where trust is required, a trusted issuer) name (see
//! [`verify_flow`](crate::verify_flow)); only `http`/`https` URLs on an
//! allowed origin (`--status-origin`, the `--log-url` and `--bundle-issuer`
//! origins; none configured: any origin, with a warning at start); only
//! public addresses unless `--allow-private-fetch`; no redirects; at most
//! 16 MiB per list (the [`outbound`](service_http::outbound) client).
//!
//! What is held: an LRU of lists bounded in bytes (`--status-cache-max-mib`,
//! default 64), handed to verifications as a shared snapshot (an `Arc`, not a
//! copy). An evicted list's rollback floor stays in the [`RollbackState`].
//!
//! One fetch per list at a time: verifications that find the same list missing
//! or due while it is being fetched wait for that fetch and use its outcome
//! (success or failure) instead of fetching again, so a burst of inspectors
//! at start, or at each refresh, costs the issuer one request per list.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context as _;
use chrono::{Duration, Utc};
use serde_json::Value;
use service_http::outbound::{self, PrivateAddresses};
use wallet_core::status::{status_entries, verify_status_list, StatusError, StatusListCache, StatusPolicy};
use wallet_core::verification::StatusSource;

use crate::rollback_state::RollbackState;

/// Largest status list document accepted from the network.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// What a URL costs in the cache besides its lists (its key, a recorded failure).
const URL_ENTRY_BYTES: usize = 512;

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
    /// A list that could not be refreshed for this many refresh intervals
    /// (default 3 × 300 s = 15 minutes) no longer vouches for a clear bit:
    /// the status check says `unchecked` (`status_list_not_refreshed`). 0: no such rule.
    #[arg(long = "status-missed-refreshes", env = "VERIFIER_STATUS_MISSED_REFRESHES", default_value_t = 3)]
    pub status_missed_refreshes: u32,
    /// Fail the status check (instead of `unchecked`) when a list could not be refreshed in time.
    #[arg(long = "stale-status-fails", env = "VERIFIER_STALE_STATUS_FAILS")]
    pub stale_status_fails: bool,
    /// An origin (`https://issuer.example[:port]`) status lists may be fetched
    /// from (repeatable; the origins of `--log-url` and `--bundle-issuer` are
    /// added). None at all: any origin (a warning at start).
    #[arg(long = "status-origin", env = "VERIFIER_STATUS_ORIGINS", value_delimiter = ',')]
    pub status_origins: Vec<String>,
    /// Memory for cached status lists, in MiB (least recently used lists go first).
    #[arg(long = "status-cache-max-mib", env = "VERIFIER_STATUS_CACHE_MAX_MIB", default_value_t = 64)]
    pub status_cache_max_mib: u64,
    /// Let every outbound fetch of the verifier (status lists, trust list, logs,
    /// witnesses, chain node) reach loopback, private and link-local addresses.
    /// For tests and development; without it such addresses are refused.
    #[arg(long = "allow-private-fetch", env = "VERIFIER_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: bool,
}

impl Default for StatusSettings {
    fn default() -> Self {
        Self {
            status_refresh_secs: 300,
            status_warn_after_hours: 24,
            status_max_age_hours: 168,
            status_ca_cert: None,
            status_missed_refreshes: 3,
            stale_status_fails: false,
            status_origins: Vec::new(),
            status_cache_max_mib: 64,
            allow_private_fetch: false,
        }
    }
}

impl StatusSettings {
    /// Whether outbound fetches may reach private addresses.
    pub fn private_addresses(&self) -> PrivateAddresses {
        PrivateAddresses::allowed_if(self.allow_private_fetch)
    }
}

/// The cached lists and what each URL costs, under one lock.
#[derive(Debug, Default)]
struct Held {
    /// Replaced (copy on write) when a list comes or goes; verifications hold snapshots.
    cache: Arc<StatusListCache>,
    /// Per URL the cache knows: its cost in bytes and when it was last used.
    usage: HashMap<String, Usage>,
    /// The sum of the costs.
    bytes: usize,
}

#[derive(Debug)]
struct Usage {
    bytes: usize,
    last_used: AtomicU64,
}

/// The verifier's status lists, shared by all workers.
#[derive(Debug, Clone)]
pub struct StatusState {
    held: Arc<RwLock<Held>>,
    /// The LRU clock.
    clock: Arc<AtomicU64>,
    max_bytes: usize,
    policy: StatusPolicy,
    refresh: Duration,
    client: reqwest::Client,
    private: PrivateAddresses,
    /// Origins lists may be fetched from (empty: any).
    origins: Arc<BTreeSet<String>>,
    /// The rollback floors, persisted across restarts.
    rollback: RollbackState,
    /// Fetches in progress, by list URL (an entry lives while someone holds it).
    in_flight: Arc<Mutex<HashMap<String, Arc<InFlight>>>>,
}

/// One list URL's fetches: one at a time, and how many have completed.
#[derive(Debug, Default)]
struct InFlight {
    fetching: tokio::sync::Mutex<()>,
    completed: AtomicU64,
}

impl StatusState {
    /// An empty cache with the given policy.
    ///
    /// # Errors
    /// When the HTTP client cannot be built, or a `--status-origin` is not an http(s) origin.
    pub fn new(settings: &StatusSettings, rollback: RollbackState) -> anyhow::Result<Self> {
        let refresh = Duration::seconds(settings.status_refresh_secs.max(0));
        let refresh_deadline = refresh
            .checked_mul(i32::try_from(settings.status_missed_refreshes).unwrap_or(i32::MAX))
            .filter(|deadline| *deadline > Duration::zero());
        let origins = settings
            .status_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| {
                outbound::check_url(o.trim(), PrivateAddresses::Allowed)
                    .ok()
                    .and_then(|_| outbound::origin_of(o.trim()))
                    .with_context(|| format!("--status-origin {o}: not an http(s) origin"))
            })
            .collect::<anyhow::Result<BTreeSet<String>>>()?;
        let max_bytes =
            usize::try_from(settings.status_cache_max_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        Ok(Self {
            held: Arc::default(),
            clock: Arc::default(),
            max_bytes,
            rollback,
            policy: StatusPolicy {
                warn_after: Duration::hours(settings.status_warn_after_hours),
                max_age: Duration::hours(settings.status_max_age_hours),
                refresh_deadline,
                not_refreshed_fails: settings.stale_status_fails,
            },
            refresh,
            client: http_client(settings.status_ca_cert.as_deref(), settings.private_addresses())?,
            private: settings.private_addresses(),
            origins: Arc::new(origins),
            in_flight: Arc::default(),
        })
    }

    /// The same, also allowing the origins of `urls` (the configured log and
    /// bundle issuer URLs: their issuers publish lists there). The allowlist is
    /// then no longer empty: lists come only from the allowed origins.
    #[must_use]
    pub fn also_allowing_origins_of<'a>(mut self, urls: impl IntoIterator<Item = &'a str>) -> Self {
        let mut origins = (*self.origins).clone();
        origins.extend(urls.into_iter().filter_map(outbound::origin_of));
        self.origins = Arc::new(origins);
        self
    }

    /// The origins status lists may be fetched from (empty: any).
    pub fn allowed_origins(&self) -> &BTreeSet<String> {
        &self.origins
    }

    /// The lists to verify with, right now: a shared snapshot (no copy).
    pub fn snapshot(&self) -> StatusSource {
        let held = self.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        StatusSource::Cache { cache: Arc::clone(&held.cache), policy: self.policy }
    }

    /// The signed list credentials held for `url` (one per signer; which one
    /// counts for a credential is decided when it is checked).
    pub fn verified_lists(&self, url: &str) -> Vec<Value> {
        let held = self.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.cache.lists(url).into_iter().map(|list| list.credential().clone()).collect()
    }

    /// The bytes the cached lists are charged (at most `--status-cache-max-mib`,
    /// unless one list alone is larger), and how many URLs are held.
    pub fn cache_usage(&self) -> (usize, usize) {
        let held = self.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        (held.bytes, held.usage.len())
    }

    /// The HTTP client status lists are fetched with.
    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// The list URLs `vc` names that are missing from the cache or due for a
    /// refetch (the ones held count as used now, for the LRU).
    pub fn lists_to_fetch(&self, vc: &Value) -> Vec<String> {
        let Ok(entries) = status_entries(vc) else { return Vec::new() };
        let urls: BTreeSet<String> = entries.into_iter().map(|e| e.list_url).collect();
        let now = Utc::now();
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let held = self.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        urls.into_iter()
            .filter(|url| {
                if let Some(usage) = held.usage.get(url) {
                    usage.last_used.store(tick, Ordering::Relaxed);
                }
                held.cache.fetched_at(url).is_none_or(|at| now - at >= self.refresh)
            })
            .collect()
    }

    /// Fetch, verify and cache each list; failures are recorded (and reported
    /// by the status check) while a good list already held is kept.
    /// A list being fetched by another verification is not fetched again: this
    /// one waits for that fetch and uses what it stored or recorded.
    pub async fn fetch(&self, urls: &[String]) {
        for url in urls {
            let flight = {
                let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                Arc::clone(in_flight.entry(url.clone()).or_default())
            };
            let completed_before = flight.completed.load(Ordering::Acquire);
            {
                let _turn = flight.fetching.lock().await;
                if flight.completed.load(Ordering::Acquire) == completed_before {
                    self.fetch_one(url).await;
                    flight.completed.fetch_add(1, Ordering::Release);
                }
            }
            let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Only the map and this call hold it: no one else waits for this URL.
            if Arc::strong_count(&flight) == 2 {
                in_flight.remove(url);
            }
        }
    }

    async fn fetch_one(&self, url: &str) {
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

    /// Verify the list document fetched from `url` and cache it, unless its
    /// signer's list held (or accepted before a restart or an eviction) is
    /// newer. The new rollback floor is saved before the list is used; if it
    /// cannot be saved, the list is refused.
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
        let mut held = self.held.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let floor = match self.rollback.status_floor(url, verified.signer_dids()) {
            Some(held) if held > verified.valid_from() => {
                Err(StatusError::Rollback { held, offered: verified.valid_from() })
            }
            _ => Ok(()),
        };
        // The new floor is saved before the list goes into the cache.
        let result = floor.and_then(|()| held.cache.check_rollback(&verified)).and_then(|()| {
            let signers = verified.signer_dids().iter().map(|s| (s.clone(), verified.valid_from())).collect();
            let floors = [(url.to_owned(), signers)].into_iter().collect();
            self.rollback.record_status_floors(&floors).map_err(|e| {
                tracing::error!(url, error = %format!("{e:#}"), "cannot save the status list rollback floor");
                StatusError::FetchFailed(format!("the rollback state cannot be saved: {e}"))
            })
        });
        let result = result.and_then(|()| Arc::make_mut(&mut held.cache).insert_verified(verified, now));
        if let Err(e) = &result {
            Arc::make_mut(&mut held.cache).record_failure(url, e.clone(), now);
        }
        self.account(&mut held, url);
        result
    }

    fn record_failure(&self, url: &str, error: StatusError) {
        let mut held = self.held.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::make_mut(&mut held.cache).record_failure(url, error, Utc::now());
        self.account(&mut held, url);
    }

    /// Charge `url` what it now holds, mark it used, and evict the least
    /// recently used other URLs while the cache is over its bound.
    fn account(&self, held: &mut Held, url: &str) {
        let bytes = URL_ENTRY_BYTES
            + url.len()
            + held
                .cache
                .lists(url)
                .into_iter()
                .map(|list| {
                    let encoded = list
                        .credential()
                        .pointer("/credentialSubject/encodedList")
                        .and_then(Value::as_str)
                        .map_or(0, str::len);
                    list.bits().as_bytes().len() + encoded + 2 * URL_ENTRY_BYTES
                })
                .sum::<usize>();
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let previous = held.usage.insert(url.to_owned(), Usage { bytes, last_used: AtomicU64::new(tick) });
        held.bytes = held.bytes - previous.map_or(0, |p| p.bytes) + bytes;
        while held.bytes > self.max_bytes {
            let victim = held
                .usage
                .iter()
                .filter(|(other, _)| other.as_str() != url)
                .min_by_key(|(_, usage)| usage.last_used.load(Ordering::Relaxed))
                .map(|(other, _)| other.clone());
            let Some(victim) = victim else { break };
            if let Some(usage) = held.usage.remove(&victim) {
                held.bytes -= usage.bytes;
            }
            // Its rollback floor stays in the RollbackState (checked in `offer`).
            Arc::make_mut(&mut held.cache).remove(&victim);
            tracing::debug!(url = victim, "status list evicted from the cache");
        }
    }

    async fn download(&self, url: &str) -> Result<Value, StatusError> {
        let parsed = outbound::check_url(url, self.private).map_err(|e| StatusError::FetchFailed(e.to_string()))?;
        if !self.origins.is_empty() && !outbound::origin_of(url).is_some_and(|o| self.origins.contains(&o)) {
            return Err(StatusError::FetchFailed(format!(
                "{} is not an origin status lists are fetched from (--status-origin)",
                outbound::origin_of(url).unwrap_or_default()
            )));
        }
        let resp = self.client.get(parsed).send().await.map_err(|e| StatusError::FetchFailed(describe(&e)))?;
        if !resp.status().is_success() {
            return Err(StatusError::HttpStatus(resp.status().as_u16()));
        }
        let bytes =
            outbound::read_capped(resp, MAX_LIST_BYTES).await.map_err(|e| StatusError::FetchFailed(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| StatusError::FetchFailed(format!("not JSON: {e}")))
    }
}

/// A reqwest error with its causes (the resolver's refusal is a cause).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn http_client(extra_ca: Option<&std::path::Path>, private: PrivateAddresses) -> anyhow::Result<reqwest::Client> {
    let mut builder = outbound::client_builder(private);
    if let Some(path) = extra_ca {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder.build()?)
}
