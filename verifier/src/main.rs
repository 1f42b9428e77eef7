//! `verifier serve`: the verification service for inspectors and VC-API clients.

use clap::{Parser, Subcommand};
use verifier::config::Settings;
use verifier::startup::Application;

#[derive(Parser)]
#[command(name = "verifier", about = "Verifies health certificates and licences: VC-API, QR text and QR photos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP(S) service.
    Serve(Settings),
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    verifier::telemetry::init();
    match Cli::parse().command {
        Command::Serve(settings) => {
            let app = Application::build(&settings)?;
            tracing::info!(port = app.port(), "verifier ready");
            app.run_until_stopped().await?;
        }
    }
    Ok(())
}
