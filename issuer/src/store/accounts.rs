//! Staff accounts (web sign-in) and API tokens (hospital systems), plus the
//! counts the auditors' page shows. Only hashes are stored: an argon2 PHC
//! string per password, a SHA-256 hex digest per token.

use std::fmt;

use rusqlite::{params, OptionalExtension as _};

use super::{PgStore, SqliteStore, Store, StoreError};

/// A staff account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Sign-in name.
    pub username: String,
    /// Shown on the pages.
    pub display_name: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// May manage other accounts (reserved; the CLI does that today).
    pub is_admin: bool,
    /// Wrong passwords since the last successful sign-in.
    pub failed_attempts: u32,
    /// When the account was locked (unix seconds), if it is.
    pub locked_at: Option<i64>,
    /// When it was created (unix seconds).
    pub created_at: i64,
}

/// The password hash stays out of debug output.
impl fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffAccount")
            .field("username", &self.username)
            .field("is_admin", &self.is_admin)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_at", &self.locked_at)
            .finish_non_exhaustive()
    }
}

/// An API token's record (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// Public identifier (printed by `issuer token list`, used to revoke).
    pub token_id: String,
    /// The clinic or system it was given to.
    pub clinic: String,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Revoked (unix seconds), if it is.
    pub revoked_at: Option<i64>,
}

/// Issued / revoked / suspended counts for one period (UTC month `YYYY-MM` or day `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeriodCounts {
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub period: String,
    /// Credentials issued in the period.
    pub issued: u64,
    /// Status changes to revoked in the period.
    pub revoked: u64,
    /// Status changes to suspended in the period.
    pub suspended: u64,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A grouping of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// `YYYY-MM`
    Month,
    /// `YYYY-MM-DD`
    Day,
}

impl Period {
    fn text_len(self) -> i64 {
        match self {
            Period::Month => 7,
            Period::Day => 10,
        }
    }
    fn pg_format(self) -> &'static str {
        match self {
            Period::Month => "YYYY-MM",
            Period::Day => "YYYY-MM-DD",
        }
    }
}

fn merge_periods(issued: Vec<(String, i64)>, changes: Vec<(String, String, i64)>) -> Vec<PeriodCounts> {
    let mut months: std::collections::BTreeMap<String, PeriodCounts> = std::collections::BTreeMap::new();
    for (period, n) in issued {
        months.entry(period.clone()).or_insert_with(|| PeriodCounts { period, ..Default::default() }).issued = count(n);
    }
    for (period, state, n) in changes {
        let entry = months.entry(period.clone()).or_insert_with(|| PeriodCounts { period, ..Default::default() });
        match state.as_str() {
            "revoked" => entry.revoked += count(n),
            "suspended" => entry.suspended += count(n),
            _ => {}
        }
    }
    months.into_values().rev().collect()
}

impl Store {
    /// Creates a staff account. [`StoreError::Duplicate`] when the username is taken.
    pub async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.create_staff(username, display_name, password_hash, is_admin).await,
            Store::Postgres(s) => s.create_staff(username, display_name, password_hash, is_admin).await,
        }
    }

    /// The account with this username, if any.
    pub async fn staff_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        match self {
            Store::Sqlite(s) => s.staff_account(username).await,
            Store::Postgres(s) => s.staff_account(username).await,
        }
    }

    /// Counts a wrong password (atomically) and locks the account when the count
    /// reaches `lock_after`. Returns the account as updated, `None` if unknown.
    pub async fn record_failed_login(
        &self,
        username: &str,
        lock_after: u32,
    ) -> Result<Option<StaffAccount>, StoreError> {
        match self {
            Store::Sqlite(s) => s.record_failed_login(username, lock_after).await?,
            Store::Postgres(s) => s.record_failed_login(username, lock_after).await?,
        }
        self.staff_account(username).await
    }

    /// Clears the failure count after a successful sign-in.
    pub async fn record_successful_login(&self, username: &str) -> Result<(), StoreError> {
        self.reset_staff(username, false).await.map(|_| ())
    }

    /// Unlocks an account and clears its failure count; false if unknown.
    pub async fn unlock_staff(&self, username: &str) -> Result<bool, StoreError> {
        self.reset_staff(username, true).await
    }

    async fn reset_staff(&self, username: &str, unlock: bool) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.reset_staff(username, unlock).await,
            Store::Postgres(s) => s.reset_staff(username, unlock).await,
        }
    }

    /// Stores a new API token's hash. [`StoreError::Duplicate`] when the id or hash exists.
    pub async fn create_api_token(&self, token_id: &str, clinic: &str, token_hash: &str) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.create_api_token(token_id, clinic, token_hash).await,
            Store::Postgres(s) => s.create_api_token(token_id, clinic, token_hash).await,
        }
    }

    /// The unrevoked token with this hash, if any.
    pub async fn active_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.active_api_token(token_hash).await,
            Store::Postgres(s) => s.active_api_token(token_hash).await,
        }
    }

    /// Revokes a token; false when unknown or already revoked.
    pub async fn revoke_api_token(&self, token_id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.revoke_api_token(token_id).await,
            Store::Postgres(s) => s.revoke_api_token(token_id).await,
        }
    }

    /// Every token record, oldest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        match self {
            Store::Sqlite(s) => s.api_tokens().await,
            Store::Postgres(s) => s.api_tokens().await,
        }
    }

    /// Issued, revoked and suspended counts per UTC month or day, newest first.
    pub async fn counts_by(&self, period: Period) -> Result<Vec<PeriodCounts>, StoreError> {
        match self {
            Store::Sqlite(s) => s.counts_by(period).await,
            Store::Postgres(s) => s.counts_by(period).await,
        }
    }
}

