//! PostgreSQL backend: tokio-postgres behind a deadpool connection pool.
//!
//! Timestamps are `TIMESTAMPTZ` columns. They cross the wire as RFC 3339 text
//! (`$n::text::timestamptz` going in, `to_char(… AT TIME ZONE 'UTC', …)` coming out),
//! which keeps microseconds exactly without tokio-postgres's chrono feature.
//!
//! Connections are unencrypted (`NoTls`): run the database on a private network or
//! a local socket.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls, Row};
use tracing::{debug, info};

use super::migrations::{self, Migration};
use super::status::{
    parse_purpose, random_free_index, random_index, state_of, to_i64, to_u64, Transition, RANDOM_ATTEMPTS,
};
use super::transparency::{
    hash_from_db, seq_from_db, seq_to_db, status_entry, LogAppended, LogRecord, StoredCheckpoint,
};
use super::{
    format_timestamp, parse_optional_timestamp, parse_timestamp, response_status_from_db, CredentialQuery,
    CredentialState, CredentialStatusRecord, CredentialSummary, IdempotencyRecord, NewCredential, PublishedStatusList,
    RawCredential, RawSummary, SaveOutcome, StatusAction, StatusAllocation, StatusChange, StatusChangeOutcome,
    StatusEntryRecord, StatusEvent, StatusListConfig, StatusListInfo, StatusListSnapshot, StoreError, StoredCredential,
};
use wallet_core::status::StatusPurpose;
use wallet_core::transparency::{leaf_hash, LogEntry};

/// Most connections one store (and its clones) opens.
const POOL_SIZE: usize = 16;
/// Connect timeout, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a free pooled connection.
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long checking a returned connection may take.
const POOL_RECYCLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Advisory lock held while migrating, so concurrently starting issuers migrate one at
/// a time. (The bytes of "issuerdb" as a big-endian integer.)
const MIGRATION_LOCK_ID: i64 = 0x6973_7375_6572_6462;
/// Advisory lock held by every status allocation, so allocations (and the creation of
/// new lists) happen one at a time. (The bytes of "statlist".)
const STATUS_ALLOCATION_LOCK_ID: i64 = 0x7374_6174_6c69_7374;
/// Advisory lock held (to commit) by every transparency-log append, so sequence numbers
/// are assigned one transaction at a time and stay gap-free. (The bytes of "tlogseq!".)
const LOG_APPEND_LOCK_ID: i64 = 0x746c_6f67_7365_7121;
/// How often `save_issued` retries when an idempotency key conflicts but the
/// conflicting record is gone by the time it is read.
const MAX_SAVE_ATTEMPTS: u32 = 3;

/// Formats a `TIMESTAMPTZ` column as fixed-width RFC 3339 UTC text with microseconds.
macro_rules! utc_text {
    ($column:literal) => {
        concat!("to_char(", $column, " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    };
}

const SELECT_CREDENTIAL: &str = concat!(
    "SELECT id, kind, issuer, ",
    utc_text!("issued_at"),
    ", ",
    utc_text!("valid_from"),
    ", ",
    utc_text!("valid_until"),
    ", credential_json, search_digest, ",
    utc_text!("stored_at"),
    " FROM credentials WHERE id = $1"
);

const SELECT_SUMMARIES: &str = concat!(
    "SELECT id, kind, issuer, ",
    utc_text!("issued_at"),
    ", ",
    utc_text!("valid_until"),
    " FROM credentials WHERE TRUE"
);

const SELECT_IDEMPOTENCY_RECORD: &str = "SELECT scope, idempotency_key, request_digest, \
     response_status, response_body, credential_id \
     FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2";

/// Claims an idempotency key. If another transaction holds an uncommitted row with the
/// same key, this waits for it; if that one commits, nothing is inserted (0 rows).
const CLAIM_IDEMPOTENCY_KEY: &str = "INSERT INTO idempotency_records \
         (scope, idempotency_key, request_digest, response_status, response_body, \
          credential_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz) \
     ON CONFLICT (scope, idempotency_key) DO NOTHING";

const INSERT_CREDENTIAL: &str = "INSERT INTO credentials \
         (id, kind, issuer, issued_at, valid_from, valid_until, credential_json, \
          search_digest, stored_at) \
     VALUES ($1, $2, $3, $4::text::timestamptz, $5::text::timestamptz, \
             $6::text::timestamptz, $7, $8, $9::text::timestamptz)";

/// A store in a PostgreSQL database. Clones share one connection pool.
#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: Pool,
    /// `host:port/dbname`, for diagnostics (never includes the password).
    target: Arc<str>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").field("target", &self.target).finish_non_exhaustive()
    }
}

/// Whether an idempotency key could be claimed.
enum SaveAttempt {
    Saved(Option<LogAppended>),
    KeyAlreadyUsed,
}

