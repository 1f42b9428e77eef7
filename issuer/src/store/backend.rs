//! What a database must offer for the store's operations to be written once.
//!
//! A [`Backend`] opens [`Session`]s: a pooled connection (PostgreSQL) or the shared
//! connection (SQLite), optionally inside a transaction ([`Mode`]). A session runs SQL
//! written in one dialect — PostgreSQL's `$n` placeholders, standard SQL otherwise —
//! with [`Value`] arguments, and returns [`Row`]s of [`Value`]s. Each backend converts
//! at its edge: SQLite rewrites `$n` to `?n` and keeps timestamps as the fixed-width
//! RFC 3339 text they are stored as; PostgreSQL binds and reads `TIMESTAMPTZ` columns
//! from and to that same text, and converts integers to the width of the parameter.
//!
//! The few places where the dialects differ in more than syntax are backend methods:
//! [`Session::lock`] (PostgreSQL's advisory locks; SQLite's `BEGIN IMMEDIATE` already
//! serialises writers), [`Session::append_log`] (the gap-free sequence under a lock;
//! one `UNNEST` statement on PostgreSQL), [`Session::insert_rows`] (many rows, one
//! `UNNEST` statement on PostgreSQL), and the [`Dialect`] helpers for
//! `FOR UPDATE`, date truncation and SQLite's partial indexes.

use std::fmt;

use futures_util::future::BoxFuture;

use super::StoreError;

/// How a session uses a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// No transaction: every statement commits on its own.
    Autocommit,
    /// A read-only transaction whose reads all see one snapshot.
    Snapshot,
    /// A read-write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so it runs alone among writers, across processes too.
    Write,
}

/// A lock serialising one kind of write across connections and processes.
/// Held until the transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lock {
    /// Schema migration, so concurrently starting issuers migrate one at a time.
    Migration,
    /// Status index allocation and the creation of new lists.
    StatusAllocation,
}

/// The SQL dialect of a backend, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// Row locking for a `SELECT` in a write transaction (SQLite's write lock covers it).
    pub(super) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// The literal `true`, spelt as SQLite's partial indexes on `… = 1` expect it.
    pub(super) fn true_literal(self) -> &'static str {
        match self {
            Dialect::Sqlite => "1",
            Dialect::Postgres => "TRUE",
        }
    }

    /// An expression giving `column` (a stored timestamp) as `YYYY-MM` or `YYYY-MM-DD`, UTC.
    pub(super) fn period_of(self, column: &str, period: Period) -> String {
        match (self, period) {
            (Dialect::Sqlite, Period::Month) => format!("substr({column}, 1, 7)"),
            (Dialect::Sqlite, Period::Day) => format!("substr({column}, 1, 10)"),
            (Dialect::Postgres, Period::Month) => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"),
            (Dialect::Postgres, Period::Day) => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        }
    }
}

/// A database, able to open sessions.
pub(super) trait Backend: Send + Sync + fmt::Debug {
    /// `"sqlite"` or `"postgres"`.
    fn name(&self) -> &'static str;
    /// The SQL dialect.
    fn dialect(&self) -> Dialect;
    /// A session in `mode`.
    fn begin(&self, mode: Mode) -> BoxFuture<'_, Result<Box<dyn Session>, StoreError>>;
}

