//! The verifier's cache of verified status lists, and the per-credential check.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::list::{proof_signer_dids, VerifiedStatusList};
use super::{status_entries, StatusEntry, StatusError, StatusPurpose};
use crate::localized::Localized;
use crate::report::{CheckResult, Warning};

/// A failure recorded for a status list URL: why the last fetch or
/// verification did not give a usable list, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFailure {
    /// What went wrong.
    pub error: StatusError,
    /// When.
    pub at: DateTime<Utc>,
}

/// A good list held for a URL, and when it was fetched.
#[derive(Debug, Clone)]
struct Held {
    list: Arc<VerifiedStatusList>,
    fetched_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
struct UrlState {
    /// Per signer DID: the newest good list that DID signed (a list with
    /// several proofs is held under each of its signers). A list by one
    /// signer never replaces or blocks another signer's.
    by_signer: HashMap<String, Held>,
    /// The last failure since the last good list was accepted.
    failure: Option<RecordedFailure>,
}

impl UrlState {
    /// The held list fetched last (ties: the newest `validFrom`).
    fn latest(&self) -> Option<&Held> {
        self.by_signer.values().max_by_key(|h| (h.fetched_at, h.list.valid_from()))
    }
}

/// At most this many signers' lists are held per URL; beyond it the one
/// fetched longest ago is dropped (its rollback floor is kept).
pub const MAX_SIGNERS_PER_URL: usize = 8;

/// A cache of fetched, VERIFIED status list credentials, keyed by the URL
/// credentials name in `statusListCredential` (exact string match), for the
/// verifier service and offline inspector apps.
///
/// Only lists that passed [`verify_status_list`](super::verify_status_list) get in, each bitstring
/// decoded once. Per URL **and per signer** the cache keeps the newest good
/// list (by `validFrom`; an older one from that signer is refused as
/// rollback) and, per URL, the last failure (fetch error, bad signature, …)
/// so that a check can say *why* there is no usable list. A later failure
/// never evicts a good list: the list then ages under the [`StatusPolicy`]
/// until the check fails as stale or expired.
///
/// Lists are kept per signer because who may sign a credential's list is
/// known only when the credential is checked ([`check_status_with`]): a list
/// another key signed, served at the same URL, must neither be believed for
/// the issuer's credentials nor displace (or, by a later `validFrom`, lock
/// out) the issuer's own. The rollback floors (highest `validFrom` accepted
/// per URL and signer) can be saved and restored across restarts
/// ([`rollback_floors`](Self::rollback_floors), [`restore_rollback_floors`](Self::restore_rollback_floors)).
///
/// Cloning is cheap-ish (lists are shared behind `Arc`): a service can keep
/// the cache in an `RwLock`, or verify outside any lock with
/// [`verify_status_list`](super::verify_status_list) and take the write lock only for
/// [`insert_verified`](Self::insert_verified).
#[derive(Debug, Clone, Default)]
pub struct StatusListCache {
    urls: HashMap<String, UrlState>,
    /// URL → signer DID → the highest `validFrom` accepted.
    floors: HashMap<String, BTreeMap<String, DateTime<Utc>>>,
}

impl StatusListCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep a list already verified with [`verify_status_list`](super::verify_status_list) (for callers
    /// that verify outside a lock), under its URL and signer(s), unless a
    /// newer one (later `validFrom`) from one of its signers is or was held
    /// for that URL. A list with the same `validFrom` replaces the held one
    /// (a refetch of the same publication: it renews `fetched_at`). Lists
    /// by other signers are left alone. Does not record failures.
    ///
    /// # Errors
    /// [`StatusError::Rollback`] when a newer list from the same signer is or was held.
    pub fn insert_verified(&mut self, list: VerifiedStatusList, fetched_at: DateTime<Utc>) -> Result<(), StatusError> {
        self.check_rollback(&list)?;
        let url = list.url().to_owned();
        let floors = self.floors.entry(url.clone()).or_default();
        for signer in list.signer_dids() {
            floors.insert(signer.clone(), list.valid_from());
        }
        let signers = list.signer_dids().to_vec();
        let list = Arc::new(list);
        let state = self.urls.entry(url).or_default();
        for signer in &signers {
            state.by_signer.insert(signer.clone(), Held { list: Arc::clone(&list), fetched_at });
        }
        while state.by_signer.len() > MAX_SIGNERS_PER_URL {
            let oldest = state
                .by_signer
                .iter()
                .filter(|(signer, _)| !signers.contains(signer))
                .min_by_key(|(_, h)| h.fetched_at)
                .map(|(signer, _)| signer.clone());
            match oldest {
                Some(signer) => state.by_signer.remove(&signer),
                None => break,
            };
        }
        state.failure = None;
        Ok(())
    }

    /// Would [`insert_verified`](Self::insert_verified) refuse `list` as a
    /// rollback (a newer list from one of its signers is or was held for its URL)?
    ///
    /// # Errors
    /// [`StatusError::Rollback`].
    pub fn check_rollback(&self, list: &VerifiedStatusList) -> Result<(), StatusError> {
        let held = self
            .floors
            .get(list.url())
            .and_then(|floors| list.signer_dids().iter().filter_map(|s| floors.get(s)).max().copied());
        match held {
            Some(held) if held > list.valid_from() => Err(StatusError::Rollback { held, offered: list.valid_from() }),
            _ => Ok(()),
        }
    }

    /// The rollback floors: per URL and signer DID, the highest `validFrom`
    /// accepted. A verifier saves them, so that after a restart an older
    /// list is still refused ([`restore_rollback_floors`](Self::restore_rollback_floors)).
    pub fn rollback_floors(&self) -> BTreeMap<String, BTreeMap<String, DateTime<Utc>>> {
        self.floors.iter().map(|(url, f)| (url.clone(), f.clone())).collect()
    }

    /// Raise the rollback floors to `floors` (saved by
    /// [`rollback_floors`](Self::rollback_floors)): lists older than them are
    /// refused as rollback. Floors only go up.
    pub fn restore_rollback_floors(&mut self, floors: &BTreeMap<String, BTreeMap<String, DateTime<Utc>>>) {
        for (url, by_signer) in floors {
            let held = self.floors.entry(url.clone()).or_default();
            for (signer, valid_from) in by_signer {
                let floor = held.entry(signer.clone()).or_insert(*valid_from);
                *floor = (*floor).max(*valid_from);
            }
        }
    }

    /// Record that fetching or verifying the list at `url` failed at `at`
    /// (e.g. [`StatusError::HttpStatus`]`(404)`, [`StatusError::FetchFailed`]).
    /// While no good list is held for `url`, status checks against it fail
    /// with this error's code and reason; once a good list is held, the
    /// failure only explains, in stale/expired reasons, why it was not refreshed.
    pub fn record_failure(&mut self, url: &str, error: StatusError, at: DateTime<Utc>) {
        self.urls.entry(url.to_owned()).or_default().failure = Some(RecordedFailure { error, at });
    }

    /// When `url` last gave a good list (any signer's; `None`: no good list).
    pub fn fetched_at(&self, url: &str) -> Option<DateTime<Utc>> {
        self.urls.get(url)?.latest().map(|h| h.fetched_at)
    }

    /// The verified list fetched last from `url` (any signer's: which list
    /// counts for a credential is decided by [`check_status_with`]).
    pub fn get(&self, url: &str) -> Option<&VerifiedStatusList> {
        self.urls.get(url)?.latest().map(|h| h.list.as_ref())
    }

    /// The verified list from `url` that `signer_did` signed, if one is held.
    pub fn get_signed_by(&self, url: &str, signer_did: &str) -> Option<&VerifiedStatusList> {
        self.urls.get(url)?.by_signer.get(signer_did).map(|h| h.list.as_ref())
    }

    /// Every verified list held for `url` (one per signer; a list with
    /// several signers once).
    pub fn lists(&self, url: &str) -> Vec<&VerifiedStatusList> {
        let mut lists: Vec<&VerifiedStatusList> = Vec::new();
        for held in self.urls.get(url).into_iter().flat_map(|s| s.by_signer.values()) {
            if !lists.iter().any(|l| std::ptr::eq(*l, held.list.as_ref())) {
                lists.push(held.list.as_ref());
            }
        }
        lists.sort_by(|a, b| a.signer_dids().cmp(b.signer_dids()));
        lists
    }

    /// The failure recorded for `url` since its last good list, if any.
    pub fn last_failure(&self, url: &str) -> Option<&RecordedFailure> {
        self.urls.get(url)?.failure.as_ref()
    }

    /// When the caller should fetch `url` again: the earliest of the list's
    /// `validUntil`, `fetched_at + ttl` (the issuer's hint) and
    /// `fetched_at + policy.warn_after`, for the list fetched last. `None`
    /// when no good list is held (fetch now).
    pub fn refresh_at(&self, url: &str, policy: &StatusPolicy) -> Option<DateTime<Utc>> {
        let Held { list, fetched_at } = self.urls.get(url)?.latest()?;
        let mut at = *fetched_at + policy.warn_after;
        if let Some(until) = list.valid_until() {
            at = at.min(until);
        }
        if let Some(ttl) = list.ttl() {
            at = at.min(fetched_at.checked_add_signed(ttl).unwrap_or(at));
        }
        Some(at)
    }

    /// Every URL the cache knows (with a list or a recorded failure).
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.urls.keys().map(String::as_str)
    }