impl PgStore {
    /// Builds the pool, checks that a connection can be made, and runs pending migrations.
    pub(super) async fn connect(mut config: Config) -> Result<PgStore, StoreError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target: Arc<str> = describe_target(&config).into();
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .recycle_timeout(Some(POOL_RECYCLE_TIMEOUT))
            .build()?;
        let mut client = pool.get().await?;
        migrate(&mut client, migrations::POSTGRES).await?;
        drop(client);
        debug!(target = %target, "connected to PostgreSQL store");
        Ok(PgStore { pool, target })
    }

    pub(super) async fn save_issued(
        &self,
        credential: &NewCredential,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<SaveOutcome, StoreError> {
        Ok(self.save_issued_logged(credential, idempotency, None).await?.0)
    }

    pub(super) async fn save_issued_logged(
        &self,
        credential: &NewCredential,
        idempotency: Option<&IdempotencyRecord>,
        log_entry: Option<&LogEntry>,
    ) -> Result<(SaveOutcome, Option<LogAppended>), StoreError> {
        let mut client = self.pool.get().await?;
        let Some(record) = idempotency else {
            // Without an idempotency key there is nothing to conflict on.
            let appended = match try_save(&mut client, credential, None, log_entry).await? {
                SaveAttempt::Saved(appended) => appended,
                SaveAttempt::KeyAlreadyUsed => None,
            };
            debug!(credential_id = credential.id, backend = "postgres", "saved credential");
            return Ok((SaveOutcome::Saved, appended));
        };
        for _ in 0..MAX_SAVE_ATTEMPTS {
            match try_save(&mut client, credential, Some(record), log_entry).await? {
                SaveAttempt::Saved(appended) => {
                    debug!(
                        credential_id = credential.id,
                        scope = record.scope,
                        backend = "postgres",
                        "saved credential"
                    );
                    return Ok((SaveOutcome::Saved, appended));
                }
                SaveAttempt::KeyAlreadyUsed => {
                    // Our transaction is rolled back; the conflicting one has committed.
                    if let Some(existing) = select_idempotency_record(&client, &record.scope, &record.key).await? {
                        debug!(
                            scope = existing.scope,
                            existing_credential_id = existing.credential_id,
                            backend = "postgres",
                            "idempotency key already used; nothing saved"
                        );
                        return Ok((SaveOutcome::Replayed(existing), None));
                    }
                    // The conflicting record was deleted before we could read it: retry.
                }
            }
        }
        Err(StoreError::Corrupt(format!(
            "idempotency key in scope {:?} kept conflicting with a record that could not \
             be read ({MAX_SAVE_ATTEMPTS} attempts)",
            record.scope
        )))
    }

    pub(super) async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let client = self.pool.get().await?;
        select_idempotency_record(&client, scope, key).await
    }

    pub(super) async fn credential(&self, id: &str) -> Result<Option<StoredCredential>, StoreError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(SELECT_CREDENTIAL).await?;
        let Some(row) = client.query_opt(&statement, &[&id]).await? else {
            return Ok(None);
        };
        RawCredential {
            id: row.try_get(0)?,
            kind: row.try_get(1)?,
            issuer: row.try_get(2)?,
            issued_at: row.try_get(3)?,
            valid_from: row.try_get(4)?,
            valid_until: row.try_get(5)?,
            credential_json: row.try_get(6)?,
            search_digest: row.try_get(7)?,
            stored_at: row.try_get(8)?,
        }
        .decode()
        .map(Some)
    }

    pub(super) async fn list_credentials(&self, query: &CredentialQuery) -> Result<Vec<CredentialSummary>, StoreError> {
        let issued_from = query.issued_from.map(format_timestamp);
        let issued_until = query.issued_until.map(format_timestamp);
        let limit = i64::from(query.effective_limit());
        let offset = i64::from(query.offset);

        let mut sql = String::from(SELECT_SUMMARIES);
        let mut arguments: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(kind) = &query.kind {
            arguments.push(kind);
            sql.push_str(&format!(" AND kind = ${}", arguments.len()));
        }
        if let Some(from) = &issued_from {
            arguments.push(from);
            sql.push_str(&format!(" AND issued_at >= ${}::text::timestamptz", arguments.len()));
        }
        if let Some(until) = &issued_until {
            arguments.push(until);
            sql.push_str(&format!(" AND issued_at < ${}::text::timestamptz", arguments.len()));
        }
        arguments.push(&limit);
        arguments.push(&offset);
        sql.push_str(&format!(
            " ORDER BY issued_at DESC, id DESC LIMIT ${} OFFSET ${}",
            arguments.len() - 1,
            arguments.len()
        ));

        let client = self.pool.get().await?;
        let statement = client.prepare_cached(&sql).await?;
        let rows = client.query(&statement, &arguments).await?;
        rows.iter().map(decode_summary).collect()
    }

    pub(super) async fn count_credentials(&self, kind: Option<&str>) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let statement =
            client.prepare_cached("SELECT count(*) FROM credentials WHERE $1::text IS NULL OR kind = $1").await?;
        let count: i64 = client.query_one(&statement, &[&kind]).await?.try_get(0)?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("negative credential count {count}")))
    }
}

