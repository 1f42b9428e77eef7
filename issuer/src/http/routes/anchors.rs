//! `GET /log/anchors`: the checkpoint anchoring queue (see [`crate::domain::anchor`]).
//!
//! A JSON array, by tree size: `{"treeSize", "root" (hex), "noteDigest" (hex),
//! "state" (pending|sent|confirmed), "txHash", "attempts", "lastError",
//! "blockNumber", "blockTime" (unix seconds), "chainId"}`. Empty when anchoring is off.
//! `?after=N`: only those of tree sizes above N, at most
//! [`audit::ANCHOR_PAGE`] (a verifier pages through them; the whole list
//! grows with every anchor).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::api_error::ApiError;
use crate::domain::audit;
use crate::domain::issuance::Issuer;

/// Query of `GET /log/anchors`.
#[derive(Debug, Deserialize)]
pub struct AnchorsQuery {
    after: Option<u64>,
}

/// `GET /log/anchors[?after=N]`
///
/// # Errors
/// 500 on store failures.
pub async fn anchors(issuer: web::Data<Issuer>, query: web::Query<AnchorsQuery>) -> Result<HttpResponse, ApiError> {
    let anchors = match query.after {
        Some(after) => audit::anchors_after(&issuer.store, after).await,
        None => audit::anchors(&issuer.store).await,
    }
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let list: Vec<_> = anchors
        .iter()
        .map(|a| {
            json!({
                "treeSize": a.tree_size,
                "root": hex::encode(&a.root),
                "noteDigest": hex::encode(&a.note_digest),
                "state": a.state,
                "txHash": a.tx_hash,
                "attempts": a.attempts,
                "lastError": a.last_error,
                "blockNumber": a.block_number,
                "blockTime": a.block_time,
                "chainId": a.chain_id,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache")).json(list))
}
