//! Department trust: which clinic or licensing office a department has
//! authorised to issue which kind of credential, as X.509 certificates
//! (the EU DCC's CSCA → DSC model; ISO mDL's IACA), distributed to verifiers
//! in a signed trust list and checked offline.
//!
//! Several department roots stand side by side — the health commission for
//! health certificates, market supervision for food-business licences,
//! third-party trust providers — and each verifier configures which roots it
//! trusts. A credential is trusted when its signing key (the P-256 `did:key`
//! of `proof.verificationMethod`) holds an issuer certificate that chains to a
//! configured root *at the signing time*, allows credential signing, lists the
//! credential's type, and is not revoked in a way that voids that signature.
//!
//! # Certificate profile
//!
//! All keys are P-256; all signatures ECDSA with SHA-256 (`ecdsa-with-SHA256`,
//! no parameters); all certificates X.509 v3, DER; names UTF8String (country
//! PrintableString).
//!
//! **Department root CA** ([`create_root`]):
//! - subject = issuer: `C=CN, O=<department>, CN=<CA name>` (Chinese allowed);
//! - basicConstraints: critical, `cA TRUE`, `pathLenConstraint 0`
//!   ([`ROOT_PATH_LEN_CONSTRAINT`]: roots certify end entities directly);
//! - keyUsage: critical, `keyCertSign, cRLSign`;
//! - subjectKeyIdentifier (RFC 7093 method 1: first 160 bits of SHA-256 of
//!   the key); a random 128-bit serial;
//! - [`CREDENTIAL_TYPES_EXTENSION_OID`] ([`create_root_authorising`]): the
//!   only credential types the department may authorise issuers for. Checked
//!   on the **configured** root (`type_not_authorised_by_root`), so a stolen
//!   root key cannot widen it; a root without it may authorise any type
//!   ([`TrustStore::roots_authorising_any_type`]).
//!
//! **Issuer certificate** (clinic / licensing office; [`create_csr`] +
//! [`issue_certificate`]):
//! - subject: `C=CN, O=<organisation's Chinese name>,
//!   organizationIdentifier (2.5.4.97)=NTRCN-<unified social credit code>,
//!   CN=<organisation's name>` (ETSI EN 319 412-1 semantics identifier; the
//!   USCI's GB 32100 check character is verified);
//! - subjectAltName: one URI, the `did:key:zDn…` of the certified key (checked
//!   against the key when issuing and again when loading);
//! - basicConstraints: critical, `cA FALSE`;
//! - keyUsage: critical, `digitalSignature`;
//! - extKeyUsage: non-critical, [`CREDENTIAL_SIGNING_EKU_OID`];
//! - [`CREDENTIAL_TYPES_EXTENSION_OID`]: non-critical, `SEQUENCE OF
//!   UTF8String`, the VC `type` values the holder may issue (e.g.
//!   `HealthCertificate`);
//! - subjectKeyIdentifier, authorityKeyIdentifier (the root's key id);
//! - serial chosen by the department ([`random_serial`] makes 128-bit ones);
//!   validity within the root's.
//!
//! **Trust-list signer certificate** ([`issue_trust_list_signer_certificate`]):
//! as an issuer certificate, but extKeyUsage [`TRUST_LIST_SIGNING_EKU_OID`] and
//! no credential types. A root may also sign trust lists itself.
//!
//! **CRL** ([`create_crl`]), one or more per root: v2, issuer = the root's
//! subject, thisUpdate/nextUpdate, authorityKeyIdentifier, cRLNumber (Unix
//! time of thisUpdate). Entries carry the revocation time, a reasonCode
//! (absent for unspecified) and optionally an invalidityDate. Meaning for
//! signatures ([`RevocationReason::voids_earlier_signatures`]):
//! - `keyCompromise` (and `cACompromise`, `aACompromise`): every signature at
//!   or after the invalidityDate (or the revocation time if earlier/absent) is
//!   void — the signer controls the `created` time it claims;
//! - any other reason (`superseded`, `cessationOfOperation`, …): signatures
//!   made *after* the revocation time are void, earlier ones stay valid. This
//!   is how keys rotate without reissuing credentials.
//!
//! Our OIDs live under the registration-free UUID arc `2.25` (X.667). Their
//! 128-bit arc is beyond what RustCrypto's `const-oid` holds (arcs are `u32`,
//! deliberately; RFC 5280 only requires 2^28), so `x509-cert`'s `Certificate`
//! cannot decode certificates of this profile: they are built and read with a
//! mirror of `TBSCertificate` whose extension OIDs stay raw (module `asn1`),
//! reusing `x509-cert`'s types for everything else. OpenSSL, rustls-webpki
//! and BouncyCastle read them fine; Botan and pyca/cryptography before 44 do
//! not.
//!
//! Private keys are stored as passphrase-encrypted PKCS#8
//! ([`encrypt_private_key`], [`decrypt_private_key`]).
//!
//! # Trust list and check
//! See [`trust_list`] for the signed format and the load-time checks, and
//! [`TrustStore::assess_issuer`] for the per-credential check. Failure codes:
//! `unknown_issuer`, `untrusted_root`, `issuer_certificate_expired`,
//! `wrong_key_usage`, `issuer_revocation_unknown` (no CRL from that root:
//! fail closed), `issuer_revoked`, `type_not_allowed`, `type_not_authorised_by_root`; from loading:
//! `stale_trust_list`, `bad_trust_list_signature`,
//! `untrusted_trust_list_signer`, `invalid_crl`, `malformed_trust_list`, ….
//!
//! Limits: the signing time is the proof's `created`, which the signer
//! states; only a key-compromise revocation protects against back-dating.
//! Revocation of a trust-list signer certificate is not checked (rotate the
//! verifier's configured roots or let the signer certificate expire).

