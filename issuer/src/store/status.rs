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
use tracing::{debug, info};
use wallet_core::status::StatusPurpose;

use super::backend::{args, ColumnType, Mode, Row, RowsInsert, Tx};
pub use super::status_allocation::{StatusAllocation, StatusListConfig};
use super::transparency::{append_log_entries, status_entry};
use super::LogAppended;
use super::{format_timestamp, parse_optional_timestamp, parse_timestamp, Redacted, Store, StoreError};

/// Random draws tried before falling back to an exact draw among the free indexes.
pub(super) const RANDOM_ATTEMPTS: u32 = 8;

/// The purposes every credential gets, in the order entries are allocated and listed.
pub const PURPOSES: [StatusPurpose; 2] = [StatusPurpose::Revocation, StatusPurpose::Suspension];
/// The purposes a single-use credential (e-invoice, medical bill) gets: also `used`.
pub const SINGLE_USE_PURPOSES: [StatusPurpose; 3] =
    [StatusPurpose::Revocation, StatusPurpose::Suspension, StatusPurpose::Used];

pub(super) fn parse_purpose(text: &str) -> Result<StatusPurpose, StoreError> {
    StatusPurpose::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown status purpose {text:?}")))
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

const SELECT_STATUS_LIST: &str =
    "SELECT list_id, purpose, size_bits, max_allocations, allocated, version, created_at FROM status_lists";

const SELECT_STATUS_ENTRIES: &str = "SELECT purpose, list_id, status_index, is_set, allocated_at, updated_at \
     FROM status_entries WHERE credential_id = $1 ORDER BY purpose";

impl Store {
    /// Hands out one index per purpose (revocation and suspension: [`PURPOSES`]; also
    /// `used` for single-use credentials: [`SINGLE_USE_PURPOSES`]) to `credential_id`,
    /// each at random among the free indexes of the current list for its purpose,
    /// starting a new list (sized by `config`) when that one has reached its allocation
    /// limit.
    ///
    /// Idempotent: a credential id that already has entries gets them back. Safe under
    /// concurrency (across processes too): an index is never handed out twice.
    pub async fn allocate_status(
        &self,
        credential_id: &str,
        purposes: &[StatusPurpose],
        config: &StatusListConfig,
    ) -> Result<Vec<StatusAllocation>, StoreError> {
        let mut many = self.allocate_status_many(&[credential_id], purposes, config).await?;
        many.pop().ok_or_else(|| StoreError::Corrupt("status allocation returned nothing".into()))
    }

    /// [`Store::allocate_status`] for many credentials in **one** transaction (one
    /// commit, one turn of the allocation lock): the allocations of each id, in the
    /// order of `credential_ids`. Used by batch issuance, so that a batch of `n`
    /// credentials costs one status commit, not `n`. Each list is read once per
    /// batch and its allocation count updated once; the lock is held only for the
    /// statements here, never while anything is signed.
    ///
    /// Idempotent per id, as [`Store::allocate_status`]; an id given twice gets the
    /// same entries twice.
    pub async fn allocate_status_many(
        &self,
        credential_ids: &[&str],
        purposes: &[StatusPurpose],
        config: &StatusListConfig,
    ) -> Result<Vec<Vec<StatusAllocation>>, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        let now = format_timestamp(Utc::now());
        // Serialises allocations: the existence check, the choice of list, list creation
        // and the random draw see every earlier allocation, from any process.
        tx.lock(super::backend::Lock::StatusAllocation).await?;
        let mut existing = existing_allocations(&mut tx, credential_ids).await?;
        let mut allocations: Vec<Vec<StatusAllocation>> =
            credential_ids.iter().map(|_| Vec::with_capacity(purposes.len())).collect();
        for &purpose in purposes {
            let purpose_text = purpose.as_str();
            // The ids without an entry of this purpose, each once, in order.
            let mut seen = std::collections::HashSet::new();
            let mut pending: Vec<&str> = credential_ids
                .iter()
                .copied()
                .filter(|id| !existing.contains_key(&(id.to_string(), purpose_text)) && seen.insert(*id))
                .collect();
            // The open list of this purpose takes as many as it has room for, in
            // one insert; the rest go to the next list.
            while !pending.is_empty() {
                let list = open_list(&mut tx, purpose_text, config, &now).await?;
                let take = pending.len().min(usize::try_from(list.room).unwrap_or(usize::MAX)).max(1);
                let rest = pending.split_off(take);
                let indexes =
                    insert_free_entries(&mut tx, list.list_id, list.size_bits, &pending, purpose_text, &now).await?;
                for (credential_id, index) in pending.iter().zip(indexes) {
                    existing.insert(
                        (credential_id.to_string(), purpose_text),
                        StatusAllocation { purpose, list_id: list.list_id, index },
                    );
                }
                OpenList { handed_out: i64::try_from(take).unwrap_or(i64::MAX), ..list }.flush(&mut tx).await?;
                pending = rest;
            }
            for (credential_id, allocated) in credential_ids.iter().zip(allocations.iter_mut()) {
                let found = existing.get(&(credential_id.to_string(), purpose_text)).ok_or_else(|| {
                    StoreError::Corrupt(format!("no {purpose_text} entry was allocated to {credential_id}"))
                })?;
                allocated.push(found.clone());
            }
        }
        tx.commit().await?;
        debug!(credentials = credential_ids.len(), backend = self.backend(), "allocated status entries");
        Ok(allocations)
    }

    /// The status entries of `credential_id`, or `None` when it has none.
    pub async fn credential_status(&self, credential_id: &str) -> Result<Option<CredentialStatusRecord>, StoreError> {
        let rows = self.session().await?.query(SELECT_STATUS_ENTRIES, &args![credential_id]).await?;
        let entries = rows.iter().map(decode_status_entry).collect::<Result<Vec<_>, _>>()?;
        Ok((!entries.is_empty()).then(|| CredentialStatusRecord { credential_id: credential_id.to_owned(), entries }))
    }

    /// Revokes, suspends or reinstates a stored credential. In one transaction: the
    /// bit is written, the list's `version` incremented, an audit event recorded, and a
    /// `StatusChanged` transparency-log entry appended (see [`super::transparency`]).
    /// Requests that change nothing write nothing; revocation is final.
    pub async fn change_status(&self, change: &StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        let outcome = change_in_transaction(&mut tx, change).await?;
        if matches!(outcome, StatusChangeOutcome::Changed { .. }) {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        debug!(?outcome, backend = self.backend(), "status change");
        Ok(outcome)
    }

    /// The audit trail of `credential_id`, oldest first.
    pub async fn status_events(&self, credential_id: &str) -> Result<Vec<StatusEvent>, StoreError> {
        select_status_events(&mut self.session().await?, credential_id).await
    }

    /// Every status list, by `list_id`.
    pub async fn status_lists(&self) -> Result<Vec<StatusListInfo>, StoreError> {
        let rows = self.session().await?.query(&format!("{SELECT_STATUS_LIST} ORDER BY list_id"), &[]).await?;
        rows.iter().map(decode_status_list).collect()
    }

    /// A list and its set bits, read in one snapshot (the bits belong to the returned
    /// `version`).
    pub async fn status_list_snapshot(&self, list_id: i64) -> Result<Option<StatusListSnapshot>, StoreError> {
        let mut tx = self.begin(Mode::Snapshot).await?;
        let Some(list) = select_status_list(&mut tx, list_id).await? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT status_index FROM status_entries WHERE list_id = $1 AND is_set = {} ORDER BY status_index",
            tx.dialect().true_literal()
        );
        let set_indexes = tx
            .query(&sql, &args![list_id])
            .await?
            .iter()
            .map(|row| to_u64(row.get(0)?, "status index"))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        Ok(Some(StatusListSnapshot { list, set_indexes }))
    }

    /// A list and its cached publication, if any; `None` for an unknown list.
    pub async fn status_list_publication(
        &self,
        list_id: i64,
    ) -> Result<Option<(StatusListInfo, Option<PublishedStatusList>)>, StoreError> {
        let mut tx = self.begin(Mode::Snapshot).await?;
        let Some(list) = select_status_list(&mut tx, list_id).await? else {
            return Ok(None);
        };
        let row = tx
            .query_opt(
                "SELECT version, issuer, list_url, credential_json, etag, valid_until, published_at \
                 FROM status_list_publications WHERE list_id = $1",
                &args![list_id],
            )
            .await?;
        tx.commit().await?;
        let publication = row
            .map(|row| {
                let (valid_until, published_at): (String, String) = (row.get(5)?, row.get(6)?);
                Ok::<_, StoreError>(PublishedStatusList {
                    list_id,
                    version: row.get(0)?,
                    issuer: row.get(1)?,
                    list_url: row.get(2)?,
                    credential_json: row.get(3)?,
                    etag: row.get(4)?,
                    valid_until: parse_timestamp(&valid_until, || format!("valid_until of list {list_id}"))?,
                    published_at: parse_timestamp(&published_at, || format!("published_at of list {list_id}"))?,
                })
            })
            .transpose()?;
        Ok(Some((list, publication)))
    }

    /// Caches a signed list credential, unless the cached one was built from a newer
    /// list version or published later (verifiers refuse a list whose `validFrom`
    /// goes back), or from another version in the same second (two processes
    /// publishing at once: two lists with one `validFrom` could be replayed over
    /// each other at a verifier). Returns whether it was stored.
    pub async fn save_status_list_publication(&self, publication: &PublishedStatusList) -> Result<bool, StoreError> {
        let p = publication;
        let stored = self
            .session()
            .await?
            .execute(
                "INSERT INTO status_list_publications \
                     (list_id, version, issuer, list_url, credential_json, etag, valid_until, published_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (list_id) DO UPDATE SET \
                     version = excluded.version, issuer = excluded.issuer, list_url = excluded.list_url, \
                     credential_json = excluded.credential_json, etag = excluded.etag, \
                     valid_until = excluded.valid_until, published_at = excluded.published_at \
                 WHERE excluded.version >= status_list_publications.version \
                   AND excluded.published_at >= status_list_publications.published_at \
                   AND (excluded.version = status_list_publications.version \
                        OR excluded.published_at > status_list_publications.published_at)",
                &args![
                    p.list_id,
                    p.version,
                    &p.issuer,
                    &p.list_url,
                    &p.credential_json,
                    &p.etag,
                    format_timestamp(p.valid_until),
                    format_timestamp(p.published_at),
                ],
            )
            .await?;
        Ok(stored == 1)
    }
}

