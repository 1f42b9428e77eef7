//! Selective disclosure with the W3C `ecdsa-sd-2023` cryptosuite on P-256
//! (Data Integrity ECDSA Cryptosuites v1.0 §3.4).
//!
//! *What is `ssi`'s and what is ours.* `ssi-data-integrity-suites` (feature
//! `secp256r1`, already in the build) has the suite, and its **verification**
//! is used as is: it verifies the W3C derived vectors. Its **base proof and
//! derivation** are not: they order statements as values, not as N-Quads
//! strings (see [`Grouped`]), so its derivation of the W3C example differs
//! from the vector and its own base proof of a health certificate fails its
//! own verifier. Issuance and derivation here are the specification's
//! algorithms written out (§3.4.2–§3.4.6), on `ssi`'s primitives
//! (`ssi-di-sd-primitives`: skolemise, canonicalise and group, select), and
//! reproduce the W3C base proof and derived vector byte for byte.
//!
//! Three roles, three functions:
//!
//! 1. the **issuer** signs a *base proof* ([`sign_base_with`]): every
//!    statement of the credential is signed on its own with a proof-scoped
//!    key, and the *mandatory pointers* (JSON pointers the holder cannot
//!    withhold; for a credential type, its definition's `mandatoryPointers`,
//!    [`mandatory_pointers_for`]) are signed together by the issuer's key;
//! 2. the **holder** derives a credential that shows the mandatory statements
//!    and those it selects ([`derive_with`]), with a *derived proof*. The
//!    holder needs no key and nothing but the base-signed credential;
//! 3. the **verifier** checks a derived proof in the one verification routine
//!    ([`crate::verification::verify_credential`]). A *base* proof is never
//!    accepted there: it is the holder's secret material (it carries the HMAC
//!    key that blinds the blank-node labels), and the specification's
//!    verification algorithm reads only derived proofs (§3.4.7
//!    `parseDerivedProofValue` raises an error for anything else). It is
//!    refused with the code `sd_base_proof_presented` ([`check_proof_kinds`]).
//!
//! JSON-LD processing uses the caller's [`TypeRegistry`] loader (bundled and
//! generated contexts, never the network), and the document goes through our
//! budgeted canonicalisation before `ssi` canonicalises it, as for every suite.
//!
//! An `ecdsa-sd-2023` proof is not unlinkable: the base signature and the
//! proof-scoped public key are the same in every credential derived from one
//! base proof, so two inspectors can tell they saw the same certificate. It
//! hides values, not identity (see DESIGN.md).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use p256::ecdsa::signature::Signer as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use ssi_claims_core::VerificationParameters;
use ssi_data_integrity::{AnySuite, DataIntegrity, JsonPointerBuf};
use ssi_di_sd_primitives::canonicalize::create_hmac_id_label_map_function;
use ssi_di_sd_primitives::group::canonicalize_and_group;
use ssi_di_sd_primitives::select::select_json_ld;
use ssi_di_sd_primitives::HmacShaAnyKey;
use ssi_rdf::NQuadsStatement;
use std::borrow::Cow;
use std::collections::HashMap;

use crate::canonical::CanonicalizationError;
use crate::contexts::BundledLoader;
use crate::credential::format_timestamp;
use crate::credential_type::TypeRegistry;
use crate::data_model::{self, DataModelError};
use crate::did_key::DidKeyResolver;
use crate::issuance::{self, IssueError};
use crate::ld_claims::LdClaims;
use crate::localized::Localized;
use crate::report::CheckResult;
use crate::signer::IssuerSigner;

/// The cryptosuite name.
pub const CRYPTOSUITE: &str = "ecdsa-sd-2023";

/// CBOR tag header of a base proof value (`0xd9 0x5d 0x00`, §3.4.2).
const BASE_HEADER: [u8; 3] = [0xd9, 0x5d, 0x00];
/// CBOR tag header of a derived proof value (`0xd9 0x5d 0x01`, §3.4.5).
const DERIVED_HEADER: [u8; 3] = [0xd9, 0x5d, 0x01];

/// What an `ecdsa-sd-2023` `proofValue` is, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// The issuer's base proof (for the holder only).
    Base,
    /// A holder's derived proof (for verifiers).
    Derived,
    /// Neither: not multibase base64url, or another header.
    Unreadable,
}

/// The kind of an `ecdsa-sd-2023` proof value (`u` + base64url, no padding).
pub fn proof_kind(proof_value: &str) -> ProofKind {
    let Some(encoded) = proof_value.strip_prefix('u') else { return ProofKind::Unreadable };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded) else {
        return ProofKind::Unreadable;
    };
    match bytes.get(..3) {
        Some(h) if h == BASE_HEADER => ProofKind::Base,
        Some(h) if h == DERIVED_HEADER => ProofKind::Derived,
        _ => ProofKind::Unreadable,
    }
}

