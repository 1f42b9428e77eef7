//! SQLite backend: one connection behind an async mutex, used from `spawn_blocking`.
//!
//! The database runs in WAL mode with `busy_timeout = 5000` ms and foreign keys on.
//! A session holds the connection from its first statement to its commit; every
//! rusqlite call happens on tokio's blocking pool, so the async API never blocks a
//! runtime worker. Write transactions take SQLite's write lock up front
//! (`BEGIN IMMEDIATE`), so a check and the write it guards are atomic even when
//! several processes share the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::{debug, warn};

use super::backend::{
    Backend, Dialect, Lock, LogRow, Mode, Row, RowsInsert, Session, Value, INSERT_LOG_ROW, NEXT_LOG_SEQ,
};
use super::migrations;
use super::StoreError;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
/// Prepared statements kept per connection (the store has a few dozen).
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// A local SQLite database file. Clones share one connection.
#[derive(Clone)]
pub(super) struct SqliteBackend {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
}

impl fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteBackend").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Opens (creating the file and its parent directories if needed) and migrates the
    /// database at `path`.
    pub(super) async fn open(path: PathBuf) -> Result<SqliteBackend, StoreError> {
        let (path, connection) = tokio::task::spawn_blocking(move || {
            let connection = open_connection(&path)?;
            Ok::<_, StoreError>((path, connection))
        })
        .await??;
        let backend = SqliteBackend { path, connection: Arc::new(Mutex::new(connection)) };
        // Foreign keys are enforced only after migrating: a migration that rebuilds a
        // table (SQLite cannot alter a CHECK constraint) drops and renames parents, which
        // the enforcement would refuse. The migration checks every key before committing.
        migrations::run(&backend).await?;
        backend.begin(Mode::Autocommit).await?.execute_batch("PRAGMA foreign_keys = ON").await?;
        debug!(path = %backend.path.display(), "opened SQLite store");
        Ok(backend)
    }
}

impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn begin(&self, mode: Mode) -> BoxFuture<'_, Result<Box<dyn Session>, StoreError>> {
        async move {
            let guard = Arc::clone(&self.connection).lock_owned().await;
            let begin = match mode {
                Mode::Autocommit => None,
                Mode::Snapshot => Some("BEGIN DEFERRED"),
                Mode::Write => Some("BEGIN IMMEDIATE"),
            };
            // The transaction begins with the first statement, in the same trip to the
            // blocking pool.
            let held = Held { connection: guard, begin, in_transaction: false };
            let session = SqliteSession { held: Some(held) };
            Ok(Box::new(session) as Box<dyn Session>)
        }
        .boxed()
    }
}

/// The locked connection, and whether a transaction is open on it. Dropped with the
/// transaction open (an error, a panic, a cancelled request), it rolls back.
struct Held {
    connection: OwnedMutexGuard<Connection>,
    /// The `BEGIN` still to run before the next statement.
    begin: Option<&'static str>,
    in_transaction: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.in_transaction {
            if let Err(err) = self.connection.execute_batch("ROLLBACK") {
                warn!(%err, "SQLite rollback failed");
            }
        }
    }
}

struct SqliteSession {
    /// `None` only while a statement runs on the blocking pool.
    held: Option<Held>,
}

impl SqliteSession {
    /// Runs `operation` on the blocking pool with the connection.
    async fn run<T, F>(&mut self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Held) -> Result<T, StoreError> + Send + 'static,
    {
        let mut held = self
            .held
            .take()
            .ok_or_else(|| StoreError::Corrupt("SQLite session used after a statement panicked".into()))?;
        let (held, result) = tokio::task::spawn_blocking(move || {
            let result = match held.begin.take() {
                Some(begin) => held.connection.execute_batch(begin).map_err(StoreError::from).and_then(|()| {
                    held.in_transaction = true;
                    operation(&mut held)
                }),
                None => operation(&mut held),
            };
            (held, result)
        })
        .await?;
        self.held = Some(held);
        result
    }

    fn finish(mut self: Box<Self>, sql: &'static str) -> BoxFuture<'static, Result<(), StoreError>> {
        async move {
            if self.held.as_ref().is_some_and(|held| held.in_transaction) {
                self.run(move |held| {
                    held.connection.execute_batch(sql)?;
                    held.in_transaction = false;
                    Ok(())
                })
                .await?;
            }
            Ok(())
        }
        .boxed()
    }
}

impl Drop for SqliteSession {
    fn drop(&mut self) {
        // Roll back on the blocking pool; the connection stays locked until then.
        if let Some(held) = self.held.take().filter(|held| held.in_transaction) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(move || drop(held))),
                Err(_) => drop(held),
            }
        }
    }
}