    /// Take over what `other` holds for URLs this cache does not know (its lists,
    /// failures and rollback floors), sharing the lists.
    pub(super) fn absorb(&mut self, other: &StatusListCache) {
        for (url, state) in &other.urls {
            self.urls.entry(url.clone()).or_insert_with(|| state.clone());
        }
        for (url, floors) in &other.floors {
            self.floors.entry(url.clone()).or_insert_with(|| floors.clone());
        }
    }

    /// Forget everything about `url` (its rollback floors too).
    pub fn remove(&mut self, url: &str) {
        self.urls.remove(url);
        self.floors.remove(url);
    }
}

/// How old cached status data may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusPolicy {
    /// Fetched longer ago than this: still used, with the warning
    /// `status_data_aging` (default 24 h).
    pub warn_after: Duration,
    /// Fetched longer ago than this: the check fails with `status_data_stale`
    /// (default 7 days).
    pub max_age: Duration,
    /// Online only: a verifier that refreshes its lists every few minutes sets
    /// the time after which a list it could not refresh no longer vouches for
    /// a clear (or suspension) bit: `status_list_not_refreshed`, `Unchecked`
    /// (or `Invalid` with [`not_refreshed_fails`](Self::not_refreshed_fails)).
    /// `None` (the default, and offline bundles): no such rule, only the ages above.
    pub refresh_deadline: Option<Duration>,
    /// Whether `status_list_not_refreshed` fails the check (`Invalid`) rather
    /// than leaving it `Unchecked`.
    pub not_refreshed_fails: bool,
}

