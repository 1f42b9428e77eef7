//! Staff accounts (web sign-in) and API tokens (hospital systems), plus the
//! counts the auditors' page shows. Only hashes are stored: an argon2 PHC
//! string per password, a SHA-256 hex digest per token.

use std::fmt;

use rusqlite::{params, OptionalExtension as _};

use super::{PgStore, SqliteStore, Store, StoreError};
use crate::domain::accounts::{Role, TokenScope};

/// A staff account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Sign-in name.
    pub username: String,
    /// Shown on the pages.
    pub display_name: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// What the account may do (clerk < supervisor < admin).
    pub role: Role,
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
            .field("role", &self.role)
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
    /// What the token may do.
    pub scope: TokenScope,
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

/// How long a staff session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ended after this many seconds without a request.
    pub idle_secs: i64,
    /// Ended this many seconds after sign-in, however busy.
    pub max_secs: i64,
}

impl Default for SessionLimits {
    /// 30 minutes idle, 8 hours at most.
    fn default() -> Self {
        Self { idle_secs: 30 * 60, max_secs: 8 * 3600 }
    }
}

/// One row of the account audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// Unix seconds.
    pub occurred_at: i64,
    /// The authenticated principal (`staff:<username>`, `token:<id> (<clinic>)`,
    /// `cli`, `system`, or `anonymous` for a failed sign-in).
    pub actor: String,
    /// `login`, `logout`, `login_failed`, `locked`, `password_changed`, `role_changed`,
    /// `staff_added`, `staff_removed`, `unlocked`, `token_created`, `token_revoked`.
    pub action: String,
    /// The account (`staff:<username>`) or token (`token:<id> (<clinic>)`) acted on.
    pub subject: String,
    /// Free text without secrets (e.g. `supervisor -> clerk`, `session 1a2b3c4d`).
    pub detail: String,
}

impl AccountEvent {
    /// An event happening now.
    pub fn now(actor: impl Into<String>, action: &str, subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            occurred_at: now(),
            actor: actor.into(),
            action: action.to_owned(),
            subject: subject.into(),
            detail: detail.into(),
        }
    }
}

fn role_of(text: &str) -> Role {
    // The column's CHECK allows only known roles; anything else gets the least.
    Role::parse(text).unwrap_or(Role::Clerk)
}

