//! The signed verifier bundle: what an inspector app downloads when online to
//! verify fully offline later.
//!
//! One file, signed by a department (the trust list's JWS envelope, typ
//! [`VERIFIER_BUNDLE_JWS_TYPE`], the signer a configured root or a trust-list
//! signer certified by one), holding:
//!
//! - the department trust list (roots, issuer certificates, CRLs), itself signed;
//! - the issuers' Bitstring Status Lists, each signed by its issuer;
//! - the latest signed (and cosigned) log checkpoints;
//! - per issuer log the publisher mirrors ([`BundledLog`]): its key, the witness
//!   policy the publisher applies, and the latest tree the publisher saw
//!   anchored on its own chain node (size, root, chain, block, time, tx). The
//!   department's signature is what makes that key and that anchor claim
//!   trusted offline, as for the trust list;
//! - its own `sequence` (versions only go up) and `issuedAt`.
//!
//! [`open_bundle`] checks the department signature and the trust list, and
//! gives [`VerifyOptions`] in which every part's age is measured against the
//! verifier's clock: trust data from the trust list's `issuedAt`, status data
//! from the bundle's `issuedAt` (when the lists were collected). With the
//! default policy a part older than 24 h gives a warning naming it and one
//! older than 7 days fails its check, so an inspector offline for a week is
//! told which data went stale instead of getting an opaque clock error.
//!
//! **Status lists are verified on first use.** Opening does not verify the
//! issuers' signatures on the status lists (2,000 JSON-LD canonicalisations for a
//! province, seconds): the first check of a credential naming a list verifies the
//! lists bundled for that URL, as at the opening time, and keeps the verdict
//! ([`LazyStatusLists`]). A check therefore gives the same result as if every
//! list had been verified at opening; a list that does not verify fails the
//! checks that name it (`status_list_bad_signature`, …) and is not in
//! [`OpenedBundle::problems`] unless [`OpenedBundle::verify_status_lists`] is asked.
//!
//! **Anchoring offline.** Given the wallet's export of a credential (`{
//! "credential": …, "inclusion": <InclusionBundle> }`), [`OpenedBundle::verify_qr_text`]
//! checks the inclusion proof against the bundled log key and witness policy and
//! the bundled anchor ([`crate::transparency::check_inclusion_offline`]): anchoring
//! is then `valid`, with the block and transaction in the report. A QR code carries
//! no inclusion proof (too large for one), so it gets `unchecked`
//! `anchoring_no_inclusion_proof`. The anchoring data ages from the bundle's
//! `issuedAt`, like the status data (`anchoring_data_aging`, `anchoring_data_stale`).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential_type::TypeRegistry;
use crate::localized::Localized;
use crate::status::{LazyStatusLists, StatusPolicy};
use crate::transparency::{AnchoredLog, InclusionBundle};
use crate::trust::{DepartmentDocument, ParsedCertificate, TrustList, TrustListError, TrustStore, MAX_SEQUENCE_STEP};
use crate::verification::{
    verify_credential, AnchoringSource, CheckResult, IssuerTrust, StatusListsOnDemand, StatusSource,
    VerificationReport, VerifyOptions,
};

pub use crate::transparency::{BundledAnchor, BundledLog};

/// The JWS `typ` of a verifier bundle.
pub const VERIFIER_BUNDLE_JWS_TYPE: &str = "ecert-verifier-bundle+json";
/// The payload format version.
pub const VERIFIER_BUNDLE_VERSION: u32 = 1;
/// Largest bundle accepted.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;

/// A status list as collected: its URL and the signed list credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundledStatusList {
    /// Where it was fetched (the `statusListCredential` credentials name).
    pub url: String,
    /// The signed `BitstringStatusListCredential`.
    pub credential: Value,
}

/// The bundle's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifierBundle {
    /// [`VERIFIER_BUNDLE_VERSION`].
    pub version: u32,
    /// Increases with every bundle the department publishes.
    pub sequence: u64,
    /// When the contents were collected.
    pub issued_at: DateTime<Utc>,
    /// The department trust list, as its JWS JSON text.
    pub trust_list: String,
    /// Status lists.
    pub status_lists: Vec<BundledStatusList>,
    /// Latest signed log checkpoints (with witness cosignatures), per log.
    #[serde(default)]
    pub checkpoints: Vec<String>,
    /// The logs the publisher mirrors: key, witness policy, latest anchored tree
    /// (absent in bundles from publishers without anchoring, and in older ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<BundledLog>,
    /// Set in a *delta*: the sequence of the bundle it updates. A delta carries only
    /// the status lists that changed since then, the trust list only when it changed
    /// (empty otherwise), and all checkpoints and logs (they are small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sequence: Option<u64>,
}

