//! The one verification routine: every check a credential goes through, each
//! reported on its own as `valid`, `invalid` (with a code and a reason in zh and
//! en) or `unchecked` (with why), plus warnings.
//!
//! *Malformed input* (not a credential at all, breaks the data model, no
//! proof, an unknown JSON-LD context) is an `Err`; a well-formed credential that
//! fails a check is an `Ok` report with `verified: false`. Callers (the verifier
//! service, inspector apps) rely on this distinction: the first is "this is not
//! a certificate", the second "this certificate is not good".

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use ssi_claims_core::{ValidateProof, VerificationParameters};
use ssi_data_integrity::{AnySuite, DataIntegrity};

use crate::contexts::BundledLoader;
use crate::credential_type::TypeRegistry;
use crate::data_model::{self, DataModelError};
use crate::did_key::DidKeyResolver;
use crate::ld_claims::LdClaims;
use crate::localized::Localized;
use crate::presentation::{HolderPresentation, PresentationPolicy};
pub use crate::report::{CheckResult, Checks, CredentialOutcome, PresentationReport, VerificationReport, Warning};
use crate::trust::{TrustStore, TrustedIssuer};
use std::sync::{Arc, RwLock};

use crate::transparency::{
    AnchorEvidence, AnchoredLog, AnchoringOutcome, AnchoringPolicy, Hash, InclusionBundle, LogMirrors,
};

/// Cryptosuites this verifier accepts. Anything else is reported as an
/// invalid signature with the code `unsupported_cryptosuite`.
/// `ecdsa-sd-2023` is accepted for *derived* proofs only: a base proof is
/// refused with `sd_base_proof_presented` (see [`crate::selective_disclosure`]).
/// `sm2-rdfc-2026` ([`crate::sm2_rdfc_2026`]) is checked by [`crate::sm2_signature_check`],
/// `ecdsa-jcs-2019` by [`crate::ecdsa_jcs_2019`].
pub const ACCEPTED_CRYPTOSUITES: &[&str] =
    &["ecdsa-rdfc-2019", "eddsa-rdfc-2022", "ecdsa-sd-2023", "sm2-rdfc-2026", crate::ecdsa_jcs_2019::CRYPTOSUITE];

/// Why an input is not a credential we can check at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedCredential {
    /// Not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// Breaks a VC Data Model rule (includes unknown contexts).
    #[error(transparent)]
    DataModel(#[from] DataModelError),
    /// No `proof`.
    #[error("the credential has no proof")]
    MissingProof,
    /// A proof that cannot be read (missing members, bad encodings).
    #[error("the proof cannot be read: {0}")]
    UnreadableProof(String),
    /// Nested too deep or too large to process at all (`document_too_deep`,
    /// `document_too_large`): checked first, as JSON-LD expansion recurses.
    #[error(transparent)]
    Limits(crate::canonical::CanonicalizationError),
}

impl MalformedCredential {
    /// Stable machine code.
    pub fn code(&self) -> &str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::DataModel(e) => e.code,
            Self::MissingProof => "missing_proof",
            Self::UnreadableProof(_) => "unreadable_proof",
            Self::Limits(e) => e.code(),
        }
    }
    /// For a person, in zh and en.
    pub fn message(&self) -> Localized {
        match self {
            Self::NotAnObject => {
                Localized::new("内容不是凭证（应为 JSON 对象）", "this is not a credential (expected a JSON object)")
            }
            Self::DataModel(e) => Localized::new(e.message_zh.clone(), e.message_en.clone()),
            Self::MissingProof => {
                Localized::new("凭证没有签名（缺少 proof）", "the credential is not signed (no proof)")
            }
            Self::UnreadableProof(d) => {
                Localized::new(format!("签名无法解析：{d}"), format!("the signature cannot be read: {d}"))
            }
            Self::Limits(e) => e.message(),
        }
    }
}

/// Where issuer trust comes from.
#[derive(Debug, Clone, Default)]
pub enum IssuerTrust {
    /// No trust list configured: the issuer-trust check says `unchecked`.
    #[default]
    NotConfigured,
    /// A verified trust list and the freshness policy to hold it to.
    List {
        /// The loaded list.
        store: Arc<TrustStore>,
        /// Older than this: still used, with a warning (default 24 h).
        warn_after: Duration,
        /// Older than this (or past its `nextUpdate`): the check fails with
        /// `stale_trust_list` (default 7 days).
        max_age: Duration,
    },
    /// Trust data could not be had (no list loaded, or it failed to verify):
    /// the issuer-trust check fails with this result.
    Unavailable(CheckResult),
}

impl IssuerTrust {
    /// A loaded list with the default policy: warn after 24 h, fail after 7 days.
    pub fn list(store: Arc<TrustStore>) -> Self {
        Self::List { store, warn_after: Duration::hours(24), max_age: Duration::days(7) }
    }
}

/// Where revocation and suspension status comes from.
#[derive(Debug, Clone, Default)]
pub enum StatusSource {
    /// No status lists: the status check says `unchecked`.
    #[default]
    NotConfigured,
    /// Verified status lists fetched earlier (whole lists, never per credential),
    /// and the freshness policy to hold them to. Fails closed: a list the
    /// credential names that is not in the cache is `status_list_unavailable`.
    Cache {
        /// The lists: a snapshot shared by every verification that uses it
        /// (the holder replaces it as a whole, never edits it in place).
        cache: Arc<crate::status::StatusListCache>,
        /// Warn / fail ages.
        policy: crate::status::StatusPolicy,
    },
    /// Status lists as received (an offline bundle's), each URL's verified when a
    /// credential first names it and the verdict kept: the same check as
    /// [`StatusSource::Cache`] over the cache an eager verification of every
    /// list would have filled.
    Lazy {
        /// The lists, shared by every verification (and every clone of the bundle):
        /// [`crate::status::LazyStatusLists`].
        lists: Arc<dyn StatusListsOnDemand>,
        /// Warn / fail ages.
        policy: crate::status::StatusPolicy,
    },
}

/// Status lists verified when first needed ([`StatusSource::Lazy`]), as
/// [`crate::status::LazyStatusLists`] holds them. A trait so that this module,
/// which verifying a list uses, does not depend on that verification.
pub trait StatusListsOnDemand: std::fmt::Debug + Send + Sync {
    /// The lists `vc` names (by `statusListCredential`), verified first if they
    /// were not yet, as the cache its status check runs over: for those URLs,
    /// what a cache filled by verifying every list up front would hold.
    fn named_by<'a>(
        &'a self,
        vc: &'a Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::status::StatusListCache> + Send + 'a>>;
}

