//! `verifier serve`: the verification service for inspectors and VC-API clients.

// The serve future (actix server + every background task) is deep; the default
// limit of 128 is exceeded computing its layout.
#![recursion_limit = "256"]

use clap::{Parser, Subcommand};

/// mimalloc: per-thread free lists suit actix's workers, each parsing a
/// request and building a report with many small allocations (#16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Serve(Box<Settings>),
    /// Replay an issuer's log against the chain's anchors (exit status 1 on a mismatch).
    Audit(verifier::audit::AuditArgs),
    /// Verify a QR code (text or photo) offline against a signed verifier bundle.
    Check(verifier::offline_check::CheckArgs),
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
        Command::Check(args) => std::process::exit(verifier::offline_check::run(&args).await?),
        Command::Audit(args) => {
            let report = verifier::audit::run(&args).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            match &report.mismatch {
                None => eprintln!(
                    "consistent: {} entries, {} anchored sizes checked (up to {})",
                    report.log_size, report.anchors_checked, report.anchored_size
                ),
                Some(mismatch) => {
                    eprintln!("MISMATCH: {}", mismatch.reason);
                    std::process::exit(1);
                }
            }
        }
    }
    Ok(())
}