impl VerifierBundle {
    /// The delta that turns `older` into `self`: see [`VerifierBundle::base_sequence`].
    pub fn delta_since(&self, older: &VerifierBundle) -> VerifierBundle {
        let unchanged = |list: &BundledStatusList| {
            older.status_lists.iter().any(|o| o.url == list.url && o.credential == list.credential)
        };
        VerifierBundle {
            version: self.version,
            sequence: self.sequence,
            issued_at: self.issued_at,
            trust_list: if self.trust_list == older.trust_list { String::new() } else { self.trust_list.clone() },
            status_lists: self.status_lists.iter().filter(|l| !unchanged(l)).cloned().collect(),
            checkpoints: self.checkpoints.clone(),
            logs: self.logs.clone(),
            base_sequence: Some(older.sequence),
        }
    }

    /// `held` updated by the `delta` (whose department signature was checked with
    /// [`read_signed_bundle`]). Every part inside stays independently signed (trust
    /// list by the department, status lists by their issuers, checkpoints by their
    /// logs) and is verified again after [`open_payload`] (status lists on first
    /// use). The logs (keys, anchor claims) are trusted on the department's word:
    /// they are always taken from the delta, whose department signature was checked.
    ///
    /// # Errors
    /// [`BundleFileError::Payload`] when `delta` is not a delta of `held`;
    /// [`BundleFileError::Rollback`] when it is not newer.
    pub fn apply_delta(held: &VerifierBundle, delta: VerifierBundle) -> Result<VerifierBundle, BundleFileError> {
        if delta.base_sequence != Some(held.sequence) {
            return Err(BundleFileError::Payload(format!(
                "a delta from {:?} cannot update bundle {}",
                delta.base_sequence, held.sequence
            )));
        }
        if delta.sequence <= held.sequence {
            return Err(BundleFileError::Rollback { offered: delta.sequence, held: held.sequence });
        }
        let mut status_lists = held.status_lists.clone();
        // A URL may carry one list per signer (a key rotation): a changed list
        // replaces the one of the same URL and issuer, not the first of its URL.
        for list in delta.status_lists {
            let same_slot = |held: &&mut BundledStatusList| {
                held.url == list.url && held.credential.get("issuer") == list.credential.get("issuer")
            };
            match status_lists.iter_mut().find(same_slot) {
                Some(slot) => *slot = list,
                None => status_lists.push(list),
            }
        }
        Ok(VerifierBundle {
            version: delta.version,
            sequence: delta.sequence,
            issued_at: delta.issued_at,
            trust_list: if delta.trust_list.is_empty() { held.trust_list.clone() } else { delta.trust_list },
            status_lists,
            checkpoints: delta.checkpoints,
            logs: delta.logs,
            base_sequence: None,
        })
    }
}

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleFileError {
    /// Not signed by a configured department, or malformed.
    #[error("verifier bundle: {0}")]
    Signature(#[from] TrustListError),
    /// The payload is not a bundle of a version we read.
    #[error("verifier bundle payload: {0}")]
    Payload(String),
    /// Issued in the future (clock problem on one side).
    #[error("verifier bundle issued in the future ({0})")]
    FromTheFuture(DateTime<Utc>),
    /// Older than the bundle the verifier already holds.
    #[error("verifier bundle {offered} is older than the one held ({held})")]
    Rollback {
        /// Its sequence.
        offered: u64,
        /// The held one's.
        held: u64,
    },
    /// More than [`MAX_SEQUENCE_STEP`] ahead of the bundle held: one
    /// signature (a stolen bundle-signer key) would set a floor no genuine
    /// bundle could pass.
    #[error("verifier bundle {offered} runs too far ahead of the one held ({held})")]
    SequenceJump {
        /// Its sequence.
        offered: u64,
        /// The held one's.
        held: u64,
    },
    /// It carries a trust list older than the one the verifier holds (whose
    /// CRLs may revoke what the older one trusts), or one too far ahead of it.
    #[error("verifier bundle carries trust list {offered}, which may not follow the one held ({held})")]
    TrustListBehind {
        /// The carried list's sequence.
        offered: u64,
        /// The held list's.
        held: u64,
    },
    /// The trust list it carries holds a configured root's revocation list
    /// in an older version than the held trust list, or not at all (another
    /// department's root key, stolen, signing the list; see
    /// [`TrustStore::crl_rolled_back_by`]).
    #[error("verifier bundle carries a trust list that goes back on a revocation list: {0}")]
    CrlRollback(crate::trust::CrlRollback),
}

impl BundleFileError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Signature(TrustListError::UntrustedSigner(_) | TrustListError::BadSignature) => {
                "bundle_untrusted_signer"
            }
            Self::Signature(_) | Self::Payload(_) => "bundle_malformed",
            Self::FromTheFuture(_) => "bundle_from_the_future",
            Self::Rollback { .. } => "bundle_rollback",
            Self::SequenceJump { .. } => "bundle_sequence_jump",
            Self::TrustListBehind { .. } => "bundle_trust_list_rollback",
            Self::CrlRollback(_) => "bundle_crl_rollback",
        }
    }
}

