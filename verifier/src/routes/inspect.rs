//! The inspector's endpoints: the text of a scanned QR code, or a photo of it.
//! Both answer with the same report as `/credentials/verify`, plus the
//! credential itself so the inspector can compare the holder's details.

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde::Deserialize;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::presentation;

use super::body::{read_body, too_large, MAX_BODY_BYTES, MAX_IMAGE_BYTES};
use crate::api_error::ApiError;
use crate::cpu::CpuWork;
use crate::log_sync::AnchoringState;
use crate::status_sync::StatusState;
use crate::trust_sync::TrustState;

/// `{"qr": "EC1:…"}` or `{"qr": "EP1:…"}` (a holder presentation)
/// with an optional `"challenge"`: what the inspector showed the holder's wallet
/// to sign (the presentation must then answer it).
#[derive(Debug, Deserialize)]
pub struct QrText {
    qr: String,
    #[serde(default)]
    challenge: Option<String>,
}

async fn verify_qr_text(
    types: &TypeRegistry,
    trust: &TrustState,
    status: &StatusState,
    anchoring: &AnchoringState,
    cpu: &CpuWork,
    text: &str,
    challenge: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    // The plain credential QR (`EC1:`) or the holder's presentation QR (`EP1:`).
    let scanned = presentation::read_scanned_with(types, text).map_err(|e| {
        ApiError::bad_request(
            e.code(),
            format!("二维码内容无法识别为凭证：{e}"),
            format!("the QR code does not hold a credential we can read: {e}"),
        )
    })?;
    let vc = std::sync::Arc::new(scanned.credential);
    // Inspectors act on the answer: an issuer no department vouches for is not valid.
    let report = crate::verify_flow::verify_credential(
        &vc,
        types,
        trust,
        status,
        anchoring,
        true,
        scanned.presentation,
        challenge,
        cpu,
    )
    .await?;
    tracing::info!(
        credential_id = report.credential_id.as_deref().unwrap_or("-"),
        verified = report.verified,
        "verified QR"
    );
    Ok(super::vc_api::credential_response(&report, Some(std::sync::Arc::unwrap_or_clone(vc))))
}

/// `POST /verify/qr` — JSON `{"qr": "…", "challenge"?: "…"}` or the raw text as `text/plain`.
///
/// # Errors
/// 400 when the text is not one of our QR payloads.
pub async fn verify_qr(
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    anchoring: web::Data<AnchoringState>,
    cpu: web::Data<CpuWork>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, MAX_BODY_BYTES).await?;
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let (text, challenge) = if content_type.starts_with("application/json") {
        let parsed = serde_json::from_slice::<QrText>(&body).map_err(|e| {
            ApiError::bad_request(
                "invalid_json",
                format!("应为 {{\"qr\": \"…\"}}：{e}"),
                format!("expected {{\"qr\": \"…\"}}: {e}"),
            )
        })?;
        (parsed.qr, parsed.challenge)
    } else {
        let text = String::from_utf8(body.to_vec()).map_err(|_| {
            ApiError::bad_request("invalid_text", "二维码文本不是有效的 UTF-8", "the QR text is not valid UTF-8")
        })?;
        (text, None)
    };
    verify_qr_text(&types, &trust, &status, &anchoring, &cpu, &text, challenge.as_deref()).await
}

/// `POST /verify/image` — a photo of the QR code: `multipart/form-data`
/// (first file field) or a raw `image/*` body.
///
/// # Errors
/// 400 `no_qr_code` / `unreadable_image`; 413 over the upload size or
/// `image_too_large` (pixels, see `wallet_core::qr`); 429 `too_many_requests`
/// (per client address); 503 `busy` when `--image-decodes` photos are being decoded.
pub async fn verify_image(
    types: web::Data<TypeRegistry>,
    trust: web::Data<TrustState>,
    status: web::Data<StatusState>,
    anchoring: web::Data<AnchoringState>,
    cpu: web::Data<CpuWork>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    cpu.admit_image(&req)?;
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let image = if content_type.starts_with("multipart/form-data") {
        first_file(Multipart::new(req.headers(), payload)).await?
    } else {
        read_body(payload, MAX_IMAGE_BYTES).await?.to_vec()
    };
    let text = cpu.decode_image(image).await?;
    verify_qr_text(&types, &trust, &status, &anchoring, &cpu, &text, None).await
}

async fn first_file(mut form: Multipart) -> Result<Vec<u8>, ApiError> {
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            ApiError::bad_request(
                "invalid_multipart",
                format!("表单无法解析：{e}"),
                format!("cannot parse the form: {e}"),
            )
        })?;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(
                    "invalid_multipart",
                    format!("表单无法解析：{e}"),
                    format!("cannot parse the form: {e}"),
                )
            })?;
            if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if !bytes.is_empty() {
            return Ok(bytes);
        }
    }
    Err(ApiError::bad_request("missing_image", "请上传二维码照片", "please upload a photo of the QR code"))
}