/// The list entries are being handed out from, in an allocation transaction.
struct OpenList {
    list_id: i64,
    size_bits: u64,
    /// Indexes it may still hand out (`max_allocations - allocated` when read).
    room: u64,
    /// Indexes handed out in this transaction, not yet counted in `allocated`.
    handed_out: i64,
}

impl OpenList {
    /// Counts the indexes handed out in `allocated`.
    async fn flush(self, tx: &mut Tx) -> Result<(), StoreError> {
        if self.handed_out > 0 {
            tx.execute(
                "UPDATE status_lists SET allocated = allocated + $1 WHERE list_id = $2",
                &args![self.handed_out, self.list_id],
            )
            .await?;
        }
        Ok(())
    }
}

/// The first list of `purpose` with room left, or a new one sized by `config`.
async fn open_list(tx: &mut Tx, purpose: &str, config: &StatusListConfig, now: &str) -> Result<OpenList, StoreError> {
    let open = tx
        .query_opt(
            "SELECT list_id, size_bits, max_allocations - allocated FROM status_lists \
             WHERE purpose = $1 AND allocated < max_allocations ORDER BY list_id LIMIT 1",
            &args![purpose],
        )
        .await?;
    let (list_id, size_bits, room): (i64, i64, i64) = match open {
        Some(row) => (row.get(0)?, row.get(1)?, row.get(2)?),
        None => {
            let size_bits = to_i64(config.size_bits());
            let max_allocations = to_i64(config.max_allocations());
            let list_id: i64 = tx
                .query_one(
                    "INSERT INTO status_lists \
                         (list_id, purpose, size_bits, max_allocations, allocated, version, created_at) \
                     SELECT COALESCE(MAX(list_id), 0) + 1, $1, $2, $3, 0, 1, $4 FROM status_lists \
                     RETURNING list_id",
                    &args![purpose, size_bits, max_allocations, now],
                )
                .await?
                .get(0)?;
            info!(list_id, purpose, size_bits, "started a new status list");
            (list_id, size_bits, max_allocations)
        }
    };
    Ok(OpenList {
        list_id,
        size_bits: to_u64(size_bits, "status list size")?,
        room: to_u64(room, "status list room")?,
        handed_out: 0,
    })
}

