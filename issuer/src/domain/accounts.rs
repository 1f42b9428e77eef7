//! Who may do what: clinic staff (web sign-in, argon2 password hashes, lock-out
//! after [`LOCK_AFTER`] wrong passwords) and hospital systems (API tokens,
//! `Authorization: Bearer …`, only a SHA-256 of each token stored).
//!
//! Staff have a [`Role`] (clerk < supervisor < admin) and tokens a [`TokenScope`];
//! each route declares the least it needs where it is registered (the HTTP layer's
//! access table).
//! Account actions are written to the `account_events` audit trail with the
//! authenticated principal as actor.
//!
//! The command-line side (`issuer staff …`, `issuer token …`) is
//! [`crate::cli::accounts`].

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::store::{AccountEvent, ApiTokenRecord, SessionLimits, StaffAccount, Store, StoreError};

/// Wrong passwords in a row that lock an account.
pub const LOCK_AFTER: u32 = 5;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

pub use super::roles::{Role, TokenScope};

/// The audit name of a staff member: `staff:<username>`.
pub fn staff_principal(username: &str) -> String {
    format!("staff:{username}")
}

/// The audit name of a token: `token:<id> (<clinic>)`.
pub fn token_principal(token_id: &str, clinic: &str) -> String {
    format!("token:{token_id} ({clinic})")
}

/// The actor recorded for the command line.
pub const CLI_ACTOR: &str = "cli";

/// Argon2id (default parameters: 19 MiB, 2 passes) PHC string of `password`.
///
/// # Errors
/// Only when the hasher fails (it does not for these parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Whether `password` matches the argon2 PHC string `hash`, checked on the CPU pool.
///
/// # Errors
/// When the pool is full or the deadline passed.
pub async fn check_password(
    cpu: &service_http::cpu_pool::CpuPool,
    hash: &str,
    password: &str,
) -> Result<bool, service_http::cpu_pool::CpuPoolError> {
    let (hash, password) = (hash.to_owned(), password.to_owned());
    cpu.run(move || password_matches(&hash, &password)).await
}

/// [`hash_password`] on the CPU pool.
///
/// # Errors
/// When the pool is full or the deadline passed, or the hasher fails.
pub async fn hash_password_on(cpu: &service_http::cpu_pool::CpuPool, password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    cpu.run(move || hash_password(&password)).await?
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInError {
    /// Unknown user or wrong password, the account locked or not (not told
    /// apart: a wrong password never tells whether a name exists).
    BadCredentials,
    /// The right password of an account locked after too many wrong ones.
    Locked,
    /// The CPU pool is full (or the deadline passed): try again shortly. The
    /// password was not checked and nothing counts towards the lock-out.
    Busy,
}

/// Why a sign-in failed, told apart for the audit trail only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    UnknownUser,
    WrongPassword,
    /// The right password, the account locked.
    Locked,
    /// A wrong password, the account already locked.
    WrongPasswordLocked,
    LockedNow,
    /// The pool was full: the password was not checked.
    Busy,
}

/// Checks a username and password. A wrong password counts towards the lock-out;
/// a locked account is refused even with the right password. Failures and
/// lock-outs go to the audit trail (actor `anonymous`: nobody is authenticated yet;
/// `client` is the peer address; the subject only when the account exists). The
/// argon2 hash runs on the CPU pool `cpu` (so at most one per pool thread, one per
/// core by default); when the pool is full nothing is checked or recorded.
///
/// # Errors
/// [`SignInError`] for the user; [`StoreError`] when the store fails.
pub async fn sign_in(
    store: &Store,
    cpu: &service_http::cpu_pool::CpuPool,
    username: &str,
    password: &str,
    client: &str,
) -> Result<Result<StaffAccount, SignInError>, StoreError> {
    let failure = match check_sign_in(store, cpu, username, password).await? {
        Ok(account) => return Ok(Ok(account)),
        Err(Failure::Busy) => return Ok(Err(SignInError::Busy)),
        Err(failure) => failure,
    };
    let subject = if failure == Failure::UnknownUser { "unknown".to_owned() } else { staff_principal(username) };
    let detail = format!("from {client}");
    store.record_account_event(&AccountEvent::now("anonymous", "login_failed", subject.clone(), detail)).await?;
    if failure == Failure::LockedNow {
        let event = AccountEvent::now("system", "locked", subject, format!("after {LOCK_AFTER} wrong passwords"));
        store.record_account_event(&event).await?;
    }
    Ok(Err(match failure {
        Failure::UnknownUser | Failure::WrongPassword | Failure::WrongPasswordLocked | Failure::LockedNow => {
            SignInError::BadCredentials
        }
        Failure::Locked => SignInError::Locked,
        Failure::Busy => SignInError::Busy,
    }))
}

