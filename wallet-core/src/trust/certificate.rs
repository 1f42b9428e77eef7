//! The certificate profile: department roots, issuer (clinic / licensing
//! office) certificates, trust-list signer certificates, and the CSRs they are
//! made from. See the module docs of [`crate::trust`] for the profile itself.

use chrono::{DateTime, Utc};
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use x509_cert::attr::Attribute;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::algorithm::{SigningError, TrustPublicKey, TrustSigningKey};
use super::asn1::{self, RawCertificate, RawExtension, RawOid, RawTbsCertificate};
use super::oid;
use super::usci::is_valid_usci;

/// PEM label of a certificate.
pub const CERTIFICATE_PEM_LABEL: &str = "CERTIFICATE";
/// PEM label of a certificate signing request (PKCS#10).
pub const CSR_PEM_LABEL: &str = "CERTIFICATE REQUEST";
/// Semantics identifier prefix of `organizationIdentifier` values (ETSI EN
/// 319 412-1: national trade register, China): `NTRCN-<USCI>`.
pub const ORGANIZATION_IDENTIFIER_PREFIX: &str = "NTRCN-";
/// `pathLenConstraint` of a department root: it certifies end entities only.
pub const ROOT_PATH_LEN_CONSTRAINT: u8 = 0;
/// The country every subject names.
pub const SUBJECT_COUNTRY: &str = "CN";
/// Length of the random serial numbers [`random_serial`] makes, in octets.
pub const RANDOM_SERIAL_LEN: usize = 16;
/// The type every VC carries, which a certificate never needs to list.
pub const BASE_CREDENTIAL_TYPE: &str = "VerifiableCredential";

/// Why a certificate, CSR or CRL could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not a PEM block with the expected label.
    #[error("not a PEM {expected}")]
    InvalidPem {
        /// The expected PEM label.
        expected: &'static str,
    },
    /// The DER structure cannot be read.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// The CSR's signature does not verify with the key it carries.
    #[error("the certificate request's signature does not verify")]
    CsrSignatureInvalid,
    /// A key that is not P-256.
    #[error("only P-256 keys are supported")]
    UnsupportedKey,
    /// The private key given does not belong to the root certificate.
    #[error("the private key does not match the root certificate's public key")]
    RootKeyMismatch,
    /// The certificate given as a root is not a CA.
    #[error("the given root certificate is not a CA certificate")]
    NotACertificateAuthority,
    /// The DID does not name the key it is bound to.
    #[error("the DID {did} does not name the key being certified")]
    DidKeyMismatch {
        /// The DID that was given or found.
        did: String,
    },
    /// A unified social credit code with a wrong format or check character.
    #[error("invalid unified social credit code: {0}")]
    InvalidUsci(String),
    /// An empty organisation name.
    #[error("the organisation name is empty")]
    EmptyOrganizationName,
    /// A CSR without the subject fields the profile needs.
    #[error("the certificate request lacks {0}")]
    IncompleteCsr(&'static str),
    /// notBefore not before notAfter, or a time before 1970.
    #[error("invalid validity period")]
    InvalidValidity,
    /// The certificate would outlive (or predate) its root.
    #[error("the validity period is not within the root certificate's")]
    ValidityOutsideRoot,
    /// No credential types, or an empty / reserved one.
    #[error("invalid list of credential types: {0}")]
    InvalidCredentialTypes(String),
    /// A serial that is zero, empty or longer than 20 octets.
    #[error("invalid serial number")]
    InvalidSerial,
    /// A CRL's times are out of order or its entries are invalid.
    #[error("invalid CRL: {0}")]
    InvalidCrl(String),
    /// A private key that cannot be used.
    #[error("unusable private key: {0}")]
    Key(String),
    /// Encoding failed (does not happen for valid input).
    #[error("encoding failed: {0}")]
    Encoding(String),
}

impl From<der::Error> for CertificateError {
    fn from(e: der::Error) -> Self {
        Self::Encoding(e.to_string())
    }
}

pub(crate) fn malformed(what: &'static str) -> impl Fn(der::Error) -> CertificateError {
    move |e| CertificateError::Malformed { what, detail: e.to_string() }
}

