//! The anchoring check's data: this verifier's own copies of issuer logs,
//! checked against its own chain node.
//!
//! For each configured log (`--log-url` with its pinned `--log-key`) the sync
//! job, every `--log-sync-secs`:
//!
//! 1. fetches the signed checkpoint and the entries since the last sync, and
//!    extends the mirror only if the entries hash to the signed root
//!    ([`LogMirror::extend`]);
//! 2. asks its own chain node (`--chain-rpc-url`, never a third-party
//!    explorer) about each anchor transaction the issuer lists at
//!    `/log/anchors`: which block, what time, from whom (`--anchor-sender`),
//!    and accepts it only if the anchored root is the mirror's root at that
//!    size. A node on another chain than `--chain-id` is refused;
//! 3. collects witness cosignatures (`--log-witness-url`) for the policy
//!    `--log-witness-threshold` of `--log-witness-key`.
//!
//! Verification then looks the credential's digest up in the mirrors
//! (no network), see `wallet_core::transparency::LogMirror`.
//!
//! The mirrors live in memory and are rebuilt from the log after a restart;
//! what must not be forgotten is kept in the data directory
//! ([`crate::rollback_state::LogFloor`]): the latest checkpoint accepted (the
//! rebuilt mirror must extend it, else a fork or a shrunk log is a conflict)
//! and any conflict found (it stands after the restart).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::rollback_state::{LogFloor, RollbackState};
use service_http::chain_rpc::HttpJsonRpc;
use service_http::outbound::PrivateAddresses;
use wallet_core::transparency::{
    chain_id, read_anchor, AnchoringPolicy, BundledLog, ChainAnchor, LogEntry, LogKey, LogMirror, LogMirrors,
    WitnessKey, WitnessPolicy,
};
use wallet_core::verification::AnchoringSource;

/// Largest page of log entries read.
const MAX_ENTRIES_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Largest checkpoint or cosigned note read.
const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Largest page of entries asked for (the issuer serves at most 1000).
const ENTRIES_PAGE: u64 = 1000;

/// The most entries a mirrored log may have: one clinic's log holds one entry
/// per credential or notarised document, far fewer. A checkpoint of a larger
/// tree is refused (`log_too_large`) before any entry is fetched: the mirror
/// holds every entry in memory, and one signed note of size 2^63 (the log's
/// key, stolen) would otherwise have the verifier fetch until it ran out.
pub const MAX_LOG_ENTRIES: u64 = 10_000_000;
/// Anchors per page of an issuer's `GET /log/anchors?after=N` (its `ANCHOR_PAGE`):
/// a shorter page is the last.
const ANCHOR_PAGE_LEN: usize = 100;
/// Pages of anchors read per sync round (the rest the next round).
const ANCHOR_PAGES: usize = 50;

