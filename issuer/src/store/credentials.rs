//! Issued credentials and the idempotency records of the requests that issued them.

use chrono::Utc;
use tracing::debug;
use wallet_core::transparency::LogEntry;

use super::backend::{args, duplicate_as, is_unique_violation, ColumnType, Mode, Row, RowsInsert, Tx, Value};
use super::transparency::append_log_entries;
use super::{
    format_timestamp, parse_optional_timestamp, parse_timestamp, response_status_from_db, CredentialQuery,
    CredentialSummary, IdempotencyRecord, IssuedToSave, LogAppended, NewCredential, SaveOutcome, Store, StoreError,
    StoredCredential,
};

/// How often a save retries when an idempotency key conflicts but the conflicting
/// record is gone by the time it is read.
const MAX_SAVE_ATTEMPTS: u32 = 3;

/// Keys per `IN (…)` list of [`Store::idempotent_responses`].
const KEYS_PER_QUERY: usize = 500;

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
const NEXT_LICENCE_SERIALS: &str = "INSERT INTO licence_serials (authority, type_code, last_serial) \
     VALUES ($1, $2, $3) ON CONFLICT (authority, type_code) \
     DO UPDATE SET last_serial = licence_serials.last_serial + $3 RETURNING last_serial";

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

    /// Group commit: saves many issued credentials, each with its idempotency
    /// record (if any) and its `Issued` log entry, in **one** transaction (one
    /// commit, one fsync), with the answer of each in the order given.
    ///
    /// Per credential, the rules of [`Store::save_issued_logged`]: a credential
    /// whose idempotency key is already taken (by a committed record, or by an
    /// earlier item of this group) is not saved and gets the existing record as
    /// [`SaveOutcome::Replayed`]; the others are saved and logged, their entries
    /// appended in the order given, after every earlier entry, gap-free. The log
    /// lock (PostgreSQL) is taken last, so it is held only from the append to the
    /// commit, never while anything is signed.
    ///
    /// Keys are claimed in `(scope, key)` order, so two groups claiming the same
    /// keys never wait on each other in a cycle.
    ///
    /// # Errors
    /// Store failures, [`StoreError::Duplicate`] for a credential id already
    /// stored: then nothing of the group is saved (the caller may save the items
    /// one by one to get an answer for each).
    pub async fn save_issued_group(
        &self,
        items: &[IssuedToSave],
    ) -> Result<Vec<(SaveOutcome, Option<LogAppended>)>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin(Mode::Write).await?;
        let stored_at = format_timestamp(Utc::now());
        // Keys are claimed in (scope, key) order; of the items sharing a key, the
        // first claims it and the others replay it.
        let mut claim_order: Vec<(usize, &IdempotencyRecord)> = items
            .iter()
            .enumerate()
            .filter_map(|(position, item)| Some((position, item.idempotency.as_ref()?)))
            .collect();
        claim_order.sort_by(|(_, a), (_, b)| (&a.scope, &a.key).cmp(&(&b.scope, &b.key)));
        let mut saved = vec![true; items.len()];
        let mut claims: Vec<(usize, &IdempotencyRecord)> = Vec::with_capacity(claim_order.len());
        for (position, record) in claim_order {
            match claims.last() {
                Some((_, last)) if (&last.scope, &last.key) == (&record.scope, &record.key) => {
                    if let Some(slot) = saved.get_mut(position) {
                        *slot = false;
                    }
                }
                _ => claims.push((position, record)),
            }
        }
        // One statement per table (PostgreSQL), whatever the group's size.
        let claim_rows: Vec<Vec<Value>> =
            claims.iter().map(|(_, record)| idempotency_row(record, &stored_at)).collect();
        let claimed = tx.insert_rows(&IDEMPOTENCY_RECORDS, &claim_rows).await?;
        for ((position, _), claimed) in claims.iter().zip(claimed) {
            if let Some(slot) = saved.get_mut(*position) {
                *slot = claimed;
            }
        }
        let credential_rows: Vec<Vec<Value>> = items
            .iter()
            .zip(&saved)
            .filter(|(_, saved)| **saved)
            .map(|(item, _)| credential_row(&item.credential, &stored_at))
            .collect();
        if let Err(err) = tx.insert_rows(&CREDENTIALS, &credential_rows).await {
            return Err(duplicate_in_group(err, items));
        }
        let entries: Vec<(&LogEntry, Option<&str>)> = items
            .iter()
            .zip(&saved)
            .filter(|(_, saved)| **saved)
            .map(|(item, _)| (&item.log_entry, Some(item.credential.id.as_str())))
            .collect();
        let appended =
            if entries.is_empty() { Vec::new() } else { append_log_entries(&mut tx, entries, &stored_at).await? };
        // Deferred foreign keys (idempotency record → credential) are checked here.
        tx.commit().await?;
        let mut appended = appended.into_iter();
        let mut outcomes = Vec::with_capacity(items.len());
        for (item, saved) in items.iter().zip(saved) {
            if saved {
                outcomes.push((SaveOutcome::Saved, appended.next()));
                continue;
            }
            let record =
                item.idempotency.as_ref().ok_or_else(|| StoreError::Corrupt("unclaimed without a key".into()))?;
            let existing = self.idempotent_response(&record.scope, &record.key).await?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "idempotency key in scope {:?} taken by a record that is gone",
                    record.scope
                ))
            })?;
            outcomes.push((SaveOutcome::Replayed(existing), None));
        }
        debug!(credentials = items.len(), backend = self.backend(), "saved a group of credentials");
        Ok(outcomes)
    }

    /// The stored idempotency records of `keys` in `scope`, by key (keys
    /// without a record are absent): one query per 500 keys, for batches.
    pub async fn idempotent_responses(
        &self,
        scope: &str,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, IdempotencyRecord>, StoreError> {
        let mut found = std::collections::HashMap::new();
        let mut session = self.session().await?;
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let placeholders = (2..=chunk.len() + 1).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT scope, idempotency_key, request_digest, response_status, response_body, credential_id \
                 FROM idempotency_records WHERE scope = $1 AND idempotency_key IN ({placeholders})"
            );
            let mut arguments: Vec<Value> = vec![scope.into()];
            arguments.extend(chunk.iter().map(|key| Value::from(*key)));
            for row in session.query(&sql, &arguments).await? {
                let record = decode_idempotency_record(&row)?;
                found.insert(record.key.clone(), record);
            }
        }
        Ok(found)
    }

    /// The stored idempotency record for `(scope, key)`, if any.
    pub async fn idempotent_response(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = self.session().await?.query_opt(SELECT_IDEMPOTENCY_RECORD, &args![scope, key]).await?;
        row.as_ref().map(decode_idempotency_record).transpose()
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
        self.next_licence_serials(authority, type_code, 1).await
    }

    /// The first of `count` (at least 1) consecutive new 证照标识 serials of
    /// licence type `type_code` issued by `authority`, taken in one write
    /// transaction (a batch takes its serials at once).
    pub async fn next_licence_serials(&self, authority: &str, type_code: &str, count: u32) -> Result<u64, StoreError> {
        let count = i64::from(count.max(1));
        let mut tx = self.begin(Mode::Write).await?;
        let last: i64 = tx.query_one(NEXT_LICENCE_SERIALS, &args![authority, type_code, count]).await?.get(0)?;
        tx.commit().await?;
        u64::try_from(last - count + 1).map_err(|_| StoreError::Corrupt(format!("licence serial {last} is negative")))
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

/// `idempotency_records`, as a group claims its keys: a key already taken is skipped.
const IDEMPOTENCY_RECORDS: RowsInsert = RowsInsert {
    table: "idempotency_records",
    columns: &[
        ("scope", ColumnType::Text),
        ("idempotency_key", ColumnType::Text),
        ("request_digest", ColumnType::Text),
        ("response_status", ColumnType::Int),
        ("response_body", ColumnType::Text),
        ("credential_id", ColumnType::Text),
        ("created_at", ColumnType::Timestamp),
    ],
    skip_conflicts_on: &["scope", "idempotency_key"],
};

/// `credentials`, as a group stores them: an id already stored fails the group.
const CREDENTIALS: RowsInsert = RowsInsert {
    table: "credentials",
    columns: &[
        ("id", ColumnType::Text),
        ("kind", ColumnType::Text),
        ("issuer", ColumnType::Text),
        ("issued_at", ColumnType::Timestamp),
        ("valid_from", ColumnType::Timestamp),
        ("valid_until", ColumnType::Timestamp),
        ("credential_json", ColumnType::Text),
        ("search_digest", ColumnType::Text),
        ("stored_at", ColumnType::Timestamp),
        ("licence_id", ColumnType::Text),
    ],
    skip_conflicts_on: &[],
};

/// The [`IDEMPOTENCY_RECORDS`] row of `record`.
fn idempotency_row(record: &IdempotencyRecord, stored_at: &str) -> Vec<Value> {
    args![
        &record.scope,
        &record.key,
        &record.request_digest,
        record.response_status,
        &record.response_body,
        &record.credential_id,
        stored_at,
    ]
    .into()
}

/// The [`CREDENTIALS`] row of `credential`.
fn credential_row(credential: &NewCredential, stored_at: &str) -> Vec<Value> {
    args![
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
    ]
    .into()
}

/// A failed group insert of credentials as [`StoreError::Duplicate`] when an id
/// was already stored, naming it when the database said which.
fn duplicate_in_group(err: StoreError, items: &[IssuedToSave]) -> StoreError {
    if !is_unique_violation(&err) {
        return err;
    }
    let said = err.to_string();
    let named = items.iter().map(|item| item.credential.id.as_str()).find(|id| said.contains(&format!("({id})")));
    StoreError::Duplicate(
        named.map_or_else(|| format!("one of the group's {} credential ids", items.len()), str::to_owned),
    )
}

/// Inserts the idempotency record unless its key is taken; whether it was inserted.
pub(super) async fn claim_key(tx: &mut Tx, record: &IdempotencyRecord, stored_at: &str) -> Result<bool, StoreError> {
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

pub(super) async fn insert_credential(
    tx: &mut Tx,
    credential: &NewCredential,
    stored_at: &str,
) -> Result<(), StoreError> {
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

fn decode_idempotency_record(row: &Row) -> Result<IdempotencyRecord, StoreError> {
    let scope: String = row.get(0)?;
    Ok(IdempotencyRecord {
        response_status: response_status_from_db(row.get(3)?, &scope)?,
        key: row.get(1)?,
        request_digest: row.get(2)?,
        response_body: row.get(4)?,
        credential_id: row.get(5)?,
        scope,
    })
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
