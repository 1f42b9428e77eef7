//! The signed trust list: department roots, issuer certificates and CRLs in
//! one file a verifier downloads and checks offline.
//!
//! # Format
//! A JWS in the flattened JSON serialization with an unencoded payload
//! (RFC 7515 section 7.2.2 + RFC 7797 `b64: false`), UTF-8:
//!
//! ```json
//! {
//!   "protected": "<base64url of the header JSON>",
//!   "payload":   "<the payload JSON, as a JSON string>",
//!   "signature": "<base64url of the ES256 signature: r || s, 64 octets>"
//! }
//! ```
//!
//! Header: `{"alg":"ES256","typ":"ecert-trust-list+json","b64":false,"crit":["b64"],"x5c":[…]}`
//! where `x5c` is the signer's certificate (standard base64 of DER) followed by
//! any intermediates. The signature covers `ASCII(protected) || "." || payload`
//! (the payload's UTF-8 bytes exactly as they stand in the string), so no
//! canonicalisation is involved.
//!
//! Payload:
//!
//! ```json
//! {"version":1,"sequence":42,"issuedAt":"2026-01-01T00:00:00Z","nextUpdate":"2026-01-02T00:00:00Z",
//!  "roots":["<base64 DER>",…],"issuerCertificates":["<base64 DER>",…],"crls":["<base64 DER>",…]}
//! ```
//!
//! # Checks on load ([`TrustList::load`])
//! 1. the signer is one of the verifier's configured roots, or its
//!    certificate chains (rustls-webpki path validation, now) to one of them and
//!    carries [`TRUST_LIST_SIGNING_EKU_OID`](super::TRUST_LIST_SIGNING_EKU_OID);
//! 2. the ES256 signature verifies;
//! 3. freshness: `issuedAt` no older than `max_age`, `nextUpdate` not passed,
//!    `issuedAt` not in the future (5 minutes' tolerance), every CRL's
//!    `nextUpdate` not passed — otherwise `stale_trust_list`;
//! 4. every CRL is signed by the configured root whose name it carries
//!    (a CRL that does not verify refuses the whole list: dropping it would
//!    silently un-revoke certificates);
//! 5. roots in the list that are not configured are *not* trusted; they are
//!    only used to name the unknown root in messages.
//!
//! Issuer certificates that cannot be read, are not P-256 or whose SAN DID
//! does not name their key are left out (listed in [`TrustStore::warnings`]):
//! such an issuer is then simply unknown.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};

use super::algorithm::{TrustAlgorithm, TrustPublicKey, TrustSigningKey, WEBPKI_ALGORITHMS};
use super::asn1;
use super::certificate::ParsedCertificate;
use super::crl::ParsedCrl;
use super::oid;
use super::store::{IssuerEntry, RootEntry, TrustStore};
use crate::localized::Localized;
use crate::report::CheckResult;

/// The payload format version this code writes and reads.
pub const TRUST_LIST_VERSION: u32 = 1;
/// The JWS `typ` of a trust list.
pub const TRUST_LIST_JWS_TYPE: &str = "ecert-trust-list+json";
/// How far in the future `issuedAt` may be (clock skew of the verifier).
pub const TRUST_LIST_CLOCK_SKEW: Duration = Duration::minutes(5);

/// What goes into a trust list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustListContents {
    /// Monotonic sequence number (a verifier may refuse to go backwards).
    pub sequence: u64,
    /// When the list was made.
    pub issued_at: DateTime<Utc>,
    /// When the next list is due; after it the list is stale.
    pub next_update: DateTime<Utc>,
    /// Department root certificates (DER).
    pub roots: Vec<Vec<u8>>,
    /// Issuer certificates (DER).
    pub issuer_certificates: Vec<Vec<u8>>,
    /// CRLs (DER), at least one per root.
    pub crls: Vec<Vec<u8>>,
}

