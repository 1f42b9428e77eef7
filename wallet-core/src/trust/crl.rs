//! Certificate revocation lists (X.509 v2 CRLs, RFC 5280 section 5), one per
//! department root.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::Version;

use super::algorithm::TrustSigningKey;
use super::asn1;
use super::certificate::{certificate_pem_to_der, malformed, serial_number, CertificateError, ParsedCertificate};
use super::oid;

/// PEM label of a CRL.
pub const CRL_PEM_LABEL: &str = "X509 CRL";

/// Why a certificate was revoked (RFC 5280 `CRLReason`, without
/// `removeFromCRL`, which only delta CRLs use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RevocationReason {
    /// No reason given (encoded by leaving reasonCode out, as RFC 5280 asks).
    Unspecified,
    /// The private key was (or may have been) compromised.
    KeyCompromise,
    /// The CA's key was compromised.
    CaCompromise,
    /// The holder's name or affiliation changed.
    AffiliationChanged,
    /// Replaced by a new certificate (key rotation).
    Superseded,
    /// The holder stopped issuing.
    CessationOfOperation,
    /// Suspended.
    CertificateHold,
    /// The authorisation was withdrawn.
    PrivilegeWithdrawn,
    /// The attribute authority was compromised.
    AaCompromise,
}

impl RevocationReason {
    /// Does this revocation void signatures made *before* it, from the
    /// invalidity date (or the revocation time) on? True for the compromise
    /// reasons: someone else may hold the key, and a signer controls the
    /// signing time it claims. The other reasons void only signatures made
    /// after the revocation time, so credentials signed earlier stay valid
    /// (this is how a key is rotated without reissuing credentials).
    pub fn voids_earlier_signatures(self) -> bool {
        matches!(self, Self::KeyCompromise | Self::CaCompromise | Self::AaCompromise)
    }

    /// Does this revocation say the department no longer vouches for the
    /// signer's conduct (its authorisation withdrawn, or held while under
    /// review), while the signer may still hold its key? Signatures it
    /// claims to have made before then stand only on the shared log's
    /// evidence of when they were made: the signer chooses the time it
    /// claims (`proof.created`), so without that evidence a withdrawn clinic
    /// could go on issuing, dated the day before. Rotation (`superseded`)
    /// and closing down (`cessationOfOperation`) are routine and leave
    /// earlier credentials standing offline.
    pub fn distrusts_the_signer(self) -> bool {
        matches!(self, Self::PrivilegeWithdrawn | Self::CertificateHold)
    }

    fn to_x509(self) -> CrlReason {
        match self {
            Self::Unspecified => CrlReason::Unspecified,
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::CaCompromise => CrlReason::CaCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::CertificateHold => CrlReason::CertificateHold,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            Self::AaCompromise => CrlReason::AaCompromise,
        }
    }

    fn from_x509(reason: CrlReason) -> Option<Self> {
        Some(match reason {
            CrlReason::Unspecified => Self::Unspecified,
            CrlReason::KeyCompromise => Self::KeyCompromise,
            CrlReason::CaCompromise => Self::CaCompromise,
            CrlReason::AffiliationChanged => Self::AffiliationChanged,
            CrlReason::Superseded => Self::Superseded,
            CrlReason::CessationOfOperation => Self::CessationOfOperation,
            CrlReason::CertificateHold => Self::CertificateHold,
            CrlReason::PrivilegeWithdrawn => Self::PrivilegeWithdrawn,
            CrlReason::AaCompromise => Self::AaCompromise,
            CrlReason::RemoveFromCRL => return None,
        })
    }

    /// Stable name (camelCase, as in RFC 5280).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
        }
    }
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationEntry {
    /// The certificate's serial number (unsigned big-endian octets).
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: DateTime<Utc>,
    /// Why.
    pub reason: RevocationReason,
    /// For key compromise: since when the key is known or suspected to be
    /// compromised (may be earlier than `revoked_at`).
    pub invalidity_date: Option<DateTime<Utc>>,
}

