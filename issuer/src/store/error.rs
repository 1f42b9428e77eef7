//! The store's error, and how PostgreSQL errors are described in it (the
//! server's message, never the row values).

use std::path::PathBuf;

/// Errors from the store.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL names no supported backend or is malformed. The message never
    /// contains the URL's password.
    #[error("unsupported store URL: {0}")]
    UnsupportedUrl(String),
    /// An error from SQLite.
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An error from PostgreSQL.
    #[error("PostgreSQL error: {}", describe_error(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be obtained from the pool.
    #[error("PostgreSQL connection pool error: {}", describe_pool_error(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The PostgreSQL connection pool could not be built.
    #[error("PostgreSQL connection pool could not be built: {0}")]
    PoolBuild(#[from] deadpool_postgres::BuildError),
    /// The database schema cannot be migrated to (or is newer than) this build's schema.
    #[error("schema migration failed: {0}")]
    Migration(String),
    /// A credential with this id is already stored.
    #[error("a credential with id {0:?} is already stored")]
    Duplicate(String),
    /// Stored data is inconsistent or cannot be decoded (e.g. a malformed timestamp).
    #[error("corrupt data in store: {0}")]
    Corrupt(String),
    /// A filesystem operation for the SQLite database failed.
    #[error("cannot prepare database location {path}: {source}")]
    Io {
        /// The path being prepared.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A status list configuration breaks a bound (size below 131,072 bits, …).
    #[error("invalid status list configuration: {0}")]
    InvalidStatusConfig(String),
    /// A blocking database task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A one-line description of a PostgreSQL error that includes the server's message.
/// (tokio-postgres's own `Display` says only "db error".) Details, which can quote
/// row values, are left out.
pub(crate) fn describe_error(err: &tokio_postgres::Error) -> String {
    if let Some(db_error) = err.as_db_error() {
        return format!("{} {}: {}", db_error.severity(), db_error.code().code(), db_error.message());
    }
    match std::error::Error::source(err) {
        Some(source) => format!("{err}: {source}"),
        None => err.to_string(),
    }
}

/// Like [`describe_error`], for errors getting a connection from the pool.
pub(crate) fn describe_pool_error(err: &deadpool_postgres::PoolError) -> String {
    match err {
        deadpool_postgres::PoolError::Backend(err) => describe_error(err),
        other => other.to_string(),
    }
}