fn duplicate_if_constraint(err: rusqlite::Error, what: &str) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Duplicate(what.to_owned())
        }
        _ => StoreError::Sqlite(err),
    }
}

const SELECT_STAFF: &str =
    "SELECT username, display_name, password_hash, is_admin, failed_attempts, locked_at, created_at FROM staff_accounts";

impl SqliteStore {
    async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<(), StoreError> {
        let (u, d, p) = (username.to_owned(), display_name.to_owned(), password_hash.to_owned());
        self.with_connection(move |c| {
            c.execute(
                "INSERT INTO staff_accounts (username, display_name, password_hash, is_admin, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![u, d, p, is_admin, now()],
            )
            .map_err(|e| duplicate_if_constraint(e, &u))?;
            Ok(())
        })
        .await
    }

    async fn staff_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            Ok(c.query_row(&format!("{SELECT_STAFF} WHERE username = ?1"), params![u], |row| {
                Ok(StaffAccount {
                    username: row.get(0)?,
                    display_name: row.get(1)?,
                    password_hash: row.get(2)?,
                    is_admin: row.get(3)?,
                    failed_attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
                    locked_at: row.get(5)?,
                    created_at: row.get(6)?,
                })
            })
            .optional()?)
        })
        .await
    }

    async fn record_failed_login(&self, username: &str, lock_after: u32) -> Result<(), StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            c.execute(
                "UPDATE staff_accounts SET failed_attempts = failed_attempts + 1, \
                 locked_at = CASE WHEN locked_at IS NULL AND failed_attempts + 1 >= ?2 THEN ?3 ELSE locked_at END \
                 WHERE username = ?1",
                params![u, i64::from(lock_after), now()],
            )?;
            Ok(())
        })
        .await
    }

    async fn reset_staff(&self, username: &str, unlock: bool) -> Result<bool, StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            let sql = if unlock {
                "UPDATE staff_accounts SET failed_attempts = 0, locked_at = NULL WHERE username = ?1"
            } else {
                "UPDATE staff_accounts SET failed_attempts = 0 WHERE username = ?1"
            };
            Ok(c.execute(sql, params![u])? > 0)
        })
        .await
    }

    async fn create_api_token(&self, token_id: &str, clinic: &str, token_hash: &str) -> Result<(), StoreError> {
        let (i, c_, h) = (token_id.to_owned(), clinic.to_owned(), token_hash.to_owned());
        self.with_connection(move |c| {
            c.execute(
                "INSERT INTO api_tokens (token_id, clinic, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![i, c_, h, now()],
            )
            .map_err(|e| duplicate_if_constraint(e, &i))?;
            Ok(())
        })
        .await
    }

    async fn active_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        let h = token_hash.to_owned();
        self.with_connection(move |c| {
            Ok(c.query_row(
                "SELECT token_id, clinic, created_at, revoked_at FROM api_tokens \
                 WHERE token_hash = ?1 AND revoked_at IS NULL",
                params![h],
                |row| {
                    Ok(ApiTokenRecord {
                        token_id: row.get(0)?,
                        clinic: row.get(1)?,
                        created_at: row.get(2)?,
                        revoked_at: row.get(3)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn revoke_api_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let i = token_id.to_owned();
        self.with_connection(move |c| {
            Ok(c.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE token_id = ?1 AND revoked_at IS NULL",
                params![i, now()],
            )? > 0)
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        self.with_connection(|c| {
            let rows = c
                .prepare(
                    "SELECT token_id, clinic, created_at, revoked_at FROM api_tokens ORDER BY created_at, token_id",
                )?
                .query_map([], |row| {
                    Ok(ApiTokenRecord {
                        token_id: row.get(0)?,
                        clinic: row.get(1)?,
                        created_at: row.get(2)?,
                        revoked_at: row.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn counts_by(&self, period: Period) -> Result<Vec<PeriodCounts>, StoreError> {
        let len = period.text_len();
        self.with_connection(move |c| {
            let issued = c
                .prepare("SELECT substr(issued_at, 1, ?1) AS m, COUNT(*) FROM credentials GROUP BY m")?
                .query_map(params![len], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let changes = c
                .prepare(
                    "SELECT substr(occurred_at, 1, ?1) AS m, new_state, COUNT(*) FROM status_events \
                     GROUP BY m, new_state",
                )?
                .query_map(params![len], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(merge_periods(issued, changes))
        })
        .await
    }
}

fn pg_duplicate(err: tokio_postgres::Error, what: &str) -> StoreError {
    if err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        StoreError::Duplicate(what.to_owned())
    } else {
        StoreError::Postgres(err)
    }
}

fn pg_staff(row: &tokio_postgres::Row) -> Result<StaffAccount, StoreError> {
    let failed: i64 = row.try_get(4)?;
    Ok(StaffAccount {
        username: row.try_get(0)?,
        display_name: row.try_get(1)?,
        password_hash: row.try_get(2)?,
        is_admin: row.try_get(3)?,
        failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
        locked_at: row.try_get(5)?,
        created_at: row.try_get(6)?,
    })
}

fn pg_token(row: &tokio_postgres::Row) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        token_id: row.try_get(0)?,
        clinic: row.try_get(1)?,
        created_at: row.try_get(2)?,
        revoked_at: row.try_get(3)?,
    })
}

impl PgStore {
    async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO staff_accounts (username, display_name, password_hash, is_admin, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&username, &display_name, &password_hash, &is_admin, &now()],
            )
            .await
            .map_err(|e| pg_duplicate(e, username))?;
        Ok(())
    }

    async fn staff_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt(&format!("{SELECT_STAFF} WHERE username = $1"), &[&username]).await?;
        row.as_ref().map(pg_staff).transpose()
    }

    async fn record_failed_login(&self, username: &str, lock_after: u32) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE staff_accounts SET failed_attempts = failed_attempts + 1, \
                 locked_at = CASE WHEN locked_at IS NULL AND failed_attempts + 1 >= $2 THEN $3 ELSE locked_at END \
                 WHERE username = $1",
                &[&username, &i64::from(lock_after), &now()],
            )
            .await?;
        Ok(())
    }

    async fn reset_staff(&self, username: &str, unlock: bool) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let sql = if unlock {
            "UPDATE staff_accounts SET failed_attempts = 0, locked_at = NULL WHERE username = $1"
        } else {
            "UPDATE staff_accounts SET failed_attempts = 0 WHERE username = $1"
        };
        Ok(client.execute(sql, &[&username]).await? > 0)
    }

    async fn create_api_token(&self, token_id: &str, clinic: &str, token_hash: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO api_tokens (token_id, clinic, token_hash, created_at) VALUES ($1, $2, $3, $4)",
                &[&token_id, &clinic, &token_hash, &now()],
            )
            .await
            .map_err(|e| pg_duplicate(e, token_id))?;
        Ok(())
    }

    async fn active_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT token_id, clinic, created_at, revoked_at FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_at IS NULL",
                &[&token_hash],
            )
            .await?;
        row.as_ref().map(pg_token).transpose()
    }

    async fn revoke_api_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL",
                &[&token_id, &now()],
            )
            .await?
            > 0)
    }

    async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT token_id, clinic, created_at, revoked_at FROM api_tokens ORDER BY created_at, token_id", &[])
            .await?;
        rows.iter().map(pg_token).collect()
    }

    async fn counts_by(&self, period: Period) -> Result<Vec<PeriodCounts>, StoreError> {
        let client = self.pool.get().await?;
        let format = period.pg_format();
        let issued = client
            .query(
                "SELECT to_char(issued_at AT TIME ZONE 'UTC', $1::text) AS m, COUNT(*)::bigint \
                 FROM credentials GROUP BY m",
                &[&format],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let changes = client
            .query(
                "SELECT to_char(occurred_at AT TIME ZONE 'UTC', $1::text) AS m, new_state, COUNT(*)::bigint \
                 FROM status_events GROUP BY m, new_state",
                &[&format],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(merge_periods(issued, changes))
    }
}
