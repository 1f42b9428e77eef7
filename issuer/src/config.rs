//! Settings: command-line flags, each also settable from the environment.
//! With none at all, the issuer runs on SQLite under `./data`.

use std::path::PathBuf;

/// The ID number key's file name in the data directory.
pub const ID_NUMBER_KEY_FILE: &str = "id-number.key";

/// The issuing authority's credit code of test issuers without a certificate:
/// the one the fixtures' clinic certificate (`fixtures/trust/clinic-test-issuer.pem`) names.
pub const TEST_USCI: &str = "12110000MB0000001U";

/// How to run the issuer.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "ISSUER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Directory for the SQLite database and the signing key.
    #[arg(long, env = "ISSUER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The signing key in a PKCS#11 token (HSM), as an RFC 7512 URI:
    /// `pkcs11:token=…;object=…?module-path=…&pin-source=file:…` (the PIN from
    /// that file or `ISSUER_PKCS11_PIN`; `pin-value` is refused). Default: the
    /// file key `<data-dir>/issuer-key.pem`, generated on first start.
    #[arg(long, env = "ISSUER_SIGNING_KEY")]
    pub signing_key: Option<String>,
    /// `sm2`: sign credentials and status lists with SM2/SM3 (`sm2-rdfc-2026`),
    /// by `<data-dir>/issuer-key-sm2.pem` or the SM2 PKCS#8 PEM file
    /// `--signing-key` names; see `issuer::signing_key`. Default `p256`.
    #[arg(long, env = "ISSUER_KEY_ALGORITHM", default_value = "p256")]
    pub key_algorithm: wallet_core::trust::TrustAlgorithm,
    /// `postgres://…` for PostgreSQL; default: SQLite at `<data-dir>/issuer.sqlite3`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// PEM certificate chain: serve HTTPS instead of HTTP (with --tls-key).
    #[arg(long, env = "ISSUER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The department-signed trust list to serve at `GET /trust-list` (made by `ecert-pki trust-list`).
    #[arg(long, env = "ISSUER_TRUST_LIST")]
    pub trust_list: Option<PathBuf>,
    /// This issuer's unified social credit code, for the 证照标识 of the credentials
    /// it issues when no certificate for its key is in `--trust-list` (the
    /// certificate's code wins). Without either, credentials carry no 证照标识.
    #[arg(long, env = "ISSUER_USCI")]
    pub usci: Option<String>,
    /// Directory of extra credential type definition files (`*.json`, see
    /// `credential-types/` and DESIGN.md); the five shipped types are always built in.
    /// A bad file stops the issuer at start, naming the file and the problem.
    #[arg(long, env = "ISSUER_CREDENTIAL_TYPES")]
    pub credential_types: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "ISSUER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Public base URL of this issuer (status list URLs are `<public-url>/status/<id>`);
    /// default: `http(s)://<listen address>` with the bound port.
    #[arg(long, env = "ISSUER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Status list entries handed out per list before a new list is started (lists are
    /// at least 131072 bits long whatever this says).
    #[arg(long, env = "ISSUER_STATUS_LIST_MAX_ALLOCATIONS", default_value_t = 131_072)]
    pub status_list_max_allocations: u64,
    /// Ethereum JSON-RPC URL: when set, signed checkpoints are anchored on that chain
    /// (see `issuer::domain::anchor`). Issuance never waits on the chain.
    #[arg(long, env = "ISSUER_CHAIN_RPC_URL")]
    pub chain_rpc_url: Option<String>,
    /// Node-managed account that sends anchor transactions; default: the first of `eth_accounts`.
    #[arg(long, env = "ISSUER_CHAIN_FROM")]
    pub chain_from: Option<String>,
    /// Seconds between runs of the anchoring worker.
    #[arg(long, env = "ISSUER_ANCHOR_INTERVAL_SECS", default_value_t = 10)]
    pub anchor_interval_secs: u64,
    /// Seconds after which a sent anchor transaction without a receipt is sent again.
    #[arg(long, env = "ISSUER_ANCHOR_RESEND_AFTER_SECS", default_value_t = 60)]
    pub anchor_resend_after_secs: u64,
    /// Longest wait between retries after RPC errors (the backoff doubles up to this).
    #[arg(long, env = "ISSUER_ANCHOR_MAX_BACKOFF_SECS", default_value_t = 300)]
    pub anchor_max_backoff_secs: u64,
    /// Accept VC-API `POST /credentials/issue` without an API token (for conformance
    /// test suites). The domain API and status changes always need a token.
    #[arg(long, env = "ISSUER_OPEN_VC_API")]
    pub open_vc_api: bool,
    /// Also keep a P-384 VC-API issuer key (`<data-dir>/vc-api-p384-key.pem`, made on
    /// first start): a VC-API request whose credential's `issuer` is its DID is signed
    /// with it (`ecdsa-rdfc-2019`, `ecdsa-jcs-2019`). For the W3C suites' P-384 issuers.
    #[arg(long, env = "ISSUER_VC_API_P384")]
    pub vc_api_p384: bool,
    /// The department's ID number key (made by `ecert-pki id-number-key`): credentials
    /// with an ID number carry an HMAC of it under this key. Default: `<data-dir>/id-number.key`
    /// when that file exists. Without one, types with an ID number are not issued
    /// (503 `id_number_key_missing`).
    #[arg(long, env = "ISSUER_ID_NUMBER_KEY")]
    pub id_number_key: Option<PathBuf>,
    /// Mark the staff cookies `Secure` even when this process serves plain HTTP
    /// (behind a TLS-terminating proxy). Always on with `--tls-cert`.
    #[arg(long, env = "ISSUER_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Threads for CPU-bound work (signing, canonicalisation, password hashing);
    /// default: one per core.
    #[arg(long, env = "ISSUER_CPU_WORKERS")]
    pub cpu_workers: Option<usize>,
    /// Jobs that may wait for a CPU thread; beyond it requests get 503 `busy`.
    #[arg(long, env = "ISSUER_CPU_QUEUE", default_value_t = service_http::cpu_pool::DEFAULT_QUEUE)]
    pub cpu_queue: usize,
    /// Seconds a CPU job may take from arrival to result (else 503 `deadline_exceeded`).
    #[arg(long, env = "ISSUER_CPU_DEADLINE_SECS", default_value_t = 10)]
    pub cpu_deadline_secs: u64,
    /// Seconds a request may take from routing to answer, body included (else 408
    /// `request_timeout`): slow clients cannot hold connections.
    #[arg(long, env = "ISSUER_REQUEST_DEADLINE_SECS", default_value_t = 60)]
    pub request_deadline_secs: u64,
    /// A staff session ends after this many seconds without a request.
    #[arg(long, env = "ISSUER_SESSION_IDLE_SECS", default_value_t = 30 * 60)]
    pub session_idle_secs: u32,
    /// A staff session ends this many seconds after sign-in, however busy.
    #[arg(long, env = "ISSUER_SESSION_MAX_SECS", default_value_t = 8 * 3600)]
    pub session_max_secs: u32,
}