/// Where the anchoring check gets its data.
#[derive(Debug, Clone, Default)]
pub enum AnchoringSource {
    /// No log mirrors: the anchoring check says `unchecked`.
    #[default]
    NotConfigured,
    /// The verifier's copies of issuer logs, checked against its own chain
    /// node (see [`crate::transparency::LogMirror`]), and the policy.
    Mirrors {
        /// The mirrors (kept current by the caller's sync job).
        logs: Arc<RwLock<LogMirrors>>,
        /// Required or not, grace period, witnesses.
        policy: AnchoringPolicy,
    },
    /// Offline: the logs a signed verifier bundle vouches for (key, witness
    /// policy, latest anchored tree) and the wallet's inclusion proof for this
    /// credential, if one came with it. See
    /// [`crate::transparency::check_inclusion_offline`] for the rule; the
    /// anchoring data ages from `collected_at` like the bundle's status data.
    Bundled {
        /// The bundle's logs.
        logs: Arc<[AnchoredLog]>,
        /// The wallet's inclusion proof (`None`: a QR code, which carries none).
        inclusion: Option<Arc<InclusionBundle>>,
        /// When the publisher collected the anchoring data (the bundle's `issuedAt`).
        collected_at: DateTime<Utc>,
        /// Older than this: a warning, `anchoring_data_aging`.
        warn_after: Duration,
        /// Older than this: the check fails, `anchoring_data_stale`.
        max_age: Duration,
    },
}

/// What to verify against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The clock. Injected, so tests and offline inspectors control it.
    pub now: DateTime<Utc>,
    /// Tolerance for clocks running behind when checking `validFrom`.
    pub clock_skew: Duration,
    /// Issuer trust data.
    pub trust: IssuerTrust,
    /// Status list data.
    pub status: StatusSource,
    /// When true, `verified` also needs issuer trust to be `valid` (inspectors:
    /// a signature from an unknown issuer proves nothing). When false, issuer
    /// trust is reported but does not decide `verified` (VC-API clients such as
    /// the W3C suites use arbitrary did:key issuers).
    pub require_trust: bool,
    /// Log mirrors for the anchoring check.
    pub anchoring: AnchoringSource,
    /// The holder presentation the credential came in, if it came in one.
    pub presentation: Option<Arc<HolderPresentation>>,
    /// How fresh a presentation must be, and the challenge asked (if any).
    pub presentation_policy: PresentationPolicy,
    /// The credential types known: the JSON-LD contexts their definitions
    /// generate (see [`TypeRegistry::loader`]). A service passes the registry it
    /// was configured with ([`with_types`](Self::with_types)); [`at`](Self::at)
    /// starts with the shipped types.
    pub types: TypeRegistry,
}

impl VerifyOptions {
    /// Verify as of `now`, with a 5-minute clock-skew tolerance and no trust list.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            clock_skew: Duration::minutes(5),
            trust: IssuerTrust::NotConfigured,
            status: StatusSource::NotConfigured,
            require_trust: false,
            anchoring: AnchoringSource::NotConfigured,
            presentation: None,
            presentation_policy: PresentationPolicy::default(),
            types: TypeRegistry::default(),
        }
    }

    /// The same, knowing the credential types of `types` (their generated contexts).
    pub fn with_types(mut self, types: TypeRegistry) -> Self {
        self.types = types;
        self
    }

    /// The same, checking holder binding against `presentation`.
    pub fn with_presentation(mut self, presentation: Option<Arc<HolderPresentation>>) -> Self {
        self.presentation = presentation;
        self
    }

    /// The same, with the anchoring check run against `anchoring`.
    pub fn with_anchoring(mut self, anchoring: AnchoringSource) -> Self {
        self.anchoring = anchoring;
        self
    }

    /// The same, with status taken from `status`.
    pub fn with_status(mut self, status: StatusSource) -> Self {
        self.status = status;
        self
    }

    /// The same, with issuer trust taken from `trust` (and required when `require_trust`).
    pub fn with_trust(mut self, trust: IssuerTrust, require_trust: bool) -> Self {
        self.trust = trust;
        self.require_trust = require_trust;
        self
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self::at(Utc::now())
    }
}