fn proof_entries(proof: &Value) -> Vec<&Value> {
    match proof {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn is_sd_proof(proof: &Value) -> bool {
    proof.get("cryptosuite").and_then(Value::as_str) == Some(CRYPTOSUITE)
}

/// The verifier's check of every `ecdsa-sd-2023` proof in `proof` (one or an
/// array): `Some(invalid)` for a base proof (`sd_base_proof_presented`) or a
/// proof value that is neither (`bad_signature`); `None` when every such proof
/// is a derived one (or there is none), for `ssi` to verify.
pub fn check_proof_kinds(proof: &Value) -> Option<CheckResult> {
    for p in proof_entries(proof).into_iter().filter(|p| is_sd_proof(p)) {
        let proof_value = p.get("proofValue").and_then(Value::as_str).unwrap_or("");
        match proof_kind(proof_value) {
            ProofKind::Derived => {
                let bytes = proof_value
                    .strip_prefix('u')
                    .and_then(|encoded| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).ok())
                    .unwrap_or_default();
                if let Some(refused) = check_derived_proof_value(&bytes) {
                    return Some(refused);
                }
            }
            ProofKind::Base => {
                return Some(CheckResult::invalid(
                    "sd_base_proof_presented",
                    "出示的是签发方的基础签名（ecdsa-sd-2023 base proof），不是持有人导出的选择性披露凭证：\
                     基础签名不得出示给核验方，请由钱包导出后再出示",
                    "this is the issuer's base proof (ecdsa-sd-2023), not a holder's derived credential: \
                     a base proof is never shown to a verifier; derive a credential in the wallet and show that",
                ))
            }
            ProofKind::Unreadable => {
                return Some(CheckResult::invalid(
                    "bad_signature",
                    "选择性披露签名（ecdsa-sd-2023）无法解析",
                    "the selective-disclosure proof (ecdsa-sd-2023) cannot be read",
                ))
            }
        }
    }
    None
}

/// Most per-statement signatures (and mandatory indexes) a derived proof may
/// carry: each stands for one statement of the shown credential, and a
/// shipped credential type has a few dozen. Beyond it the proof is refused
/// (`sd_proof_too_large`) before any signature is checked.
pub const MAX_DERIVED_STATEMENTS: usize = 1_024;

/// Most JSON pointers one derivation follows, the base proof's mandatory ones
/// and the holder's selection each: every pointer is one pass over the
/// document that copies what it selects, and a base proof value is outside
/// input wherever derivation is offered as a service (the verifier's
/// `/credentials/derive`). A shipped type names a handful. Beyond it:
/// [`DeriveError::TooManyPointers`] before anything is selected.
pub const MAX_DERIVE_POINTERS: usize = 256;

/// Most entries of a derived proof's label map: each names a blank node of
/// the shown credential, of which the canonicalisation budget allows
/// [`crate::canonical::MAX_BLANK_NODES`].
pub const MAX_DERIVED_LABELS: usize = crate::canonical::MAX_BLANK_NODES;

/// The shape and size of a derived proof value (§3.4.8 parseDerivedProofValue:
/// base signature, public key, signatures, label map, mandatory indexes),
/// checked before `ssi` reads it: `Some(invalid)` for another shape
/// (`sd_proof_malformed`) or more than [`MAX_DERIVED_STATEMENTS`] signatures or
/// indexes or [`MAX_DERIVED_LABELS`] labels (`sd_proof_too_large`). Reading is
/// linear in the proof value, which the document size limit bounds.
fn check_derived_proof_value(bytes: &[u8]) -> Option<CheckResult> {
    let malformed = |zh: &str, en: &str| {
        Some(CheckResult::invalid(
            "sd_proof_malformed",
            format!("选择性披露签名（ecdsa-sd-2023 derived proof）格式不对：{zh}"),
            format!("the selective-disclosure proof (ecdsa-sd-2023 derived proof) is malformed: {en}"),
        ))
    };
    let too_large = |what_zh: &str, what_en: &str, count: usize, max: usize| {
        Some(CheckResult::invalid(
            "sd_proof_too_large",
            format!("选择性披露签名含 {count} 个{what_zh}，超过上限 {max}"),
            format!("the selective-disclosure proof carries {count} {what_en}, more than the limit of {max}"),
        ))
    };
    let body = bytes.get(DERIVED_HEADER.len()..).unwrap_or_default();
    let Ok(components) = ciborium::from_reader::<Vec<ciborium::Value>, _>(body) else {
        return malformed("不是 CBOR 数组", "not a CBOR array");
    };
    let Ok([base_signature, public_key, signatures, labels, mandatory]) = <[ciborium::Value; 5]>::try_from(components)
    else {
        return malformed("应有 5 个部分", "it must have 5 components");
    };
    if !base_signature.is_bytes() || !public_key.is_bytes() {
        return malformed("基础签名或公钥不是字节串", "the base signature or public key is not a byte string");
    }
    let (Some(signatures), Some(labels), Some(mandatory)) =
        (signatures.as_array(), labels.as_map(), mandatory.as_array())
    else {
        return malformed(
            "签名、标签映射或必选索引的类型不对",
            "signatures, label map or mandatory indexes of the wrong kind",
        );
    };
    if signatures.len() > MAX_DERIVED_STATEMENTS {
        return too_large("逐条签名", "signatures", signatures.len(), MAX_DERIVED_STATEMENTS);
    }
    if mandatory.len() > MAX_DERIVED_STATEMENTS {
        return too_large("必选索引", "mandatory indexes", mandatory.len(), MAX_DERIVED_STATEMENTS);
    }
    if labels.len() > MAX_DERIVED_LABELS {
        return too_large("标签", "labels", labels.len(), MAX_DERIVED_LABELS);
    }
    let bytes_each = signatures.iter().all(ciborium::Value::is_bytes)
        && labels.iter().all(|(k, v)| k.is_integer() && v.is_bytes())
        && mandatory.iter().all(ciborium::Value::is_integer);
    if !bytes_each {
        return malformed(
            "签名、标签或索引的元素类型不对",
            "an item of the signatures, labels or indexes is of the wrong kind",
        );
    }
    None
}

/// What a derived credential of a registered type must show (checked by
/// [`crate::verification::verify_credential`] with the signature): `validFrom`,
/// `validUntil` (every credential of a registered type has both), and every
/// pointer of its type's `mandatoryPointers` that every credential of the type
/// carries: not an optional subject field, not `credentialStatus` or
/// `licenceId` (a credential may be issued without them, and
/// [`mandatory_pointers_for`] then skips them). The verifier cannot see which
/// pointers the issuer's base proof made mandatory; a base proof made with
/// fewer (another tool, a misconfiguration) would let the holder withhold the
/// name or the end of validity, and the credential would read as anonymous or
/// never expiring. `Some(invalid)` (`sd_mandatory_member_missing`) naming the
/// first member missing; `None` for other credentials.
pub(crate) fn check_shown_mandatory(vc: &Value, types: &TypeRegistry) -> Option<CheckResult> {
    let proof = vc.get("proof")?;
    if !proof_entries(proof).into_iter().any(is_sd_proof) {
        return None;
    }
    let definition = types.for_credential(vc)?;
    let optional_field = |pointer: &str| {
        pointer
            .strip_prefix("/credentialSubject/")
            .and_then(|name| definition.fields.iter().find(|f| f.name == name))
            .is_some_and(|field| !field.required)
    };
    let missing = ["/issuer", "/type", "/validFrom", "/validUntil"]
        .into_iter()
        .chain(definition.mandatory_pointers.iter().map(String::as_str))
        .filter(|pointer| !optional_field(pointer) && !matches!(*pointer, "/credentialStatus" | "/licenceId"))
        .find(|pointer| vc.pointer(pointer).is_none())?;
    let missing: String = missing.chars().take(80).collect();
    Some(CheckResult::invalid(
        "sd_mandatory_member_missing",
        format!("选择性披露的凭证缺少其类型规定必须出示的 {missing}"),
        format!("the selectively disclosed credential does not show {missing}, which its type makes mandatory"),
    ))
}

/// Whether `vc` carries one `ecdsa-sd-2023` **base** proof (what the issuer
/// hands the holder; [`derive_with`] reads it).
pub fn has_base_proof(vc: &Value) -> bool {
    vc.get("proof").is_some_and(|p| {
        is_sd_proof(p) && proof_kind(p.get("proofValue").and_then(Value::as_str).unwrap_or("")) == ProofKind::Base
    })
}

/// Domain tag of [`anchoring_digest`]: an anchored base signature can never be
/// taken for the digest of canonical N-Quads (or anything else in the log).
const ANCHOR_TAG: &[u8] = b"ecdsa-sd-2023 base signature\n";

/// The digest the issuer's transparency log records for a credential with one
/// `ecdsa-sd-2023` proof, base or derived, and `None` for any other credential
/// (its digest is that of its canonical N-Quads,
/// [`crate::transparency::credential_digest_with`]).
///
/// It is SHA-256 of [`ANCHOR_TAG`] and the **base signature** in low-S form.
/// The base signature is the issuer's signature over the proof options' hash,
/// the proof-scoped public key and the hash of the mandatory statements
/// (§3.4.2); every derived proof carries it unchanged (§3.4.5) and the
/// verifier checks it over the same three values recomputed from the derived
/// credential (§3.4.7). So the issuer's base credential and every credential
/// the holder derives from it have one digest, and a valid derived proof
/// cannot carry a base signature that was made for another credential. The
/// statements outside the mandatory group are bound through the proof-scoped
/// key, random per issuance, whose public half the base signature signs: two
/// issuances never share a base signature. An ECDSA signature `(r, s)` is also
/// valid as `(r, n − s)`: the low-S form makes that re-encoding land on the
/// same digest. Only the proof value is read (no canonicalisation); its
/// length is bounded by the caller's JSON limits.
pub fn anchoring_digest(vc: &Value) -> Option<[u8; 32]> {
    let proof = vc.get("proof")?;
    if !proof.is_object() || !is_sd_proof(proof) {
        return None;
    }
    let proof_value = proof.get("proofValue").and_then(Value::as_str)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(proof_value.strip_prefix('u')?).ok()?;
    let body = bytes.strip_prefix(&BASE_HEADER[..]).or_else(|| bytes.strip_prefix(&DERIVED_HEADER[..]))?;
    let components: Vec<ciborium::Value> = ciborium::from_reader(body).ok()?;
    let base_signature = components.into_iter().next()?.into_bytes().ok()?;
    let signature = p256::ecdsa::Signature::from_slice(&base_signature).ok()?;
    let low_s = signature.normalize_s().unwrap_or(signature);
    let mut hasher = Sha256::new();
    hasher.update(ANCHOR_TAG);
    hasher.update(low_s.to_bytes());
    Some(hasher.finalize().into())
}

/// Members every base proof makes mandatory, whatever the type declares: the
/// verifier's checks rest on them. Without `issuer` a derived credential is not
/// a credential (and trust is judged per `type`); a hidden `validUntil` would
/// turn "expired" into "no end of validity", a hidden `credentialStatus`
/// "revoked" into "no status entry", a hidden `licenceId` (证照标识) a wrong
/// identifier into "no identifier".
pub const ALWAYS_MANDATORY: &[&str] =
    &["/issuer", "/type", "/validFrom", "/validUntil", "/credentialStatus", "/licenceId"];

/// The mandatory pointers of `unsigned`: [`ALWAYS_MANDATORY`], then those its
/// credential type's definition adds (`mandatoryPointers`), each once, keeping
/// only those that point at a member the credential has (an optional field
/// left out, or no status entry, is not an error).
pub fn mandatory_pointers_for(types: &TypeRegistry, unsigned: &Value) -> Vec<String> {
    let declared = types.for_credential(unsigned).map(|def| def.mandatory_pointers.clone()).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for p in ALWAYS_MANDATORY.iter().map(|p| (*p).to_owned()).chain(declared) {
        if unsigned.pointer(&p).is_some() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A pointer list as `ssi` takes it: each an RFC 6901 pointer that resolves
/// in `document` (a pointer to nothing would make `ssi` fail deep inside).
fn pointers(document: &Value, list: &[String]) -> Result<Vec<ssi_data_integrity::JsonPointerBuf>, String> {
    list.iter()
        .map(|p| {
            let pointer = ssi_data_integrity::JsonPointerBuf::new(p.clone())
                .map_err(|_| format!("{p:?} is not a JSON pointer (RFC 6901)"))?;
            if p.is_empty() {
                return Err("the empty pointer (the whole document) cannot be selected".into());
            }
            if document.pointer(p).is_none() {
                return Err(format!("{p:?} points at nothing in the credential"));
            }
            Ok(pointer)
        })
        .collect()
}

/// Sign `unsigned` with an `ecdsa-sd-2023` base proof by `key`, created at
/// `created`, with the mandatory pointers of its credential type
/// ([`mandatory_pointers_for`]). The result goes to the holder only.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign_base_for_type(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
) -> Result<Value, IssueError> {
    let mandatory = mandatory_pointers_for(types, unsigned);
    sign_base_with(types, unsigned, key, created, &mandatory).await
}

/// Sign `unsigned` (a VC 2.0 credential without a proof) with an
/// `ecdsa-sd-2023` base proof by `key` (P-256), created at `created`, with
/// `mandatory` pointers (each must point at a member of `unsigned`). The same
/// checks as [`issuance::sign_credential_with`] run first (data model, JSON
/// limits, canonicalisation budget).
///
/// # Errors
/// See [`IssueError`]; a bad or dangling mandatory pointer is
/// [`IssueError::Signing`].
pub async fn sign_base_with(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
    mandatory: &[String],
) -> Result<Value, IssueError> {
    let mut hmac_key = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut hmac_key);
    let scoped = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    sign_base(&types.loader(), unsigned, key, created, mandatory, &hmac_key, &scoped).await
}

/// [`sign_base_with`] with given key material instead of fresh random keys:
/// the HMAC key and the proof-scoped P-256 secret key (32 bytes each), with
/// the contexts `loader` knows. For the W3C test vectors, which fix both.
/// Never for issuance: both keys must be fresh for every credential.
///
/// # Errors
/// See [`IssueError`]; a bad scoped key is [`IssueError::Signing`].
#[doc(hidden)]
pub async fn sign_base_with_key_material(
    loader: &BundledLoader,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
    mandatory: &[String],
    hmac_key: &[u8; 32],
    scoped_secret: &[u8; 32],
) -> Result<Value, IssueError> {
    let scoped = p256::ecdsa::SigningKey::from_slice(scoped_secret)
        .map_err(|e| IssueError::Signing(format!("proof-scoped key: {e}")))?;
    sign_base(loader, unsigned, key, created, mandatory, hmac_key, &scoped).await
}

async fn sign_base(
    loader: &BundledLoader,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    created: DateTime<Utc>,
    mandatory: &[String],
    hmac_key: &[u8; 32],
    scoped: &p256::ecdsa::SigningKey,
) -> Result<Value, IssueError> {
    if key.sm2_credential_key().is_some() {
        return Err(IssueError::Signing("ecdsa-sd-2023 is a P-256 suite: an SM2 issuer cannot sign it".into()));
    }
    if unsigned.get("proof").is_some() {
        return Err(IssueError::AlreadySigned);
    }
    crate::canonical::check_json_limits(unsigned).map_err(IssueError::TooComplex)?;
    data_model::check_credential_with(loader, unsigned)?;
    let unsigned = &issuance::with_data_integrity_context(unsigned);
    issuance::refuse_beyond_budget(loader, unsigned).await?;
    let mandatory =
        pointers(unsigned, mandatory).map_err(|e| IssueError::Signing(format!("mandatory pointer: {e}")))?;
    let credential = LdClaims::from_json(unsigned).map_err(IssueError::NotACredential)?;
    let mut proof = serde_json::Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
    proof.insert("created".into(), format_timestamp(created).into());
    proof.insert("verificationMethod".into(), key.verification_method().into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    let proof_hash = proof_config_hash(loader, unsigned, &proof).await.map_err(IssueError::Signing)?;

    // §3.4.2 base proof transformation: HMAC-labelled canonical statements,
    // split into the mandatory ones and the others.
    let grouped = group(loader, &credential, hmac_key, vec![(Group::Mandatory, mandatory.clone())])
        .await
        .map_err(IssueError::Signing)?;
    let mandatory_set = grouped.members(Group::Mandatory);
    let mut mandatory_text = String::new();
    let mut other_lines = Vec::new();
    for (i, line) in grouped.lines.iter().enumerate() {
        if mandatory_set.contains(&i) {
            mandatory_text.push_str(line);
        } else {
            other_lines.push(line);
        }
    }
    let mandatory_hash: [u8; 32] = Sha256::digest(mandatory_text.as_bytes()).into();

    // §3.4.3 base proof serialization: each other statement signed by a
    // proof-scoped key; the issuer signs proofHash ‖ that key ‖ mandatoryHash.
    let scoped_public = multicodec_p256(scoped.verifying_key());
    let signatures: Vec<ciborium::Value> = other_lines
        .iter()
        .map(|line| {
            let signature: p256::ecdsa::Signature = scoped.sign(line.as_bytes());
            ciborium::Value::Bytes(signature.to_bytes().to_vec())
        })
        .collect();
    let mut to_sign = proof_hash.to_vec();
    to_sign.extend_from_slice(&scoped_public);
    to_sign.extend_from_slice(&mandatory_hash);
    let base_signature = key.sign_es256(&to_sign).map_err(|e| IssueError::Signing(e.to_string()))?;
    let components = ciborium::Value::Array(vec![
        ciborium::Value::Bytes(base_signature.to_vec()),
        ciborium::Value::Bytes(scoped_public),
        ciborium::Value::Bytes(hmac_key.to_vec()),
        ciborium::Value::Array(signatures),
        ciborium::Value::Array(mandatory.iter().map(|p| ciborium::Value::Text(p.to_string())).collect()),
    ]);
    let proof_value = encode_proof_value(BASE_HEADER, &components).map_err(IssueError::Signing)?;
    proof.insert("proofValue".into(), proof_value.into());
    let mut out = unsigned.clone();
    if let Value::Object(map) = &mut out {
        map.insert("proof".into(), Value::Object(proof));
    }
    Ok(out)
}

/// `ssi-rdf` sorts quads as values (IRIs, then literals); the specification
/// sorts canonical N-Quads as strings (literals, `"`, before IRIs, `<`). So
/// `ssi`'s own base and derived proofs disagree with every other
/// implementation whenever the two orders differ (measured: its derivation
/// of the W3C example gives mandatory indexes `[3,4,6,9]`, the vector
/// `[0,4,5,7]`; its base proof of our health certificate fails its own
/// verifier). Here every statement list is in string order.
struct Grouped {
    /// The HMAC-labelled canonical N-Quads, sorted as strings.
    lines: Vec<String>,
    /// Per group, the positions in `lines` of the statements it selects.
    groups: Vec<(Group, std::collections::BTreeSet<usize>)>,
    /// Per group, the selection's own statements with their original
    /// (not HMAC) blank node labels, and the input → HMAC label map.
    deskolemized: Vec<(Group, Vec<ssi_rdf::LexicalQuad>)>,
    label_map: HashMap<String, String>,
}

impl Grouped {
    fn members(&self, group: Group) -> std::collections::BTreeSet<usize> {
        self.groups.iter().find(|(g, _)| *g == group).map(|(_, m)| m.clone()).unwrap_or_default()
    }
}

/// canonicalizeAndGroup (§3.4.11 of the spec, `ssi`'s primitive), with the
/// statements re-sorted as strings.
async fn group(
    loader: &BundledLoader,
    document: &LdClaims,
    hmac_key: &[u8],
    definitions: Vec<(Group, Vec<JsonPointerBuf>)>,
) -> Result<Grouped, String> {
    let hmac_key = HmacShaAnyKey::from_bytes(hmac_key).map_err(|_| "the HMAC key is not 32 bytes".to_owned())?;
    let mut hmac = hmac_key.to_hmac();
    let label_map_function = create_hmac_id_label_map_function(&mut hmac);
    let definitions: HashMap<Group, Cow<'_, [JsonPointerBuf]>> =
        definitions.into_iter().map(|(g, p)| (g, Cow::Owned(p))).collect();
    let canonical = canonicalize_and_group(loader, label_map_function, definitions, document)
        .await
        .map_err(|e| format!("canonicalisation failed: {e}"))?;
    let by_value: Vec<String> = canonical.quads.iter().map(|q| NQuadsStatement(q).to_string()).collect();
    let mut order: Vec<usize> = (0..by_value.len()).collect();
    order.sort_by(|a, b| by_value.get(*a).cmp(&by_value.get(*b)));
    let mut position = vec![0; by_value.len()];
    for (to, from) in order.iter().enumerate() {
        if let Some(slot) = position.get_mut(*from) {
            *slot = to;
        }
    }
    let lines: Vec<String> = order.iter().filter_map(|i| by_value.get(*i).cloned()).collect();
    let mut groups = Vec::new();
    let mut deskolemized = Vec::new();
    for (name, g) in canonical.groups {
        groups.push((name, g.matching.keys().filter_map(|i| position.get(*i).copied()).collect()));
        deskolemized.push((name, g.deskolemized_quads));
    }
    let label_map = canonical.label_map.iter().map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned())).collect();
    Ok(Grouped { lines, groups, deskolemized, label_map })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Group {
    Mandatory,
    Selective,
    Combined,
}

/// SHA-256 of the canonical proof configuration (the proof without
/// `proofValue`, in the document's `@context`).
async fn proof_config_hash(
    loader: &BundledLoader,
    document: &Value,
    proof: &serde_json::Map<String, Value>,
) -> Result<[u8; 32], String> {
    let mut config = proof.clone();
    config.remove("proofValue");
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    let canonical = crate::canonical::canonical_nquads_with(loader, &Value::Object(config))
        .await
        .map_err(|e| format!("the proof configuration cannot be canonicalised: {e}"))?;
    Ok(Sha256::digest(canonical.as_bytes()).into())
}

/// The multicodec `p256-pub` (0x1200) form of a key: `0x80 0x24` + SEC1 compressed.
fn multicodec_p256(key: &p256::ecdsa::VerifyingKey) -> Vec<u8> {
    let mut out = vec![0x80, 0x24];
    out.extend_from_slice(key.to_encoded_point(true).as_bytes());
    out
}

/// `u` + base64url(header ‖ CBOR(components)).
fn encode_proof_value(header: [u8; 3], components: &ciborium::Value) -> Result<String, String> {
    let mut bytes = header.to_vec();
    ciborium::into_writer(components, &mut bytes).map_err(|e| e.to_string())?;
    Ok(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// The components of a base proof value (§3.4.4 parseBaseProofValue).
struct BaseProof {
    base_signature: Vec<u8>,
    public_key: Vec<u8>,
    hmac_key: Vec<u8>,
    signatures: Vec<Vec<u8>>,
    mandatory: Vec<JsonPointerBuf>,
}

fn parse_base_proof_value(proof_value: &str) -> Option<BaseProof> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(proof_value.strip_prefix('u')?).ok()?;
    let body = bytes.strip_prefix(&BASE_HEADER[..])?;
    let components: Vec<ciborium::Value> = ciborium::from_reader(body).ok()?;
    let [base_signature, public_key, hmac_key, signatures, mandatory] =
        <[ciborium::Value; 5]>::try_from(components).ok()?;
    Some(BaseProof {
        base_signature: base_signature.into_bytes().ok()?,
        public_key: public_key.into_bytes().ok()?,
        hmac_key: hmac_key.into_bytes().ok()?,
        signatures: signatures.into_array().ok()?.into_iter().map(|s| s.into_bytes().ok()).collect::<Option<_>>()?,
        mandatory: mandatory
            .into_array()
            .ok()?
            .into_iter()
            .map(|p| p.into_text().ok().and_then(|t| JsonPointerBuf::new(t).ok()))
            .collect::<Option<_>>()?,
    })
}

/// Why a credential could not be derived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeriveError {
    /// The input is not a credential with exactly one `ecdsa-sd-2023` base proof.
    #[error("not a credential with an ecdsa-sd-2023 base proof: {0}")]
    NotBaseProof(String),
    /// The credential breaks a VC Data Model rule.
    #[error("invalid credential: {0}")]
    DataModel(#[from] DataModelError),
    /// A selective pointer is not a JSON pointer or points at nothing.
    #[error("selective pointer: {0}")]
    Pointer(String),
    /// Beyond the JSON limits or the canonicalisation budget.
    #[error("{0}")]
    TooComplex(CanonicalizationError),
    /// More than [`MAX_DERIVE_POINTERS`] mandatory (in the base proof) or
    /// selected pointers.
    #[error("{count} {which} pointers, more than the limit of {MAX_DERIVE_POINTERS}")]
    TooManyPointers {
        /// `mandatory` or `selective`.
        which: &'static str,
        /// How many there were.
        count: usize,
    },
    /// `ssi` could not derive the proof.
    #[error("derivation failed: {0}")]
    Failed(String),
}

impl DeriveError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotBaseProof(_) => "not_sd_base_proof",
            Self::DataModel(e) => e.code,
            Self::Pointer(_) => "bad_selective_pointer",
            Self::TooComplex(e) => e.code(),
            Self::TooManyPointers { .. } => "sd_proof_too_large",
            Self::Failed(_) => "derivation_failed",
        }
    }

    /// For a person, in zh and en.
    pub fn message(&self) -> Localized {
        match self {
            Self::NotBaseProof(d) => Localized::new(
                format!("该凭证不能做选择性披露（需要签发方的 ecdsa-sd-2023 基础签名）：{d}"),
                format!("this credential cannot be disclosed selectively (it needs the issuer's ecdsa-sd-2023 base proof): {d}"),
            ),
            Self::DataModel(e) => Localized::new(e.message_zh.clone(), e.message_en.clone()),
            Self::Pointer(d) => Localized::new(format!("所选字段无效：{d}"), format!("a selected field is invalid: {d}")),
            Self::TooComplex(e) => e.message(),
            Self::TooManyPointers { which, count } => {
                let which_zh = if *which == "mandatory" { "必选" } else { "所选" };
                Localized::new(
                    format!("{which_zh}字段指针有 {count} 个，超过上限 {MAX_DERIVE_POINTERS}"),
                    format!("{count} {which} field pointers, more than the limit of {MAX_DERIVE_POINTERS}"),
                )
            }
            Self::Failed(d) => Localized::new(format!("无法导出凭证：{d}"), format!("the credential cannot be derived: {d}")),
        }
    }
}

