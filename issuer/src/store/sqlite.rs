//! SQLite backend: one connection behind a mutex, used from `spawn_blocking`.
//!
//! The database runs in WAL mode with `busy_timeout = 5000` ms and foreign keys on.
//! Every rusqlite call happens on tokio's blocking pool, so the async API never
//! blocks a runtime worker. Writes take SQLite's write lock up front
//! (`BEGIN IMMEDIATE`), so the idempotency check and insert are atomic even when
//! several processes share the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use rusqlite::types::Value;
use rusqlite::{ffi, params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use tracing::{debug, info, warn};

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

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// A store in a local SQLite database file. Clones share one connection.
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.shared.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating the file and its parent directories if needed) and migrates the
    /// database at `path`.
    pub(super) async fn open(path: PathBuf) -> Result<SqliteStore, StoreError> {
        let shared = tokio::task::spawn_blocking(move || open_and_migrate(path)).await??;
        debug!(path = %shared.path.display(), "opened SQLite store");
        Ok(SqliteStore { shared: Arc::new(shared) })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Runs `operation` with the connection on the blocking thread pool.
    pub(super) async fn with_connection<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot have left a half-done write: an
            // open rusqlite transaction rolls back when dropped during unwinding. So
            // the connection is still consistent and poisoning can be ignored.
            let mut connection = shared.connection.lock().unwrap_or_else(PoisonError::into_inner);
            operation(&mut connection)
        })
        .await?
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
        let credential = credential.clone();
        let idempotency = idempotency.cloned();
        let log_entry = log_entry.cloned();
        let credential_id = credential.id.clone();
        let (outcome, appended) = self
            .with_connection(move |connection| {
                save_in_transaction(connection, &credential, idempotency.as_ref(), log_entry.as_ref())
            })
            .await?;
        match &outcome {
            SaveOutcome::Saved => debug!(credential_id, backend = "sqlite", "saved credential"),
            SaveOutcome::Replayed(existing) => debug!(
                scope = existing.scope,
                existing_credential_id = existing.credential_id,
                backend = "sqlite",
                "idempotency key already used; nothing saved"
            ),
        }
        Ok((outcome, appended))
    }

    pub(super) async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.with_connection(move |connection| select_idempotency_record(connection, &scope, &key)).await
    }

    pub(super) async fn credential(&self, id: &str) -> Result<Option<StoredCredential>, StoreError> {
        let id = id.to_owned();
        self.with_connection(move |connection| {
            let row = connection
                .query_row(
                    "SELECT id, kind, issuer, issued_at, valid_from, valid_until, \
                            credential_json, search_digest, stored_at \
                     FROM credentials WHERE id = ?1",
                    [&id],
                    |row| {
                        Ok(RawCredential {
                            id: row.get(0)?,
                            kind: row.get(1)?,
                            issuer: row.get(2)?,
                            issued_at: row.get(3)?,
                            valid_from: row.get(4)?,
                            valid_until: row.get(5)?,
                            credential_json: row.get(6)?,
                            search_digest: row.get(7)?,
                            stored_at: row.get(8)?,
                        })
                    },
                )
                .optional()?;
            row.map(RawCredential::decode).transpose()
        })
        .await
    }

    pub(super) async fn list_credentials(&self, query: &CredentialQuery) -> Result<Vec<CredentialSummary>, StoreError> {
        let mut sql = String::from("SELECT id, kind, issuer, issued_at, valid_until FROM credentials WHERE 1 = 1");
        let mut arguments: Vec<Value> = Vec::new();
        if let Some(kind) = &query.kind {
            arguments.push(Value::Text(kind.clone()));
            sql.push_str(&format!(" AND kind = ?{}", arguments.len()));
        }
        // Stored timestamps are fixed-width UTC text, so text comparison is time comparison.
        if let Some(from) = query.issued_from {
            arguments.push(Value::Text(format_timestamp(from)));
            sql.push_str(&format!(" AND issued_at >= ?{}", arguments.len()));
        }
        if let Some(until) = query.issued_until {
            arguments.push(Value::Text(format_timestamp(until)));
            sql.push_str(&format!(" AND issued_at < ?{}", arguments.len()));
        }
        arguments.push(Value::Integer(query.effective_limit().into()));
        arguments.push(Value::Integer(query.offset.into()));
        sql.push_str(&format!(
            " ORDER BY issued_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
            arguments.len() - 1,
            arguments.len()
        ));

        self.with_connection(move |connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement
                .query_map(params_from_iter(arguments), |row| {
                    Ok(RawSummary {
                        id: row.get(0)?,
                        kind: row.get(1)?,
                        issuer: row.get(2)?,
                        issued_at: row.get(3)?,
                        valid_until: row.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawSummary::decode).collect()
        })
        .await
    }

    pub(super) async fn count_credentials(&self, kind: Option<&str>) -> Result<u64, StoreError> {
        let kind = kind.map(str::to_owned);
        self.with_connection(move |connection| {
            let count: i64 = connection.query_row(
                "SELECT count(*) FROM credentials WHERE ?1 IS NULL OR kind = ?1",
                [&kind],
                |row| row.get(0),
            )?;
            u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("negative credential count {count}")))
        })
        .await
    }
}