fn string_or_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn proof_entries(proof: &Value) -> Vec<&Value> {
    match proof {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

/// Verify a credential. See the module docs for what is an `Err`.
///
/// # Errors
/// [`MalformedCredential`] when the input is not a checkable credential.
pub async fn verify_credential(vc: &Value, options: &VerifyOptions) -> Result<VerificationReport, MalformedCredential> {
    let obj = vc.as_object().ok_or(MalformedCredential::NotAnObject)?;
    crate::canonical::check_json_limits(vc).map_err(MalformedCredential::Limits)?;
    let loader = options.types.loader();
    data_model::check_credential_syntax_with(&loader, vc)?;
    // One JSON-LD expansion per credential (issue #16): the signed credential's
    // serves the budget check, the anchoring digest, both signature digests
    // and the data model's expansion rules, which `ssi`'s stricter expansion
    // succeeding implies; the data model's own expansion runs only when it
    // failed, to report why as before.
    let canonical =
        crate::canonical::canonicalize_signed_within_limits(&loader, vc, crate::canonical::Budget::default()).await;
    if canonical.is_err() {
        data_model::check_credential_expansion_with(&loader, vc)?;
    }
    let proof = obj.get("proof").ok_or(MalformedCredential::MissingProof)?;
    check_dates_readable(vc, proof)?;
    let (signature, signed_nquads) = check_signature(vc, proof, options, canonical).await?;
    // The log records SHA-256 of the signed credential's canonical N-Quads:
    // the budget pre-check computed them already.
    let digest = match &options.anchoring {
        AnchoringSource::Mirrors { .. } | AnchoringSource::Bundled { inclusion: Some(_), .. }
            if signature.is_valid() =>
        {
            match (crate::selective_disclosure::anchoring_digest(vc), signed_nquads) {
                // ecdsa-sd-2023: the log records the base signature, shared by every derived credential.
                (Some(sd), _) => Some(sd),
                (None, Some(nquads)) => Some(<sha2::Sha256 as sha2::Digest>::digest(nquads.as_bytes()).into()),
                (None, None) => crate::transparency::credential_digest_with(&options.types.loader(), vc).await.ok(),
            }
        }
        _ => None,
    };
    let lazily_held = lazily_held_lists(vc, &signature, options).await;
    Ok(report_with_signature(vc, signature, options, Vec::new(), digest.as_ref(), lazily_held.as_ref()))
}

/// With [`StatusSource::Lazy`]: the lists `vc` names, verified now if they were not
/// yet (each URL once per source), as the cache its status check runs over.
/// Only for a credential whose signature held (as lists are fetched online):
/// a forged credential naming every list of a bundle must not make the
/// verifier check them all (`None`: its status is `status_not_checked`).
async fn lazily_held_lists(
    vc: &Value,
    signature: &CheckResult,
    options: &VerifyOptions,
) -> Option<crate::status::StatusListCache> {
    match &options.status {
        StatusSource::Lazy { lists, .. } if signature.is_valid() => Some(lists.named_by(vc).await),
        _ => None,
    }
}

/// Everything after the signature check: validity, issuer/key binding, and
/// the checks that need outside data.
fn report_with_signature(
    vc: &Value,
    signature: CheckResult,
    options: &VerifyOptions,
    mut warnings: Vec<Warning>,
    credential_digest: Option<&Hash>,
    lazily_held: Option<&crate::status::StatusListCache>,
) -> VerificationReport {
    let empty = serde_json::Map::new();
    let obj = vc.as_object().unwrap_or(&empty);
    let proof = obj.get("proof").unwrap_or(&Value::Null);
    let validity_period = check_validity_period(vc, options, &mut warnings);
    if obj.contains_key("relatedResource") {
        // We never fetch what a credential points at: say so rather than let
        // a green verdict suggest the digests were compared.
        warnings.push(Warning {
            code: "related_resource_not_checked".into(),
            message: Localized::new(
                "凭证引用的外部资源（relatedResource）未被获取和核对摘要",
                "the credential's related resources were not fetched; their digests are not checked",
            ),
        });
    }

    let issuer = obj.get("issuer").and_then(string_or_id);
    let types: Vec<String> = match obj.get("type") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    // The credential's key: the one whose trust was assessed (the first proof's
    // when no trust list was consulted). Status lists, the anchoring log and the
    // issuer claim are all judged against this one key, so a proof appended by
    // someone else changes nothing.
    // A claimed start before the issuer's authorisation is a warning (check_issuer_trust).
    let claimed_from = crate::trust::claimed_start(vc);
    let TrustOutcome { result: mut issuer_trust, trusted: mut trusted_issuer, key: credential_key } =
        check_issuer_trust(proof, &types, claimed_from, options, &mut warnings);
    if let Some(issuer) = &issuer {
        if credential_key.as_deref() != Some(issuer.as_str()) {
            if options.require_trust {
                // Where trust decides, the stated issuer must be the key that signed:
                // a trusted key must not vouch for a made-up issuer.
                issuer_trust = CheckResult::invalid(
                    "issuer_not_key_controller",
                    "凭证声明的签发者不是签名密钥的持有者：签名密钥不能替他人签发",
                    "the stated issuer is not the controller of the signing key: a key cannot issue in another's name",
                );
                trusted_issuer = None;
            } else {
                warnings.push(Warning {
                    code: "issuer_not_key_controller".into(),
                    message: Localized::new(
                        "签名密钥不属于凭证所声明的签发者；需由信任列表确认签发者",
                        "the signing key is not the stated issuer's own DID; the trust list must vouch for the issuer",
                    ),
                });
            }
        }
    }
    let held = match (&options.status, lazily_held) {
        (StatusSource::Cache { cache, policy }, _) => Some((cache.as_ref(), policy)),
        (StatusSource::Lazy { policy, .. }, Some(cache)) => Some((cache, policy)),
        _ => None,
    };
    let status = match held {
        Some((cache, policy)) => {
            // A list counts only when signed by the credential's key (the one
            // whose trust was assessed), or, after a key rotation, by a key the
            // trust list certifies for the same organisation and holds in force
            // at the list's validFrom; neither revoked as the trust list says.
            let may_sign = |list_signer: &str, credential_signer: &str, valid_from: DateTime<Utc>| match &options.trust
            {
                IssuerTrust::List { store, .. } => {
                    store.may_sign_status_lists(list_signer, credential_signer, valid_from)
                }
                _ => list_signer == credential_signer,
            };
            let (result, status_warnings) =
                crate::status::check_status_with(vc, credential_key.as_deref(), cache, policy, options.now, &may_sign);
            warnings.extend(status_warnings);
            result
        }
        None if obj.contains_key("credentialStatus") => CheckResult::unchecked(
            "status_not_checked",
            "本次核验未获取状态列表，无法确认是否被吊销或暂停",
            "no status lists were available to this verification: revocation and suspension are not known",
        ),
        None => CheckResult::unchecked(
            "no_status_entry",
            "凭证没有状态条目，无法检查是否被吊销",
            "the credential has no status entry; revocation cannot be checked",
        ),
    };
    // A type whose credentials always carry status entries: one without them is
    // refused, unless the entries it shows already failed or said revoked.
    // Selectively disclosed, they may have been withheld (it cannot be told
    // from none); signed whole, it was made by something other than the
    // issuer's service (another tool, a misconfiguration, a stolen key) and
    // could never be revoked.
    let status = match (&status, options.types.for_credential(vc)) {
        (CheckResult::Invalid { .. }, _) | (_, None) => status,
        (_, Some(definition)) => {
            crate::status::check_required_entries(vc, definition.required_status_purposes()).unwrap_or(status)
        }
    };
    let (anchoring, anchor) =
        check_anchoring(obj, credential_key.as_deref(), proof, credential_digest, options, &mut warnings);
    // An issuer whose authorisation was withdrawn may still hold its key (and
    // a compromised key is held by someone else), and a signer chooses the
    // signing time it claims: a credential claimed from before then stands
    // only on the log's evidence that it existed then, its entry under a tree
    // anchored on the chain no later than that time (online the first anchor
    // covering it; offline the bundle's, which rarely is that old). Being in
    // the log is not enough: the withdrawn clinic runs its own log and
    // anchors what it signs today.
    if let Some(withdrawn_at) = trusted_issuer.as_ref().and_then(|t| t.withdrawn_at) {
        let anchored_before = anchoring.is_valid()
            && anchor
                .as_ref()
                .is_some_and(|a| i64::try_from(a.block_time).is_ok_and(|t| t <= withdrawn_at.timestamp()));
        if issuer_trust.is_valid() && !anchored_before {
            let when = withdrawn_at.format("%Y-%m-%d %H:%M UTC");
            issuer_trust = CheckResult::invalid(
                "issuer_withdrawn_unanchored",
                format!(
                    "签发机构的证书自 {when} 起被撤销授权或因密钥泄露吊销；此前签发的凭证须有共享日志在该时间前上链的登记证明，请联网核验"
                ),
                format!(
                    "the issuer's certificate was withdrawn, or its key compromised, as of {when}; a credential signed before then needs the shared log's proof that it was anchored on the chain before that time: verify online"
                ),
            );
            trusted_issuer = None;
        }
    }
    let holder_binding = crate::presentation::check_holder_binding(
        vc,
        options.presentation.as_deref(),
        &options.presentation_policy,
        options.now,
        &mut warnings,
    );
    let licence_id = crate::licence_id_check::check_licence_id(
        vc,
        &options.types,
        trusted_issuer.as_ref().and_then(|t| t.usci.as_deref()),
    );
    let checks = Checks { signature, validity_period, issuer_trust, status, anchoring, holder_binding, licence_id };
    let verified = report_verified(&checks, options);
    VerificationReport {
        verified,
        credential_id: obj.get("id").and_then(Value::as_str).map(str::to_owned),
        issuer,
        trusted_issuer,
        types,
        checks,
        anchor,
        warnings,
        checked_at: options.now,
    }
}

/// When the credential says it was issued: the proof's `created` (the
/// signer's clock), else `validFrom`, else `issuanceDate`.
fn claimed_issuance(obj: &serde_json::Map<String, Value>, proof: &Value) -> Option<u64> {
    let created = proof_entries(proof).into_iter().find_map(|p| p.get("created").and_then(Value::as_str));
    let stated = created
        .or_else(|| obj.get("validFrom").and_then(Value::as_str))
        .or_else(|| obj.get("issuanceDate").and_then(Value::as_str))?;
    DateTime::parse_from_rfc3339(stated).ok().and_then(|t| u64::try_from(t.timestamp()).ok())
}

/// Is `did` a key of the same trust-list organisation as `signer`?
fn same_organization_as<'a>(options: &'a VerifyOptions, signer: &'a str) -> impl Fn(&str) -> bool + 'a {
    move |did: &str| match &options.trust {
        IssuerTrust::List { store, .. } => store.same_organization(did, signer),
        _ => false,
    }
}

fn check_anchoring(
    obj: &serde_json::Map<String, Value>,
    signer: Option<&str>,
    proof: &Value,
    credential_digest: Option<&Hash>,
    options: &VerifyOptions,
    warnings: &mut Vec<Warning>,
) -> (CheckResult, Option<AnchorEvidence>) {
    if let AnchoringSource::Bundled { logs, inclusion, collected_at, warn_after, max_age } = &options.anchoring {
        let Some(inclusion) = inclusion else {
            let result = CheckResult::unchecked(
                "anchoring_no_inclusion_proof",
                "未提供登记证明（二维码不含登记证明），无法离线确认是否已登记上链；请出示钱包导出的凭证文件",
                "no inclusion proof was given (a QR code carries none): registration cannot be confirmed offline; \
                 use the wallet's export file",
            );
            return (result, None);
        };
        let (Some(digest), Some(signer)) = (credential_digest, signer) else {
            let result = CheckResult::unchecked(
                "anchoring_not_checked",
                "签名无效，未检查链上登记",
                "the signature did not verify: registration was not checked",
            );
            return (result, None);
        };
        let outcome = crate::transparency::check_inclusion_offline_signed_by(
            logs,
            inclusion,
            digest,
            signer,
            &same_organization_as(options, signer),
        );
        if !matches!(outcome, AnchoringOutcome::Failed { .. }) {
            let age = options.now - *collected_at;
            let hours = age.num_hours();
            if age > *max_age {
                let result = CheckResult::invalid(
                    "anchoring_data_stale",
                    format!("链上锚定数据已过时（{hours} 小时前收集），请联网更新核验数据包后再核验"),
                    format!(
                        "the anchoring data is stale (collected {hours} hours ago); go online to refresh the \
                         verifier bundle, then verify again"
                    ),
                );
                return (result, None);
            }
            if age > *warn_after {
                warnings.push(Warning {
                    code: "anchoring_data_aging".into(),
                    message: Localized::new(
                        format!("链上锚定数据已 {hours} 小时未更新"),
                        format!("the anchoring data has not been refreshed for {hours} hours"),
                    ),
                });
            }
        }
        return anchoring_result(outcome, false, warnings);
    }
    let AnchoringSource::Mirrors { logs, policy } = &options.anchoring else {
        let result = CheckResult::unchecked(
            "no_anchor_data",
            "未配置链上锚定数据，无法确认是否已登记",
            "no anchoring data configured: registration in the shared log is not known",
        );
        return (result, None);
    };
    let unknown = |code: &str, zh: &str, en: &str| {
        if policy.required {
            CheckResult::invalid(code, zh, en)
        } else {
            CheckResult::unchecked(code, zh, en)
        }
    };
    let (Some(digest), Some(signer)) = (credential_digest, signer) else {
        let result = unknown(
            "anchoring_not_checked",
            "签名无效，未检查链上登记",
            "the signature did not verify: registration was not checked",
        );
        return (result, None);
    };
    let Ok(mirrors) = logs.read() else {
        return (unknown("anchoring_unavailable", "日志副本不可用", "the log copies are unavailable"), None);
    };
    let now = u64::try_from(options.now.timestamp()).unwrap_or(0);
    anchoring_result(
        mirrors.check_signed_by(
            digest,
            signer,
            &same_organization_as(options, signer),
            claimed_issuance(obj, proof),
            policy,
            now,
        ),
        policy.required,
        warnings,
    )
}

/// An anchoring outcome as a check result: pending is `unchecked` with a
/// warning, unknown fails only when anchoring is `required`.
fn anchoring_result(
    outcome: AnchoringOutcome,
    required: bool,
    warnings: &mut Vec<Warning>,
) -> (CheckResult, Option<AnchorEvidence>) {
    match outcome {
        AnchoringOutcome::Anchored(evidence) => (CheckResult::Valid, Some(evidence)),
        AnchoringOutcome::Pending { code, reason } => {
            warnings.push(Warning { code: code.to_owned(), message: reason.clone() });
            (CheckResult::Unchecked { code: code.to_owned(), reason }, None)
        }
        AnchoringOutcome::Failed { code, reason } => (CheckResult::Invalid { code: code.to_owned(), reason }, None),
        AnchoringOutcome::Unknown { code, reason } if required => {
            (CheckResult::Invalid { code: code.to_owned(), reason }, None)
        }
        AnchoringOutcome::Unknown { code, reason } => (CheckResult::Unchecked { code: code.to_owned(), reason }, None),
    }
}

fn check_issuer_trust(
    proof: &Value,
    types: &[String],
    claimed_from: Option<DateTime<Utc>>,
    options: &VerifyOptions,
    warnings: &mut Vec<Warning>,
) -> TrustOutcome {
    let first_key = || proof_entries(proof).first().and_then(|p| proof_key(p));
    let (store, warn_after, max_age) = match &options.trust {
        IssuerTrust::NotConfigured => {
            let r = CheckResult::unchecked(
                "no_trust_list",
                "未配置信任列表，无法确认签发机构是否获授权",
                "no trust list configured: whether the issuer is authorised is not known",
            );
            return TrustOutcome { result: r, trusted: None, key: first_key() };
        }
        IssuerTrust::Unavailable(result) => {
            return TrustOutcome { result: result.clone(), trusted: None, key: first_key() }
        }
        IssuerTrust::List { store, warn_after, max_age } => (store, *warn_after, *max_age),
    };
    let age = options.now - store.issued_at();
    if age > max_age || options.now > store.next_update() {
        let hours = age.num_hours();
        let r = CheckResult::invalid(
            "stale_trust_list",
            format!("信任列表已过期（{hours} 小时前生成），请联网更新后再核验"),
            format!("the trust list is stale (made {hours} hours ago); go online to refresh it, then verify again"),
        );
        return TrustOutcome { result: r, trusted: None, key: first_key() };
    }
    if age > warn_after {
        warnings.push(Warning {
            code: "trust_list_aging".into(),
            message: Localized::new(
                format!("信任列表已 {} 小时未更新", age.num_hours()),
                format!("the trust list has not been refreshed for {} hours", age.num_hours()),
            ),
        });
    }
    // Trust is judged for a key that signed, at the time its proof says it
    // signed. With several proofs (every one of which verified), the first
    // proof whose key is trusted is the credential's key; if none is, the
    // first proof's failure is reported. So a proof appended (or prepended)
    // by someone else's key changes nothing.
    let entries = proof_entries(proof);
    let Some(&first) = entries.first() else {
        let r = CheckResult::invalid("unknown_issuer", "凭证没有签名", "the credential has no proof");
        return TrustOutcome { result: r, trusted: None, key: None };
    };
    let mut first_failure = None;
    for entry in &entries {
        let vm = entry.get("verificationMethod").and_then(Value::as_str).unwrap_or("");
        let signed_at = entry
            .get("created")
            .and_then(Value::as_str)
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map_or(options.now, |d| d.with_timezone(&Utc));
        // Trust is judged at the proof's `created`: a date beyond the clock
        // (and its skew) would let a key sign now under a certificate that
        // starts later.
        if signed_at > options.now + options.clock_skew {
            first_failure.get_or_insert_with(|| {
                CheckResult::invalid(
                    "proof_created_in_future",
                    format!("签名时间 {} 晚于当前时间：不能按未来的时间判断签发机构是否获授权", signed_at.format("%Y-%m-%d %H:%M UTC")),
                    format!(
                        "the proof says it was created {}, after the verifier's clock: issuer trust is not judged at a future time",
                        signed_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
            });
            continue;
        }
        // ... and a `validFrom` before the issuer's authorisation is a
        // warning (see `TrustStore::assess_issuer_from`).
        match store.assess_issuer_from(vm, types, signed_at, claimed_from) {
            Ok((issuer, backdated)) => {
                if let Some(finding) = backdated {
                    warnings.push(finding.to_warning());
                }
                return TrustOutcome { result: CheckResult::Valid, trusted: Some(issuer), key: proof_key(entry) };
            }
            Err(failure) => {
                first_failure.get_or_insert_with(|| failure.to_check_result());
            }
        }
    }
    let result = first_failure
        .unwrap_or_else(|| CheckResult::invalid("unknown_issuer", "凭证没有签名", "the credential has no proof"));
    TrustOutcome { result, trusted: None, key: proof_key(first) }
}

/// The issuer-trust check's result, and the key it was judged for.
struct TrustOutcome {
    result: CheckResult,
    trusted: Option<TrustedIssuer>,
    /// The DID of the key whose trust was assessed (the first proof's when
    /// no trust list was consulted): status lists must be signed by it (or,
    /// per the trust list, by the same organisation).
    key: Option<String>,
}

/// The DID (without fragment) of one proof's `verificationMethod`.
fn proof_key(proof: &Value) -> Option<String> {
    let vm = proof.get("verificationMethod").and_then(Value::as_str)?;
    let did = vm.split('#').next().unwrap_or(vm);
    (!did.is_empty()).then(|| did.to_owned())
}

/// The signature check of a credential, and the canonical N-Quads of the
/// signed credential when the budget pre-check (`canonical`, computed once by
/// the caller) produced them (the anchoring digest is their SHA-256).
async fn check_signature(
    vc: &Value,
    proof: &Value,
    options: &VerifyOptions,
    canonical: Result<crate::canonical::SignedCanonical, crate::canonical::CanonicalizationError>,
) -> Result<(CheckResult, Option<String>), MalformedCredential> {
    if let Some(unsupported) = check_proof_suites(proof)? {
        return Ok((unsupported, None));
    }
    if let Some(unsigned) = crate::signed_json::check(vc, &options.types) {
        return Ok((unsigned, None));
    }
    if let Some(wrong) = check_proof_purpose(proof, "assertionMethod") {
        return Ok((wrong, None));
    }
    // ecdsa-sd-2023: derived proofs only (a base proof is the holder's).
    if let Some(refused) = crate::selective_disclosure::check_proof_kinds(proof) {
        return Ok((refused, None));
    }
    if let Some(missing) = crate::selective_disclosure::check_shown_mandatory(vc, &options.types) {
        return Ok((missing, None));
    }
    // `ssi` canonicalises without a budget: ours runs first (see
    // `refuse_beyond_budget`). Invalid JSON-LD is left to `ssi` to report.
    // The same expansion gives the unsecured document's N-Quads for the
    // signature's document hash (issue #16).
    let loader = options.types.loader();
    let (signed_nquads, unsecured_nquads, proof_config_nquads) = match canonical {
        Err(e) if e.is_limit() => {
            return Ok((CheckResult::Invalid { code: e.code().to_owned(), reason: e.message() }, None));
        }
        Err(_) => (None, None, None),
        Ok(canonical) => (Some(canonical.signed.nquads), canonical.unsecured, canonical.proof_config),
    };
    if let Some(sm2) = crate::sm2_signature_check::check(&loader, vc, proof, unsecured_nquads.as_deref()).await {
        return Ok((sm2, signed_nquads));
    }
    // ecdsa-jcs-2019 signs JCS, not RDF, so ssi is never asked (it has no such
    // suite); the signed N-Quads computed above still serve the anchoring digest.
    if let Some(jcs) = crate::ecdsa_jcs_2019::check_signature(vc, proof) {
        return Ok((jcs, signed_nquads));
    }
    // Our own ecdsa-rdfc-2019 check (held to ssi's answer by the differential
    // test) decides a match; anything else, a mismatch included, goes to ssi,
    // which gives the report its detail.
    if signed_nquads.is_some()
        && fast_path_applies(vc, proof)
        && crate::ecdsa_rdfc_2019::verify_with_canonical(
            &loader,
            vc,
            proof,
            unsecured_nquads.as_deref(),
            proof_config_nquads.as_deref(),
        )
        .await
            == crate::ecdsa_rdfc_2019::FastPath::Valid
    {
        return Ok((CheckResult::Valid, signed_nquads));
    }
    let bytes = serde_json::to_vec(vc).map_err(|e| MalformedCredential::UnreadableProof(e.to_string()))?;
    let signed: DataIntegrity<LdClaims, AnySuite> =
        ssi_data_integrity::from_json_slice(&bytes).map_err(|e| MalformedCredential::UnreadableProof(e.to_string()))?;
    let outcome = signed.proofs.validate_proof(&verification_parameters(options), &signed.claims).await;
    Ok((
        proof_outcome(
            outcome,
            "签名无效：凭证内容被改动或不是由该密钥签发",
            "the signature does not match: the content was altered or not signed by this key",
        ),
        signed_nquads,
    ))
}

/// The shapes our `ecdsa-rdfc-2019` check is proven on: one proof object of
/// that suite with only the members we sign and check (no `expires`,
/// `domain`, `challenge`, `nonce`, `previousProof` or own `@context`, which
/// stay `ssi`'s to read).
fn fast_path_applies(vc: &Value, proof: &Value) -> bool {
    const MEMBERS: [&str; 7] =
        ["type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue", "id"];
    let Some(p) = proof.as_object() else { return false };
    vc.get("@context").is_some()
        && p.get("cryptosuite").and_then(Value::as_str) == Some("ecdsa-rdfc-2019")
        && p.keys().all(|k| MEMBERS.contains(&k.as_str()))
}

/// `ssi` canonicalises the document without a budget (RDFC-1.0 is factorial in
/// indistinguishable blank nodes): our budgeted canonicalisation runs first, and
/// a document beyond it fails the signature check with `document_too_complex`
/// (`document_too_deep`, `document_too_large`) before any proof work. Invalid
/// JSON-LD is left to `ssi`, which reports it as before.
async fn refuse_beyond_budget(loader: &BundledLoader, document: &Value) -> Option<CheckResult> {
    match crate::canonical::check_document_with(loader, document).await {
        Err(e) if e.is_limit() => {
            let message = e.message();
            Some(CheckResult::Invalid { code: e.code().to_owned(), reason: message })
        }
        _ => None,
    }
}

/// The document's dates as ssi will read them: xsd-types (inside ssi) parses a
/// date's year as an `i32` and panics on a longer one (found by fuzzing: a proof
/// `created` with a 100-digit year). So, before the document reaches ssi:
/// each proof's `created` / `expires` must be an RFC 3339 date-time
/// (`unreadable_proof`), and `validFrom` / `validUntil` / `issuanceDate` /
/// `expirationDate` (already xsd-checked by the data model, years of up to 12
/// digits) must have a year that fits (`invalid_date`); the same for the
/// credentials a presentation carries.
fn check_dates_readable(doc: &Value, proof: &Value) -> Result<(), MalformedCredential> {
    for p in proof_entries(proof) {
        for key in ["created", "expires"] {
            match p.get(key) {
                None => {}
                Some(Value::String(s)) if DateTime::parse_from_rfc3339(s).is_ok() => {}
                Some(_) => {
                    return Err(MalformedCredential::UnreadableProof(format!(
                        "the proof's `{key}` is not an RFC 3339 date-time"
                    )))
                }
            }
        }
    }
    for key in ["validFrom", "validUntil", "issuanceDate", "expirationDate"] {
        let Some(date) = doc.get(key).and_then(Value::as_str) else { continue };
        let year = date.strip_prefix('-').unwrap_or(date);
        let year = &year[..year.find(|c: char| !c.is_ascii_digit()).unwrap_or(year.len())];
        if !year.is_empty() && year.parse::<i32>().is_err() {
            return Err(MalformedCredential::DataModel(DataModelError {
                code: "invalid_date",
                path: format!("/{key}"),
                message_en: format!("`{key}` has a year that cannot be read"),
                message_zh: format!("`{key}` 的年份无法识别"),
            }));
        }
    }
    // ssi reads the credentials inside a presentation along with it.
    if let Some(embedded) = doc.get("verifiableCredential") {
        for vc in proof_entries(embedded) {
            check_dates_readable(vc, vc.get("proof").unwrap_or(&Value::Null))?;
        }
    }
    Ok(())
}

/// Longest base58btc `proofValue` read (a 64-byte signature is 88 characters,
/// a 96-byte P-384 one 132).
const MAX_BASE58_PROOF_VALUE_CHARS: usize = 140;

/// Every proof must be a `DataIntegrityProof` of an accepted cryptosuite with a
/// `proofValue` of a bounded size: `Ok(Some(invalid))` names an unsupported suite.
fn check_proof_suites(proof: &Value) -> Result<Option<CheckResult>, MalformedCredential> {
    for p in proof_entries(proof) {
        let Some(p) = p.as_object() else {
            return Err(MalformedCredential::UnreadableProof("a proof is not an object".into()));
        };
        let suite = p.get("cryptosuite").and_then(Value::as_str).unwrap_or("");
        if p.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
            || !ACCEPTED_CRYPTOSUITES.contains(&suite)
        {
            let name = if suite.is_empty() { p.get("type").and_then(Value::as_str).unwrap_or("?") } else { suite };
            return Ok(Some(CheckResult::invalid(
                "unsupported_cryptosuite",
                format!("不支持的签名算法：{name}"),
                format!("unsupported signature suite: {name}"),
            )));
        }
        let Some(value) = p.get("proofValue").and_then(Value::as_str) else {
            return Err(MalformedCredential::UnreadableProof("proofValue is missing".into()));
        };
        // A base58btc signature of any accepted suite is at most 132 characters (P-384);
        // base58 decoding is quadratic in its input (100,000 characters: 1.7 s),
        // so a longer one is refused before anything decodes it. (ecdsa-sd-2023
        // proofs are base64url, `u…`, and decode in linear time.)
        if value.starts_with('z') && value.len() > MAX_BASE58_PROOF_VALUE_CHARS {
            return Err(MalformedCredential::UnreadableProof("proofValue is too long for a signature".into()));
        }
        let method = p.get("verificationMethod").and_then(Value::as_str).unwrap_or_default();
        if method.len() > 2 * crate::keys::MAX_DID_KEY_ID_CHARS + 16 {
            return Err(MalformedCredential::UnreadableProof("verificationMethod is too long".into()));
        }
    }
    Ok(None)
}

/// Offline verification parameters: did:key only, bundled contexts only.
fn verification_parameters(options: &VerifyOptions) -> VerificationParameters<DidKeyResolver, BundledLoader> {
    VerificationParameters::from_resolver(DidKeyResolver)
        .with_json_ld_loader(options.types.loader())
        .with_date_time(options.now)
}

fn proof_outcome<E: std::fmt::Display, I: std::fmt::Display>(
    outcome: Result<Result<(), I>, E>,
    mismatch_zh: &str,
    mismatch_en: &str,
) -> CheckResult {
    match outcome {
        Ok(Ok(())) => CheckResult::Valid,
        Ok(Err(invalid)) => CheckResult::invalid("bad_signature", mismatch_zh, format!("{mismatch_en} ({invalid})")),
        Err(e) => classify_proof_error(&e.to_string()),
    }
}

fn classify_proof_error(detail: &str) -> CheckResult {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("key") || lower.contains("method") || lower.contains("resol") || lower.contains("algorithm") {
        CheckResult::invalid(
            "unsupported_key",
            format!("无法使用签名密钥（未知或不支持的密钥类型）：{detail}"),
            format!("the signing key cannot be used (unknown or unsupported key type): {detail}"),
        )
    } else {
        CheckResult::invalid(
            "bad_signature",
            format!("签名无法验证：{detail}"),
            format!("the signature cannot be verified: {detail}"),
        )
    }
}

fn parse_time(v: Option<&Value>) -> Option<Result<DateTime<Utc>, ()>> {
    v.map(|v| v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc)).ok_or(()))
}

fn check_validity_period(vc: &Value, options: &VerifyOptions, warnings: &mut Vec<Warning>) -> CheckResult {
    let from = parse_time(vc.get("validFrom").or_else(|| vc.get("issuanceDate")));
    let until = parse_time(vc.get("validUntil").or_else(|| vc.get("expirationDate")));
    let (from, until) = match (from.transpose(), until.transpose()) {
        (Ok(f), Ok(u)) => (f, u),
        _ => return CheckResult::invalid("invalid_date", "有效期日期格式无效", "the validity dates cannot be read"),
    };
    // A type with a longest validity (the yearly health certificate): a
    // credential valid for longer, or with no start or end to measure (an end
    // withheld from a derived credential too), was not issued by its rules.
    if let Some(definition) = options.types.for_credential(vc) {
        if let Some(months) = definition.validity.months {
            let within = match (from, until) {
                (Some(from), Some(until)) => definition.latest_valid_until(from).is_none_or(|latest| until <= latest),
                _ => false,
            };
            if !within {
                return CheckResult::invalid(
                    "validity_exceeds_type",
                    format!("{}的有效期最长为 {months} 个月，此凭证的有效期超出或缺少起止日期", definition.name.zh),
                    format!(
                        "a {} is valid for at most {months} months: this one is valid for longer, or lacks its start or end",
                        definition.name.en.to_lowercase()
                    ),
                );
            }
        }
    }
    if let Some(from) = from {
        if options.now + options.clock_skew < from {
            return CheckResult::invalid(
                "not_yet_valid",
                format!("尚未生效：自 {} 起有效", from.format("%Y-%m-%d %H:%M UTC")),
                format!("not yet valid: valid from {}", from.format("%Y-%m-%d %H:%M UTC")),
            );
        }
    }
    match until {
        Some(until) if options.now > until => CheckResult::invalid(
            "expired",
            format!("已过期：有效期至 {}", until.format("%Y-%m-%d %H:%M UTC")),
            format!("expired: valid until {}", until.format("%Y-%m-%d %H:%M UTC")),
        ),
        Some(_) => CheckResult::Valid,
        None => {
            warnings.push(Warning {
                code: "no_expiry".into(),
                message: Localized::new("凭证没有截止日期", "the credential has no end of validity"),
            });
            CheckResult::Valid
        }
    }
}

/// Verify a presentation: its proof (if any; `challenge`/`domain` must match
/// when the verifier asks for them) and every embedded credential.
///
/// # Errors
/// [`MalformedCredential`] when the presentation itself breaks the data model
/// or its proof cannot be read.
pub async fn verify_presentation(
    vp: &Value,
    options: &VerifyOptions,
    expected_challenge: Option<&str>,
    expected_domain: Option<&str>,
) -> Result<PresentationReport, MalformedCredential> {
    let obj = vp.as_object().ok_or(MalformedCredential::NotAnObject)?;
    crate::canonical::check_json_limits(vp).map_err(MalformedCredential::Limits)?;
    data_model::check_presentation_with(&options.types.loader(), vp)?;
    check_dates_readable(vp, obj.get("proof").unwrap_or(&Value::Null))?;
    let mut warnings = Vec::new();
    let proof = match obj.get("proof") {
        None => {
            if expected_challenge.is_some() || expected_domain.is_some() {
                CheckResult::invalid(
                    "missing_proof",
                    "出示凭证缺少签名，无法核对挑战值或域",
                    "the presentation is not signed, so the challenge or domain cannot be checked",
                )
            } else {
                warnings.push(Warning {
                    code: "unsigned_presentation".into(),
                    message: Localized::new(
                        "出示凭证未签名：无法确认出示者",
                        "the presentation is not signed: the presenter is not authenticated",
                    ),
                });
                CheckResult::unchecked("no_proof", "出示凭证没有签名", "the presentation has no proof")
            }
        }
        Some(proof) => {
            let entries = proof_entries(proof);
            // Every proof must answer this verifier's challenge and domain: a
            // second proof over them must not carry a first one that does not.
            let field_matches = |name: &str, expected: Option<&str>| {
                expected.is_none_or(|e| {
                    entries.iter().all(|p| match p.get(name) {
                        Some(Value::String(v)) => v == e,
                        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(e)),
                        _ => false,
                    })
                })
            };
            if !field_matches("challenge", expected_challenge) {
                CheckResult::invalid(
                    "challenge_mismatch",
                    "挑战值不匹配：可能是重放的出示",
                    "the challenge does not match: this may be a replayed presentation",
                )
            } else if !field_matches("domain", expected_domain) {
                CheckResult::invalid(
                    "domain_mismatch",
                    "域不匹配：该出示不是给本验证方的",
                    "the domain does not match: this presentation was meant for another verifier",
                )
            } else if let Some(wrong) = check_proof_purpose(proof, "authentication") {
                wrong
            } else {
                check_presentation_signature(vp, proof, options).await?
            }
        }
    };
    // Who signed the presentation (when its proof verified).
    let presenters: Vec<&str> = match (&proof, obj.get("proof")) {
        (CheckResult::Valid, Some(p)) => proof_entries(p)
            .into_iter()
            .filter_map(|p| p.get("verificationMethod").and_then(Value::as_str))
            .map(|vm| vm.split('#').next().unwrap_or(vm))
            .collect(),
        _ => Vec::new(),
    };
    let holder = obj.get("holder").and_then(string_or_id);
    let mut credentials = Vec::new();
    let embedded = match obj.get("verifiableCredential") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    for vc in embedded {
        if vc.get("type").and_then(Value::as_str) == Some("EnvelopedVerifiableCredential")
            || vc
                .get("type")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| t == "EnvelopedVerifiableCredential"))
        {
            credentials.push(CredentialOutcome::Malformed {
                code: "enveloped_not_supported".into(),
                message: Localized::new("不支持封装格式的凭证", "enveloped credentials are not supported"),
            });
            continue;
        }
        // A self-asserted credential (no proof of its own; its issuer is the
        // presentation's holder) is secured by the presentation's proof.
        let issuer = vc.get("issuer").and_then(string_or_id);
        if vc.get("proof").is_none() && holder.is_some() && holder == issuer {
            let signature = match &proof {
                CheckResult::Valid => CheckResult::Valid,
                _ => CheckResult::invalid(
                    "self_asserted_unsigned",
                    "自我声明的凭证只能由已签名的出示凭证担保",
                    "a self-asserted credential is secured only by a signed presentation",
                ),
            };
            let warning = Warning {
                code: "self_asserted".into(),
                message: Localized::new(
                    "持有人自我声明的凭证（未经第三方签发）",
                    "self-asserted by the holder (not issued by a third party)",
                ),
            };
            let lazily_held = lazily_held_lists(vc, &signature, options).await;
            let mut report = report_with_signature(vc, signature, options, vec![warning], None, lazily_held.as_ref());
            bind_to_presenter(&mut report, vc, &proof, &presenters, options);
            credentials.push(CredentialOutcome::Report(Box::new(report)));
            continue;
        }
        credentials.push(match verify_credential(vc, options).await {
            Ok(mut report) => {
                bind_to_presenter(&mut report, vc, &proof, &presenters, options);
                CredentialOutcome::Report(Box::new(report))
            }
            Err(e) => CredentialOutcome::Malformed { code: e.code().to_owned(), message: e.message() },
        });
    }
    // The presentation's holder, when it names one, is who signed it: a
    // presentation cannot claim a holder whose key did not sign it (whether or
    // not its credentials are bound to a subject DID, and for self-asserted
    // credentials, whose issuer is that holder).
    let proof = match (&proof, &holder) {
        (CheckResult::Valid, Some(holder)) if !presenters.iter().any(|p| p == holder) => CheckResult::invalid(
            "holder_not_key_controller",
            "出示凭证声明的持有人不是签名密钥的持有者",
            "the presentation's holder is not the controller of the key that signed it",
        ),
        _ => proof,
    };
    let verified = !proof.is_invalid()
        && credentials.iter().all(|c| match c {
            CredentialOutcome::Report(r) => r.verified,
            CredentialOutcome::Malformed { .. } => false,
        });
    Ok(PresentationReport { verified, holder, proof, credentials, warnings })
}