/// Why a trust list could not be made or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListError {
    /// Not a trust list (bad JSON, base64, header or payload).
    #[error("malformed trust list: {0}")]
    Malformed(String),
    /// A payload version this code does not read.
    #[error("unsupported trust list version {0}")]
    UnsupportedVersion(u32),
    /// The verifier's own configuration is unusable (no roots, a root that
    /// cannot be read).
    #[error("invalid trust configuration: {0}")]
    InvalidConfiguration(String),
    /// The signer is not a configured root and does not chain to one as a
    /// trust-list signer.
    #[error("the trust list's signer is not trusted: {0}")]
    UntrustedSigner(String),
    /// The signature does not verify (the list was altered).
    #[error("the trust list's signature does not verify")]
    BadSignature,
    /// Too old, past its nextUpdate, or a CRL in it is past its nextUpdate.
    #[error("the trust list is stale: {0}")]
    Stale(String),
    /// issuedAt is in the future (the verifier's clock is probably wrong).
    #[error("the trust list is issued in the future ({0}); check the device clock")]
    IssuedInFuture(DateTime<Utc>),
    /// A CRL that cannot be read or whose signature does not verify.
    #[error("invalid CRL in the trust list: {0}")]
    InvalidCrl(String),
    /// Building: the key does not match the signer certificate, or an entry
    /// cannot be read.
    #[error("cannot build the trust list: {0}")]
    Build(String),
}

