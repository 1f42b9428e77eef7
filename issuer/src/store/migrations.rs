//! Embedded schema migrations, one list per backend.
//!
//! Each database records applied migrations in `schema_migrations` (version, name,
//! SHA-256 checksum of the SQL, time applied). On connect, pending migrations are
//! applied in version order inside one transaction. A database that has a migration
//! this build does not know, or whose recorded checksum differs from the embedded
//! SQL, is refused with [`StoreError::Migration`] rather than used with a schema this
//! build does not understand.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::StoreError;

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
];

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
            assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8]);
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
