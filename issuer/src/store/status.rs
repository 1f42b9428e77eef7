//! Store types for revocation and suspension (W3C Bitstring Status Lists).
//!
//! Tables (migration `0002_status_lists`):
//!
//! * `status_lists`: one row per bitstring (`list_id`, purpose, size, allocation
//!   limit, allocation count, `version`);
//! * `status_entries`: one row per allocated index, unique on `(list_id, status_index)`
//!   and on `(credential_id, purpose)`, carrying the bit;
//! * `status_events`: the audit trail, one row per change, written in the change's
//!   transaction;
//! * `status_list_publications`: the last signed list credential per list, a cache
//!   keyed by the list's `version`.
//!
//! Indexes are drawn uniformly at random from the free indexes of the list (a few
//! random tries, then an exact draw among the free ones), never reused.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use wallet_core::status::{StatusPurpose, MIN_STATUS_LIST_BITS};

use super::{Redacted, StoreError};

/// Random draws tried before falling back to an exact draw among the free indexes.
pub(super) const RANDOM_ATTEMPTS: u32 = 8;

/// How new status lists are sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusListConfig {
    size_bits: u64,
    max_allocations: u64,
}

impl StatusListConfig {
    /// `size_bits` long lists (at least [`MIN_STATUS_LIST_BITS`]) of which at most
    /// `max_allocations` (1 ..= `size_bits`) indexes are handed out before a new list
    /// is started.
    ///
    /// # Errors
    /// [`StoreError::InvalidStatusConfig`] when a bound is broken.
    pub fn new(size_bits: u64, max_allocations: u64) -> Result<Self, StoreError> {
        let min = MIN_STATUS_LIST_BITS as u64;
        if size_bits < min {
            return Err(StoreError::InvalidStatusConfig(format!(
                "a status list must have at least {min} entries (herd privacy), not {size_bits}"
            )));
        }
        if size_bits > i64::MAX as u64 / 2 {
            return Err(StoreError::InvalidStatusConfig(format!("status list size {size_bits} is too large")));
        }
        if max_allocations == 0 || max_allocations > size_bits {
            return Err(StoreError::InvalidStatusConfig(format!(
                "the allocations per status list must be between 1 and the list size {size_bits}, \
                 not {max_allocations}"
            )));
        }
        Ok(Self { size_bits, max_allocations })
    }

    /// Lists of `max(MIN_STATUS_LIST_BITS, max_allocations)` bits, each handing out
    /// `max_allocations` indexes.
    ///
    /// # Errors
    /// As [`StatusListConfig::new`] (`max_allocations` is 0 or absurdly large).
    pub fn with_max_allocations(max_allocations: u64) -> Result<Self, StoreError> {
        Self::new(max_allocations.max(MIN_STATUS_LIST_BITS as u64), max_allocations)
    }

    /// Bits per list.
    pub fn size_bits(&self) -> u64 {
        self.size_bits
    }

    /// Indexes handed out per list before rolling over to a new one.
    pub fn max_allocations(&self) -> u64 {
        self.max_allocations
    }
}

impl Default for StatusListConfig {
    /// 131,072-bit lists, all of whose indexes are used.
    fn default() -> Self {
        Self { size_bits: MIN_STATUS_LIST_BITS as u64, max_allocations: MIN_STATUS_LIST_BITS as u64 }
    }
}

/// The purposes every credential gets, in the order entries are allocated and listed.
pub const PURPOSES: [StatusPurpose; 2] = [StatusPurpose::Revocation, StatusPurpose::Suspension];
/// The purposes a single-use credential (e-invoice, medical bill) gets: also `used`.
pub const SINGLE_USE_PURPOSES: [StatusPurpose; 3] =
    [StatusPurpose::Revocation, StatusPurpose::Suspension, StatusPurpose::Used];

pub(super) fn parse_purpose(text: &str) -> Result<StatusPurpose, StoreError> {
    StatusPurpose::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown status purpose {text:?}")))
}

/// One index handed out to a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusAllocation {
    /// Revocation or suspension.
    pub purpose: StatusPurpose,
    /// The list (`/status/{list_id}`).
    pub list_id: i64,
    /// The bit's position in the list.
    pub index: u64,
}