/// One transaction of [`PgStore::save_issued`]: claim the key (if any), then insert
/// the credential. Rolls back and reports [`SaveAttempt::KeyAlreadyUsed`] when the key
/// is taken.
async fn try_save(
    client: &mut deadpool_postgres::Client,
    credential: &NewCredential,
    idempotency: Option<&IdempotencyRecord>,
    log_entry: Option<&LogEntry>,
) -> Result<SaveAttempt, StoreError> {
    let stored_at = format_timestamp(Utc::now());
    // Dropping the transaction on an error path rolls it back.
    let transaction = client.transaction().await?;
    if let Some(record) = idempotency {
        let statement = transaction.prepare_cached(CLAIM_IDEMPOTENCY_KEY).await?;
        let claimed = transaction
            .execute(
                &statement,
                &[
                    &record.scope,
                    &record.key,
                    &record.request_digest,
                    &i32::from(record.response_status),
                    &record.response_body,
                    &record.credential_id,
                    &stored_at,
                ],
            )
            .await?;
        if claimed == 0 {
            transaction.rollback().await?;
            return Ok(SaveAttempt::KeyAlreadyUsed);
        }
    }
    let statement = transaction.prepare_cached(INSERT_CREDENTIAL).await?;
    transaction
        .execute(
            &statement,
            &[
                &credential.id,
                &credential.kind,
                &credential.issuer,
                &format_timestamp(credential.issued_at),
                &credential.valid_from.map(format_timestamp),
                &credential.valid_until.map(format_timestamp),
                &credential.credential_json,
                &credential.search_digest,
                &stored_at,
            ],
        )
        .await
        .map_err(|err| {
            if is_unique_violation(&err, "credentials_pkey") {
                StoreError::Duplicate(credential.id.clone())
            } else {
                StoreError::Postgres(err)
            }
        })?;
    let appended = match log_entry {
        Some(entry) => Some(append_log_entry(&transaction, entry, Some(&credential.id), &stored_at).await?),
        None => None,
    };
    // Deferred foreign keys (idempotency record → credential) are checked here.
    transaction.commit().await?;
    Ok(SaveAttempt::Saved(appended))
}

/// Applies pending `migrations` in one transaction under an advisory lock.
async fn migrate(client: &mut deadpool_postgres::Client, known: &[Migration]) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_ID]).await?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT NOT NULL PRIMARY KEY,
                 name       TEXT NOT NULL,
                 checksum   TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied = transaction
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?)))
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    for migration in migrations::pending(known, &applied)? {
        transaction.batch_execute(migration.sql).await.map_err(|err| {
            StoreError::Migration(format!("applying {} to PostgreSQL: {}", migration.name, describe_error(&err)))
        })?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &migration.checksum()],
            )
            .await?;
        info!(version = migration.version, name = migration.name, "applied PostgreSQL migration");
    }
    transaction.commit().await?;
    Ok(())
}

async fn select_idempotency_record(
    client: &tokio_postgres::Client,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let Some(row) = client.query_opt(SELECT_IDEMPOTENCY_RECORD, &[&scope, &key]).await? else {
        return Ok(None);
    };
    let scope: String = row.try_get(0)?;
    Ok(Some(IdempotencyRecord {
        response_status: response_status_from_db(row.try_get::<_, i32>(3)?.into(), &scope)?,
        key: row.try_get(1)?,
        request_digest: row.try_get(2)?,
        response_body: row.try_get(4)?,
        credential_id: row.try_get(5)?,
        scope,
    }))
}

fn decode_summary(row: &Row) -> Result<CredentialSummary, StoreError> {
    RawSummary {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        issuer: row.try_get(2)?,
        issued_at: row.try_get(3)?,
        valid_until: row.try_get(4)?,
    }
    .decode()
}

fn is_unique_violation(err: &tokio_postgres::Error, constraint: &str) -> bool {
    err.as_db_error().is_some_and(|db_error| {
        *db_error.code() == SqlState::UNIQUE_VIOLATION && db_error.constraint() == Some(constraint)
    })
}

/// `host:port/dbname` of the first configured host, without user or password.
fn describe_target(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or("(default)"))
}

/// A one-line description of a PostgreSQL error that includes the server's message.
/// (tokio-postgres's own `Display` says only "db error".) Details, which can quote
/// row values, are left out.
pub(super) fn describe_error(err: &tokio_postgres::Error) -> String {
    if let Some(db_error) = err.as_db_error() {
        return format!("{} {}: {}", db_error.severity(), db_error.code().code(), db_error.message());
    }
    match std::error::Error::source(err) {
        Some(source) => format!("{err}: {source}"),
        None => err.to_string(),
    }
}

/// Like [`describe_error`], for errors getting a connection from the pool.
pub(super) fn describe_pool_error(err: &PoolError) -> String {
    match err {
        PoolError::Backend(err) => describe_error(err),
        other => other.to_string(),
    }
}

// --- status lists -------------------------------------------------------------------

