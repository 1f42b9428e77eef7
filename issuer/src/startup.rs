//! Building and running the HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use crate::config::Settings;
use crate::domain::issuance::Issuer;
use crate::store::Store;

/// A bound, ready-to-run issuer.
pub struct Application {
    port: u16,
    did: String,
    base_url: String,
    server: Server,
    anchorer: Option<tokio::task::JoinHandle<()>>,
    offer_scrubber: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Open the store, load the key, bind the listener (port 0 works).
    ///
    /// # Errors
    /// Store, key, TLS or bind failures.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
        let store = Store::connect(&settings.store_url()).await.context("opening the store")?;
        let key = crate::signing_key::load_with_algorithm(
            settings.signing_key.as_deref(),
            &settings.data_dir,
            settings.key_algorithm,
        )?;
        let did = key.did();
        let listener = TcpListener::bind(&settings.listen).with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let base_url = crate::domain::status::base_url(settings, listener.local_addr()?)?;
        let status_config = crate::store::StatusListConfig::with_max_allocations(settings.status_list_max_allocations)?;
        let cpu = service_http::cpu_pool::CpuPool::start(settings.cpu_pool()).context("starting the CPU pool")?;
        let status = crate::domain::status::StatusService::new(
            store.clone(),
            key.clone(),
            &base_url,
            status_config,
            cpu.clone(),
        );
        let log = crate::domain::transparency_log::TransparencyLog::open(store.clone(), &key, &base_url)
            .await
            .context("opening the transparency log")?;
        let anchorer = crate::domain::anchor::AnchorConfig::from_settings(settings)
            .map(|config| crate::domain::anchor::spawn(store.clone(), log.clone(), config));
        let scrubber_store = store.clone();
        let types = std::sync::Arc::new(
            wallet_core::credential_type::TypeRegistry::load(settings.credential_types.as_deref())
                .context("loading credential type definitions")?,
        );
        let own_trust = crate::domain::issuance::own_trust_store(settings.trust_list.as_deref());
        let licence_authority =
            crate::domain::licence_ids::licence_authority(settings.usci.as_deref(), own_trust.as_deref(), &did)?;
        let id_number_key = settings.load_id_number_key()?;
        match &id_number_key {
            Some(k) => tracing::info!(key_id = %k.key_id(), "ID number key loaded"),
            None => tracing::warn!("no ID number key (--id-number-key): types with an ID number will not be issued"),
        }
        let issuer = web::Data::new(Issuer {
            store,
            key,
            status,
            log: log.clone(),
            oid4vci: crate::domain::offer_keys::Oid4vciKeys::generate(),
            types,
            own_trust,
            id_number_key,
            cpu,
            licence_authority,
        });
        let log = web::Data::new(log);
        let trust_list = web::Data::new(crate::http::routes::trust_list::TrustListFile(settings.trust_list.clone()));
        let json_config = web::JsonConfig::default()
            .limit(crate::http::routes::MAX_BODY_BYTES)
            .error_handler(crate::api_error::json_error);
        let web_state = web::Data::new(
            crate::http::web::WebState::new(settings.tls_cert.is_some() || settings.secure_cookies)
                .with_session_limits(settings.session_limits()),
        );
        let api_access = web::Data::new(crate::http::routes::access::ApiAccess { open_vc_api: settings.open_vc_api });
        let vc_api_p384 = web::Data::new(if settings.vc_api_p384 {
            let key = crate::vc_api_p384_key::load_or_generate(&settings.data_dir)?;
            if let Some(k) = &key.0 {
                tracing::info!(did = %k.did(), "VC-API P-384 key ready");
            }
            key
        } else {
            crate::vc_api_p384_key::VcApiP384Key::default()
        });
        let deadline = web::Data::new(service_http::request_deadline::RequestDeadline(std::time::Duration::from_secs(
            settings.request_deadline_secs.max(1),
        )));
        let http = HttpServer::new(move || {
            App::new()
                .wrap(service_http::browser_headers::defaults())
                .wrap(actix_web::middleware::from_fn(service_http::request_deadline::enforce))
                .wrap(tracing_actix_web::TracingLogger::<crate::http::web::PathOnlySpan>::new())
                .app_data(deadline.clone())
                .app_data(web_state.clone())
                .app_data(api_access.clone())
                .app_data(vc_api_p384.clone())
                .app_data(issuer.clone())
                .app_data(log.clone())
                .app_data(trust_list.clone())
                .app_data(json_config.clone())
                .configure(crate::http::routes::configure)
        });
        let server = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => {
                let tls = crate::tls::server_config(cert, key)?;
                tracing::info!(port, "serving HTTPS");
                http.listen_rustls_0_23(listener, tls)?.run()
            }
            _ => {
                tracing::info!(port, "serving HTTP");
                http.listen(listener)?.run()
            }
        };
        // Started once nothing above can fail (a failed build leaves no task behind).
        let offer_scrubber = crate::domain::offers::spawn_offer_scrubber(scrubber_store);
        Ok(Self { port, did, base_url, server, anchorer, offer_scrubber })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The public base URL (`--public-url`, else `http(s)://<bound address>`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A handle to stop the server (tests: a restart).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The issuer's DID.
    pub fn did(&self) -> &str {
        &self.did
    }

    /// Serve until stopped.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(anchorer) = self.anchorer {
            anchorer.abort();
        }
        self.offer_scrubber.abort();
        result
    }
}
