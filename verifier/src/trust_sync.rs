//! Issuer trust for the verifier: the configured department roots, and the
//! signed trust list loaded from a file or fetched from a URL and refreshed.
//!
//! The list is verified against the configured roots every time it is loaded.
//! A list that fails to load never replaces a good one; a list with a lower
//! sequence number than the one held is refused (rollback). How old the held
//! list may be is decided at verification time (`stale_trust_list`), so an
//! offline verifier degrades visibly instead of silently.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use chrono::{Duration, Utc};
use wallet_core::localized::Localized;
use wallet_core::trust::{certificate_pem_to_der, TrustList, TrustStore};
use wallet_core::verification::{CheckResult, IssuerTrust};

use crate::rollback_state::RollbackState;

/// Where the trust list comes from and how it is held.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustSettings {
    /// A department root certificate (PEM) to trust; repeat for several roots.
    #[arg(long = "trust-root", env = "VERIFIER_TRUST_ROOTS", value_delimiter = ',')]
    pub roots: Vec<PathBuf>,
    /// The signed trust list, from a file.
    #[arg(long, env = "VERIFIER_TRUST_LIST_FILE")]
    pub trust_list_file: Option<PathBuf>,
    /// The signed trust list, from a URL (e.g. the issuer's `/trust-list`).
    #[arg(long, env = "VERIFIER_TRUST_LIST_URL")]
    pub trust_list_url: Option<String>,
    /// How often to reload the trust list, in seconds.
    #[arg(long, env = "VERIFIER_TRUST_LIST_REFRESH_SECS", default_value_t = 3600)]
    pub refresh_secs: u64,
    /// Warn when the trust list is older than this many hours.
    #[arg(long, env = "VERIFIER_TRUST_LIST_WARN_HOURS", default_value_t = 24)]
    pub warn_after_hours: i64,
    /// Fail the trust check when the trust list is older than this many hours.
    #[arg(long, env = "VERIFIER_TRUST_LIST_MAX_AGE_HOURS", default_value_t = 168)]
    pub max_age_hours: i64,
    /// Also fail VC-API verification when the issuer is not trusted (the W3C
    /// test suites send credentials from arbitrary did:key issuers, so off by default).
    #[arg(long, env = "VERIFIER_REQUIRE_TRUST_ON_VC_API", default_value_t = false)]
    pub require_trust_on_vc_api: bool,
}

impl Default for TrustSettings {
    fn default() -> Self {
        Self {
            roots: Vec::new(),
            trust_list_file: None,
            trust_list_url: None,
            refresh_secs: 3600,
            warn_after_hours: 24,
            max_age_hours: 168,
            require_trust_on_vc_api: false,
        }
    }
}

/// The trust the verifier currently holds; cheap to clone, shared by all workers.
#[derive(Debug, Clone)]
pub struct TrustState {
    current: Arc<RwLock<IssuerTrust>>,
    /// The installed trust list's bytes, as signed (for the verifier bundle).
    installed: Arc<RwLock<Option<Vec<u8>>>>,
    roots: Arc<Vec<Vec<u8>>>,
    warn_after: Duration,
    max_age: Duration,
    /// See [`TrustSettings::require_trust_on_vc_api`].
    pub require_trust_on_vc_api: bool,
    /// The highest sequence accepted, persisted across restarts.
    rollback: RollbackState,
    /// The list accepted before the last restart (kept in the data
    /// directory), reopened for its CRLs: until a list is installed, the
    /// first one offered is judged by them too.
    held_before_restart: Option<Arc<TrustStore>>,
}

fn unavailable(code: &str, zh: String, en: String) -> IssuerTrust {
    IssuerTrust::Unavailable(CheckResult::Invalid { code: code.to_owned(), reason: Localized::new(zh, en) })
}

