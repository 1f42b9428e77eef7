//! VC-API: `POST /credentials/verify`, `POST /presentations/verify`, and the
//! holder's `POST /credentials/derive` (`ecdsa-sd-2023`).
//!
//! A credential that fails verification is answered with HTTP 422 and the full
//! report — never `200 {"verified": false}`, which clients read as accepted.
//! Input that is not a credential at all is a 400 with an error code.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::verification::{self, CheckResult, Checks, VerificationReport};

use crate::api_error::ApiError;
use crate::cpu::CpuWork;
use crate::log_sync::AnchoringState;
use crate::status_sync::StatusState;
use crate::trust_sync::TrustState;

/// `{verifiableCredential, options}`. Every check always runs — a caller
/// cannot switch one off — so `options.checks` is accepted and not needed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyCredentialRequest {
    verifiable_credential: Value,
}

/// VC-API verify options.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequestOptions {
    /// Expected proof challenge (presentations).
    #[serde(default)]
    pub challenge: Option<String>,
    /// Expected proof domain (presentations).
    #[serde(default)]
    pub domain: Option<String>,
}

/// `{verifiablePresentation, options}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyPresentationRequest {
    verifiable_presentation: Value,
    #[serde(default)]
    options: VerifyRequestOptions,
}

/// The VC-API names of the checks that ran and passed, and the errors.
fn vc_api_lists(checks: &Checks) -> (Vec<&'static str>, Vec<Value>) {
    let named = [
        ("proof", &checks.signature),
        ("validityPeriod", &checks.validity_period),
        ("issuerTrust", &checks.issuer_trust),
        ("credentialStatus", &checks.status),
        ("anchoring", &checks.anchoring),
    ];
    let passed = named.iter().filter(|(_, c)| c.is_valid()).map(|(n, _)| *n).collect();
    let errors = named
        .iter()
        .filter_map(|(n, c)| match c {
            CheckResult::Invalid { code, reason } => Some(json!({"check": n, "code": code, "message": reason})),
            _ => None,
        })
        .collect();
    (passed, errors)
}

/// The VC-API answer for one report: serialised straight from the report, in
/// the order the clients read (`verified`, `checks`, `warnings`, `errors`,
/// `report`, then `credential`), without building a `serde_json::Value`
/// tree of the report first (issue #16: one copy less per verification).
#[derive(Serialize)]
struct Answer<'a, W: Serialize, R: Serialize> {
    verified: bool,
    checks: Vec<&'static str>,
    warnings: &'a W,
    errors: Vec<Value>,
    report: &'a R,
    /// The inspector's endpoints: the credential that was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    credential: Option<Value>,
}