/// A certificate's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateValidity {
    /// First instant of validity.
    pub not_before: DateTime<Utc>,
    /// Last instant of validity.
    pub not_after: DateTime<Utc>,
}

impl CertificateValidity {
    /// From `not_before` for `duration`.
    pub fn starting(not_before: DateTime<Utc>, duration: chrono::Duration) -> Self {
        Self { not_before, not_after: not_before.checked_add_signed(duration).unwrap_or(DateTime::<Utc>::MAX_UTC) }
    }

    fn to_x509(self) -> Result<Validity, CertificateError> {
        if self.not_before >= self.not_after {
            return Err(CertificateError::InvalidValidity);
        }
        Ok(Validity {
            not_before: asn1::x509_time(self.not_before).ok_or(CertificateError::InvalidValidity)?,
            not_after: asn1::x509_time(self.not_after).ok_or(CertificateError::InvalidValidity)?,
        })
    }
}

/// The subject of a department root CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentName {
    /// The department (O), e.g. `示例市卫生健康委员会`.
    pub organization: String,
    /// The CA's name (CN), e.g. `示例市卫生健康委员会电子证照根证书`.
    pub common_name: String,
}

/// A fresh random positive serial number of [`RANDOM_SERIAL_LEN`] octets.
pub fn random_serial() -> Vec<u8> {
    use rand::RngCore as _;
    let mut serial = vec![0u8; RANDOM_SERIAL_LEN];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    if let Some(first) = serial.first_mut() {
        // Positive and full length (no leading zero octet).
        *first = (*first & 0x7f) | 0x40;
    }
    serial
}

pub(crate) fn serial_number(serial: &[u8]) -> Result<SerialNumber, CertificateError> {
    let significant: &[u8] = match serial.iter().position(|&b| b != 0) {
        Some(first) => serial.get(first..).unwrap_or_default(),
        None => return Err(CertificateError::InvalidSerial),
    };
    if significant.len() > 20 {
        return Err(CertificateError::InvalidSerial);
    }
    SerialNumber::new(significant).map_err(|_| CertificateError::InvalidSerial)
}

impl From<SigningError> for CertificateError {
    fn from(error: SigningError) -> Self {
        Self::Key(error.0)
    }
}

/// PEM-encode a DER certificate.
///
/// # Errors
/// Only if encoding fails.
pub fn certificate_der_to_pem(certificate_der: &[u8]) -> Result<String, CertificateError> {
    Ok(asn1::pem_encode(CERTIFICATE_PEM_LABEL, certificate_der)?)
}

/// The DER of a PEM certificate.
///
/// # Errors
/// [`CertificateError::InvalidPem`] when it is not a `CERTIFICATE` PEM block.
pub fn certificate_pem_to_der(certificate_pem: &str) -> Result<Vec<u8>, CertificateError> {
    asn1::pem_decode(certificate_pem, CERTIFICATE_PEM_LABEL)
        .ok_or(CertificateError::InvalidPem { expected: CERTIFICATE_PEM_LABEL })
}

fn sign_certificate(
    tbs_certificate: RawTbsCertificate,
    signing_key: TrustSigningKey<'_>,
) -> Result<Vec<u8>, CertificateError> {
    let tbs_der = tbs_certificate.to_der()?;
    let signature = signing_key.sign_x509(&tbs_der)?;
    let signature_algorithm = signing_key.algorithm().identifier();
    let certificate = RawCertificate { tbs_certificate, signature_algorithm, signature };
    Ok(certificate.to_der()?)
}

/// Create a self-signed department root CA certificate (PEM): P-256,
/// basicConstraints CA:true with pathLen 0 (critical), keyUsage keyCertSign +
/// cRLSign (critical), subject `C=CN, O=…, CN=…` as UTF8String, a random
/// 128-bit serial. It may authorise issuers for **any** credential type; a
/// department root should say which: [`create_root_authorising`].
///
/// # Errors
/// [`CertificateError::InvalidValidity`], [`CertificateError::EmptyOrganizationName`].
pub fn create_root<'k>(
    subject: &DepartmentName,
    validity: &CertificateValidity,
    key: impl Into<TrustSigningKey<'k>>,
) -> Result<String, CertificateError> {
    build_root::<&str>(subject, validity, key.into(), None)
}