/// Opens the file, applies connection settings, and runs pending migrations.
fn open_and_migrate(path: PathBuf) -> Result<Shared, StoreError> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Io { path: parent.to_path_buf(), source })?;
    }
    let mut connection = Connection::open(&path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let journal_mode: String = connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        warn!(path = %path.display(), journal_mode, "SQLite refused WAL journal mode");
    }
    // Safe with WAL: a power loss may drop the last commits but never corrupts the file.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    // Foreign keys are enforced only after migrating: a migration that rebuilds a
    // table (SQLite cannot alter a CHECK constraint) drops and renames parents, which
    // the enforcement would refuse. `migrate` checks every key before committing.
    connection.pragma_update(None, "foreign_keys", false)?;
    migrate(&mut connection, migrations::SQLITE)?;
    connection.pragma_update(None, "foreign_keys", true)?;
    Ok(Shared { path, connection: Mutex::new(connection) })
}

/// Applies pending `migrations` in one `BEGIN IMMEDIATE` transaction.
fn migrate(connection: &mut Connection, known: &[Migration]) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER NOT NULL PRIMARY KEY,
             name       TEXT NOT NULL,
             checksum   TEXT NOT NULL,
             applied_at TEXT NOT NULL
         ) STRICT",
    )?;
    let applied = transaction
        .prepare("SELECT version, checksum FROM schema_migrations")?
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    for migration in migrations::pending(known, &applied)? {
        transaction
            .execute_batch(migration.sql)
            .map_err(|err| StoreError::Migration(format!("applying {} to SQLite: {err}", migration.name)))?;
        transaction.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![migration.version, migration.name, migration.checksum(), format_timestamp(Utc::now())],
        )?;
        info!(version = migration.version, name = migration.name, "applied SQLite migration");
    }
    let broken: i64 = transaction.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| row.get(0))?;
    if broken != 0 {
        return Err(StoreError::Migration(format!("{broken} rows break a foreign key after migrating; rolled back")));
    }
    transaction.commit()?;
    Ok(())
}

/// The body of [`SqliteStore::save_issued`], run on the blocking pool.
fn save_in_transaction(
    connection: &mut Connection,
    credential: &NewCredential,
    idempotency: Option<&IdempotencyRecord>,
    log_entry: Option<&LogEntry>,
) -> Result<(SaveOutcome, Option<LogAppended>), StoreError> {
    // IMMEDIATE takes the write lock now, so nobody can insert the same idempotency key
    // between our check and our insert. Dropping the transaction rolls it back.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored_at = format_timestamp(Utc::now());
    if let Some(record) = idempotency {
        if let Some(existing) = select_idempotency_record(&transaction, &record.scope, &record.key)? {
            return Ok((SaveOutcome::Replayed(existing), None));
        }
        transaction.execute(
            "INSERT INTO idempotency_records \
                 (scope, idempotency_key, request_digest, response_status, response_body, \
                  credential_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.scope,
                record.key,
                record.request_digest,
                record.response_status,
                record.response_body,
                record.credential_id,
                stored_at,
            ],
        )?;
    }
    transaction
        .execute(
            "INSERT INTO credentials \
                 (id, kind, issuer, issued_at, valid_from, valid_until, credential_json, \
                  search_digest, stored_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                credential.id,
                credential.kind,
                credential.issuer,
                format_timestamp(credential.issued_at),
                credential.valid_from.map(format_timestamp),
                credential.valid_until.map(format_timestamp),
                credential.credential_json,
                credential.search_digest,
                stored_at,
            ],
        )
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::Duplicate(credential.id.clone())
            } else {
                StoreError::Sqlite(err)
            }
        })?;
    let appended =
        log_entry.map(|entry| append_log_entry(&transaction, entry, Some(&credential.id), &stored_at)).transpose()?;
    // Deferred foreign keys (idempotency record → credential) are checked here.
    transaction.commit()?;
    Ok((SaveOutcome::Saved, appended))
}