async fn check_sign_in(
    store: &Store,
    cpu: &service_http::cpu_pool::CpuPool,
    username: &str,
    password: &str,
) -> Result<Result<StaffAccount, Failure>, StoreError> {
    let account = store.staff_account(username).await?;
    // Hash even for unknown users so timing does not tell which usernames exist.
    let hash = account.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
    let password = password.to_owned();
    let Ok(matches) = cpu.run(move || password_matches(&hash, &password)).await else {
        return Ok(Err(Failure::Busy));
    };
    let Some(account) = account else { return Ok(Err(Failure::UnknownUser)) };
    if account.locked_at.is_some() {
        return Ok(Err(if matches { Failure::Locked } else { Failure::WrongPasswordLocked }));
    }
    if !matches {
        let updated = store.record_failed_login(username, LOCK_AFTER).await?;
        tracing::warn!(failed_attempts = updated.as_ref().map_or(0, |a| a.failed_attempts), "failed sign-in");
        return Ok(Err(if updated.is_some_and(|a| a.locked_at.is_some()) {
            Failure::LockedNow
        } else {
            Failure::WrongPassword
        }));
    }
    store.record_successful_login(username).await?;
    Ok(Ok(account))
}

/// A valid argon2 hash of a random string, used to spend the same time on unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Jpl0QbtIJmrVIAjUJ7ihKzw7ZT3ZL4hyCmuCKn3kxw";

/// Why a password change was refused, or failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PasswordChangeError {
    /// The current password is wrong (counted towards the lock-out), or the account is gone.
    WrongCurrent,
    /// The new password is shorter than [`MIN_PASSWORD_CHARS`].
    TooShort,
    /// The new password and its repetition differ.
    Mismatch,
    /// The new password is the current one.
    Unchanged,
    /// The store, the CPU pool or the hasher failed; the cause is for the logs only.
    Internal(String),
}

impl std::fmt::Display for PasswordChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WrongCurrent => f.write_str("wrong current password"),
            Self::TooShort => f.write_str("new password too short"),
            Self::Mismatch => f.write_str("new password and repetition differ"),
            Self::Unchanged => f.write_str("new password equals the current one"),
            Self::Internal(cause) => f.write_str(cause),
        }
    }
}

impl std::error::Error for PasswordChangeError {}

/// `username` changes their own password: the current one is checked (a wrong one
/// counts like a wrong sign-in; the fifth locks the account and ends its sessions),
/// then the new one (length, repetition, not the same); the change ends every
/// session of the account. Recorded in the audit trail by `principal`.
///
/// # Errors
/// [`PasswordChangeError`].
pub async fn change_password(
    store: &Store,
    cpu: &service_http::cpu_pool::CpuPool,
    username: &str,
    principal: &str,
    current: &str,
    new: &str,
    repeat: &str,
) -> Result<(), PasswordChangeError> {
    let internal = |e: &dyn std::fmt::Display| PasswordChangeError::Internal(e.to_string());
    let account = match store.staff_account(username).await {
        Ok(Some(account)) => account,
        Ok(None) => return Err(PasswordChangeError::WrongCurrent),
        Err(e) => return Err(internal(&e)),
    };
    if !check_password(cpu, &account.password_hash, current).await.map_err(|e| internal(&e))? {
        let recorded = async {
            let updated = store.record_failed_login(username, LOCK_AFTER).await?;
            let event = AccountEvent::now(principal.to_owned(), "password_change_failed", principal.to_owned(), "");
            store.record_account_event(&event).await?;
            if updated.is_some_and(|u| u.locked_at.is_some()) {
                let detail = format!("after {LOCK_AFTER} wrong passwords");
                store
                    .record_account_event(&AccountEvent::now("system", "locked", principal.to_owned(), detail))
                    .await?;
            }
            Ok::<_, StoreError>(())
        };
        recorded.await.map_err(|e| internal(&e))?;
        return Err(PasswordChangeError::WrongCurrent);
    }
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordChangeError::TooShort);
    }
    if new != repeat {
        return Err(PasswordChangeError::Mismatch);
    }
    if new == current {
        return Err(PasswordChangeError::Unchanged);
    }
    let hash = hash_password_on(cpu, new).await.map_err(|e| internal(&e))?;
    let changed = async {
        store.record_successful_login(username).await?;
        let found = store.set_staff_password(username, &hash).await?;
        let event = AccountEvent::now(principal.to_owned(), "password_changed", principal.to_owned(), "sessions ended");
        store.record_account_event(&event).await?;
        Ok::<_, StoreError>(found)
    };
    if changed.await.map_err(|e| internal(&e))? {
        Ok(())
    } else {
        Err(PasswordChangeError::WrongCurrent)
    }
}

