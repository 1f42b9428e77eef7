//! Witness mode: the verifier cosigns an issuer's transparency log.
//!
//! With `--witness-log-url`, a background task fetches the log's latest
//! checkpoint every `--witness-interval-secs`, and when it is larger than the
//! last one cosigned, fetches a consistency proof from that one and cosigns
//! (C2SP `tlog-cosignature`, via [`Witness::cosign`], which refuses bad
//! signatures, another log, rollbacks and forks). The new state is persisted to
//! `--witness-state-file` *before* the cosigned note is published, so a restart
//! cannot be rolled back. Failures keep the last good cosigned checkpoint.
//!
//! * `GET /witness/checkpoint`: the latest cosigned note (`text/plain`), or 404
//!   `not_witnessing`.
//! * `GET /witness/key`: the witness's verifier key string.
//! * `GET /witness/status`: `{"witnessing", "log", "size", "lastError"}`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use wallet_core::transparency::{
    Checkpoint, Ed25519SigningKey, Hash, LogKey, SignedNote, Witness, WitnessError, WitnessKey,
};

use crate::api_error::ApiError;

/// Witness settings; witness mode is on only with `--witness-log-url`.
#[derive(Debug, Clone, clap::Args)]
pub struct WitnessSettings {
    /// Witness this issuer's transparency log (its base URL, e.g. `https://issuer.example`).
    #[arg(long, env = "VERIFIER_WITNESS_LOG_URL")]
    pub witness_log_url: Option<String>,
    /// The log's verifier key string (as `GET /log/key` serves it), pinned.
    /// Without it, the key recorded in the state file is used, else the key is
    /// fetched once and trusted on first use (logged as a warning).
    #[arg(long, env = "VERIFIER_WITNESS_LOG_KEY")]
    pub witness_log_key: Option<String>,
    /// The witness's Ed25519 signing key (hex seed), generated on first start (mode 0600).
    #[arg(long, env = "VERIFIER_WITNESS_KEY_FILE", default_value = "witness.key")]
    pub witness_key_file: PathBuf,
    /// The witness's name (a schema-less URL, e.g. `witness.health.example/w1`).
    #[arg(long, env = "VERIFIER_WITNESS_NAME", default_value = "witness.verifier.local/w1")]
    pub witness_name: String,
    /// Where the last cosigned checkpoint is kept (so a restart cannot be rolled back).
    #[arg(long, env = "VERIFIER_WITNESS_STATE_FILE", default_value = "witness-state.json")]
    pub witness_state_file: PathBuf,
    /// How often to fetch the log's checkpoint, in seconds.
    #[arg(long, env = "VERIFIER_WITNESS_INTERVAL_SECS", default_value_t = 60)]
    pub witness_interval_secs: u64,
}

impl Default for WitnessSettings {
    fn default() -> Self {
        Self {
            witness_log_url: None,
            witness_log_key: None,
            witness_key_file: "witness.key".into(),
            witness_name: "witness.verifier.local/w1".into(),
            witness_state_file: "witness-state.json".into(),
            witness_interval_secs: 60,
        }
    }
}

/// What is persisted in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistedState {
    /// The log's verifier key string.
    pub log_key: String,
    /// The latest cosigned note (the log's signature and ours).
    pub cosigned: String,
    /// The timestamp of our latest cosignature.
    pub timestamp: u64,
}

#[derive(Debug, Default)]
struct Published {
    cosigned: Option<String>,
    log: Option<String>,
    size: Option<u64>,
    last_error: Option<String>,
}

