//! The domain API for clinics' and licensing offices' systems: plain fields
//! in, signed credential out, `Idempotency-Key` honoured.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api_error::ApiError;
use crate::domain::batch::{self, BatchFormat};
use crate::domain::issuance::{BatchOutcome, IdempotencyKey, Issued, Issuer};
use crate::domain::proof_suite::ProofSuite;
use crate::http::routes::access::{ApiCaller, Principal};
use wallet_core::credential_type::Definition;

pub(super) fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    match req.headers().get("Idempotency-Key") {
        None => Ok(None),
        // A header that is not visible ASCII is parsed as "" and refused with the same error.
        Some(v) => IdempotencyKey::parse(v.to_str().unwrap_or("")).map(Some).map_err(ApiError::from),
    }
}

/// The suite `?cryptosuite=` asks for (`ecdsa-sd-2023` for a selectively
/// disclosable credential; see `crate::domain::proof_suite`).
fn requested_suite(req: &HttpRequest, def: &Definition) -> Result<ProofSuite, ApiError> {
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    Ok(ProofSuite::for_domain_request(def, query.get("cryptosuite").map(String::as_str))?)
}

pub(super) fn respond(issued: Issued) -> HttpResponse {
    let status = StatusCode::from_u16(issued.status).unwrap_or(StatusCode::CREATED);
    let mut resp = HttpResponse::build(status);
    if issued.replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    resp.json(issued.body)
}

/// 415 unless the body is declared JSON.
pub(super) fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求内容类型应为 application/json",
            "the request body must be application/json",
        ))
    }
}

/// `POST /api/v1/health-certificates`
///
/// # Errors
/// 400/415/422 for bad input.
pub async fn issue_health_certificate(
    _caller: ApiCaller,
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_json(&req)?;
    let key = idempotency_key(&req)?;
    let def = issuer.definition_at("health-certificates")?;
    let suite = requested_suite(&req, &def)?;
    let body = super::body::read_body(payload).await?;
    Ok(respond(issuer.issue_type_with(&def.type_name, &body, key, &suite).await?))
}

/// `POST /api/v1/licences`
///
/// # Errors
/// 400/415/422 for bad input.
pub async fn issue_licence(
    _caller: ApiCaller,
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_json(&req)?;
    let key = idempotency_key(&req)?;
    let def = issuer.definition_at("licences")?;
    let suite = requested_suite(&req, &def)?;
    let body = super::body::read_body(payload).await?;
    Ok(respond(issuer.issue_type_with(&def.type_name, &body, key, &suite).await?))
}

/// `POST /api/v1/{api_path}`: any type from a definition file.
///
/// # Errors
/// 404 for an unknown type; 400/403/415/422 as the other issuing routes.
pub async fn issue_defined(
    _caller: ApiCaller,
    issuer: web::Data<Issuer>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let def = issuer.definition_at(&path)?;
    require_json(&req)?;
    let key = idempotency_key(&req)?;
    let suite = requested_suite(&req, &def)?;
    let body = super::body::read_body(payload).await?;
    Ok(respond(issuer.issue_type_with(&def.type_name, &body, key, &suite).await?))
}

/// Largest batch body (1,000 rows of a few hundred bytes each, with room).
pub const MAX_BATCH_BODY_BYTES: usize = 4 * 1024 * 1024;

fn batch_format(req: &HttpRequest) -> Result<BatchFormat, ApiError> {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/x-ndjson") {
        Ok(BatchFormat::Ndjson)
    } else if ct.starts_with("text/csv") {
        Ok(BatchFormat::Csv)
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "批量请求内容类型应为 application/x-ndjson 或 text/csv",
            "a batch must be application/x-ndjson or text/csv",
        ))
    }
}

/// One row's answer: `issued` / `replayed` with the credential id, or `refused`
/// with the single-item route's status, code, message and field details.
fn row_answer(outcome: BatchOutcome) -> serde_json::Value {
    let mut answer = serde_json::json!({"row": outcome.row, "idempotencyKey": outcome.idempotency_key});
    let fields = match outcome.result {
        Ok(issued) => serde_json::json!({
            "outcome": if issued.replayed { "replayed" } else { "issued" },
            "id": issued.body.get("id"),
        }),
        Err(e) => {
            let error = ApiError::from(e);
            let status = actix_web::ResponseError::status_code(&error).as_u16();
            let mut refused = serde_json::to_value(&error).unwrap_or_default();
            if let Some(map) = refused.as_object_mut() {
                map.insert("outcome".into(), "refused".into());
                map.insert("status".into(), status.into());
            }
            refused
        }
    };
    if let (Some(answer), serde_json::Value::Object(fields)) = (answer.as_object_mut(), fields) {
        answer.extend(fields);
    }
    answer
}

/// `POST /api/v1/{api_path}/batch`: NDJSON or CSV rows, each with its own
/// idempotency key; 200 with one answer per row and a summary. `?cryptosuite=`
/// as on the single route (`ecdsa-sd-2023`: every row a base proof).
///
/// # Errors
/// 404 unknown type; 413 body or row count over the caps; 415; 400 a CSV
/// without a readable header; 403 a type this issuer may not issue.
pub async fn issue_batch(
    _who: Principal,
    issuer: web::Data<Issuer>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let def = issuer.definition_at(&path)?;
    let format = batch_format(&req)?;
    let body = super::body::read_body_limited(payload, MAX_BATCH_BODY_BYTES).await?;
    let rows = match format {
        BatchFormat::Ndjson => batch::parse_ndjson(&body)?,
        BatchFormat::Csv => batch::parse_csv(&def, &body)?,
    };
    let suite = requested_suite(&req, &def)?;
    let outcomes = issuer.issue_batch_with(&def, rows, &suite).await?;
    let (mut issued, mut replayed, mut refused) = (0usize, 0usize, 0usize);
    for o in &outcomes {
        match &o.result {
            Ok(i) if i.replayed => replayed += 1,
            Ok(_) => issued += 1,
            Err(_) => refused += 1,
        }
    }
    let results: Vec<serde_json::Value> = outcomes.into_iter().map(row_answer).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "summary": {"rows": results.len(), "issued": issued, "replayed": replayed, "refused": refused},
        "results": results,
    })))
}