/// The `did:key` ids of a credential's subjects: who the credential is bound to.
fn subject_did_keys(vc: &Value) -> Vec<&str> {
    let subjects: Vec<&Value> = match vc.get("credentialSubject") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    subjects
        .into_iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str))
        .filter(|id| id.starts_with("did:key:"))
        .collect()
}

/// The holder binding of a credential inside a presentation: a credential
/// whose subject is a `did:key` is presented only by that key. A signed
/// presentation by another key makes the credential's `holderBinding`
/// `invalid presentation_not_by_subject` (and the credential unverified); by
/// the subject's key, `valid`. An unsigned presentation leaves the check as
/// for a credential shown on its own (`unchecked`, with a warning).
fn bind_to_presenter(
    report: &mut VerificationReport,
    vc: &Value,
    proof: &CheckResult,
    presenters: &[&str],
    options: &VerifyOptions,
) {
    let subjects = subject_did_keys(vc);
    if subjects.is_empty() || !proof.is_valid() {
        return;
    }
    if subjects.iter().any(|s| presenters.contains(s)) {
        report.checks.holder_binding = CheckResult::Valid;
        report.warnings.retain(|w| w.code != "holder_binding_not_presented");
    } else {
        report.checks.holder_binding = CheckResult::invalid(
            "presentation_not_by_subject",
            "出示凭证不是由凭证主体（持有人）的密钥签名的：出示者不是持有人",
            "the presentation was not signed by the credential subject's key: the presenter is not the holder",
        );
    }
    report.verified = report_verified(&report.checks, options);
}