/// The JSON answer for one credential report (with the credential, for the
/// inspector's endpoints), with its HTTP status.
pub fn credential_response(report: &VerificationReport, credential: Option<Value>) -> HttpResponse {
    let (checks, errors) = vc_api_lists(&report.checks);
    let answer = Answer { verified: report.verified, checks, warnings: &report.warnings, errors, report, credential };
    let status = if report.verified { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    HttpResponse::build(status).json(&answer)
}

/// `POST /credentials/verify`
///
/// # Errors
/// 400 for input that is not a credential.
pub async fn verify_credential(
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    anchoring: web::Data<AnchoringState>,
    cpu: web::Data<CpuWork>,
    body: web::Json<VerifyCredentialRequest>,
) -> Result<HttpResponse, ApiError> {
    // Moved to the CPU pool, not copied (issue #16).
    let vc = std::sync::Arc::new(body.into_inner().verifiable_credential);
    let report = crate::verify_flow::verify_credential(
        &vc,
        &types,
        &trust,
        &status,
        &anchoring,
        trust.require_trust_on_vc_api,
        None,
        None,
        &cpu,
    )
    .await?;
    tracing::info!(
        credential_id = report.credential_id.as_deref().unwrap_or("-"),
        verified = report.verified,
        "verified credential"
    );
    Ok(credential_response(&report, None))
}

/// `POST /presentations/verify`
///
/// # Errors
/// 400 for input that is not a presentation.
pub async fn verify_presentation(
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    anchoring: web::Data<AnchoringState>,
    cpu: web::Data<CpuWork>,
    body: web::Json<VerifyPresentationRequest>,
) -> Result<HttpResponse, ApiError> {
    // Status lists are fetched only for embedded credentials whose signature verified;
    // the checks run on the CPU pool.
    let report = crate::verify_flow::verify_presentation(
        &body.verifiable_presentation,
        &types,
        &trust,
        &status,
        &anchoring,
        trust.require_trust_on_vc_api,
        body.options.challenge.as_deref(),
        body.options.domain.as_deref(),
        &cpu,
    )
    .await?;
    let mut checks = Vec::new();
    if report.proof.is_valid() {
        checks.push("proof");
    }
    let mut errors: Vec<Value> = match &report.proof {
        CheckResult::Invalid { code, reason } => {
            vec![json!({"check": "proof", "code": code, "message": reason})]
        }
        _ => Vec::new(),
    };
    // A credential presented by someone other than its subject.
    for outcome in &report.credentials {
        if let verification::CredentialOutcome::Report(r) = outcome {
            if let CheckResult::Invalid { code, reason } = &r.checks.holder_binding {
                errors.push(json!({"check": "holderBinding", "code": code, "message": reason}));
            }
        }
    }
    let status = if report.verified { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(HttpResponse::build(status).json(&Answer {
        verified: report.verified,
        checks,
        warnings: &report.warnings,
        errors,
        report: &report,
        credential: None,
    }))
}

/// At most this many selective pointers in a derive request.
pub const MAX_SELECTIVE_POINTERS: usize = wallet_core::selective_disclosure::MAX_DERIVE_POINTERS;

/// `{verifiableCredential, options: {selectivePointers}}` (VC-API holder derive).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeriveCredentialRequest {
    verifiable_credential: Value,
    #[serde(default)]
    options: DeriveRequestOptions,
}

/// VC-API derive options.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeriveRequestOptions {
    /// RFC 6901 pointers to disclose beside the base proof's mandatory ones.
    #[serde(default)]
    pub selective_pointers: Vec<String>,
}

/// `POST /credentials/derive`: the VC-API holder's derive, for a holder
/// (wallet back end, test suite) that does not run wallet-core itself: an
/// `ecdsa-sd-2023` base credential in, the credential derived with its mandatory
/// fields and `selectivePointers` out (201 `{verifiableCredential}`). Nothing is
/// kept or logged but the outcome: the base proof is the holder's secret.
///
/// # Errors
/// 400 `not_sd_base_proof`, `bad_selective_pointer`, a data-model code, or a
/// limit code; 503 when the CPU pool is full.
pub async fn derive_credential(
    types: web::Data<TypeRegistry>,
    cpu: web::Data<CpuWork>,
    body: web::Json<DeriveCredentialRequest>,
) -> Result<HttpResponse, ApiError> {
    let DeriveCredentialRequest { verifiable_credential, options } = body.into_inner();
    if options.selective_pointers.len() > MAX_SELECTIVE_POINTERS {
        return Err(ApiError::bad_request(
            "bad_selective_pointer",
            format!("最多可选 {MAX_SELECTIVE_POINTERS} 个字段"),
            format!("at most {MAX_SELECTIVE_POINTERS} selective pointers"),
        ));
    }
    let types = types.get_ref().clone();
    let derived = cpu
        .pool()
        .run_future(move || async move {
            wallet_core::selective_disclosure::derive_with(&types, &verifiable_credential, &options.selective_pointers)
                .await
        })
        .await?
        .map_err(|e| {
            let message = e.message();
            ApiError::bad_request(e.code(), message.zh, message.en)
        })?;
    tracing::info!("derived a selectively disclosed credential");
    Ok(HttpResponse::Created().json(json!({ "verifiableCredential": derived })))
}