/// A connection held for a sequence of statements. Dropped without [`Session::commit`],
/// its transaction (if any) is rolled back.
pub(super) trait Session: Send {
    /// Runs a statement; the number of rows it changed.
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Runs several statements without arguments (a migration).
    fn execute_batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Runs a statement; all the rows it returned.
    fn query<'a>(&'a mut self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, Result<Vec<Row>, StoreError>>;
    /// Takes `lock` until the transaction ends.
    fn lock(&mut self, lock: Lock) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Appends rows to `log_entries` at `MAX(seq) + 1, …`, serialised with every other
    /// append until the transaction ends; the first row's `seq`. Call it last in a
    /// transaction: on PostgreSQL it takes a lock held to commit, so taken last it is
    /// never part of a lock cycle.
    fn append_log<'a>(&'a mut self, rows: &'a [LogRow]) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// Inserts `rows` (one [`Value`] per column of `insert`, in order) into
    /// `insert.table`; for each row, whether it was inserted (`false` only when
    /// it was skipped on a conflict, see [`RowsInsert::skip_conflicts_on`]).
    /// PostgreSQL: one statement (one array per column, `UNNEST`ed); SQLite: one
    /// prepared statement per row, in one trip to its thread. The rows must be
    /// distinct on the conflict columns.
    fn insert_rows<'a>(
        &'a mut self,
        insert: &'a RowsInsert,
        rows: &'a [Vec<Value>],
    ) -> BoxFuture<'a, Result<Vec<bool>, StoreError>>;
    /// Commits the transaction (nothing to do in [`Mode::Autocommit`]).
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
    /// Rolls the transaction back and waits for it.
    fn rollback(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// One `log_entries` row to insert.
#[derive(Clone, Debug)]
pub(super) struct LogRow {
    pub entry: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    pub credential_id: Option<String>,
    /// Fixed-width RFC 3339 text.
    pub created_at: String,
}

/// The type of a column of a [`RowsInsert`] (PostgreSQL sends a column as one typed array).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ColumnType {
    Text,
    Int,
    Bool,
    /// Fixed-width RFC 3339 text, stored as a timestamp.
    Timestamp,
}

/// Many rows into one table ([`Session::insert_rows`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct RowsInsert {
    pub table: &'static str,
    pub columns: &'static [(&'static str, ColumnType)],
    /// A row conflicting with a stored one (or one of the transaction's) on these
    /// columns is skipped (`ON CONFLICT (…) DO NOTHING`); empty: a conflict fails
    /// the statement.
    pub skip_conflicts_on: &'static [&'static str],
}

impl RowsInsert {
    /// `INSERT INTO table (columns)`.
    pub(super) fn insert_clause(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        format!("INSERT INTO {} ({})", self.table, names.join(", "))
    }

    /// `ON CONFLICT (…) DO NOTHING`, or nothing.
    pub(super) fn conflict_clause(&self) -> String {
        if self.skip_conflicts_on.is_empty() {
            String::new()
        } else {
            format!(" ON CONFLICT ({}) DO NOTHING", self.skip_conflicts_on.join(", "))
        }
    }

    /// The statement inserting one row, `$n` placeholders in column order.
    pub(super) fn one_row_sql(&self) -> String {
        let placeholders: Vec<String> = (1..=self.columns.len()).map(|n| format!("${n}")).collect();
        format!("{} VALUES ({}){}", self.insert_clause(), placeholders.join(", "), self.conflict_clause())
    }

    /// Positions, in `columns`, of the conflict columns.
    pub(super) fn conflict_positions(&self) -> Result<Vec<usize>, StoreError> {
        self.skip_conflicts_on
            .iter()
            .map(|name| {
                self.columns.iter().position(|(column, _)| column == name).ok_or_else(|| {
                    StoreError::Corrupt(format!("conflict column {name} is not inserted into {}", self.table))
                })
            })
            .collect()
    }

    /// Checks that every row has one value per column.
    pub(super) fn check_rows(&self, rows: &[Vec<Value>]) -> Result<(), StoreError> {
        match rows.iter().find(|row| row.len() != self.columns.len()) {
            Some(row) => Err(StoreError::Corrupt(format!(
                "a row for {} has {} values for {} columns",
                self.table,
                row.len(),
                self.columns.len()
            ))),
            None => Ok(()),
        }
    }
}

/// The SQL to insert one [`LogRow`], in argument order.
pub(super) const INSERT_LOG_ROW: &str =
    "INSERT INTO log_entries (seq, entry, leaf_hash, credential_id, created_at) VALUES ($1, $2, $3, $4, $5)";

/// The next sequence number of the log.
pub(super) const NEXT_LOG_SEQ: &str = "SELECT COALESCE(MAX(seq) + 1, 0) FROM log_entries";

impl LogRow {
    /// The arguments of [`INSERT_LOG_ROW`], at `seq`.
    pub(super) fn args(&self, seq: i64) -> [Value; 5] {
        [
            Value::Int(seq),
            Value::Blob(self.entry.clone()),
            Value::Blob(self.leaf_hash.clone()),
            self.credential_id.clone().into(),
            Value::Text(self.created_at.clone()),
        ]
    }
}

