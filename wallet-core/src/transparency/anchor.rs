//! Checkpoints anchored on an EVM-compatible chain: the calldata scheme, and
//! reading an anchor back from a chain node's JSON-RPC answers.
//!
//! **Scheme (calldata, no contract).** Each anchored checkpoint is one
//! transaction with `to` = [`ANCHOR_ADDRESS`] (an address nobody holds a key
//! for), value 0, and `data` ([`CALLDATA_LEN`] = 76 bytes):
//!
//! ```text
//! "ECA1" (4 ASCII bytes) ‖ tree size (u64, big-endian)
//!   ‖ root hash (32 bytes) ‖ SHA-256 of the signed checkpoint note (32 bytes)
//! ```
//!
//! One transaction anchors the whole tree at that size, however many entries
//! it holds. What an anchor proves: a tree of that size with that root existed
//! no later than the block's time, in a record the departments' nodes share.
//! Whoever sent it does not matter for that (the root is only meaningful if it
//! matches a tree signed by the log), but verifiers may pin the issuer's
//! sending account.
//!
//! This module does no I/O: the issuer's worker and the verifier call the
//! node (`eth_getTransactionByHash`, `eth_getTransactionReceipt`,
//! `eth_getBlockByNumber`) and hand the JSON answers to
//! [`ChainAnchor::from_rpc`], which checks they describe a successful anchor
//! transaction in that block.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::hash::Hash;
use super::serde_hex;

/// The fixed address anchor transactions are sent to.
pub const ANCHOR_ADDRESS: &str = "0x00000000000000000000000000000000000ec001";

/// The first four bytes of anchor calldata.
pub const ANCHOR_MAGIC: &[u8; 4] = b"ECA1";

/// Length of anchor calldata.
pub const CALLDATA_LEN: usize = 4 + 8 + 32 + 32;

/// What one anchor transaction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchorCalldata {
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// The checkpoint's root hash.
    #[serde(with = "serde_hex::hash")]
    pub root: Hash,
    /// SHA-256 of the signed checkpoint note ([`note_digest`]).
    #[serde(with = "serde_hex::hash")]
    pub note_digest: Hash,
}

impl AnchorCalldata {
    /// The 76 bytes of calldata.
    pub fn encode(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(CALLDATA_LEN);
        data.extend_from_slice(ANCHOR_MAGIC);
        data.extend_from_slice(&self.tree_size.to_be_bytes());
        data.extend_from_slice(&self.root);
        data.extend_from_slice(&self.note_digest);
        data
    }

    /// Decodes calldata; `None` if it is not anchor calldata.
    pub fn decode(data: &[u8]) -> Option<Self> {
        if data.len() != CALLDATA_LEN {
            return None;
        }
        let (magic, rest) = data.split_first_chunk::<4>()?;
        let (tree_size, rest) = rest.split_first_chunk::<8>()?;
        let (root, note_digest) = rest.split_first_chunk::<32>()?;
        if magic != ANCHOR_MAGIC {
            return None;
        }
        Some(Self { tree_size: u64::from_be_bytes(*tree_size), root: *root, note_digest: note_digest.try_into().ok()? })
    }
}

/// SHA-256 of a signed note's text, as anchored.
pub fn note_digest(note_text: &str) -> Hash {
    Sha256::digest(note_text.as_bytes()).into()
}

/// A checkpoint anchor as the verifier's own chain node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainAnchor {
    /// The chain (`eth_chainId` of the node asked).
    pub chain_id: u64,
    /// Transaction hash (`0x…`, lower case).
    pub tx_hash: String,
    /// Sending account (`0x…`, lower case).
    pub from: String,
    /// Block number.
    pub block_number: u64,
    /// Block hash (`0x…`, lower case).
    pub block_hash: String,
    /// Block timestamp (unix seconds).
    pub block_time: u64,
    /// What was anchored.
    #[serde(flatten)]
    pub calldata: AnchorCalldata,
}