/// Like [`create_root`], but the root may only authorise issuers for
/// `authorised_types`: the credential-types extension, on a root, bounds every
/// certificate under it. A verifier reads the bound from the root it is
/// configured with, so a department whose root key is stolen or misused
/// cannot widen it (a new self-signed certificate is not the configured one),
/// and re-signing an existing root with a bound (same key and subject) keeps
/// every certificate it issued chaining.
///
/// # Errors
/// As [`create_root`], and [`CertificateError::InvalidCredentialTypes`].
pub fn create_root_authorising<'k, T: AsRef<str>>(
    subject: &DepartmentName,
    validity: &CertificateValidity,
    key: impl Into<TrustSigningKey<'k>>,
    authorised_types: &[T],
) -> Result<String, CertificateError> {
    build_root(subject, validity, key.into(), Some(authorised_types))
}

/// Re-sign a department root with a bound on the credential types it may
/// authorise (replacing any earlier bound): same subject, key, validity and
/// other extensions, a new serial. Every certificate and CRL the root signed
/// still verifies under it (same name and key); a verifier configured with it
/// checks every issuer under it against `authorised_types`.
///
/// # Errors
/// [`CertificateError::RootKeyMismatch`] when `key` is not the root's,
/// [`CertificateError::NotACertificateAuthority`],
/// [`CertificateError::InvalidCredentialTypes`], or an unreadable root.
pub fn bound_root<'k, T: AsRef<str>>(
    root_cert_pem: &str,
    key: impl Into<TrustSigningKey<'k>>,
    authorised_types: &[T],
) -> Result<String, CertificateError> {
    let signing_key = key.into();
    let types = checked_credential_types(authorised_types)?;
    let root = ParsedCertificate::from_der(&certificate_pem_to_der(root_cert_pem)?)?;
    if root.public_key.as_ref() != Some(&signing_key.public_key()) {
        return Err(CertificateError::RootKeyMismatch);
    }
    if !root.is_ca || root.raw.tbs_certificate.issuer != root.raw.tbs_certificate.subject {
        return Err(CertificateError::NotACertificateAuthority);
    }
    let mut tbs_certificate = root.raw.tbs_certificate;
    let mut extensions: Vec<RawExtension> = tbs_certificate
        .extensions
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|extension| extension.extn_id.0 != oid::CREDENTIAL_TYPES_EXTENSION_OID_DER)
        .collect();
    extensions.push(credential_types_extension(&types)?);
    tbs_certificate.extensions = Some(extensions);
    tbs_certificate.serial_number = serial_number(&random_serial())?;
    tbs_certificate.signature = signing_key.algorithm().identifier();
    certificate_der_to_pem(&sign_certificate(tbs_certificate, signing_key)?)
}

/// Every type named once, none empty or the base type, at least one.
fn checked_credential_types<T: AsRef<str>>(types: &[T]) -> Result<Vec<String>, CertificateError> {
    let mut checked: Vec<String> = Vec::new();
    for credential_type in types {
        let credential_type = credential_type.as_ref().trim();
        if credential_type.is_empty() || credential_type == BASE_CREDENTIAL_TYPE {
            return Err(CertificateError::InvalidCredentialTypes(format!("{credential_type:?} cannot be authorised")));
        }
        if !checked.iter().any(|t| t == credential_type) {
            checked.push(credential_type.to_owned());
        }
    }
    if checked.is_empty() {
        return Err(CertificateError::InvalidCredentialTypes("at least one credential type is needed".into()));
    }
    Ok(checked)
}

fn credential_types_extension(types: &[String]) -> Result<RawExtension, CertificateError> {
    let types: Vec<der::asn1::Utf8StringRef<'_>> =
        types.iter().map(der::asn1::Utf8StringRef::new).collect::<Result<_, _>>()?;
    Ok(RawExtension::new(RawOid(oid::CREDENTIAL_TYPES_EXTENSION_OID_DER.to_vec()), false, &types)?)
}