impl Default for StatusPolicy {
    fn default() -> Self {
        Self {
            warn_after: Duration::hours(24),
            max_age: Duration::days(7),
            refresh_deadline: None,
            not_refreshed_fails: false,
        }
    }
}

/// Who may sign a status list for a credential, as `may_sign` says for its
/// key (the one whose trust was assessed) and the list's `validFrom`: that
/// key, or a key the trust list certifies for the same organisation (key
/// rotation). The credential's `issuer` string and the keys of any other
/// proofs on it do not count: anyone can append a proof.
struct CredentialSigner<'a> {
    key: Option<&'a str>,
    may_sign: &'a dyn Fn(&str, &str, DateTime<Utc>) -> bool,
}

impl CredentialSigner<'_> {
    fn may_sign(&self, list_signer: &str, valid_from: DateTime<Utc>) -> bool {
        self.key.is_some_and(|key| (self.may_sign)(list_signer, key, valid_from))
    }

    fn describe(&self) -> String {
        self.key.unwrap_or("(none)").to_owned()
    }
}

enum Outcome {
    Clear,
    Revoked { list: Arc<VerifiedStatusList> },
    Suspended { list: Arc<VerifiedStatusList> },
    Used { list: Arc<VerifiedStatusList> },
    Failed(CheckResult),
}

fn invalid(code: &str, reason: Localized) -> CheckResult {
    CheckResult::Invalid { code: code.to_owned(), reason }
}

fn from_error(error: &StatusError) -> CheckResult {
    invalid(error.code(), error.reason())
}

/// `error`, with a recorded failure appended as the reason it could not be refreshed.
fn with_refresh_failure(error: &StatusError, failure: Option<&RecordedFailure>) -> CheckResult {
    let mut reason = error.reason();
    if let Some(f) = failure {
        let r = f.error.reason();
        let at = f.at.format("%Y-%m-%d %H:%M UTC");
        reason.zh = format!("{}（最近一次更新失败，{at}：{}）", reason.zh, r.zh);
        reason.en = format!("{} (the last refresh failed at {at}: {})", reason.en, r.en);
    }
    invalid(error.code(), reason)
}

