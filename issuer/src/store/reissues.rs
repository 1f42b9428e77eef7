//! Reissuing a licence (证照标识 with the same serial, the next version): the
//! new credential, its `Issued` log entry and the previous version's
//! revocation (with its audit event and `StatusChanged` entry) are committed in
//! **one** transaction, so a crash leaves either both or neither, and no two
//! versions of one serial are ever live. A reissue with an idempotency key
//! claims it first in that transaction, as an issuance does: of two
//! concurrent reissues with one key, the second finds it taken and saves nothing.

use chrono::Utc;
use tracing::debug;

use super::backend::{args, Mode, Tx};
use super::credentials::{claim_key, insert_credential};
use super::status::change_in_transaction;
use super::transparency::append_log_entries;
use super::{
    format_timestamp, CredentialState, IdempotencyRecord, IssuedToSave, LogAppended, StatusAction, StatusChange,
    StatusChangeOutcome, Store, StoreError,
};

/// What [`Store::save_reissued`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReissueOutcome {
    /// Saved and logged; the previous version is revoked. The new credential's
    /// `Issued` log entry, when one was appended.
    Saved(Option<LogAppended>),
    /// Nothing saved: the previous version is revoked already (by hand, or by
    /// a reissue that committed first).
    PreviousRevoked,
    /// Nothing saved: the previous version is a single-use credential that was used.
    PreviousUsed,
    /// Nothing saved: the previous version is suspended (reinstate it first).
    PreviousSuspended,
    /// Nothing saved: a credential with the new 证照标识 (or id) is stored already.
    Duplicate,
    /// Nothing saved: the previous version has no revocation entry, or is not stored.
    PreviousNotRevocable,
    /// Nothing saved: the item's idempotency key is taken (by a reissue that
    /// committed first); carries that record.
    Replayed(IdempotencyRecord),
}

/// How often a save retries when its idempotency key is taken but the record
/// is gone by the time it is read.
const MAX_SAVE_ATTEMPTS: u32 = 3;

/// One version of a licence: its 证照标识 and the credential carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceVersion {
    /// The full 证照标识.
    pub licence_id: String,
    /// The credential's id (`urn:uuid:…`).
    pub credential_id: String,
}

impl Store {
    /// Stores the reissued credential `item` with its idempotency record (if
    /// any) and revokes `previous_id` with `reason` by `actor`, in one write
    /// transaction. The key is claimed first ([`ReissueOutcome::Replayed`]
    /// when it is taken: nothing saved); then the revocation locks the previous
    /// version's status entries, so of two concurrent reissues of one
    /// credential the second finds it revoked and saves nothing; the unique
    /// 证照标识 backs this up.
    ///
    /// # Errors
    /// Store failures (then nothing is saved).
    pub async fn save_reissued(
        &self,
        item: &IssuedToSave,
        previous_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<ReissueOutcome, StoreError> {
        for _ in 0..MAX_SAVE_ATTEMPTS {
            let mut tx = self.begin(Mode::Write).await?;
            if let Some(record) = &item.idempotency {
                if !claim_key(&mut tx, record, &format_timestamp(Utc::now())).await? {
                    tx.rollback().await?;
                    match self.idempotent_response(&record.scope, &record.key).await? {
                        Some(existing) => return Ok(ReissueOutcome::Replayed(existing)),
                        // Deleted before we could read it: try again.
                        None => continue,
                    }
                }
            }
            return self.revoke_and_save(tx, item, previous_id, reason, actor).await;
        }
        Err(StoreError::Corrupt(format!(
            "reissue idempotency key kept conflicting with a record that could not be read ({MAX_SAVE_ATTEMPTS} attempts)"
        )))
    }

    /// The rest of [`Store::save_reissued`] in `tx`: revoke, insert, log, commit.
    async fn revoke_and_save(
        &self,
        mut tx: Tx,
        item: &IssuedToSave,
        previous_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<ReissueOutcome, StoreError> {
        let now = Utc::now();
        let change = StatusChange {
            credential_id: previous_id.to_owned(),
            action: StatusAction::Revoke,
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            place: None,
            at: now,
        };
        let refused = match change_in_transaction(&mut tx, &change).await? {
            StatusChangeOutcome::Changed { previous: CredentialState::Used, .. } => Some(ReissueOutcome::PreviousUsed),
            StatusChangeOutcome::Changed { previous: CredentialState::Suspended, .. } => {
                Some(ReissueOutcome::PreviousSuspended)
            }
            StatusChangeOutcome::Changed { .. } => None,
            StatusChangeOutcome::Unchanged(_) | StatusChangeOutcome::AlreadyRevoked => {
                Some(ReissueOutcome::PreviousRevoked)
            }
            StatusChangeOutcome::AlreadyUsed { .. } => Some(ReissueOutcome::PreviousUsed),
            StatusChangeOutcome::Suspended
            | StatusChangeOutcome::NoStatusEntry
            | StatusChangeOutcome::UnknownCredential => Some(ReissueOutcome::PreviousNotRevocable),
        };
        if let Some(refused) = refused {
            tx.rollback().await?;
            return Ok(refused);
        }
        let stored_at = format_timestamp(now);
        match insert_credential(&mut tx, &item.credential, &stored_at).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => {
                tx.rollback().await?;
                return Ok(ReissueOutcome::Duplicate);
            }
            Err(e) => return Err(e),
        }
        let appended =
            append_log_entries(&mut tx, [(&item.log_entry, Some(item.credential.id.as_str()))], &stored_at).await?;
        tx.commit().await?;
        debug!(credential_id = item.credential.id, previous_id, backend = self.backend(), "saved a reissue");
        Ok(ReissueOutcome::Saved(appended.into_iter().next()))
    }

    /// Every stored version of the licence whose 证照标识 starts with
    /// `serial_prefix` (`root.type.authority.serial.`, dot included), oldest
    /// version first. A range over the unique index, on both backends.
    pub async fn licence_versions(&self, serial_prefix: &str) -> Result<Vec<LicenceVersion>, StoreError> {
        // Every identifier with this prefix sorts before the prefix with its last
        // '.' replaced by '/', the next character.
        let Some(stem) = serial_prefix.strip_suffix('.') else {
            return Ok(Vec::new());
        };
        let upper = format!("{stem}/");
        let rows = self
            .session()
            .await?
            .query(
                "SELECT licence_id, id FROM credentials WHERE licence_id >= $1 AND licence_id < $2 \
                 ORDER BY licence_id LIMIT 1000",
                &args![serial_prefix, upper.as_str()],
            )
            .await?;
        rows.iter().map(|row| Ok(LicenceVersion { licence_id: row.get(0)?, credential_id: row.get(1)? })).collect()
    }
}
