//! The loaded trust store and the issuer-trust check.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use serde::Serialize;

use super::algorithm::{TrustPublicKey, WEBPKI_ALGORITHMS};
use super::asn1;
use super::certificate::{ParsedCertificate, BASE_CREDENTIAL_TYPE};
use super::crl::RevocationRecord;
use super::oid;
use crate::localized::Localized;
use crate::report::{CheckResult, TrustedIssuer};

/// A configured (trusted) department root.
#[derive(Debug, Clone)]
pub(crate) struct RootEntry {
    pub(crate) certificate: ParsedCertificate,
    pub(crate) name: String,
    /// `None` until a CRL signed by this root is loaded: revocation status
    /// unknown, and the check fails closed.
    revocations: Option<HashMap<Vec<u8>, RevocationRecord>>,
    /// `thisUpdate` of the newest CRL of this root loaded (`None`: none):
    /// a list offered to replace this one may not carry an older one (see
    /// [`TrustStore::crl_rolled_back_by`]).
    newest_crl: Option<DateTime<Utc>>,
    /// SHA-256 of the root's subject (hex): one department's root however
    /// often it is re-signed or re-keyed, the key of its CRL floor.
    identity: String,
    /// The only credential types this root may authorise issuers for (its
    /// credential-types extension); `None`: any type. See
    /// [`RootEntry::bound_by_namesakes`].
    authorises: Option<Vec<String>>,
}

impl RootEntry {
    pub(crate) fn new(certificate: ParsedCertificate) -> Self {
        let name = certificate.display_subject();
        let authorises = certificate.lists_types.then(|| certificate.allowed_types.clone());
        let identity = root_identity(&certificate);
        Self { certificate, name, revocations: None, newest_crl: None, identity, authorises }
    }

    /// Apply to each root the type bounds of every configured root with the
    /// same subject and key (one department's root re-signed): path
    /// validation may end at either, and an old, unbounded copy left in a
    /// verifier's configuration must not undo the bound of the new one. The
    /// bounds intersect.
    pub(crate) fn bound_by_namesakes(roots: &mut [RootEntry]) {
        let bounds: Vec<Option<Vec<String>>> = roots
            .iter()
            .map(|root| {
                let tbs = &root.certificate.raw.tbs_certificate;
                roots
                    .iter()
                    .filter(|other| {
                        let other_tbs = &other.certificate.raw.tbs_certificate;
                        other_tbs.subject == tbs.subject
                            && other_tbs.subject_public_key_info == tbs.subject_public_key_info
                    })
                    .filter_map(|other| other.authorises.as_ref())
                    .fold(None, |bound: Option<Vec<String>>, types| match bound {
                        None => Some(types.clone()),
                        Some(bound) => Some(bound.into_iter().filter(|t| types.contains(t)).collect()),
                    })
            })
            .collect();
        for (root, bound) in roots.iter_mut().zip(bounds) {
            root.authorises = bound;
        }
    }

    /// The credential types this root may authorise, `None` for any.
    pub(crate) fn authorised_types(&self) -> Option<&[String]> {
        self.authorises.as_deref()
    }

    /// The revocation of `certificate` by this root's CRLs: when this root
    /// issued it (issuer name) and a CRL lists its serial.
    pub(crate) fn revocation_of(&self, certificate: &ParsedCertificate) -> Option<&RevocationRecord> {
        let tbs = &certificate.raw.tbs_certificate;
        if tbs.issuer != self.certificate.raw.tbs_certificate.subject {
            return None;
        }
        self.revocations.as_ref()?.get(tbs.serial_number.as_bytes())
    }

    /// Merge a verified CRL's entries (several CRLs of one root: union),
    /// the CRL's `thisUpdate` being `this_update`.
    pub(crate) fn add_revocations(
        &mut self,
        revocations: HashMap<Vec<u8>, RevocationRecord>,
        this_update: DateTime<Utc>,
    ) {
        self.newest_crl = self.newest_crl.max(Some(this_update));
        let all = self.revocations.get_or_insert_with(HashMap::new);
        for (serial, record) in revocations {
            all.entry(serial)
                .and_modify(|existing| {
                    if record.void_from() < existing.void_from() {
                        *existing = record;
                    }
                })
                .or_insert(record);
        }
    }
}

/// SHA-256 (hex) of a root's subject, as DER: the same for every copy of one
/// department's root, whatever its serial, extensions or key. A re-keyed
/// root configured beside the old one (a rotation) meets the old one's CRL
/// floor with its own newer CRL: keyed by subject and key, the old root's
/// floor would refuse every list without the old key's CRL (review of
/// session 19). Revocations are matched to roots by subject too
/// (`revocation_of_entry`), so this adds no reach to a key of the same name.
fn root_identity(certificate: &ParsedCertificate) -> String {
    use der::Encode as _;
    use sha2::Digest as _;
    let tbs = &certificate.raw.tbs_certificate;
    hex::encode(sha2::Sha256::digest(tbs.subject.to_der().unwrap_or_default()))
}

