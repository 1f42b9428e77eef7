//! Reading request bodies within a limit, answering 413 in the one error shape.

use actix_web::web;

use crate::api_error::ApiError;

/// Largest JSON body accepted (a credential or presentation is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest uploaded photo accepted.
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "请求内容过大",
        "the request body is too large",
    )
}

/// Read a body of at most `limit` bytes, stopping as soon as it is crossed.
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt as _;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "invalid_body",
                format!("无法读取请求内容：{e}"),
                format!("cannot read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
