//! `issuer status revoke|suspend|reinstate|show`: change or inspect a credential's
//! status on the store directly (the data directory's SQLite file, or `DATABASE_URL`).
//!
//! A change is one store transaction (bit, list version, audit event), so a running
//! issuer serves it from its next `GET /status/{list_id}`: the published lists are
//! rebuilt from committed state whenever their version moves.
//!
//! Exit status: 0 done (also when nothing needed changing), 2 bad input,
//! 3 refused (`already_revoked`, `no_status_entry`), 4 unknown credential,
//! 1 anything else.

use super::StoreLocation;
use crate::domain::status::{change_status, status_report, ChangeReport, StatusError, StatusReport};
use crate::store::StatusAction;

/// `issuer status …`
#[derive(Debug, clap::Subcommand)]
pub enum StatusCommand {
    /// Revoke a credential. Final: it can never be reinstated.
    Revoke(ChangeArgs),
    /// Suspend a credential (until reinstated).
    Suspend(ChangeArgs),
    /// Lift a suspension.
    Reinstate(ChangeArgs),
    /// Show a credential's status, status entries and audit trail.
    Show(ShowArgs),
}

/// `issuer status revoke|suspend|reinstate`
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// The credential: `urn:uuid:…` or the bare UUID.
    #[arg(long)]
    pub credential: String,
    /// Why (kept in the audit trail).
    #[arg(long)]
    pub reason: String,
    /// Who (default: `cli:$USER`).
    #[arg(long)]
    pub by: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreLocation,
}

/// `issuer status show`
#[derive(Debug, Clone, clap::Args)]
pub struct ShowArgs {
    /// The credential: `urn:uuid:…` or the bare UUID.
    #[arg(long)]
    pub credential: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreLocation,
}

/// Runs the command; returns the process exit status.
///
/// # Errors
/// Store failures (exit status 1).
pub async fn run(command: StatusCommand) -> anyhow::Result<i32> {
    let (action, args) = match command {
        StatusCommand::Show(args) => {
            let store = args.store.open().await?;
            return Ok(match status_report(&store, &args.credential).await {
                Ok(report) => {
                    print_report(&report, args.json)?;
                    0
                }
                Err(e) => refused(&e),
            });
        }
        StatusCommand::Revoke(args) => (StatusAction::Revoke, args),
        StatusCommand::Suspend(args) => (StatusAction::Suspend, args),
        StatusCommand::Reinstate(args) => (StatusAction::Reinstate, args),
    };
    let store = args.store.open().await?;
    let actor = args.by.clone().unwrap_or_else(default_actor);
    Ok(match change_status(&store, &args.credential, action, &args.reason, &actor).await {
        Ok(report) => {
            print_change(&report, args.json)?;
            0
        }
        Err(e) => refused(&e),
    })
}

fn default_actor() -> String {
    match std::env::var("USER").or_else(|_| std::env::var("USERNAME")) {
        Ok(user) if !user.trim().is_empty() => format!("cli:{}", user.trim()),
        _ => "cli".to_owned(),
    }
}

/// Prints a refusal and picks the exit status.
fn refused(e: &StatusError) -> i32 {
    if let StatusError::Internal(cause) = e {
        tracing::error!(error = %cause, "internal error");
    }
    let message = e.message();
    eprintln!("error: {}: {} / {}", e.code(), message.en, message.zh);
    match e {
        StatusError::CredentialNotFound | StatusError::ListNotFound => 4,
        StatusError::AlreadyRevoked
        | StatusError::AlreadyUsed(_)
        | StatusError::Suspended
        | StatusError::NotSingleUse
        | StatusError::NoStatusEntry { .. } => 3,
        StatusError::UseNeedsOffice
        | StatusError::Required(_)
        | StatusError::TooLong(..)
        | StatusError::ActorInvalid => 2,
        StatusError::Busy(_) | StatusError::Internal(_) => 1,
    }
}

fn print_change(report: &ChangeReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else if report.changed {
        println!(
            "{}: {} -> {} (audit event {})",
            report.credential_id,
            report.previous_status,
            report.status,
            report.event_id.unwrap_or_default()
        );
    } else {
        println!("{}: already {}; nothing changed", report.credential_id, report.status);
    }
    Ok(())
}

fn print_report(report: &StatusReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!("credential: {}", report.credential_id);
    println!("status:     {}", report.status);
    for entry in &report.entries {
        println!(
            "{:<11} list {} index {} ({})",
            format!("{}:", entry.status_purpose),
            entry.list_id,
            entry.status_list_index,
            if entry.set { "set" } else { "clear" }
        );
    }
    if report.events.is_empty() {
        println!("events:     none");
    } else {
        println!("events:");
        for event in &report.events {
            println!(
                "  #{} {} {} {} -> {} by {}: {}",
                event.event_id,
                event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                event.action,
                event.previous_state,
                event.new_state,
                event.actor,
                event.reason
            );
        }
    }
    Ok(())
}
