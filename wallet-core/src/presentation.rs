//! The holder-bound presentation QR: the compact credential plus a short
//! signature by the wallet's device key over (credential, time, challenge), so
//! a screenshot of an old code does not pass.
//!
//! # Wire format, version 1
//!
//! ```text
//! qr-text   = "EP1:" base45(cbor-array)
//! cbor-array = [1, bstr credential, int t, tstr challenge / null, bstr signature]
//! ```
//!
//! * `credential` is the compact CBOR document of the credential
//!   ([`crate::compact::encode_cbor`], no header, no DEFLATE);
//! * `t` is when the wallet made the presentation (Unix seconds);
//! * `challenge` is the inspector's challenge, when it gave one (at most
//!   [`MAX_CHALLENGE_LEN`] bytes), else `null`;
//! * `signature` is ES256 (64 bytes, `r ‖ s`) by the device key named in the
//!   credential's `credentialSubject.id` over
//!   `"ecert-presentation/v1" 0x00 ‖ SHA-256(credential) ‖ t (i64 BE) ‖ len(challenge) (u32 BE) ‖ challenge`.
//!
//! The signature covers the exact credential bytes carried, so it cannot be
//! moved to another credential. A verifier accepts `t` within
//! [`PresentationPolicy::max_age`] (60 s) back and [`PresentationPolicy::skew`]
//! (30 s) ahead of its clock; when it asked a challenge, the challenge must match.

use chrono::{DateTime, Utc};
use ciborium::Value as Cbor;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::compact::{self, CompactError};
use crate::credential_type::TypeRegistry;
use crate::holder::{bound_key, verify_es256, DeviceKey};
use crate::localized::Localized;
use crate::report::{CheckResult, Warning};

/// Prefix of the presentation QR text.
pub const PRESENTATION_PREFIX: &str = "EP1:";
/// Longest inspector challenge, in bytes.
pub const MAX_CHALLENGE_LEN: usize = 64;
const DOMAIN_TAG: &[u8] = b"ecert-presentation/v1\0";
const FORMAT_VERSION: u64 = 1;

/// Why a presentation text cannot be read (or made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentationError {
    /// The text does not start with [`PRESENTATION_PREFIX`].
    #[error("not a presentation: the text does not start with {PRESENTATION_PREFIX}")]
    WrongPrefix,
    /// Base45 or the embedded credential cannot be decoded.
    #[error(transparent)]
    Compact(#[from] CompactError),
    /// The envelope is not `[1, bstr, int, tstr/null, bstr(64)]`.
    #[error("malformed presentation: {0}")]
    Malformed(&'static str),
    /// The credential is not bound to a device key, so it cannot be presented with one.
    #[error("the credential is not bound to a device key")]
    NotBound,
    /// The credential is bound to a different device key than this wallet's.
    #[error("the credential is bound to another device key")]
    OtherDevice,
}

impl PresentationError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongPrefix => "wrong_prefix",
            Self::Compact(e) => e.code(),
            Self::Malformed(_) => "malformed_presentation",
            Self::NotBound => "not_holder_bound",
            Self::OtherDevice => "presentation_wrong_device_key",
        }
    }
}

/// What a presentation is fresh against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// The time it is made (a code the phone refreshes every minute).
    At(DateTime<Utc>),
    /// The time it is made and the inspector's challenge (e.g. shown on the inspector's screen).
    Challenge(DateTime<Utc>, String),
}

/// A decoded presentation: the credential and what the device key signed.
#[derive(Debug, Clone, PartialEq)]
pub struct HolderPresentation {
    /// The credential, decoded from `credential_cbor`.
    pub credential: Value,
    credential_cbor: Vec<u8>,
    /// When the wallet made it (Unix seconds).
    pub created: i64,
    /// The inspector's challenge, if any.
    pub challenge: Option<String>,
    signature: Vec<u8>,
}

fn signed_message(credential_cbor: &[u8], created: i64, challenge: Option<&str>) -> Vec<u8> {
    let challenge = challenge.unwrap_or("").as_bytes();
    let mut m = Vec::with_capacity(DOMAIN_TAG.len() + 32 + 8 + 4 + challenge.len());
    m.extend_from_slice(DOMAIN_TAG);
    m.extend_from_slice(&Sha256::digest(credential_cbor));
    m.extend_from_slice(&created.to_be_bytes());
    m.extend_from_slice(&u32::try_from(challenge.len()).unwrap_or(u32::MAX).to_be_bytes());
    m.extend_from_slice(challenge);
    m
}