/// The holder's step: from `base` (a credential with its issuer's
/// `ecdsa-sd-2023` base proof) derive the credential that shows the
/// mandatory statements and those `selective` points at (RFC 6901 JSON
/// pointers, e.g. `/credentialSubject/birthDate`; a mandatory one may be
/// repeated here, it changes nothing), with a derived proof. The holder
/// cannot drop a mandatory statement: the base proof carries the pointers.
///
/// # Errors
/// See [`DeriveError`].
pub async fn derive_with(types: &TypeRegistry, base: &Value, selective: &[String]) -> Result<Value, DeriveError> {
    derive_with_loader(&types.loader(), base, selective).await
}

/// What a holder shows of `vc` (in a QR, to a verifier): `vc` itself, or for
/// a credential with an `ecdsa-sd-2023` base proof the credential derived from
/// it with the mandatory statements and those `selective` points at. A base
/// proof never leaves the holder: verifiers refuse it (`sd_base_proof_presented`).
///
/// # Errors
/// See [`DeriveError`].
pub async fn shown_with(types: &TypeRegistry, vc: &Value, selective: &[String]) -> Result<Value, DeriveError> {
    if has_base_proof(vc) {
        derive_with(types, vc, selective).await
    } else {
        Ok(vc.clone())
    }
}

