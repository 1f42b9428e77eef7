//! Embedded schema migrations, one list per backend, and the runner, written once.
//!
//! Each database records applied migrations in `schema_migrations` (version, name,
//! SHA-256 checksum of the SQL, time applied). On connect, pending migrations are
//! applied in version order inside one transaction (SQLite: holding the write lock;
//! PostgreSQL: under an advisory lock, so concurrently starting issuers migrate one
//! at a time). SQLite's foreign keys, off while migrating, are all checked before
//! the commit. A database that has a migration
//! this build does not know, or whose recorded checksum differs from the embedded
//! SQL, is refused with [`StoreError::Migration`] rather than used with a schema this
//! build does not understand.

use std::collections::BTreeMap;

use chrono::Utc;
use sha2::{Digest, Sha256};
use tracing::info;

use super::backend::{args, Backend, Dialect, Lock, Mode, Tx};
use super::{format_timestamp, StoreError};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    /// Position in the sequence, starting at 1.
    pub version: i64,
    /// File stem, e.g. `0001_init`.
    pub name: &'static str,
    /// The SQL to run.
    pub sql: &'static str,
}

impl Migration {
    /// Lower-case hex SHA-256 of the SQL, recorded to detect edited migrations.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// SQLite migrations, in version order.
pub(super) const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "0001_init", sql: include_str!("../../migrations/sqlite/0001_init.sql") },
    Migration {
        version: 2,
        name: "0002_status_lists",
        sql: include_str!("../../migrations/sqlite/0002_status_lists.sql"),
    },
    Migration {
        version: 3,
        name: "0003_transparency_log",
        sql: include_str!("../../migrations/sqlite/0003_transparency_log.sql"),
    },
    Migration { version: 4, name: "0004_anchors", sql: include_str!("../../migrations/sqlite/0004_anchors.sql") },
    Migration {
        version: 5,
        name: "0005_web_accounts",
        sql: include_str!("../../migrations/sqlite/0005_web_accounts.sql"),
    },
    Migration { version: 6, name: "0006_single_use", sql: include_str!("../../migrations/sqlite/0006_single_use.sql") },
    Migration { version: 7, name: "0007_oid4vci", sql: include_str!("../../migrations/sqlite/0007_oid4vci.sql") },
    Migration {
        version: 8,
        name: "0008_sessions_roles",
        sql: include_str!("../../migrations/sqlite/0008_sessions_roles.sql"),
    },
    Migration {
        version: 9,
        name: "0009_licence_ids",
        sql: include_str!("../../migrations/sqlite/0009_licence_ids.sql"),
    },
    Migration {
        version: 10,
        name: "0010_notarize_scope",
        sql: include_str!("../../migrations/sqlite/0010_notarize_scope.sql"),
    },
];

/// PostgreSQL migrations, in version order.
pub(super) const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "0001_init", sql: include_str!("../../migrations/postgres/0001_init.sql") },
    Migration {
        version: 2,
        name: "0002_status_lists",
        sql: include_str!("../../migrations/postgres/0002_status_lists.sql"),
    },
    Migration {
        version: 3,
        name: "0003_transparency_log",
        sql: include_str!("../../migrations/postgres/0003_transparency_log.sql"),
    },
    Migration { version: 4, name: "0004_anchors", sql: include_str!("../../migrations/postgres/0004_anchors.sql") },
    Migration {
        version: 5,
        name: "0005_web_accounts",
        sql: include_str!("../../migrations/postgres/0005_web_accounts.sql"),
    },
    Migration {
        version: 6,
        name: "0006_single_use",
        sql: include_str!("../../migrations/postgres/0006_single_use.sql"),
    },
    Migration { version: 7, name: "0007_oid4vci", sql: include_str!("../../migrations/postgres/0007_oid4vci.sql") },
    Migration {
        version: 8,
        name: "0008_sessions_roles",
        sql: include_str!("../../migrations/postgres/0008_sessions_roles.sql"),
    },
    Migration {
        version: 9,
        name: "0009_licence_ids",
        sql: include_str!("../../migrations/postgres/0009_licence_ids.sql"),
    },
    Migration {
        version: 10,
        name: "0010_notarize_scope",
        sql: include_str!("../../migrations/postgres/0010_notarize_scope.sql"),
    },
];