/// The witness as the HTTP routes see it; cheap to clone.
#[derive(Debug, Clone)]
pub struct WitnessState {
    inner: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    signing_key: Ed25519SigningKey,
    key: WitnessKey,
    published: RwLock<Published>,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut Published)) {
        let mut guard = match self.published.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }

    fn read<T>(&self, f: impl FnOnce(&Published) -> T) -> T {
        match self.published.read() {
            Ok(guard) => f(&guard),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn fail(&self, error: String) {
        self.update(|p| p.last_error = Some(error));
    }
}

impl WitnessState {
    /// Witness mode off.
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Load (or generate) the witness key and the persisted state. Off when
    /// no `--witness-log-url` is set.
    ///
    /// # Errors
    /// An unreadable or invalid key file, an invalid name, an unreadable state file.
    pub fn from_settings(settings: &WitnessSettings) -> anyhow::Result<Self> {
        if settings.witness_log_url.is_none() {
            return Ok(Self::disabled());
        }
        let signing_key = load_or_generate_key(&settings.witness_key_file)?;
        let key = WitnessKey::new(settings.witness_name.clone(), signing_key.verifying_key())
            .with_context(|| format!("invalid --witness-name {:?}", settings.witness_name))?;
        let shared = Shared { signing_key, key, published: RwLock::new(Published::default()) };
        if let Some(state) = read_state(&settings.witness_state_file)? {
            // Serve the last cosigned checkpoint until a newer one is cosigned.
            let checkpoint =
                SignedNote::parse(&state.cosigned).ok().and_then(|note| Checkpoint::from_note_text(note.text()).ok());
            shared.update(|p| {
                p.log = checkpoint.as_ref().map(|c| c.origin.clone());
                p.size = checkpoint.as_ref().map(|c| c.size);
                p.cosigned = Some(state.cosigned);
            });
        }
        Ok(Self { inner: Some(Arc::new(shared)) })
    }

    /// The witness's public key, when witnessing.
    pub fn key(&self) -> Option<&WitnessKey> {
        self.inner.as_ref().map(|s| &s.key)
    }

    /// The latest cosigned note, if any.
    pub fn cosigned(&self) -> Option<String> {
        self.inner.as_ref().and_then(|s| s.read(|p| p.cosigned.clone()))
    }

    /// The cause of the latest failure (cleared by a successful round).
    pub fn last_error(&self) -> Option<String> {
        self.inner.as_ref().and_then(|s| s.read(|p| p.last_error.clone()))
    }

    /// The witnessing loop; returns at once when witness mode is off, or when
    /// the configuration cannot be used (logged at error level). The log is
    /// reached at a private address only when `private` allows.
    pub async fn run(self, settings: WitnessSettings, private: service_http::outbound::PrivateAddresses) {
        let (Some(shared), Some(url)) = (self.inner.clone(), settings.witness_log_url.clone()) else {
            return;
        };
        let url = url.trim_end_matches('/').to_owned();
        let client = match service_http::outbound::client_builder(private).build() {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "witness: cannot build the HTTP client; not witnessing");
                shared.fail(format!("cannot build the HTTP client: {e}"));
                return;
            }
        };
        let interval = std::time::Duration::from_secs(settings.witness_interval_secs.max(1));
        let mut core = loop {
            match WitnessCore::open(&shared, &settings, &client, &url).await {
                Ok(core) => break core,
                Err(e) => {
                    tracing::error!(log = %url, error = format!("{e:#}"), "witness: cannot start witnessing");
                    shared.fail(format!("{e:#}"));
                    if e.downcast_ref::<Fatal>().is_some() {
                        return;
                    }
                }
            }
            tokio::time::sleep(interval).await;
        };
        loop {
            match core.round(&client, &url).await {
                Ok(Some(size)) => tracing::info!(log = core.log.origin(), size, "witness: cosigned a checkpoint"),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(log = %url, error = format!("{e:#}"), "witness: checkpoint refused; keeping the last cosigned one");
                    core.shared.fail(format!("{e:#}"));
                }
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// A configuration error retrying cannot fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Fatal(String);

/// The witness proper: its [`Witness`], the log key and the state file.
pub struct WitnessCore {
    shared: Arc<Shared>,
    log: LogKey,
    witness: Witness,
    state_file: PathBuf,
    last_timestamp: u64,
}

impl WitnessCore {
    async fn open(
        shared: &Arc<Shared>,
        settings: &WitnessSettings,
        client: &reqwest::Client,
        url: &str,
    ) -> anyhow::Result<Self> {
        let state = read_state(&settings.witness_state_file)?;
        let log = match (&settings.witness_log_key, &state) {
            (Some(pinned), _) => {
                LogKey::from_vkey(pinned.trim()).map_err(|e| Fatal(format!("invalid --witness-log-key: {e}")))?
            }
            (None, Some(state)) => {
                tracing::info!("witness: using the log key recorded in the state file");
                LogKey::from_vkey(&state.log_key)
                    .map_err(|e| Fatal(format!("invalid log key in the state file: {e}")))?
            }
            (None, None) => {
                let vkey = fetch_text(client, &format!("{url}/log/key")).await?;
                let log = LogKey::from_vkey(vkey.trim()).context("the log served an invalid key")?;
                tracing::warn!(
                    log_key = %log.to_vkey(),
                    "witness: no --witness-log-key; trusting the log key fetched from the log on first use"
                );
                log
            }
        };
        Self::new(shared.clone(), log, settings.witness_state_file.clone(), state).map_err(|e| Fatal(e).into())
    }

    fn new(
        shared: Arc<Shared>,
        log: LogKey,
        state_file: PathBuf,
        state: Option<PersistedState>,
    ) -> Result<Self, String> {
        let mut witness = Witness::new(shared.key.name().to_owned(), shared.signing_key.clone(), log.clone())
            .map_err(|e| e.to_string())?;
        let mut last_timestamp = 0;
        if let Some(state) = state {
            let recorded =
                LogKey::from_vkey(&state.log_key).map_err(|e| format!("invalid log key in the state file: {e}"))?;
            if recorded != log {
                return Err(format!(
                    "the state file {} is for another log ({}), not {}: refusing to witness",
                    state_file.display(),
                    recorded.to_vkey(),
                    log.to_vkey()
                ));
            }
            let held = log
                .open_checkpoint(&state.cosigned)
                .map_err(|e| format!("the state file's checkpoint does not verify: {e}"))?;
            witness = witness.with_latest(held.checkpoint);
            last_timestamp = state.timestamp;
        }
        shared.update(|p| {
            p.log = Some(log.origin().to_owned());
            p.size = witness.latest().map(|c| c.size);
        });
        Ok(Self { shared, log, witness, state_file, last_timestamp })
    }

    /// One round: fetch the checkpoint and, if it grew, the proof; cosign.
    /// `Some(size)` when a new checkpoint was cosigned.
    async fn round(&mut self, client: &reqwest::Client, url: &str) -> anyhow::Result<Option<u64>> {
        let text = fetch_text(client, &format!("{url}/log/checkpoint")).await?;
        let offered = self.log.open_checkpoint(&text).map_err(WitnessError::from).context("checkpoint refused")?;
        let from = match self.witness.latest() {
            Some(latest) if latest.size == offered.checkpoint.size && latest.root == offered.checkpoint.root => {
                self.shared.update(|p| p.last_error = None);
                return Ok(None);
            }
            Some(latest) if latest.size > 0 && latest.size < offered.checkpoint.size => Some(latest.size),
            _ => None,
        };
        let proof = match from {
            Some(from) => fetch_consistency(client, url, from, offered.checkpoint.size).await?,
            None => Vec::new(),
        };
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        self.offer(&text, &proof, now).map(Some)
    }

    /// Check and cosign `text` given a consistency proof from the latest
    /// checkpoint; persist, then publish. Returns the new size.
    ///
    /// # Errors
    /// The library's refusal (bad signature, other log, rollback, fork), or a
    /// state file that cannot be written (nothing is published then).
    pub fn offer(&mut self, text: &str, proof: &[Hash], now: u64) -> anyhow::Result<u64> {
        let mut candidate = self.witness.clone();
        let now = now.max(self.last_timestamp);
        let line = match candidate.cosign(text, proof, now) {
            Ok(line) => line,
            Err(WitnessError::Inconsistent(e)) => {
                let held = self.witness.latest();
                let offered = SignedNote::parse(text).ok().and_then(|n| Checkpoint::from_note_text(n.text()).ok());
                tracing::error!(
                    log = self.log.origin(),
                    held_size = held.map(|c| c.size),
                    held_root = held.map(|c| hex::encode(c.root)),
                    offered_size = offered.as_ref().map(|c| c.size),
                    offered_root = offered.as_ref().map(|c| hex::encode(c.root)),
                    error = %e,
                    "witness: the log is INCONSISTENT with the checkpoint we cosigned (fork or bad proof)"
                );
                if let Err(kept) = self.keep_evidence(text, proof, now, &e.to_string()) {
                    tracing::error!(error = format!("{kept:#}"), "witness: cannot keep the evidence of the fork");
                }
                return Err(WitnessError::Inconsistent(e)).context("the log forked or sent a bad consistency proof");
            }
            Err(e) => return Err(e).context("checkpoint refused"),
        };
        let timestamp = u64::from_be_bytes(*line.signature().first_chunk::<8>().context("cosignature too short")?);
        let mut note = SignedNote::parse(text).context("checkpoint note")?;
        note.add_signature(line).context("adding the cosignature")?;
        let cosigned = note.to_string();
        let size = candidate.latest().map(|c| c.size).unwrap_or_default();
        let state = PersistedState { log_key: self.log.to_vkey(), cosigned: cosigned.clone(), timestamp };
        write_state(&self.state_file, &state)
            .with_context(|| format!("persisting the witness state to {}", self.state_file.display()))?;
        self.witness = candidate;
        self.last_timestamp = timestamp;
        self.shared.update(|p| {
            p.cosigned = Some(cosigned);
            p.size = Some(size);
            p.log = Some(self.log.origin().to_owned());
            p.last_error = None;
        });
        Ok(size)
    }
}

impl WitnessCore {
    /// Keep `offered` (signed by the log, refused as inconsistent with what we
    /// cosigned) beside the state file, with the note we had cosigned: once per
    /// offered note, at most [`MAX_FORK_EVIDENCE`] of them.
    fn keep_evidence(&self, offered: &str, proof: &[Hash], now: u64, reason: &str) -> anyhow::Result<()> {
        let Some(held) = self.shared.read(|p| p.cosigned.clone()) else { return Ok(()) };
        let mut kept = read_evidence(&self.state_file)?;
        if kept.len() >= MAX_FORK_EVIDENCE || kept.iter().any(|k| k.offered == offered) {
            return Ok(());
        }
        kept.push(ForkEvidence {
            detected_at: now,
            held,
            offered: offered.to_owned(),
            consistency_proof: proof.iter().map(hex::encode).collect(),
            reason: reason.to_owned(),
        });
        write_state(&evidence_file(&self.state_file), &kept)
    }
}

async fn fetch_text(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let resp = client.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let resp = resp.error_for_status().with_context(|| format!("GET {url}"))?;
    let bytes = service_http::outbound::read_capped(resp, 64 * 1024).await.with_context(|| format!("GET {url}"))?;
    String::from_utf8(bytes).with_context(|| format!("GET {url}: not UTF-8"))
}

async fn fetch_consistency(client: &reqwest::Client, url: &str, from: u64, to: u64) -> anyhow::Result<Vec<Hash>> {
    #[derive(Deserialize)]
    struct Proof {
        proof: Vec<String>,
    }
    let text = fetch_text(client, &format!("{url}/log/consistency?from={from}&to={to}")).await?;
    let proof: Proof = serde_json::from_str(&text).context("malformed consistency proof")?;
    anyhow::ensure!(proof.proof.len() <= 128, "consistency proof too long");
    proof
        .proof
        .iter()
        .map(|h| {
            decode_base64(h).and_then(|b| b.try_into().ok()).context("consistency proof hash is not base64 of 32 bytes")
        })
        .collect()
}

/// Strict standard base64 with padding (the `base64` crate's standard engine:
/// canonical padding, no stray trailing bits).
fn decode_base64(input: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(input).ok()
}

fn load_or_generate_key(path: &Path) -> anyhow::Result<Ed25519SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let seed = hex::decode(text.trim()).with_context(|| format!("{} is not a hex key", path.display()))?;
            let seed: [u8; 32] =
                seed.try_into().map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))?;
            Ok(Ed25519SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed: [u8; 32] = rand::random();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
            file.write_all(format!("{}\n", hex::encode(seed)).as_bytes())?;
            file.sync_all()?;
            let key = Ed25519SigningKey::from_bytes(&seed);
            tracing::info!(path = %path.display(), "generated a new witness key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn read_state(path: &Path) -> anyhow::Result<Option<PersistedState>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a witness state file", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// A checkpoint signed by the log that contradicts the one this witness had
/// cosigned (same size and another root, or a larger tree whose consistency
/// proof fails): kept as evidence of a fork (split view) for anyone to check
/// with the log key alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkEvidence {
    /// When it was refused (the witness's clock, Unix seconds).
    pub detected_at: u64,
    /// The note this witness had cosigned (the log's signature and ours).
    pub held: String,
    /// The contradicting note, as the log signed it.
    pub offered: String,
    /// The consistency proof the log sent with it (hex), if any.
    pub consistency_proof: Vec<String>,
    /// Why it was refused.
    pub reason: String,
}

/// At most this many contradictions are kept (the first ones: one proves the fork).
pub const MAX_FORK_EVIDENCE: usize = 32;

/// Where the evidence of `state_file`'s witness is kept: beside it, `<state file>.forks.json`.
pub fn evidence_file(state_file: &Path) -> PathBuf {
    let mut path = state_file.as_os_str().to_owned();
    path.push(".forks.json");
    PathBuf::from(path)
}

/// The fork evidence kept beside `state_file` (none: empty).
///
/// # Errors
/// The file exists but cannot be read or parsed.
pub fn read_evidence(state_file: &Path) -> anyhow::Result<Vec<ForkEvidence>> {
    let path = evidence_file(state_file);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("{} is not a witness evidence file", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Write to a temporary file, sync, and rename over the state file.
fn write_state(path: &Path, state: &impl Serialize) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(state)?)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn not_witnessing() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_witnessing",
        "本验证服务未作为见证者运行，或尚未联署任何检查点",
        "this verifier is not witnessing a log, or has not cosigned a checkpoint yet",
    )
}