const SELECT_STATUS_LIST: &str = concat!(
    "SELECT list_id, purpose, size_bits, max_allocations, allocated, version, ",
    utc_text!("created_at"),
    " FROM status_lists"
);

const SELECT_STATUS_ENTRIES: &str = concat!(
    "SELECT purpose, list_id, status_index, is_set, ",
    utc_text!("allocated_at"),
    ", ",
    utc_text!("updated_at"),
    " FROM status_entries WHERE credential_id = $1 ORDER BY purpose"
);

impl PgStore {
    pub(super) async fn allocate_status(
        &self,
        credential_id: &str,
        purposes: &[StatusPurpose],
        config: &StatusListConfig,
    ) -> Result<Vec<StatusAllocation>, StoreError> {
        let mut client = self.pool.get().await?;
        let now = format_timestamp(Utc::now());
        let transaction = client.transaction().await?;
        // Serialises allocations: the existence check, the choice of list, list creation and
        // the random draw see every earlier allocation, from any process.
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&STATUS_ALLOCATION_LOCK_ID]).await?;
        let mut allocations = Vec::with_capacity(purposes.len());
        for &purpose in purposes {
            let purpose_text = purpose.as_str();
            let existing = transaction
                .query_opt(
                    "SELECT list_id, status_index FROM status_entries WHERE credential_id = $1 AND purpose = $2",
                    &[&credential_id, &purpose_text],
                )
                .await?;
            if let Some(row) = existing {
                let index = to_u64(row.try_get(1)?, "status index")?;
                allocations.push(StatusAllocation { purpose, list_id: row.try_get(0)?, index });
                continue;
            }
            let open = transaction
                .query_opt(
                    "SELECT list_id, size_bits FROM status_lists \
                     WHERE purpose = $1 AND allocated < max_allocations ORDER BY list_id LIMIT 1",
                    &[&purpose_text],
                )
                .await?;
            let (list_id, size_bits): (i64, i64) = match open {
                Some(row) => (row.try_get(0)?, row.try_get(1)?),
                None => {
                    let size_bits = to_i64(config.size_bits());
                    let row = transaction
                        .query_one(
                            "INSERT INTO status_lists \
                                 (list_id, purpose, size_bits, max_allocations, allocated, version, created_at) \
                             SELECT COALESCE(MAX(list_id), 0) + 1, $1, $2, $3, 0, 1, $4::text::timestamptz \
                             FROM status_lists RETURNING list_id",
                            &[&purpose_text, &size_bits, &to_i64(config.max_allocations()), &now],
                        )
                        .await?;
                    let list_id: i64 = row.try_get(0)?;
                    info!(list_id, purpose = purpose_text, size_bits, "started a new status list");
                    (list_id, size_bits)
                }
            };
            let size_bits = to_u64(size_bits, "status list size")?;
            let index = insert_free_entry(&transaction, list_id, size_bits, credential_id, purpose_text, &now).await?;
            transaction
                .execute("UPDATE status_lists SET allocated = allocated + 1 WHERE list_id = $1", &[&list_id])
                .await?;
            allocations.push(StatusAllocation { purpose, list_id, index });
        }
        transaction.commit().await?;
        debug!(credential_id, backend = "postgres", "allocated status entries");
        Ok(allocations)
    }

    pub(super) async fn credential_status(
        &self,
        credential_id: &str,
    ) -> Result<Option<CredentialStatusRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(SELECT_STATUS_ENTRIES, &[&credential_id]).await?;
        let entries = rows.iter().map(decode_status_entry).collect::<Result<Vec<_>, _>>()?;
        Ok((!entries.is_empty()).then(|| CredentialStatusRecord { credential_id: credential_id.to_owned(), entries }))
    }

    pub(super) async fn change_status(&self, change: &StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let known = transaction.query_opt("SELECT 1 FROM credentials WHERE id = $1", &[&change.credential_id]).await?;
        if known.is_none() {
            return Ok(StatusChangeOutcome::UnknownCredential);
        }
        // Locks the credential's entries: concurrent changes to one credential queue here.
        let rows = transaction.query(&format!("{SELECT_STATUS_ENTRIES} FOR UPDATE"), &[&change.credential_id]).await?;
        let entries = rows.iter().map(decode_status_entry).collect::<Result<Vec<_>, _>>()?;
        let previous = state_of(entries.iter().map(|e| (e.purpose, e.is_set)));
        let current = match change.action.apply(previous) {
            Transition::Unchanged if entries.is_empty() => return Ok(StatusChangeOutcome::NoStatusEntry),
            Transition::Unchanged => return Ok(StatusChangeOutcome::Unchanged(previous)),
            Transition::AlreadyRevoked => return Ok(StatusChangeOutcome::AlreadyRevoked),
            Transition::Suspended => return Ok(StatusChangeOutcome::Suspended),
            Transition::AlreadyUsed => {
                let events = select_status_events(&transaction, &change.credential_id).await?;
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
        transaction
            .execute(
                "UPDATE status_entries SET is_set = $1, updated_at = $2::text::timestamptz \
                 WHERE list_id = $3 AND status_index = $4",
                &[&bit, &at, &entry.list_id, &to_i64(entry.index)],
            )
            .await?;
        transaction
            .execute("UPDATE status_lists SET version = version + 1 WHERE list_id = $1", &[&entry.list_id])
            .await?;
        let event_id: i64 = transaction
            .query_one(
                "INSERT INTO status_events \
                     (credential_id, action, previous_state, new_state, reason, actor, occurred_at, place) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz, $8) RETURNING event_id",
                &[
                    &change.credential_id,
                    &change.action.as_str(),
                    &previous.as_str(),
                    &current.as_str(),
                    &change.reason,
                    &change.actor,
                    &at,
                    &change.place,
                ],
            )
            .await?
            .try_get(0)?;
        append_status_log_entry(&transaction, change, purpose, bit, &at).await?;
        transaction.commit().await?;
        let outcome = StatusChangeOutcome::Changed { previous, current, event_id, list_id: entry.list_id };
        debug!(?outcome, backend = "postgres", "status change");
        Ok(outcome)
    }

    pub(super) async fn status_events(&self, credential_id: &str) -> Result<Vec<StatusEvent>, StoreError> {
        let client = self.pool.get().await?;
        select_status_events(&client, credential_id).await
    }

    pub(super) async fn status_lists(&self) -> Result<Vec<StatusListInfo>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(&format!("{SELECT_STATUS_LIST} ORDER BY list_id"), &[]).await?;
        rows.iter().map(decode_status_list).collect()
    }

    pub(super) async fn status_list_snapshot(&self, list_id: i64) -> Result<Option<StatusListSnapshot>, StoreError> {
        let mut client = self.pool.get().await?;
        // One snapshot: the bits belong to the version read with them.
        let transaction = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(row) = transaction.query_opt(&format!("{SELECT_STATUS_LIST} WHERE list_id = $1"), &[&list_id]).await?
        else {
            return Ok(None);
        };
        let list = decode_status_list(&row)?;
        let set_indexes = transaction
            .query(
                "SELECT status_index FROM status_entries WHERE list_id = $1 AND is_set ORDER BY status_index",
                &[&list_id],
            )
            .await?
            .iter()
            .map(|row| to_u64(row.try_get(0)?, "status index"))
            .collect::<Result<Vec<_>, _>>()?;
        transaction.commit().await?;
        Ok(Some(StatusListSnapshot { list, set_indexes }))
    }

    pub(super) async fn status_list_publication(
        &self,
        list_id: i64,
    ) -> Result<Option<(StatusListInfo, Option<PublishedStatusList>)>, StoreError> {
        let mut client = self.pool.get().await?;
        let transaction = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(row) = transaction.query_opt(&format!("{SELECT_STATUS_LIST} WHERE list_id = $1"), &[&list_id]).await?
        else {
            return Ok(None);
        };
        let list = decode_status_list(&row)?;
        let publication = transaction
            .query_opt(
                concat!(
                    "SELECT version, issuer, list_url, credential_json, etag, ",
                    utc_text!("valid_until"),
                    ", ",
                    utc_text!("published_at"),
                    " FROM status_list_publications WHERE list_id = $1"
                ),
                &[&list_id],
            )
            .await?;
        transaction.commit().await?;
        let publication = publication
            .map(|row| {
                let valid_until: String = row.try_get(5)?;
                let published_at: String = row.try_get(6)?;
                Ok::<_, StoreError>(PublishedStatusList {
                    list_id,
                    version: row.try_get(0)?,
                    issuer: row.try_get(1)?,
                    list_url: row.try_get(2)?,
                    credential_json: row.try_get(3)?,
                    etag: row.try_get(4)?,
                    valid_until: parse_timestamp(&valid_until, || format!("valid_until of list {list_id}"))?,
                    published_at: parse_timestamp(&published_at, || format!("published_at of list {list_id}"))?,
                })
            })
            .transpose()?;
        Ok(Some((list, publication)))
    }

    pub(super) async fn save_status_list_publication(
        &self,
        publication: &PublishedStatusList,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let p = publication;
        let stored = client
            .execute(
                "INSERT INTO status_list_publications \
                     (list_id, version, issuer, list_url, credential_json, etag, valid_until, published_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz, $8::text::timestamptz) \
                 ON CONFLICT (list_id) DO UPDATE SET \
                     version = excluded.version, issuer = excluded.issuer, list_url = excluded.list_url, \
                     credential_json = excluded.credential_json, etag = excluded.etag, \
                     valid_until = excluded.valid_until, published_at = excluded.published_at \
                 WHERE excluded.version >= status_list_publications.version \
                   AND excluded.published_at >= status_list_publications.published_at",
                &[
                    &p.list_id,
                    &p.version,
                    &p.issuer,
                    &p.list_url,
                    &p.credential_json,
                    &p.etag,
                    &format_timestamp(p.valid_until),
                    &format_timestamp(p.published_at),
                ],
            )
            .await?;
        Ok(stored == 1)
    }
}

