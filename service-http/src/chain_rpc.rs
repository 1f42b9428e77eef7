//! Ethereum JSON-RPC over HTTP: the issuer sends anchors with it, the verifier
//! and the auditor read them back.

use serde_json::{json, Value};
use wallet_core::transparency::JsonRpc;

use crate::outbound::PrivateAddresses;

/// Largest JSON-RPC reply read (logs of a block range stay far below it).
const MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;

/// A JSON-RPC client for the node at one URL (the [`outbound`](crate::outbound)
/// client: 5 s to connect, 30 s per call, no redirects).
#[derive(Debug, Clone)]
pub struct HttpJsonRpc {
    url: String,
    http: reqwest::Client,
}

impl HttpJsonRpc {
    /// A client for the node at `url`, which the operator configured
    /// (`--chain-rpc-url`): a node on a private network or on loopback (anvil
    /// in development and tests) is normal, so private addresses are allowed.
    /// Use [`with_private_addresses`](Self::with_private_addresses) to refuse them.
    pub fn new(url: &str) -> Self {
        Self::with_private_addresses(url, PrivateAddresses::Allowed)
    }

    /// A client for the node at `url`, reaching private addresses only when `private` allows.
    pub fn with_private_addresses(url: &str, private: PrivateAddresses) -> Self {
        let http = crate::outbound::client_builder(private).build().unwrap_or_default();
        Self { url: url.to_owned(), http }
    }
}

impl JsonRpc for HttpJsonRpc {
    /// Calls `method`; the `result`, or an error message naming the method
    /// (transport errors, HTTP errors, JSON-RPC errors).
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self.http.post(&self.url).json(&body).send().await.map_err(|e| format!("{method}: {e}"))?;
        let status = response.status();
        let body = crate::outbound::read_capped(response, MAX_REPLY_BYTES)
            .await
            .map_err(|e| format!("{method}: HTTP {status}: {e}"))?;
        let reply: Value = serde_json::from_slice(&body).map_err(|e| format!("{method}: HTTP {status}: {e}"))?;
        if let Some(error) = reply.get("error").filter(|e| !e.is_null()) {
            return Err(format!("{method}: {error}"));
        }
        reply.get("result").cloned().ok_or_else(|| format!("{method}: reply without result"))
    }
}
