//! Anchoring signed log checkpoints on an Ethereum-compatible chain.
//!
//! **Scheme (calldata, no contract).** Each anchored checkpoint is one transaction
//! with `to` = [`ANCHOR_ADDRESS`] (`0x00000000000000000000000000000000000ec001`, an
//! address nobody holds a key for), value 0, and 76 bytes of data: `"ECA1"` ‖ tree
//! size (u64 BE) ‖ root ‖ SHA-256 of the signed note. The scheme lives in
//! `wallet_core::transparency` ([`AnchorCalldata`]), where verifiers read it back.
//!
//! The note digest is over the whole signed note exactly as `GET /log/checkpoint`
//! serves it (checkpoint text and signature lines). Anyone can find the anchors by
//! scanning for transactions to the anchor address and checking the sender against
//! the issuer's published account.
//!
//! **Node access.** Only JSON-RPC: `eth_chainId`, `eth_accounts`,
//! `eth_sendTransaction`, `eth_getTransactionReceipt`, `eth_getBlockByNumber`.
//! Transactions are sent from a node-managed account (`--chain-from`, else the first
//! of `eth_accounts`); the issuer holds no chain key. In production that is the
//! node's own account management or a signing proxy such as EthSigner in front of
//! the node; on a development node (anvil) its unlocked accounts.
//!
//! **Queue.** The worker ([`spawn`]) runs every `--anchor-interval-secs`: it signs the
//! latest checkpoint if the log grew and queues its size (`anchors` table, see
//! [`crate::store::anchors`]); sends each due pending anchor (one transaction each),
//! storing the transaction hash with the `sent` state; polls receipts of sent ones
//! and marks them `confirmed` with the block number and time. A sent transaction
//! without a receipt after `--anchor-resend-after-secs` is sent again (`attempts`
//! counts sends). RPC errors are stored in `last_error` and retried with exponential
//! backoff (`next_attempt_at`, doubling from the interval up to
//! `--anchor-max-backoff-secs`). A confirmed size is never sent again. If the process
//! dies between a send and storing its hash, that size may be anchored twice (the
//! duplicate carries the same data, so it is harmless). Issuance never waits on any
//! of this.

use std::time::Duration;

use serde_json::{json, Value};

use service_http::chain_rpc::HttpJsonRpc;

use crate::domain::transparency_log::TransparencyLog;
use crate::store::{AnchorRecord, AnchorState, Store};

pub use wallet_core::transparency::{note_digest, AnchorCalldata, ANCHOR_ADDRESS, CALLDATA_LEN};
use wallet_core::transparency::{read_anchor, rpc_quantity, AnchorError, JsonRpc};

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct AnchorConfig {
    /// JSON-RPC URL of the node.
    pub rpc_url: String,
    /// Sending account; default: first of `eth_accounts`.
    pub from: Option<String>,
    /// Time between runs.
    pub interval: Duration,
    /// Resend a sent transaction without a receipt after this long.
    pub resend_after: Duration,
    /// Longest backoff after errors.
    pub max_backoff: Duration,
}