fn check_entry(
    entry: &StatusEntry,
    credential: &CredentialSigner<'_>,
    cache: &StatusListCache,
    policy: &StatusPolicy,
    now: DateTime<Utc>,
    warnings: &mut Vec<Warning>,
) -> Outcome {
    let state = cache.urls.get(&entry.list_url);
    let held: Vec<&Held> = state.map(|s| s.by_signer.values().collect()).unwrap_or_default();
    if held.is_empty() {
        // Fail closed: no verified list, no verdict.
        return Outcome::Failed(match state.and_then(|s| s.failure.as_ref()) {
            Some(f) => {
                let r = f.error.reason();
                invalid(
                    f.error.code(),
                    Localized::new(
                        format!("状态列表 {} 不可用：{}", entry.list_url, r.zh),
                        format!("the status list {} is not usable: {}", entry.list_url, r.en),
                    ),
                )
            }
            None => from_error(&StatusError::NotFetched(entry.list_url.clone())),
        });
    }
    // Of the lists the credential's issuer signed (its key, or a rotated key
    // of the same organisation), the newest publication counts: an older list
    // of the old key cannot roll back a newer one of the new key.
    let Some(Held { list, fetched_at }) = state
        .into_iter()
        .flat_map(|s| s.by_signer.iter())
        .filter(|(signer, held)| credential.may_sign(signer, held.list.valid_from()))
        .map(|(_, h)| h)
        .max_by_key(|h| (h.list.valid_from(), h.fetched_at))
    else {
        let mut signers: Vec<&str> = held.iter().flat_map(|h| h.list.signer_dids()).map(String::as_str).collect();
        signers.sort_unstable();
        signers.dedup();
        return Outcome::Failed(from_error(&StatusError::ListWrongIssuer {
            list_signer: signers.join(", "),
            credential_issuer: credential.describe(),
        }));
    };
    if !list.has_purpose(entry.purpose) {
        return Outcome::Failed(from_error(&StatusError::ListWrongPurpose {
            expected: entry.purpose.as_str().to_owned(),
            found: list.purposes().to_vec(),
        }));
    }
    let bit = usize::try_from(entry.index).ok().and_then(|i| list.bits().get(i));
    let Some(bit) = bit else {
        return Outcome::Failed(from_error(&StatusError::IndexOutOfRange {
            index: entry.index,
            len: list.bits().len(),
        }));
    };
    // Revocation is final (the spec: "not reversible"), so a set revocation
    // bit is believed even from a list too old to vouch for a clear bit.
    if bit && entry.purpose == StatusPurpose::Revocation {
        return Outcome::Revoked { list: Arc::clone(list) };
    }
    // So is a use: the issuer never clears a `used` bit.
    if bit && entry.purpose == StatusPurpose::Used {
        return Outcome::Used { list: Arc::clone(list) };
    }
    let failure = state.and_then(|s| s.failure.as_ref());
    if let Some(valid_until) = list.valid_until() {
        if now > valid_until {
            return Outcome::Failed(with_refresh_failure(&StatusError::ListExpired { valid_until }, failure));
        }
    }
    let age = now - *fetched_at;
    if age > policy.max_age {
        let stale = StatusError::DataStale { fetched_at: *fetched_at, max_age_hours: policy.max_age.num_hours() };
        return Outcome::Failed(with_refresh_failure(&stale, failure));
    }
    // A suspension can be lifted (so an expired or stale list says stale,
    // above), but a set bit in a list merely past the refresh deadline is the
    // issuer's last word: `suspended` (the report gives the list's date). Read
    // as "not known" (`status_list_not_refreshed` is `unchecked` by default),
    // it turned a suspended credential green once its list went unrefreshed.
    if bit {
        return Outcome::Suspended { list: Arc::clone(list) };
    }
    if let Some(deadline) = policy.refresh_deadline.filter(|deadline| age > *deadline) {
        let not_refreshed =
            StatusError::NotRefreshed { fetched_at: *fetched_at, deadline_minutes: deadline.num_minutes() };
        return Outcome::Failed(match with_refresh_failure(&not_refreshed, failure) {
            CheckResult::Invalid { code, reason } if !policy.not_refreshed_fails => {
                CheckResult::Unchecked { code, reason }
            }
            result => result,
        });
    }
    if age > policy.warn_after && !warnings.iter().any(|w| w.code == "status_data_aging") {
        let hours = age.num_hours();
        warnings.push(Warning {
            code: "status_data_aging".into(),
            message: Localized::new(
                format!("吊销/暂停状态数据已 {hours} 小时未更新"),
                format!("the revocation/suspension data has not been refreshed for {hours} hours"),
            ),
        });
    }
    Outcome::Clear
}

