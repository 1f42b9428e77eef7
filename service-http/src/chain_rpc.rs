//! Ethereum JSON-RPC over HTTP: the issuer sends anchors with it, the verifier
//! and the auditor read them back.

use std::time::Duration;

use serde_json::{json, Value};
use wallet_core::transparency::JsonRpc;

/// A JSON-RPC client for the node at one URL (10 s per call, 5 s to connect).
#[derive(Debug, Clone)]
pub struct HttpJsonRpc {
    url: String,
    http: reqwest::Client,
}

impl HttpJsonRpc {
    /// A client for the node at `url`.
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
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
        let reply: Value = response.json().await.map_err(|e| format!("{method}: HTTP {status}: {e}"))?;
        if let Some(error) = reply.get("error").filter(|e| !e.is_null()) {
            return Err(format!("{method}: {error}"));
        }
        reply.get("result").cloned().ok_or_else(|| format!("{method}: reply without result"))
    }
}
