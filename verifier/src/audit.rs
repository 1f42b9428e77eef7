//! `verifier audit`: replay an issuer's log against the chain's anchors.
//!
//! The auditor trusts only its own chain node. It scans the node's blocks for
//! anchor transactions (from the issuer's anchoring account), fetches every
//! entry the issuer serves now, rebuilds the tree and compares its root at
//! each anchored size with the root the chain recorded then
//! ([`wallet_core::transparency::audit_log`]). A rewrite of the issuer's
//! database shows as the first anchor that disagrees, bounding (or, with one
//! entry per anchor or a saved earlier audit, naming) the first bad entry.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::Value;
use wallet_core::transparency::{
    audit_log, chain_id, read_anchor, rpc_quantity, scan_anchors, AuditReport, Hash, JsonRpc, LogEntry, LogKey,
    MerkleTree,
};

use service_http::chain_rpc::HttpJsonRpc;

/// What to audit.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// The issuer's base URL (serves `/log/entries`, `/log/checkpoint`, `/log/anchors`).
    #[arg(long = "log-url")]
    pub log_url: String,
    /// The log's pinned verifier key (from `/log/key`, obtained out of band).
    #[arg(long = "log-key")]
    pub log_key: String,
    /// JSON-RPC URL of the auditor's own chain node.
    #[arg(long = "chain-rpc-url")]
    pub chain_rpc_url: String,
    /// The issuer's anchoring account; default: the sender of the anchors the issuer lists.
    #[arg(long = "anchor-sender")]
    pub anchor_sender: Option<String>,
    /// First block to scan.
    #[arg(long = "from-block", default_value_t = 0)]
    pub from_block: u64,
    /// Leaf hashes of the last consistent audit (read, then rewritten when this one is consistent):
    /// lets the auditor name the exact first rewritten entry.
    #[arg(long = "state")]
    pub state: Option<PathBuf>,
}

/// Run the audit; the report, and whether the log is consistent with the chain.
///
/// # Errors
/// Network, node or log failures that prevent the audit.
pub async fn run(args: &AuditArgs) -> anyhow::Result<AuditReport> {
    let base = args.log_url.trim_end_matches('/');
    let key = LogKey::from_vkey(args.log_key.trim()).map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
    // The operator's own command: the URLs are theirs, private addresses included.
    let http = service_http::outbound::client_builder(service_http::outbound::PrivateAddresses::Allowed).build()?;
    let rpc = HttpJsonRpc::new(&args.chain_rpc_url);
    let chain = chain_id(&rpc).await?;

    let note = http.get(format!("{base}/log/checkpoint")).send().await?.error_for_status()?.text().await?;
    let checkpoint = key.open_checkpoint(&note).context("the issuer's current checkpoint")?.checkpoint;
    anyhow::ensure!(
        checkpoint.size <= crate::log_sync::MAX_LOG_ENTRIES,
        "log_too_large: the issuer's checkpoint names {} entries, more than the {} an audit reads",
        checkpoint.size,
        crate::log_sync::MAX_LOG_ENTRIES
    );
    let entries = crate::log_sync::fetch_entries(&http, base, 0, checkpoint.size).await.map_err(anyhow::Error::msg)?;
    let tree = MerkleTree::from_leaf_hashes(entries.iter().map(LogEntry::leaf_hash).collect());
    anyhow::ensure!(
        tree.root_at(checkpoint.size).is_ok_and(|r| r == checkpoint.root),
        "the issuer's entries do not hash to its own signed checkpoint"
    );

    let sender = match &args.anchor_sender {
        Some(sender) => sender.clone(),
        None => issuer_sender(&http, &rpc, chain, base).await?,
    };
    let latest = rpc_quantity(&rpc.call("eth_blockNumber", serde_json::json!([])).await.map_err(anyhow::Error::msg)?)
        .context("eth_blockNumber")?;
    let anchors = scan_anchors(&rpc, chain, args.from_block, latest, Some(&sender)).await?;
    let previous = match &args.state {
        Some(path) if path.exists() => Some(read_leaves(path)?),
        _ => None,
    };
    let report = audit_log(&tree, &anchors, previous.as_deref());
    if let (Some(path), true) = (&args.state, report.is_consistent()) {
        write_leaves(path, tree.leaf_hashes())?;
    }
    Ok(report)
}

/// The sending account of the first anchor the issuer lists that the node confirms.
async fn issuer_sender(http: &reqwest::Client, rpc: &HttpJsonRpc, chain: u64, base: &str) -> anyhow::Result<String> {
    let listed: Value = http.get(format!("{base}/log/anchors")).send().await?.error_for_status()?.json().await?;
    for anchor in listed.as_array().into_iter().flatten() {
        if let Some(tx) = anchor.get("txHash").and_then(Value::as_str) {
            if let Ok(found) = read_anchor(rpc, chain, tx, None).await {
                return Ok(found.from);
            }
        }
    }
    anyhow::bail!("the issuer lists no anchor this node knows: give --anchor-sender")
}

fn read_leaves(path: &std::path::Path) -> anyhow::Result<Vec<Hash>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(bytes.len() % 32 == 0, "{} is not a leaf-hash file", path.display());
    Ok(bytes.chunks_exact(32).map(|c| c.try_into().unwrap_or([0; 32])).collect())
}

fn write_leaves(path: &std::path::Path, leaves: &[Hash]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, leaves.concat()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
