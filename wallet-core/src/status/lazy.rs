//! Status lists held as received (e.g. in a verifier bundle) and verified on
//! first use: opening a bundle of a province's 2,000 lists then costs nothing
//! per list, and a scan pays for the (at most two) lists its credential names.
//!
//! Each URL's lists are verified together, the first time a credential names
//! that URL, with [`verify_status_list`] at the time given when the store was
//! made (the bundle's opening time), in the order received, and put in a
//! [`StatusListCache`] of their own exactly as an eager opening would have put
//! them (a good list with [`StatusListCache::insert_verified`], a bad one with
//! [`StatusListCache::record_failure`], both at the collection time). The
//! verdict is kept: a URL is verified at most once per store. A check then runs
//! [`check_status_with`](super::check_status_with) over those URLs' states, so it gives the same result,
//! code and reason as against the eagerly filled cache.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{status_entries, verify_status_list, StatusListCache, VerifiedStatusList};
use crate::verification::StatusListsOnDemand;

/// The lists received for one URL, and their state once verified.
#[derive(Debug, Default)]
struct Slot {
    /// The signed list credentials, in the order received.
    documents: Vec<Value>,
    /// Lists verified before (by the store this one follows, after a delta) whose
    /// document is one of `documents`: taken as verified, as an eager reopening did.
    reusable: Vec<VerifiedStatusList>,
    /// Set once, at first use: a cache holding this URL only.
    state: OnceLock<StatusListCache>,
}

/// Status lists received at `collected_at`, verified (as at `verify_at`) only
/// when a status check first needs them. Share it behind an `Arc`: the verdicts
/// are kept for every holder.
#[derive(Debug)]
pub struct LazyStatusLists {
    slots: HashMap<String, Slot>,
    collected_at: DateTime<Utc>,
    verify_at: DateTime<Utc>,
}

impl LazyStatusLists {
    /// The lists `(url, signed list credential)`, collected at `collected_at`, to be
    /// verified as at `verify_at` when first used. Nothing is verified here.
    pub fn new(
        lists: impl IntoIterator<Item = (String, Value)>,
        collected_at: DateTime<Utc>,
        verify_at: DateTime<Utc>,
    ) -> Self {
        let mut slots: HashMap<String, Slot> = HashMap::new();
        for (url, document) in lists {
            slots.entry(url).or_default().documents.push(document);
        }
        Self { slots, collected_at, verify_at }
    }

    /// The same, taking from `previous` (the store of the bundle this one follows)
    /// every list it already verified whose signed document is unchanged: those
    /// are not verified again (as [`crate::verifier_bundle::open_payload_after`]
    /// always did).
    #[must_use]
    pub fn reusing(mut self, previous: &LazyStatusLists) -> Self {
        for (url, slot) in &mut self.slots {
            let Some(held) = previous.slots.get(url).and_then(|p| p.state.get()) else { continue };
            slot.reusable = held
                .lists(url)
                .into_iter()
                .filter(|list| slot.documents.contains(list.credential()))
                .cloned()
                .collect();
        }
        self
    }

    /// How many URLs have been verified so far.
    pub fn verified_urls(&self) -> usize {
        self.slots.values().filter(|s| s.state.get().is_some()).count()
    }

    /// Verify the lists of `url` now if not done yet (no-op for a URL not held).
    async fn materialise(&self, url: &str) {
        let Some(slot) = self.slots.get(url) else { return };
        if slot.state.get().is_some() {
            return;
        }
        let mut cache = StatusListCache::new();
        for document in &slot.documents {
            let reusable = slot.reusable.iter().find(|held| held.credential() == document);
            let outcome = match reusable {
                Some(held) => Ok(held.clone()),
                None => verify_status_list(url, document, self.verify_at).await,
            };
            if let Err(e) = outcome.and_then(|verified| cache.insert_verified(verified, self.collected_at)) {
                cache.record_failure(url, e, self.collected_at);
            }
        }
        // Two first uses at once verify twice and keep one: the same verdict.
        let _ = slot.state.set(cache);
    }

    /// Verify every list now (what opening a bundle used to do), returning the
    /// failures as `(url, error)`, in URL order.
    pub async fn verify_all(&self) -> Vec<(String, super::StatusError)> {
        let mut urls: Vec<&String> = self.slots.keys().collect();
        urls.sort();
        let mut failures = Vec::new();
        for url in urls {
            self.materialise(url).await;
            if let Some(failure) = self.slots.get(url).and_then(|s| s.state.get()).and_then(|c| c.last_failure(url)) {
                failures.push((url.clone(), failure.error.clone()));
            }
        }
        failures
    }

    /// The lists `vc` names (by `statusListCredential`), verified first if not yet
    /// done, as a cache to run [`check_status_with`](super::check_status_with)
    /// over: it holds exactly what an eagerly filled cache holds for those URLs.
    pub async fn named_by(&self, vc: &Value) -> StatusListCache {
        // A malformed entry is reported by the check; it names no list to verify.
        let urls: Vec<String> =
            status_entries(vc).map(|entries| entries.into_iter().map(|e| e.list_url).collect()).unwrap_or_default();
        let mut named = StatusListCache::new();
        for url in &urls {
            self.materialise(url).await;
            if let Some(state) = self.slots.get(url).and_then(|s| s.state.get()) {
                named.absorb(state);
            }
        }
        named
    }
}

impl StatusListsOnDemand for LazyStatusLists {
    fn named_by<'a>(&'a self, vc: &'a Value) -> Pin<Box<dyn Future<Output = StatusListCache> + Send + 'a>> {
        Box::pin(LazyStatusLists::named_by(self, vc))
    }
}