/// What a credential's status entries say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialState {
    /// Neither revoked nor suspended.
    Active,
    /// Suspended (and not revoked).
    Suspended,
    /// Revoked: final.
    Revoked,
    /// A single-use credential that has been used (and not revoked): final.
    Used,
}

impl CredentialState {
    /// `"active"`, `"suspended"`, `"revoked"` or `"used"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Used => "used",
        }
    }

    pub(super) fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "revoked" => Ok(Self::Revoked),
            "used" => Ok(Self::Used),
            other => Err(StoreError::Corrupt(format!("unknown credential state {other:?}"))),
        }
    }
}

impl fmt::Display for CredentialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A requested status change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusAction {
    /// Set the revocation bit. Final.
    Revoke,
    /// Set the suspension bit.
    Suspend,
    /// Clear the suspension bit (not possible after revocation).
    Reinstate,
    /// Set the `used` bit of a single-use credential. Once only, final.
    Use,
}

impl StatusAction {
    /// `"revoke"`, `"suspend"` or `"reinstate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Use => "use",
        }
    }

    /// Parses `"revoke"`, `"suspend"`, `"reinstate"` or `"use"`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "revoke" => Some(Self::Revoke),
            "suspend" => Some(Self::Suspend),
            "reinstate" => Some(Self::Reinstate),
            "use" => Some(Self::Use),
            _ => None,
        }
    }

    /// The bit this action writes: which purpose, and its new value.
    pub(super) fn bit(self) -> (StatusPurpose, bool) {
        match self {
            Self::Revoke => (StatusPurpose::Revocation, true),
            Self::Suspend => (StatusPurpose::Suspension, true),
            Self::Reinstate => (StatusPurpose::Suspension, false),
            Self::Use => (StatusPurpose::Used, true),
        }
    }

    /// What this action does to a credential in `state`.
    ///
    /// Revocation and use are final: nothing but a revocation follows a use (an
    /// invoice found forged after reimbursement is still revoked), and a use is
    /// never repeated — a second use is refused, not "unchanged", because it is a
    /// second reimbursement being attempted.
    pub(super) fn apply(self, state: CredentialState) -> Transition {
        use CredentialState::{Active, Revoked, Suspended, Used};
        match (self, state) {
            (Self::Revoke, Revoked) | (Self::Suspend, Suspended) | (Self::Reinstate, Active) => Transition::Unchanged,
            (Self::Suspend | Self::Reinstate | Self::Use, Revoked) => Transition::AlreadyRevoked,
            (Self::Suspend | Self::Reinstate | Self::Use, Used) => Transition::AlreadyUsed,
            (Self::Use, Suspended) => Transition::Suspended,
            (Self::Revoke, _) => Transition::To(Revoked),
            (Self::Suspend, Active) => Transition::To(Suspended),
            (Self::Reinstate, Suspended) => Transition::To(Active),
            (Self::Use, Active) => Transition::To(Used),
        }
    }
}

impl fmt::Display for StatusAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(super) enum Transition {
    Unchanged,
    AlreadyRevoked,
    AlreadyUsed,
    /// A suspended credential cannot be used.
    Suspended,
    To(CredentialState),
}

/// One allocated status entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntryRecord {
    /// Revocation or suspension.
    pub purpose: StatusPurpose,
    /// The list.
    pub list_id: i64,
    /// The bit's position.
    pub index: u64,
    /// The bit.
    pub is_set: bool,
    /// When the index was handed out.
    pub allocated_at: DateTime<Utc>,
    /// When the bit last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A credential's status entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialStatusRecord {
    /// The credential.
    pub credential_id: String,
    /// Its entries, revocation first.
    pub entries: Vec<StatusEntryRecord>,
}

impl CredentialStatusRecord {
    /// Revoked if the revocation bit is set, else used if the `used` bit is, else
    /// suspended if the suspension bit is.
    pub fn state(&self) -> CredentialState {
        state_of(self.entries.iter().map(|e| (e.purpose, e.is_set)))
    }

    /// The entry for `purpose`, if allocated.
    pub fn entry(&self, purpose: StatusPurpose) -> Option<&StatusEntryRecord> {
        self.entries.iter().find(|e| e.purpose == purpose)
    }
}

