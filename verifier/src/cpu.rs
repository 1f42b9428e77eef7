//! The verifier's CPU-bound work, kept off the async workers: verification
//! (signature checks, JSON-LD canonicalisation) and photo decoding run on the
//! bounded [`CpuPool`]; photos also pass a per-client rate limit and a small
//! limit on decodes at once (each may allocate up to
//! [`qr::MAX_DECODE_ALLOC_BYTES`]).

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use serde_json::Value;
use service_http::cpu_pool::{CpuPool, CpuPoolError};
use service_http::rate_limit::RateLimiter;
use tokio::sync::Semaphore;
use wallet_core::localized::Localized;
use wallet_core::qr::{self, QrError};
use wallet_core::verification::{self, MalformedCredential, PresentationReport, VerificationReport, VerifyOptions};

use crate::api_error::ApiError;
use crate::config::LoadSettings;

/// The pool, the photo decode slots and the photo rate limit (one per process).
#[derive(Clone)]
pub struct CpuWork {
    pool: CpuPool,
    decodes: Arc<Semaphore>,
    image_limiter: Arc<RateLimiter>,
    /// Seconds for one photo token to come back (`Retry-After` of the 429).
    image_retry_after: u64,
}

/// Why a verification gave no report.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The input is not a checkable credential (400).
    #[error(transparent)]
    Malformed(#[from] MalformedCredential),
    /// The CPU pool is full or the deadline passed (503).
    #[error(transparent)]
    Pool(#[from] CpuPoolError),
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Malformed(e) => {
                let m = e.message();
                ApiError::bad_request(e.code(), m.zh, m.en)
            }
            VerifyError::Pool(e) => e.into(),
        }
    }
}

/// Why a photo was not decoded.
#[derive(Debug)]
pub enum ImageRefusal {
    /// The decoder's answer: no code, unreadable, too large.
    Decode(QrError),
    /// Too many decodes at once, or the pool is full (503 `busy`).
    Pool(CpuPoolError),
}

impl From<ImageRefusal> for ApiError {
    fn from(e: ImageRefusal) -> Self {
        match e {
            ImageRefusal::Pool(e) => e.into(),
            ImageRefusal::Decode(QrError::NoQrCode) => ApiError::bad_request(
                "no_qr_code",
                "图片中没有找到可识别的二维码，请对准二维码重新拍摄",
                "no readable QR code in the photo; please retake it with the code in view",
            ),
            ImageRefusal::Decode(e @ QrError::ImageTooLarge { .. }) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "image_too_large",
                format!(
                    "图片过大（{e}），最多 {} 万像素、每边 {} 像素",
                    qr::MAX_IMAGE_PIXELS / 10_000,
                    qr::MAX_IMAGE_SIDE
                ),
                format!(
                    "the image is too large ({e}); at most {} megapixels and {} pixels a side",
                    qr::MAX_IMAGE_PIXELS / 1_000_000,
                    qr::MAX_IMAGE_SIDE
                ),
            ),
            ImageRefusal::Decode(e) => {
                ApiError::bad_request(e.code(), format!("无法读取图片：{e}"), format!("cannot read the image: {e}"))
            }
        }
    }
}

impl CpuWork {
    /// Start the pool threads.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(settings: &LoadSettings) -> std::io::Result<Self> {
        let per_minute = settings.image_rate_per_minute.max(1);
        Ok(Self {
            pool: CpuPool::start(settings.cpu_pool())?,
            decodes: Arc::new(Semaphore::new(settings.image_decodes.max(1))),
            image_limiter: Arc::new(RateLimiter::new(settings.image_rate_burst, per_minute)),
            image_retry_after: (60 / u64::from(per_minute)).max(1),
        })
    }

    /// The pool itself.
    pub fn pool(&self) -> &CpuPool {
        &self.pool
    }

    /// wallet-core's verification of `vc` on a pool thread.
    ///
    /// # Errors
    /// [`VerifyError`].
    pub async fn verify_credential(
        &self,
        vc: Arc<Value>,
        options: VerifyOptions,
    ) -> Result<VerificationReport, VerifyError> {
        Ok(self.pool.run_future(move || async move { verification::verify_credential(&vc, &options).await }).await??)
    }

    /// wallet-core's verification of the presentation `vp` on a pool thread.
    ///
    /// # Errors
    /// [`VerifyError`].
    pub async fn verify_presentation(
        &self,
        vp: &Value,
        options: VerifyOptions,
        challenge: Option<&str>,
        domain: Option<&str>,
    ) -> Result<PresentationReport, VerifyError> {
        let vp = vp.clone();
        let (challenge, domain) = (challenge.map(str::to_owned), domain.map(str::to_owned));
        Ok(self
            .pool
            .run_future(move || async move {
                verification::verify_presentation(&vp, &options, challenge.as_deref(), domain.as_deref()).await
            })
            .await??)
    }

    /// Take one photo token for the request's client; the 429 to answer when none is left.
    ///
    /// # Errors
    /// 429 `too_many_requests` with `Retry-After`.
    pub fn admit_image(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let ip = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        if self.image_limiter.allow(ip) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "上传照片过于频繁，请稍后再试",
            "too many photos from this address; please wait a moment",
        )
        .with_retry_after(self.image_retry_after))
    }

    /// Decode the QR code in a photo on a pool thread, at most `--image-decodes` at once.
    ///
    /// # Errors
    /// [`ImageRefusal`].
    pub async fn decode_image(&self, image: Vec<u8>) -> Result<String, ImageRefusal> {
        let Ok(slot) = Arc::clone(&self.decodes).try_acquire_owned() else {
            return Err(ImageRefusal::Pool(CpuPoolError::Busy));
        };
        let decoded = self
            .pool
            .run(move || {
                let text = qr::decode_image(&image);
                drop(slot);
                text
            })
            .await;
        decoded.map_err(ImageRefusal::Pool)?.map_err(ImageRefusal::Decode)
    }
}

/// The HTML pages' words for a refusal: the API message in the page's language.
pub fn page_message(error: &ApiError, lang: wallet_core::ui_text::Lang) -> String {
    let message: &Localized = &error.message;
    lang.pick(message).to_owned()
}