/// A trust list offered to replace the held one carries an older revocation
/// list of a configured root than the held one, or none
/// ([`TrustStore::crl_rolled_back_by`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRollback {
    /// The root (department) whose CRL went back.
    pub root: String,
    /// `thisUpdate` of its CRL in the held list.
    pub held: DateTime<Utc>,
    /// `thisUpdate` of its newest CRL in the offered list (`None`: none).
    pub offered: Option<DateTime<Utc>>,
}

impl std::fmt::Display for CrlRollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.held.format("%Y-%m-%d %H:%M:%S UTC");
        match self.offered {
            Some(offered) => write!(
                f,
                "it carries the revocation list of {} of {}, older than the one held (of {held})",
                self.root,
                offered.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => write!(f, "it leaves out the revocation list of {} (the one held is of {held})", self.root),
        }
    }
}

/// How far a trust list's sequence may run ahead of the newest one a
/// verifier accepted. A department skips numbers while a verifier is offline,
/// never 2^32 of them; a list signed by a stolen signer key with sequence
/// `u64::MAX` would otherwise set a rollback floor no genuine list can pass,
/// shutting every verifier out of the department's lists for good. A jump
/// beyond it is refused; the department can always publish within it.
pub const MAX_SEQUENCE_STEP: u64 = 1 << 32;

/// An issuer certificate, indexed by its key.
#[derive(Debug, Clone)]
pub(crate) struct IssuerEntry {
    der: Vec<u8>,
    did: String,
    serial: Vec<u8>,
    serial_hex: String,
    issuer_name: x509_cert::name::Name,
    organization_name: String,
    usci: Option<String>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    digital_signature: bool,
    allowed_types: Vec<String>,
    /// The anchor (index into the store's anchors) this certificate's path
    /// validation ended at, once it succeeded for some signing time. Path
    /// validation checks the root's signature over the certificate, the
    /// extended key usage and the basic constraints, which do not depend on
    /// the time, and the certificate's validity period, which does; so with
    /// an anchor kept, a signing time inside the validity period gets the
    /// same path without validating it again (an X.509 signature check per
    /// verification, ~11% of the verifier's CPU over HTTP, issue #16). A time
    /// outside it is validated in full, for webpki's own error.
    verified_anchor: std::sync::OnceLock<usize>,
}

impl IssuerEntry {
    pub(crate) fn new(certificate: ParsedCertificate, did: String) -> Self {
        let tbs = &certificate.raw.tbs_certificate;
        Self {
            serial: tbs.serial_number.as_bytes().to_vec(),
            serial_hex: asn1::serial_hex(&tbs.serial_number),
            issuer_name: tbs.issuer.clone(),
            organization_name: certificate.organization_name.clone().unwrap_or_else(|| certificate.display_subject()),
            usci: certificate.usci.clone(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            digital_signature: certificate.digital_signature,
            allowed_types: certificate.allowed_types.clone(),
            verified_anchor: std::sync::OnceLock::new(),
            did,
            der: certificate.der,
        }
    }
}

/// Why an issuer is not trusted for a credential: the stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerTrustFailureCode {
    /// No issuer certificate in the trust list for the signing key.
    UnknownIssuer,
    /// The certificate does not chain to a configured root.
    UntrustedRoot,
    /// The certificate (or its root) was not valid at the signing time.
    IssuerCertificateExpired,
    /// The certificate does not allow credential signing (EKU / keyUsage).
    WrongKeyUsage,
    /// The trust list has no CRL from the certificate's root.
    IssuerRevocationUnknown,
    /// The certificate was revoked in a way that voids this signature.
    IssuerRevoked,
    /// The certificate does not list this kind of credential.
    TypeNotAllowed,
    /// The certificate lists it, but its department root may not authorise
    /// it (the root's credential-types extension).
    TypeNotAuthorisedByRoot,
}

impl IssuerTrustFailureCode {
    /// The stable machine code, e.g. `issuer_revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownIssuer => "unknown_issuer",
            Self::UntrustedRoot => "untrusted_root",
            Self::IssuerCertificateExpired => "issuer_certificate_expired",
            Self::WrongKeyUsage => "wrong_key_usage",
            Self::IssuerRevocationUnknown => "issuer_revocation_unknown",
            Self::IssuerRevoked => "issuer_revoked",
            Self::TypeNotAllowed => "type_not_allowed",
            Self::TypeNotAuthorisedByRoot => "type_not_authorised_by_root",
        }
    }

    /// How far a certificate got before failing; with several certificates
    /// for one key, the failure of the one that got furthest is reported.
    fn progress(self) -> u8 {
        match self {
            Self::UnknownIssuer => 0,
            Self::UntrustedRoot => 1,
            Self::IssuerCertificateExpired => 2,
            Self::WrongKeyUsage => 3,
            Self::IssuerRevocationUnknown => 4,
            Self::IssuerRevoked => 5,
            Self::TypeNotAllowed => 6,
            Self::TypeNotAuthorisedByRoot => 7,
        }
    }
}