/// The status rule of a credential's type: every credential of a type whose
/// definition says `statusRequired` carries an entry for each of `required`
/// ([`crate::credential_type::Definition::required_status_purposes`]). A
/// credential without one (signed without, or a derived `ecdsa-sd-2023`
/// credential that withholds it: the two cannot be told apart) is
/// `Some(invalid status_entry_missing)` naming the first purpose missing, so a
/// revoked holder cannot show a copy that reads "no status entry". `None` when
/// every required purpose has an entry, or the entries are malformed (the
/// status check reports that).
pub fn check_required_entries(vc: &Value, required: &[StatusPurpose]) -> Option<CheckResult> {
    if required.is_empty() {
        return None;
    }
    let entries = status_entries(vc).ok()?;
    let missing = required.iter().find(|purpose| !entries.iter().any(|e| e.purpose == **purpose))?;
    let (zh, en) = match missing {
        StatusPurpose::Revocation => ("吊销", "revocation"),
        StatusPurpose::Suspension => ("暂停", "suspension"),
        StatusPurpose::Used => ("已使用", "used"),
    };
    Some(CheckResult::invalid(
        "status_entry_missing",
        format!("此类凭证必须带有“{zh}”状态条目，该凭证没有（或持有人隐藏了它），无法确认是否被吊销或暂停"),
        format!(
            "credentials of this type always carry a {en} status entry and this one shows none (issued without it, \
             or withheld by the holder): revocation and suspension cannot be ruled out"
        ),
    ))
}

/// The status check of one credential against the cache, at `now`.
/// FAILS CLOSED: anything short of a fresh, verified list from the
/// credential's issuer with the bit clear, for every entry, is `Invalid`.
///
/// - no `credentialStatus` → `Unchecked` `no_status_entry` (the caller's
///   policy decides whether that is acceptable);
/// - a malformed or unsupported entry → `Invalid` `status_entry_malformed` /
///   `status_entry_unsupported`;
/// - per entry: no list held → the recorded failure's code
///   (`status_list_unavailable` for fetch errors and when nothing was ever
///   fetched, `status_list_bad_signature`, `status_list_malformed`,
///   `status_list_too_short`, `status_list_url_mismatch`, `status_list_expired`, …);
///   no list held for the URL signed by the credential's key →
///   `status_list_wrong_issuer`; purpose mismatch → `status_list_wrong_purpose`;
///   index beyond the list → `status_index_out_of_range`; past the list's
///   `validUntil` → `status_list_expired`; fetched more than
///   `policy.max_age` ago → `status_data_stale` (beyond `policy.warn_after`:
///   warning `status_data_aging`); with a `policy.refresh_deadline`,
///   fetched longer ago than it → `status_list_not_refreshed` (`Unchecked`,
///   or `Invalid` with `policy.not_refreshed_fails`); revocation bit set → `revoked` (even from
///   an expired or stale list: revocation is final); `used` bit set → `used`
///   (a single-use credential already used; final too); suspension bit set →
///   `suspended` (also from a list past the refresh deadline: the issuer's
///   last word, never read as "not known"; an expired or stale one says so);
/// - several entries: `revoked` wins over `used`, which wins over `suspended`, which wins over any
///   other failure (the first, in entry order); all clear → `Valid`.
///
/// The credential's own signature is not checked here (that is
/// [`verify_credential`](crate::verification::verify_credential)'s job);
/// here its first proof's `verificationMethod` DID is taken as its key and
/// only lists signed by that key count (use [`check_status_with`] to name
/// the key whose trust was assessed, and to accept a rotated key).
///
/// The library reports what the newest verified list says: if a newer list
/// clears a revocation bit, the credential checks clear. Keeping revocation
/// final is the issuer's job (its store must refuse to clear a revocation bit).
pub fn check_status(
    vc: &Value,
    cache: &StatusListCache,
    policy: &StatusPolicy,
    now: DateTime<Utc>,
) -> (CheckResult, Vec<Warning>) {
    let key = proof_signer_dids(vc).into_iter().next();
    check_status_with(vc, key.as_deref(), cache, policy, now, &|list_signer, key, _| list_signer == key)
}