fn build_root<T: AsRef<str>>(
    subject: &DepartmentName,
    validity: &CertificateValidity,
    signing_key: TrustSigningKey<'_>,
    authorised_types: Option<&[T]>,
) -> Result<String, CertificateError> {
    let authorised_types = authorised_types.map(checked_credential_types).transpose()?;
    if subject.organization.trim().is_empty() || subject.common_name.trim().is_empty() {
        return Err(CertificateError::EmptyOrganizationName);
    }
    let name = asn1::build_name(&[
        (oid::AT_COUNTRY_NAME, SUBJECT_COUNTRY),
        (oid::AT_ORGANIZATION_NAME, &subject.organization),
        (oid::AT_COMMON_NAME, &subject.common_name),
    ])?;
    let spki = signing_key.public_key().to_spki()?;
    let key_id = asn1::key_identifier(&spki);
    let mut extensions = vec![
        RawExtension::new(
            RawOid::from_const(&oid::CE_BASIC_CONSTRAINTS),
            true,
            &BasicConstraints { ca: true, path_len_constraint: Some(ROOT_PATH_LEN_CONSTRAINT) },
        )?,
        RawExtension::new(
            RawOid::from_const(&oid::CE_KEY_USAGE),
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        RawExtension::new(
            RawOid::from_const(&oid::CE_SUBJECT_KEY_IDENTIFIER),
            false,
            &SubjectKeyIdentifier(OctetString::new(key_id)?),
        )?,
    ];
    if let Some(types) = &authorised_types {
        extensions.push(credential_types_extension(types)?);
    }
    let tbs_certificate = RawTbsCertificate {
        version: Version::V3,
        serial_number: serial_number(&random_serial())?,
        signature: signing_key.algorithm().identifier(),
        issuer: name.clone(),
        validity: validity.to_x509()?,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    certificate_der_to_pem(&sign_certificate(tbs_certificate, signing_key)?)
}

fn issuer_subject(organization_name: &str, usci: &str) -> Result<Name, CertificateError> {
    let organization_identifier = format!("{ORGANIZATION_IDENTIFIER_PREFIX}{usci}");
    Ok(asn1::build_name(&[
        (oid::AT_COUNTRY_NAME, SUBJECT_COUNTRY),
        (oid::AT_ORGANIZATION_NAME, organization_name),
        (oid::AT_ORGANIZATION_IDENTIFIER, &organization_identifier),
        (oid::AT_COMMON_NAME, organization_name),
    ])?)
}

fn did_san(did: &str) -> Result<SubjectAltName, CertificateError> {
    let uri =
        Ia5String::new(did).map_err(|_| CertificateError::DidKeyMismatch { did: did.chars().take(120).collect() })?;
    Ok(SubjectAltName(vec![GeneralName::UniformResourceIdentifier(uri)]))
}

/// Create a certificate signing request (PKCS#10, PEM) for an issuer's
/// credential-signing key: subject `C=CN, O=<organisation>,
/// organizationIdentifier=NTRCN-<USCI>, CN=<organisation>`, and an
/// extensionRequest with the SAN URI `did` (which must be `key`'s own
/// `did:key`). Signed by `key` (proof of possession).
///
/// # Errors
/// [`CertificateError::DidKeyMismatch`], [`CertificateError::InvalidUsci`],
/// [`CertificateError::EmptyOrganizationName`].
pub fn create_csr<'k>(
    key: impl Into<TrustSigningKey<'k>>,
    organization_name: &str,
    usci: &str,
    did: &str,
) -> Result<String, CertificateError> {
    let signing_key = key.into();
    if organization_name.trim().is_empty() {
        return Err(CertificateError::EmptyOrganizationName);
    }
    if !is_valid_usci(usci) {
        return Err(CertificateError::InvalidUsci(usci.chars().take(40).collect()));
    }
    if did != signing_key.did() {
        return Err(CertificateError::DidKeyMismatch { did: did.chars().take(120).collect() });
    }
    let san = did_san(did)?;
    let extension_request = ExtensionReq(vec![Extension {
        extn_id: oid::CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(san.to_der()?)?,
    }]);
    let mut attributes = der::asn1::SetOfVec::new();
    attributes.insert(Attribute::try_from(extension_request)?)?;
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: issuer_subject(organization_name, usci)?,
        public_key: signing_key.public_key().to_spki()?,
        attributes,
    };
    let signature = signing_key.sign_x509(&info.to_der()?)?;
    let request = CertReq { info, algorithm: signing_key.algorithm().identifier(), signature };
    Ok(asn1::pem_encode(CSR_PEM_LABEL, &request.to_der()?)?)
}

