//! Reading request bodies within a limit, answering 413 in the one error shape.

use actix_web::web;

/// Largest request body any route accepts (a credential is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Read a request body of at most [`MAX_BODY_BYTES`], answering 413 in our
/// error shape beyond that (stopping as soon as the limit is crossed).
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body(payload: web::Payload) -> Result<web::Bytes, crate::api_error::ApiError> {
    read_body_limited(payload, MAX_BODY_BYTES).await
}

/// [`read_body`] with another limit (a batch).
///
/// # Errors
/// 413 `payload_too_large`; 400 when the connection fails mid-body.
pub async fn read_body_limited(
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, crate::api_error::ApiError> {
    use futures_util::StreamExt as _;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            crate::api_error::ApiError::bad_request(
                "invalid_body",
                format!("无法读取请求内容：{e}"),
                format!("cannot read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(crate::api_error::ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "请求内容过大",
                "the request body is too large",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