/// Anchoring settings.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AnchoringSettings {
    /// Base URL of an issuer whose log to follow (repeatable; pairs with --log-key in order).
    #[arg(long = "log-url", env = "VERIFIER_LOG_URL", value_delimiter = ',')]
    pub log_urls: Vec<String>,
    /// The pinned verifier key of that log (`<origin>+<id>+<base64>`, from the issuer's `/log/key`).
    #[arg(long = "log-key", env = "VERIFIER_LOG_KEY", value_delimiter = ',')]
    pub log_keys: Vec<String>,
    /// JSON-RPC URL of this verifier's own chain node.
    #[arg(long = "chain-rpc-url", env = "VERIFIER_CHAIN_RPC_URL")]
    pub chain_rpc_url: Option<String>,
    /// The chain id the node must report (refuses a node on another chain).
    #[arg(long = "chain-id", env = "VERIFIER_CHAIN_ID")]
    pub chain_id: Option<u64>,
    /// Only accept anchors sent from this account (the issuer's anchoring account).
    #[arg(long = "anchor-sender", env = "VERIFIER_ANCHOR_SENDER")]
    pub anchor_sender: Option<String>,
    /// How long after issuance a credential may be not yet anchored.
    #[arg(long = "anchor-grace-secs", env = "VERIFIER_ANCHOR_GRACE_SECS", default_value_t = 600)]
    pub anchor_grace_secs: u64,
    /// Fail credentials that are not shown to be anchored (past the grace period).
    #[arg(long = "require-anchoring", env = "VERIFIER_REQUIRE_ANCHORING")]
    pub require_anchoring: bool,
    /// Seconds between log syncs.
    #[arg(long = "log-sync-secs", env = "VERIFIER_LOG_SYNC_SECS", default_value_t = 30)]
    pub log_sync_secs: u64,
    /// A witness's verifier key (repeatable).
    #[arg(long = "log-witness-key", env = "VERIFIER_LOG_WITNESS_KEY", value_delimiter = ',')]
    pub witness_keys: Vec<String>,
    /// Where a witness serves its cosigned checkpoint (its verifier base URL; repeatable).
    #[arg(long = "log-witness-url", env = "VERIFIER_LOG_WITNESS_URL", value_delimiter = ',')]
    pub witness_urls: Vec<String>,
    /// How many of the witness keys must have cosigned a tree covering the credential.
    #[arg(long = "log-witness-threshold", env = "VERIFIER_LOG_WITNESS_THRESHOLD", default_value_t = 0)]
    pub witness_threshold: usize,
}

/// The entries `start..end` of the log an issuer serves at `base`, in pages.
///
/// # Errors
/// Network errors, error statuses, malformed pages or entries (as messages).
pub async fn fetch_entries(http: &reqwest::Client, base: &str, start: u64, end: u64) -> Result<Vec<LogEntry>, String> {
    let mut entries: Vec<LogEntry> = Vec::new();
    while start + (entries.len() as u64) < end {
        let from = start + entries.len() as u64;
        let count = (end - from).min(ENTRIES_PAGE);
        let url = format!("{base}/log/entries?start={from}&count={count}");
        let response = http.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let body = service_http::outbound::read_capped(response, MAX_ENTRIES_PAGE_BYTES)
            .await
            .map_err(|e| format!("log entries: {e}"))?;
        let page: Value = serde_json::from_slice(&body).map_err(|e| format!("log entries: {e}"))?;
        let items = page.get("entries").and_then(Value::as_array).ok_or("log entries: no entries array")?;
        if items.is_empty() {
            return Err(format!("log entries: empty page at {from}"));
        }
        for item in items.iter().take(usize::try_from(count).unwrap_or(usize::MAX)) {
            let entry = item.get("entry").cloned().unwrap_or(Value::Null);
            entries.push(serde_json::from_value(entry).map_err(|e| format!("log entry {}: {e}", from))?);
        }
    }
    Ok(entries)
}

/// One followed log, as `/anchoring/status` shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSyncStatus {
    /// The issuer's base URL.
    pub url: String,
    /// The log's origin.
    pub origin: String,
    /// Entries mirrored.
    pub size: u64,
    /// Anchors accepted.
    pub anchors: usize,
    /// The largest anchored size.
    pub anchored_size: u64,
    /// Last successful sync (unix seconds).
    pub synced_at: Option<u64>,
    /// A conflict between the log, the chain and the witnesses.
    pub conflict: Option<String>,
    /// The last error of a sync step.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
struct Source {
    url: String,
    origin: String,
}

/// The mirrors and the policy, shared by all workers.
#[derive(Clone)]
pub struct AnchoringState {
    mirrors: Arc<RwLock<LogMirrors>>,
    errors: Arc<RwLock<Vec<Option<String>>>>,
    sources: Vec<Source>,
    policy: AnchoringPolicy,
    rpc: Option<HttpJsonRpc>,
    expected_chain: Option<u64>,
    sender: Option<String>,
    witness_urls: Vec<String>,
    interval: Duration,
    http: reqwest::Client,
    /// Where the accepted checkpoint and any conflict of each log are kept
    /// across restarts.
    rollback: RollbackState,
    /// Per source: whether its log was compared with the checkpoint accepted
    /// before the restart (done once, at the first sync that reaches it).
    floor_checked: Arc<RwLock<Vec<bool>>>,
}