/// Ids per `IN (…)` list (well under SQLite's and PostgreSQL's argument limits).
const IDS_PER_QUERY: usize = 500;

/// The entries `credential_ids` already have, by (id, purpose).
async fn existing_allocations(
    tx: &mut Tx,
    credential_ids: &[&str],
) -> Result<std::collections::HashMap<(String, &'static str), StatusAllocation>, StoreError> {
    let mut found = std::collections::HashMap::new();
    for chunk in credential_ids.chunks(IDS_PER_QUERY) {
        let placeholders = (1..=chunk.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT credential_id, purpose, list_id, status_index FROM status_entries \
             WHERE credential_id IN ({placeholders})"
        );
        let arguments: Vec<super::backend::Value> = chunk.iter().map(|id| (*id).into()).collect();
        for row in tx.query(&sql, &arguments).await? {
            let purpose = parse_purpose(&row.get::<String>(1)?)?;
            let allocation =
                StatusAllocation { purpose, list_id: row.get(2)?, index: to_u64(row.get(3)?, "status index")? };
            found.insert((row.get::<String>(0)?, purpose.as_str()), allocation);
        }
    }
    Ok(found)
}

/// `status_entries`, as allocations insert them: an index already taken is skipped (and drawn again).
const STATUS_ENTRIES: RowsInsert = RowsInsert {
    table: "status_entries",
    columns: &[
        ("list_id", ColumnType::Int),
        ("status_index", ColumnType::Int),
        ("credential_id", ColumnType::Text),
        ("purpose", ColumnType::Text),
        ("is_set", ColumnType::Bool),
        ("allocated_at", ColumnType::Timestamp),
    ],
    skip_conflicts_on: &["list_id", "status_index"],
};