/// Create a v2 CRL (DER) for a root: issuer = the root's subject, signed
/// with `root_key` (ECDSA P-256/SHA-256 or SM2/SM3, as the root). CRL extensions: authorityKeyIdentifier
/// and cRLNumber (the Unix time of `this_update`, so later CRLs have larger
/// numbers). Each entry carries its revocation time, a reasonCode (left out
/// for `Unspecified`) and optionally an invalidityDate.
///
/// # Errors
/// [`CertificateError::InvalidCrl`] for times out of order, duplicate serials
/// or revocations after `this_update`; [`CertificateError::RootKeyMismatch`].
pub fn create_crl<'k>(
    root_cert_pem: &str,
    root_key: impl Into<TrustSigningKey<'k>>,
    entries: &[RevocationEntry],
    this_update: DateTime<Utc>,
    next_update: DateTime<Utc>,
) -> Result<Vec<u8>, CertificateError> {
    if this_update >= next_update {
        return Err(CertificateError::InvalidCrl("thisUpdate must be before nextUpdate".into()));
    }
    let root = ParsedCertificate::from_der(&certificate_pem_to_der(root_cert_pem)?)?;
    let root_key = root_key.into();
    if root.public_key.as_ref() != Some(&root_key.public_key()) {
        return Err(CertificateError::RootKeyMismatch);
    }
    if !root.is_ca {
        return Err(CertificateError::NotACertificateAuthority);
    }
    let time = |instant: DateTime<Utc>| {
        asn1::x509_time(instant).ok_or_else(|| CertificateError::InvalidCrl("time before 1970".into()))
    };

    let mut revoked = Vec::with_capacity(entries.len());
    let mut seen = std::collections::HashSet::new();
    for entry in entries {
        let serial = serial_number(&entry.serial)?;
        if !seen.insert(serial.as_bytes().to_vec()) {
            return Err(CertificateError::InvalidCrl(format!("serial {} is listed twice", asn1::serial_hex(&serial))));
        }
        if entry.revoked_at > this_update {
            return Err(CertificateError::InvalidCrl(format!(
                "serial {} is revoked after thisUpdate",
                asn1::serial_hex(&serial)
            )));
        }
        let mut entry_extensions = Vec::new();
        if entry.reason != RevocationReason::Unspecified {
            entry_extensions.push(Extension {
                extn_id: oid::CE_CRL_REASON,
                critical: false,
                extn_value: OctetString::new(entry.reason.to_x509().to_der()?)?,
            });
        }
        if let Some(invalidity_date) = entry.invalidity_date {
            let generalized = asn1::generalized_time(invalidity_date)
                .ok_or_else(|| CertificateError::InvalidCrl("time before 1970".into()))?;
            entry_extensions.push(Extension {
                extn_id: oid::CE_INVALIDITY_DATE,
                critical: false,
                extn_value: OctetString::new(generalized.to_der()?)?,
            });
        }
        revoked.push(RevokedCert {
            serial_number: serial,
            revocation_date: time(entry.revoked_at)?,
            crl_entry_extensions: (!entry_extensions.is_empty()).then_some(entry_extensions),
        });
    }

    let authority_key_id = root
        .subject_key_identifier
        .clone()
        .unwrap_or_else(|| asn1::key_identifier(&root.raw.tbs_certificate.subject_public_key_info));
    let crl_number =
        u64::try_from(this_update.timestamp()).map_err(|_| CertificateError::InvalidCrl("time before 1970".into()))?;
    let crl_extensions = vec![
        Extension {
            extn_id: oid::CE_AUTHORITY_KEY_IDENTIFIER,
            critical: false,
            extn_value: OctetString::new(
                AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(authority_key_id)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                }
                .to_der()?,
            )?,
        },
        Extension {
            extn_id: oid::CE_CRL_NUMBER,
            critical: false,
            extn_value: OctetString::new(CrlNumber(der::asn1::Uint::new(&crl_number.to_be_bytes())?).to_der()?)?,
        },
    ];
    let tbs_cert_list = TbsCertList {
        version: Version::V2,
        signature: root_key.algorithm().identifier(),
        issuer: root.raw.tbs_certificate.subject.clone(),
        this_update: time(this_update)?,
        next_update: Some(time(next_update)?),
        // RFC 5280: absent, not empty, when nothing is revoked.
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(crl_extensions),
    };
    let signature = root_key.sign_x509(&tbs_cert_list.to_der()?)?;
    let signature_algorithm = root_key.algorithm().identifier();
    let crl = CertificateList { tbs_cert_list, signature_algorithm, signature };
    Ok(crl.to_der()?)
}