fn select_idempotency_record(
    connection: &Connection,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = connection
        .prepare_cached(
            "SELECT scope, idempotency_key, request_digest, response_status, response_body, \
                    credential_id \
             FROM idempotency_records WHERE scope = ?1 AND idempotency_key = ?2",
        )?
        .query_row([scope, key], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()?;
    row.map(|(scope, key, request_digest, status, response_body, credential_id)| {
        Ok(IdempotencyRecord {
            response_status: response_status_from_db(status, &scope)?,
            scope,
            key,
            request_digest,
            response_body,
            credential_id,
        })
    })
    .transpose()
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE
                )
    )
}

// --- status lists -------------------------------------------------------------------

const SELECT_STATUS_LIST: &str = "SELECT list_id, purpose, size_bits, max_allocations, allocated, version, \
     created_at FROM status_lists";

const SELECT_STATUS_ENTRIES: &str = "SELECT purpose, list_id, status_index, is_set, allocated_at, updated_at \
     FROM status_entries WHERE credential_id = ?1 ORDER BY purpose";

impl SqliteStore {
    pub(super) async fn allocate_status(
        &self,
        credential_id: &str,
        purposes: &[StatusPurpose],
        config: &StatusListConfig,
    ) -> Result<Vec<StatusAllocation>, StoreError> {
        let (credential_id, purposes, config) = (credential_id.to_owned(), purposes.to_vec(), *config);
        self.with_connection(move |connection| allocate_in_transaction(connection, &credential_id, &purposes, &config))
            .await
    }

    pub(super) async fn credential_status(
        &self,
        credential_id: &str,
    ) -> Result<Option<CredentialStatusRecord>, StoreError> {
        let credential_id = credential_id.to_owned();
        self.with_connection(move |connection| {
            let entries = select_status_entries(connection, &credential_id)?;
            Ok((!entries.is_empty()).then_some(CredentialStatusRecord { credential_id, entries }))
        })
        .await
    }

    pub(super) async fn change_status(&self, change: &StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let change = change.clone();
        let outcome = self.with_connection(move |connection| change_in_transaction(connection, &change)).await?;
        debug!(?outcome, backend = "sqlite", "status change");
        Ok(outcome)
    }

    pub(super) async fn status_events(&self, credential_id: &str) -> Result<Vec<StatusEvent>, StoreError> {
        let credential_id = credential_id.to_owned();
        self.with_connection(move |connection| select_status_events(connection, &credential_id)).await
    }