impl TrustListError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_trust_list",
            Self::UnsupportedVersion(_) => "unsupported_trust_list_version",
            Self::InvalidConfiguration(_) => "invalid_trust_configuration",
            Self::UntrustedSigner(_) => "untrusted_trust_list_signer",
            Self::BadSignature => "bad_trust_list_signature",
            Self::Stale(_) => "stale_trust_list",
            Self::IssuedInFuture(_) => "trust_list_from_future",
            Self::InvalidCrl(_) => "invalid_crl",
            Self::Build(_) => "trust_list_build_failed",
        }
    }

    /// For a person, in zh and en.
    pub fn reason(&self) -> Localized {
        match self {
            Self::Malformed(d) => {
                Localized::new(format!("信任列表格式错误：{d}"), format!("the trust list cannot be read: {d}"))
            }
            Self::UnsupportedVersion(v) => {
                Localized::new(format!("不支持的信任列表版本：{v}"), format!("unsupported trust list version {v}"))
            }
            Self::InvalidConfiguration(d) => Localized::new(
                format!("本机配置的根证书无效：{d}"),
                format!("the configured root certificates are unusable: {d}"),
            ),
            Self::UntrustedSigner(d) => Localized::new(
                format!("信任列表的签名者不受信任：{d}"),
                format!("the trust list is signed by someone this verifier does not trust: {d}"),
            ),
            Self::BadSignature => Localized::new(
                "信任列表签名无效：内容被改动",
                "the trust list's signature does not match: its content was altered",
            ),
            Self::Stale(d) => Localized::new(
                format!("信任列表已过期，请联网更新：{d}"),
                format!("the trust list is out of date; update it: {d}"),
            ),
            Self::IssuedInFuture(at) => Localized::new(
                format!("信任列表的签发时间（{}）晚于本机时间，请检查设备时钟", at.format("%Y-%m-%d %H:%M UTC")),
                format!(
                    "the trust list is dated {} — later than this device's clock; check the clock",
                    at.format("%Y-%m-%d %H:%M UTC")
                ),
            ),
            Self::InvalidCrl(d) => Localized::new(
                format!("信任列表中的吊销列表无效：{d}"),
                format!("a revocation list in the trust list is invalid: {d}"),
            ),
            Self::Build(d) => {
                Localized::new(format!("无法生成信任列表：{d}"), format!("cannot build the trust list: {d}"))
            }
        }
    }

    /// The issuer-trust check result for a verifier whose trust list failed to
    /// load: invalid, with this error's code (e.g. `stale_trust_list`).
    pub fn to_check_result(&self) -> CheckResult {
        CheckResult::Invalid { code: self.code().to_owned(), reason: self.reason() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JwsEnvelope {
    protected: String,
    payload: String,
    signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProtectedHeader {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default = "default_b64")]
    b64: bool,
    #[serde(default)]
    crit: Vec<String>,
    x5c: Vec<String>,
}

fn default_b64() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrustListPayload {
    version: u32,
    sequence: u64,
    issued_at: DateTime<Utc>,
    next_update: DateTime<Utc>,
    roots: Vec<String>,
    issuer_certificates: Vec<String>,
    crls: Vec<String>,
}

/// Build and sign a trust list. `signer_chain` is the signer's certificate
/// (DER) first, then any intermediates; its first certificate must be
/// `signer_key`'s. Every entry is checked to be readable.
///
/// # Errors
/// [`TrustListError::Build`].
pub fn build_trust_list<'k>(
    contents: &TrustListContents,
    signer_key: impl Into<TrustSigningKey<'k>>,
    signer_chain: &[Vec<u8>],
) -> Result<Vec<u8>, TrustListError> {
    let signer_key = signer_key.into();
    let build = |detail: String| TrustListError::Build(detail);
    let signer_certificate_der = signer_chain.first().ok_or_else(|| build("no signer certificate".into()))?;
    let signer_certificate = ParsedCertificate::from_der(signer_certificate_der).map_err(|e| build(e.to_string()))?;
    if signer_certificate.public_key != Some(signer_key.public_key()) {
        return Err(build("the signing key does not match the signer certificate".into()));
    }
    if contents.issued_at >= contents.next_update {
        return Err(build("issuedAt must be before nextUpdate".into()));
    }
    for (index, root) in contents.roots.iter().enumerate() {
        let parsed = ParsedCertificate::from_der(root).map_err(|e| build(format!("root #{index}: {e}")))?;
        if !parsed.is_ca {
            return Err(build(format!("root #{index} is not a CA certificate")));
        }
    }
    for (index, certificate) in contents.issuer_certificates.iter().enumerate() {
        ParsedCertificate::from_der(certificate).map_err(|e| build(format!("issuer certificate #{index}: {e}")))?;
    }
    for (index, crl) in contents.crls.iter().enumerate() {
        ParsedCrl::from_der(crl).map_err(|e| build(format!("CRL #{index}: {e}")))?;
    }

    let encode_all = |items: &[Vec<u8>]| items.iter().map(|d| STANDARD.encode(d)).collect();
    let payload = TrustListPayload {
        version: TRUST_LIST_VERSION,
        sequence: contents.sequence,
        issued_at: contents.issued_at,
        next_update: contents.next_update,
        roots: encode_all(&contents.roots),
        issuer_certificates: encode_all(&contents.issuer_certificates),
        crls: encode_all(&contents.crls),
    };
    let payload_json = serde_json::to_string(&payload).map_err(|e| build(e.to_string()))?;
    let header = ProtectedHeader {
        alg: signer_key.algorithm().jws_alg().into(),
        typ: Some(TRUST_LIST_JWS_TYPE.into()),
        b64: false,
        crit: vec!["b64".into()],
        x5c: encode_all(signer_chain),
    };
    let header_json = serde_json::to_vec(&header).map_err(|e| build(e.to_string()))?;
    let protected = URL_SAFE_NO_PAD.encode(header_json);
    let signature = signer_key.sign_jws(&signing_input(&protected, &payload_json)).map_err(|e| build(e.to_string()))?;
    let envelope = JwsEnvelope { protected, payload: payload_json, signature: URL_SAFE_NO_PAD.encode(signature) };
    serde_json::to_vec(&envelope).map_err(|e| build(e.to_string()))
}