mod algorithm;
mod asn1;
mod certificate;
mod crl;
mod oid;
mod private_key;
mod store;
pub mod trust_list;
mod usci;

pub use crate::report::TrustedIssuer;
pub use algorithm::{TrustAlgorithm, TrustKey, TrustSigningKey};
pub(crate) use certificate::ParsedCertificate;
pub use certificate::{
    bound_root, certificate_der_to_pem, certificate_pem_to_der, create_csr, create_root, create_root_authorising,
    issue_certificate, issue_trust_list_signer_certificate, random_serial, summarize_certificate, CertificateError,
    CertificateSummary, CertificateValidity, DepartmentName, BASE_CREDENTIAL_TYPE, CERTIFICATE_PEM_LABEL,
    CSR_PEM_LABEL, ORGANIZATION_IDENTIFIER_PREFIX, RANDOM_SERIAL_LEN, ROOT_PATH_LEN_CONSTRAINT, SUBJECT_COUNTRY,
};
pub use crl::{
    create_crl, crl_der_to_pem, crl_pem_to_der, summarize_crl, CrlSummary, RevocationEntry, RevocationReason,
    CRL_PEM_LABEL,
};
pub use oid::{
    decode_oid_contents, encode_oid_contents, CREDENTIAL_SIGNING_EKU_OID, CREDENTIAL_SIGNING_EKU_OID_DER,
    CREDENTIAL_TYPES_EXTENSION_OID, CREDENTIAL_TYPES_EXTENSION_OID_DER, TRUST_LIST_SIGNING_EKU_OID,
    TRUST_LIST_SIGNING_EKU_OID_DER,
};
pub use private_key::{
    decrypt_private_key, decrypt_trust_key, encrypt_private_key, KeyProtectionError, PBKDF2_ITERATIONS,
};
pub use store::{
    claimed_start, CrlRollback, IssuerTrustFailure, IssuerTrustFailureCode, TrustStore, ValidFromBeforeAuthorisation,
    MAX_SEQUENCE_STEP,
};
pub use trust_list::{
    build_trust_list, TrustList, TrustListContents, TrustListError, TRUST_LIST_CLOCK_SKEW, TRUST_LIST_JWS_TYPE,
    TRUST_LIST_VERSION,
};
pub(crate) use trust_list::{open_department_jws, sign_department_jws, DepartmentDocument};
pub use usci::{is_valid_usci, usci_check_character};
