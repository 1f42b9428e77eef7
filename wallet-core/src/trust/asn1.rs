//! DER plumbing shared by the certificate, CRL and trust-list code.
//!
//! `x509-cert` 0.2 models certificates with `const-oid`, whose arcs are `u32`,
//! so it refuses any certificate carrying one of our `2.25.<uuid>` extension
//! OIDs. [`RawCertificate`] mirrors RFC 5280's `Certificate` with
//! `x509-cert`'s own field types except for the extension OID, which stays as
//! raw contents octets ([`RawOid`]). Everything else (names, validity, keys,
//! CSRs, CRLs) is `x509-cert`'s model.

use chrono::{DateTime, Datelike, Utc};
use der::asn1::{AnyRef, BitString, BitStringRef, GeneralizedTime, OctetString, UtcTime, Utf8StringRef};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Tagged as _, Writer,
};
use sha2::{Digest as _, Sha256};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::Version;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use super::algorithm::{SignatureProblem, TrustPublicKey};
use super::oid;

/// An OBJECT IDENTIFIER kept as its DER contents octets, so arcs of any size
/// (our 128-bit `2.25` arcs) survive decoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RawOid(pub(crate) Vec<u8>);

impl RawOid {
    pub(crate) fn from_const(oid: &der::asn1::ObjectIdentifier) -> Self {
        Self(oid.as_bytes().to_vec())
    }
}

impl FixedTag for RawOid {
    const TAG: Tag = Tag::ObjectIdentifier;
}

impl<'a> DecodeValue<'a> for RawOid {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        if oid::decode_oid_contents(&bytes).is_none() {
            return Err(Tag::ObjectIdentifier.value_error());
        }
        Ok(Self(bytes))
    }
}

impl EncodeValue for RawOid {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

/// RFC 5280 `Extension`, with the OID kept raw.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RawExtension {
    pub(crate) extn_id: RawOid,
    #[asn1(default = "Default::default")]
    pub(crate) critical: bool,
    pub(crate) extn_value: OctetString,
}

impl RawExtension {
    pub(crate) fn new(extn_id: RawOid, critical: bool, value: &impl Encode) -> Result<Self, der::Error> {
        Ok(Self { extn_id, critical, extn_value: OctetString::new(value.to_der()?)? })
    }
}

/// RFC 5280 `TBSCertificate`, extensions with raw OIDs.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RawTbsCertificate {
    #[asn1(context_specific = "0", default = "Default::default")]
    pub(crate) version: Version,
    pub(crate) serial_number: SerialNumber,
    pub(crate) signature: AlgorithmIdentifierOwned,
    pub(crate) issuer: Name,
    pub(crate) validity: Validity,
    pub(crate) subject: Name,
    pub(crate) subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) issuer_unique_id: Option<BitString>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) subject_unique_id: Option<BitString>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) extensions: Option<Vec<RawExtension>>,
}

impl RawTbsCertificate {
    /// The extensions, empty when absent.
    pub(crate) fn extensions(&self) -> &[RawExtension] {
        self.extensions.as_deref().unwrap_or(&[])
    }
    /// The one extension with this OID. `Err` when it occurs more than once
    /// (RFC 5280 forbids that).
    pub(crate) fn extension(&self, contents: &[u8]) -> Result<Option<&RawExtension>, ()> {
        let mut found = self.extensions().iter().filter(|e| e.extn_id.0 == contents);
        let first = found.next();
        if found.next().is_some() {
            return Err(());
        }
        Ok(first)
    }
}

/// RFC 5280 `Certificate`, extensions with raw OIDs.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub(crate) struct RawCertificate {
    pub(crate) tbs_certificate: RawTbsCertificate,
    pub(crate) signature_algorithm: AlgorithmIdentifierOwned,
    pub(crate) signature: BitString,
}

/// Any signed structure (`Certificate`, `CertificationRequest`,
/// `CertificateList`): the signed part exactly as it was encoded, so a
/// signature is checked over the received bytes, not a re-encoding.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct SignedEnvelope<'a> {
    pub(crate) to_be_signed: AnyRef<'a>,
    pub(crate) signature_algorithm: AlgorithmIdentifierOwned,
    pub(crate) signature: BitStringRef<'a>,
}

/// Verify the signature of a signed DER structure with `key`: the outer
/// `signatureAlgorithm` must be `key`'s algorithm (see [`super::algorithm`]).
pub(crate) fn verify_signed_der(der_bytes: &[u8], key: &TrustPublicKey) -> Result<(), SignatureProblem> {
    let envelope = SignedEnvelope::from_der(der_bytes).map_err(|_| SignatureProblem::Malformed)?;
    let signed_bytes = envelope.to_be_signed.to_der().map_err(|_| SignatureProblem::Malformed)?;
    let signature_bytes = envelope.signature.as_bytes().ok_or(SignatureProblem::Malformed)?;
    key.verify_x509(&envelope.signature_algorithm, &signed_bytes, signature_bytes)
}