/// Make the presentation QR text of a holder-bound credential with the wallet's device key.
///
/// # Errors
/// [`PresentationError::NotBound`] / [`PresentationError::OtherDevice`] when the
/// credential is not bound to `device`; a challenge over [`MAX_CHALLENGE_LEN`];
/// a credential the compact form cannot carry.
pub fn present(vc: &Value, device: &DeviceKey, freshness: &Freshness) -> Result<String, PresentationError> {
    present_with(&TypeRegistry::default(), vc, device, freshness)
}

/// [`present`] with the compact-QR term codes of `types`.
///
/// # Errors
/// As [`present`].
pub fn present_with(
    types: &TypeRegistry,
    vc: &Value,
    device: &DeviceKey,
    freshness: &Freshness,
) -> Result<String, PresentationError> {
    match bound_key(vc) {
        None | Some(Err(_)) => return Err(PresentationError::NotBound),
        Some(Ok(key)) if key != device.public_key() => return Err(PresentationError::OtherDevice),
        Some(Ok(_)) => {}
    }
    let (at, challenge) = match freshness {
        Freshness::At(at) => (*at, None),
        Freshness::Challenge(at, c) if c.len() <= MAX_CHALLENGE_LEN => (*at, Some(c.as_str())),
        Freshness::Challenge(..) => return Err(PresentationError::Malformed("challenge too long")),
    };
    let credential_cbor = compact::encode_cbor_with(types, vc)?;
    let created = at.timestamp();
    let signature = device.sign(&signed_message(&credential_cbor, created, challenge));
    let envelope = Cbor::Array(vec![
        Cbor::Integer(FORMAT_VERSION.into()),
        Cbor::Bytes(credential_cbor),
        Cbor::Integer(created.into()),
        challenge.map_or(Cbor::Null, |c| Cbor::Text(c.to_owned())),
        Cbor::Bytes(signature.to_vec()),
    ]);
    let mut bytes = Vec::new();
    ciborium::into_writer(&envelope, &mut bytes)
        .map_err(|e| PresentationError::Compact(CompactError::Unrepresentable(e.to_string())))?;
    let text = format!("{PRESENTATION_PREFIX}{}", compact::base45_encode(&bytes));
    if text.len() > compact::MAX_QR_TEXT_LEN {
        return Err(CompactError::TooLarge.into());
    }
    Ok(text)
}

/// Read a presentation QR text (checks nothing but its form).
///
/// # Errors
/// [`PresentationError`] when it is not one.
pub fn decode_presentation(text: &str) -> Result<HolderPresentation, PresentationError> {
    decode_presentation_with(&TypeRegistry::default(), text)
}

/// [`decode_presentation`] with the compact-QR term codes of `types`.
///
/// # Errors
/// As [`decode_presentation`].
pub fn decode_presentation_with(types: &TypeRegistry, text: &str) -> Result<HolderPresentation, PresentationError> {
    let body = text.strip_prefix(PRESENTATION_PREFIX).ok_or(PresentationError::WrongPrefix)?;
    if text.len() > compact::MAX_QR_TEXT_LEN {
        return Err(CompactError::TooLarge.into());
    }
    let bytes = compact::base45_decode(body)?;
    let envelope: Cbor =
        ciborium::from_reader(bytes.as_slice()).map_err(|_| PresentationError::Malformed("not CBOR"))?;
    let Cbor::Array(items) = envelope else {
        return Err(PresentationError::Malformed("not an array"));
    };
    let [version, credential, created, challenge, signature] =
        <[Cbor; 5]>::try_from(items).map_err(|_| PresentationError::Malformed("expected five items"))?;
    if version.as_integer().and_then(|v| u64::try_from(v).ok()) != Some(FORMAT_VERSION) {
        return Err(PresentationError::Malformed("unsupported version"));
    }
    let Cbor::Bytes(credential_cbor) = credential else {
        return Err(PresentationError::Malformed("the credential must be a byte string"));
    };
    let created = created
        .as_integer()
        .and_then(|t| i64::try_from(t).ok())
        .ok_or(PresentationError::Malformed("the time must be an integer"))?;
    let challenge = match challenge {
        Cbor::Null => None,
        Cbor::Text(c) if c.len() <= MAX_CHALLENGE_LEN => Some(c),
        _ => return Err(PresentationError::Malformed("the challenge must be short text or null")),
    };
    let Cbor::Bytes(signature) = signature else {
        return Err(PresentationError::Malformed("the signature must be a byte string"));
    };
    if signature.len() != 64 {
        return Err(PresentationError::Malformed("the signature must be 64 bytes"));
    }
    let credential = compact::decode_cbor_with(types, &credential_cbor)?;
    Ok(HolderPresentation { credential, credential_cbor, created, challenge, signature })
}

