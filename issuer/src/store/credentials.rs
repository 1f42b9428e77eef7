//! Issued credentials and the idempotency records of the requests that issued them.

use chrono::Utc;
use tracing::debug;
use wallet_core::transparency::LogEntry;

use super::backend::{args, duplicate_as, Mode, Row, Tx, Value};
use super::transparency::{append_log_entries, LogAppended};
use super::{
    format_timestamp, parse_optional_timestamp, parse_timestamp, response_status_from_db, CredentialQuery,
    CredentialSummary, IdempotencyRecord, NewCredential, SaveOutcome, Store, StoreError, StoredCredential,
};

/// How often a save retries when an idempotency key conflicts but the conflicting
/// record is gone by the time it is read.
const MAX_SAVE_ATTEMPTS: u32 = 3;

/// Claims an idempotency key. If another transaction holds an uncommitted row with the
/// same key, this waits for it; if that one commits, nothing is inserted (0 rows).
const CLAIM_IDEMPOTENCY_KEY: &str = "INSERT INTO idempotency_records \
         (scope, idempotency_key, request_digest, response_status, response_body, credential_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, idempotency_key) DO NOTHING";

const INSERT_CREDENTIAL: &str = "INSERT INTO credentials \
         (id, kind, issuer, issued_at, valid_from, valid_until, credential_json, search_digest, stored_at, licence_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Takes the next serial of an (authority, licence type code): one statement, so
/// concurrent issuances (and issuers sharing a PostgreSQL database) never share one.
const NEXT_LICENCE_SERIAL: &str = "INSERT INTO licence_serials (authority, type_code, last_serial) \
     VALUES ($1, $2, 1) ON CONFLICT (authority, type_code) \
     DO UPDATE SET last_serial = licence_serials.last_serial + 1 RETURNING last_serial";

const SELECT_IDEMPOTENCY_RECORD: &str = "SELECT scope, idempotency_key, request_digest, response_status, \
     response_body, credential_id FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2";