impl TrustState {
    /// Read the configured roots and the trust list file, if any.
    ///
    /// # Errors
    /// A root file that cannot be read or parsed (a configuration error).
    pub fn from_settings(settings: &TrustSettings, rollback: RollbackState) -> anyhow::Result<Self> {
        let roots = read_pem_certificates(&settings.roots)?;
        let configured = !roots.is_empty() || settings.trust_list_file.is_some() || settings.trust_list_url.is_some();
        let initial = if !configured {
            IssuerTrust::NotConfigured
        } else if roots.is_empty() {
            anyhow::bail!("a trust list is configured but no --trust-root: nothing to check its signature against");
        } else {
            unavailable(
                "no_trust_list",
                "尚未获取信任列表，无法确认签发机构".into(),
                "no trust list has been loaded yet: the issuer cannot be confirmed".into(),
            )
        };
        let held_before_restart = rollback.held_trust_list().and_then(|bytes| {
            TrustList::reopen_held(&bytes, &roots)
                .inspect_err(|e| tracing::error!(error = %e, "the trust list held before the restart does not reopen"))
                .ok()
                .map(Arc::new)
        });
        let state = Self {
            current: Arc::new(RwLock::new(initial)),
            installed: Arc::default(),
            roots: Arc::new(roots),
            warn_after: Duration::hours(settings.warn_after_hours),
            max_age: Duration::hours(settings.max_age_hours),
            require_trust_on_vc_api: settings.require_trust_on_vc_api,
            rollback,
            held_before_restart,
        };
        if let Some(file) = &settings.trust_list_file {
            match std::fs::read(file) {
                Ok(bytes) => state.install(&bytes),
                Err(e) => tracing::error!(path = %file.display(), error = %e, "cannot read the trust list file"),
            }
        }
        Ok(state)
    }