/// PEM-encode a DER CRL.
///
/// # Errors
/// Only if encoding fails.
pub fn crl_der_to_pem(crl_der: &[u8]) -> Result<String, CertificateError> {
    Ok(asn1::pem_encode(CRL_PEM_LABEL, crl_der)?)
}

/// The DER of a PEM CRL.
///
/// # Errors
/// [`CertificateError::InvalidPem`] when it is not an `X509 CRL` PEM block.
pub fn crl_pem_to_der(crl_pem: &str) -> Result<Vec<u8>, CertificateError> {
    asn1::pem_decode(crl_pem, CRL_PEM_LABEL).ok_or(CertificateError::InvalidPem { expected: CRL_PEM_LABEL })
}

/// What a revocation means for signatures, as read from a CRL entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RevocationRecord {
    pub(crate) revoked_at: DateTime<Utc>,
    pub(crate) reason: RevocationReason,
    pub(crate) invalidity_date: Option<DateTime<Utc>>,
}

impl RevocationRecord {
    /// Is a signature made at `signed_at` void? Compromise: from the earlier
    /// of invalidityDate and revocation time, inclusive. Otherwise: strictly
    /// after the revocation time.
    pub(crate) fn voids_signature_at(&self, signed_at: DateTime<Utc>) -> bool {
        if self.reason.voids_earlier_signatures() {
            signed_at >= self.void_from()
        } else {
            signed_at > self.revoked_at
        }
    }

    /// From when a signature the signer claims to have made earlier stands
    /// only on the shared log's evidence that it existed then (its entry
    /// anchored on the chain before this time): the signer chooses the time
    /// it claims (`proof.created`). The compromise reasons from the void time
    /// (a thief dates its forgeries before the compromise), withdrawal and
    /// hold from the revocation (a withdrawn clinic dates its new credentials
    /// the day before); `None` for the routine reasons (rotation, closing
    /// down), which leave earlier credentials standing offline.
    pub(crate) fn evidence_needed_before(&self) -> Option<DateTime<Utc>> {
        if self.reason.voids_earlier_signatures() {
            Some(self.void_from())
        } else if self.reason.distrusts_the_signer() {
            Some(self.revoked_at)
        } else {
            None
        }
    }

    /// The first instant from which signatures are void.
    pub(crate) fn void_from(&self) -> DateTime<Utc> {
        if self.reason.voids_earlier_signatures() {
            self.invalidity_date.map_or(self.revoked_at, |date| date.min(self.revoked_at))
        } else {
            self.revoked_at
        }
    }
}

/// A decoded CRL (its signature not yet checked).
#[derive(Debug, Clone)]
pub(crate) struct ParsedCrl {
    pub(crate) issuer: Name,
    pub(crate) this_update: DateTime<Utc>,
    pub(crate) next_update: Option<DateTime<Utc>>,
    /// Keyed by the serial's INTEGER contents octets.
    pub(crate) revocations: HashMap<Vec<u8>, RevocationRecord>,
}

fn invalid(detail: impl Into<String>) -> CertificateError {
    CertificateError::InvalidCrl(detail.into())
}