/// Sign a bundle with a department key (and its certificate chain, DER, signer
/// first): a key in memory (`&IssuerKey`) or one that only signs, such as a key
/// in a PKCS#11 token (`TrustSigningKey::P256Signer`).
///
/// # Errors
/// When the key does not match the certificate, or the signer fails.
pub fn sign_bundle<'k>(
    bundle: &VerifierBundle,
    signer_key: impl Into<crate::trust::TrustSigningKey<'k>>,
    signer_chain: &[Vec<u8>],
) -> Result<Vec<u8>, BundleFileError> {
    let payload = serde_json::to_string(bundle).map_err(|e| BundleFileError::Payload(e.to_string()))?;
    Ok(crate::trust::sign_department_jws(VERIFIER_BUNDLE_JWS_TYPE, &payload, signer_key, signer_chain)?)
}

/// A bundle whose department signature verified.
#[derive(Debug, Clone)]
pub struct OpenedBundle {
    /// The payload.
    pub bundle: VerifierBundle,
    trust: IssuerTrust,
    /// The status lists (`status` holds them too), verified on first use.
    status_lists: Arc<LazyStatusLists>,
    status: StatusSource,
    logs: Arc<[AnchoredLog]>,
    policy: FreshnessPolicy,
    /// The credential types the inspector reads (the shipped ones unless set
    /// with [`OpenedBundle::with_types`]).
    types: TypeRegistry,
    /// Parts that could not be used (a status list that does not verify…), in words.
    pub problems: Vec<String>,
}

/// How old each part may get.
#[derive(Debug, Clone, Copy)]
pub struct FreshnessPolicy {
    /// Warn when a part is older than this.
    pub warn_after: Duration,
    /// Fail that part's check when older than this.
    pub max_age: Duration,
}

impl Default for FreshnessPolicy {
    fn default() -> Self {
        Self { warn_after: Duration::hours(24), max_age: Duration::days(7) }
    }
}

/// What an inspector held before opening a bundle: the last bundle's
/// sequence, and the trust list it carried (kept by the app or the
/// verifier's data directory and reopened with [`TrustList::reopen_held`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct HeldBundle<'a> {
    /// The sequence of the bundle held: the next may not go back, nor jump
    /// more than [`MAX_SEQUENCE_STEP`] ahead.
    pub sequence: Option<u64>,
    /// The trust list the held bundle carried: its CRLs still revoke, and
    /// the next bundle's trust list may not be older.
    pub trust_list: Option<&'a TrustStore>,
}

/// Check the bundle's department signature against the configured roots
/// (DER) and prepare its contents for verifying at `now`. `held_sequence`:
/// the sequence of the bundle already held (a bundle must not go back). See
/// [`open_bundle_after`], which also takes the trust list held.
///
/// # Errors
/// As [`open_bundle_after`].
pub async fn open_bundle<R: AsRef<[u8]>>(
    bytes: &[u8],
    roots: &[R],
    now: DateTime<Utc>,
    policy: FreshnessPolicy,
    held_sequence: Option<u64>,
) -> Result<OpenedBundle, BundleFileError> {
    open_bundle_after(bytes, roots, now, policy, HeldBundle { sequence: held_sequence, trust_list: None }).await
}

