//! The verifier's one way to check a credential or a presentation: wallet-core's
//! routine with the trust list, status lists and log mirrors this service holds.
//!
//! Status lists are fetched only for a credential whose signature verified and
//! (where trust is required) whose issuer is trusted — also for each credential
//! inside a presentation — so a forged credential cannot make the verifier
//! fetch URLs of its choosing ([`may_fetch_status_lists`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::presentation::{HolderPresentation, PresentationPolicy};
use wallet_core::verification::{CredentialOutcome, PresentationReport, VerificationReport, VerifyOptions};

use crate::cpu::{CpuWork, VerifyError};

use crate::log_sync::AnchoringState;
use crate::status_sync::StatusState;
use crate::trust_sync::TrustState;

/// May the status lists the credential of `report` names be fetched? Only when
/// its signature verified and, where trust is required, its issuer is trusted.
pub fn may_fetch_status_lists(report: &VerificationReport, require_trust: bool) -> bool {
    report.checks.signature.is_valid() && (!require_trust || report.checks.issuer_trust.is_valid())
}

/// Verify `vc` now, fetching the status lists it names when they are missing or due.
/// `presentation`: the holder presentation it was scanned in, if any, and the
/// challenge the inspector asked for, if any (the holder-binding check).
///
/// The checks run on the CPU pool (`cpu`).
///
/// # Errors
/// [`VerifyError`]: the input is not a checkable credential, or the pool is full.
#[allow(clippy::too_many_arguments)] // the verifier's state, one argument per part
pub async fn verify_credential(
    vc: &Arc<Value>,
    types: &TypeRegistry,
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
            .with_types(types.clone())
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
    let report = cpu.verify_credential(Arc::clone(vc), options()).await?;
    if !may_fetch_status_lists(&report, require_trust) {
        return Ok(report);
    }
    let to_fetch = status.lists_to_fetch(vc);
    if to_fetch.is_empty() {
        return Ok(report);
    }
    status.fetch(&to_fetch).await;
    cpu.verify_credential(Arc::clone(vc), options()).await
}

/// Verify the presentation `vp` (VC-API `POST /presentations/verify`), fetching
/// the status lists named by those embedded credentials whose signature (and,
/// where required, trust) verified; then verify again with them.
///
/// The checks run on the CPU pool (`cpu`).
///
/// # Errors
/// [`VerifyError`]: the presentation itself is not checkable, or the pool is full.
#[allow(clippy::too_many_arguments)]
pub async fn verify_presentation(
    vp: &Value,
    types: &TypeRegistry,
    trust: &TrustState,
    status: &StatusState,
    anchoring: &AnchoringState,
    require_trust: bool,
    challenge: Option<&str>,
    domain: Option<&str>,
    cpu: &CpuWork,
) -> Result<PresentationReport, VerifyError> {
    let options = || {
        VerifyOptions::default()
            .with_types(types.clone())
            .with_trust(trust.current(), require_trust)
            .with_status(status.snapshot())
            .with_anchoring(anchoring.source())
    };
    let report = cpu.verify_presentation(vp, options(), challenge, domain).await?;
    // One outcome per embedded credential, in order.
    let embedded: Vec<&Value> = match vp.get("verifiableCredential") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    let to_fetch: BTreeSet<String> = report
        .credentials
        .iter()
        .zip(embedded)
        .filter(
            |(outcome, _)| matches!(outcome, CredentialOutcome::Report(r) if may_fetch_status_lists(r, require_trust)),
        )
        .flat_map(|(_, vc)| status.lists_to_fetch(vc))
        .collect();
    if to_fetch.is_empty() {
        return Ok(report);
    }
    status.fetch(&to_fetch.into_iter().collect::<Vec<_>>()).await;
    cpu.verify_presentation(vp, options(), challenge, domain).await
}