/// Inserts an entry for each of `credential_ids` (distinct, none with an entry of
/// `purpose`, no more than the list has room for) at random free indexes of the
/// list, distinct; their indexes, in order (the caller holds the allocation lock).
/// Indexes are drawn for all of them and inserted in one statement (PostgreSQL);
/// those found taken are drawn again, [`RANDOM_ATTEMPTS`] times, then exactly
/// among the free ones, one by one.
async fn insert_free_entries(
    tx: &mut Tx,
    list_id: i64,
    size_bits: u64,
    credential_ids: &[&str],
    purpose: &str,
    now: &str,
) -> Result<Vec<u64>, StoreError> {
    let mut chosen: Vec<Option<u64>> = vec![None; credential_ids.len()];
    let mut drawn: std::collections::HashSet<u64> = std::collections::HashSet::new();
    for _ in 0..RANDOM_ATTEMPTS {
        let mut positions = Vec::new();
        let mut rows: Vec<Vec<super::backend::Value>> = Vec::new();
        for (position, credential_id) in credential_ids.iter().enumerate() {
            if chosen.get(position).copied().flatten().is_some() {
                continue;
            }
            // Distinct within the statement; a few tries, then left to the next round.
            let Some(index) = (0..RANDOM_ATTEMPTS).map(|_| random_index(size_bits)).find(|i| !drawn.contains(i)) else {
                continue;
            };
            drawn.insert(index);
            positions.push((position, index));
            rows.push(args![list_id, to_i64(index), *credential_id, purpose, false, now].into());
        }
        if rows.is_empty() {
            break;
        }
        let inserted = tx.insert_rows(&STATUS_ENTRIES, &rows).await?;
        for ((position, index), inserted) in positions.into_iter().zip(inserted) {
            if let (true, Some(slot)) = (inserted, chosen.get_mut(position)) {
                *slot = Some(index);
            }
        }
    }
    let mut indexes = Vec::with_capacity(credential_ids.len());
    for (credential_id, chosen) in credential_ids.iter().zip(chosen) {
        indexes.push(match chosen {
            Some(index) => index,
            // A crowded list: exactly among the free indexes.
            None => insert_free_entry(tx, list_id, size_bits, credential_id, purpose, now).await?,
        });
    }
    Ok(indexes)
}