/// What the CA learnt from a verified CSR.
struct VerifiedCsr {
    public_key: TrustPublicKey,
    organization_name: String,
    usci: String,
    did: String,
}

fn verify_csr(csr_pem: &str) -> Result<VerifiedCsr, CertificateError> {
    let csr_der =
        asn1::pem_decode(csr_pem, CSR_PEM_LABEL).ok_or(CertificateError::InvalidPem { expected: CSR_PEM_LABEL })?;
    let request = CertReq::from_der(&csr_der).map_err(malformed("certificate request"))?;
    let public_key = TrustPublicKey::from_spki(&request.info.public_key).ok_or(CertificateError::UnsupportedKey)?;
    asn1::verify_signed_der(&csr_der, &public_key).map_err(|_| CertificateError::CsrSignatureInvalid)?;

    let subject = &request.info.subject;
    let organization_name = asn1::name_attribute(subject, oid::AT_ORGANIZATION_NAME)
        .filter(|o| !o.trim().is_empty())
        .ok_or(CertificateError::IncompleteCsr("an organisation name (O)"))?;
    // Signed into the certificate and shown to every inspector as the
    // trusted issuer: no control or invisible characters (an escape sequence
    // rewrites what the operator's terminal shows before it is signed).
    if organization_name.chars().count() > 200 || crate::display_text::has_hidden_or_control(&organization_name) {
        return Err(CertificateError::IncompleteCsr(
            "an organisation name (O) of at most 200 characters, without control or invisible characters",
        ));
    }
    let organization_identifier = asn1::name_attribute(subject, oid::AT_ORGANIZATION_IDENTIFIER)
        .ok_or(CertificateError::IncompleteCsr("an organizationIdentifier (unified social credit code)"))?;
    let usci = organization_identifier
        .strip_prefix(ORGANIZATION_IDENTIFIER_PREFIX)
        .unwrap_or(&organization_identifier)
        .to_owned();
    if !is_valid_usci(&usci) {
        return Err(CertificateError::InvalidUsci(usci.chars().take(40).collect()));
    }

    let key_did = public_key.did();
    let requested_dids = csr_san_uris(&request)?;
    if let Some(other) = requested_dids.iter().find(|uri| **uri != key_did) {
        return Err(CertificateError::DidKeyMismatch { did: other.chars().take(120).collect() });
    }
    Ok(VerifiedCsr { public_key, organization_name, usci, did: key_did })
}

/// The SAN URIs requested in a CSR's extensionRequest.
fn csr_san_uris(request: &CertReq) -> Result<Vec<String>, CertificateError> {
    let mut uris = Vec::new();
    for attribute in request.info.attributes.iter() {
        if attribute.oid != oid::PKCS9_EXTENSION_REQUEST {
            continue;
        }
        for value in attribute.values.iter() {
            let extensions: ExtensionReq = value.decode_as().map_err(malformed("certificate request extensions"))?;
            for extension in extensions.0 {
                if extension.extn_id == oid::CE_SUBJECT_ALT_NAME {
                    let san = SubjectAltName::from_der(extension.extn_value.as_bytes())
                        .map_err(malformed("subjectAltName"))?;
                    uris.extend(san.0.into_iter().filter_map(|name| match name {
                        GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                        _ => None,
                    }));
                }
            }
        }
    }
    Ok(uris)
}

/// The role an end-entity certificate gives its key.
enum EndEntityRole<'a> {
    CredentialIssuer { allowed_types: &'a [String] },
    TrustListSigner,
}