/// The latest issue time accepted at `now` (clock-skew tolerance).
fn latest_acceptable(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_add_signed(TRUST_LIST_CLOCK_SKEW).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn signing_input(protected: &str, payload: &str) -> Vec<u8> {
    let mut input = Vec::with_capacity(protected.len() + 1 + payload.len());
    input.extend_from_slice(protected.as_bytes());
    input.push(b'.');
    input.extend_from_slice(payload.as_bytes());
    input
}

/// A parsed, *not yet verified* trust list. Use [`TrustList::load`] (or
/// [`TrustList::verify`]) to get a [`TrustStore`]; nothing in here is
/// trustworthy before that.
#[derive(Debug, Clone)]
pub struct TrustList {
    protected: String,
    payload_json: String,
    algorithm: TrustAlgorithm,
    signature: Vec<u8>,
    signer_chain: Vec<Vec<u8>>,
    payload: TrustListPayload,
}

fn malformed(detail: impl Into<String>) -> TrustListError {
    TrustListError::Malformed(detail.into())
}

fn decode_all(items: &[String], what: &str) -> Result<Vec<Vec<u8>>, TrustListError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| STANDARD.decode(item).map_err(|_| malformed(format!("{what} #{index} is not base64"))))
        .collect()
}

impl TrustList {
    /// Parse a trust list without verifying it.
    ///
    /// # Errors
    /// [`TrustListError::Malformed`], [`TrustListError::UnsupportedVersion`].
    pub fn parse(bytes: &[u8]) -> Result<Self, TrustListError> {
        let ParsedEnvelope { envelope, algorithm, signer_chain, signature } =
            parse_envelope(bytes, TRUST_LIST_JWS_TYPE, false)?;
        if signer_chain.is_empty() {
            return Err(malformed("no signer certificate (x5c)"));
        }
        let payload: TrustListPayload =
            serde_json::from_str(&envelope.payload).map_err(|e| malformed(format!("payload: {e}")))?;
        if payload.version != TRUST_LIST_VERSION {
            return Err(TrustListError::UnsupportedVersion(payload.version));
        }
        Ok(Self {
            protected: envelope.protected,
            payload_json: envelope.payload,
            algorithm,
            signature,
            signer_chain,
            payload,
        })
    }

    /// The root certificates (DER) the list itself carries. Unverified: an
    /// issuer uses them only to read its *own* entry (which types it may
    /// issue) before signing; verifiers use their configured roots.
    ///
    /// # Errors
    /// [`TrustListError::Malformed`] for a root that is not base64.
    pub fn listed_roots(&self) -> Result<Vec<Vec<u8>>, TrustListError> {
        decode_all(&self.payload.roots, "root")
    }

    /// The sequence number (unverified until loaded).
    pub fn sequence(&self) -> u64 {
        self.payload.sequence
    }