fn scope_of(text: &str) -> TokenScope {
    // The column's CHECK allows only known scopes; anything else gets the narrowest.
    TokenScope::parse(text).unwrap_or(TokenScope::Status)
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
        role: Role,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.create_staff(username, display_name, password_hash, role).await,
            Store::Postgres(s) => s.create_staff(username, display_name, password_hash, role).await,
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
    /// reaches `lock_after`; a locked account's sessions are ended. Returns the
    /// account as updated, `None` if unknown.
    pub async fn record_failed_login(
        &self,
        username: &str,
        lock_after: u32,
    ) -> Result<Option<StaffAccount>, StoreError> {
        match self {
            Store::Sqlite(s) => s.record_failed_login(username, lock_after).await?,
            Store::Postgres(s) => s.record_failed_login(username, lock_after).await?,
        }
        let account = self.staff_account(username).await?;
        if account.as_ref().is_some_and(|a| a.locked_at.is_some()) {
            self.end_sessions_of(username).await?;
        }
        Ok(account)
    }

    /// Every staff account, by username.
    pub async fn staff_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        match self {
            Store::Sqlite(s) => s.staff_accounts().await,
            Store::Postgres(s) => s.staff_accounts().await,
        }
    }

    /// Changes an account's role; false if unknown. Takes effect on the account's
    /// next request (the role is read on every request).
    pub async fn set_staff_role(&self, username: &str, role: Role) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.set_staff_role(username, role).await,
            Store::Postgres(s) => s.set_staff_role(username, role).await,
        }
    }

    /// Replaces an account's password hash and ends all its sessions, in one
    /// transaction; false if unknown.
    pub async fn set_staff_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.set_staff_password(username, password_hash).await,
            Store::Postgres(s) => s.set_staff_password(username, password_hash).await,
        }
    }

    /// Deletes an account and its sessions, in one transaction; false if unknown.
    pub async fn remove_staff(&self, username: &str) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.remove_staff(username).await,
            Store::Postgres(s) => s.remove_staff(username).await,
        }
    }

    /// Records a new session (`id_hash`: hex SHA-256 of the cookie's id) for `username` at `now`.
    pub async fn create_session(&self, id_hash: &str, username: &str, now: i64) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.create_session(id_hash, username, now).await,
            Store::Postgres(s) => s.create_session(id_hash, username, now).await,
        }
    }

    /// The username of a live session, marking it seen at `now`: `None` when the
    /// session is unknown, ended, idle for `limits.idle_secs` or older than
    /// `limits.max_secs` (one atomic statement: an expired session is never revived).
    pub async fn resume_session(
        &self,
        id_hash: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.resume_session(id_hash, now, limits).await,
            Store::Postgres(s) => s.resume_session(id_hash, now, limits).await,
        }
    }

    /// Ends one session; returns whose it was, `None` when there was none.
    pub async fn end_session(&self, id_hash: &str) -> Result<Option<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.end_session(id_hash).await,
            Store::Postgres(s) => s.end_session(id_hash).await,
        }
    }

    /// Ends every session of `username`; returns how many there were.
    pub async fn end_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.end_sessions_of(username).await,
            Store::Postgres(s) => s.end_sessions_of(username).await,
        }
    }

    /// Deletes the sessions that have expired by `now`; returns how many.
    pub async fn purge_sessions(&self, now: i64, limits: SessionLimits) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.purge_sessions(now, limits).await,
            Store::Postgres(s) => s.purge_sessions(now, limits).await,
        }
    }

    /// Appends to the account audit trail.
    pub async fn record_account_event(&self, event: &AccountEvent) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.record_account_event(event.clone()).await,
            Store::Postgres(s) => s.record_account_event(event).await,
        }
    }

    /// The newest `limit` account events, newest first.
    pub async fn account_events(&self, limit: u32) -> Result<Vec<AccountEvent>, StoreError> {
        match self {
            Store::Sqlite(s) => s.account_events(limit).await,
            Store::Postgres(s) => s.account_events(limit).await,
        }
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
    pub async fn create_api_token(
        &self,
        token_id: &str,
        clinic: &str,
        token_hash: &str,
        scope: TokenScope,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.create_api_token(token_id, clinic, token_hash, scope).await,
            Store::Postgres(s) => s.create_api_token(token_id, clinic, token_hash, scope).await,
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
    "SELECT username, display_name, password_hash, role, failed_attempts, locked_at, created_at FROM staff_accounts";
const SELECT_TOKEN: &str = "SELECT token_id, clinic, scope, created_at, revoked_at FROM api_tokens";

fn sqlite_staff(row: &rusqlite::Row<'_>) -> rusqlite::Result<StaffAccount> {
    Ok(StaffAccount {
        username: row.get(0)?,
        display_name: row.get(1)?,
        password_hash: row.get(2)?,
        role: role_of(&row.get::<_, String>(3)?),
        failed_attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        locked_at: row.get(5)?,
        created_at: row.get(6)?,
    })
}

fn sqlite_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        token_id: row.get(0)?,
        clinic: row.get(1)?,
        scope: scope_of(&row.get::<_, String>(2)?),
        created_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

impl SqliteStore {
    async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        let (u, d, p) = (username.to_owned(), display_name.to_owned(), password_hash.to_owned());
        self.with_connection(move |c| {
            c.execute(
                "INSERT INTO staff_accounts (username, display_name, password_hash, is_admin, role, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![u, d, p, role == Role::Admin, role.as_str(), now()],
            )
            .map_err(|e| duplicate_if_constraint(e, &u))?;
            Ok(())
        })
        .await
    }

    async fn staff_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            Ok(c.query_row(&format!("{SELECT_STAFF} WHERE username = ?1"), params![u], sqlite_staff).optional()?)
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

    async fn create_api_token(
        &self,
        token_id: &str,
        clinic: &str,
        token_hash: &str,
        scope: TokenScope,
    ) -> Result<(), StoreError> {
        let (i, c_, h) = (token_id.to_owned(), clinic.to_owned(), token_hash.to_owned());
        self.with_connection(move |c| {
            c.execute(
                "INSERT INTO api_tokens (token_id, clinic, token_hash, scope, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![i, c_, h, scope.as_str(), now()],
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
                &format!("{SELECT_TOKEN} WHERE token_hash = ?1 AND revoked_at IS NULL"),
                params![h],
                sqlite_token,
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
                .prepare(&format!("{SELECT_TOKEN} ORDER BY created_at, token_id"))?
                .query_map([], sqlite_token)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn staff_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        self.with_connection(|c| {
            Ok(c.prepare(&format!("{SELECT_STAFF} ORDER BY username"))?
                .query_map([], sqlite_staff)?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn set_staff_role(&self, username: &str, role: Role) -> Result<bool, StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            Ok(c.execute(
                "UPDATE staff_accounts SET role = ?2, is_admin = ?3 WHERE username = ?1",
                params![u, role.as_str(), role == Role::Admin],
            )? > 0)
        })
        .await
    }

    async fn set_staff_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let (u, p) = (username.to_owned(), password_hash.to_owned());
        self.with_connection(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed =
                tx.execute("UPDATE staff_accounts SET password_hash = ?2 WHERE username = ?1", params![u, p])? > 0;
            tx.execute("DELETE FROM staff_sessions WHERE username = ?1", params![u])?;
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    async fn remove_staff(&self, username: &str) -> Result<bool, StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM staff_sessions WHERE username = ?1", params![u])?;
            let removed = tx.execute("DELETE FROM staff_accounts WHERE username = ?1", params![u])? > 0;
            tx.commit()?;
            Ok(removed)
        })
        .await
    }

    async fn create_session(&self, id_hash: &str, username: &str, now: i64) -> Result<(), StoreError> {
        let (h, u) = (id_hash.to_owned(), username.to_owned());
        self.with_connection(move |c| {
            c.execute(
                "INSERT INTO staff_sessions (id_hash, username, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
                params![h, u, now],
            )
            .map_err(|e| duplicate_if_constraint(e, "session"))?;
            Ok(())
        })
        .await
    }

    async fn resume_session(
        &self,
        id_hash: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<Option<String>, StoreError> {
        let h = id_hash.to_owned();
        self.with_connection(move |c| {
            Ok(c.query_row(
                "UPDATE staff_sessions SET last_seen_at = ?2 \
                 WHERE id_hash = ?1 AND last_seen_at + ?3 > ?2 AND created_at + ?4 > ?2 RETURNING username",
                params![h, now, limits.idle_secs, limits.max_secs],
                |row| row.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn end_session(&self, id_hash: &str) -> Result<Option<String>, StoreError> {
        let h = id_hash.to_owned();
        self.with_connection(move |c| {
            Ok(c.query_row("DELETE FROM staff_sessions WHERE id_hash = ?1 RETURNING username", params![h], |row| {
                row.get(0)
            })
            .optional()?)
        })
        .await
    }

    async fn end_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        let u = username.to_owned();
        self.with_connection(move |c| {
            Ok(c.execute("DELETE FROM staff_sessions WHERE username = ?1", params![u])? as u64)
        })
        .await
    }

    async fn purge_sessions(&self, now: i64, limits: SessionLimits) -> Result<u64, StoreError> {
        self.with_connection(move |c| {
            Ok(c.execute(
                "DELETE FROM staff_sessions WHERE last_seen_at + ?2 <= ?1 OR created_at + ?3 <= ?1",
                params![now, limits.idle_secs, limits.max_secs],
            )? as u64)
        })
        .await
    }

    async fn record_account_event(&self, e: AccountEvent) -> Result<(), StoreError> {
        self.with_connection(move |c| {
            c.execute(
                "INSERT INTO account_events (occurred_at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![e.occurred_at, e.actor, e.action, e.subject, e.detail],
            )?;
            Ok(())
        })
        .await
    }

    async fn account_events(&self, limit: u32) -> Result<Vec<AccountEvent>, StoreError> {
        self.with_connection(move |c| {
            Ok(c.prepare(
                "SELECT occurred_at, actor, action, subject, detail FROM account_events ORDER BY seq DESC LIMIT ?1",
            )?
            .query_map(params![i64::from(limit)], |row| {
                Ok(AccountEvent {
                    occurred_at: row.get(0)?,
                    actor: row.get(1)?,
                    action: row.get(2)?,
                    subject: row.get(3)?,
                    detail: row.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?)
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
        role: role_of(row.try_get(3)?),
        failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
        locked_at: row.try_get(5)?,
        created_at: row.try_get(6)?,
    })
}

fn pg_token(row: &tokio_postgres::Row) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        token_id: row.try_get(0)?,
        clinic: row.try_get(1)?,
        scope: scope_of(row.try_get(2)?),
        created_at: row.try_get(3)?,
        revoked_at: row.try_get(4)?,
    })
}

impl PgStore {
    async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO staff_accounts (username, display_name, password_hash, is_admin, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&username, &display_name, &password_hash, &(role == Role::Admin), &role.as_str(), &now()],
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

    async fn create_api_token(
        &self,
        token_id: &str,
        clinic: &str,
        token_hash: &str,
        scope: TokenScope,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO api_tokens (token_id, clinic, token_hash, scope, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&token_id, &clinic, &token_hash, &scope.as_str(), &now()],
            )
            .await
            .map_err(|e| pg_duplicate(e, token_id))?;
        Ok(())
    }

    async fn active_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(&format!("{SELECT_TOKEN} WHERE token_hash = $1 AND revoked_at IS NULL"), &[&token_hash])
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
        let rows = client.query(&format!("{SELECT_TOKEN} ORDER BY created_at, token_id"), &[]).await?;
        rows.iter().map(pg_token).collect()
    }

    async fn staff_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        let client = self.pool.get().await?;
        client.query(&format!("{SELECT_STAFF} ORDER BY username"), &[]).await?.iter().map(pg_staff).collect()
    }

    async fn set_staff_role(&self, username: &str, role: Role) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "UPDATE staff_accounts SET role = $2, is_admin = $3 WHERE username = $1",
                &[&username, &role.as_str(), &(role == Role::Admin)],
            )
            .await?
            > 0)
    }

    async fn set_staff_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute("UPDATE staff_accounts SET password_hash = $2 WHERE username = $1", &[&username, &password_hash])
            .await?
            > 0;
        tx.execute("DELETE FROM staff_sessions WHERE username = $1", &[&username]).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn remove_staff(&self, username: &str) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM staff_sessions WHERE username = $1", &[&username]).await?;
        let removed = tx.execute("DELETE FROM staff_accounts WHERE username = $1", &[&username]).await? > 0;
        tx.commit().await?;
        Ok(removed)
    }

    async fn create_session(&self, id_hash: &str, username: &str, now: i64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO staff_sessions (id_hash, username, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
                &[&id_hash, &username, &now],
            )
            .await
            .map_err(|e| pg_duplicate(e, "session"))?;
        Ok(())
    }

    async fn resume_session(
        &self,
        id_hash: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "UPDATE staff_sessions SET last_seen_at = $2 \
                 WHERE id_hash = $1 AND last_seen_at + $3 > $2 AND created_at + $4 > $2 RETURNING username",
                &[&id_hash, &now, &limits.idle_secs, &limits.max_secs],
            )
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn end_session(&self, id_hash: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row =
            client.query_opt("DELETE FROM staff_sessions WHERE id_hash = $1 RETURNING username", &[&id_hash]).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn end_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client.execute("DELETE FROM staff_sessions WHERE username = $1", &[&username]).await?)
    }

    async fn purge_sessions(&self, now: i64, limits: SessionLimits) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "DELETE FROM staff_sessions WHERE last_seen_at + $2 <= $1 OR created_at + $3 <= $1",
                &[&now, &limits.idle_secs, &limits.max_secs],
            )
            .await?)
    }

    async fn record_account_event(&self, e: &AccountEvent) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO account_events (occurred_at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
                &[&e.occurred_at, &e.actor, &e.action, &e.subject, &e.detail],
            )
            .await?;
        Ok(())
    }

    async fn account_events(&self, limit: u32) -> Result<Vec<AccountEvent>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT occurred_at, actor, action, subject, detail FROM account_events ORDER BY seq DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountEvent {
                    occurred_at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    action: r.try_get(2)?,
                    subject: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
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