/// [`derive_with`] with the contexts `loader` knows.
///
/// # Errors
/// See [`DeriveError`].
pub async fn derive_with_loader(
    loader: &BundledLoader,
    base: &Value,
    selective: &[String],
) -> Result<Value, DeriveError> {
    let obj = base.as_object().ok_or_else(|| DeriveError::NotBaseProof("not a JSON object".into()))?;
    let proof = obj.get("proof").ok_or_else(|| DeriveError::NotBaseProof("no proof".into()))?;
    if !proof.is_object() || !is_sd_proof(proof) {
        return Err(DeriveError::NotBaseProof("the proof is not one ecdsa-sd-2023 proof".into()));
    }
    if proof_kind(proof.get("proofValue").and_then(Value::as_str).unwrap_or("")) != ProofKind::Base {
        return Err(DeriveError::NotBaseProof("the proof is not a base proof".into()));
    }
    crate::canonical::check_json_limits(base).map_err(DeriveError::TooComplex)?;
    data_model::check_credential_with(loader, base)?;
    let mut unsecured = base.clone();
    if let Value::Object(map) = &mut unsecured {
        map.remove("proof");
    }
    if let Err(e) = crate::canonical::check_document_with(loader, &unsecured).await {
        if e.is_limit() {
            return Err(DeriveError::TooComplex(e));
        }
    }
    let Some(base_proof) = parse_base_proof_value(proof.get("proofValue").and_then(Value::as_str).unwrap_or("")) else {
        return Err(DeriveError::NotBaseProof("the base proof value cannot be read".into()));
    };
    for (which, count) in [("mandatory", base_proof.mandatory.len()), ("selective", selective.len())] {
        if count > MAX_DERIVE_POINTERS {
            return Err(DeriveError::TooManyPointers { which, count });
        }
    }
    let selective = pointers(&unsecured, selective).map_err(DeriveError::Pointer)?;
    let mut combined = base_proof.mandatory.clone();
    combined.extend(selective.iter().cloned());
    // A pointer named twice selects nothing more: follow it once.
    let mut seen = std::collections::HashSet::new();
    combined.retain(|pointer| seen.insert(pointer.clone()));
    let claims = LdClaims::from_json(&unsecured).map_err(DeriveError::NotBaseProof)?;

    // §3.4.6 createDisclosureData.
    let grouped = group(
        loader,
        &claims,
        &base_proof.hmac_key,
        vec![
            (Group::Mandatory, base_proof.mandatory.clone()),
            (Group::Selective, selective),
            (Group::Combined, combined.clone()),
        ],
    )
    .await
    .map_err(DeriveError::Failed)?;
    let (mandatory, selected, shown) =
        (grouped.members(Group::Mandatory), grouped.members(Group::Selective), grouped.members(Group::Combined));
    let mandatory_indexes: Vec<ciborium::Value> = shown
        .iter()
        .enumerate()
        .filter(|(_, absolute)| mandatory.contains(absolute))
        .map(|(relative, _)| ciborium::Value::from(relative as u64))
        .collect();
    let others: Vec<usize> = (0..grouped.lines.len()).filter(|i| !mandatory.contains(i)).collect();
    if others.len() != base_proof.signatures.len() {
        return Err(DeriveError::NotBaseProof(format!(
            "the base proof signs {} statements one by one, the credential has {}",
            base_proof.signatures.len(),
            others.len()
        )));
    }
    let signatures: Vec<ciborium::Value> = others
        .iter()
        .zip(&base_proof.signatures)
        .filter(|(i, _)| selected.contains(i))
        .map(|(_, s)| ciborium::Value::Bytes(s.clone()))
        .collect();
    // The verifier's label map: canonical label of the revealed statements →
    // the HMAC label the issuer's statement carried.
    let revealed = grouped.deskolemized.iter().find(|(g, _)| *g == Group::Combined).map(|(_, q)| q.as_slice());
    let substitution =
        ssi_rdf::urdna2015::normalize(revealed.unwrap_or_default().iter().map(|q| q.as_lexical_quad_ref()))
            .into_substitution();
    let mut label_map = Vec::new();
    for (input, canonical) in &substitution {
        let hmac_label = grouped
            .label_map
            .get(input.as_str())
            .ok_or_else(|| DeriveError::Failed(format!("no HMAC label for {input}")))?;
        let index: u64 = canonical
            .as_str()
            .strip_prefix("_:c14n")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| DeriveError::Failed(format!("unexpected canonical label {canonical}")))?;
        let digest = hmac_label
            .strip_prefix("_:u")
            .and_then(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b).ok())
            .ok_or_else(|| DeriveError::Failed(format!("unexpected HMAC label {hmac_label}")))?;
        label_map.push((index, digest));
    }
    label_map.sort_unstable();
    let components = ciborium::Value::Array(vec![
        ciborium::Value::Bytes(base_proof.base_signature),
        ciborium::Value::Bytes(base_proof.public_key),
        ciborium::Value::Array(signatures),
        ciborium::Value::Map(
            label_map.into_iter().map(|(k, v)| (ciborium::Value::from(k), ciborium::Value::Bytes(v))).collect(),
        ),
        ciborium::Value::Array(mandatory_indexes),
    ]);
    let proof_value = encode_proof_value(DERIVED_HEADER, &components).map_err(DeriveError::Failed)?;

    // The revealed document (§3.4.13 selectJsonLd, `ssi`'s primitive), by
    // way of JSON text both ways, so numbers keep their literal form.
    use ssi_json_ld::syntax::{Parse as _, Print as _};
    let text = serde_json::to_string(&unsecured).map_err(|e| DeriveError::Failed(e.to_string()))?;
    let (document, _) = ssi_json_ld::syntax::Value::parse_str(&text).map_err(|e| DeriveError::Failed(e.to_string()))?;
    let document = document.into_object().ok_or_else(|| DeriveError::NotBaseProof("not a JSON object".into()))?;
    let revealed = select_json_ld(&combined, &document)
        .map_err(|_| DeriveError::Pointer("a pointer points at nothing".into()))?
        .unwrap_or_default();
    let revealed = ssi_json_ld::syntax::Value::Object(revealed).compact_print().to_string();
    let out: Value = serde_json::from_str(&revealed).map_err(|e| DeriveError::Failed(e.to_string()))?;
    let mut out = in_order_of(&unsecured, out);
    let mut derived_proof = proof.clone();
    if let Value::Object(p) = &mut derived_proof {
        p.insert("proofValue".into(), Value::String(proof_value));
    }
    if let Value::Object(map) = &mut out {
        map.insert("proof".into(), derived_proof);
    }
    Ok(out)
}