    /// When the list was made (unverified until loaded).
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.payload.issued_at
    }

    /// When the next list is due (unverified until loaded).
    pub fn next_update(&self) -> DateTime<Utc> {
        self.payload.next_update
    }

    /// Parse and verify a trust list against the verifier's configured roots
    /// (DER), at `now`, refusing a list older than `max_age`. See the module
    /// docs for every check.
    ///
    /// # Errors
    /// Any [`TrustListError`]; `Stale` has the code `stale_trust_list`.
    pub fn load<R: AsRef<[u8]>>(
        bytes: &[u8],
        configured_roots: &[R],
        now: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<TrustStore, TrustListError> {
        Self::parse(bytes)?.verify(configured_roots, now, max_age)
    }

    /// Reopen a trust list this verifier accepted earlier and kept on its own
    /// disk, as of its own `issuedAt`: for what it revokes (a trust-list or
    /// bundle signer it names in a CRL must not sign the next list or bundle,
    /// even right after a restart) and its sequence. Its signature and chain
    /// are checked again (at that time); its age is not: a held list may be
    /// long past its `nextUpdate` and still says who was revoked.
    ///
    /// # Errors
    /// Any [`TrustListError`] but staleness.
    pub fn reopen_held<R: AsRef<[u8]>>(bytes: &[u8], configured_roots: &[R]) -> Result<TrustStore, TrustListError> {
        let list = Self::parse(bytes)?;
        let issued_at = list.payload.issued_at;
        list.verify(configured_roots, issued_at, Duration::MAX)
    }

    /// Verify a parsed trust list; see [`TrustList::load`].
    ///
    /// # Errors
    /// Any [`TrustListError`].
    pub fn verify<R: AsRef<[u8]>>(
        &self,
        configured_roots: &[R],
        now: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<TrustStore, TrustListError> {
        let roots = configured_root_entries(configured_roots)?;
        let anchors = trust_anchors(&roots)?;

        let signer_key = signer_key(&self.signer_chain, &roots, &anchors, now)?;
        if !signer_key.verify_jws(self.algorithm, &signing_input(&self.protected, &self.payload_json), &self.signature)
        {
            return Err(TrustListError::BadSignature);
        }

        let payload = &self.payload;
        let when = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        if payload.issued_at > latest_acceptable(now) {
            return Err(TrustListError::IssuedInFuture(payload.issued_at));
        }
        if now - payload.issued_at > max_age {
            return Err(TrustListError::Stale(format!(
                "issued {} — older than the {} hours this verifier accepts",
                when(payload.issued_at),
                max_age.num_hours()
            )));
        }
        if now > payload.next_update {
            return Err(TrustListError::Stale(format!("its next update was due {}", when(payload.next_update))));
        }

        let mut warnings = Vec::new();
        let mut roots = roots;
        let listed_roots: Vec<ParsedCertificate> = decode_all(&payload.roots, "root")?
            .iter()
            .enumerate()
            .filter_map(|(index, der_bytes)| match ParsedCertificate::from_der(der_bytes) {
                Ok(parsed) => Some(parsed),
                Err(e) => {
                    warnings.push(format!("root #{index} left out: {e}"));
                    None
                }
            })
            .filter(|listed| !roots.iter().any(|root| root.certificate.der == listed.der))
            .collect();

        for (index, crl_der) in decode_all(&payload.crls, "CRL")?.iter().enumerate() {
            attach_crl(index, crl_der, &mut roots, &listed_roots, now, &mut warnings)?;
        }
        // A trust-list signer its root's CRL in this very list revokes.
        let signer = signer_certificate(&self.signer_chain, &roots)?;
        if let Some(signer) = &signer {
            if roots.iter().any(|root| root.revocation_of(signer).is_some()) {
                return Err(TrustListError::UntrustedSigner(format!(
                    "{} is revoked by its root's CRL in this list",
                    signer.display_subject()
                )));
            }
        }

        let mut issuers = Vec::new();
        let mut issuers_by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, der_bytes) in
            decode_all(&payload.issuer_certificates, "issuer certificate")?.into_iter().enumerate()
        {
            let parsed = match ParsedCertificate::from_der(&der_bytes) {
                Ok(parsed) => parsed,
                Err(e) => {
                    warnings.push(format!("issuer certificate #{index} left out: {e}"));
                    continue;
                }
            };
            let Some(did) = parsed.certified_did.clone() else {
                warnings.push(format!(
                    "issuer certificate #{index} ({}) left out: not a P-256 or SM2 key with its own did:key as SAN",
                    parsed.display_subject()
                ));
                continue;
            };
            issuers_by_key.entry(did.clone()).or_default().push(issuers.len());
            issuers.push(IssuerEntry::new(parsed, did));
        }

        Ok(TrustStore::new(
            anchors,
            roots,
            listed_roots,
            issuers,
            issuers_by_key,
            payload.sequence,
            payload.issued_at,
            payload.next_update,
            warnings,
        )
        .with_signer(signer))
    }
}

/// The signer certificate of a verified signer chain, unless it is a
/// configured root (which no CRL of a trust list revokes).
fn signer_certificate(
    signer_chain: &[Vec<u8>],
    roots: &[RootEntry],
) -> Result<Option<ParsedCertificate>, TrustListError> {
    match signer_chain.first() {
        Some(der) if configured_root_of(roots, der).is_none() => {
            Ok(Some(ParsedCertificate::from_der(der).map_err(|e| TrustListError::UntrustedSigner(e.to_string()))?))
        }
        _ => Ok(None),
    }
}