/// A finding of [`TrustStore::assess_issuer_from`], not a refusal: the
/// credential claims validity (`validFrom`) from before its organisation was
/// authorised for its types. The verifier reports it as a warning, the
/// issuer in its issuance answer; both with [`Self::CODE`] and this text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidFromBeforeAuthorisation {
    /// For the inspector (or the issuing clerk), in zh and en.
    pub reason: Localized,
}

impl ValidFromBeforeAuthorisation {
    /// The stable warning code.
    pub const CODE: &'static str = "valid_from_before_authorisation";

    fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { reason: Localized::new(zh, en) }
    }

    /// As a report warning.
    pub fn to_warning(&self) -> crate::report::Warning {
        crate::report::Warning { code: Self::CODE.to_owned(), message: self.reason.clone() }
    }
}

/// When a credential claims to be valid from: `validFrom`, else
/// `issuanceDate` (RFC 3339); `None` when neither is there or readable (the
/// validity check reports an unreadable date). What the backdating rule
/// ([`TrustStore::assess_issuer_from`]) compares with the authorisation.
pub fn claimed_start(vc: &serde_json::Value) -> Option<DateTime<Utc>> {
    let stated = vc.get("validFrom").or_else(|| vc.get("issuanceDate"))?.as_str()?;
    DateTime::parse_from_rfc3339(stated).ok().map(|d| d.with_timezone(&Utc))
}

/// Why an issuer is not trusted: code and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerTrustFailure {
    /// Stable code.
    pub code: IssuerTrustFailureCode,
    /// For the inspector, in zh and en.
    pub reason: Localized,
}

impl IssuerTrustFailure {
    fn new(code: IssuerTrustFailureCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { code, reason: Localized::new(zh, en) }
    }

    /// As a verification check result.
    pub fn to_check_result(&self) -> CheckResult {
        CheckResult::Invalid { code: self.code.as_str().to_owned(), reason: self.reason.clone() }
    }
}

/// Verified trust data: the configured roots, the issuer certificates and
/// revocations from a trust list. Immutable; share it (`Arc`) across threads.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    roots: Vec<RootEntry>,
    listed_untrusted_roots: Vec<ParsedCertificate>,
    issuers: Vec<IssuerEntry>,
    issuers_by_key: HashMap<String, Vec<usize>>,
    sequence: u64,
    issued_at: DateTime<Utc>,
    next_update: DateTime<Utc>,
    warnings: Vec<String>,
    /// The trust-list signer certificate the list was signed with, when it
    /// is not a configured root.
    signer: Option<ParsedCertificate>,
}