/// `derived` with the members of every object in the order `base` has them
/// (members `base` lacks last, as they were): the revealed document comes out
/// of selection with sorted keys, and the issuer's order is the one the
/// compact QR form writes as records (a 证照标识 right after `id` included).
/// Order means nothing to the derived proof, which signs RDF statements.
fn in_order_of(base: &Value, derived: Value) -> Value {
    match (base, derived) {
        (Value::Object(base), Value::Object(mut derived)) => {
            let mut ordered = serde_json::Map::new();
            for (key, base_member) in base {
                if let Some(member) = derived.remove(key) {
                    ordered.insert(key.clone(), in_order_of(base_member, member));
                }
            }
            ordered.extend(derived);
            Value::Object(ordered)
        }
        // Selection keeps every item of an array it reveals, in order.
        (Value::Array(base), Value::Array(derived)) if base.len() == derived.len() => {
            Value::Array(base.iter().zip(derived).map(|(b, d)| in_order_of(b, d)).collect())
        }
        (_, derived) => derived,
    }
}

/// The signature check alone of a credential with `ecdsa-sd-2023` proofs, as
/// of `now`, with the contexts `loader` knows: what
/// [`crate::verification::verify_credential`] decides for such a proof
/// (base proofs refused, then `ssi`'s verification of the derived proof).
/// For documents in contexts no [`TypeRegistry`] has (the W3C test vectors);
/// `verify_credential` is the routine.
#[doc(hidden)]
pub async fn verify_signature_with_loader(loader: &BundledLoader, vc: &Value, now: DateTime<Utc>) -> CheckResult {
    use ssi_claims_core::ValidateProof as _;
    let Some(proof) = vc.get("proof") else {
        return CheckResult::invalid("missing_proof", "凭证没有签名", "the credential has no proof");
    };
    if let Some(refused) = check_proof_kinds(proof) {
        return refused;
    }
    let mismatch = |detail: String| {
        CheckResult::invalid(
            "bad_signature",
            format!("签名无效：{detail}"),
            format!("the signature does not match: {detail}"),
        )
    };
    let Ok(bytes) = serde_json::to_vec(vc) else { return mismatch("not JSON".into()) };
    let signed: DataIntegrity<LdClaims, AnySuite> = match ssi_data_integrity::from_json_slice(&bytes) {
        Ok(signed) => signed,
        Err(e) => return mismatch(e.to_string()),
    };
    let params =
        VerificationParameters::from_resolver(DidKeyResolver).with_json_ld_loader(loader.clone()).with_date_time(now);
    match signed.proofs.validate_proof(&params, &signed.claims).await {
        Ok(Ok(())) => CheckResult::Valid,
        Ok(Err(invalid)) => mismatch(invalid.to_string()),
        Err(e) => mismatch(e.to_string()),
    }
}