/// The configured root a signer certificate is: the same certificate, or
/// one with the same subject and key (the department re-signed its root, for
/// instance to bound the types it authorises, and a verifier still holds the
/// other copy). Only the configured root's key and entry are used after.
fn configured_root_of<'r>(roots: &'r [RootEntry], signer_der: &[u8]) -> Option<&'r RootEntry> {
    if let Some(root) = roots.iter().find(|root| root.certificate.der == signer_der) {
        return Some(root);
    }
    let signer = ParsedCertificate::from_der(signer_der).ok().filter(|signer| signer.is_ca)?;
    let signer_tbs = &signer.raw.tbs_certificate;
    roots.iter().find(|root| {
        let tbs = &root.certificate.raw.tbs_certificate;
        tbs.subject == signer_tbs.subject && tbs.subject_public_key_info == signer_tbs.subject_public_key_info
    })
}

/// The key the list must be signed with: a configured root's (when the
/// signer certificate is one), or a trust-list signer certificate's that
/// chains to a configured root now.
fn signer_key(
    signer_chain: &[Vec<u8>],
    roots: &[RootEntry],
    anchors: &[rustls_pki_types::TrustAnchor<'static>],
    now: DateTime<Utc>,
) -> Result<TrustPublicKey, TrustListError> {
    let signer_der = signer_chain.first().ok_or_else(|| malformed("no signer certificate (x5c)"))?;
    if let Some(root) = configured_root_of(roots, signer_der) {
        return root
            .certificate
            .public_key
            .clone()
            .ok_or_else(|| TrustListError::InvalidConfiguration(format!("root {} is not P-256 or SM2", root.name)));
    }
    let signer = ParsedCertificate::from_der(signer_der).map_err(|e| TrustListError::UntrustedSigner(e.to_string()))?;
    let signer_name = signer.display_subject();
    let seconds =
        u64::try_from(now.timestamp()).map_err(|_| TrustListError::UntrustedSigner("clock before 1970".into()))?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
    let end_entity_der = CertificateDer::from(signer_der.as_slice());
    let end_entity = webpki::EndEntityCert::try_from(&end_entity_der)
        .map_err(|e| TrustListError::UntrustedSigner(format!("{signer_name}: {e:?}")))?;
    let intermediates: Vec<CertificateDer<'_>> =
        signer_chain.iter().skip(1).map(|der_bytes| CertificateDer::from(der_bytes.as_slice())).collect();
    end_entity
        .verify_for_usage(
            WEBPKI_ALGORITHMS,
            anchors,
            &intermediates,
            time,
            webpki::KeyUsage::required(oid::TRUST_LIST_SIGNING_EKU_OID_DER),
            None,
            None,
        )
        .map_err(|e| {
            TrustListError::UntrustedSigner(format!(
                "{signer_name} is not a trust-list signer certified by a configured root ({e:?})"
            ))
        })?;
    signer.public_key.ok_or_else(|| TrustListError::UntrustedSigner(format!("{signer_name}: not P-256 or SM2")))
}

/// The webpki trust anchors of the configured roots.
fn trust_anchors(roots: &[RootEntry]) -> Result<Vec<rustls_pki_types::TrustAnchor<'static>>, TrustListError> {
    roots
        .iter()
        .map(|root| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(root.certificate.der.as_slice()))
                .map(|anchor| anchor.to_owned())
                .map_err(|e| TrustListError::InvalidConfiguration(format!("root {}: {e:?}", root.name)))
        })
        .collect()
}

