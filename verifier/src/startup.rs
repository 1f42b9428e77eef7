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
        wallet_core::credential_type::Registry::load(settings.credential_types.as_deref())
            .and_then(|types| types.install())
            .context("loading credential type definitions")?;
        let rollback = crate::rollback_state::RollbackState::from_data_dir(settings.data_dir.as_deref())?;
        let trust = crate::trust_sync::TrustState::from_settings(&settings.trust, rollback.clone())?;
        tokio::spawn(trust.clone().keep_fresh(settings.trust.clone()));
        let trust_data = web::Data::new(trust);
        let status_data = web::Data::new(crate::status_sync::StatusState::new(&settings.status, rollback)?);
        let witness = crate::witness::WitnessState::from_settings(&settings.witness)?;
        tokio::spawn(witness.clone().run(settings.witness.clone()));
        let witness_data = web::Data::new(witness);
        let anchoring = crate::log_sync::AnchoringState::from_settings(&settings.anchoring)?;
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
        let id_number_keys = web::Data::new(crate::web::IdNumberKeys(settings.load_id_number_keys()?));
        let cpu = web::Data::new(crate::cpu::CpuWork::start(&settings.load).context("starting the CPU pool")?);
        let http = HttpServer::new(move || {
            App::new()
                .wrap(tracing_actix_web::TracingLogger::default())
                .app_data(json_config.clone())
                .app_data(trust_data.clone())
                .app_data(status_data.clone())
                .app_data(witness_data.clone())
                .app_data(anchoring_data.clone())
                .app_data(bundle_data.clone())
                .app_data(id_check_limiter.clone())
                .app_data(id_number_keys.clone())
                .app_data(cpu.clone())
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