/// Why a transaction is not (yet) a usable anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The node does not know the transaction (another chain, or dropped).
    #[error("transaction {0} is not known to the chain node")]
    NotFound(String),
    /// Known but not yet in a block.
    #[error("transaction {0} is not yet in a block")]
    NotMined(String),
    /// Mined but failed.
    #[error("transaction {0} failed (receipt status 0)")]
    Failed(String),
    /// Not a transaction to the anchor address with anchor calldata.
    #[error("transaction {0} is not a checkpoint anchor")]
    NotAnAnchor(String),
    /// Sent from another account than the pinned one.
    #[error("transaction {tx} was sent by {from}, not by the issuer's account {expected}")]
    WrongSender {
        /// The transaction.
        tx: String,
        /// Its sender.
        from: String,
        /// The pinned account.
        expected: String,
    },
    /// The receipt or block does not agree with the transaction.
    #[error("the node's answers about transaction {0} disagree (block number or hash)")]
    Inconsistent(String),
    /// A field is missing or malformed in the node's answer.
    #[error("malformed JSON-RPC answer: {0}")]
    Malformed(String),
    /// The node could not be asked (transport or JSON-RPC error).
    #[error("chain node: {0}")]
    Rpc(String),
}

impl AnchorError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "anchor_tx_not_found",
            Self::NotMined(_) => "anchor_tx_not_mined",
            Self::Failed(_) => "anchor_tx_failed",
            Self::NotAnAnchor(_) => "anchor_tx_not_an_anchor",
            Self::WrongSender { .. } => "anchor_tx_wrong_sender",
            Self::Inconsistent(_) => "anchor_tx_inconsistent",
            Self::Malformed(_) => "anchor_rpc_malformed",
            Self::Rpc(_) => "anchor_rpc_unavailable",
        }
    }
}

/// Parses a JSON-RPC quantity (`"0x1a"`).
pub fn rpc_quantity(value: &Value) -> Option<u64> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Parses JSON-RPC data (`"0x…"`, even length).
pub fn rpc_data(value: &Value) -> Option<Vec<u8>> {
    hex::decode(value.as_str()?.strip_prefix("0x")?).ok()
}

fn field<'a>(object: &'a Value, name: &str, what: &str) -> Result<&'a Value, AnchorError> {
    object.get(name).filter(|v| !v.is_null()).ok_or_else(|| AnchorError::Malformed(format!("{what} without {name}")))
}

fn lower(value: &Value, name: &str, what: &str) -> Result<String, AnchorError> {
    value
        .as_str()
        .filter(|s| s.starts_with("0x"))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| AnchorError::Malformed(format!("{what}.{name} is not 0x-hex")))
}

impl ChainAnchor {
    /// Reads an anchor from a node's answers about transaction `tx_hash`:
    /// `tx` (`eth_getTransactionByHash`, `null` when unknown), `receipt`
    /// (`eth_getTransactionReceipt`, `null` when not mined) and `block`
    /// (`eth_getBlockByNumber` of the receipt's block). With `sender`, the
    /// transaction must come from that account.
    ///
    /// # Errors
    /// [`AnchorError`], naming why the transaction is not (yet) an anchor.
    pub fn from_rpc(
        chain_id: u64,
        tx_hash: &str,
        tx: &Value,
        receipt: &Value,
        block: &Value,
        sender: Option<&str>,
    ) -> Result<Self, AnchorError> {
        let tx_hash = tx_hash.to_ascii_lowercase();
        if tx.is_null() {
            return Err(AnchorError::NotFound(tx_hash));
        }
        if receipt.is_null() {
            return Err(AnchorError::NotMined(tx_hash));
        }
        let to = tx.get("to").and_then(Value::as_str).map(str::to_ascii_lowercase);
        let input = tx.get("input").or_else(|| tx.get("data")).and_then(rpc_data);
        let calldata = match (to.as_deref(), input) {
            (Some(ANCHOR_ADDRESS), Some(data)) => {
                AnchorCalldata::decode(&data).ok_or_else(|| AnchorError::NotAnAnchor(tx_hash.clone()))?
            }
            _ => return Err(AnchorError::NotAnAnchor(tx_hash)),
        };
        let from = lower(field(tx, "from", "transaction")?, "from", "transaction")?;
        if let Some(expected) = sender {
            if !expected.eq_ignore_ascii_case(&from) {
                return Err(AnchorError::WrongSender { tx: tx_hash, from, expected: expected.to_ascii_lowercase() });
            }
        }
        match rpc_quantity(field(receipt, "status", "receipt")?) {
            Some(1) => {}
            Some(_) => return Err(AnchorError::Failed(tx_hash)),
            None => return Err(AnchorError::Malformed("receipt.status".into())),
        }
        let block_number = rpc_quantity(field(receipt, "blockNumber", "receipt")?)
            .ok_or_else(|| AnchorError::Malformed("receipt.blockNumber".into()))?;
        let block_hash = lower(field(receipt, "blockHash", "receipt")?, "blockHash", "receipt")?;
        if block.is_null() {
            return Err(AnchorError::Inconsistent(tx_hash));
        }
        let number = rpc_quantity(field(block, "number", "block")?);
        let hash = lower(field(block, "hash", "block")?, "hash", "block")?;
        let receipt_tx = receipt.get("transactionHash").and_then(Value::as_str).map(str::to_ascii_lowercase);
        if number != Some(block_number) || hash != block_hash || receipt_tx.is_some_and(|h| h != tx_hash) {
            return Err(AnchorError::Inconsistent(tx_hash));
        }
        let block_time = rpc_quantity(field(block, "timestamp", "block")?)
            .ok_or_else(|| AnchorError::Malformed("block.timestamp".into()))?;
        Ok(Self { chain_id, tx_hash, from, block_number, block_hash, block_time, calldata })
    }
}