/// How fresh a presentation must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationPolicy {
    /// Oldest accepted presentation (default 60 s).
    pub max_age: chrono::Duration,
    /// How far ahead of the verifier's clock a presentation may be (default 30 s).
    pub skew: chrono::Duration,
    /// The challenge the inspector gave, if it gave one.
    pub expected_challenge: Option<String>,
}

impl Default for PresentationPolicy {
    fn default() -> Self {
        Self { max_age: chrono::Duration::seconds(60), skew: chrono::Duration::seconds(30), expected_challenge: None }
    }
}

fn invalid(code: &str, zh: &str, en: &str) -> CheckResult {
    CheckResult::Invalid { code: code.to_owned(), reason: Localized::new(zh, en) }
}

/// The `holderBinding` check of a credential, given the presentation it came
/// in (if any): `unchecked not_holder_bound` for an unbound credential;
/// `unchecked no_presentation` plus a warning for a bound credential shown
/// without one (`invalid presentation_challenge_missing` when the policy
/// expects a challenge: the inspector asked for a live answer); else `valid` or `invalid` with `presentation_expired`,
/// `presentation_from_future`, `presentation_wrong_device_key`,
/// `presentation_challenge_mismatch`, `presentation_credential_mismatch`,
/// `unreadable_holder_key`.
pub fn check_holder_binding(
    vc: &Value,
    presentation: Option<&HolderPresentation>,
    policy: &PresentationPolicy,
    now: DateTime<Utc>,
    warnings: &mut Vec<Warning>,
) -> CheckResult {
    let key = match bound_key(vc) {
        None => {
            return CheckResult::Unchecked {
                code: "not_holder_bound".into(),
                reason: Localized::new("凭证未绑定持有人设备", "the credential is not bound to a holder's device"),
            }
        }
        Some(Err(_)) => {
            return invalid(
                "unreadable_holder_key",
                "凭证绑定的持有人密钥无法识别",
                "the holder key the credential is bound to cannot be read",
            )
        }
        Some(Ok(key)) => key,
    };
    let Some(p) = presentation else {
        // The inspector asked for a live answer (a challenge): the plain
        // credential (a screenshot, a photo of someone else's QR) cannot give
        // one. Read as "not presented", it passed the challenge mode.
        if policy.expected_challenge.is_some() {
            return invalid(
                "presentation_challenge_missing",
                "本次核验要求持有人设备回应挑战码，出示的却是凭证本身（可能是截图）：请持有人用设备出示",
                "this check asked for the holder's device to answer a challenge, but the credential itself was shown \
                 (it may be a screenshot): ask the holder to present it from their device",
            );
        }
        let reason = Localized::new(
            "出示的是凭证本身而非持有人设备实时签名的出示码：无法确认出示者就是持有人（可能是截图）",
            "the credential was shown without the holder's live presentation code: that the presenter holds it is not established (it may be a screenshot)",
        );
        warnings.push(Warning { code: "holder_binding_not_presented".into(), message: reason.clone() });
        return CheckResult::Unchecked { code: "no_presentation".into(), reason };
    };
    if p.credential != *vc {
        return invalid(
            "presentation_credential_mismatch",
            "出示码与所核验的凭证不一致",
            "the presentation is for another credential",
        );
    }
    if !verify_es256(&key, &signed_message(&p.credential_cbor, p.created, p.challenge.as_deref()), &p.signature) {
        return invalid(
            "presentation_wrong_device_key",
            "出示码不是由凭证绑定的持有人设备签名的",
            "the presentation was not signed by the device key the credential is bound to",
        );
    }
    let now_s = now.timestamp();
    // Saturating: `created` is any i64 the presenter chose (i64::MIN overflowed).
    if p.created > now_s.saturating_add(policy.skew.num_seconds()) {
        return invalid(
            "presentation_from_future",
            "出示码的时间晚于本机时间，请核对时钟",
            "the presentation is dated in the future; check the clocks",
        );
    }
    if p.created < now_s.saturating_sub(policy.max_age.num_seconds()) {
        let age = now_s.saturating_sub(p.created);
        return CheckResult::Invalid {
            code: "presentation_expired".into(),
            reason: Localized::new(
                format!("出示码已过期（{age} 秒前生成），请持有人刷新后重新出示"),
                format!("the presentation code is {age} s old (expired); ask the holder to refresh it"),
            ),
        };
    }
    if let Some(expected) = &policy.expected_challenge {
        if p.challenge.as_deref() != Some(expected.as_str()) {
            return invalid(
                "presentation_challenge_mismatch",
                "出示码的挑战值与本次核验不符：可能是重放",
                "the presentation answers another challenge: it may be replayed",
            );
        }
    }
    CheckResult::Valid
}