/// Inserts the entry at a random free index (the caller holds the allocation lock).
async fn insert_free_entry(
    transaction: &deadpool_postgres::Transaction<'_>,
    list_id: i64,
    size_bits: u64,
    credential_id: &str,
    purpose: &str,
    now: &str,
) -> Result<u64, StoreError> {
    let insert = transaction
        .prepare_cached(
            "INSERT INTO status_entries (list_id, status_index, credential_id, purpose, is_set, allocated_at) \
             VALUES ($1, $2, $3, $4, FALSE, $5::text::timestamptz) \
             ON CONFLICT (list_id, status_index) DO NOTHING",
        )
        .await?;
    for _ in 0..RANDOM_ATTEMPTS {
        let index = random_index(size_bits);
        if transaction.execute(&insert, &[&list_id, &to_i64(index), &credential_id, &purpose, &now]).await? == 1 {
            return Ok(index);
        }
    }
    // A crowded list: draw exactly among the free indexes.
    let used = transaction
        .query("SELECT status_index FROM status_entries WHERE list_id = $1", &[&list_id])
        .await?
        .iter()
        .map(|row| to_u64(row.try_get(0)?, "status index"))
        .collect::<Result<Vec<_>, _>>()?;
    let index = random_free_index(size_bits, used)
        .ok_or_else(|| StoreError::Corrupt(format!("status list {list_id} has no free index left")))?;
    if transaction.execute(&insert, &[&list_id, &to_i64(index), &credential_id, &purpose, &now]).await? != 1 {
        return Err(StoreError::Corrupt(format!("status list {list_id}: index drawn as free was taken")));
    }
    Ok(index)
}

