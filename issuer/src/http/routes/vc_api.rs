//! VC-API: `POST /credentials/issue`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;
use crate::domain::proof_suite::ProofSuite;

/// `{credential, options}`; `options` choose the cryptosuite
/// ([`ProofSuite::from_vc_api_options`]).
#[derive(Debug, Deserialize)]
pub struct IssueRequest {
    credential: Value,
    #[serde(default)]
    options: Option<Value>,
}

/// Sign the credential; 201 `{verifiableCredential}`.
///
/// # Errors
/// 400 for a credential that breaks the data model, or options asking for a
/// suite or mandatory pointers this issuer cannot sign with.
pub async fn issue(issuer: web::Data<Issuer>, body: web::Json<IssueRequest>) -> Result<HttpResponse, ApiError> {
    if !body.credential.is_object() {
        return Err(ApiError::bad_request(
            "not_an_object",
            "credential 应为 JSON 对象",
            "credential must be a JSON object",
        ));
    }
    let suite = ProofSuite::from_vc_api_options(body.options.as_ref())?;
    let signed = issuer.issue_vc_api(&body.credential, &suite).await?;
    Ok(HttpResponse::Created().json(json!({ "verifiableCredential": signed })))
}