    /// The trust to verify with, right now.
    pub fn current(&self) -> IssuerTrust {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The installed trust list, as signed by its department.
    pub fn installed_list(&self) -> Option<Vec<u8>> {
        self.installed.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Verify and install a trust list; keep the held one if this one is
    /// worse (fails to verify, or is older).
    pub fn install(&self, bytes: &[u8]) {
        let loaded = TrustList::load(bytes, &self.roots, Utc::now(), self.max_age);
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match loaded {
            Ok(store) => {
                // Rollback: older than the list held, or than the newest list
                // ever accepted (persisted, so a restart does not forget it).
                let held = match &*guard {
                    IssuerTrust::List { store: held, .. } => Some(held.sequence()),
                    _ => None,
                };
                let floor = held.max(self.rollback.trust_list_sequence());
                // Not older than that floor (a rollback), and not more than
                // MAX_SEQUENCE_STEP ahead of it: such a list would set a floor
                // no genuine list could pass (a stolen signer key's u64::MAX).
                if let Some(floor) = floor.filter(|floor| !store.may_follow(*floor)) {
                    let offered = store.sequence();
                    let (code, zh, en) = if offered < floor {
                        (
                            "trust_list_rollback",
                            format!("拒绝旧版信任列表（序号 {offered}），本验证器已接受过序号 {floor} 的列表；请获取最新信任列表"),
                            format!(
                                "an older trust list (sequence {offered}) was refused: this verifier already accepted \
                                 sequence {floor}; get the current trust list"
                            ),
                        )
                    } else {
                        (
                            "trust_list_sequence_jump",
                            format!("拒绝信任列表（序号 {offered}）：比已接受的序号 {floor} 超前太多"),
                            format!(
                                "a trust list (sequence {offered}) was refused: it runs too far ahead of the accepted \
                                 sequence {floor}"
                            ),
                        )
                    };
                    tracing::error!(
                        offered,
                        held = floor,
                        code,
                        "refusing a trust list that may not follow the accepted one"
                    );
                    if !matches!(&*guard, IssuerTrust::List { .. }) {
                        *guard = unavailable(code, zh, en);
                    }
                    return;
                }
                // Signed by a trust-list signer the held list's CRLs revoke: the
                // thief of a revoked signer's key leaves its revocation out. The
                // held list is the installed one or, right after a restart, the
                // one installed before it.
                let held = match &*guard {
                    IssuerTrust::List { store: held, .. } => Some(held),
                    _ => self.held_before_restart.as_ref(),
                };
                if let Some(held) = held.filter(|held| held.revokes_signer_of(&store)) {
                    tracing::error!(
                        offered = store.sequence(),
                        held = held.sequence(),
                        "refusing a trust list signed by a signer the held list revokes"
                    );
                    if !matches!(&*guard, IssuerTrust::List { .. }) {
                        *guard = unavailable(
                            "untrusted_trust_list_signer",
                            "拒绝信任列表：其签名者已被吊销".into(),
                            "a trust list was refused: its signer has been revoked".into(),
                        );
                    }
                    return;
                }
                // Any configured root may sign the list: a department's root
                // key, stolen, must not bring back another department's older
                // revocation list (un-revoking its clinics) nor leave it out.
                // The held list's CRLs, and the floors kept across restarts
                // (the held list file may be lost, or not reopen).
                let rollback = held
                    .and_then(|held| held.crl_rolled_back_by(&store))
                    .or_else(|| store.crl_below(&self.rollback.crl_floors()));
                if let Some(rollback) = rollback {
                    tracing::error!(
                        offered = store.sequence(),
                        root = %rollback.root,
                        "refusing a trust list that goes back on a revocation list: {rollback}"
                    );
                    if !matches!(&*guard, IssuerTrust::List { .. }) {
                        *guard = unavailable(
                            "trust_list_crl_rollback",
                            format!("拒绝信任列表：{} 的证书吊销列表比已接受的旧或缺失", rollback.root),
                            format!("a trust list was refused: {rollback}"),
                        );
                    }
                    return;
                }
                if let Err(e) = self
                    .rollback
                    .record_trust_list_sequence(store.sequence())
                    .and_then(|()| self.rollback.record_crl_floors(&store.crl_floors()))
                {
                    // Not installed: a list whose floor cannot be saved could be
                    // rolled back after a restart.
                    tracing::error!(error = %format!("{e:#}"), "cannot save the trust list sequence; list not installed");
                    return;
                }
                tracing::info!(
                    sequence = store.sequence(),
                    issuers = store.issuer_certificate_count(),
                    "trust list installed"
                );
                let unbounded = store.roots_authorising_any_type();
                if !unbounded.is_empty() {
                    tracing::warn!(
                        roots = %unbounded.join("; "),
                        "configured roots without a credential-types bound may authorise issuers for any type \
                         (the department re-signs its root with `ecert-pki bound-root`)"
                    );
                }
                *guard =
                    IssuerTrust::List { store: Arc::new(store), warn_after: self.warn_after, max_age: self.max_age };
                *self.installed.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes.to_vec());
                if let Err(e) = self.rollback.record_held_trust_list(bytes) {
                    tracing::error!(error = %format!("{e:#}"), "cannot keep the trust list for after a restart");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "trust list refused");
                if !matches!(&*guard, IssuerTrust::List { .. }) {
                    *guard = IssuerTrust::Unavailable(e.to_check_result());
                }
            }
        }
    }

    /// Keep the trust list fresh: reload the file or fetch the URL every
    /// `refresh_secs` (reaching a private address only when `private` allows).
    /// Runs until the process ends.
    pub async fn keep_fresh(self, settings: TrustSettings, private: service_http::outbound::PrivateAddresses) {
        if settings.trust_list_file.is_none() && settings.trust_list_url.is_none() {
            return;
        }
        let client = service_http::outbound::client_builder(private).build();
        let mut first = settings.trust_list_url.is_some();
        loop {
            if !first {
                tokio::time::sleep(std::time::Duration::from_secs(settings.refresh_secs.max(1))).await;
            }
            first = false;
            if let (Some(url), Ok(client)) = (&settings.trust_list_url, &client) {
                match fetch(client, url).await {
                    Ok(bytes) => self.install(&bytes),
                    Err(e) => tracing::warn!(url, error = %e, "trust list fetch failed; keeping the one held"),
                }
            } else if let Some(file) = &settings.trust_list_file {
                match tokio::fs::read(file).await {
                    Ok(bytes) => self.install(&bytes),
                    Err(e) => {
                        tracing::warn!(path = %file.display(), error = %e, "trust list reload failed; keeping the one held")
                    }
                }
            }
        }
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let resp = client.get(url).send().await?.error_for_status()?;
    Ok(service_http::outbound::read_capped(resp, 64 * 1024 * 1024).await?)
}

/// The certificates in PEM files (trust roots, a signing key's chain), as DER, in order.
///
/// # Errors
/// A file that cannot be read or is not a PEM certificate, named.
pub fn read_pem_certificates(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    paths
        .iter()
        .map(|path| {
            let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            certificate_pem_to_der(&pem).with_context(|| format!("{} is not a PEM certificate", path.display()))
        })
        .collect()
}