impl AnchorConfig {
    /// From the issuer settings; `None` when no RPC URL is set.
    pub fn from_settings(settings: &crate::config::Settings) -> Option<Self> {
        let rpc_url = settings.chain_rpc_url.clone().filter(|url| !url.trim().is_empty())?;
        Some(Self {
            rpc_url,
            from: settings.chain_from.clone(),
            interval: Duration::from_secs(settings.anchor_interval_secs.max(1)),
            resend_after: Duration::from_secs(settings.anchor_resend_after_secs.max(1)),
            max_backoff: Duration::from_secs(settings.anchor_max_backoff_secs.max(1)),
        })
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The anchoring worker.
#[derive(Clone)]
pub struct Anchorer {
    store: Store,
    log: TransparencyLog,
    rpc: HttpJsonRpc,
    config: AnchorConfig,
}

/// Starts the worker as a tokio task.
pub fn spawn(store: Store, log: TransparencyLog, config: AnchorConfig) -> tokio::task::JoinHandle<()> {
    tracing::info!(rpc = %config.rpc_url, interval = ?config.interval, "anchoring checkpoints");
    let anchorer = Anchorer::new(store, log, config);
    tokio::spawn(async move {
        loop {
            anchorer.tick().await;
            tokio::time::sleep(anchorer.config.interval).await;
        }
    })
}

impl Anchorer {
    /// A worker (not started).
    pub fn new(store: Store, log: TransparencyLog, config: AnchorConfig) -> Self {
        Self { rpc: HttpJsonRpc::new(&config.rpc_url), store, log, config }
    }

    fn backoff(&self, attempts: u64) -> i64 {
        let exponent = u32::try_from(attempts.saturating_sub(1).min(20)).unwrap_or(20);
        let delay = self.config.interval.saturating_mul(1u32 << exponent).min(self.config.max_backoff);
        secs(delay).max(1)
    }

    /// One run: queue the latest checkpoint, poll sent anchors, send due ones.
    pub async fn tick(&self) {
        if let Err(e) = self.enqueue_latest().await {
            tracing::warn!(error = %e, "anchoring: cannot queue the latest checkpoint");
        }
        let anchors = match self.store.anchors().await {
            Ok(anchors) => anchors,
            Err(e) => {
                tracing::warn!(error = %e, "anchoring: cannot read the queue");
                return;
            }
        };
        let mut due = Vec::new();
        for anchor in anchors {
            match anchor.state {
                AnchorState::Confirmed => {}
                AnchorState::Sent => {
                    if let Some(resend) = self.poll(anchor).await {
                        due.push(resend);
                    }
                }
                AnchorState::Pending if anchor.next_attempt_at <= unix_now() => due.push(anchor),
                AnchorState::Pending => {}
            }
        }
        if due.is_empty() {
            return;
        }
        let account = match self.account().await {
            Ok(account) => account,
            Err(error) => {
                for anchor in due {
                    self.failed(anchor, error.clone()).await;
                }
                return;
            }
        };
        for anchor in due {
            self.send(anchor, &account).await;
        }
    }

    async fn enqueue_latest(&self) -> Result<(), String> {
        let checkpoint = self.log.checkpoint().await.map_err(|e| e.to_string())?;
        let size = checkpoint.checkpoint.size;
        if size == 0 {
            return Ok(());
        }
        let digest = note_digest(&checkpoint.note.to_string());
        let record = AnchorRecord::new(size, &checkpoint.checkpoint.root, &digest, unix_now());
        if self.store.enqueue_anchor(&record).await.map_err(|e| e.to_string())? {
            tracing::info!(size, "anchoring: checkpoint queued");
        }
        Ok(())
    }

    /// `(chain id, sending account)`.
    async fn account(&self) -> Result<(u64, String), String> {
        let chain_id = self.rpc.call("eth_chainId", json!([])).await?;
        let chain_id = rpc_quantity(&chain_id).ok_or_else(|| format!("eth_chainId: bad result {chain_id}"))?;
        let from = match &self.config.from {
            Some(from) => from.clone(),
            None => {
                let accounts = self.rpc.call("eth_accounts", json!([])).await?;
                accounts
                    .get(0)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| "eth_accounts: the node manages no account; set --chain-from".to_owned())?
            }
        };
        Ok((chain_id, from))
    }

    async fn save(&self, anchor: &AnchorRecord) {
        if let Err(e) = self.store.update_anchor(anchor).await {
            tracing::warn!(size = anchor.tree_size, error = %e, "anchoring: cannot update the queue");
        }
    }

    /// Records a failed send attempt and schedules the retry.
    async fn failed(&self, mut anchor: AnchorRecord, error: String) {
        let now = unix_now();
        anchor.attempts += 1;
        anchor.state = AnchorState::Pending;
        anchor.next_attempt_at = now + self.backoff(anchor.attempts);
        tracing::warn!(size = anchor.tree_size, attempts = anchor.attempts, %error, "anchoring: send failed");
        anchor.last_error = Some(error);
        anchor.updated_at = now;
        self.save(&anchor).await;
    }

    async fn send(&self, mut anchor: AnchorRecord, (chain_id, from): &(u64, String)) {
        let (Ok(root), Ok(digest)) =
            (<[u8; 32]>::try_from(anchor.root.as_slice()), <[u8; 32]>::try_from(anchor.note_digest.as_slice()))
        else {
            return;
        };
        let data = format!(
            "0x{}",
            hex::encode(AnchorCalldata { tree_size: anchor.tree_size, root, note_digest: digest }.encode())
        );
        let tx = json!({"from": from, "to": ANCHOR_ADDRESS, "value": "0x0", "data": data});
        match self.rpc.call("eth_sendTransaction", json!([tx])).await {
            Ok(hash) => {
                let Some(hash) = hash.as_str().map(str::to_owned) else {
                    return self.failed(anchor, format!("eth_sendTransaction: bad result {hash}")).await;
                };
                let now = unix_now();
                anchor.attempts += 1;
                anchor.state = AnchorState::Sent;
                tracing::info!(size = anchor.tree_size, tx = %hash, "anchoring: transaction sent");
                anchor.tx_hash = Some(hash);
                anchor.chain_id = Some(*chain_id);
                anchor.last_error = None;
                anchor.next_attempt_at = now + secs(self.config.resend_after);
                anchor.updated_at = now;
                self.save(&anchor).await;
            }
            Err(error) => self.failed(anchor, error).await,
        }
    }

    /// Polls a sent anchor's receipt; returns it when it must be resent (no
    /// receipt after `--anchor-resend-after-secs`, or the transaction failed).
    async fn poll(&self, mut anchor: AnchorRecord) -> Option<AnchorRecord> {
        let hash = anchor.tx_hash.clone()?;
        let now = unix_now();
        let chain_id = anchor.chain_id.unwrap_or_default();
        match read_anchor(&self.rpc, chain_id, &hash, None).await {
            Ok(confirmed) => {
                anchor.state = AnchorState::Confirmed;
                anchor.block_number = Some(confirmed.block_number);
                anchor.block_time = Some(i64::try_from(confirmed.block_time).unwrap_or(i64::MAX));
                anchor.last_error = None;
                anchor.updated_at = now;
                tracing::info!(size = anchor.tree_size, block_number = confirmed.block_number, tx = %hash, "anchoring: confirmed");
                self.save(&anchor).await;
                None
            }
            Err(AnchorError::Failed(_)) => {
                anchor.last_error = Some(format!("transaction {hash} failed; sending again"));
                Some(anchor)
            }
            Err(AnchorError::NotFound(_) | AnchorError::NotMined(_)) if now >= anchor.next_attempt_at => {
                anchor.last_error = Some(format!("no receipt for {hash}; sending again"));
                Some(anchor)
            }
            Err(AnchorError::NotFound(_) | AnchorError::NotMined(_)) => None,
            Err(error) => {
                anchor.last_error = Some(error.to_string());
                anchor.updated_at = now;
                self.save(&anchor).await;
                None
            }
        }
    }
}