/// Inserts the entry at a random free index (the caller holds the allocation lock).
async fn insert_free_entry(
    tx: &mut Tx,
    list_id: i64,
    size_bits: u64,
    credential_id: &str,
    purpose: &str,
    now: &str,
) -> Result<u64, StoreError> {
    const INSERT: &str = "INSERT INTO status_entries \
             (list_id, status_index, credential_id, purpose, is_set, allocated_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5) ON CONFLICT (list_id, status_index) DO NOTHING";
    for _ in 0..RANDOM_ATTEMPTS {
        let index = random_index(size_bits);
        if tx.execute(INSERT, &args![list_id, to_i64(index), credential_id, purpose, now]).await? == 1 {
            return Ok(index);
        }
    }
    // A crowded list: draw exactly among the free indexes.
    let used = tx
        .query("SELECT status_index FROM status_entries WHERE list_id = $1", &args![list_id])
        .await?
        .iter()
        .map(|row| to_u64(row.get(0)?, "status index"))
        .collect::<Result<Vec<_>, _>>()?;
    let index = random_free_index(size_bits, used)
        .ok_or_else(|| StoreError::Corrupt(format!("status list {list_id} has no free index left")))?;
    if tx.execute(INSERT, &args![list_id, to_i64(index), credential_id, purpose, now]).await? != 1 {
        return Err(StoreError::Corrupt(format!("status list {list_id}: index drawn as free was taken")));
    }
    Ok(index)
}

/// The body of [`Store::change_status`]; the caller commits a `Changed` outcome.
pub(super) async fn change_in_transaction(
    tx: &mut Tx,
    change: &StatusChange,
) -> Result<StatusChangeOutcome, StoreError> {
    if tx.query_opt("SELECT 1 FROM credentials WHERE id = $1", &args![&change.credential_id]).await?.is_none() {
        return Ok(StatusChangeOutcome::UnknownCredential);
    }
    // Locks the credential's entries: concurrent changes to one credential queue here.
    let sql = format!("{SELECT_STATUS_ENTRIES}{}", tx.dialect().for_update());
    let rows = tx.query(&sql, &args![&change.credential_id]).await?;
    let entries = rows.iter().map(decode_status_entry).collect::<Result<Vec<_>, _>>()?;
    let previous = state_of(entries.iter().map(|e| (e.purpose, e.is_set)));
    let current = match change.action.apply(previous) {
        Transition::Unchanged if entries.is_empty() => return Ok(StatusChangeOutcome::NoStatusEntry),
        Transition::Unchanged => return Ok(StatusChangeOutcome::Unchanged(previous)),
        Transition::AlreadyRevoked => return Ok(StatusChangeOutcome::AlreadyRevoked),
        Transition::Suspended => return Ok(StatusChangeOutcome::Suspended),
        Transition::AlreadyUsed => {
            let events = select_status_events(tx, &change.credential_id).await?;
            let use_event = events.into_iter().rev().find(|e| e.action == StatusAction::Use).ok_or_else(|| {
                StoreError::Corrupt(format!("{} has its used bit set but no use event", change.credential_id))
            })?;
            return Ok(StatusChangeOutcome::AlreadyUsed { use_event: Box::new(use_event) });
        }
        Transition::To(current) => current,
    };
    let (purpose, bit) = change.action.bit();
    let Some(entry) = entries.iter().find(|e| e.purpose == purpose) else {
        return Ok(StatusChangeOutcome::NoStatusEntry);
    };
    let at = format_timestamp(change.at);
    tx.execute(
        "UPDATE status_entries SET is_set = $1, updated_at = $2 WHERE list_id = $3 AND status_index = $4",
        &args![bit, at.as_str(), entry.list_id, to_i64(entry.index)],
    )
    .await?;
    tx.execute("UPDATE status_lists SET version = version + 1 WHERE list_id = $1", &args![entry.list_id]).await?;
    let event_id: i64 = tx
        .query_one(
            "INSERT INTO status_events \
                 (credential_id, action, previous_state, new_state, reason, actor, occurred_at, place) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING event_id",
            &args![
                &change.credential_id,
                change.action.as_str(),
                previous.as_str(),
                current.as_str(),
                &change.reason,
                &change.actor,
                at.as_str(),
                &change.place,
            ],
        )
        .await?
        .get(0)?;
    append_status_log_entry(tx, change, purpose, bit, &at).await?;
    Ok(StatusChangeOutcome::Changed { previous, current, event_id, list_id: entry.list_id })
}