pub(super) fn state_of(bits: impl Iterator<Item = (StatusPurpose, bool)>) -> CredentialState {
    let (mut revoked, mut suspended, mut used) = (false, false, false);
    for (purpose, set) in bits {
        match purpose {
            StatusPurpose::Revocation => revoked |= set,
            StatusPurpose::Suspension => suspended |= set,
            StatusPurpose::Used => used |= set,
        }
    }
    if revoked {
        CredentialState::Revoked
    } else if used {
        CredentialState::Used
    } else if suspended {
        CredentialState::Suspended
    } else {
        CredentialState::Active
    }
}

/// A status change to make, with its audit data.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The credential.
    pub credential_id: String,
    /// What to do.
    pub action: StatusAction,
    /// Why (free text; kept in the audit trail, never logged).
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Where, when it matters: the office that used a single-use credential.
    pub place: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Debug output omits the reason, which may name a person.
impl fmt::Debug for StatusChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusChange")
            .field("credential_id", &self.credential_id)
            .field("action", &self.action)
            .field("reason", &Redacted(self.reason.len()))
            .field("actor", &self.actor)
            .field("place", &self.place)
            .field("at", &self.at)
            .finish()
    }
}

/// What [`super::Store::change_status`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusChangeOutcome {
    /// The bit was written, the list's version incremented and an audit event recorded.
    Changed {
        /// State before.
        previous: CredentialState,
        /// State after.
        current: CredentialState,
        /// The audit event.
        event_id: i64,
        /// The list whose bit changed.
        list_id: i64,
    },
    /// The credential already was in the requested state: nothing written.
    Unchanged(CredentialState),
    /// Refused: the credential is revoked, which is final.
    AlreadyRevoked,
    /// Refused: the single-use credential was used already; `use_event` says when,
    /// by whom and where.
    AlreadyUsed {
        /// The event that used it.
        use_event: Box<StatusEvent>,
    },
    /// Refused: a suspended credential cannot be used.
    Suspended,
    /// The credential is stored but has no status entry for this action's purpose.
    NoStatusEntry,
    /// No credential with this id is stored.
    UnknownCredential,
}

/// One audit record.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusEvent {
    /// Sequence number.
    pub event_id: i64,
    /// The credential.
    pub credential_id: String,
    /// What was done.
    pub action: StatusAction,
    /// State before.
    pub previous_state: CredentialState,
    /// State after.
    pub new_state: CredentialState,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Where (the office that used a single-use credential), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// Debug output omits the reason, which may name a person.
impl fmt::Debug for StatusEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusEvent")
            .field("event_id", &self.event_id)
            .field("credential_id", &self.credential_id)
            .field("action", &self.action)
            .field("previous_state", &self.previous_state)
            .field("new_state", &self.new_state)
            .field("reason", &Redacted(self.reason.len()))
            .field("actor", &self.actor)
            .field("place", &self.place)
            .field("occurred_at", &self.occurred_at)
            .finish()
    }
}

/// A status list's bookkeeping row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListInfo {
    /// `1`, `2`, …
    pub list_id: i64,
    /// Revocation or suspension.
    pub purpose: StatusPurpose,
    /// Bits in the list.
    pub size_bits: u64,
    /// Indexes handed out before rolling over.
    pub max_allocations: u64,
    /// Indexes handed out so far.
    pub allocated: u64,
    /// Incremented with every bit change.
    pub version: i64,
    /// When the list was started.
    pub created_at: DateTime<Utc>,
}

/// A list and its set bits, read in one consistent snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListSnapshot {
    /// The list; `version` is the version these bits belong to.
    pub list: StatusListInfo,
    /// The set indexes, ascending.
    pub set_indexes: Vec<u64>,
}

/// A signed list credential as cached for serving.
#[derive(Clone, PartialEq, Eq)]
pub struct PublishedStatusList {
    /// The list.
    pub list_id: i64,
    /// The list version the document was built from.
    pub version: i64,
    /// The DID that signed it.
    pub issuer: String,
    /// Its `id` (the URL it is served at).
    pub list_url: String,
    /// The signed `BitstringStatusListCredential`, served byte for byte.
    pub credential_json: String,
    /// The HTTP entity tag, quoted.
    pub etag: String,
    /// Its `validUntil`.
    pub valid_until: DateTime<Utc>,
    /// When it was signed.
    pub published_at: DateTime<Utc>,
}

