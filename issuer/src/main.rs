//! `issuer serve`: the issuing service.

use clap::{Parser, Subcommand};
use issuer::config::Settings;
use issuer::startup::Application;

#[derive(Parser)]
#[command(name = "issuer", about = "Issues health certificates and licences as W3C verifiable credentials")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP(S) service.
    Serve(Box<Settings>),
    /// Revoke, suspend, reinstate or show a credential's status (works on the store directly).
    #[command(subcommand)]
    Status(issuer::cli::status::StatusCommand),
    /// Notarise a folder's files by digest, and re-check it later against the receipts.
    #[command(subcommand)]
    Notarize(issuer::cli::notarize::NotarizeCommand),
    /// Issue a file of requests (NDJSON or CSV, a key per row) through a running issuer, in chunks.
    BulkIssue(issuer::cli::bulk::BulkArgs),
    /// Clinic staff accounts for the web pages (password from an environment variable or stdin).
    #[command(subcommand)]
    Staff(issuer::cli::accounts::StaffCommand),
    /// API tokens for hospital systems (`Authorization: Bearer …` on the domain API).
    #[command(subcommand)]
    Token(issuer::cli::accounts::TokenCommand),
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    issuer::telemetry::init();
    match Cli::parse().command {
        Command::Serve(settings) => {
            let app = Application::build(&settings).await?;
            tracing::info!(did = app.did(), port = app.port(), "issuer ready");
            app.run_until_stopped().await?;
        }
        Command::Status(command) => std::process::exit(issuer::cli::status::run(command).await?),
        Command::Notarize(command) => std::process::exit(issuer::cli::notarize::run(command).await?),
        Command::BulkIssue(args) => std::process::exit(issuer::cli::bulk::run(args).await?),
        Command::Staff(command) => issuer::cli::accounts::run_staff(command).await?,
        Command::Token(command) => issuer::cli::accounts::run_token(command).await?,
    }
    Ok(())
}