/// The API token with this text, if it is a valid, unrevoked one.
///
/// # Errors
/// The store's.
pub async fn api_token(store: &Store, token: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
    store.active_api_token(&token_hash(token)).await
}

/// A staff session (by the hash of its id) that is live (not ended, idle or too
/// old; this marks it seen), with its account's name and role, when the account
/// still exists and is not locked.
///
/// # Errors
/// The store's.
pub async fn resume_session(
    store: &Store,
    session_hash: &str,
    limits: SessionLimits,
) -> Result<Option<(String, Role)>, StoreError> {
    let now = chrono::Utc::now().timestamp();
    let Some(username) = store.resume_session(session_hash, now, limits).await? else { return Ok(None) };
    let account = store.staff_account(&username).await?;
    Ok(account.filter(|a| a.locked_at.is_none()).map(|a| (username, a.role)))
}

/// Records a new staff session (by the hash of its id) and the audit event
/// `action` by the account itself; expired sessions are purged on the way.
///
/// # Errors
/// The store's.
pub async fn open_session(
    store: &Store,
    session_hash: &str,
    username: &str,
    action: &str,
    limits: SessionLimits,
) -> Result<(), StoreError> {
    let now = chrono::Utc::now().timestamp();
    let purged = store.purge_sessions(now, limits).await?;
    if purged > 0 {
        tracing::debug!(purged, "expired staff sessions purged");
    }
    store.create_session(session_hash, username, now).await?;
    let actor = staff_principal(username);
    let detail = format!("session {}", session_hash.get(..8).unwrap_or(session_hash));
    store.record_account_event(&AccountEvent::now(actor.clone(), action, actor, detail)).await
}

/// Ends a staff session (by the hash of its id) and records `logout` by `principal`.
///
/// # Errors
/// The store's.
pub async fn close_session(store: &Store, session_hash: &str, principal: &str) -> Result<(), StoreError> {
    store.end_session(session_hash).await?;
    let detail = format!("session {}", session_hash.get(..8).unwrap_or(session_hash));
    store.record_account_event(&AccountEvent::now(principal.to_owned(), "logout", principal.to_owned(), detail)).await
}

/// The hex SHA-256 under which a token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates an API token for `clinic` with scope `all`; returns `(token_id, token)`.
/// See [`create_scoped_api_token`].
///
/// # Errors
/// When the store fails.
pub async fn create_api_token(store: &Store, clinic: &str) -> Result<(String, String), StoreError> {
    create_scoped_api_token(store, clinic, TokenScope::All).await
}

/// Creates an API token for `clinic` limited to `scope`; returns `(token_id, token)`.
/// The token is shown once: only its hash is stored.
///
/// # Errors
/// When the store fails.
pub async fn create_scoped_api_token(
    store: &Store,
    clinic: &str,
    scope: TokenScope,
) -> Result<(String, String), StoreError> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut id);
    rand::thread_rng().fill_bytes(&mut secret);
    let token_id = hex::encode(id);
    let token = format!("ect_{token_id}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    store.create_api_token(&token_id, clinic, &token_hash(&token), scope).await?;
    Ok((token_id, token))
}

/// A `reqwest` client that sends a fresh API token with every request: for tests
/// and tools talking to an issuer whose store they can open.
///
/// # Errors
/// When the store cannot be opened or written.
pub async fn authorized_client(settings: &crate::config::Settings) -> anyhow::Result<reqwest::Client> {
    let store = Store::connect(&settings.store_url()).await?;
    let (_, token) = create_api_token(&store, "test").await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    // Tests and tools name the issuer themselves (often on loopback).
    Ok(service_http::outbound::client_builder(service_http::outbound::PrivateAddresses::Allowed)
        .default_headers(headers)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify_and_the_dummy_hash_parses() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(password_matches(&hash, "correct horse battery"));
        assert!(!password_matches(&hash, "wrong"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!password_matches(DUMMY_HASH, ""));
    }
}