/// Check the bundle's department signature against the configured roots
/// (DER), and that its signer is not revoked: neither by the trust list it
/// carries nor by the one `held` (a stolen bundle-signer key, revoked, would
/// otherwise keep serving inspectors old status lists in which a revoked
/// certificate is clear); then prepare its contents for verifying at `now`.
///
/// # Errors
/// [`BundleFileError`]: unsigned or signed by an unknown or revoked key
/// (`bundle_untrusted_signer`), malformed, from the future, older than the one
/// held or too far ahead of it, or carrying a trust list older than the one
/// held (`bundle_trust_list_rollback`), or one holding a configured root's
/// revocation list in an older version than the held one, or not at all
/// (`bundle_crl_rollback`).
pub async fn open_bundle_after<R: AsRef<[u8]>>(
    bytes: &[u8],
    roots: &[R],
    now: DateTime<Utc>,
    policy: FreshnessPolicy,
    held: HeldBundle<'_>,
) -> Result<OpenedBundle, BundleFileError> {
    let (bundle, signer) = read_signed_bundle_and_signer(bytes, roots, now)?;
    if bundle.base_sequence.is_some() {
        return Err(BundleFileError::Payload("a delta, not a full bundle: apply it to the held bundle".into()));
    }
    if let Some(held) = held.sequence {
        if held > bundle.sequence {
            return Err(BundleFileError::Rollback { offered: bundle.sequence, held });
        }
        if bundle.sequence - held > MAX_SEQUENCE_STEP {
            return Err(BundleFileError::SequenceJump { offered: bundle.sequence, held });
        }
    }
    let opened = open_payload(bundle, roots, now, policy).await;
    let carried = opened.trust_store();
    if let (Some(carried), Some(held)) = (carried, held.trust_list) {
        if !carried.may_follow(held.sequence()) {
            return Err(BundleFileError::TrustListBehind { offered: carried.sequence(), held: held.sequence() });
        }
        if let Some(rollback) = held.crl_rolled_back_by(carried) {
            return Err(BundleFileError::CrlRollback(rollback));
        }
        if held.revokes_signer_of(carried) {
            return Err(BundleFileError::Signature(TrustListError::UntrustedSigner(
                "the trust list it carries is signed by a trust-list signer the held trust list revokes".into(),
            )));
        }
    }
    if let Some(signer) = &signer {
        if carried.into_iter().chain(held.trust_list).any(|list| list.revokes(signer)) {
            return Err(BundleFileError::Signature(TrustListError::UntrustedSigner(format!(
                "the bundle's signer {} is revoked by the department's CRL",
                signer.display_subject()
            ))));
        }
    }
    Ok(opened)
}

/// Check a bundle's (or a delta's) department signature and read its payload.
///
/// # Errors
/// As [`open_bundle`].
pub fn read_signed_bundle<R: AsRef<[u8]>>(
    bytes: &[u8],
    roots: &[R],
    now: DateTime<Utc>,
) -> Result<VerifierBundle, BundleFileError> {
    read_signed_bundle_and_signer(bytes, roots, now).map(|(bundle, _)| bundle)
}

fn read_signed_bundle_and_signer<R: AsRef<[u8]>>(
    bytes: &[u8],
    roots: &[R],
    now: DateTime<Utc>,
) -> Result<(VerifierBundle, Option<ParsedCertificate>), BundleFileError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleFileError::Payload("too large".into()));
    }
    let DepartmentDocument { payload, signer } =
        crate::trust::open_department_jws(bytes, VERIFIER_BUNDLE_JWS_TYPE, roots, now)?;
    let bundle: VerifierBundle = serde_json::from_str(&payload).map_err(|e| BundleFileError::Payload(e.to_string()))?;
    if bundle.version != VERIFIER_BUNDLE_VERSION {
        return Err(BundleFileError::Payload(format!("unsupported version {}", bundle.version)));
    }
    if bundle.issued_at > now + Duration::minutes(5) {
        return Err(BundleFileError::FromTheFuture(bundle.issued_at));
    }
    Ok((bundle, signer))
}