    pub(super) async fn status_lists(&self) -> Result<Vec<StatusListInfo>, StoreError> {
        self.with_connection(|connection| {
            let rows = connection
                .prepare_cached(&format!("{SELECT_STATUS_LIST} ORDER BY list_id"))?
                .query_map([], raw_status_list)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawStatusList::decode).collect()
        })
        .await
    }

    pub(super) async fn status_list_snapshot(&self, list_id: i64) -> Result<Option<StatusListSnapshot>, StoreError> {
        self.with_connection(move |connection| {
            // One read transaction: the bits and the version come from the same snapshot.
            let transaction = connection.transaction()?;
            let Some(list) = select_status_list(&transaction, list_id)? else {
                return Ok(None);
            };
            let set_indexes = transaction
                .prepare_cached(
                    "SELECT status_index FROM status_entries WHERE list_id = ?1 AND is_set = 1 \
                     ORDER BY status_index",
                )?
                .query_map([list_id], |row| row.get::<_, i64>(0))?
                .map(|index| to_u64(index?, "status index"))
                .collect::<Result<Vec<_>, _>>()?;
            transaction.commit()?;
            Ok(Some(StatusListSnapshot { list, set_indexes }))
        })
        .await
    }

    pub(super) async fn status_list_publication(
        &self,
        list_id: i64,
    ) -> Result<Option<(StatusListInfo, Option<PublishedStatusList>)>, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection.transaction()?;
            let Some(list) = select_status_list(&transaction, list_id)? else {
                return Ok(None);
            };
            let row = transaction
                .prepare_cached(
                    "SELECT version, issuer, list_url, credential_json, etag, valid_until, published_at \
                     FROM status_list_publications WHERE list_id = ?1",
                )?
                .query_row([list_id], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, String>(6)?,
                    ))
                })
                .optional()?;
            transaction.commit()?;
            let publication = row
                .map(|(version, issuer, list_url, credential_json, etag, valid_until, published_at)| {
                    Ok::<_, StoreError>(PublishedStatusList {
                        list_id,
                        version,
                        issuer,
                        list_url,
                        credential_json,
                        etag,
                        valid_until: parse_timestamp(&valid_until, || format!("valid_until of list {list_id}"))?,
                        published_at: parse_timestamp(&published_at, || format!("published_at of list {list_id}"))?,
                    })
                })
                .transpose()?;
            Ok(Some((list, publication)))
        })
        .await
    }

    pub(super) async fn save_status_list_publication(
        &self,
        publication: &PublishedStatusList,
    ) -> Result<bool, StoreError> {
        let p = publication.clone();
        self.with_connection(move |connection| {
            let stored = connection.execute(
                "INSERT INTO status_list_publications \
                     (list_id, version, issuer, list_url, credential_json, etag, valid_until, published_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (list_id) DO UPDATE SET \
                     version = excluded.version, issuer = excluded.issuer, list_url = excluded.list_url, \
                     credential_json = excluded.credential_json, etag = excluded.etag, \
                     valid_until = excluded.valid_until, published_at = excluded.published_at \
                 WHERE excluded.version >= status_list_publications.version \
                   AND excluded.published_at >= status_list_publications.published_at",
                params![
                    p.list_id,
                    p.version,
                    p.issuer,
                    p.list_url,
                    p.credential_json,
                    p.etag,
                    format_timestamp(p.valid_until),
                    format_timestamp(p.published_at),
                ],
            )?;
            Ok(stored == 1)
        })
        .await
    }
}