/// A JSON-RPC transport to an Ethereum-compatible node. The application
/// supplies it (the services use an HTTP client; a phone app its own stack).
pub trait JsonRpc {
    /// Call `method` with `params`; the `result` member, or an error message.
    fn call(&self, method: &str, params: Value) -> impl std::future::Future<Output = Result<Value, String>> + Send;
}

/// The node's chain id (`eth_chainId`).
///
/// # Errors
/// [`AnchorError::Rpc`] or [`AnchorError::Malformed`].
pub async fn chain_id<R: JsonRpc>(rpc: &R) -> Result<u64, AnchorError> {
    let id = rpc.call("eth_chainId", serde_json::json!([])).await.map_err(AnchorError::Rpc)?;
    rpc_quantity(&id).ok_or_else(|| AnchorError::Malformed(format!("eth_chainId answered {id}")))
}

/// Ask the node about anchor transaction `tx_hash`: its block and time.
///
/// # Errors
/// [`AnchorError`]: why it is not (yet) an anchor on this node's chain.
pub async fn read_anchor<R: JsonRpc>(
    rpc: &R,
    chain_id: u64,
    tx_hash: &str,
    sender: Option<&str>,
) -> Result<ChainAnchor, AnchorError> {
    use serde_json::json;
    let tx = rpc.call("eth_getTransactionByHash", json!([tx_hash])).await.map_err(AnchorError::Rpc)?;
    if tx.is_null() {
        return Err(AnchorError::NotFound(tx_hash.to_ascii_lowercase()));
    }
    let receipt = rpc.call("eth_getTransactionReceipt", json!([tx_hash])).await.map_err(AnchorError::Rpc)?;
    let block = match receipt.get("blockNumber").and_then(rpc_quantity) {
        Some(number) => {
            rpc.call("eth_getBlockByNumber", json!([format!("0x{number:x}"), false])).await.map_err(AnchorError::Rpc)?
        }
        None => Value::Null,
    };
    ChainAnchor::from_rpc(chain_id, tx_hash, &tx, &receipt, &block, sender)
}

