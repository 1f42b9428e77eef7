//! PostgreSQL backend: tokio-postgres behind a deadpool connection pool.
//!
//! Timestamps are `TIMESTAMPTZ` columns. The store's operations pass and read them as
//! fixed-width RFC 3339 text; this backend binds that text as a `TIMESTAMPTZ`
//! parameter and reads such a column back into it (microseconds, exactly), so the
//! statements need no casts. Integers are bound at the width the server expects.
//!
//! Connections are unencrypted (`NoTls`): run the database on a private network or
//! a local socket.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Config, NoTls};
use tracing::{debug, warn};

use super::backend::{Backend, ColumnType, Dialect, Lock, LogRow, Mode, Row, RowsInsert, Session, Value, NEXT_LOG_SEQ};
use super::error::describe_error;
use super::migrations;
use super::{format_timestamp, StoreError};

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

/// A PostgreSQL database. Clones share one connection pool.
#[derive(Clone)]
pub(super) struct PgBackend {
    pool: Pool,
    /// `host:port/dbname`, for diagnostics (never includes the password).
    target: Arc<str>,
}

impl fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgBackend").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Builds the pool, checks that a connection can be made, and runs pending migrations.
    pub(super) async fn connect(mut config: Config) -> Result<PgBackend, StoreError> {
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
        let backend = PgBackend { pool, target };
        migrations::run(&backend).await?;
        debug!(target = %backend.target, "connected to PostgreSQL store");
        Ok(backend)
    }
}

impl Backend for PgBackend {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn begin(&self, mode: Mode) -> BoxFuture<'_, Result<Box<dyn Session>, StoreError>> {
        async move {
            let client = self.pool.get().await?;
            let begin = match mode {
                Mode::Autocommit => None,
                // One snapshot for every read of the transaction.
                Mode::Snapshot => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
                Mode::Write => Some("BEGIN"),
            };
            // In a transaction from the moment BEGIN is sent: a caller that
            // drops this future while it waits for the reply (actix drops a
            // handler whose client hung up) leaves a transaction open on the
            // connection, and only `Drop`'s ROLLBACK keeps the next user of
            // the pooled connection out of it. (ROLLBACK outside a
            // transaction is a mere warning.)
            let session = PgSession { client: Some(client), in_transaction: begin.is_some() };
            if let Some(begin) = begin {
                session.client()?.batch_execute(begin).await?;
            }
            Ok(Box::new(session) as Box<dyn Session>)
        }
        .boxed()
    }
}

struct PgSession {
    /// `None` once the session has ended.
    client: Option<Object>,
    in_transaction: bool,
}

impl PgSession {
    fn client(&self) -> Result<&Object, StoreError> {
        self.client.as_ref().ok_or_else(|| StoreError::Corrupt("PostgreSQL session used after it ended".into()))
    }

    async fn prepare_and_bind(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(tokio_postgres::Statement, Vec<Box<dyn ToSql + Sync + Send>>), StoreError> {
        let statement = self.client()?.prepare_cached(sql).await?;
        if statement.params().len() != args.len() {
            return Err(StoreError::Corrupt(format!(
                "statement expects {} arguments, got {}",
                statement.params().len(),
                args.len()
            )));
        }
        let bound = statement.params().iter().zip(args).map(|(ty, value)| bind(value, ty)).collect::<Result<_, _>>()?;
        Ok((statement, bound))
    }

    fn finish(mut self: Box<Self>, sql: &'static str) -> BoxFuture<'static, Result<(), StoreError>> {
        async move {
            if self.in_transaction {
                self.client()?.batch_execute(sql).await?;
                self.in_transaction = false;
            }
            Ok(())
        }
        .boxed()
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        let Some(client) = self.client.take().filter(|_| self.in_transaction) else {
            return;
        };
        // Roll back before the connection goes back to the pool; without a runtime to
        // do that on, close it instead.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move {
                if let Err(err) = client.batch_execute("ROLLBACK").await {
                    warn!(error = describe_error(&err), "PostgreSQL rollback failed; closing the connection");
                    drop(Object::take(client));
                }
            })),
            Err(_) => drop(Object::take(client)),
        }
    }
}

impl Session for PgSession {
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, Result<u64, StoreError>> {
        async move {
            let (statement, bound) = self.prepare_and_bind(sql, args).await?;
            Ok(self.client()?.execute(&statement, &refs(&bound)).await?)
        }
        .boxed()
    }