fn when(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl TrustStore {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        anchors: Vec<TrustAnchor<'static>>,
        roots: Vec<RootEntry>,
        listed_untrusted_roots: Vec<ParsedCertificate>,
        issuers: Vec<IssuerEntry>,
        issuers_by_key: HashMap<String, Vec<usize>>,
        sequence: u64,
        issued_at: DateTime<Utc>,
        next_update: DateTime<Utc>,
        warnings: Vec<String>,
    ) -> Self {
        Self {
            anchors,
            roots,
            listed_untrusted_roots,
            issuers,
            issuers_by_key,
            sequence,
            issued_at,
            next_update,
            warnings,
            signer: None,
        }
    }

    /// The same store, its list signed by `signer` (a trust-list signer
    /// certificate, not a configured root).
    pub(crate) fn with_signer(mut self, signer: Option<ParsedCertificate>) -> Self {
        self.signer = signer;
        self
    }

    /// Whether this list's CRLs revoke the certificate that signed `next`, a
    /// list offered to replace this one: a revoked trust-list signer (its key
    /// stolen, or rotated away) must not install a list that simply leaves
    /// its own revocation out. Any reason counts: a signer revoked for
    /// rotation signs nothing new either.
    pub fn revokes_signer_of(&self, next: &TrustStore) -> bool {
        next.signer.as_ref().is_some_and(|signer| self.revokes(signer))
    }

    /// The first configured root whose revocation list this list holds and
    /// `next`, a list offered to replace it, holds only in an older version
    /// (an earlier `thisUpdate`) or not at all: `next` falls below this
    /// list's [`TrustStore::crl_floors`].
    ///
    /// Any configured root, or a trust-list signer under one, may sign the
    /// trust list. The thief of one department's root key would otherwise
    /// sign a newer list carrying another department's CRL from before its
    /// latest revocations (still within its `nextUpdate`, so it loads), and
    /// every verifier would trust the revoked clinics again; or leave that
    /// CRL out, and every credential of the department would turn
    /// `issuer_revocation_unknown`. A verifier keeps the list it holds
    /// instead. Roots are matched by subject (a re-signed or re-keyed copy
    /// is the same department: see `root_identity`).
    pub fn crl_rolled_back_by(&self, next: &TrustStore) -> Option<CrlRollback> {
        next.crl_below(&self.crl_floors())
    }

    /// Per configured root holding a CRL in this list, its newest CRL's
    /// `thisUpdate`, keyed by the root's identity (SHA-256 of its subject,
    /// hex). A verifier keeps these across restarts so that no
    /// later list goes back on them, whatever became of the list it held.
    pub fn crl_floors(&self) -> BTreeMap<String, DateTime<Utc>> {
        let mut floors = BTreeMap::new();
        for root in &self.roots {
            if let Some(newest) = root.newest_crl {
                let floor = floors.entry(root.identity.clone()).or_insert(newest);
                *floor = (*floor).max(newest);
            }
        }
        floors
    }

    /// The first configured root for which `floors` holds a CRL date (see
    /// [`TrustStore::crl_floors`]) and this list holds an older CRL, or none.
    /// Floors of roots not configured here are ignored: a department that
    /// re-keys or leaves is removed from the verifier's configured roots.
    pub fn crl_below(&self, floors: &BTreeMap<String, DateTime<Utc>>) -> Option<CrlRollback> {
        self.roots.iter().find_map(|root| {
            let floor = *floors.get(&root.identity)?;
            let offered = self
                .roots
                .iter()
                .filter(|other| other.identity == root.identity)
                .filter_map(|other| other.newest_crl)
                .max();
            (offered < Some(floor)).then(|| CrlRollback { root: root.name.clone(), held: floor, offered })
        })
    }

    /// Whether this list's CRLs revoke `certificate` (for any reason).
    pub(crate) fn revokes(&self, certificate: &ParsedCertificate) -> bool {
        self.roots.iter().any(|root| root.revocation_of(certificate).is_some())
    }

    /// The trust list's sequence number.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Whether this list may follow the newest one accepted, of sequence
    /// `floor`: not older (a rollback), and not more than
    /// [`MAX_SEQUENCE_STEP`] ahead of it.
    pub fn may_follow(&self, floor: u64) -> bool {
        self.sequence >= floor && self.sequence - floor <= MAX_SEQUENCE_STEP
    }

    /// When the trust list was made.
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    /// When the next trust list is due.
    pub fn next_update(&self) -> DateTime<Utc> {
        self.next_update
    }

    /// How many issuer certificates were loaded.
    pub fn issuer_certificate_count(&self) -> usize {
        self.issuers.len()
    }

    /// The configured roots' names.
    pub fn root_names(&self) -> Vec<String> {
        self.roots.iter().map(|root| root.name.clone()).collect()
    }

    /// Entries that were left out or ignored while loading.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The configured roots (display names) that may authorise issuers for
    /// any credential type: no credential-types extension. A department
    /// should re-sign such a root with the types it is responsible for
    /// (`ecert-pki bound-root`); until then its mistakes or its thief's
    /// reach every type.
    pub fn roots_authorising_any_type(&self) -> Vec<String> {
        self.roots.iter().filter(|root| root.authorised_types().is_none()).map(|root| root.name.clone()).collect()
    }

    /// Are both keys certified in this list, under the same configured root,
    /// for the same organisation (unified social credit code)? A clinic that
    /// rotated its key signs its status lists with the new key; this is how a
    /// verifier accepts that list for credentials signed with the old one.
    pub fn same_organization(&self, did_a: &str, did_b: &str) -> bool {
        let a = self.organizations_of(did_a);
        self.organizations_of(did_b).iter().any(|b| a.contains(b))
    }

    /// May a status list signed by `list_signer`, valid from `at` (its
    /// `validFrom`), say what became of the credentials signed by
    /// `credential_signer`?
    ///
    /// - Its own key: yes, unless a revocation says someone else may hold
    ///   it (compromise, from its void time) or the department no longer
    ///   vouches for the signer's conduct (withdrawal, hold, from the
    ///   revocation): a thief of the key, or a withdrawn clinic, would
    ///   otherwise clear its own revocations. A key rotated away or of a
    ///   clinic that closed still keeps its credentials' lists.
    /// - Another key (a rotation): only one certified here for the same
    ///   organisation by a certificate in force at `at` (path valid then,
    ///   not revoked as of then, for any reason). A retired, expired or
    ///   revoked key of the organisation must not clear the revocations of
    ///   every credential the organisation signed, its current key's included.
    pub fn may_sign_status_lists(&self, list_signer: &str, credential_signer: &str, at: DateTime<Utc>) -> bool {
        let entries =
            |did: &str| self.certificates_of_key(did).into_iter().flatten().filter_map(|&i| self.issuers.get(i));
        if list_signer == credential_signer {
            return !entries(list_signer).any(|entry| {
                self.revocation_of_entry(entry)
                    .and_then(RevocationRecord::evidence_needed_before)
                    .is_some_and(|from| at >= from)
            });
        }
        self.same_organization(list_signer, credential_signer)
            && entries(list_signer).any(|entry| self.in_force_at(entry, at))
    }

    /// The revocation of an issuer certificate by its root's CRLs, if any.
    fn revocation_of_entry(&self, entry: &IssuerEntry) -> Option<&RevocationRecord> {
        self.roots
            .iter()
            .filter(|root| root.certificate.raw.tbs_certificate.subject == entry.issuer_name)
            .find_map(|root| root.revocations.as_ref()?.get(&entry.serial))
    }

    /// Is the certificate in force at `at`: within its validity, its path to
    /// a configured root valid then (credential-signing usage), its root's
    /// revocations known, and none voiding a signature made then?
    fn in_force_at(&self, entry: &IssuerEntry, at: DateTime<Utc>) -> bool {
        let refused =
            |_: String, _: String| IssuerTrustFailure::new(IssuerTrustFailureCode::IssuerCertificateExpired, "", "");
        let untrusted = |_: String| IssuerTrustFailure::new(IssuerTrustFailureCode::UntrustedRoot, "", "");
        let usage = |_: &str, _: &str| IssuerTrustFailure::new(IssuerTrustFailureCode::WrongKeyUsage, "", "");
        let Ok(root) = self.root_at(entry, at, &refused, &untrusted, &usage) else { return false };
        root.revocations
            .as_ref()
            .is_some_and(|revocations| !revocations.get(&entry.serial).is_some_and(|r| r.voids_signature_at(at)))
    }

    /// The configured root `issuer`'s path ends at, both valid at
    /// `signed_at`: path validation at that time, kept once it succeeded
    /// (see `IssuerEntry::verified_anchor`), and the root's own validity.
    fn root_at(
        &self,
        issuer: &IssuerEntry,
        signed_at: DateTime<Utc>,
        expired: &dyn Fn(String, String) -> IssuerTrustFailure,
        untrusted: &dyn Fn(String) -> IssuerTrustFailure,
        wrong_usage: &dyn Fn(&str, &str) -> IssuerTrustFailure,
    ) -> Result<&RootEntry, IssuerTrustFailure> {
        let kept = issuer
            .verified_anchor
            .get()
            .copied()
            .filter(|_| issuer.not_before <= signed_at && signed_at <= issuer.not_after);
        let anchor_position = match kept {
            Some(position) => position,
            None => {
                let position = self.validate_path(issuer, signed_at, expired, untrusted, wrong_usage)?;
                // Two threads may both validate; they find the same anchor.
                let _ = issuer.verified_anchor.set(position);
                position
            }
        };
        let Some(root) = self.roots.get(anchor_position) else {
            return Err(untrusted("anchor not found".into()));
        };
        if signed_at < root.certificate.not_before || signed_at > root.certificate.not_after {
            return Err(expired(
                format!("根证书“{}”当时无效", root.name),
                format!("the root “{}” was not valid then", root.name),
            ));
        }
        Ok(root)
    }

    /// The organisations (credit code, certifying root) the key in `did` is
    /// certified for by a configured root, whatever the certificates' validity.
    fn organizations_of(&self, did: &str) -> Vec<(&str, &x509_cert::name::Name)> {
        self.certificates_of_key(did)
            .into_iter()
            .flatten()
            .filter_map(|i| self.issuers.get(*i))
            .filter(|e| self.roots.iter().any(|r| r.certificate.raw.tbs_certificate.subject == e.issuer_name))
            .filter_map(|e| e.usci.as_deref().map(|u| (u, &e.issuer_name)))
            .collect()
    }

    /// The unified social credit code of the organisation certified for the key
    /// in `did` by a configured root (the first such certificate that names one),
    /// whatever the certificate's validity: an issuer reads its own code here.
    pub fn organization_usci(&self, did: &str) -> Option<String> {
        self.certificates_of_key(did)?
            .iter()
            .filter_map(|i| self.issuers.get(*i))
            .filter(|e| self.roots.iter().any(|r| r.certificate.raw.tbs_certificate.subject == e.issuer_name))
            .find_map(|e| e.usci.clone())
    }

    /// The indexes in `issuers` of the certificates for the key in `did` (a
    /// `did:key`, fragment allowed). The index is keyed by each certificate
    /// key's canonical `did:key`: a DID found as it is names that key; any
    /// other spelling is decoded and written canonically first (issue #16:
    /// the encoding was 2% of a verification).
    fn certificates_of_key(&self, did: &str) -> Option<&Vec<usize>> {
        let written = did.split('#').next().unwrap_or(did);
        match self.issuers_by_key.get(written) {
            Some(found) => Some(found),
            None => self.issuers_by_key.get(&TrustPublicKey::from_did(did)?.did()),
        }
    }

    /// The issuer-trust check for a credential: see [`TrustStore::assess_issuer`].
    pub fn check_issuer(
        &self,
        verification_method_did: &str,
        credential_types: &[String],
        signed_at: DateTime<Utc>,
    ) -> CheckResult {
        match self.assess_issuer(verification_method_did, credential_types, signed_at) {
            Ok(_) => CheckResult::Valid,
            Err(failure) => failure.to_check_result(),
        }
    }

    /// Is the key in `verification_method_did` (a P-256 or SM2 `did:key`, fragment
    /// allowed) certified, at `signed_at` (the proof's `created`), by a
    /// configured department root for every one of `credential_types` (other
    /// than `VerifiableCredential`; at least one must be named)? Every
    /// certificate for the key is tried; any one that passes suffices (one
    /// certificate must list all the types: two certificates each listing one
    /// do not add up). Otherwise the failure of the certificate that
    /// got furthest is returned.
    ///
    /// # Errors
    /// An [`IssuerTrustFailure`] naming the cause.
    pub fn assess_issuer(
        &self,
        verification_method_did: &str,
        credential_types: &[String],
        signed_at: DateTime<Utc>,
    ) -> Result<TrustedIssuer, IssuerTrustFailure> {
        self.assess_issuer_entry(verification_method_did, credential_types, signed_at).map(|(trusted, _)| trusted)
    }

    /// [`TrustStore::assess_issuer`] at `signed_at`, and whether the
    /// credential's claimed start `valid_from` (`validFrom`, else
    /// `issuanceDate`), when earlier than `signed_at`, precedes the
    /// organisation's authorisation: the certificate that passed covers it
    /// when it was already valid at `valid_from`; otherwise another
    /// certificate of the same organisation (same credit code, same root: the
    /// key before a rotation) must pass the whole check, every type included,
    /// at `valid_from`. A `valid_from` after `signed_at` is the validity
    /// check's business.
    ///
    /// The second part is a finding for the report, not a refusal: every
    /// shipped type's `validFrom` is the date of an event the issuer attests
    /// (the examination, the registration, the vaccination), which may
    /// rightly precede the issuer's current certificate (a physician
    /// registered in 2015, certified by an office whose certificate of then
    /// has left the trust list). Backdating the *signature* is what the
    /// anchoring check refuses.
    ///
    /// # Errors
    /// [`TrustStore::assess_issuer`]'s.
    pub fn assess_issuer_from(
        &self,
        verification_method_did: &str,
        credential_types: &[String],
        signed_at: DateTime<Utc>,
        valid_from: Option<DateTime<Utc>>,
    ) -> Result<(TrustedIssuer, Option<ValidFromBeforeAuthorisation>), IssuerTrustFailure> {
        let (trusted, entry) = self.assess_issuer_entry(verification_method_did, credential_types, signed_at)?;
        let Some(from) = valid_from.filter(|from| *from < signed_at) else { return Ok((trusted, None)) };
        if entry.not_before <= from {
            return Ok((trusted, None));
        }
        let organizations = self.organizations_of(verification_method_did);
        let authorised_then = self
            .issuers
            .iter()
            .filter(|e| e.usci.as_deref().is_some_and(|u| organizations.contains(&(u, &e.issuer_name))))
            .filter(|e| e.not_before <= from && from <= e.not_after)
            .any(|e| self.assess_certificate(e, credential_types, from).is_ok());
        if authorised_then {
            return Ok((trusted, None));
        }
        let organization = &trusted.organization_name;
        let finding = ValidFromBeforeAuthorisation::new(
            format!(
                "凭证声明自 {} 起有效，早于签发机构“{organization}”获授权签发此类凭证的时间（证书自 {} 起有效）：请核实生效日期",
                when(from),
                when(entry.not_before)
            ),
            format!(
                "the credential claims validity from {}, before “{organization}” was authorised to issue it \
                 (its certificate is valid from {}): check the start date",
                when(from),
                when(entry.not_before)
            ),
        );
        Ok((trusted, Some(finding)))
    }

    /// [`TrustStore::assess_issuer`], with the certificate that passed.
    fn assess_issuer_entry(
        &self,
        verification_method_did: &str,
        credential_types: &[String],
        signed_at: DateTime<Utc>,
    ) -> Result<(TrustedIssuer, &IssuerEntry), IssuerTrustFailure> {
        let did = verification_method_did.split('#').next().unwrap_or(verification_method_did);
        let unknown = || {
            let shown_did: String = did.chars().take(80).collect();
            IssuerTrustFailure::new(
                IssuerTrustFailureCode::UnknownIssuer,
                format!("签名密钥 {shown_did} 不在信任列表中：签发机构未获任何主管部门授权"),
                format!(
                    "the signing key {shown_did} is not in the trust list: no department has authorised this issuer"
                ),
            )
        };
        let candidates = self.certificates_of_key(verification_method_did).ok_or_else(unknown)?;

        let mut best: Option<IssuerTrustFailure> = None;
        for &index in candidates {
            let Some(issuer) = self.issuers.get(index) else {
                continue;
            };
            match self.assess_certificate(issuer, credential_types, signed_at) {
                Ok(trusted) => return Ok((trusted, issuer)),
                Err(failure) => {
                    if best.as_ref().is_none_or(|b| failure.code.progress() > b.code.progress()) {
                        best = Some(failure);
                    }
                }
            }
        }
        Err(best.unwrap_or_else(unknown))
    }

    /// rustls-webpki's path validation of `issuer` at `signed_at`: the index
    /// of the anchor its path ends at.
    #[allow(deprecated)] // webpki::Error::RequiredEkuNotFound, still produced by old paths
    fn validate_path(
        &self,
        issuer: &IssuerEntry,
        signed_at: DateTime<Utc>,
        expired: &dyn Fn(String, String) -> IssuerTrustFailure,
        untrusted: &dyn Fn(String) -> IssuerTrustFailure,
        wrong_usage: &dyn Fn(&str, &str) -> IssuerTrustFailure,
    ) -> Result<usize, IssuerTrustFailure> {
        let Ok(seconds) = u64::try_from(signed_at.timestamp()) else {
            return Err(expired("签名时间早于1970年".into(), "signed before 1970".into()));
        };
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
        let certificate_der = CertificateDer::from(issuer.der.as_slice());
        let end_entity = webpki::EndEntityCert::try_from(&certificate_der).map_err(|e| untrusted(format!("{e:?}")))?;
        let path = end_entity
            .verify_for_usage(
                WEBPKI_ALGORITHMS,
                &self.anchors,
                &[],
                time,
                webpki::KeyUsage::required(oid::CREDENTIAL_SIGNING_EKU_OID_DER),
                None,
                None,
            )
            .map_err(|error| match error {
                webpki::Error::CertExpired { not_after, .. } => expired(
                    format!("已于 {} 过期", unix_when(not_after)),
                    format!("it expired {}", unix_when(not_after)),
                ),
                webpki::Error::CertNotValidYet { not_before, .. } => expired(
                    format!("自 {} 起才生效", unix_when(not_before)),
                    format!("it is valid only from {}", unix_when(not_before)),
                ),
                webpki::Error::InvalidCertValidity => {
                    expired("有效期无效".into(), "its validity period is invalid".into())
                }
                webpki::Error::RequiredEkuNotFound
                | webpki::Error::RequiredEkuNotFoundContext(_)
                | webpki::Error::EmptyEkuExtension => wrong_usage(
                    "缺少凭证签发用途（扩展密钥用法）",
                    "it lacks the credential-signing extended key usage",
                ),
                webpki::Error::CaUsedAsEndEntity => wrong_usage("这是CA证书", "it is a CA certificate"),
                webpki::Error::UnknownIssuer => untrusted("unknown issuer".into()),
                other => untrusted(format!("{other:?}")),
            })?;
        let anchor = path.anchor();
        self.anchors
            .iter()
            .position(|candidate| std::ptr::eq(candidate, anchor))
            .ok_or_else(|| untrusted("anchor not found".into()))
    }

    fn assess_certificate(
        &self,
        issuer: &IssuerEntry,
        credential_types: &[String],
        signed_at: DateTime<Utc>,
    ) -> Result<TrustedIssuer, IssuerTrustFailure> {
        use IssuerTrustFailureCode as Code;
        let organization = &issuer.organization_name;
        let expired = |zh_detail: String, en_detail: String| {
            IssuerTrustFailure::new(
                Code::IssuerCertificateExpired,
                format!("签发机构“{organization}”的证书在签名时（{}）无效：{zh_detail}", when(signed_at)),
                format!(
                    "the certificate of “{organization}” was not valid when the credential was signed ({}): {en_detail}",
                    when(signed_at)
                ),
            )
        };
        let untrusted = |detail: String| {
            let root_name = self
                .listed_untrusted_roots
                .iter()
                .find(|root| root.raw.tbs_certificate.subject == issuer.issuer_name)
                .map(ParsedCertificate::display_subject)
                .unwrap_or_else(|| asn1::display_name(&issuer.issuer_name));
            IssuerTrustFailure::new(
                Code::UntrustedRoot,
                format!("签发机构“{organization}”的证书由“{root_name}”签发，本验证器不信任该根证书（{detail}）"),
                format!(
                    "the certificate of “{organization}” was issued by “{root_name}”, which this verifier does not trust ({detail})"
                ),
            )
        };
        let wrong_usage = |zh_detail: &str, en_detail: &str| {
            IssuerTrustFailure::new(
                Code::WrongKeyUsage,
                format!("签发机构“{organization}”的证书不允许签发凭证：{zh_detail}"),
                format!("the certificate of “{organization}” does not allow signing credentials: {en_detail}"),
            )
        };

        let root = self.root_at(issuer, signed_at, &expired, &untrusted, &wrong_usage)?;
        if !issuer.digital_signature {
            return Err(wrong_usage("密钥用法缺少数字签名", "its key usage lacks digitalSignature"));
        }

        // Revocation.
        let Some(revocations) = &root.revocations else {
            return Err(IssuerTrustFailure::new(
                Code::IssuerRevocationUnknown,
                format!("信任列表中没有“{}”的吊销列表，无法确认签发机构证书未被吊销", root.name),
                format!(
                    "the trust list has no revocation list from “{}”: whether the issuer's certificate is revoked is unknown",
                    root.name
                ),
            ));
        };
        if let Some(record) = revocations.get(&issuer.serial) {
            if record.voids_signature_at(signed_at) {
                let reason = record.reason.as_str();
                let (zh, en) = if record.reason.voids_earlier_signatures() {
                    (
                        format!(
                            "签发机构“{organization}”的证书因密钥泄露被吊销（{}）：自 {} 起签发的凭证无效",
                            reason,
                            when(record.void_from())
                        ),
                        format!(
                            "the certificate of “{organization}” was revoked for key compromise ({reason}): credentials signed from {} on are void",
                            when(record.void_from())
                        ),
                    )
                } else {
                    (
                        format!(
                            "签发机构“{organization}”的证书已于 {} 吊销（{}），此后签发的凭证无效",
                            when(record.revoked_at),
                            reason
                        ),
                        format!(
                            "the certificate of “{organization}” was revoked {} ({reason}); credentials signed after that are void",
                            when(record.revoked_at)
                        ),
                    )
                };
                return Err(IssuerTrustFailure::new(Code::IssuerRevoked, zh, en));
            }
        }
        let withdrawn_at = revocations.get(&issuer.serial).and_then(RevocationRecord::evidence_needed_before);

        // Authorised for this kind of credential? Every type the credential
        // claims (other than the base `VerifiableCredential`) must be listed:
        // one listed type is not enough, or a clinic certified for dog
        // vaccinations could add `HealthCertificate` to its credentials' types.
        let specific_types: Vec<&String> =
            credential_types.iter().filter(|t| t.as_str() != BASE_CREDENTIAL_TYPE).collect();
        let allowed = issuer.allowed_types.join(", ");
        if specific_types.is_empty() {
            return Err(IssuerTrustFailure::new(
                Code::TypeNotAllowed,
                format!("凭证没有声明具体类型，无法确认签发机构“{organization}”获授权；仅限：{allowed}"),
                format!(
                    "the credential names no specific type, so “{organization}” cannot be shown to be authorised for it; only: {allowed}"
                ),
            ));
        }
        if let Some(requested) = types_outside(&specific_types, &issuer.allowed_types) {
            return Err(IssuerTrustFailure::new(
                Code::TypeNotAllowed,
                format!("签发机构“{organization}”未获授权签发此类凭证（{requested}）；仅限：{allowed}"),
                format!(
                    "“{organization}” is not authorised to issue this kind of credential ({requested}); only: {allowed}"
                ),
            ));
        }

        // And its department for them? A root that lists types authorises
        // only those: an agriculture bureau's root that certifies a pet
        // clinic for `HealthCertificate` has certified nothing an inspector
        // should trust.
        if let Some(bound) = root.authorised_types() {
            if let Some(requested) = types_outside(&specific_types, bound) {
                let root_allows = bound.join(", ");
                return Err(IssuerTrustFailure::new(
                    Code::TypeNotAuthorisedByRoot,
                    format!(
                        "签发机构“{organization}”的证书由“{}”签发，该部门无权授权此类凭证（{requested}）；该部门仅可授权：{root_allows}",
                        root.name
                    ),
                    format!(
                        "the certificate of “{organization}” was issued by “{}”, which may not authorise this kind of credential ({requested}); that department may authorise only: {root_allows}",
                        root.name
                    ),
                ));
            }
        }

        Ok(TrustedIssuer {
            organization_name: issuer.organization_name.clone(),
            usci: issuer.usci.clone(),
            did: issuer.did.clone(),
            root_name: root.name.clone(),
            certificate_serial: issuer.serial_hex.clone(),
            certificate_not_after: issuer.not_after,
            // What the certificate lists and its root may authorise.
            allowed_types: issuer
                .allowed_types
                .iter()
                .filter(|t| root.authorised_types().is_none_or(|bound| bound.contains(t)))
                .cloned()
                .collect(),
            authorised_types: specific_types.into_iter().cloned().collect(),
            withdrawn_at,
        })
    }
}

/// The credential's types not in `allowed`, for a message (at most five,
/// each cut to 80 characters: the credential chose them); `None` when all are.
fn types_outside(types: &[&String], allowed: &[String]) -> Option<String> {
    let outside: Vec<String> =
        types.iter().filter(|t| !allowed.contains(**t)).take(5).map(|t| t.chars().take(80).collect()).collect();
    (!outside.is_empty()).then(|| outside.join(", "))
}

fn unix_when(time: UnixTime) -> String {
    i64::try_from(time.as_secs())
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .map(when)
        .unwrap_or_else(|| "?".into())
}