fn decode_status_entry(row: &Row) -> Result<StatusEntryRecord, StoreError> {
    let purpose: String = row.try_get(0)?;
    let list_id: i64 = row.try_get(1)?;
    let index: i64 = row.try_get(2)?;
    let allocated_at: String = row.try_get(4)?;
    let updated_at: Option<String> = row.try_get(5)?;
    Ok(StatusEntryRecord {
        purpose: parse_purpose(&purpose)?,
        list_id,
        index: to_u64(index, "status index")?,
        is_set: row.try_get(3)?,
        allocated_at: parse_timestamp(&allocated_at, || format!("allocated_at of {list_id}/{index}"))?,
        updated_at: parse_optional_timestamp(updated_at.as_deref(), || format!("updated_at of {list_id}/{index}"))?,
    })
}

fn decode_status_list(row: &Row) -> Result<StatusListInfo, StoreError> {
    let list_id: i64 = row.try_get(0)?;
    let purpose: String = row.try_get(1)?;
    let created_at: String = row.try_get(6)?;
    Ok(StatusListInfo {
        list_id,
        purpose: parse_purpose(&purpose)?,
        size_bits: to_u64(row.try_get(2)?, "status list size")?,
        max_allocations: to_u64(row.try_get(3)?, "status list allocation limit")?,
        allocated: to_u64(row.try_get(4)?, "status list allocations")?,
        version: row.try_get(5)?,
        created_at: parse_timestamp(&created_at, || format!("created_at of status list {list_id}"))?,
    })
}

// --- transparency log ----------------------------------------------------------------

/// Appends `entry` at `MAX(seq) + 1` under the log advisory lock (held to commit; taken
/// last in every transaction, so it cannot be part of a lock cycle).
async fn append_log_entry(
    transaction: &deadpool_postgres::Transaction<'_>,
    entry: &LogEntry,
    credential_id: Option<&str>,
    now: &str,
) -> Result<LogAppended, StoreError> {
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_APPEND_LOCK_ID]).await?;
    // READ COMMITTED: this statement's snapshot is taken after the lock was granted,
    // so it sees every append committed before.
    let seq: i64 =
        transaction.query_one("SELECT COALESCE(MAX(seq) + 1, 0)::bigint FROM log_entries", &[]).await?.try_get(0)?;
    let bytes = entry.encode();
    let leaf = leaf_hash(&bytes);
    transaction
        .execute(
            "INSERT INTO log_entries (seq, entry, leaf_hash, credential_id, created_at) \
             VALUES ($1, $2, $3, $4, $5::text::timestamptz)",
            &[&seq, &bytes, &leaf.as_slice(), &credential_id, &now],
        )
        .await?;
    Ok(LogAppended { seq: seq_from_db(seq)?, leaf_hash: leaf })
}

