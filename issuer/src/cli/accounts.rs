//! `issuer staff …` and `issuer token …`: staff accounts and API tokens, on the
//! store directly, like `issuer status …`. Whoever can run them can open the
//! store, i.e. administers the issuer, and is recorded as actor `cli`.
//! Passwords come from an environment variable or stdin, never argv.

use std::io::BufRead as _;

use anyhow::Context as _;

use super::StoreLocation;
use crate::domain::accounts::{
    create_scoped_api_token, hash_password, staff_principal, token_principal, Role, TokenScope, CLI_ACTOR,
    MIN_PASSWORD_CHARS,
};
use crate::store::{AccountEvent, Store, StoreError};

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
        /// clerk (issues), supervisor (also changes status) or admin (also manages staff and tokens).
        #[arg(long)]
        role: Role,
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
    /// Delete an account; its open sessions end at once.
    Remove {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// Change an account's role (effective on its next request).
    SetRole {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// clerk, supervisor or admin.
        #[arg(long)]
        role: Role,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// Set a new password (read like `add` does); the account's open sessions end at once.
    SetPassword {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Environment variable holding the password.
        #[arg(long, default_value = "ISSUER_STAFF_PASSWORD")]
        password_env: String,
        #[command(flatten)]
        store: StoreLocation,
    },
    /// List accounts (username, role, locked or not; never the password hashes).
    List {
        #[command(flatten)]
        store: StoreLocation,
    },
    /// The newest account events (sign-ins, failures, lock-outs, changes), newest first.
    Events {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
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
        /// issue (issue credentials and offers, notarise), status (change status),
        /// notarize (notarise only: an archive's token) or all.
        #[arg(long)]
        scope: TokenScope,
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
    anyhow::ensure!(
        password.chars().count() >= MIN_PASSWORD_CHARS,
        "the password must have at least {MIN_PASSWORD_CHARS} characters"
    );
    Ok(password)
}

/// Run `issuer staff …`.
///
/// # Errors
/// Bad input or store failures.
pub async fn run_staff(command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Add { username, display_name, role, password_env, store } => {
            anyhow::ensure!(
                !username.is_empty()
                    && username.len() <= 64
                    && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "the username must be 1-64 characters of A-Z a-z 0-9 . _ -"
            );
            let password = read_password(&password_env)?;
            let hash = hash_password(&password)?;
            let store = store.open_or_create().await?;
            match store.create_staff(&username, display_name.as_deref().unwrap_or(&username), &hash, role).await {
                Ok(()) => {
                    audit(&store, "staff_added", staff_principal(&username), role.as_str()).await?;
                    println!("created staff account {username} ({})", role.as_str());
                }
                Err(StoreError::Duplicate(_)) => anyhow::bail!("a staff account {username} already exists"),
                Err(e) => return Err(e.into()),
            }
        }
        StaffCommand::Unlock { username, store } => {
            let store = store.open_or_create().await?;
            anyhow::ensure!(store.unlock_staff(&username).await?, "no staff account {username}");
            audit(&store, "unlocked", staff_principal(&username), "").await?;
            println!("unlocked {username}");
        }
        StaffCommand::Remove { username, store } => {
            let store = store.open_or_create().await?;
            anyhow::ensure!(store.remove_staff(&username).await?, "no staff account {username}");
            audit(&store, "staff_removed", staff_principal(&username), "sessions ended").await?;
            println!("removed {username}");
        }
        StaffCommand::SetRole { username, role, store } => {
            let store = store.open_or_create().await?;
            let Some(before) = store.staff_account(&username).await? else {
                anyhow::bail!("no staff account {username}")
            };
            anyhow::ensure!(store.set_staff_role(&username, role).await?, "no staff account {username}");
            let detail = format!("{} -> {}", before.role.as_str(), role.as_str());
            audit(&store, "role_changed", staff_principal(&username), detail).await?;
            println!("{username} is now {}", role.as_str());
        }
        StaffCommand::SetPassword { username, password_env, store } => {
            let hash = hash_password(&read_password(&password_env)?)?;
            let store = store.open_or_create().await?;
            anyhow::ensure!(store.set_staff_password(&username, &hash).await?, "no staff account {username}");
            audit(&store, "password_changed", staff_principal(&username), "sessions ended").await?;
            println!("new password set for {username}; its sessions have ended");
        }
        StaffCommand::List { store } => {
            for a in store.open_or_create().await?.staff_accounts().await? {
                let state = if a.locked_at.is_some() { "locked" } else { "active" };
                println!("{}\t{}\t{}\t{}", a.username, a.role.as_str(), state, a.display_name);
            }
        }
        StaffCommand::Events { limit, store } => {
            for e in store.open_or_create().await?.account_events(limit).await? {
                println!("{}\t{}\t{}\t{}\t{}", when(e.occurred_at), e.actor, e.action, e.subject, e.detail);
            }
        }
    }
    Ok(())
}

fn when(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|d| d.to_rfc3339()).unwrap_or_default()
}

async fn audit(store: &Store, action: &str, subject: String, detail: impl Into<String>) -> anyhow::Result<()> {
    store.record_account_event(&AccountEvent::now(CLI_ACTOR, action, subject, detail)).await?;
    Ok(())
}

/// Run `issuer token …`.
///
/// # Errors
/// Bad input or store failures.
pub async fn run_token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { clinic, scope, store } => {
            let store = store.open_or_create().await?;
            let (id, token) = create_scoped_api_token(&store, &clinic, scope).await?;
            audit(&store, "token_created", token_principal(&id, &clinic), scope.as_str()).await?;
            eprintln!("token id {id} for {clinic} (scope {}); the token is shown only now:", scope.as_str());
            println!("{token}");
        }
        TokenCommand::Revoke { id, store } => {
            let store = store.open_or_create().await?;
            let clinic = store.api_tokens().await?.into_iter().find(|t| t.token_id == id).map(|t| t.clinic);
            anyhow::ensure!(store.revoke_api_token(&id).await?, "no active token {id}");
            audit(&store, "token_revoked", token_principal(&id, clinic.as_deref().unwrap_or("?")), "").await?;
            println!("revoked {id}");
        }
        TokenCommand::List { store } => {
            for t in store.open_or_create().await?.api_tokens().await? {
                let state = t.revoked_at.map_or_else(|| "active".to_owned(), |r| format!("revoked {}", when(r)));
                println!(
                    "{}\t{}\t{}\tcreated {}\t{}",
                    t.token_id,
                    t.clinic,
                    t.scope.as_str(),
                    when(t.created_at),
                    state
                );
            }
        }
    }
    Ok(())
}