impl Settings {
    /// Settings for tests: an ephemeral port, the given data directory.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            data_dir,
            signing_key: None,
            key_algorithm: wallet_core::trust::TrustAlgorithm::P256,
            database_url: None,
            trust_list: None,
            usci: Some(TEST_USCI.to_owned()),
            credential_types: None,
            tls_cert: None,
            tls_key: None,
            public_url: None,
            status_list_max_allocations: 131_072,
            chain_rpc_url: None,
            chain_from: None,
            anchor_interval_secs: 10,
            anchor_resend_after_secs: 60,
            anchor_max_backoff_secs: 300,
            open_vc_api: false,
            vc_api_p384: false,
            id_number_key: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/keys/test-id-number.key"
            ))),
            secure_cookies: false,
            cpu_workers: None,
            cpu_queue: service_http::cpu_pool::DEFAULT_QUEUE,
            cpu_deadline_secs: 10,
            request_deadline_secs: 60,
            session_idle_secs: 30 * 60,
            session_max_secs: 8 * 3600,
        }
    }

    /// The CPU pool's size (`--cpu-workers`, `--cpu-queue`, `--cpu-deadline-secs`).
    pub fn cpu_pool(&self) -> service_http::cpu_pool::CpuPoolConfig {
        service_http::cpu_pool::CpuPoolConfig::new(self.cpu_workers, self.cpu_queue, self.cpu_deadline_secs)
    }

    /// The ID number key: `--id-number-key`, else `<data-dir>/id-number.key` when it exists.
    ///
    /// # Errors
    /// A configured file that cannot be read or is not a key (the issuer then does not start).
    pub fn load_id_number_key(&self) -> anyhow::Result<Option<wallet_core::credential::IdNumberKey>> {
        let default = self.data_dir.join(ID_NUMBER_KEY_FILE);
        let path = match &self.id_number_key {
            Some(p) => p.clone(),
            None if default.exists() => default,
            None => return Ok(None),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let key = wallet_core::credential::IdNumberKey::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Some(key))
    }

    /// The staff session limits (`--session-idle-secs`, `--session-max-secs`).
    pub fn session_limits(&self) -> crate::store::SessionLimits {
        crate::store::SessionLimits {
            idle_secs: i64::from(self.session_idle_secs.max(1)),
            max_secs: i64::from(self.session_max_secs.max(1)),
        }
    }

    /// The store URL: `DATABASE_URL` or the SQLite file in the data directory.
    pub fn store_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("issuer.sqlite3").display()))
    }
}