/// The audit trail of `credential_id`, oldest first.
async fn select_status_events(
    client: &impl deadpool_postgres::GenericClient,
    credential_id: &str,
) -> Result<Vec<StatusEvent>, StoreError> {
    let rows = client
        .query(
            concat!(
                "SELECT event_id, credential_id, action, previous_state, new_state, reason, actor, ",
                utc_text!("occurred_at"),
                ", place FROM status_events WHERE credential_id = $1 ORDER BY event_id"
            ),
            &[&credential_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let event_id: i64 = row.try_get(0)?;
            let action: String = row.try_get(2)?;
            let occurred_at: String = row.try_get(7)?;
            Ok(StatusEvent {
                event_id,
                credential_id: row.try_get(1)?,
                action: StatusAction::parse(&action)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown status action {action:?}")))?,
                previous_state: CredentialState::parse(row.try_get(3)?)?,
                new_state: CredentialState::parse(row.try_get(4)?)?,
                reason: row.try_get(5)?,
                actor: row.try_get(6)?,
                place: row.try_get(8)?,
                occurred_at: parse_timestamp(&occurred_at, || format!("occurred_at of event {event_id}"))?,
            })
        })
        .collect()
}

/// Appends the `StatusChanged` entry of a status change (see [`super::transparency`]).
async fn append_status_log_entry(
    transaction: &deadpool_postgres::Transaction<'_>,
    change: &StatusChange,
    purpose: StatusPurpose,
    bit: bool,
    now: &str,
) -> Result<Option<LogAppended>, StoreError> {
    let issued = transaction
        .query_opt(
            "SELECT entry FROM log_entries WHERE credential_id = $1 ORDER BY seq LIMIT 1",
            &[&change.credential_id],
        )
        .await?
        .map(|row| row.try_get::<_, Vec<u8>>(0))
        .transpose()?;
    match issued.as_deref().and_then(|issued| status_entry(issued, purpose, bit, change.at)) {
        Some(entry) => append_log_entry(transaction, &entry, Some(&change.credential_id), now).await.map(Some),
        None => {
            tracing::warn!(
                credential_id = change.credential_id,
                "credential has no Issued log entry; status change not logged"
            );
            Ok(None)
        }
    }
}

const SELECT_LOG_RECORD: &str =
    concat!("SELECT seq, entry, leaf_hash, credential_id, ", utc_text!("created_at"), " FROM log_entries");

fn decode_log_record(row: &Row) -> Result<LogRecord, StoreError> {
    let seq: i64 = row.try_get(0)?;
    let created_at: String = row.try_get(4)?;
    Ok(LogRecord {
        seq: seq_from_db(seq)?,
        entry: row.try_get(1)?,
        leaf_hash: row.try_get(2)?,
        credential_id: row.try_get(3)?,
        created_at: parse_timestamp(&created_at, || format!("created_at of log entry {seq}"))?,
    })
}

