//! Building and running the HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use crate::config::Settings;

/// A bound, ready-to-run verifier.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Bind the listener (port 0 works).
    ///
    /// # Errors
    /// TLS or bind failures.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        // The credential types this verifier reads: the shipped ones and `--credential-types`.
        let types = web::Data::new(
            wallet_core::credential_type::TypeRegistry::load(settings.credential_types.as_deref())
                .context("loading credential type definitions")?,
        );
        let private = settings.status.private_addresses();
        check_configured_urls(settings)?;
        let rollback = crate::rollback_state::RollbackState::from_data_dir(settings.data_dir.as_deref())?;
        let trust = crate::trust_sync::TrustState::from_settings(&settings.trust, rollback.clone())?;
        tokio::spawn(trust.clone().keep_fresh(settings.trust.clone(), private));
        let trust_data = web::Data::new(trust);
        let status = crate::status_sync::StatusState::new(&settings.status, rollback.clone())?
            .also_allowing_origins_of(
                settings.anchoring.log_urls.iter().chain(&settings.bundle.issuers).map(String::as_str),
            );
        if status.allowed_origins().is_empty() {
            tracing::warn!(
                "no --status-origin (nor --log-url, --bundle-issuer): status lists are fetched from any origin \
                 a credential with a valid signature names; set --status-origin to bind them to your issuers"
            );
        } else {
            tracing::info!(origins = ?status.allowed_origins(), "status lists are fetched from these origins only");
        }
        let status_data = web::Data::new(status);
        let witness = crate::witness::WitnessState::from_settings(&settings.witness)?;
        tokio::spawn(witness.clone().run(settings.witness.clone(), private));
        let witness_data = web::Data::new(witness);
        let anchoring =
            crate::log_sync::AnchoringState::from_settings(&settings.anchoring, private)?.with_rollback(rollback);
        tokio::spawn(anchoring.clone().run());
        let publisher = crate::bundle_publish::BundlePublisher::from_settings(&settings.bundle)?;
        if let Some(publisher) = &publisher {
            tokio::spawn(publisher.clone().run(
                trust_data.get_ref().clone(),
                status_data.get_ref().clone(),
                anchoring.clone(),
            ));
        }
        let bundle_data = web::Data::new(publisher);
        let anchoring_data = web::Data::new(anchoring);
        let listener = TcpListener::bind(&settings.listen).with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let json_config =
            web::JsonConfig::default().limit(crate::routes::MAX_BODY_BYTES).error_handler(crate::api_error::json_error);
        let id_check_limiter = web::Data::new(crate::web::RateLimiter::default());
        let id_target_limiter = web::Data::new(crate::web::id_target_limiter());
        let id_number_keys = web::Data::new(crate::web::IdNumberKeys(settings.load_id_number_keys()?));
        let cpu = web::Data::new(crate::cpu::CpuWork::start(&settings.load).context("starting the CPU pool")?);
        let deadline = web::Data::new(service_http::request_deadline::RequestDeadline(std::time::Duration::from_secs(
            settings.load.request_deadline_secs.max(1),
        )));
        let http = HttpServer::new(move || {
            App::new()
                .wrap(service_http::browser_headers::defaults())
                .wrap(actix_web::middleware::from_fn(service_http::request_deadline::enforce))
                .wrap(tracing_actix_web::TracingLogger::default())
                .app_data(deadline.clone())
                .app_data(json_config.clone())
                .app_data(trust_data.clone())
                .app_data(status_data.clone())
                .app_data(witness_data.clone())
                .app_data(anchoring_data.clone())
                .app_data(bundle_data.clone())
                .app_data(id_check_limiter.clone())
                .app_data(id_target_limiter.clone())
                .app_data(id_number_keys.clone())
                .app_data(cpu.clone())
                .app_data(types.clone())
                .configure(crate::routes::configure)
                .configure(crate::web::configure)
        });
        let server = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => http.listen_rustls_0_23(listener, crate::tls::server_config(cert, key)?)?.run(),
            _ => http.listen(listener)?.run(),
        };
        Ok(Self { port, server })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until stopped.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The URLs the operator configured for outbound fetches: http(s), and (unless
/// `--allow-private-fetch`) not a literal private address — host names are
/// checked when resolved. The chain node (`--chain-rpc-url`) may be private.
fn check_configured_urls(settings: &Settings) -> anyhow::Result<()> {
    let private = settings.status.private_addresses();
    let configured = [("--trust-list-url", settings.trust.trust_list_url.as_ref())]
        .into_iter()
        .filter_map(|(flag, url)| url.map(|u| (flag, u)))
        .chain(settings.anchoring.log_urls.iter().map(|u| ("--log-url", u)))
        .chain(settings.anchoring.witness_urls.iter().map(|u| ("--log-witness-url", u)))
        .chain(settings.witness.witness_log_url.iter().map(|u| ("--witness-log-url", u)))
        .chain(settings.bundle.issuers.iter().map(|u| ("--bundle-issuer", u)));
    for (flag, url) in configured {
        service_http::outbound::check_url(url, private)
            .with_context(|| format!("{flag} {url} (pass --allow-private-fetch to reach private addresses)"))?;
    }
    Ok(())
}