/// `verified` from the checks: see [`VerificationReport::verified`].
fn report_verified(checks: &Checks, options: &VerifyOptions) -> bool {
    checks.signature.is_valid()
        && checks.validity_period.is_valid()
        && ![&checks.status, &checks.anchoring, &checks.holder_binding, &checks.licence_id]
            .iter()
            .any(|c| c.is_invalid())
        && (!options.require_trust || checks.issuer_trust.is_valid())
}

/// Every proof must state `proofPurpose` `expected` (`assertionMethod` for a
/// credential, `authentication` for a presentation): `Some(invalid)` otherwise.
/// (A `did:key` lists its key under every relationship, so resolving the
/// method does not tell an issuer's proof from a holder's.)
fn check_proof_purpose(proof: &Value, expected: &str) -> Option<CheckResult> {
    let wrong = proof_entries(proof).into_iter().find_map(|p| match p.get("proofPurpose").and_then(Value::as_str) {
        Some(purpose) if purpose == expected => None,
        other => Some(other.unwrap_or("(none)").chars().take(40).collect::<String>()),
    })?;
    Some(CheckResult::invalid(
        "wrong_proof_purpose",
        format!("签名用途不符：应为 {expected}，实为 {wrong}"),
        format!("the proof's purpose is {wrong}, not {expected}"),
    ))
}

async fn check_presentation_signature(
    vp: &Value,
    proof: &Value,
    options: &VerifyOptions,
) -> Result<CheckResult, MalformedCredential> {
    if let Some(unsupported) = check_proof_suites(proof)? {
        return Ok(unsupported);
    }
    if let Some(refused) = crate::sm2_signature_check::refuse_on_presentation(proof) {
        return Ok(refused);
    }
    if let Some(refused) = crate::selective_disclosure::check_proof_kinds(proof) {
        return Ok(refused);
    }
    if let Some(refused) = refuse_beyond_budget(&options.types.loader(), vp).await {
        return Ok(refused);
    }
    let bytes = serde_json::to_vec(vp).map_err(|e| MalformedCredential::UnreadableProof(e.to_string()))?;
    let signed: DataIntegrity<LdClaims, AnySuite> =
        ssi_data_integrity::from_json_slice(&bytes).map_err(|e| MalformedCredential::UnreadableProof(e.to_string()))?;
    let outcome = signed.proofs.validate_proof(&verification_parameters(options), &signed.claims).await;
    Ok(proof_outcome(outcome, "出示凭证的签名无效", "the presentation's signature does not match"))
}