/// `GET /witness/checkpoint`
///
/// # Errors
/// 404 `not_witnessing`.
pub async fn checkpoint(state: web::Data<WitnessState>) -> Result<HttpResponse, ApiError> {
    let note = state.cosigned().ok_or_else(not_witnessing)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(note))
}

/// `GET /witness/key`
///
/// # Errors
/// 404 `not_witnessing`.
pub async fn key(state: web::Data<WitnessState>) -> Result<HttpResponse, ApiError> {
    let key = state.key().ok_or_else(not_witnessing)?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(key.to_vkey()))
}

/// `GET /witness/status`
pub async fn status(state: web::Data<WitnessState>) -> HttpResponse {
    let body = match &state.inner {
        None => serde_json::json!({"witnessing": false}),
        Some(shared) => shared.read(|p| {
            serde_json::json!({
                "witnessing": true,
                "key": shared.key.to_vkey(),
                "log": p.log,
                "size": p.size,
                "lastError": p.last_error,
            })
        }),
    };
    HttpResponse::Ok().json(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::transparency::{LogSigner, MerkleTree};

    fn shared() -> Arc<Shared> {
        let signing_key = Ed25519SigningKey::from_bytes(&[9; 32]);
        let key = WitnessKey::new("witness.test/w1", signing_key.verifying_key()).unwrap();
        Arc::new(Shared { signing_key, key, published: RwLock::new(Published::default()) })
    }

    fn checkpoint(signer: &LogSigner, tree: &MerkleTree) -> String {
        Checkpoint::new(signer.log_key().origin(), tree.size(), tree.root()).sign(signer).unwrap().to_string()
    }

    #[test]
    fn base64_decodes_strictly() {
        assert_eq!(decode_base64("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_base64("Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert!(decode_base64("Zm9").is_none());
        assert!(decode_base64("Zg==Zm9v").is_none());
    }

    #[test]
    fn refuses_a_rollback_below_the_persisted_state() {
        let dir = tempfile::tempdir().unwrap();
        let state_file = dir.path().join("state.json");
        let signer = LogSigner::ed25519("log.test/log", Ed25519SigningKey::from_bytes(&[3; 32])).unwrap();
        let mut tree = MerkleTree::new();
        for i in 0..3u8 {
            tree.append([i; 32]);
        }
        let small = checkpoint(&signer, &tree);
        for i in 3..5u8 {
            tree.append([i; 32]);
        }
        let large = checkpoint(&signer, &tree);

        let mut core = WitnessCore::new(shared(), signer.log_key().clone(), state_file.clone(), None).unwrap();
        assert_eq!(core.offer(&large, &[], 1_000).unwrap(), 5);

        // Restart from the persisted state: the smaller checkpoint is refused.
        let state = read_state(&state_file).unwrap().unwrap();
        let shared = shared();
        let mut core =
            WitnessCore::new(shared.clone(), signer.log_key().clone(), state_file.clone(), Some(state)).unwrap();
        let err = core.offer(&small, &[], 2_000).unwrap_err();
        assert!(
            matches!(err.downcast_ref::<WitnessError>(), Some(WitnessError::Rollback { latest: 5, offered: 3 })),
            "{err:#}"
        );
        let after = read_state(&state_file).unwrap().unwrap();
        assert_eq!(signer.log_key().open_checkpoint(&after.cosigned).unwrap().checkpoint.size, 5);
        assert!(shared.read(|p| p.cosigned.is_none()));

        // A state file for another log is refused outright.
        let other = LogSigner::ed25519("other.test/log", Ed25519SigningKey::from_bytes(&[4; 32])).unwrap();
        assert!(WitnessCore::new(shared, other.log_key().clone(), state_file, Some(after)).is_err());
    }

    /// Attack review part 2 (split view): the log signs two trees of the same
    /// size, or a larger tree that does not extend the one cosigned (a proof that
    /// fails). The witness refuses both, keeps cosigning nothing else, and keeps
    /// each contradicting log-signed checkpoint beside the one it cosigned: the
    /// evidence, which survives a restart and verifies under the log key alone.
    #[test]
    fn a_split_view_is_refused_and_the_log_signed_contradiction_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state_file = dir.path().join("state.json");
        let signer = LogSigner::ed25519("log.test/log", Ed25519SigningKey::from_bytes(&[3; 32])).unwrap();
        let (mut honest, mut fork) = (MerkleTree::new(), MerkleTree::new());
        for i in 0..3u8 {
            honest.append([i; 32]);
            fork.append([if i == 2 { 99 } else { i }; 32]);
        }
        let cosigned = checkpoint(&signer, &honest);
        let same_size = checkpoint(&signer, &fork);
        fork.append([3; 32]);
        fork.append([4; 32]);
        let larger = checkpoint(&signer, &fork);
        let proof = fork.consistency_proof(3, 5).unwrap();

        let mut core = WitnessCore::new(shared(), signer.log_key().clone(), state_file.clone(), None).unwrap();
        assert_eq!(core.offer(&cosigned, &[], 1_000).unwrap(), 3);
        assert!(core.offer(&same_size, &[], 1_001).is_err(), "same size, another root");
        assert!(core.offer(&larger, &proof, 1_002).is_err(), "a larger tree that is not an extension");
        assert!(core.offer(&same_size, &[], 1_003).is_err(), "still refused");
        let state = read_state(&state_file).unwrap().unwrap();
        assert_eq!(signer.log_key().open_checkpoint(&state.cosigned).unwrap().checkpoint.root, honest.root());

        let evidence = read_evidence(&state_file).unwrap();
        assert_eq!(evidence.len(), 2, "each contradiction once: {evidence:#?}");
        for (kept, offered) in evidence.iter().zip([&same_size, &larger]) {
            assert_eq!(&kept.offered, offered);
            let held = signer.log_key().open_checkpoint(&kept.held).unwrap().checkpoint;
            assert_eq!((held.size, held.root), (3, honest.root()), "the tree we cosigned");
            assert!(signer.log_key().open_checkpoint(&kept.offered).is_ok(), "signed by the log itself");
        }
        assert_eq!(evidence[1].consistency_proof.len(), proof.len());
    }
}