impl Default for AnchoringState {
    /// No logs: the anchoring check stays `unchecked`.
    fn default() -> Self {
        Self {
            mirrors: Arc::default(),
            errors: Arc::default(),
            sources: Vec::new(),
            policy: AnchoringPolicy::default(),
            rpc: None,
            expected_chain: None,
            sender: None,
            witness_urls: Vec::new(),
            interval: Duration::from_secs(30),
            http: service_http::outbound::client_builder(PrivateAddresses::Refused).build().unwrap_or_default(),
            rollback: RollbackState::in_memory(),
            floor_checked: Arc::default(),
        }
    }
}

impl AnchoringState {
    /// From the settings; no logs configured means the check stays `unchecked`.
    /// Logs and witnesses are reached at private addresses only when `private`
    /// allows; the chain node (`--chain-rpc-url`, configured by the operator,
    /// usually on a private network) always may be.
    ///
    /// # Errors
    /// Unreadable keys, or URLs and keys that do not pair up.
    pub fn from_settings(settings: &AnchoringSettings, private: PrivateAddresses) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.log_urls.len() == settings.log_keys.len(),
            "--log-url and --log-key must be given in pairs ({} URLs, {} keys)",
            settings.log_urls.len(),
            settings.log_keys.len()
        );
        let mut mirrors = Vec::new();
        let mut sources = Vec::new();
        for (url, key) in settings.log_urls.iter().zip(&settings.log_keys) {
            let key = LogKey::from_vkey(key.trim()).map_err(|e| anyhow::anyhow!("--log-key {key}: {e}"))?;
            // Mirrors are found by origin: a second log naming a followed
            // log's origin would leave that log's mirror empty for good.
            anyhow::ensure!(
                !sources.iter().any(|source: &Source| source.origin == key.origin()),
                "two --log-key name the same log origin {}",
                key.origin()
            );
            sources.push(Source { url: url.trim_end_matches('/').to_owned(), origin: key.origin().to_owned() });
            mirrors.push(LogMirror::new(key));
        }
        let witnesses = settings
            .witness_keys
            .iter()
            .map(|k| WitnessKey::from_vkey(k.trim()).map_err(|e| anyhow::anyhow!("--log-witness-key {k}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let witnesses = WitnessPolicy::new(witnesses, settings.witness_threshold)
            .map_err(|e| anyhow::anyhow!("witness policy: {e}"))?;
        if settings.require_anchoring && sources.is_empty() {
            tracing::warn!("--require-anchoring without --log-url: every credential will fail the anchoring check");
        }
        Ok(Self {
            errors: Arc::new(RwLock::new(vec![None; sources.len()])),
            floor_checked: Arc::new(RwLock::new(vec![false; sources.len()])),
            mirrors: Arc::new(RwLock::new(LogMirrors::new(mirrors))),
            sources,
            policy: AnchoringPolicy {
                required: settings.require_anchoring,
                grace_secs: settings.anchor_grace_secs,
                witnesses,
                ..AnchoringPolicy::default()
            },
            rpc: settings.chain_rpc_url.as_deref().filter(|u| !u.trim().is_empty()).map(HttpJsonRpc::new),
            expected_chain: settings.chain_id,
            sender: settings.anchor_sender.clone(),
            witness_urls: settings.witness_urls.iter().map(|u| u.trim_end_matches('/').to_owned()).collect(),
            interval: Duration::from_secs(settings.log_sync_secs.max(1)),
            http: service_http::outbound::client_builder(private).build()?,
            rollback: RollbackState::in_memory(),
        })
    }

    /// Keep what is accepted of each log in `rollback` (the verifier's data
    /// directory), and take up what it kept before: a conflict found before
    /// the restart fails every check against that log again at once, and the
    /// checkpoint accepted before must be extended by the log shown now (a
    /// log that forked or shrank while the verifier was down is a conflict).
    #[must_use]
    pub fn with_rollback(mut self, rollback: RollbackState) -> Self {
        {
            let mut mirrors = self.mirrors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            for source in &self.sources {
                let kept = rollback.log_floor(&source.origin).and_then(|floor| floor.conflict);
                if let (Some(conflict), Some(mirror)) = (kept, mirrors.get_mut(&source.origin)) {
                    tracing::error!(log = %source.origin, %conflict, "a log conflict recorded before the restart stands");
                    mirror.record_conflict(conflict);
                }
            }
        }
        self.rollback = rollback;
        self
    }

    /// What the anchoring check runs against.
    pub fn source(&self) -> AnchoringSource {
        if self.sources.is_empty() && !self.policy.required {
            return AnchoringSource::NotConfigured;
        }
        AnchoringSource::Mirrors { logs: self.mirrors.clone(), policy: self.policy.clone() }
    }

    /// The latest signed checkpoint of each mirrored log (for the verifier bundle).
    pub fn checkpoints(&self) -> Vec<String> {
        let mirrors = self.mirrors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        mirrors.iter().filter_map(|m| m.checkpoint().map(str::to_owned)).collect()
    }

    /// What the verifier bundle says of each mirrored log: its key, this
    /// verifier's witness policy and the latest anchor confirmed on its own node.
    pub fn bundled_logs(&self) -> Vec<BundledLog> {
        let mirrors = self.mirrors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        mirrors.iter().map(|m| BundledLog::from_mirror(m, &self.policy.witnesses)).collect()
    }

    /// Per-log sync state.
    pub fn status(&self) -> Vec<LogSyncStatus> {
        let mirrors = self.mirrors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let errors = self.errors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                let mirror = mirrors.iter().find(|m| m.log_key().origin() == source.origin);
                LogSyncStatus {
                    url: source.url.clone(),
                    origin: source.origin.clone(),
                    size: mirror.map_or(0, LogMirror::size),
                    anchors: mirror.map_or(0, |m| m.anchors().count()),
                    anchored_size: mirror.and_then(|m| m.anchors().last()).map_or(0, |a| a.calldata.tree_size),
                    synced_at: mirror.and_then(LogMirror::synced_at),
                    conflict: mirror.and_then(|m| m.conflict().map(str::to_owned)),
                    last_error: errors.get(i).cloned().flatten(),
                }
            })
            .collect()
    }

    /// Sync forever.
    pub async fn run(self) {
        if self.sources.is_empty() {
            return;
        }
        loop {
            self.sync_once().await;
            tokio::time::sleep(self.interval).await;
        }
    }

    /// One sync of every log; errors are recorded per log.
    pub async fn sync_once(&self) {
        for (i, source) in self.sources.iter().enumerate() {
            let outcome = self.sync_log(i, source).await;
            self.remember(i, source);
            if let Err(e) = &outcome {
                tracing::warn!(log = %source.origin, error = %e, "log sync");
            }
            let mut errors = self.errors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(slot) = errors.get_mut(i) {
                *slot = outcome.err();
            }
        }
    }

    fn with_mirror<T>(&self, origin: &str, f: impl FnOnce(&mut LogMirror) -> T) -> Option<T> {
        let mut mirrors = self.mirrors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        mirrors.get_mut(origin).map(f)
    }

    async fn get_text(&self, url: &str) -> Result<String, String> {
        let response = self.http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let body =
            service_http::outbound::read_capped(response, MAX_NOTE_BYTES).await.map_err(|e| format!("{url}: {e}"))?;
        String::from_utf8(body).map_err(|e| format!("{url}: {e}"))
    }

    /// Compare the mirror (just extended to the log's head) with the
    /// checkpoint accepted before the restart, once: the log must still have
    /// that tree as its prefix.
    ///
    /// # Errors
    /// The log shows fewer entries than the checkpoint kept: not a conflict
    /// (checkpoints carry no time, so an older genuine checkpoint replayed,
    /// or a lagging copy of the log, looks the same as a log that shrank,
    /// and a conflict stands until an operator clears it), but not yet
    /// compared either: the comparison waits for the log to catch up, and a
    /// log that forked shows a different root once it does.
    fn check_floor(&self, index: usize, source: &Source, now: u64) -> Result<(), String> {
        {
            let mut checked = self.floor_checked.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            match checked.get_mut(index) {
                Some(done) if !*done => *done = true,
                _ => return Ok(()),
            }
        }
        let Some(note) = self.rollback.log_floor(&source.origin).and_then(|floor| floor.checkpoint) else {
            return Ok(());
        };
        let behind = self.with_mirror(&source.origin, |mirror| {
            let kept_size = mirror.log_key().open_checkpoint(&note).ok()?.checkpoint.size;
            (mirror.size() < kept_size).then(|| (mirror.size(), kept_size))
        });
        if let Some((have, kept_size)) = behind.flatten() {
            let mut checked = self.floor_checked.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(done) = checked.get_mut(index) {
                *done = false;
            }
            return Err(format!(
                "log_behind_kept_checkpoint: the log shows {have} entries, fewer than the {kept_size} it signed \
                 before this verifier restarted (an older checkpoint replayed, or a copy lagging behind); \
                 compared again when it catches up"
            ));
        }
        self.with_mirror(&source.origin, |mirror| {
            let Ok(kept) = mirror.log_key().open_checkpoint(&note) else {
                // The operator configured another key for this origin: what was
                // accepted under the old key says nothing of this log.
                tracing::warn!(log = %source.origin, "the checkpoint kept before the restart is not signed by the configured log key; not compared");
                return;
            };
            let kept_size = kept.checkpoint.size;
            if let Err(e) = mirror.extend(&[], &note, now) {
                mirror.record_conflict(format!(
                    "the log's tree of size {kept_size}, accepted before this verifier restarted, is not a prefix of the log shown now: {e}"
                ));
            }
            if let Some(conflict) = mirror.conflict() {
                tracing::error!(log = %source.origin, %conflict, "log conflict across a restart");
            }
        });
        Ok(())
    }

    /// Keep the mirror's checkpoint and conflict (once it was compared with
    /// what was kept before, or when it has a conflict).
    fn remember(&self, index: usize, source: &Source) {
        let checked = {
            let checked = self.floor_checked.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            checked.get(index).copied().unwrap_or(false)
        };
        let floor = self.with_mirror(&source.origin, |m| LogFloor {
            checkpoint: m.checkpoint().map(str::to_owned),
            conflict: m.conflict().map(str::to_owned),
        });
        let Some(floor) = floor.filter(|f| f.conflict.is_some() || (checked && f.checkpoint.is_some())) else {
            return;
        };
        if let Err(e) = self.rollback.record_log_floor(&source.origin, floor) {
            tracing::error!(log = %source.origin, error = %e, "could not keep the log's checkpoint");
        }
    }

    async fn sync_log(&self, index: usize, source: &Source) -> Result<(), String> {
        let note = self.get_text(&format!("{}/log/checkpoint", source.url)).await?;
        let have = self.with_mirror(&source.origin, |m| m.size()).unwrap_or(0);
        let key = self.with_mirror(&source.origin, |m| m.log_key().clone()).ok_or("no mirror")?;
        let size = key.open_checkpoint(&note).map_err(|e| format!("checkpoint: {e}"))?.checkpoint.size;
        if size > MAX_LOG_ENTRIES {
            return Err(format!(
                "log_too_large: the log's checkpoint names {size} entries, more than the {MAX_LOG_ENTRIES} a mirror holds"
            ));
        }
        let entries = fetch_entries(&self.http, &source.url, have, size).await?;
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        self.with_mirror(&source.origin, |m| m.extend(&entries, &note, now))
            .ok_or("no mirror")?
            .map_err(|e| format!("log: {e}"))?;
        let mut problems = Vec::new();
        // Behind the kept checkpoint: reported, and anchors and witnesses are
        // still read (a replayed older checkpoint must not also keep the
        // mirror's anchors and cosignatures away).
        if let Err(e) = self.check_floor(index, source, now) {
            problems.push(e);
        }
        if let Err(e) = self.sync_anchors(source).await {
            problems.push(e);
        }
        for witness_url in &self.witness_urls {
            let outcome = match self.get_text(&format!("{witness_url}/witness/checkpoint")).await {
                // A witness following another log.
                Ok(cosigned) if cosigned.lines().next() != Some(source.origin.as_str()) => Ok(()),
                Ok(cosigned) => self
                    .with_mirror(&source.origin, |m| m.add_cosigned(&cosigned, &self.policy.witnesses))
                    .map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
                    .unwrap_or(Ok(())),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                problems.push(format!("witness {witness_url}: {e}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    async fn sync_anchors(&self, source: &Source) -> Result<(), String> {
        let Some(rpc) = &self.rpc else { return Ok(()) };
        let node_chain = chain_id(rpc).await.map_err(|e| e.to_string())?;
        if let Some(expected) = self.expected_chain {
            if expected != node_chain {
                return Err(format!("wrong chain: the node reports chain {node_chain}, configured {expected}"));
            }
        }
        // Page through the anchors above the largest this mirror accepted (the
        // whole list grows with every anchor and outgrew the response cap), at
        // most ANCHOR_PAGES pages a round.
        let mut after =
            self.with_mirror(&source.origin, |m| m.anchors().last().map_or(0, |a| a.calldata.tree_size)).unwrap_or(0);
        let mut listed = Vec::new();
        for _ in 0..ANCHOR_PAGES {
            let page = self.get_text(&format!("{}/log/anchors?after={after}", source.url)).await?;
            let page: Vec<Value> = serde_json::from_str(&page).map_err(|e| format!("log anchors: {e}"))?;
            let last = page.last().and_then(|a| a.get("treeSize")).and_then(Value::as_u64);
            let full = page.len() >= ANCHOR_PAGE_LEN;
            listed.extend(page);
            match last {
                Some(last) if full && last > after => after = last,
                _ => break,
            }
        }
        let mut problems = Vec::new();
        for anchor in &listed {
            let confirmed = anchor.get("state").and_then(Value::as_str) == Some("confirmed");
            let Some(tx) = anchor.get("txHash").and_then(Value::as_str).filter(|_| confirmed) else { continue };
            if self.with_mirror(&source.origin, |m| m.has_anchor_tx(tx)).unwrap_or(true) {
                continue;
            }
            match read_anchor(rpc, node_chain, tx, self.sender.as_deref()).await {
                Ok(found) => {
                    let bound = self.sender.is_some();
                    if let Some(Err(e)) = self.with_mirror(&source.origin, |m| admit_anchor(m, found, bound)) {
                        problems.push(e);
                    }
                }
                // Not mined yet, or the issuer's resend replaced it: not an error of the log.
                Err(e) if e.code() == "anchor_tx_not_mined" => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Accept `anchor` into `mirror`. Where no `--anchor-sender` binds the
/// sending account (`sender_bound` false), any account may send a
/// transaction the log lists: a root that is not the log's proves nothing
/// then, so it is reported and ignored, not recorded as a conflict (which
/// fails every credential of the issuer until an operator clears it: a
/// denial for the price of one transaction, found by the log review of
/// session 19); and an anchor beyond the mirror is read again once the
/// mirror reaches its size. With a bound sender, a wrong root is the
/// issuer's own signed word against its log: a conflict.
///
/// # Errors
/// The anchor contradicts the log (a conflict where bound), or is otherwise refused.
pub fn admit_anchor(mirror: &mut LogMirror, anchor: ChainAnchor, sender_bound: bool) -> Result<(), String> {
    if !sender_bound {
        let size = anchor.calldata.tree_size;
        match mirror.root_at(size) {
            None => return Ok(()),
            Some(root) if root != anchor.calldata.root => {
                return Err(format!(
                    "anchor {} (block {}) records a root for size {size} that is not the log's, from an account no \
                     --anchor-sender binds: ignored",
                    anchor.tx_hash, anchor.block_number
                ));
            }
            Some(_) => {}
        }
    }
    mirror.add_anchor(anchor).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use wallet_core::keys::IssuerKey;
    use wallet_core::transparency::{AnchorCalldata, Checkpoint, LogEntry, LogSigner, MerkleTree};

    use super::*;

    fn mirror_of_one_entry() -> (LogMirror, MerkleTree) {
        let signer = LogSigner::from_issuer_key("unbound.example/log", &IssuerKey::generate()).unwrap();
        let entry = LogEntry::issued([1; 32], "did:key:zIssuer", 1_780_000_000).unwrap();
        let mut tree = MerkleTree::new();
        tree.append(entry.leaf_hash());
        let note = Checkpoint::new("unbound.example/log", 1, tree.root()).sign(&signer).unwrap().to_string();
        let mut mirror = LogMirror::new(signer.log_key().clone());
        mirror.extend(&[entry], &note, 1_780_000_010).unwrap();
        (mirror, tree)
    }

    fn anchor(n: u8, size: u64, root: [u8; 32]) -> ChainAnchor {
        ChainAnchor {
            chain_id: 31337,
            tx_hash: format!("0x{n:064x}"),
            from: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
            block_number: u64::from(n),
            block_hash: format!("0x{:064x}", 1000 + u64::from(n)),
            block_time: 1_780_000_100,
            calldata: AnchorCalldata { tree_size: size, root, note_digest: [0; 32] },
        }
    }

    /// Log review of session 19: mirrors are found by origin, so a second
    /// log naming a followed log's origin would leave that log's mirror
    /// empty for good. Refused at start.
    #[test]
    fn two_logs_with_one_origin_are_refused() {
        let key = LogSigner::from_issuer_key("twice.example/log", &IssuerKey::generate()).unwrap().log_key().to_vkey();
        let mut settings = crate::config::Settings::for_tests().anchoring;
        settings.log_urls = vec!["http://127.0.0.1:9/a".into(), "http://127.0.0.1:9/b".into()];
        settings.log_keys = vec![key.clone(), key.clone()];
        let refused = AnchoringState::from_settings(&settings, PrivateAddresses::Allowed).err().unwrap();
        assert!(refused.to_string().contains("same log origin twice.example/log"), "{refused}");
        settings.log_keys = vec![
            key,
            LogSigner::from_issuer_key("other.example/log", &IssuerKey::generate()).unwrap().log_key().to_vkey(),
        ];
        assert!(AnchoringState::from_settings(&settings, PrivateAddresses::Allowed).is_ok());
    }

    /// Log review of session 19: without `--anchor-sender`, anyone's
    /// transaction with a wrong root, listed by whoever serves the log URL,
    /// recorded a standing conflict. Now it is ignored, and the genuine
    /// anchor is still taken; with a bound sender it is a conflict as before.
    #[test]
    fn attack_an_unbound_anchor_with_a_wrong_root_is_not_a_conflict() {
        let (mut mirror, tree) = mirror_of_one_entry();
        let refused = admit_anchor(&mut mirror, anchor(1, 1, [9; 32]), false).unwrap_err();
        assert!(refused.contains("no --anchor-sender binds"), "{refused}");
        assert_eq!(mirror.conflict(), None);
        assert!(admit_anchor(&mut mirror, anchor(2, 5, [9; 32]), false).is_ok(), "beyond the mirror: later");
        assert!(!mirror.has_anchor_tx(&anchor(2, 5, [9; 32]).tx_hash), "read again once the mirror reaches it");
        admit_anchor(&mut mirror, anchor(3, 1, tree.root()), false).unwrap();
        assert_eq!(mirror.anchors().count(), 1);

        let (mut bound, _) = mirror_of_one_entry();
        assert!(admit_anchor(&mut bound, anchor(1, 1, [9; 32]), true).is_err());
        assert!(bound.conflict().is_some(), "the bound sender's wrong root is a conflict");
    }
}