    fn execute_batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move { Ok(self.client()?.batch_execute(sql).await?) }.boxed()
    }

    fn query<'a>(&'a mut self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        async move {
            let (statement, bound) = self.prepare_and_bind(sql, args).await?;
            let rows = self.client()?.query(&statement, &refs(&bound)).await?;
            rows.iter().map(from_postgres).collect()
        }
        .boxed()
    }

    fn lock(&mut self, lock: Lock) -> BoxFuture<'_, Result<(), StoreError>> {
        let id = match lock {
            Lock::Migration => MIGRATION_LOCK_ID,
            Lock::StatusAllocation => STATUS_ALLOCATION_LOCK_ID,
        };
        async move { advisory_lock(self.client()?, id).await }.boxed()
    }

    fn append_log<'a>(&'a mut self, rows: &'a [LogRow]) -> BoxFuture<'a, Result<i64, StoreError>> {
        async move {
            let client = self.client()?;
            advisory_lock(client, LOG_APPEND_LOCK_ID).await?;
            // READ COMMITTED: this statement's snapshot is taken after the lock was
            // granted, so it sees every append committed before.
            let next = client.prepare_cached(NEXT_LOG_SEQ).await?;
            let first: i64 = client.query_one(&next, &[]).await?.try_get(0)?;
            let seqs: Vec<i64> = (first..).take(rows.len()).collect();
            let entries: Vec<&[u8]> = rows.iter().map(|row| row.entry.as_slice()).collect();
            let leaves: Vec<&[u8]> = rows.iter().map(|row| row.leaf_hash.as_slice()).collect();
            let subjects: Vec<Option<&str>> = rows.iter().map(|row| row.credential_id.as_deref()).collect();
            let times = rows.iter().map(|row| timestamp_argument(&row.created_at)).collect::<Result<Vec<_>, _>>()?;
            // One statement for the whole batch: arrays unnested server-side.
            let statement = client
                .prepare_cached(
                    "INSERT INTO log_entries (seq, entry, leaf_hash, credential_id, created_at) \
                     SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::timestamptz[])",
                )
                .await?;
            client.execute(&statement, &[&seqs, &entries, &leaves, &subjects, &times]).await?;
            Ok(first)
        }
        .boxed()
    }

    fn insert_rows<'a>(
        &'a mut self,
        insert: &'a RowsInsert,
        rows: &'a [Vec<Value>],
    ) -> BoxFuture<'a, Result<Vec<bool>, StoreError>> {
        async move {
            insert.check_rows(rows)?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let client = self.client()?;
            let statement = client.prepare_cached(&unnest_insert_sql(insert)).await?;
            let arrays = insert
                .columns
                .iter()
                .enumerate()
                .map(|(column, (_, ty))| column_array(rows, column, *ty))
                .collect::<Result<Vec<_>, _>>()?;
            let returned = client.query(&statement, &refs(&arrays)).await?;
            if insert.skip_conflicts_on.is_empty() {
                if returned.len() != rows.len() {
                    return Err(StoreError::Corrupt(format!(
                        "{} of {} rows inserted into {}",
                        returned.len(),
                        rows.len(),
                        insert.table
                    )));
                }
                return Ok(vec![true; rows.len()]);
            }
            // The inserted rows name themselves by their conflict columns.
            let positions = insert.conflict_positions()?;
            let key_of = |row: &Vec<Value>| positions.iter().map(|&p| row.get(p).cloned()).collect::<Vec<_>>();
            let mut position_of: HashMap<Vec<Option<Value>>, usize> = HashMap::with_capacity(rows.len());
            for (position, row) in rows.iter().enumerate().rev() {
                position_of.insert(key_of(row), position);
            }
            let mut inserted = vec![false; rows.len()];
            for row in &returned {
                let Row(values) = from_postgres(row)?;
                let key: Vec<Option<Value>> = values.into_iter().map(Some).collect();
                let slot = position_of.get(&key).and_then(|&p| inserted.get_mut(p)).ok_or_else(|| {
                    StoreError::Corrupt(format!("{} returned a row that was not inserted", insert.table))
                })?;
                *slot = true;
            }
            Ok(inserted)
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

/// `INSERT … SELECT * FROM UNNEST($1::type[], …) [ON CONFLICT (…) DO NOTHING]
/// RETURNING <conflict columns, or 1>`: every row in one statement.
fn unnest_insert_sql(insert: &RowsInsert) -> String {
    let arrays: Vec<String> = insert
        .columns
        .iter()
        .enumerate()
        .map(|(n, (_, ty))| {
            let ty = match ty {
                ColumnType::Text => "text",
                ColumnType::Int => "bigint",
                ColumnType::Bool => "boolean",
                ColumnType::Timestamp => "timestamptz",
            };
            format!("${}::{ty}[]", n + 1)
        })
        .collect();
    let returning =
        if insert.skip_conflicts_on.is_empty() { "1".to_owned() } else { insert.skip_conflicts_on.join(", ") };
    format!(
        "{} SELECT * FROM UNNEST({}){} RETURNING {returning}",
        insert.insert_clause(),
        arrays.join(", "),
        insert.conflict_clause()
    )
}

/// Column `column` of `rows` as one array argument of type `ty`.
fn column_array(
    rows: &[Vec<Value>],
    column: usize,
    ty: ColumnType,
) -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
    fn collect<T>(
        rows: &[Vec<Value>],
        column: usize,
        convert: impl Fn(&Value) -> Option<Result<T, StoreError>>,
    ) -> Result<Vec<Option<T>>, StoreError> {
        rows.iter()
            .map(|row| match row.get(column) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => convert(value)
                    .ok_or_else(|| StoreError::Corrupt(format!("column {column} of a row has the wrong type")))?
                    .map(Some),
            })
            .collect()
    }
    Ok(match ty {
        ColumnType::Text => Box::new(collect(rows, column, |v| match v {
            Value::Text(text) => Some(Ok(text.clone())),
            _ => None,
        })?),
        ColumnType::Int => Box::new(collect(rows, column, |v| match v {
            Value::Int(n) => Some(Ok(*n)),
            _ => None,
        })?),
        ColumnType::Bool => Box::new(collect(rows, column, |v| match v {
            Value::Bool(b) => Some(Ok(*b)),
            Value::Int(n) => Some(Ok(*n != 0)),
            _ => None,
        })?),
        ColumnType::Timestamp => Box::new(collect(rows, column, |v| match v {
            Value::Text(text) => Some(timestamp_argument(text)),
            _ => None,
        })?),
    })
}