/// A statement argument or a column value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Value {
    Null,
    Int(i64),
    Bool(bool),
    /// Text; also timestamps, as fixed-width RFC 3339 UTC text.
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

/// Only the kind: values can be personal data.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::Int(value.into())
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::Int(value.into())
    }
}

impl From<u16> for Value {
    fn from(value: u16) -> Self {
        Value::Int(value.into())
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(value.clone())
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Blob(value)
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Value::Blob(value.to_vec())
    }
}

impl From<&Vec<u8>> for Value {
    fn from(value: &Vec<u8>) -> Self {
        Value::Blob(value.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl From<&Option<String>> for Value {
    fn from(value: &Option<String>) -> Self {
        value.as_deref().into()
    }
}

/// Builds a `[Value; N]` argument list.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        [$($crate::store::backend::Value::from($value)),*]
    };
}
pub(super) use args;

/// A column type a [`Value`] can be read as.
pub(super) trait FromValue: Sized {
    /// `None` when the value has another type.
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(value) => Some(*value),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(value) => Some(*value),
            Value::Int(value) => Some(*value != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(value) => Some(value.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(value) => Some(value.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A result row.
#[derive(Clone, Debug, Default)]
pub(super) struct Row(pub(super) Vec<Value>);

impl Row {
    /// Column `index` as a `T`.
    pub(super) fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.0.get(index).ok_or_else(|| StoreError::Corrupt(format!("result has no column {index}")))?;
        T::from_value(value).ok_or_else(|| {
            StoreError::Corrupt(format!("column {index} holds {}, not {}", value.kind(), std::any::type_name::<T>()))
        })
    }
}

/// A session with its dialect, and the conveniences the operations use.
pub(super) struct Tx {
    session: Box<dyn Session>,
    dialect: Dialect,
}

impl Tx {
    pub(super) async fn begin(backend: &dyn Backend, mode: Mode) -> Result<Tx, StoreError> {
        Ok(Tx { session: backend.begin(mode).await?, dialect: backend.dialect() })
    }

    pub(super) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(super) async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, StoreError> {
        self.session.execute(sql, args).await
    }

    pub(super) async fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.session.execute_batch(sql).await
    }

    pub(super) async fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.session.query(sql, args).await
    }

    /// The first row, if any.
    pub(super) async fn query_opt(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.session.query(sql, args).await?.into_iter().next())
    }

    /// The first row, which must exist.
    pub(super) async fn query_one(&mut self, sql: &str, args: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, args).await?.ok_or_else(|| StoreError::Corrupt("a query returned no row".into()))
    }

    pub(super) async fn lock(&mut self, lock: Lock) -> Result<(), StoreError> {
        self.session.lock(lock).await
    }

    pub(super) async fn append_log(&mut self, rows: &[LogRow]) -> Result<i64, StoreError> {
        self.session.append_log(rows).await
    }

    pub(super) async fn insert_rows(
        &mut self,
        insert: &RowsInsert,
        rows: &[Vec<Value>],
    ) -> Result<Vec<bool>, StoreError> {
        self.session.insert_rows(insert, rows).await
    }

    pub(super) async fn commit(self) -> Result<(), StoreError> {
        self.session.commit().await
    }

    pub(super) async fn rollback(self) -> Result<(), StoreError> {
        self.session.rollback().await
    }
}

/// Whether `err` is a primary-key or unique-constraint violation.
pub(super) fn is_unique_violation(err: &StoreError) -> bool {
    match err {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => {
            failure.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                )
        }
        StoreError::Postgres(err) => err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        _ => false,
    }
}

/// `err`, or [`StoreError::Duplicate`] naming `what` when it is a unique violation.
pub(super) fn duplicate_as(err: StoreError, what: &str) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Duplicate(what.to_owned())
    } else {
        err
    }
}

/// A grouping of counts by time (the audit page): the dialects truncate
/// timestamps differently ([`Dialect::period_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// `YYYY-MM`
    Month,
    /// `YYYY-MM-DD`
    Day,
}