/// [`check_status`] with the credential's key given: `credential_key` is the
/// DID of the key whose trust was assessed (see
/// [`verify_credential`](crate::verification::verify_credential)); a list
/// counts only when `may_sign(list_signer, credential_key, list_valid_from)`
/// says so: its own key, or one the trust list certifies for the same
/// organisation (key rotation), and neither revoked as
/// [`TrustStore::may_sign_status_lists`](crate::trust::TrustStore::may_sign_status_lists)
/// says. `None` (no key): no list counts.
pub fn check_status_with(
    vc: &Value,
    credential_key: Option<&str>,
    cache: &StatusListCache,
    policy: &StatusPolicy,
    now: DateTime<Utc>,
    may_sign: &dyn Fn(&str, &str, DateTime<Utc>) -> bool,
) -> (CheckResult, Vec<Warning>) {
    let entries = match status_entries(vc) {
        Ok(entries) => entries,
        Err(e) => return (from_error(&e), Vec::new()),
    };
    if entries.is_empty() {
        return (
            CheckResult::Unchecked {
                code: "no_status_entry".into(),
                reason: Localized::new(
                    "凭证没有状态条目，无法检查是否被吊销",
                    "the credential has no status entry; revocation cannot be checked",
                ),
            },
            Vec::new(),
        );
    }
    let credential = CredentialSigner { key: credential_key, may_sign };
    let mut warnings = Vec::new();
    let mut revoked = None;
    let mut suspended = None;
    let mut used = None;
    let mut failed = None;
    for entry in &entries {
        match check_entry(entry, &credential, cache, policy, now, &mut warnings) {
            Outcome::Clear => {}
            Outcome::Revoked { list } => {
                revoked.get_or_insert((entry, list));
            }
            Outcome::Suspended { list } => {
                suspended.get_or_insert((entry, list));
            }
            Outcome::Used { list } => {
                used.get_or_insert((entry, list));
            }
            // The first failure in entry order, but an `Invalid` one over an `Unchecked` one.
            Outcome::Failed(result) => {
                if failed.as_ref().is_none_or(|held: &CheckResult| !held.is_invalid() && result.is_invalid()) {
                    failed = Some(result);
                }
            }
        }
    }
    let result = if let Some((entry, list)) = revoked {
        let as_of = list.valid_from().format("%Y-%m-%d %H:%M UTC");
        invalid(
            "revoked",
            Localized::new(
                format!("凭证已被签发机构吊销（状态列表 {}，第 {} 位，{as_of} 发布）", entry.list_url, entry.index),
                format!(
                    "the credential has been revoked by its issuer (status list {}, index {}, published {as_of})",
                    entry.list_url, entry.index
                ),
            ),
        )
    } else if let Some((entry, list)) = used {
        let as_of = list.valid_from().format("%Y-%m-%d %H:%M UTC");
        invalid(
            "used",
            Localized::new(
                format!(
                    "该一次性凭证已被使用（如已报销），不能再次使用（状态列表 {}，第 {} 位，{as_of} 发布）",
                    entry.list_url, entry.index
                ),
                format!(
                    "this single-use credential has already been used (e.g. reimbursed) and cannot be used again \
                     (status list {}, index {}, published {as_of})",
                    entry.list_url, entry.index
                ),
            ),
        )
    } else if let Some((entry, list)) = suspended {
        let as_of = list.valid_from().format("%Y-%m-%d %H:%M UTC");
        invalid(
            "suspended",
            Localized::new(
                format!("凭证已被签发机构暂停使用（状态列表 {}，第 {} 位，{as_of} 发布）", entry.list_url, entry.index),
                format!(
                    "the credential is suspended by its issuer (status list {}, index {}, published {as_of})",
                    entry.list_url, entry.index
                ),
            ),
        )
    } else if let Some(failed) = failed {
        failed
    } else {
        CheckResult::Valid
    };
    (result, warnings)
}