/// RFC 7093 method 1 key identifier: the leftmost 160 bits of SHA-256 over
/// the subjectPublicKey bits.
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = Sha256::digest(spki.subject_public_key.raw_bytes());
    digest.iter().take(20).copied().collect()
}

/// Build a distinguished name: one attribute per RDN, in order. Values are
/// UTF8String except `countryName` (PrintableString).
pub(crate) fn build_name(attributes: &[(der::asn1::ObjectIdentifier, &str)]) -> Result<Name, der::Error> {
    let mut rdns = Vec::with_capacity(attributes.len());
    for (attribute_oid, value) in attributes {
        let tag = if *attribute_oid == oid::AT_COUNTRY_NAME { Tag::PrintableString } else { Tag::Utf8String };
        let value = der::asn1::Any::new(tag, value.as_bytes())?;
        let mut set = der::asn1::SetOfVec::new();
        set.insert(AttributeTypeAndValue { oid: *attribute_oid, value })?;
        rdns.push(RelativeDistinguishedName(set));
    }
    Ok(RdnSequence(rdns))
}

/// The first value of an attribute in a name, as text (UTF8String,
/// PrintableString or IA5String).
pub(crate) fn name_attribute(name: &Name, attribute_oid: der::asn1::ObjectIdentifier) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find(|atv| atv.oid == attribute_oid).and_then(|atv| {
        match atv.value.tag() {
            Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
                std::str::from_utf8(atv.value.value()).ok().map(str::to_owned)
            }
            _ => None,
        }
    })
}

/// A readable name for display: O, CN or both.
pub(crate) fn display_name(name: &Name) -> String {
    let organization = name_attribute(name, oid::AT_ORGANIZATION_NAME);
    let common_name = name_attribute(name, oid::AT_COMMON_NAME);
    match (organization, common_name) {
        (Some(o), Some(cn)) if o == cn => o,
        (Some(o), Some(cn)) => format!("{cn} ({o})"),
        (Some(o), None) => o,
        (None, Some(cn)) => cn,
        (None, None) => name.to_string(),
    }
}

/// An X.509 time for a UTC instant (whole seconds): UTCTime before 2050,
/// GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). `None` before 1970.
pub(crate) fn x509_time(instant: DateTime<Utc>) -> Option<Time> {
    let seconds = u64::try_from(instant.timestamp()).ok()?;
    let since_epoch = std::time::Duration::from_secs(seconds);
    if instant.year() < 2050 {
        UtcTime::from_unix_duration(since_epoch).ok().map(Time::UtcTime)
    } else {
        GeneralizedTime::from_unix_duration(since_epoch).ok().map(Time::GeneralTime)
    }
}

/// A GeneralizedTime (for `invalidityDate`, which is always one).
pub(crate) fn generalized_time(instant: DateTime<Utc>) -> Option<GeneralizedTime> {
    let seconds = u64::try_from(instant.timestamp()).ok()?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds)).ok()
}

/// A UTC instant from an X.509 time.
pub(crate) fn utc_from_x509(time: &Time) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
    DateTime::from_timestamp(seconds, 0)
}

/// A UTC instant from a GeneralizedTime.
pub(crate) fn utc_from_generalized(time: &GeneralizedTime) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
    DateTime::from_timestamp(seconds, 0)
}

/// Decode a UTF8String (used by the credential-types extension).
pub(crate) fn utf8_strings(der_bytes: &[u8]) -> Option<Vec<String>> {
    let strings: Vec<Utf8StringRef<'_>> = Vec::from_der(der_bytes).ok()?;
    Some(strings.iter().map(|s| s.as_str().to_owned()).collect())
}

/// PEM-encode DER with a label.
pub(crate) fn pem_encode(label: &str, der_bytes: &[u8]) -> Result<String, der::Error> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der_bytes).map_err(der::Error::from)
}

/// Decode one PEM block with the expected label.
pub(crate) fn pem_decode(pem: &str, expected_label: &str) -> Option<Vec<u8>> {
    let (label, der_bytes) = der::pem::decode_vec(pem.trim().as_bytes()).ok()?;
    (label == expected_label).then_some(der_bytes)
}

/// Lower-case hex of a serial number's integer contents, leading zero octet
/// stripped.
pub(crate) fn serial_hex(serial: &SerialNumber) -> String {
    let bytes = serial.as_bytes();
    let trimmed = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    };
    hex::encode(trimmed)
}