/// The migration table of SQLite (kept as first created: existing databases have it).
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER NOT NULL PRIMARY KEY,
             name       TEXT NOT NULL,
             checksum   TEXT NOT NULL,
             applied_at TEXT NOT NULL
         ) STRICT";

/// The migration table of PostgreSQL.
const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT NOT NULL PRIMARY KEY,
                 name       TEXT NOT NULL,
                 checksum   TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )";

/// Applies the pending migrations of `backend`'s dialect in one transaction.
pub(super) async fn run(backend: &dyn Backend) -> Result<(), StoreError> {
    let (known, table) = match backend.dialect() {
        Dialect::Sqlite => (SQLITE, SQLITE_TABLE),
        Dialect::Postgres => (POSTGRES, POSTGRES_TABLE),
    };
    let mut tx = Tx::begin(backend, Mode::Write).await?;
    tx.lock(Lock::Migration).await?;
    tx.execute_batch(table).await?;
    let applied = tx
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| Ok((row.get(0)?, row.get(1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for migration in pending(known, &applied)? {
        tx.execute_batch(migration.sql).await.map_err(|err| {
            StoreError::Migration(format!("applying {} to {}: {err}", migration.name, backend.name()))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            &args![migration.version, migration.name, migration.checksum(), format_timestamp(Utc::now())],
        )
        .await?;
        info!(version = migration.version, name = migration.name, backend = backend.name(), "applied migration");
    }
    if backend.dialect() == Dialect::Sqlite {
        let broken: i64 = tx.query_one("SELECT count(*) FROM pragma_foreign_key_check", &[]).await?.get(0)?;
        if broken != 0 {
            return Err(StoreError::Migration(format!(
                "{broken} rows break a foreign key after migrating; rolled back"
            )));
        }
    }
    tx.commit().await
}

/// Works out which of `known` still have to run, given the `(version, checksum)` rows
/// already in `schema_migrations`.
pub(super) fn pending<'a>(known: &'a [Migration], applied: &[(i64, String)]) -> Result<Vec<&'a Migration>, StoreError> {
    let applied: BTreeMap<i64, &str> =
        applied.iter().map(|(version, checksum)| (*version, checksum.as_str())).collect();
    if let Some((&unknown, _)) = applied.iter().find(|(version, _)| !known.iter().any(|m| m.version == **version)) {
        return Err(StoreError::Migration(format!(
            "database has schema migration {unknown}, which this build does not know \
             (newest known: {}); was it migrated by a newer issuer?",
            known.last().map_or(0, |m| m.version)
        )));
    }
    let mut pending = Vec::new();
    for migration in known {
        match applied.get(&migration.version) {
            Some(&checksum) if checksum == migration.checksum() => {}
            Some(_) => {
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) was applied with different SQL than this build embeds",
                    migration.version, migration.name
                )))
            }
            None => pending.push(migration),
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_from_one_with_only_the_reserved_gap() {
        for list in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = list.iter().map(|m| m.version).collect();
            // 6 is reserved for a migration on another branch (renumbered at merge).
            assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
            for migration in list {
                assert!(migration.name.starts_with(&format!("{:04}_", migration.version)), "{}", migration.name);
            }
        }
    }

    #[test]
    fn pending_skips_applied_and_rejects_unknown_or_edited() {
        let applied_init = [(1, SQLITE[0].checksum())];
        assert_eq!(pending(SQLITE, &[]).map(|p| p.len()).ok(), Some(SQLITE.len()));
        assert_eq!(pending(SQLITE, &applied_init).map(|p| p.len()).ok(), Some(SQLITE.len() - 1));
        assert!(matches!(pending(SQLITE, &[(1, "edited".into())]), Err(StoreError::Migration(_))));
        assert!(matches!(pending(SQLITE, &[(999, "future".into())]), Err(StoreError::Migration(_))));
    }
}