/// The audit trail of `credential_id`, oldest first.
async fn select_status_events(tx: &mut Tx, credential_id: &str) -> Result<Vec<StatusEvent>, StoreError> {
    let rows = tx
        .query(
            "SELECT event_id, credential_id, action, previous_state, new_state, reason, actor, occurred_at, place \
             FROM status_events WHERE credential_id = $1 ORDER BY event_id",
            &args![credential_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let (event_id, action, occurred_at): (i64, String, String) = (row.get(0)?, row.get(2)?, row.get(7)?);
            Ok(StatusEvent {
                event_id,
                credential_id: row.get(1)?,
                action: StatusAction::parse(&action)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown status action {action:?}")))?,
                previous_state: CredentialState::parse(&row.get::<String>(3)?)?,
                new_state: CredentialState::parse(&row.get::<String>(4)?)?,
                reason: row.get(5)?,
                actor: row.get(6)?,
                place: row.get(8)?,
                occurred_at: parse_timestamp(&occurred_at, || format!("occurred_at of event {event_id}"))?,
            })
        })
        .collect()
}

async fn select_status_list(tx: &mut Tx, list_id: i64) -> Result<Option<StatusListInfo>, StoreError> {
    let row = tx.query_opt(&format!("{SELECT_STATUS_LIST} WHERE list_id = $1"), &args![list_id]).await?;
    row.as_ref().map(decode_status_list).transpose()
}

fn decode_status_entry(row: &Row) -> Result<StatusEntryRecord, StoreError> {
    let (purpose, list_id, index): (String, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
    let (allocated_at, updated_at): (String, Option<String>) = (row.get(4)?, row.get(5)?);
    Ok(StatusEntryRecord {
        purpose: parse_purpose(&purpose)?,
        list_id,
        index: to_u64(index, "status index")?,
        is_set: row.get(3)?,
        allocated_at: parse_timestamp(&allocated_at, || format!("allocated_at of {list_id}/{index}"))?,
        updated_at: parse_optional_timestamp(updated_at.as_deref(), || format!("updated_at of {list_id}/{index}"))?,
    })
}

fn decode_status_list(row: &Row) -> Result<StatusListInfo, StoreError> {
    let (list_id, purpose, created_at): (i64, String, String) = (row.get(0)?, row.get(1)?, row.get(6)?);
    Ok(StatusListInfo {
        list_id,
        purpose: parse_purpose(&purpose)?,
        size_bits: to_u64(row.get(2)?, "status list size")?,
        max_allocations: to_u64(row.get(3)?, "status list allocation limit")?,
        allocated: to_u64(row.get(4)?, "status list allocations")?,
        version: row.get(5)?,
        created_at: parse_timestamp(&created_at, || format!("created_at of status list {list_id}"))?,
    })
}

/// Appends the `StatusChanged` entry of a status change, in its transaction.
pub(super) async fn append_status_log_entry(
    tx: &mut Tx,
    change: &StatusChange,
    purpose: StatusPurpose,
    bit: bool,
    now: &str,
) -> Result<Option<LogAppended>, StoreError> {
    let issued: Option<Vec<u8>> = tx
        .query_opt(
            "SELECT entry FROM log_entries WHERE credential_id = $1 ORDER BY seq LIMIT 1",
            &args![&change.credential_id],
        )
        .await?
        .map(|row| row.get(0))
        .transpose()?;
    match issued.as_deref().and_then(|issued| status_entry(issued, purpose, bit, change.at)) {
        Some(entry) => Ok(append_log_entries(tx, [(&entry, Some(change.credential_id.as_str()))], now).await?.pop()),
        None => {
            tracing::warn!(
                credential_id = change.credential_id,
                "credential has no Issued log entry; status change not logged"
            );
            Ok(None)
        }
    }
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
