//! VC-API: `POST /credentials/issue`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;

/// `{credential, options}`
#[derive(Debug, Deserialize)]
pub struct IssueRequest {
    credential: Value,
    #[serde(default)]
    #[allow(dead_code)]
    options: Option<Value>,
}

/// Sign the credential; 201 `{verifiableCredential}`.
///
/// # Errors
/// 400 for a credential that breaks the data model.
pub async fn issue(issuer: web::Data<Issuer>, body: web::Json<IssueRequest>) -> Result<HttpResponse, ApiError> {
    if !body.credential.is_object() {
        return Err(ApiError::bad_request(
            "not_an_object",
            "credential 应为 JSON 对象",
            "credential must be a JSON object",
        ));
    }
    let signed = issuer.issue_vc_api(&body.credential).await?;
    Ok(HttpResponse::Created().json(json!({ "verifiableCredential": signed })))
}