/// A department JWS envelope, parsed: the envelope, the signer chain (DER)
/// and the signature bytes. `typ` must match when present (and be present
/// when `typ_required`).
fn parse_envelope(bytes: &[u8], typ: &str, typ_required: bool) -> Result<ParsedEnvelope, TrustListError> {
    let envelope: JwsEnvelope =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("not a JWS JSON object: {e}")))?;
    let header_json =
        URL_SAFE_NO_PAD.decode(&envelope.protected).map_err(|_| malformed("protected header is not base64url"))?;
    let header: ProtectedHeader =
        serde_json::from_slice(&header_json).map_err(|e| malformed(format!("protected header: {e}")))?;
    let Some(algorithm) = TrustAlgorithm::from_jws_alg(&header.alg) else {
        return Err(malformed(format!(
            "algorithm {} is neither ES256 nor SM2SM3",
            header.alg.chars().take(40).collect::<String>()
        )));
    };
    if header.b64 || header.crit != ["b64"] {
        return Err(malformed("the header must have b64:false and crit:[\"b64\"] (unencoded payload)"));
    }
    match header.typ.as_deref() {
        Some(t) if t != typ => return Err(malformed(format!("not a {typ} (typ)"))),
        None if typ_required => return Err(malformed(format!("not a {typ} (typ)"))),
        _ => {}
    }
    let signer_chain = decode_all(&header.x5c, "x5c certificate")?;
    let signature = URL_SAFE_NO_PAD.decode(&envelope.signature).map_err(|_| malformed("signature is not base64url"))?;
    Ok(ParsedEnvelope { envelope, algorithm, signer_chain, signature })
}

/// What [`parse_envelope`] returns.
struct ParsedEnvelope {
    envelope: JwsEnvelope,
    /// The header's `alg`; must be the signer key's algorithm.
    algorithm: TrustAlgorithm,
    signer_chain: Vec<Vec<u8>>,
    signature: Vec<u8>,
}

