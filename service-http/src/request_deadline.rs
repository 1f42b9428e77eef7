//! A deadline on every request, from routing to the answer: reading the body,
//! waiting for the CPU pool and the store included. actix-web bounds the time
//! to read a request *head* (5 s) but not its body, so a client sending one
//! byte every half second would hold a connection for days; with this it is
//! answered 408 `request_timeout` and the connection is closed.
//!
//! The deadline is [`RequestDeadline`] from the app data (the services'
//! `--request-deadline-secs`), else [`DEFAULT_REQUEST_DEADLINE`]: one minute
//! carries an 8 MiB photo over a ~1 Mbit/s mobile link. A handler cut off at
//! the deadline is dropped: a store transaction it had open rolls back, one it
//! had committed stays (issuance is idempotent, so the client's retry gets
//! the same credential).

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;

use crate::api_error::ApiError;

/// The default deadline of one request.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// The deadline the services configure (app data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDeadline(pub Duration);

impl Default for RequestDeadline {
    fn default() -> Self {
        Self(DEFAULT_REQUEST_DEADLINE)
    }
}

/// The middleware: `App::new().wrap(actix_web::middleware::from_fn(request_deadline::enforce))`.
///
/// # Errors
/// Those of the wrapped service.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let deadline = req.app_data::<web::Data<RequestDeadline>>().map_or(DEFAULT_REQUEST_DEADLINE, |d| d.0);
    // Only the path is kept: a clone of the request would break actix's
    // in-place routing (it needs the only reference).
    let path = req.path().to_owned();
    match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::warn!(path, seconds = deadline.as_secs(), "request cut off at its deadline");
            // Rendered by `ApiError`'s `ResponseError`; actix closes a connection
            // whose request body was not read to the end.
            Err(timed_out(deadline).into())
        }
    }
}

fn timed_out(deadline: Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!("请求未在 {} 秒内完成（请求体发送过慢或服务繁忙），请重试", deadline.as_secs()),
        format!(
            "the request did not complete within {} s (its body arrived too slowly or the service is busy); please retry",
            deadline.as_secs()
        ),
    )
}
