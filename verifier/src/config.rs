//! Settings: command-line flags, each also settable from the environment.

use std::path::PathBuf;

/// How to run the verifier.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "VERIFIER_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: String,
    /// PEM certificate chain: serve HTTPS instead of HTTP (with --tls-key).
    #[arg(long, env = "VERIFIER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "VERIFIER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Directory of extra credential type definition files (`*.json`); the five
    /// shipped types are built in. Needed to read (decode, display) QR codes of
    /// other types; a bad file stops the verifier at start, naming the file and problem.
    #[arg(long, env = "VERIFIER_CREDENTIAL_TYPES")]
    pub credential_types: Option<PathBuf>,
    /// Directory for state that must survive restarts (`rollback-state.json`:
    /// the highest trust-list sequence and status-list `validFrom` accepted,
    /// so that an older list is refused after a restart too).
    #[arg(long, env = "VERIFIER_DATA_DIR", default_value = ".")]
    pub data_dir: Option<PathBuf>,
    /// Issuer trust: department roots and the trust list.
    #[command(flatten)]
    pub trust: crate::trust_sync::TrustSettings,
    /// Revocation / suspension status lists.
    #[command(flatten)]
    pub status: crate::status_sync::StatusSettings,
    /// Witness mode: cosign an issuer's transparency log.
    #[command(flatten)]
    pub witness: crate::witness::WitnessSettings,
    /// The anchoring check: issuer logs to mirror, the chain node to ask.
    #[command(flatten)]
    pub anchoring: crate::log_sync::AnchoringSettings,
    /// Publishing the signed verifier bundle for offline inspectors.
    #[command(flatten)]
    pub bundle: crate::bundle_publish::BundleSettings,
    /// A department ID number key file (`ecert-pki id-number-key`; repeatable, for
    /// several departments or rotated keys): the inspector page's ID check needs the
    /// key a credential's digest names, and says "cannot check" without it.
    #[arg(long = "id-number-key", value_name = "FILE")]
    pub id_number_keys: Vec<PathBuf>,
    /// Limits under load: the CPU pool, photo decoding.
    #[command(flatten)]
    pub load: LoadSettings,
}

/// Limits under load (see `service_http::cpu_pool` and DESIGN.md "Overload").
#[derive(Debug, Clone, clap::Args)]
pub struct LoadSettings {
    /// Threads for CPU-bound work (verification, photo decoding); default: one per core.
    #[arg(long, env = "VERIFIER_CPU_WORKERS")]
    pub cpu_workers: Option<usize>,
    /// Jobs that may wait for a CPU thread; beyond it requests get 503 `busy`.
    #[arg(long, env = "VERIFIER_CPU_QUEUE", default_value_t = service_http::cpu_pool::DEFAULT_QUEUE)]
    pub cpu_queue: usize,
    /// Seconds a CPU job may take from arrival to result (else 503 `deadline_exceeded`).
    #[arg(long, env = "VERIFIER_CPU_DEADLINE_SECS", default_value_t = 10)]
    pub cpu_deadline_secs: u64,
    /// Photos decoded at once (each may take ~100 MiB); beyond it 503 `busy`.
    #[arg(long, env = "VERIFIER_IMAGE_DECODES", default_value_t = 2)]
    pub image_decodes: usize,
    /// Photos one client address may send at once (`POST /verify/image`, `/inspect/image`).
    #[arg(long, env = "VERIFIER_IMAGE_RATE_BURST", default_value_t = 10)]
    pub image_rate_burst: u32,
    /// Photos per minute one client address may send after its burst (else 429).
    #[arg(long, env = "VERIFIER_IMAGE_RATE_PER_MINUTE", default_value_t = 20)]
    pub image_rate_per_minute: u32,
    /// Seconds a request may take from routing to answer, body included (else 408
    /// `request_timeout`): slow clients cannot hold connections.
    #[arg(long, env = "VERIFIER_REQUEST_DEADLINE_SECS", default_value_t = 60)]
    pub request_deadline_secs: u64,
}

impl Default for LoadSettings {
    fn default() -> Self {
        Self {
            cpu_workers: None,
            cpu_queue: service_http::cpu_pool::DEFAULT_QUEUE,
            cpu_deadline_secs: 10,
            image_decodes: 2,
            image_rate_burst: 10,
            image_rate_per_minute: 20,
            request_deadline_secs: 60,
        }
    }
}

impl LoadSettings {
    /// The CPU pool's size.
    pub fn cpu_pool(&self) -> service_http::cpu_pool::CpuPoolConfig {
        service_http::cpu_pool::CpuPoolConfig::new(self.cpu_workers, self.cpu_queue, self.cpu_deadline_secs)
    }
}

impl Settings {
    /// Settings for tests: an ephemeral port, plain HTTP.
    pub fn for_tests() -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            tls_cert: None,
            tls_key: None,
            credential_types: None,
            data_dir: None,
            trust: Default::default(),
            // Tests serve everything on loopback.
            status: crate::status_sync::StatusSettings { allow_private_fetch: true, ..Default::default() },
            witness: Default::default(),
            anchoring: crate::log_sync::AnchoringSettings {
                anchor_grace_secs: 600,
                log_sync_secs: 30,
                ..Default::default()
            },
            bundle: Default::default(),
            id_number_keys: vec![PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/keys/test-id-number.key"
            ))],
            load: LoadSettings::default(),
        }
    }

    /// Read the `--id-number-key` files.
    ///
    /// # Errors
    /// A file that cannot be read or holds no key (the verifier then does not start).
    pub fn load_id_number_keys(&self) -> anyhow::Result<Vec<wallet_core::credential::IdNumberKey>> {
        self.id_number_keys
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                wallet_core::credential::IdNumberKey::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
            })
            .collect()
    }
}