impl Session for SqliteSession {
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, Result<u64, StoreError>> {
        let (sql, args) = (translate(sql), args.to_vec());
        async move {
            self.run(move |held| {
                let changed = held.connection.prepare_cached(&sql)?.execute(params_from_iter(args.iter()))?;
                Ok(u64::try_from(changed).unwrap_or(u64::MAX))
            })
            .await
        }
        .boxed()
    }

    fn execute_batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let sql = sql.to_owned();
        async move { self.run(move |held| Ok(held.connection.execute_batch(&sql)?)).await }.boxed()
    }

    fn query<'a>(&'a mut self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        let (sql, args) = (translate(sql), args.to_vec());
        async move {
            self.run(move |held| {
                let mut statement = held.connection.prepare_cached(&sql)?;
                let columns = statement.column_count();
                let mut rows = statement.query(params_from_iter(args.iter()))?;
                let mut result = Vec::new();
                while let Some(row) = rows.next()? {
                    let values = (0..columns).map(|i| row.get_ref(i).map(from_sqlite)).collect::<Result<_, _>>()?;
                    result.push(Row(values));
                }
                Ok(result)
            })
            .await
        }
        .boxed()
    }

    fn lock(&mut self, _lock: Lock) -> BoxFuture<'_, Result<(), StoreError>> {
        // Writers already run one at a time: they hold the write lock (`BEGIN IMMEDIATE`).
        async { Ok(()) }.boxed()
    }

    fn append_log<'a>(&'a mut self, rows: &'a [LogRow]) -> BoxFuture<'a, Result<i64, StoreError>> {
        let (sql, rows) = (translate(INSERT_LOG_ROW), rows.to_vec());
        async move {
            // One trip: the write lock the transaction holds keeps other appends out.
            self.run(move |held| {
                let first: i64 = held.connection.prepare_cached(NEXT_LOG_SEQ)?.query_row([], |row| row.get(0))?;
                let mut insert = held.connection.prepare_cached(&sql)?;
                for (seq, row) in (first..).zip(&rows) {
                    insert.execute(params_from_iter(row.args(seq).iter()))?;
                }
                Ok(first)
            })
            .await
        }
        .boxed()
    }

    fn insert_rows<'a>(
        &'a mut self,
        insert: &'a RowsInsert,
        rows: &'a [Vec<Value>],
    ) -> BoxFuture<'a, Result<Vec<bool>, StoreError>> {
        let (sql, rows) = (translate(&insert.one_row_sql()), rows.to_vec());
        async move {
            insert.check_rows(&rows)?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            // One trip: a statement per row, on the connection's thread.
            self.run(move |held| {
                let mut statement = held.connection.prepare_cached(&sql)?;
                let mut inserted = Vec::with_capacity(rows.len());
                for row in &rows {
                    inserted.push(statement.execute(params_from_iter(row.iter()))? == 1);
                }
                Ok(inserted)
            })
            .await
        }
        .boxed()
    }

    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        self.finish("COMMIT")
    }

    fn rollback(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        self.finish("ROLLBACK")
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Value::Bool(value) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*value))),
            Value::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
            Value::Blob(value) => ToSqlOutput::Borrowed(ValueRef::Blob(value)),
        })
    }
}

fn from_sqlite(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(value) => Value::Int(value),
        // No column holds a real; keep the bits rather than fail.
        ValueRef::Real(value) => Value::Int(value as i64),
        ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(blob) => Value::Blob(blob.to_vec()),
    }
}

/// Rewrites PostgreSQL's `$n` placeholders as SQLite's `?n` (outside quoted text).
fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

/// Opens the file and applies connection settings, foreign keys off (see
/// [`SqliteBackend::open`]).
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Io { path: parent.to_path_buf(), source })?;
    }
    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Every statement goes through the cache; room for all of them.
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    let journal_mode: String = connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        warn!(path = %path.display(), journal_mode, "SQLite refused WAL journal mode");
    }
    // Safe with WAL: a power loss may drop the last commits but never corrupts the file.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", false)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn placeholders_are_rewritten_outside_quotes() {
        assert_eq!(translate("SELECT $1, '$2', \"$3\" WHERE a = $10"), "SELECT ?1, '$2', \"$3\" WHERE a = ?10");
    }
}