impl fmt::Debug for PublishedStatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishedStatusList")
            .field("list_id", &self.list_id)
            .field("version", &self.version)
            .field("issuer", &self.issuer)
            .field("list_url", &self.list_url)
            .field("credential_json", &Redacted(self.credential_json.len()))
            .field("etag", &self.etag)
            .field("valid_until", &self.valid_until)
            .field("published_at", &self.published_at)
            .finish()
    }
}

/// A random index in `0..size`.
pub(super) fn random_index(size: u64) -> u64 {
    rand::thread_rng().gen_range(0..size)
}

/// A uniformly random index in `0..size` that is not in `used`, or `None` when all are.
pub(super) fn random_free_index(size: u64, used: impl IntoIterator<Item = u64>) -> Option<u64> {
    let words = usize::try_from(size.div_ceil(64)).ok()?;
    let mut taken = vec![0u64; words];
    let mut taken_count = 0u64;
    for index in used {
        if index < size {
            let (word, bit) = ((index / 64) as usize, index % 64);
            if let Some(word) = taken.get_mut(word).filter(|w| **w & (1 << bit) == 0) {
                *word |= 1 << bit;
                taken_count += 1;
            }
        }
    }
    let free = size - taken_count;
    if free == 0 {
        return None;
    }
    let mut nth = rand::thread_rng().gen_range(0..free);
    for (word_index, word) in taken.iter().enumerate() {
        let base = word_index as u64 * 64;
        let bits_here = (size - base).min(64);
        let mask = if bits_here == 64 { u64::MAX } else { (1u64 << bits_here) - 1 };
        let free_word = !word & mask;
        let count = u64::from(free_word.count_ones());
        if nth < count {
            let mut w = free_word;
            for _ in 0..nth {
                w &= w - 1;
            }
            return Some(base + u64::from(w.trailing_zeros()));
        }
        nth -= count;
    }
    None
}

pub(super) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what}: {value}")))
}

pub(super) fn to_i64(value: u64) -> i64 {
    // Sizes are bounded by StatusListConfig::new, indexes by sizes.
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_index_draw_covers_exactly_the_free_indexes() {
        let size = 200;
        let used: Vec<u64> = (0..size).filter(|i| i % 7 != 3).collect();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let i = random_free_index(size, used.iter().copied()).expect("free index");
            assert_eq!(i % 7, 3, "{i} is taken");
            seen.insert(i);
        }
        assert_eq!(seen.len(), (0..size).filter(|i| i % 7 == 3).count(), "every free index can be drawn");
        assert_eq!(random_free_index(size, 0..size), None);
        assert_eq!(random_free_index(130, (0..130).filter(|&i| i != 129)), Some(129));
    }

    #[test]
    fn transitions() {
        use CredentialState::*;
        use StatusAction::*;
        let to = |a: StatusAction, s| match a.apply(s) {
            Transition::To(n) => Some(n),
            _ => None,
        };
        assert_eq!(to(Revoke, Active), Some(Revoked));
        assert_eq!(to(Revoke, Suspended), Some(Revoked));
        assert!(matches!(Revoke.apply(Revoked), Transition::Unchanged));
        assert_eq!(to(Suspend, Active), Some(Suspended));
        assert!(matches!(Suspend.apply(Suspended), Transition::Unchanged));
        assert!(matches!(Suspend.apply(Revoked), Transition::AlreadyRevoked));
        assert_eq!(to(Reinstate, Suspended), Some(Active));
        assert!(matches!(Reinstate.apply(Active), Transition::Unchanged));
        assert!(matches!(Reinstate.apply(Revoked), Transition::AlreadyRevoked));
    }

    #[test]
    fn config_bounds() {
        assert!(StatusListConfig::new(1000, 10).is_err());
        assert!(StatusListConfig::new(131_072, 0).is_err());
        assert!(StatusListConfig::new(131_072, 131_073).is_err());
        let c = StatusListConfig::with_max_allocations(5).expect("small limit");
        assert_eq!((c.size_bits(), c.max_allocations()), (131_072, 5));
        let c = StatusListConfig::with_max_allocations(1_000_000).expect("big list");
        assert_eq!((c.size_bits(), c.max_allocations()), (1_000_000, 1_000_000));
    }
}
