//! The verifier's one way to check a credential: wallet-core's routine with
//! the trust list, status lists and log mirrors this service holds.
//!
//! Status lists are fetched only for a credential whose signature verified and
//! (where trust is required) whose issuer is trusted, so a forged credential
//! cannot make the verifier fetch URLs of its choosing.

use std::sync::Arc;

use serde_json::Value;
use wallet_core::presentation::{HolderPresentation, PresentationPolicy};
use wallet_core::verification::{VerificationReport, VerifyOptions};

use crate::cpu::{CpuWork, VerifyError};

use crate::log_sync::AnchoringState;
use crate::status_sync::StatusState;
use crate::trust_sync::TrustState;

/// Verify `vc` now, fetching the status lists it names when they are missing or due.
/// `presentation`: the holder presentation it was scanned in, if any, and the
/// challenge the inspector asked for, if any (the holder-binding check).
///
/// The checks run on the CPU pool (`cpu`).
///
/// # Errors
/// [`VerifyError`]: the input is not a checkable credential, or the pool is full.
pub async fn verify_credential(
    vc: &Value,
    trust: &TrustState,
    status: &StatusState,
    anchoring: &AnchoringState,
    require_trust: bool,
    presentation: Option<Arc<HolderPresentation>>,
    expected_challenge: Option<&str>,
    cpu: &CpuWork,
) -> Result<VerificationReport, VerifyError> {
    let options = || {
        let mut options = VerifyOptions::default()
            .with_trust(trust.current(), require_trust)
            .with_status(status.snapshot())
            .with_anchoring(anchoring.source())
            .with_presentation(presentation.clone());
        options.presentation_policy = PresentationPolicy {
            expected_challenge: expected_challenge.map(str::to_owned),
            ..PresentationPolicy::default()
        };
        options
    };
    let report = cpu.verify_credential(vc, options()).await?;
    let to_fetch = status.lists_to_fetch(vc);
    let worth_fetching =
        report.checks.signature.is_valid() && (!require_trust || report.checks.issuer_trust.is_valid());
    if to_fetch.is_empty() || !worth_fetching {
        return Ok(report);
    }
    status.fetch(&to_fetch).await;
    cpu.verify_credential(vc, options()).await
}