/// Prepare a full bundle's contents for verifying at `now`: the trust list is
/// verified here (its own signature), the status lists when a credential first
/// names them (see [`OpenedBundle::verify_status_lists`]), and each part ages on
/// the verifier's clock.
pub async fn open_payload<R: AsRef<[u8]>>(
    bundle: VerifierBundle,
    roots: &[R],
    now: DateTime<Utc>,
    policy: FreshnessPolicy,
) -> OpenedBundle {
    open_payload_after(bundle, roots, now, policy, None).await
}

/// [`open_payload`], reusing from `previous` (the bundle opened before a delta) the
/// status lists it already verified whose signed document is unchanged.
///
/// Opening does not verify the status lists: verifying one is a JSON-LD
/// canonicalisation and a signature check (~4 ms; a province's 2,000 lists take
/// seconds). Each URL's lists are verified, as at `now`, the first time a
/// credential names it, and the verdict is kept ([`LazyStatusLists`]): a status
/// check gives the same result as if every list had been verified here. A list
/// that does not verify is then reported by the check that needs it (its code,
/// e.g. `status_list_bad_signature`), not in [`OpenedBundle::problems`].
pub async fn open_payload_after<R: AsRef<[u8]>>(
    bundle: VerifierBundle,
    roots: &[R],
    now: DateTime<Utc>,
    policy: FreshnessPolicy,
    previous: Option<&OpenedBundle>,
) -> OpenedBundle {
    let mut problems = Vec::new();
    // Checked on the verifier's clock: a trust list past its nextUpdate or its
    // maximum age is unavailable (the trust check fails, naming it); a younger
    // one is used and its age judged by the verification (warning after 24 h).
    let trust = match TrustList::load(bundle.trust_list.as_bytes(), roots, now, policy.max_age) {
        Ok(store) => {
            IssuerTrust::List { store: Arc::new(store), warn_after: policy.warn_after, max_age: policy.max_age }
        }
        Err(e) => {
            problems.push(format!("trust list: {e}"));
            IssuerTrust::Unavailable(e.to_check_result())
        }
    };
    // Verified when first used, as at `now`; their age counts from when the bundle
    // collected them.
    let mut lists = LazyStatusLists::new(
        bundle.status_lists.iter().map(|l| (l.url.clone(), l.credential.clone())),
        bundle.issued_at,
        now,
    );
    if let Some(previous) = previous {
        lists = lists.reusing(&previous.status_lists);
    }
    let status_lists = Arc::new(lists);
    let status = StatusSource::Lazy {
        lists: Arc::clone(&status_lists) as Arc<dyn StatusListsOnDemand>,
        policy: StatusPolicy { warn_after: policy.warn_after, max_age: policy.max_age, ..StatusPolicy::default() },
    };
    let logs = open_logs(&bundle, &mut problems);
    OpenedBundle {
        bundle,
        trust,
        status_lists,
        status,
        logs: logs.into(),
        policy,
        types: TypeRegistry::default(),
        problems,
    }
}

/// The bundled logs whose keys and policy read (a bad one is a problem, and that
/// log unusable), and each bundled checkpoint verified with its log's key.
fn open_logs(bundle: &VerifierBundle, problems: &mut Vec<String>) -> Vec<AnchoredLog> {
    let mut logs: Vec<AnchoredLog> = Vec::new();
    for log in &bundle.logs {
        // A log listed twice is ambiguous: neither entry is used.
        if bundle.logs.iter().filter(|l| l.origin == log.origin).count() > 1 {
            problems.push(format!("log {}: listed more than once", log.origin));
            continue;
        }
        match log.open() {
            Ok(opened) => logs.push(opened),
            Err(e) => problems.push(format!("log {}: {e}", log.origin)),
        }
    }
    for checkpoint in &bundle.checkpoints {
        let origin = checkpoint.lines().next().unwrap_or_default();
        match logs.iter().find(|l| l.log_key.origin() == origin) {
            Some(log) => {
                if let Err(e) = log.log_key.open_checkpoint(checkpoint) {
                    problems.push(format!("checkpoint of {origin}: {e}"));
                }
            }
            None if !bundle.logs.is_empty() => problems.push(format!("checkpoint of {origin}: no key for that log")),
            // An older bundle without logs: its checkpoints cannot be checked (and are not used).
            None => {}
        }
    }
    logs
}