/// What an inspector scanned: a credential, and the presentation it came in
/// when it was a presentation QR.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The credential.
    pub credential: Value,
    /// The presentation, for an `EP1:` text.
    pub presentation: Option<std::sync::Arc<HolderPresentation>>,
}

/// Read a scanned QR text: the plain credential form (`EC1:`) or the holder
/// presentation form (`EP1:`).
///
/// # Errors
/// [`PresentationError`] (a compact error for an unreadable `EC1:` text, `wrong_prefix` for neither form).
pub fn read_scanned(text: &str) -> Result<Scanned, PresentationError> {
    read_scanned_with(&TypeRegistry::default(), text)
}

/// [`read_scanned`] with the compact-QR term codes of `types`.
///
/// # Errors
/// As [`read_scanned`].
pub fn read_scanned_with(types: &TypeRegistry, text: &str) -> Result<Scanned, PresentationError> {
    let text = text.trim();
    if text.starts_with(PRESENTATION_PREFIX) {
        let p = decode_presentation_with(types, text)?;
        return Ok(Scanned { credential: p.credential.clone(), presentation: Some(std::sync::Arc::new(p)) });
    }
    Ok(Scanned { credential: compact::decode_credential_with(types, text)?, presentation: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "EP1:", "EP1:%%%", "EP1:00", "EC1:", "XYZ"] {
            assert!(read_scanned(text).is_err(), "{text}");
        }
        // A well-formed envelope with a wrong version / short signature.
        let mut bytes = Vec::new();
        let env = Cbor::Array(vec![
            Cbor::Integer(2.into()),
            Cbor::Bytes(vec![]),
            Cbor::Integer(0.into()),
            Cbor::Null,
            Cbor::Bytes(vec![0; 64]),
        ]);
        ciborium::into_writer(&env, &mut bytes).unwrap();
        let text = format!("{PRESENTATION_PREFIX}{}", compact::base45_encode(&bytes));
        assert_eq!(decode_presentation(&text).unwrap_err().code(), "malformed_presentation");
    }

    /// A presenter owns both keys of a self-made bound credential, so it can
    /// sign any `created`: the extremes are refused, never an overflow panic
    /// (a 500 at the verifier, `internal_error` through the C ABI).
    #[test]
    fn attack_a_presentation_dated_at_the_ends_of_time_is_refused_without_overflow() {
        let device = crate::holder::DeviceKey::generate();
        let vc = serde_json::json!({"credentialSubject": {"id": device.did()}});
        let cbor = vec![1, 2, 3];
        let now = DateTime::from_timestamp(1_780_000_000, 0).expect("a time");
        for (created, expected) in [(i64::MIN, "presentation_expired"), (i64::MAX, "presentation_from_future")] {
            let p = HolderPresentation {
                credential: vc.clone(),
                signature: device.sign(&signed_message(&cbor, created, None)).to_vec(),
                credential_cbor: cbor.clone(),
                created,
                challenge: None,
            };
            let result = check_holder_binding(&vc, Some(&p), &PresentationPolicy::default(), now, &mut Vec::new());
            assert_eq!(result.invalid_code(), Some(expected), "{created}: {result:?}");
        }
    }
}