impl ParsedCrl {
    /// Decode a v2 CRL. Refuses delta CRLs, indirect CRLs and anything with
    /// a critical extension it does not understand (RFC 5280 5.2, 5.3): a CRL
    /// that cannot be fully understood must not be used.
    pub(crate) fn from_der(crl_der: &[u8]) -> Result<Self, CertificateError> {
        let crl = CertificateList::from_der(crl_der).map_err(malformed("CRL"))?;
        let tbs = &crl.tbs_cert_list;
        if tbs.version != Version::V2 {
            return Err(invalid("not a v2 CRL"));
        }
        if crl.signature_algorithm != tbs.signature {
            return Err(invalid("the signature algorithms inside and outside the signed part differ"));
        }
        for extension in tbs.crl_extensions.as_deref().unwrap_or_default() {
            let known =
                extension.extn_id == oid::CE_AUTHORITY_KEY_IDENTIFIER || extension.extn_id == oid::CE_CRL_NUMBER;
            if extension.critical && !known {
                return Err(invalid(format!("unsupported critical CRL extension {}", extension.extn_id)));
            }
        }
        let this_update = asn1::utc_from_x509(&tbs.this_update).ok_or_else(|| invalid("unreadable thisUpdate"))?;
        let next_update = match &tbs.next_update {
            Some(time) => Some(asn1::utc_from_x509(time).ok_or_else(|| invalid("unreadable nextUpdate"))?),
            None => None,
        };
        let mut revocations = HashMap::new();
        for revoked in tbs.revoked_certificates.as_deref().unwrap_or_default() {
            let revoked_at =
                asn1::utc_from_x509(&revoked.revocation_date).ok_or_else(|| invalid("unreadable revocationDate"))?;
            let mut reason = RevocationReason::Unspecified;
            let mut invalidity_date = None;
            for extension in revoked.crl_entry_extensions.as_deref().unwrap_or_default() {
                if extension.extn_id == oid::CE_CRL_REASON {
                    let code = CrlReason::from_der(extension.extn_value.as_bytes()).map_err(malformed("reasonCode"))?;
                    reason = RevocationReason::from_x509(code)
                        .ok_or_else(|| invalid("removeFromCRL (delta CRLs are not supported)"))?;
                } else if extension.extn_id == oid::CE_INVALIDITY_DATE {
                    let date = der::asn1::GeneralizedTime::from_der(extension.extn_value.as_bytes())
                        .map_err(malformed("invalidityDate"))?;
                    invalidity_date =
                        Some(asn1::utc_from_generalized(&date).ok_or_else(|| invalid("unreadable invalidityDate"))?);
                } else if extension.critical {
                    return Err(invalid(format!("unsupported critical CRL entry extension {}", extension.extn_id)));
                }
            }
            let record = RevocationRecord { revoked_at, reason, invalidity_date };
            // A serial listed twice: keep whichever voids more (fail closed).
            revocations
                .entry(revoked.serial_number.as_bytes().to_vec())
                .and_modify(|existing: &mut RevocationRecord| {
                    if record.void_from() < existing.void_from()
                        || (record.reason.voids_earlier_signatures() && !existing.reason.voids_earlier_signatures())
                    {
                        *existing = record;
                    }
                })
                .or_insert(record);
        }
        Ok(Self { issuer: tbs.issuer.clone(), this_update, next_update, revocations })
    }
}

/// A readable CRL (for the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSummary {
    /// The issuing root, for display.
    pub issuer: String,
    /// thisUpdate.
    pub this_update: DateTime<Utc>,
    /// nextUpdate.
    pub next_update: Option<DateTime<Utc>>,
    /// The entries, serials as unsigned big-endian octets.
    pub entries: Vec<RevocationEntry>,
}

/// Read a DER CRL (its signature is not checked here; a trust list checks it).
///
/// # Errors
/// [`CertificateError::Malformed`] / [`CertificateError::InvalidCrl`].
pub fn summarize_crl(crl_der: &[u8]) -> Result<CrlSummary, CertificateError> {
    let parsed = ParsedCrl::from_der(crl_der)?;
    let mut entries: Vec<RevocationEntry> = parsed
        .revocations
        .iter()
        .map(|(serial, record)| RevocationEntry {
            serial: match serial.as_slice() {
                [0, rest @ ..] if !rest.is_empty() => rest.to_vec(),
                other => other.to_vec(),
            },
            revoked_at: record.revoked_at,
            reason: record.reason,
            invalidity_date: record.invalidity_date,
        })
        .collect();
    entries.sort_by(|a, b| a.revoked_at.cmp(&b.revoked_at).then(a.serial.cmp(&b.serial)));
    Ok(CrlSummary {
        issuer: asn1::display_name(&parsed.issuer),
        this_update: parsed.this_update,
        next_update: parsed.next_update,
        entries,
    })
}