impl OpenedBundle {
    /// The trust list the bundle carries, when it verified (at opening).
    pub fn trust_store(&self) -> Option<&TrustStore> {
        match &self.trust {
            IssuerTrust::List { store, .. } => Some(store),
            _ => None,
        }
    }

    /// The same, reading and verifying credentials of `types`.
    pub fn with_types(mut self, types: TypeRegistry) -> Self {
        self.types = types;
        self
    }

    /// Verify every bundled status list now, not waiting for a credential to name
    /// it (what opening did before lists were verified on first use; a publisher's
    /// self-check, a test, the benchmark's baseline). The verdicts are kept for
    /// the checks to come. Returns the lists that do not verify, in words
    /// (`status list <url>: <error>`), which checks naming them will fail with.
    pub async fn verify_status_lists(&self) -> Vec<String> {
        self.status_lists.verify_all().await.into_iter().map(|(url, e)| format!("status list {url}: {e}")).collect()
    }

    /// How many status list URLs have been verified so far (each once).
    pub fn verified_status_lists(&self) -> usize {
        self.status_lists.verified_urls()
    }

    /// Options to verify with at `now`, trust required (an inspector's setting).
    pub fn verify_options(&self, now: DateTime<Utc>) -> VerifyOptions {
        self.verify_options_with_inclusion(now, None)
    }

    /// [`OpenedBundle::verify_options`], with the wallet's inclusion proof for the
    /// credential (what the offline anchoring check needs).
    pub fn verify_options_with_inclusion(
        &self,
        now: DateTime<Utc>,
        inclusion: Option<Arc<InclusionBundle>>,
    ) -> VerifyOptions {
        VerifyOptions::at(now)
            .with_types(self.types.clone())
            .with_trust(self.trust.clone(), true)
            .with_status(self.status.clone())
            .with_anchoring(AnchoringSource::Bundled {
                logs: Arc::clone(&self.logs),
                inclusion,
                collected_at: self.bundle.issued_at,
                warn_after: self.policy.warn_after,
                max_age: self.policy.max_age,
            })
    }

    /// The bundle's age at `now`, in words, for the report.
    pub fn age(&self, now: DateTime<Utc>) -> Localized {
        let hours = (now - self.bundle.issued_at).num_hours().max(0);
        Localized::new(
            format!("核验数据包第 {} 版，生成于 {} 小时前", self.bundle.sequence, hours),
            format!("verifier bundle #{}, collected {hours} hours ago", self.bundle.sequence),
        )
    }
}

/// A presented QR code checked against a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineVerification {
    /// The credential the QR code carried.
    pub credential: Value,
    /// Every check, with the bundle's data ages applied.
    pub report: VerificationReport,
}

/// Why a presented QR text could not be verified at all (not a credential).
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{error}: {}", message.en)]
pub struct UnverifiableInput {
    /// Stable code (`qr_…` from the compact decoder, or the data model's).
    pub error: String,
    /// In words.
    pub message: Localized,
}