/// Every anchor in blocks `from..=to` (an auditor's scan of the chain itself,
/// independent of what the issuer says it anchored), in chain order. Failed
/// transactions and other calldata are skipped; with `sender`, so are other
/// accounts' transactions.
///
/// # Errors
/// [`AnchorError::Rpc`] / [`AnchorError::Malformed`] when the node fails.
pub async fn scan_anchors<R: JsonRpc>(
    rpc: &R,
    chain_id: u64,
    from: u64,
    to: u64,
    sender: Option<&str>,
) -> Result<Vec<ChainAnchor>, AnchorError> {
    use serde_json::json;
    let mut found = Vec::new();
    for number in from..=to {
        let block =
            rpc.call("eth_getBlockByNumber", json!([format!("0x{number:x}"), true])).await.map_err(AnchorError::Rpc)?;
        let Some(transactions) = block.get("transactions").and_then(Value::as_array) else {
            continue;
        };
        for tx in transactions {
            let to_anchor =
                tx.get("to").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(ANCHOR_ADDRESS));
            let Some(hash) = tx.get("hash").and_then(Value::as_str).filter(|_| to_anchor) else {
                continue;
            };
            let receipt = rpc.call("eth_getTransactionReceipt", json!([hash])).await.map_err(AnchorError::Rpc)?;
            match ChainAnchor::from_rpc(chain_id, hash, tx, &receipt, &block, sender) {
                Ok(anchor) => found.push(anchor),
                Err(AnchorError::Rpc(e)) => return Err(AnchorError::Rpc(e)),
                Err(_) => {}
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> AnchorCalldata {
        AnchorCalldata { tree_size: 42, root: [7; 32], note_digest: [9; 32] }
    }

    fn answers() -> (Value, Value, Value) {
        let input = format!("0x{}", hex::encode(sample().encode()));
        let tx = json!({"hash": "0xAB", "from": "0xF00", "to": ANCHOR_ADDRESS, "input": input});
        let receipt = json!({"status": "0x1", "blockNumber": "0x10", "blockHash": "0xBB", "transactionHash": "0xab"});
        let block = json!({"number": "0x10", "hash": "0xbb", "timestamp": "0x6553f100"});
        (tx, receipt, block)
    }

    #[test]
    fn calldata_round_trips_and_refuses_other_data() {
        let data = sample().encode();
        assert_eq!(data.len(), CALLDATA_LEN);
        assert_eq!(&data[..12], b"ECA1\0\0\0\0\0\0\0\x2a");
        assert_eq!(AnchorCalldata::decode(&data), Some(sample()));
        assert_eq!(AnchorCalldata::decode(&data[..75]), None);
        let mut wrong_magic = data.clone();
        wrong_magic[0] = b'X';
        assert_eq!(AnchorCalldata::decode(&wrong_magic), None);
    }

    #[test]
    fn reads_an_anchor_from_node_answers() {
        let (tx, receipt, block) = answers();
        let anchor = ChainAnchor::from_rpc(31337, "0xAB", &tx, &receipt, &block, Some("0xf00")).unwrap();
        assert_eq!(anchor.block_number, 16);
        assert_eq!(anchor.block_time, 0x6553_f100);
        assert_eq!(anchor.calldata, sample());
        assert_eq!(anchor.from, "0xf00");
    }

    #[test]
    fn refuses_what_is_not_a_mined_successful_anchor() {
        let (tx, receipt, block) = answers();
        let err = |tx: &Value, receipt: &Value, block: &Value, sender| {
            ChainAnchor::from_rpc(1, "0xab", tx, receipt, block, sender).unwrap_err().code()
        };
        assert_eq!(err(&Value::Null, &receipt, &block, None), "anchor_tx_not_found");
        assert_eq!(err(&tx, &Value::Null, &block, None), "anchor_tx_not_mined");
        assert_eq!(err(&tx, &receipt, &block, Some("0xbeef")), "anchor_tx_wrong_sender");
        let mut failed = receipt.clone();
        failed["status"] = json!("0x0");
        assert_eq!(err(&tx, &failed, &block, None), "anchor_tx_failed");
        let mut elsewhere = tx.clone();
        elsewhere["to"] = json!("0x0000000000000000000000000000000000000001");
        assert_eq!(err(&elsewhere, &receipt, &block, None), "anchor_tx_not_an_anchor");
        let mut other_data = tx.clone();
        other_data["input"] = json!("0x1234");
        assert_eq!(err(&other_data, &receipt, &block, None), "anchor_tx_not_an_anchor");
        let mut other_block = block.clone();
        other_block["hash"] = json!("0xcc");
        assert_eq!(err(&tx, &receipt, &other_block, None), "anchor_tx_inconsistent");
        let mut no_time = block.clone();
        no_time["timestamp"] = json!("soon");
        assert_eq!(err(&tx, &receipt, &no_time, None), "anchor_rpc_malformed");
    }

    #[test]
    fn quantities_are_strict() {
        assert_eq!(rpc_quantity(&json!("0x1a")), Some(26));
        assert_eq!(rpc_quantity(&json!("1a")), None);
        assert_eq!(rpc_quantity(&json!("0x")), None);
        assert_eq!(rpc_quantity(&json!("0x10000000000000000")), None);
        assert_eq!(rpc_quantity(&json!(26)), None);
    }
}