impl PgStore {
    pub(super) async fn append_log_entries(
        &self,
        entries: &[(LogEntry, Option<String>)],
    ) -> Result<Vec<LogAppended>, StoreError> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_APPEND_LOCK_ID]).await?;
        let first: i64 = transaction
            .query_one("SELECT COALESCE(MAX(seq) + 1, 0)::bigint FROM log_entries", &[])
            .await?
            .try_get(0)?;
        let mut seqs = Vec::with_capacity(entries.len());
        let mut bytes = Vec::with_capacity(entries.len());
        let mut leaves = Vec::with_capacity(entries.len());
        let mut subjects: Vec<Option<&str>> = Vec::with_capacity(entries.len());
        for (offset, (entry, subject)) in entries.iter().enumerate() {
            seqs.push(first + i64::try_from(offset).unwrap_or(i64::MAX));
            let encoded = entry.encode();
            leaves.push(leaf_hash(&encoded));
            bytes.push(encoded);
            subjects.push(subject.as_deref());
        }
        let leaf_bytes: Vec<&[u8]> = leaves.iter().map(|l| l.as_slice()).collect();
        // One statement for the whole batch: arrays unnested server-side.
        transaction
            .execute(
                "INSERT INTO log_entries (seq, entry, leaf_hash, credential_id, created_at) \
                 SELECT seq, entry, leaf_hash, subject, now() \
                 FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[], $4::text[]) AS batch(seq, entry, leaf_hash, subject)",
                &[&seqs, &bytes, &leaf_bytes, &subjects],
            )
            .await?;
        transaction.commit().await?;
        seqs.iter().zip(leaves).map(|(seq, leaf_hash)| Ok(LogAppended { seq: seq_from_db(*seq)?, leaf_hash })).collect()
    }

    pub(super) async fn log_size(&self) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let size: i64 =
            client.query_one("SELECT COALESCE(MAX(seq) + 1, 0)::bigint FROM log_entries", &[]).await?.try_get(0)?;
        seq_from_db(size)
    }

    pub(super) async fn log_entries(&self, start: u64, limit: Option<u64>) -> Result<Vec<LogRecord>, StoreError> {
        let limit: Option<i64> = limit.map(|limit| seq_to_db(limit.min(super::MAX_LOG_PAGE)));
        let client = self.pool.get().await?;
        let rows = client
            .query(&format!("{SELECT_LOG_RECORD} WHERE seq >= $1 ORDER BY seq LIMIT $2"), &[&seq_to_db(start), &limit])
            .await?;
        rows.iter().map(decode_log_record).collect()
    }

    pub(super) async fn first_log_entry_for(&self, credential_id: &str) -> Result<Option<LogRecord>, StoreError> {
        let client = self.pool.get().await?;
        client
            .query_opt(&format!("{SELECT_LOG_RECORD} WHERE credential_id = $1 ORDER BY seq LIMIT 1"), &[&credential_id])
            .await?
            .as_ref()
            .map(decode_log_record)
            .transpose()
    }

    pub(super) async fn save_log_checkpoint(
        &self,
        size: u64,
        root: &[u8],
        note_text: &str,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let stored = client
            .execute(
                "INSERT INTO log_checkpoints (size, root, note_text, created_at) \
                 VALUES ($1, $2, $3, $4::text::timestamptz) ON CONFLICT (size) DO NOTHING",
                &[&seq_to_db(size), &root, &note_text, &format_timestamp(Utc::now())],
            )
            .await?;
        Ok(stored == 1)
    }

    pub(super) async fn log_checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError> {
        let size = size.map(seq_to_db);
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                concat!(
                    "SELECT size, root, note_text, ",
                    utc_text!("created_at"),
                    " FROM log_checkpoints WHERE $1::bigint IS NULL OR size = $1 ORDER BY size DESC LIMIT 1"
                ),
                &[&size],
            )
            .await?;
        row.map(|row| {
            let size: i64 = row.try_get(0)?;
            let root: Vec<u8> = row.try_get(1)?;
            hash_from_db(&root, size)?;
            let created_at: String = row.try_get(3)?;
            Ok(StoredCheckpoint {
                size: seq_from_db(size)?,
                root,
                note_text: row.try_get(2)?,
                created_at: parse_timestamp(&created_at, || format!("created_at of checkpoint {size}"))?,
            })
        })
        .transpose()
    }

    pub(super) async fn enqueue_anchor(&self, anchor: &super::AnchorRecord) -> Result<bool, StoreError> {
        use super::anchors::u64_to_db;
        let client = self.pool.get().await?;
        let stored = client
            .execute(
                "INSERT INTO anchors (tree_size, root, note_digest, state, tx_hash, attempts, last_error, \
                 next_attempt_at, block_number, block_time, chain_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (tree_size) DO NOTHING",
                &[
                    &u64_to_db(anchor.tree_size),
                    &anchor.root,
                    &anchor.note_digest,
                    &anchor.state.as_str(),
                    &anchor.tx_hash,
                    &u64_to_db(anchor.attempts),
                    &anchor.last_error,
                    &anchor.next_attempt_at,
                    &anchor.block_number.map(u64_to_db),
                    &anchor.block_time,
                    &anchor.chain_id.map(u64_to_db),
                    &anchor.updated_at,
                ],
            )
            .await?;
        Ok(stored == 1)
    }

    pub(super) async fn anchors(&self) -> Result<Vec<super::AnchorRecord>, StoreError> {
        use super::anchors::u64_from_db;
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT tree_size, root, note_digest, state, tx_hash, attempts, last_error, next_attempt_at, \
                 block_number, block_time, chain_id, updated_at FROM anchors ORDER BY tree_size",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get(3)?;
                Ok(super::AnchorRecord {
                    tree_size: u64_from_db(row.try_get(0)?, "anchor size")?,
                    root: row.try_get(1)?,
                    note_digest: row.try_get(2)?,
                    state: super::AnchorState::parse(&state)?,
                    tx_hash: row.try_get(4)?,
                    attempts: u64_from_db(row.try_get(5)?, "anchor attempts")?,
                    last_error: row.try_get(6)?,
                    next_attempt_at: row.try_get(7)?,
                    block_number: row
                        .try_get::<_, Option<i64>>(8)?
                        .map(|b| u64_from_db(b, "block number"))
                        .transpose()?,
                    block_time: row.try_get(9)?,
                    chain_id: row.try_get::<_, Option<i64>>(10)?.map(|c| u64_from_db(c, "chain id")).transpose()?,
                    updated_at: row.try_get(11)?,
                })
            })
            .collect()
    }

    pub(super) async fn update_anchor(&self, anchor: &super::AnchorRecord) -> Result<bool, StoreError> {
        use super::anchors::u64_to_db;
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE anchors SET state = $2, tx_hash = $3, attempts = $4, last_error = $5, next_attempt_at = $6, \
                 block_number = $7, block_time = $8, chain_id = $9, updated_at = $10 \
                 WHERE tree_size = $1 AND state <> 'confirmed'",
                &[
                    &u64_to_db(anchor.tree_size),
                    &anchor.state.as_str(),
                    &anchor.tx_hash,
                    &u64_to_db(anchor.attempts),
                    &anchor.last_error,
                    &anchor.next_attempt_at,
                    &anchor.block_number.map(u64_to_db),
                    &anchor.block_time,
                    &anchor.chain_id.map(u64_to_db),
                    &anchor.updated_at,
                ],
            )
            .await?;
        Ok(changed == 1)
    }
}