impl OpenedBundle {
    /// Decode the QR text of a credential (or of a holder's presentation of one)
    /// and verify it fully offline against this bundle at `now`: the one path the
    /// inspector CLI and the FFI share. `challenge`: the one the inspector showed
    /// the holder, if any (a presentation must then be over it).
    ///
    /// The text may also be the wallet's export of a credential, `{"credential":
    /// <VC>, "inclusion": <InclusionBundle>}` ([`crate::wallet::Wallet::export`]),
    /// or a bare credential JSON: with the inclusion proof the anchoring check
    /// runs offline; without one (any QR code) it is `unchecked`
    /// `anchoring_no_inclusion_proof`.
    ///
    /// # Errors
    /// [`UnverifiableInput`] when the text is not a compact credential, a
    /// credential JSON or a wallet export, or the credential is malformed; a
    /// credential that fails a check is `Ok` with `verified: false`.
    pub async fn verify_qr_text(
        &self,
        qr_text: &str,
        challenge: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<OfflineVerification, UnverifiableInput> {
        let text = qr_text.trim();
        let (credential, presentation, inclusion) = if text.starts_with('{') {
            let (credential, inclusion) = read_export(text)?;
            (credential, None, inclusion)
        } else {
            // A credential (`EC1:`) or a holder's presentation of one (`EP1:`).
            let scanned = crate::presentation::read_scanned_with(&self.types, text).map_err(|e| UnverifiableInput {
                error: e.code().to_owned(),
                message: Localized::new(
                    format!("二维码内容不是可识别的电子证照：{e}"),
                    format!("not a credential QR code: {e}"),
                ),
            })?;
            (scanned.credential, scanned.presentation, None)
        };
        let mut options =
            self.verify_options_with_inclusion(now, inclusion.map(Arc::new)).with_presentation(presentation);
        options.presentation_policy.expected_challenge = challenge.map(str::to_owned);
        let report = verify_credential(&credential, &options)
            .await
            .map_err(|e| UnverifiableInput { error: e.code().to_owned(), message: e.message() })?;
        Ok(OfflineVerification { credential, report })
    }
}

/// A wallet export `{"credential": …, "inclusion": …}` (inclusion optional) or a
/// bare credential JSON.
fn read_export(text: &str) -> Result<(Value, Option<InclusionBundle>), UnverifiableInput> {
    let unreadable = |code: &str, zh: String, en: String| UnverifiableInput {
        error: code.to_owned(),
        message: Localized::new(zh, en),
    };
    if text.len() > crate::transparency::MAX_BUNDLE_JSON + 256 * 1024 {
        return Err(unreadable("export_too_large", "文件过大".into(), "the file is too large".into()));
    }
    let json: Value = serde_json::from_str(text).map_err(|e| {
        unreadable("export_malformed", format!("内容不是有效的 JSON：{e}"), format!("not valid JSON: {e}"))
    })?;
    match json.get("credential") {
        Some(credential) if json.get("proof").is_none() => {
            let inclusion = match json.get("inclusion").filter(|i| !i.is_null()) {
                None => None,
                Some(inclusion) => Some(InclusionBundle::deserialize(inclusion).map_err(|e| {
                    unreadable(
                        "anchoring_bundle_malformed",
                        format!("登记证明无法读取：{e}"),
                        format!("the inclusion proof cannot be read: {e}"),
                    )
                })?),
            };
            Ok((credential.clone(), inclusion))
        }
        _ => Ok((json, None)),
    }
}

/// A check result for a bundle that could not be opened (for reports).
pub fn bundle_refused(error: &BundleFileError) -> CheckResult {
    CheckResult::Invalid {
        code: error.code().to_owned(),
        reason: Localized::new(
            format!("核验数据包无法使用：{error}"),
            format!("the verifier bundle cannot be used: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(url: &str, issuer: &str, bits: &str) -> BundledStatusList {
        BundledStatusList {
            url: url.to_owned(),
            credential: serde_json::json!({"issuer": issuer, "credentialSubject": {"encodedList": bits}}),
        }
    }

    fn bundle(sequence: u64, lists: Vec<BundledStatusList>) -> VerifierBundle {
        VerifierBundle {
            version: VERIFIER_BUNDLE_VERSION,
            sequence,
            issued_at: DateTime::<Utc>::UNIX_EPOCH,
            trust_list: "{}".into(),
            status_lists: lists,
            checkpoints: Vec::new(),
            logs: Vec::new(),
            base_sequence: None,
        }
    }

    /// Review 3: a URL carrying the lists of two keys (a rotation); the delta
    /// of the new key's list replaced the first list of that URL, the old
    /// key's, and the merged bundle kept the new key's stale copy.
    #[test]
    fn a_delta_replaces_the_list_of_the_same_url_and_signer() {
        let url = "https://clinic.example/status/1";
        let held = bundle(1, vec![list(url, "did:key:old", "A"), list(url, "did:key:new", "B")]);
        let next = bundle(2, vec![list(url, "did:key:old", "A"), list(url, "did:key:new", "C")]);
        let delta = next.delta_since(&held);
        assert_eq!(delta.status_lists, vec![list(url, "did:key:new", "C")]);
        let merged = VerifierBundle::apply_delta(&held, delta).expect("applies");
        assert_eq!(merged.status_lists, next.status_lists);
    }
}