/// Takes a transaction-scoped advisory lock.
async fn advisory_lock(client: &Object, id: i64) -> Result<(), StoreError> {
    let statement = client.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    client.execute(&statement, &[&id]).await?;
    Ok(())
}

fn refs(bound: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    bound.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// `value` as the parameter type `ty` the server inferred.
fn bind(value: &Value, ty: &Type) -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
    let out_of_range = || StoreError::Corrupt(format!("integer argument out of range for {ty}"));
    Ok(match value {
        Value::Null if *ty == Type::BOOL => Box::new(None::<bool>),
        Value::Null if *ty == Type::INT2 => Box::new(None::<i16>),
        Value::Null if *ty == Type::INT4 => Box::new(None::<i32>),
        Value::Null if *ty == Type::INT8 => Box::new(None::<i64>),
        Value::Null if *ty == Type::BYTEA => Box::new(None::<Vec<u8>>),
        Value::Null if *ty == Type::TIMESTAMPTZ => Box::new(None::<SystemTime>),
        Value::Null => Box::new(None::<String>),
        Value::Int(value) if *ty == Type::INT2 => Box::new(i16::try_from(*value).map_err(|_| out_of_range())?),
        Value::Int(value) if *ty == Type::INT4 => Box::new(i32::try_from(*value).map_err(|_| out_of_range())?),
        Value::Int(value) => Box::new(*value),
        Value::Bool(value) => Box::new(*value),
        Value::Text(text) if *ty == Type::TIMESTAMPTZ => Box::new(timestamp_argument(text)?),
        Value::Text(text) => Box::new(text.clone()),
        Value::Blob(blob) => Box::new(blob.clone()),
    })
}

/// RFC 3339 text as a `TIMESTAMPTZ` argument.
fn timestamp_argument(text: &str) -> Result<SystemTime, StoreError> {
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|err| StoreError::Corrupt(format!("timestamp argument is not RFC 3339: {err}")))?;
    Ok(SystemTime::from(at.with_timezone(&Utc)))
}

fn from_postgres(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(index)?.into()
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(index)?.map(i64::from).into()
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?.into()
        } else if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.into()
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(index)?.into()
        } else if *ty == Type::TIMESTAMPTZ {
            row.try_get::<_, Option<SystemTime>>(index)?.map(|at| format_timestamp(DateTime::<Utc>::from(at))).into()
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            row.try_get::<_, Option<String>>(index)?.into()
        } else {
            return Err(StoreError::Corrupt(format!("column {} has unsupported type {ty}", column.name())));
        };
        values.push(value);
    }
    Ok(Row(values))
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
