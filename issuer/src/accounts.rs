//! Who may do what: clinic staff (web sign-in, argon2 password hashes, lock-out
//! after [`LOCK_AFTER`] wrong passwords) and hospital systems (API tokens,
//! `Authorization: Bearer …`, only a SHA-256 of each token stored).
//!
//! The CLI (`issuer staff …`, `issuer token …`) works on the store directly, like
//! `issuer status …`. Passwords come from an environment variable or stdin, never argv.

use std::io::BufRead as _;
use std::path::PathBuf;

use anyhow::Context as _;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::store::{StaffAccount, Store, StoreError};

/// Wrong passwords in a row that lock an account.
pub const LOCK_AFTER: u32 = 5;

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

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInError {
    /// Unknown user or wrong password (not told apart).
    BadCredentials,
    /// Locked after too many wrong passwords.
    Locked,
    /// The CPU pool is full (or the deadline passed): try again shortly. The
    /// password was not checked and nothing counts towards the lock-out.
    Busy,
}

/// Checks a username and password. A wrong password counts towards the lock-out;
/// a locked account is refused even with the right password. The argon2 hash
/// runs on the CPU pool `cpu` (so at most one per pool thread, one per core by default).
///
/// # Errors
/// [`SignInError`] for the user; [`StoreError`] when the store fails.
pub async fn sign_in(
    store: &Store,
    cpu: &service_http::cpu_pool::CpuPool,
    username: &str,
    password: &str,
) -> Result<Result<StaffAccount, SignInError>, StoreError> {
    let account = store.staff_account(username).await?;
    // Hash even for unknown users so timing does not tell which usernames exist.
    let hash = account.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |a| a.password_hash.clone());
    let password = password.to_owned();
    let Ok(matches) = cpu.run(move || password_matches(&hash, &password)).await else {
        return Ok(Err(SignInError::Busy));
    };
    let Some(account) = account else { return Ok(Err(SignInError::BadCredentials)) };
    if account.locked_at.is_some() {
        return Ok(Err(SignInError::Locked));
    }
    if !matches {
        let updated = store.record_failed_login(username, LOCK_AFTER).await?;
        tracing::warn!(failed_attempts = updated.as_ref().map_or(0, |a| a.failed_attempts), "failed sign-in");
        return Ok(Err(if updated.is_some_and(|a| a.locked_at.is_some()) {
            SignInError::Locked
        } else {
            SignInError::BadCredentials
        }));
    }
    store.record_successful_login(username).await?;
    Ok(Ok(account))
}

/// A valid argon2 hash of a random string, used to spend the same time on unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Jpl0QbtIJmrVIAjUJ7ihKzw7ZT3ZL4hyCmuCKn3kxw";

/// The hex SHA-256 under which a token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates an API token for `clinic`; returns `(token_id, token)`. The token is
/// shown once: only its hash is stored.
///
/// # Errors
/// When the store fails.
pub async fn create_api_token(store: &Store, clinic: &str) -> Result<(String, String), StoreError> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut id);
    rand::thread_rng().fill_bytes(&mut secret);
    let token_id = hex::encode(id);
    let token = format!("ect_{token_id}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    store.create_api_token(&token_id, clinic, &token_hash(&token)).await?;
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

/// Where the store is.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreLocation {
    /// The issuer's data directory (SQLite database `issuer.sqlite3`, created if missing).
    #[arg(long, env = "ISSUER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL instead of the data directory's SQLite file.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreLocation {
    async fn open(&self) -> anyhow::Result<Store> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                format!("sqlite://{}", self.data_dir.join("issuer.sqlite3").display())
            }
        };
        Store::connect(&url).await.context("opening the store")
    }
}

/// `issuer staff …`
#[derive(Debug, clap::Subcommand)]
pub enum StaffCommand {
    /// Create a staff account. The password is read from the environment variable
    /// named by --password-env (default ISSUER_STAFF_PASSWORD) or else from the first line of stdin.
    Add {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Name shown on the pages (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// An administrator account.
        #[arg(long)]
        admin: bool,
        /// Environment variable holding the password.
        #[arg(long, default_value = "ISSUER_STAFF_PASSWORD")]
        password_env: String,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// Unlock an account locked after too many wrong passwords.
    Unlock {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        store: StoreLocation,
    },
}

/// `issuer token …`
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a clinic's system; printed once, only its hash is kept.
    Create {
        /// The clinic or system the token is for.
        #[arg(long)]
        clinic: String,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// Revoke a token by its id (from `issuer token list`).
    Revoke {
        /// The token id.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// List tokens (ids, clinics, dates; never the tokens).
    List {
        #[command(flatten)]
        store: StoreLocation,
    },
}

fn read_password(env_name: &str) -> anyhow::Result<String> {
    let password = match std::env::var(env_name) {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    anyhow::ensure!(password.chars().count() >= 10, "the password must have at least 10 characters");
    Ok(password)
}

/// Run `issuer staff …`.
///
/// # Errors
/// Bad input or store failures.
pub async fn run_staff(command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Add { username, display_name, admin, password_env, store } => {
            anyhow::ensure!(
                !username.is_empty()
                    && username.len() <= 64
                    && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "the username must be 1-64 characters of A-Z a-z 0-9 . _ -"
            );
            let password = read_password(&password_env)?;
            let hash = hash_password(&password)?;
            let store = store.open().await?;
            match store.create_staff(&username, display_name.as_deref().unwrap_or(&username), &hash, admin).await {
                Ok(()) => println!("created staff account {username}"),
                Err(StoreError::Duplicate(_)) => anyhow::bail!("a staff account {username} already exists"),
                Err(e) => return Err(e.into()),
            }
        }
        StaffCommand::Unlock { username, store } => {
            anyhow::ensure!(store.open().await?.unlock_staff(&username).await?, "no staff account {username}");
            println!("unlocked {username}");
        }
    }
    Ok(())
}

/// Run `issuer token …`.
///
/// # Errors
/// Bad input or store failures.
pub async fn run_token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { clinic, store } => {
            let (id, token) = create_api_token(&store.open().await?, &clinic).await?;
            eprintln!("token id {id} for {clinic}; the token is shown only now:");
            println!("{token}");
        }
        TokenCommand::Revoke { id, store } => {
            anyhow::ensure!(store.open().await?.revoke_api_token(&id).await?, "no active token {id}");
            println!("revoked {id}");
        }
        TokenCommand::List { store } => {
            for t in store.open().await?.api_tokens().await? {
                let when = |s: i64| chrono::DateTime::from_timestamp(s, 0).map(|d| d.to_rfc3339()).unwrap_or_default();
                let state = t.revoked_at.map_or_else(|| "active".to_owned(), |r| format!("revoked {}", when(r)));
                println!("{}\t{}\tcreated {}\t{}", t.token_id, t.clinic, when(t.created_at), state);
            }
        }
    }
    Ok(())
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