/// The body of [`SqliteStore::allocate_status`]: one `BEGIN IMMEDIATE` transaction,
/// so no other connection or process allocates at the same time.
fn allocate_in_transaction(
    connection: &mut Connection,
    credential_id: &str,
    purposes: &[StatusPurpose],
    config: &StatusListConfig,
) -> Result<Vec<StatusAllocation>, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = format_timestamp(Utc::now());
    let mut allocations = Vec::with_capacity(purposes.len());
    for &purpose in purposes {
        let purpose_text = purpose.as_str();
        let existing = transaction
            .prepare_cached(
                "SELECT list_id, status_index FROM status_entries WHERE credential_id = ?1 AND purpose = ?2",
            )?
            .query_row(params![credential_id, purpose_text], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
            .optional()?;
        if let Some((list_id, index)) = existing {
            allocations.push(StatusAllocation { purpose, list_id, index: to_u64(index, "status index")? });
            continue;
        }
        let open = transaction
            .prepare_cached(
                "SELECT list_id, size_bits FROM status_lists \
                 WHERE purpose = ?1 AND allocated < max_allocations ORDER BY list_id LIMIT 1",
            )?
            .query_row([purpose_text], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
            .optional()?;
        let (list_id, size_bits) = match open {
            Some(open) => open,
            None => {
                let list_id: i64 =
                    transaction
                        .query_row("SELECT COALESCE(MAX(list_id), 0) + 1 FROM status_lists", [], |row| row.get(0))?;
                transaction.execute(
                    "INSERT INTO status_lists \
                         (list_id, purpose, size_bits, max_allocations, allocated, version, created_at) \
                     VALUES (?1, ?2, ?3, ?4, 0, 1, ?5)",
                    params![list_id, purpose_text, to_i64(config.size_bits()), to_i64(config.max_allocations()), now],
                )?;
                info!(list_id, purpose = purpose_text, size_bits = config.size_bits(), "started a new status list");
                (list_id, to_i64(config.size_bits()))
            }
        };
        let index = free_index(&transaction, list_id, to_u64(size_bits, "status list size")?)?;
        transaction.execute(
            "INSERT INTO status_entries (list_id, status_index, credential_id, purpose, is_set, allocated_at) \
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
            params![list_id, to_i64(index), credential_id, purpose_text, now],
        )?;
        transaction.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE list_id = ?1", [list_id])?;
        allocations.push(StatusAllocation { purpose, list_id, index });
    }
    transaction.commit()?;
    debug!(credential_id, backend = "sqlite", "allocated status entries");
    Ok(allocations)
}

/// A random free index of the list (the caller holds the write lock).
fn free_index(connection: &Connection, list_id: i64, size_bits: u64) -> Result<u64, StoreError> {
    let mut taken =
        connection.prepare_cached("SELECT 1 FROM status_entries WHERE list_id = ?1 AND status_index = ?2")?;
    for _ in 0..RANDOM_ATTEMPTS {
        let index = random_index(size_bits);
        if !taken.exists(params![list_id, to_i64(index)])? {
            return Ok(index);
        }
    }
    // A crowded list: draw exactly among the free indexes.
    let used = connection
        .prepare_cached("SELECT status_index FROM status_entries WHERE list_id = ?1")?
        .query_map([list_id], |row| row.get::<_, i64>(0))?
        .map(|index| to_u64(index?, "status index"))
        .collect::<Result<Vec<_>, _>>()?;
    random_free_index(size_bits, used)
        .ok_or_else(|| StoreError::Corrupt(format!("status list {list_id} has no free index left")))
}

fn change_in_transaction(
    connection: &mut Connection,
    change: &StatusChange,
) -> Result<StatusChangeOutcome, StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known =
        transaction.prepare_cached("SELECT 1 FROM credentials WHERE id = ?1")?.exists([&change.credential_id])?;
    if !known {
        return Ok(StatusChangeOutcome::UnknownCredential);
    }
    let entries = select_status_entries(&transaction, &change.credential_id)?;
    let previous = state_of(entries.iter().map(|e| (e.purpose, e.is_set)));
    let current = match change.action.apply(previous) {
        Transition::Unchanged if entries.is_empty() => return Ok(StatusChangeOutcome::NoStatusEntry),
        Transition::Unchanged => return Ok(StatusChangeOutcome::Unchanged(previous)),
        Transition::AlreadyRevoked => return Ok(StatusChangeOutcome::AlreadyRevoked),
        Transition::Suspended => return Ok(StatusChangeOutcome::Suspended),
        Transition::AlreadyUsed => {
            let events = select_status_events(&transaction, &change.credential_id)?;
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
    transaction.execute(
        "UPDATE status_entries SET is_set = ?1, updated_at = ?2 WHERE list_id = ?3 AND status_index = ?4",
        params![bit, at, entry.list_id, to_i64(entry.index)],
    )?;
    transaction.execute("UPDATE status_lists SET version = version + 1 WHERE list_id = ?1", [entry.list_id])?;
    transaction.execute(
        "INSERT INTO status_events \
             (credential_id, action, previous_state, new_state, reason, actor, occurred_at, place) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            change.credential_id,
            change.action.as_str(),
            previous.as_str(),
            current.as_str(),
            change.reason,
            change.actor,
            at,
            change.place
        ],
    )?;
    let event_id = transaction.last_insert_rowid();
    append_status_log_entry(&transaction, change, purpose, bit, &at)?;
    transaction.commit()?;
    Ok(StatusChangeOutcome::Changed { previous, current, event_id, list_id: entry.list_id })
}

/// The audit trail of `credential_id`, oldest first.
fn select_status_events(connection: &Connection, credential_id: &str) -> Result<Vec<StatusEvent>, StoreError> {
    let rows = connection
        .prepare_cached(
            "SELECT event_id, credential_id, action, previous_state, new_state, reason, actor, occurred_at, place \
             FROM status_events WHERE credential_id = ?1 ORDER BY event_id",
        )?
        .query_map([credential_id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, Option<String>>(8)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(event_id, credential_id, action, previous, new, reason, actor, occurred_at, place)| {
            Ok(StatusEvent {
                event_id,
                action: StatusAction::parse(&action)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown status action {action:?}")))?,
                previous_state: CredentialState::parse(&previous)?,
                new_state: CredentialState::parse(&new)?,
                occurred_at: parse_timestamp(&occurred_at, || format!("occurred_at of event {event_id}"))?,
                credential_id,
                reason,
                actor,
                place,
            })
        })
        .collect()
}

fn select_status_entries(connection: &Connection, credential_id: &str) -> Result<Vec<StatusEntryRecord>, StoreError> {
    let rows = connection
        .prepare_cached(SELECT_STATUS_ENTRIES)?
        .query_map([credential_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, bool>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(purpose, list_id, index, is_set, allocated_at, updated_at)| {
            Ok(StatusEntryRecord {
                purpose: parse_purpose(&purpose)?,
                list_id,
                index: to_u64(index, "status index")?,
                is_set,
                allocated_at: parse_timestamp(&allocated_at, || format!("allocated_at of {list_id}/{index}"))?,
                updated_at: parse_optional_timestamp(updated_at.as_deref(), || {
                    format!("updated_at of {list_id}/{index}")
                })?,
            })
        })
        .collect()
}

struct RawStatusList {
    list_id: i64,
    purpose: String,
    size_bits: i64,
    max_allocations: i64,
    allocated: i64,
    version: i64,
    created_at: String,
}

impl RawStatusList {
    fn decode(self) -> Result<StatusListInfo, StoreError> {
        let list_id = self.list_id;
        Ok(StatusListInfo {
            list_id,
            purpose: parse_purpose(&self.purpose)?,
            size_bits: to_u64(self.size_bits, "status list size")?,
            max_allocations: to_u64(self.max_allocations, "status list allocation limit")?,
            allocated: to_u64(self.allocated, "status list allocations")?,
            version: self.version,
            created_at: parse_timestamp(&self.created_at, || format!("created_at of status list {list_id}"))?,
        })
    }
}

fn raw_status_list(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawStatusList> {
    Ok(RawStatusList {
        list_id: row.get(0)?,
        purpose: row.get(1)?,
        size_bits: row.get(2)?,
        max_allocations: row.get(3)?,
        allocated: row.get(4)?,
        version: row.get(5)?,
        created_at: row.get(6)?,
    })
}

fn select_status_list(connection: &Connection, list_id: i64) -> Result<Option<StatusListInfo>, StoreError> {
    connection
        .prepare_cached(&format!("{SELECT_STATUS_LIST} WHERE list_id = ?1"))?
        .query_row([list_id], raw_status_list)
        .optional()?
        .map(RawStatusList::decode)
        .transpose()
}

// --- transparency log ----------------------------------------------------------------

/// Appends `entry` at `MAX(seq) + 1`. The caller's transaction holds the write lock
/// (`BEGIN IMMEDIATE`), so no other append can interleave.
fn append_log_entry(
    connection: &Connection,
    entry: &LogEntry,
    credential_id: Option<&str>,
    now: &str,
) -> Result<LogAppended, StoreError> {
    let seq: i64 = connection.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM log_entries", [], |row| row.get(0))?;
    let bytes = entry.encode();
    let leaf = leaf_hash(&bytes);
    connection.execute(
        "INSERT INTO log_entries (seq, entry, leaf_hash, credential_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq, bytes, &leaf[..], credential_id, now],
    )?;
    Ok(LogAppended { seq: seq_from_db(seq)?, leaf_hash: leaf })
}

/// Appends the `StatusChanged` entry of a status change (see [`super::transparency`]).
fn append_status_log_entry(
    connection: &Connection,
    change: &StatusChange,
    purpose: StatusPurpose,
    bit: bool,
    now: &str,
) -> Result<Option<LogAppended>, StoreError> {
    let issued: Option<Vec<u8>> = connection
        .prepare_cached("SELECT entry FROM log_entries WHERE credential_id = ?1 ORDER BY seq LIMIT 1")?
        .query_row([&change.credential_id], |row| row.get(0))
        .optional()?;
    match issued.as_deref().and_then(|issued| status_entry(issued, purpose, bit, change.at)) {
        Some(entry) => append_log_entry(connection, &entry, Some(&change.credential_id), now).map(Some),
        None => {
            warn!(credential_id = change.credential_id, "credential has no Issued log entry; status change not logged");
            Ok(None)
        }
    }
}

const SELECT_LOG_RECORD: &str = "SELECT seq, entry, leaf_hash, credential_id, created_at FROM log_entries";

/// A `log_entries` row as stored: seq, entry, leaf hash, credential id, created at.
type RawLogRecord = (i64, Vec<u8>, Vec<u8>, Option<String>, String);

fn raw_log_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawLogRecord> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn decode_log_record(
    (seq, entry, leaf_hash, credential_id, created_at): RawLogRecord,
) -> Result<LogRecord, StoreError> {
    Ok(LogRecord {
        seq: seq_from_db(seq)?,
        created_at: parse_timestamp(&created_at, || format!("created_at of log entry {seq}"))?,
        entry,
        leaf_hash,
        credential_id,
    })
}

impl SqliteStore {
    pub(super) async fn append_log_entries(
        &self,
        entries: &[(LogEntry, Option<String>)],
    ) -> Result<Vec<LogAppended>, StoreError> {
        let entries = entries.to_vec();
        self.with_connection(move |connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = format_timestamp(Utc::now());
            let first: i64 =
                transaction.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM log_entries", [], |row| row.get(0))?;
            let mut appended = Vec::with_capacity(entries.len());
            {
                let mut insert = transaction.prepare_cached(
                    "INSERT INTO log_entries (seq, entry, leaf_hash, credential_id, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (offset, (entry, subject)) in entries.iter().enumerate() {
                    let seq = first + i64::try_from(offset).unwrap_or(i64::MAX);
                    let bytes = entry.encode();
                    let leaf = leaf_hash(&bytes);
                    insert.execute(params![seq, bytes, &leaf[..], subject, now])?;
                    appended.push(LogAppended { seq: seq_from_db(seq)?, leaf_hash: leaf });
                }
            }
            transaction.commit()?;
            Ok(appended)
        })
        .await
    }

    pub(super) async fn log_size(&self) -> Result<u64, StoreError> {
        self.with_connection(|connection| {
            let size: i64 =
                connection.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM log_entries", [], |row| row.get(0))?;
            seq_from_db(size)
        })
        .await
    }

    pub(super) async fn log_entries(&self, start: u64, limit: Option<u64>) -> Result<Vec<LogRecord>, StoreError> {
        let limit = limit.map_or(-1, |limit| seq_to_db(limit.min(super::MAX_LOG_PAGE)));
        self.with_connection(move |connection| {
            let rows = connection
                .prepare_cached(&format!("{SELECT_LOG_RECORD} WHERE seq >= ?1 ORDER BY seq LIMIT ?2"))?
                .query_map(params![seq_to_db(start), limit], raw_log_record)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(decode_log_record).collect()
        })
        .await
    }

    pub(super) async fn first_log_entry_for(&self, credential_id: &str) -> Result<Option<LogRecord>, StoreError> {
        let credential_id = credential_id.to_owned();
        self.with_connection(move |connection| {
            connection
                .prepare_cached(&format!("{SELECT_LOG_RECORD} WHERE credential_id = ?1 ORDER BY seq LIMIT 1"))?
                .query_row([&credential_id], raw_log_record)
                .optional()?
                .map(decode_log_record)
                .transpose()
        })
        .await
    }

    pub(super) async fn save_log_checkpoint(
        &self,
        size: u64,
        root: &[u8],
        note_text: &str,
    ) -> Result<bool, StoreError> {
        let (root, note_text) = (root.to_vec(), note_text.to_owned());
        self.with_connection(move |connection| {
            let stored = connection.execute(
                "INSERT INTO log_checkpoints (size, root, note_text, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (size) DO NOTHING",
                params![seq_to_db(size), root, note_text, format_timestamp(Utc::now())],
            )?;
            Ok(stored == 1)
        })
        .await
    }

    pub(super) async fn log_checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.with_connection(move |connection| {
            let row = connection
                .prepare_cached(
                    "SELECT size, root, note_text, created_at FROM log_checkpoints \
                     WHERE ?1 IS NULL OR size = ?1 ORDER BY size DESC LIMIT 1",
                )?
                .query_row([size.map(seq_to_db)], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Vec<u8>>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })
                .optional()?;
            row.map(|(size, root, note_text, created_at)| {
                hash_from_db(&root, size)?;
                Ok(StoredCheckpoint {
                    size: seq_from_db(size)?,
                    created_at: parse_timestamp(&created_at, || format!("created_at of checkpoint {size}"))?,
                    root,
                    note_text,
                })
            })
            .transpose()
        })
        .await
    }

    pub(super) async fn enqueue_anchor(&self, anchor: &super::AnchorRecord) -> Result<bool, StoreError> {
        let anchor = anchor.clone();
        self.with_connection(move |connection| {
            let stored = connection.execute(
                "INSERT INTO anchors (tree_size, root, note_digest, state, tx_hash, attempts, last_error, \
                 next_attempt_at, block_number, block_time, chain_id, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (tree_size) DO NOTHING",
                params![
                    super::anchors::u64_to_db(anchor.tree_size),
                    anchor.root,
                    anchor.note_digest,
                    anchor.state.as_str(),
                    anchor.tx_hash,
                    super::anchors::u64_to_db(anchor.attempts),
                    anchor.last_error,
                    anchor.next_attempt_at,
                    anchor.block_number.map(super::anchors::u64_to_db),
                    anchor.block_time,
                    anchor.chain_id.map(super::anchors::u64_to_db),
                    anchor.updated_at,
                ],
            )?;
            Ok(stored == 1)
        })
        .await
    }

    pub(super) async fn anchors(&self) -> Result<Vec<super::AnchorRecord>, StoreError> {
        use super::anchors::u64_from_db;
        self.with_connection(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT tree_size, root, note_digest, state, tx_hash, attempts, last_error, next_attempt_at, \
                 block_number, block_time, chain_id, updated_at FROM anchors ORDER BY tree_size",
            )?;
            let rows = statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Vec<u8>>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, Option<String>>(6)?,
                        row.get::<_, i64>(7)?,
                        row.get::<_, Option<i64>>(8)?,
                        row.get::<_, Option<i64>>(9)?,
                        row.get::<_, Option<i64>>(10)?,
                        row.get::<_, i64>(11)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|r| {
                    Ok(super::AnchorRecord {
                        tree_size: u64_from_db(r.0, "anchor size")?,
                        root: r.1,
                        note_digest: r.2,
                        state: super::AnchorState::parse(&r.3)?,
                        tx_hash: r.4,
                        attempts: u64_from_db(r.5, "anchor attempts")?,
                        last_error: r.6,
                        next_attempt_at: r.7,
                        block_number: r.8.map(|b| u64_from_db(b, "block number")).transpose()?,
                        block_time: r.9,
                        chain_id: r.10.map(|c| u64_from_db(c, "chain id")).transpose()?,
                        updated_at: r.11,
                    })
                })
                .collect()
        })
        .await
    }

    pub(super) async fn update_anchor(&self, anchor: &super::AnchorRecord) -> Result<bool, StoreError> {
        let anchor = anchor.clone();
        self.with_connection(move |connection| {
            let changed = connection.execute(
                "UPDATE anchors SET state = ?2, tx_hash = ?3, attempts = ?4, last_error = ?5, next_attempt_at = ?6, \
                 block_number = ?7, block_time = ?8, chain_id = ?9, updated_at = ?10 \
                 WHERE tree_size = ?1 AND state <> 'confirmed'",
                params![
                    super::anchors::u64_to_db(anchor.tree_size),
                    anchor.state.as_str(),
                    anchor.tx_hash,
                    super::anchors::u64_to_db(anchor.attempts),
                    anchor.last_error,
                    anchor.next_attempt_at,
                    anchor.block_number.map(super::anchors::u64_to_db),
                    anchor.block_time,
                    anchor.chain_id.map(super::anchors::u64_to_db),
                    anchor.updated_at,
                ],
            )?;
            Ok(changed == 1)
        })
        .await
    }
}