/// Issue a credential-issuer certificate (PEM) from a CSR: verifies the CSR's
/// signature, takes the organisation name and USCI from its subject and binds
/// the key's `did:key` as SAN URI (the CSR's own SAN, if any, must be that
/// DID). Adds keyUsage digitalSignature (critical), our credential-signing
/// EKU, the credential-types extension with `allowed_types`, SKI/AKI, and
/// signs with `root_key`, which must be `root_cert_pem`'s key. The validity
/// must lie within the root's.
///
/// # Errors
/// Any [`CertificateError`] describing the bad input.
pub fn issue_certificate<'k, T: AsRef<str>>(
    csr_pem: &str,
    root_cert_pem: &str,
    root_key: impl Into<TrustSigningKey<'k>>,
    allowed_types: &[T],
    validity: &CertificateValidity,
    serial: &[u8],
) -> Result<String, CertificateError> {
    let types = checked_credential_types(allowed_types)?;
    issue_end_entity(
        csr_pem,
        root_cert_pem,
        root_key.into(),
        &EndEntityRole::CredentialIssuer { allowed_types: &types },
        validity,
        serial,
    )
}

/// Issue a trust-list signer certificate (PEM) from a CSR: like
/// [`issue_certificate`] but with our trust-list-signing EKU and no credential
/// types. A verifier accepts a trust list signed by such a key when the
/// certificate chains to one of its configured roots.
///
/// # Errors
/// Any [`CertificateError`] describing the bad input.
pub fn issue_trust_list_signer_certificate<'k>(
    csr_pem: &str,
    root_cert_pem: &str,
    root_key: impl Into<TrustSigningKey<'k>>,
    validity: &CertificateValidity,
    serial: &[u8],
) -> Result<String, CertificateError> {
    issue_end_entity(csr_pem, root_cert_pem, root_key.into(), &EndEntityRole::TrustListSigner, validity, serial)
}