impl Store {
    /// Saves an issued credential, optionally together with the idempotency record
    /// of the request that issued it.
    ///
    /// If `idempotency` is `Some` and a record with the same `(scope, key)` already
    /// exists, nothing is saved and the existing record is returned as
    /// [`SaveOutcome::Replayed`]. The check and the insert happen in one transaction
    /// guarded by a unique constraint, so concurrent requests with the same key store
    /// exactly one credential. The caller should compare the returned record's
    /// `request_digest` with its own to detect a key reused for a different request.
    ///
    /// `idempotency.credential_id`, when set, must name `credential.id` (or another
    /// stored credential); it is checked as a foreign key when the transaction commits.
    ///
    /// Fails with [`StoreError::Duplicate`] if a credential with the same id exists.
    pub async fn save_issued(
        &self,
        credential: &NewCredential,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<SaveOutcome, StoreError> {
        Ok(self.save_issued_logged(credential, idempotency, None).await?.0)
    }

    /// As [`Store::save_issued`], and, when `log_entry` is given and the credential is
    /// saved, appends it to the transparency log **in the same transaction** (so the
    /// credential and its `Issued` entry are committed together or not at all).
    /// Returns the assigned leaf index and leaf hash alongside the outcome; nothing is
    /// appended for a replay.
    pub async fn save_issued_logged(
        &self,
        credential: &NewCredential,
        idempotency: Option<&IdempotencyRecord>,
        log_entry: Option<&LogEntry>,
    ) -> Result<(SaveOutcome, Option<LogAppended>), StoreError> {
        let backend = self.backend();
        for _ in 0..MAX_SAVE_ATTEMPTS {
            let mut tx = self.begin(Mode::Write).await?;
            let stored_at = format_timestamp(Utc::now());
            if let Some(record) = idempotency {
                if !claim_key(&mut tx, record, &stored_at).await? {
                    // The key is taken by a committed record: ours is rolled back.
                    tx.rollback().await?;
                    if let Some(existing) = self.idempotent_response(&record.scope, &record.key).await? {
                        debug!(
                            scope = existing.scope,
                            existing_credential_id = existing.credential_id,
                            backend,
                            "idempotency key already used; nothing saved"
                        );
                        return Ok((SaveOutcome::Replayed(existing), None));
                    }
                    // The conflicting record was deleted before we could read it: retry.
                    continue;
                }
            }
            insert_credential(&mut tx, credential, &stored_at).await?;
            let appended = match log_entry {
                Some(entry) => {
                    append_log_entries(&mut tx, [(entry, Some(credential.id.as_str()))], &stored_at).await?.pop()
                }
                None => None,
            };
            // Deferred foreign keys (idempotency record → credential) are checked here.
            tx.commit().await?;
            debug!(credential_id = credential.id, backend, "saved credential");
            return Ok((SaveOutcome::Saved, appended));
        }
        Err(StoreError::Corrupt(format!(
            "idempotency key in scope {:?} kept conflicting with a record that could not \
             be read ({MAX_SAVE_ATTEMPTS} attempts)",
            idempotency.map_or("", |record| record.scope.as_str())
        )))
    }

    /// The stored idempotency record for `(scope, key)`, if any.
    pub async fn idempotent_response(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = self.session().await?.query_opt(SELECT_IDEMPOTENCY_RECORD, &args![scope, key]).await?;
        row.map(|row| {
            let scope: String = row.get(0)?;
            Ok(IdempotencyRecord {
                response_status: response_status_from_db(row.get(3)?, &scope)?,
                key: row.get(1)?,
                request_digest: row.get(2)?,
                response_body: row.get(4)?,
                credential_id: row.get(5)?,
                scope,
            })
        })
        .transpose()
    }

    /// The stored credential with this id, if any.
    pub async fn credential(&self, id: &str) -> Result<Option<StoredCredential>, StoreError> {
        let row = self
            .session()
            .await?
            .query_opt(
                "SELECT id, kind, issuer, issued_at, valid_from, valid_until, credential_json, search_digest, \
                 stored_at FROM credentials WHERE id = $1",
                &args![id],
            )
            .await?;
        row.as_ref().map(decode_credential).transpose()
    }

    /// Summaries of stored credentials matching `query`, newest `issued_at` first
    /// (ties broken by descending id, so paging is stable).
    pub async fn list_credentials(&self, query: &CredentialQuery) -> Result<Vec<CredentialSummary>, StoreError> {
        let (sql, arguments) = listing("id, kind, issuer, issued_at, valid_until", query);
        let rows = self.session().await?.query(&sql, &arguments).await?;
        rows.iter().map(decode_summary).collect()
    }

    /// The stored credentials (documents included) matching `query`, in the
    /// order of [`Store::list_credentials`]: one query for a page of a listing.
    pub async fn list_stored_credentials(&self, query: &CredentialQuery) -> Result<Vec<StoredCredential>, StoreError> {
        let (sql, arguments) = listing(
            "id, kind, issuer, issued_at, valid_from, valid_until, credential_json, search_digest, stored_at",
            query,
        );
        let rows = self.session().await?.query(&sql, &arguments).await?;
        rows.iter().map(decode_credential).collect()
    }

    /// The next 证照标识 serial of licence type `type_code` issued by `authority`
    /// (1 for the first), taken in its own write transaction.
    pub async fn next_licence_serial(&self, authority: &str, type_code: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        let serial: i64 = tx.query_one(NEXT_LICENCE_SERIAL, &args![authority, type_code]).await?.get(0)?;
        tx.commit().await?;
        u64::try_from(serial).map_err(|_| StoreError::Corrupt(format!("licence serial {serial} is negative")))
    }

    /// The id of the stored credential carrying the 证照标识 `licence_id`, if any.
    pub async fn credential_id_by_licence_id(&self, licence_id: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .session()
            .await?
            .query_opt("SELECT id FROM credentials WHERE licence_id = $1", &args![licence_id])
            .await?;
        row.map(|row| row.get(0)).transpose()
    }

    /// How many credentials are stored, optionally only those of one `kind`.
    pub async fn count_credentials(&self, kind: Option<&str>) -> Result<u64, StoreError> {
        let count: i64 = self
            .session()
            .await?
            .query_one("SELECT count(*) FROM credentials WHERE CAST($1 AS TEXT) IS NULL OR kind = $1", &args![kind])
            .await?
            .get(0)?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("negative credential count {count}")))
    }
}

