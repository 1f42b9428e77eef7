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
pub async fn issue(
    issuer: web::Data<Issuer>,
    p384: Option<web::Data<crate::vc_api_p384_key::VcApiP384Key>>,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, ApiError> {
    if !body.credential.is_object() {
        return Err(ApiError::bad_request(
            "not_an_object",
            "credential 应为 JSON 对象",
            "credential must be a JSON object",
        ));
    }
    let p384 = p384.as_ref().and_then(|k| k.0.as_ref());
    let suite = ProofSuite::from_vc_api_options(body.options.as_ref())?.with_vc_api_key(&body.credential, p384)?;
    let signed = issuer.issue_vc_api(&body.credential, &suite).await?;
    Ok(HttpResponse::Created().json(json!({ "verifiableCredential": signed })))
}