fn issue_end_entity(
    csr_pem: &str,
    root_cert_pem: &str,
    root_key: TrustSigningKey<'_>,
    role: &EndEntityRole<'_>,
    validity: &CertificateValidity,
    serial: &[u8],
) -> Result<String, CertificateError> {
    let csr = verify_csr(csr_pem)?;
    let root = ParsedCertificate::from_der(&certificate_pem_to_der(root_cert_pem)?)?;
    if root.public_key.as_ref() != Some(&root_key.public_key()) {
        return Err(CertificateError::RootKeyMismatch);
    }
    if !root.is_ca {
        return Err(CertificateError::NotACertificateAuthority);
    }
    if let EndEntityRole::CredentialIssuer { allowed_types } = role {
        if root.lists_types {
            if let Some(beyond) = allowed_types.iter().find(|t| !root.allowed_types.contains(t)) {
                return Err(CertificateError::InvalidCredentialTypes(format!(
                    "this root may authorise only {}, not {beyond}",
                    root.allowed_types.join(", ")
                )));
            }
        }
    }
    if validity.not_before < root.not_before || validity.not_after > root.not_after {
        return Err(CertificateError::ValidityOutsideRoot);
    }
    let spki = csr.public_key.to_spki()?;
    let authority_key_id = root
        .subject_key_identifier
        .clone()
        .unwrap_or_else(|| asn1::key_identifier(&root.raw.tbs_certificate.subject_public_key_info));
    let eku = match role {
        EndEntityRole::CredentialIssuer { .. } => oid::CREDENTIAL_SIGNING_EKU_OID_DER,
        EndEntityRole::TrustListSigner => oid::TRUST_LIST_SIGNING_EKU_OID_DER,
    };
    let mut extensions = vec![
        RawExtension::new(
            RawOid::from_const(&oid::CE_BASIC_CONSTRAINTS),
            true,
            &BasicConstraints { ca: false, path_len_constraint: None },
        )?,
        RawExtension::new(RawOid::from_const(&oid::CE_KEY_USAGE), true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        RawExtension::new(RawOid::from_const(&oid::CE_EXT_KEY_USAGE), false, &vec![RawOid(eku.to_vec())])?,
        RawExtension::new(RawOid::from_const(&oid::CE_SUBJECT_ALT_NAME), false, &did_san(&csr.did)?)?,
        RawExtension::new(
            RawOid::from_const(&oid::CE_SUBJECT_KEY_IDENTIFIER),
            false,
            &SubjectKeyIdentifier(OctetString::new(asn1::key_identifier(&spki))?),
        )?,
        RawExtension::new(
            RawOid::from_const(&oid::CE_AUTHORITY_KEY_IDENTIFIER),
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(authority_key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    if let EndEntityRole::CredentialIssuer { allowed_types } = role {
        extensions.push(credential_types_extension(allowed_types)?);
    }
    let tbs_certificate = RawTbsCertificate {
        version: Version::V3,
        serial_number: serial_number(serial)?,
        signature: root_key.algorithm().identifier(),
        issuer: root.raw.tbs_certificate.subject.clone(),
        validity: validity.to_x509()?,
        subject: issuer_subject(&csr.organization_name, &csr.usci)?,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    certificate_der_to_pem(&sign_certificate(tbs_certificate, root_key)?)
}

/// A readable summary of a certificate of this profile (for the CLI and for
/// display).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSummary {
    /// Serial number, lower-case hex.
    pub serial: String,
    /// Subject, for display.
    pub subject: String,
    /// Subject organisation (O).
    pub organization_name: Option<String>,
    /// Unified social credit code from organizationIdentifier.
    pub usci: Option<String>,
    /// Issuer, for display.
    pub issuer: String,
    /// The `did:key` in the SAN, if it names the certificate's key.
    pub did: Option<String>,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
    /// basicConstraints CA.
    pub is_ca: bool,
    /// Carries our credential-signing EKU.
    pub credential_signing: bool,
    /// Carries our trust-list-signing EKU.
    pub trust_list_signing: bool,
    /// The credential types the holder may issue; for a root, the only types
    /// it may authorise issuers for.
    pub allowed_types: Vec<String>,
    /// The certificate lists types at all; a root that does not may
    /// authorise issuers for any type.
    pub lists_types: bool,
}

/// Read a DER certificate of this profile.
///
/// # Errors
/// [`CertificateError::Malformed`] when it is not one.
pub fn summarize_certificate(certificate_der: &[u8]) -> Result<CertificateSummary, CertificateError> {
    let parsed = ParsedCertificate::from_der(certificate_der)?;
    let tbs = &parsed.raw.tbs_certificate;
    Ok(CertificateSummary {
        serial: asn1::serial_hex(&tbs.serial_number),
        subject: asn1::display_name(&tbs.subject),
        organization_name: parsed.organization_name.clone(),
        usci: parsed.usci.clone(),
        issuer: asn1::display_name(&tbs.issuer),
        did: parsed.certified_did.clone(),
        not_before: parsed.not_before,
        not_after: parsed.not_after,
        is_ca: parsed.is_ca,
        credential_signing: parsed.has_eku(oid::CREDENTIAL_SIGNING_EKU_OID_DER),
        trust_list_signing: parsed.has_eku(oid::TRUST_LIST_SIGNING_EKU_OID_DER),
        allowed_types: parsed.allowed_types.clone(),
        lists_types: parsed.lists_types,
    })
}

/// A decoded certificate with the fields the trust check reads.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCertificate {
    pub(crate) der: Vec<u8>,
    pub(crate) raw: RawCertificate,
    /// `None` when the key is neither P-256 nor SM2.
    pub(crate) public_key: Option<TrustPublicKey>,
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) not_after: DateTime<Utc>,
    pub(crate) is_ca: bool,
    pub(crate) digital_signature: bool,
    pub(crate) extended_key_usages: Option<Vec<RawOid>>,
    /// The SAN DID when it names this certificate's own key.
    pub(crate) certified_did: Option<String>,
    /// The credential types an issuer certificate may sign, or a root may
    /// authorise: the credential-types extension.
    pub(crate) allowed_types: Vec<String>,
    /// The credential-types extension is there (on a root: without it, the
    /// root may authorise any type).
    pub(crate) lists_types: bool,
    pub(crate) organization_name: Option<String>,
    pub(crate) usci: Option<String>,
    pub(crate) subject_key_identifier: Option<Vec<u8>>,
}

impl ParsedCertificate {
    pub(crate) fn from_der(certificate_der: &[u8]) -> Result<Self, CertificateError> {
        let raw = RawCertificate::from_der(certificate_der).map_err(malformed("certificate"))?;
        let tbs = &raw.tbs_certificate;
        if tbs.version != Version::V3 {
            return Err(CertificateError::Malformed {
                what: "certificate",
                detail: "not an X.509 v3 certificate".into(),
            });
        }
        let not_before = asn1::utc_from_x509(&tbs.validity.not_before).ok_or_else(bad_time)?;
        let not_after = asn1::utc_from_x509(&tbs.validity.not_after).ok_or_else(bad_time)?;
        if raw.signature_algorithm != tbs.signature {
            return Err(CertificateError::Malformed {
                what: "certificate",
                detail: "the signature algorithms inside and outside the signed part differ".into(),
            });
        }
        let public_key = TrustPublicKey::from_spki(&tbs.subject_public_key_info);

        let extension = |contents: &[u8], what: &'static str| {
            tbs.extension(contents).map_err(|()| CertificateError::Malformed {
                what: "certificate",
                detail: format!("duplicate {what} extension"),
            })
        };
        let is_ca = match extension(oid::CE_BASIC_CONSTRAINTS.as_bytes(), "basicConstraints")? {
            Some(ext) => {
                BasicConstraints::from_der(ext.extn_value.as_bytes()).map_err(malformed("basicConstraints"))?.ca
            }
            None => false,
        };
        let digital_signature = match extension(oid::CE_KEY_USAGE.as_bytes(), "keyUsage")? {
            Some(ext) => {
                KeyUsage::from_der(ext.extn_value.as_bytes()).map_err(malformed("keyUsage"))?.digital_signature()
            }
            None => false,
        };
        let extended_key_usages = match extension(oid::CE_EXT_KEY_USAGE.as_bytes(), "extKeyUsage")? {
            Some(ext) => Some(Vec::<RawOid>::from_der(ext.extn_value.as_bytes()).map_err(malformed("extKeyUsage"))?),
            None => None,
        };
        let san_dids = match extension(oid::CE_SUBJECT_ALT_NAME.as_bytes(), "subjectAltName")? {
            Some(ext) => SubjectAltName::from_der(ext.extn_value.as_bytes())
                .map_err(malformed("subjectAltName"))?
                .0
                .into_iter()
                .filter_map(|name| match name {
                    GeneralName::UniformResourceIdentifier(uri) => {
                        Some(uri.to_string()).filter(|u| u.starts_with("did:"))
                    }
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        };
        let certified_did = public_key.as_ref().and_then(|key| {
            let key_did = key.did();
            (san_dids.len() == 1 && san_dids.iter().all(|d| *d == key_did)).then_some(key_did)
        });
        let types_extension = extension(oid::CREDENTIAL_TYPES_EXTENSION_OID_DER, "credential types")?;
        let lists_types = types_extension.is_some();
        let allowed_types = match types_extension {
            Some(ext) => asn1::utf8_strings(ext.extn_value.as_bytes()).ok_or_else(|| CertificateError::Malformed {
                what: "credential types extension",
                detail: "not a SEQUENCE OF UTF8String".into(),
            })?,
            None => Vec::new(),
        };
        let subject_key_identifier = match extension(oid::CE_SUBJECT_KEY_IDENTIFIER.as_bytes(), "subjectKeyIdentifier")?
        {
            Some(ext) => Some(
                SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes())
                    .map_err(malformed("subjectKeyIdentifier"))?
                    .0
                    .as_bytes()
                    .to_vec(),
            ),
            None => None,
        };
        let organization_name = asn1::name_attribute(&tbs.subject, oid::AT_ORGANIZATION_NAME);
        let usci = asn1::name_attribute(&tbs.subject, oid::AT_ORGANIZATION_IDENTIFIER)
            .map(|id| id.strip_prefix(ORGANIZATION_IDENTIFIER_PREFIX).unwrap_or(&id).to_owned());
        Ok(Self {
            der: certificate_der.to_vec(),
            raw,
            public_key,
            not_before,
            not_after,
            is_ca,
            digital_signature,
            extended_key_usages,
            certified_did,
            allowed_types,
            lists_types,
            organization_name,
            usci,
            subject_key_identifier,
        })
    }

    pub(crate) fn has_eku(&self, contents: &[u8]) -> bool {
        self.extended_key_usages.as_deref().unwrap_or_default().iter().any(|eku| eku.0 == contents)
    }

    pub(crate) fn display_subject(&self) -> String {
        asn1::display_name(&self.raw.tbs_certificate.subject)
    }
}

fn bad_time() -> CertificateError {
    CertificateError::Malformed { what: "certificate", detail: "validity time before 1970 or unreadable".into() }
}