/// Inserts the idempotency record unless its key is taken; whether it was inserted.
async fn claim_key(tx: &mut Tx, record: &IdempotencyRecord, stored_at: &str) -> Result<bool, StoreError> {
    let claimed = tx
        .execute(
            CLAIM_IDEMPOTENCY_KEY,
            &args![
                &record.scope,
                &record.key,
                &record.request_digest,
                record.response_status,
                &record.response_body,
                &record.credential_id,
                stored_at,
            ],
        )
        .await?;
    Ok(claimed == 1)
}

async fn insert_credential(tx: &mut Tx, credential: &NewCredential, stored_at: &str) -> Result<(), StoreError> {
    tx.execute(
        INSERT_CREDENTIAL,
        &args![
            &credential.id,
            &credential.kind,
            &credential.issuer,
            format_timestamp(credential.issued_at),
            credential.valid_from.map(format_timestamp),
            credential.valid_until.map(format_timestamp),
            &credential.credential_json,
            &credential.search_digest,
            stored_at,
            &credential.licence_id,
        ],
    )
    .await
    .map_err(|err| duplicate_as(err, &credential.id))?;
    Ok(())
}

fn decode_credential(row: &Row) -> Result<StoredCredential, StoreError> {
    let id: String = row.get(0)?;
    let (issued_at, valid_from, valid_until, stored_at): (String, Option<String>, Option<String>, String) =
        (row.get(3)?, row.get(4)?, row.get(5)?, row.get(8)?);
    Ok(StoredCredential {
        issued_at: parse_timestamp(&issued_at, || format!("issued_at of {id}"))?,
        valid_from: parse_optional_timestamp(valid_from.as_deref(), || format!("valid_from of {id}"))?,
        valid_until: parse_optional_timestamp(valid_until.as_deref(), || format!("valid_until of {id}"))?,
        stored_at: parse_timestamp(&stored_at, || format!("stored_at of {id}"))?,
        kind: row.get(1)?,
        issuer: row.get(2)?,
        credential_json: row.get(6)?,
        search_digest: row.get(7)?,
        id,
    })
}

fn decode_summary(row: &Row) -> Result<CredentialSummary, StoreError> {
    let id: String = row.get(0)?;
    let (issued_at, valid_until): (String, Option<String>) = (row.get(3)?, row.get(4)?);
    Ok(CredentialSummary {
        issued_at: parse_timestamp(&issued_at, || format!("issued_at of {id}"))?,
        valid_until: parse_optional_timestamp(valid_until.as_deref(), || format!("valid_until of {id}"))?,
        kind: row.get(1)?,
        issuer: row.get(2)?,
        id,
    })
}

/// The listing statement for `query` selecting `columns`, and its arguments.
fn listing(columns: &str, query: &CredentialQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {columns} FROM credentials WHERE 1 = 1");
    let mut arguments: Vec<Value> = Vec::new();
    let mut filter = |sql: &mut String, condition: &str, value: Value| {
        arguments.push(value);
        sql.push_str(&format!(" AND {condition} ${}", arguments.len()));
    };
    if let Some(kind) = &query.kind {
        filter(&mut sql, "kind =", kind.into());
    }
    // Timestamps compare as times on both backends (fixed-width UTC text on SQLite).
    if let Some(from) = query.issued_from {
        filter(&mut sql, "issued_at >=", format_timestamp(from).into());
    }
    if let Some(until) = query.issued_until {
        filter(&mut sql, "issued_at <", format_timestamp(until).into());
    }
    arguments.push(i64::from(query.effective_limit()).into());
    arguments.push(i64::from(query.offset).into());
    sql.push_str(&format!(
        " ORDER BY issued_at DESC, id DESC LIMIT ${} OFFSET ${}",
        arguments.len() - 1,
        arguments.len()
    ));
    (sql, arguments)
}
