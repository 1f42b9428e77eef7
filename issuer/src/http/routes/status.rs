//! Revocation and suspension over HTTP.
//!
//! * `GET /status`: the index of this issuer's lists `{"lists": [{"url", "statusPurpose"}]}`
//!   (what a department collects into its verifier bundle).
//! * `GET /status/{list_id}`: the signed `BitstringStatusListCredential` (ETag,
//!   `Cache-Control: public, max-age=300`).
//! * `POST /credentials/{uuid}/status` `{"action": "revoke"|"suspend"|"reinstate",
//!   "reason": "…", "by": "…"}`: change a credential's status.
//! * `GET /credentials/{uuid}/status`: its status, entries and audit trail (token).
//! * `POST /api/v1/credentials/{uuid}/use` `{"office": "…", "reference": "…",
//!   "by": "…"}`: mark a single-use credential used (once; a second attempt is 409
//!   `already_used` naming when and where).
//! * `GET /credentials/{uuid}/use`: whether it was used, when and where (public: the
//!   holder's view; no reasons or names).
//! * `POST /credentials/status` (VC-API style) `{"credentialId": "urn:uuid:…",
//!   "credentialStatus": [{"type": "BitstringStatusListCredential",
//!   "status": "revoked"|"suspended"|"active"}]}`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::domain::issuance::Issuer;
use crate::http::routes::access::ApiCaller;
use crate::store::StatusAction;

/// `GET /status/{list_id}`
///
/// # Errors
/// 404 for an unknown list; 500 when it cannot be built.
pub async fn status_list(
    issuer: web::Data<Issuer>,
    list_id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let publication = issuer.status.publication(&list_id).await?;
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == publication.etag || t.trim() == "*"));
    let mut resp = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    resp.insert_header((header::ETAG, publication.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    Ok(if not_modified {
        resp.finish()
    } else {
        resp.content_type("application/vc+ld+json").body(publication.credential_json)
    })
}

/// `GET /status`
///
/// # Errors
/// 500 when the store fails.
pub async fn list_index(issuer: web::Data<Issuer>) -> Result<HttpResponse, ApiError> {
    let lists: Vec<Value> = issuer
        .status
        .lists()
        .await?
        .iter()
        .map(|(url, purpose)| serde_json::json!({"url": url, "statusPurpose": purpose.as_str()}))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(serde_json::json!({"lists": lists})))
}

fn string_field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(
            "invalid_field",
            format!("字段 {name} 应为字符串"),
            format!("{name} must be a string"),
        )),
    }
}

fn invalid_action() -> ApiError {
    ApiError::bad_request(
        "invalid_action",
        "action 应为 revoke（吊销）、suspend（暂停）或 reinstate（恢复）",
        "action must be \"revoke\", \"suspend\" or \"reinstate\"",
    )
}

/// `POST /credentials/{uuid}/status`
///
/// # Errors
/// 400 for a bad action or missing reason; 404 for an unknown credential; 409
/// `already_revoked` / `no_status_entry`.
pub async fn change(
    caller: ApiCaller,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request("not_an_object", "请求内容应为 JSON 对象", "the body must be a JSON object"));
    }
    let action = string_field(&body, "action")?.and_then(StatusAction::parse).ok_or_else(invalid_action)?;
    let reason = string_field(&body, "reason")?.unwrap_or("");
    // The audit trail names the token that was checked, never a name from the body.
    let actor = caller.principal();
    let id = crate::domain::status::parse_credential_id(&uuid)?;
    let report = issuer.status.change(id.as_str(), action, reason, &actor).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /credentials/{uuid}/status`
///
/// # Errors
/// 404 for an unknown credential; 409 `no_status_entry`.
pub async fn show(issuer: web::Data<Issuer>, uuid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = crate::domain::status::parse_credential_id(&uuid)?;
    Ok(HttpResponse::Ok().json(issuer.status.report(id.as_str()).await?))
}

/// `POST /credentials/status` (VC-API "update status").
///
/// # Errors
/// As [`change`]; 400 when `credentialStatus` is missing or names an unknown status.
pub async fn vc_api_update(
    caller: ApiCaller,
    issuer: web::Data<Issuer>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let credential_id = string_field(&body, "credentialId")?
        .ok_or_else(|| ApiError::bad_request("invalid_field", "缺少 credentialId", "credentialId is required"))?;
    let items: Vec<&Value> = match body.get("credentialStatus") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "credentialStatus 应为非空数组",
                "credentialStatus must be a non-empty array",
            ))
        }
    };
    if items.len() > MAX_VC_API_STATUS_ITEMS {
        return Err(ApiError::bad_request(
            "too_many_status_items",
            format!("credentialStatus 最多 {MAX_VC_API_STATUS_ITEMS} 项"),
            format!("credentialStatus may hold at most {MAX_VC_API_STATUS_ITEMS} items"),
        ));
    }
    let reason = string_field(&body, "reason")?.unwrap_or("VC-API status update");
    // Every item is read before any is applied: a bad item must not leave
    // the client told "failed" after an earlier one was applied.
    let actions = items
        .iter()
        .map(|item| match item.get("status").and_then(Value::as_str) {
            Some("revoked" | "revoke") => Ok(StatusAction::Revoke),
            Some("suspended" | "suspend") => Ok(StatusAction::Suspend),
            Some("active" | "reinstated" | "reinstate" | "unsuspended") => Ok(StatusAction::Reinstate),
            _ => Err(ApiError::bad_request(
                "invalid_action",
                "status 应为 revoked、suspended 或 active",
                "status must be \"revoked\", \"suspended\" or \"active\"",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut last = None;
    for action in actions {
        last = Some(issuer.status.change(credential_id, action, reason, &caller.principal()).await?);
    }
    Ok(HttpResponse::Ok().json(last))
}

/// At most this many items in one VC-API status update (one credential has a
/// revocation and a suspension entry; more is no update a client means, and
/// each item is a transaction and an audit event).
pub const MAX_VC_API_STATUS_ITEMS: usize = 4;

/// `POST /api/v1/credentials/{uuid}/use`
///
/// # Errors
/// As [`crate::domain::status::mark_used`]; 400 for a body that is not a use request.
pub async fn mark_used(
    caller: ApiCaller,
    issuer: web::Data<Issuer>,
    uuid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut request: crate::domain::status::UseRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "invalid_use_request",
            format!("请求应为 {{\"office\": \"使用单位\", \"reference\": \"业务编号\", \"by\": \"经办人\"}}：{e}"),
            format!("the body must be {{\"office\": \"…\", \"reference\": \"…\", \"by\": \"…\"}}: {e}"),
        )
    })?;
    // Who marked it used is the token that was checked, not a name from the body.
    request.by = caller.principal();
    let id = crate::domain::status::parse_credential_id(&uuid)?;
    Ok(HttpResponse::Ok().json(issuer.status.mark_used(id.as_str(), &request).await?))
}

/// `GET /credentials/{uuid}/use`: `{"singleUse": bool, "used": bool, "usedAt"?, "office"?}`.
///
/// # Errors
/// 404 for an unknown credential.
pub async fn show_use(issuer: web::Data<Issuer>, uuid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = crate::domain::status::parse_credential_id(&uuid)?;
    Ok(HttpResponse::Ok().json(issuer.status.use_view(id.as_str()).await?))
}