fn configured_root_entries<R: AsRef<[u8]>>(configured_roots: &[R]) -> Result<Vec<RootEntry>, TrustListError> {
    if configured_roots.is_empty() {
        return Err(TrustListError::InvalidConfiguration("no root certificates configured".into()));
    }
    let mut roots = configured_roots
        .iter()
        .enumerate()
        .map(|(index, der_bytes)| {
            let certificate = ParsedCertificate::from_der(der_bytes.as_ref())
                .map_err(|e| TrustListError::InvalidConfiguration(format!("configured root #{index}: {e}")))?;
            if !certificate.is_ca || certificate.public_key.is_none() {
                return Err(TrustListError::InvalidConfiguration(format!(
                    "configured root #{index} ({}) is not a P-256 or SM2 CA certificate",
                    certificate.display_subject()
                )));
            }
            Ok(RootEntry::new(certificate))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RootEntry::bound_by_namesakes(&mut roots);
    Ok(roots)
}

/// Verify a CRL against the configured root it names and attach its entries.
fn attach_crl(
    index: usize,
    crl_der: &[u8],
    roots: &mut [RootEntry],
    listed_roots: &[ParsedCertificate],
    now: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> Result<(), TrustListError> {
    let crl = ParsedCrl::from_der(crl_der).map_err(|e| TrustListError::InvalidCrl(format!("CRL #{index}: {e}")))?;
    let crl_name = asn1::display_name(&crl.issuer);
    let mut same_name =
        roots.iter_mut().filter(|root| root.certificate.raw.tbs_certificate.subject == crl.issuer).peekable();
    if same_name.peek().is_none() {
        if listed_roots.iter().any(|root| root.raw.tbs_certificate.subject == crl.issuer) {
            warnings.push(format!("CRL #{index} of {crl_name} ignored: that root is not configured here"));
            return Ok(());
        }
        return Err(TrustListError::InvalidCrl(format!(
            "CRL #{index} is issued by {crl_name}, which is not a known root"
        )));
    }
    let signer = same_name.find(|root| {
        root.certificate.public_key.as_ref().is_some_and(|key| asn1::verify_signed_der(crl_der, key).is_ok())
    });
    let Some(root) = signer else {
        return Err(TrustListError::InvalidCrl(format!(
            "CRL #{index} claims to be from {crl_name} but its signature does not verify with that root's key"
        )));
    };
    if crl.this_update > latest_acceptable(now) {
        return Err(TrustListError::InvalidCrl(format!("CRL #{index} of {crl_name} is dated in the future")));
    }
    if let Some(next_update) = crl.next_update {
        if now > next_update {
            return Err(TrustListError::Stale(format!(
                "the revocation list of {crl_name} was due for renewal {}",
                next_update.format("%Y-%m-%d %H:%M UTC")
            )));
        }
    }
    root.add_revocations(crl.revocations, crl.this_update);
    Ok(())
}

/// Sign `payload_json` as a department JWS of type `typ`: the trust list's
/// envelope (flattened JSON, unencoded payload, ES256, `x5c`), for other
/// documents the departments sign (the verifier bundle).
pub(crate) fn sign_department_jws<'k>(
    typ: &str,
    payload_json: &str,
    signer_key: impl Into<TrustSigningKey<'k>>,
    signer_chain: &[Vec<u8>],
) -> Result<Vec<u8>, TrustListError> {
    let signer_key = signer_key.into();
    let build = |detail: String| TrustListError::Build(detail);
    let signer_certificate_der = signer_chain.first().ok_or_else(|| build("no signer certificate".into()))?;
    let signer_certificate = ParsedCertificate::from_der(signer_certificate_der).map_err(|e| build(e.to_string()))?;
    if signer_certificate.public_key != Some(signer_key.public_key()) {
        return Err(build("the signing key does not match the signer certificate".into()));
    }
    let header = ProtectedHeader {
        alg: signer_key.algorithm().jws_alg().into(),
        typ: Some(typ.into()),
        b64: false,
        crit: vec!["b64".into()],
        x5c: signer_chain.iter().map(|d| STANDARD.encode(d)).collect(),
    };
    let header_json = serde_json::to_vec(&header).map_err(|e| build(e.to_string()))?;
    let protected = URL_SAFE_NO_PAD.encode(header_json);
    let signature = signer_key.sign_jws(&signing_input(&protected, payload_json)).map_err(|e| build(e.to_string()))?;
    let envelope =
        JwsEnvelope { protected, payload: payload_json.to_owned(), signature: URL_SAFE_NO_PAD.encode(signature) };
    serde_json::to_vec(&envelope).map_err(|e| build(e.to_string()))
}

/// A department JWS whose signature verified: its payload JSON and the
/// trust-list signer certificate that signed it (`None` when a configured
/// root signed it), to be checked against the CRLs of a trust list.
pub(crate) struct DepartmentDocument {
    pub(crate) payload: String,
    pub(crate) signer: Option<ParsedCertificate>,
}

/// Verify a department JWS of type `typ` (see [`sign_department_jws`]): the
/// signer is a configured root, or chains to one now with the trust-list
/// signing EKU, and the signature verifies. Whether a CRL revokes the signer
/// is for the caller, who holds the trust list that carries the CRLs.
pub(crate) fn open_department_jws<R: AsRef<[u8]>>(
    bytes: &[u8],
    typ: &str,
    configured_roots: &[R],
    now: DateTime<Utc>,
) -> Result<DepartmentDocument, TrustListError> {
    let ParsedEnvelope { envelope, algorithm, signer_chain, signature } = parse_envelope(bytes, typ, true)?;
    let roots = configured_root_entries(configured_roots)?;
    let anchors = trust_anchors(&roots)?;
    let key = signer_key(&signer_chain, &roots, &anchors, now)?;
    if !key.verify_jws(algorithm, &signing_input(&envelope.protected, &envelope.payload), &signature) {
        return Err(TrustListError::BadSignature);
    }
    let signer = signer_certificate(&signer_chain, &roots)?;
    Ok(DepartmentDocument { payload: envelope.payload, signer })
}
