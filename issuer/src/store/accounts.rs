//! Staff accounts (web sign-in) and API tokens (hospital systems), plus the
//! counts the auditors' page shows. Only hashes are stored: an argon2 PHC
//! string per password, a SHA-256 hex digest per token.

use std::fmt;

use super::backend::{args, duplicate_as, Mode, Row};
use super::{Store, StoreError};
use crate::domain::roles::{Role, TokenScope};

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

pub use super::backend::Period;

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

const SELECT_STAFF: &str =
    "SELECT username, display_name, password_hash, role, failed_attempts, locked_at, created_at FROM staff_accounts";
const SELECT_TOKEN: &str = "SELECT token_id, clinic, scope, created_at, revoked_at FROM api_tokens";

impl Store {
    /// Creates a staff account. [`StoreError::Duplicate`] when the username is taken.
    pub async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        self.session()
            .await?
            .execute(
                "INSERT INTO staff_accounts (username, display_name, password_hash, is_admin, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &args![username, display_name, password_hash, role == Role::Admin, role.as_str(), now()],
            )
            .await
            .map_err(|err| duplicate_as(err, username))?;
        Ok(())
    }

    /// The account with this username, if any.
    pub async fn staff_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        let row =
            self.session().await?.query_opt(&format!("{SELECT_STAFF} WHERE username = $1"), &args![username]).await?;
        row.as_ref().map(decode_staff).transpose()
    }

    /// Counts a wrong password (atomically) and locks the account when the count
    /// reaches `lock_after`; a locked account's sessions are ended. Returns the
    /// account as updated, `None` if unknown.
    pub async fn record_failed_login(
        &self,
        username: &str,
        lock_after: u32,
    ) -> Result<Option<StaffAccount>, StoreError> {
        self.session()
            .await?
            .execute(
                "UPDATE staff_accounts SET failed_attempts = failed_attempts + 1, \
                 locked_at = CASE WHEN locked_at IS NULL AND failed_attempts + 1 >= $2 THEN $3 ELSE locked_at END \
                 WHERE username = $1",
                &args![username, i64::from(lock_after), now()],
            )
            .await?;
        let account = self.staff_account(username).await?;
        if account.as_ref().is_some_and(|a| a.locked_at.is_some()) {
            self.end_sessions_of(username).await?;
        }
        Ok(account)
    }

    /// Every staff account, by username.
    pub async fn staff_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        let rows = self.session().await?.query(&format!("{SELECT_STAFF} ORDER BY username"), &[]).await?;
        rows.iter().map(decode_staff).collect()
    }

    /// Changes an account's role; false if unknown. Takes effect on the account's
    /// next request (the role is read on every request).
    pub async fn set_staff_role(&self, username: &str, role: Role) -> Result<bool, StoreError> {
        let changed = self
            .session()
            .await?
            .execute(
                "UPDATE staff_accounts SET role = $2, is_admin = $3 WHERE username = $1",
                &args![username, role.as_str(), role == Role::Admin],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Replaces an account's password hash and ends all its sessions, in one
    /// transaction; false if unknown.
    pub async fn set_staff_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        let changed = tx
            .execute(
                "UPDATE staff_accounts SET password_hash = $2 WHERE username = $1",
                &args![username, password_hash],
            )
            .await?
            > 0;
        tx.execute("DELETE FROM staff_sessions WHERE username = $1", &args![username]).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes an account and its sessions, in one transaction; false if unknown.
    pub async fn remove_staff(&self, username: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        tx.execute("DELETE FROM staff_sessions WHERE username = $1", &args![username]).await?;
        let removed = tx.execute("DELETE FROM staff_accounts WHERE username = $1", &args![username]).await? > 0;
        tx.commit().await?;
        Ok(removed)
    }

    /// Records a new session (`id_hash`: hex SHA-256 of the cookie's id) for `username` at `now`.
    pub async fn create_session(&self, id_hash: &str, username: &str, now: i64) -> Result<(), StoreError> {
        self.session()
            .await?
            .execute(
                "INSERT INTO staff_sessions (id_hash, username, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
                &args![id_hash, username, now],
            )
            .await
            .map_err(|err| duplicate_as(err, "session"))?;
        Ok(())
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
        let row = self
            .session()
            .await?
            .query_opt(
                "UPDATE staff_sessions SET last_seen_at = $2 \
                 WHERE id_hash = $1 AND last_seen_at + $3 > $2 AND created_at + $4 > $2 RETURNING username",
                &args![id_hash, now, limits.idle_secs, limits.max_secs],
            )
            .await?;
        row.map(|row| row.get(0)).transpose()
    }

    /// Ends one session; returns whose it was, `None` when there was none.
    pub async fn end_session(&self, id_hash: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .session()
            .await?
            .query_opt("DELETE FROM staff_sessions WHERE id_hash = $1 RETURNING username", &args![id_hash])
            .await?;
        row.map(|row| row.get(0)).transpose()
    }

    /// Ends every session of `username`; returns how many there were.
    pub async fn end_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        self.session().await?.execute("DELETE FROM staff_sessions WHERE username = $1", &args![username]).await
    }

    /// Deletes the sessions that have expired by `now`; returns how many.
    pub async fn purge_sessions(&self, now: i64, limits: SessionLimits) -> Result<u64, StoreError> {
        self.session()
            .await?
            .execute(
                "DELETE FROM staff_sessions WHERE last_seen_at + $2 <= $1 OR created_at + $3 <= $1",
                &args![now, limits.idle_secs, limits.max_secs],
            )
            .await
    }

    /// Appends to the account audit trail.
    pub async fn record_account_event(&self, e: &AccountEvent) -> Result<(), StoreError> {
        self.session()
            .await?
            .execute(
                "INSERT INTO account_events (occurred_at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
                &args![e.occurred_at, &e.actor, &e.action, &e.subject, &e.detail],
            )
            .await?;
        Ok(())
    }

    /// The newest `limit` account events, newest first.
    pub async fn account_events(&self, limit: u32) -> Result<Vec<AccountEvent>, StoreError> {
        let rows = self
            .session()
            .await?
            .query(
                "SELECT occurred_at, actor, action, subject, detail FROM account_events ORDER BY seq DESC LIMIT $1",
                &args![i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountEvent {
                    occurred_at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    subject: r.get(3)?,
                    detail: r.get(4)?,
                })
            })
            .collect()
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
        let sql = if unlock {
            "UPDATE staff_accounts SET failed_attempts = 0, locked_at = NULL WHERE username = $1"
        } else {
            "UPDATE staff_accounts SET failed_attempts = 0 WHERE username = $1"
        };
        Ok(self.session().await?.execute(sql, &args![username]).await? > 0)
    }

    /// Stores a new API token's hash. [`StoreError::Duplicate`] when the id or hash exists.
    pub async fn create_api_token(
        &self,
        token_id: &str,
        clinic: &str,
        token_hash: &str,
        scope: TokenScope,
    ) -> Result<(), StoreError> {
        self.session()
            .await?
            .execute(
                "INSERT INTO api_tokens (token_id, clinic, token_hash, scope, created_at) VALUES ($1, $2, $3, $4, $5)",
                &args![token_id, clinic, token_hash, scope.as_str(), now()],
            )
            .await
            .map_err(|err| duplicate_as(err, token_id))?;
        Ok(())
    }

    /// The unrevoked token with this hash, if any.
    pub async fn active_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = self
            .session()
            .await?
            .query_opt(&format!("{SELECT_TOKEN} WHERE token_hash = $1 AND revoked_at IS NULL"), &args![token_hash])
            .await?;
        row.as_ref().map(decode_token).transpose()
    }

    /// Revokes a token; false when unknown or already revoked.
    pub async fn revoke_api_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let changed = self
            .session()
            .await?
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL",
                &args![token_id, now()],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Every token record, oldest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = self.session().await?.query(&format!("{SELECT_TOKEN} ORDER BY created_at, token_id"), &[]).await?;
        rows.iter().map(decode_token).collect()
    }

    /// Issued, revoked and suspended counts per UTC month or day, newest first.
    pub async fn counts_by(&self, period: Period) -> Result<Vec<PeriodCounts>, StoreError> {
        let mut session = self.session().await?;
        let dialect = session.dialect();
        let issued = session
            .query(
                &format!(
                    "SELECT {} AS m, COUNT(*) FROM credentials GROUP BY m",
                    dialect.period_of("issued_at", period)
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let changes = session
            .query(
                &format!(
                    "SELECT {} AS m, new_state, COUNT(*) FROM status_events GROUP BY m, new_state",
                    dialect.period_of("occurred_at", period)
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(merge_periods(issued, changes))
    }
}

fn decode_staff(row: &Row) -> Result<StaffAccount, StoreError> {
    Ok(StaffAccount {
        username: row.get(0)?,
        display_name: row.get(1)?,
        password_hash: row.get(2)?,
        role: role_of(&row.get::<String>(3)?),
        failed_attempts: u32::try_from(row.get::<i64>(4)?).unwrap_or(u32::MAX),
        locked_at: row.get(5)?,
        created_at: row.get(6)?,
    })
}

fn decode_token(row: &Row) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        token_id: row.get(0)?,
        clinic: row.get(1)?,
        scope: scope_of(&row.get::<String>(2)?),
        created_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}
