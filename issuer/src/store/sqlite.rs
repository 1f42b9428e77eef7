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
use super::{
    format_timestamp, response_status_from_db, CredentialQuery, CredentialSummary, IdempotencyRecord, NewCredential,
    RawCredential, RawSummary, SaveOutcome, StoreError, StoredCredential,
};

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
    async fn with_connection<T, F>(&self, operation: F) -> Result<T, StoreError>
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
        let credential = credential.clone();
        let idempotency = idempotency.cloned();
        let credential_id = credential.id.clone();
        let outcome = self
            .with_connection(move |connection| save_in_transaction(connection, &credential, idempotency.as_ref()))
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
        Ok(outcome)
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
    connection.pragma_update(None, "foreign_keys", true)?;
    // Safe with WAL: a power loss may drop the last commits but never corrupts the file.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut connection, migrations::SQLITE)?;
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
    transaction.commit()?;
    Ok(())
}

/// The body of [`SqliteStore::save_issued`], run on the blocking pool.
fn save_in_transaction(
    connection: &mut Connection,
    credential: &NewCredential,
    idempotency: Option<&IdempotencyRecord>,
) -> Result<SaveOutcome, StoreError> {
    // IMMEDIATE takes the write lock now, so nobody can insert the same idempotency key
    // between our check and our insert. Dropping the transaction rolls it back.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored_at = format_timestamp(Utc::now());
    if let Some(record) = idempotency {
        if let Some(existing) = select_idempotency_record(&transaction, &record.scope, &record.key)? {
            return Ok(SaveOutcome::Replayed(existing));
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
    // Deferred foreign keys (idempotency record → credential) are checked here.
    transaction.commit()?;
    Ok(SaveOutcome::Saved)
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
