//! Attacks on selective disclosure (`ecdsa-sd-2023`): whoever holds a derived
//! credential (or the base one) edits the derived proof's parts or the JSON
//! it shows, or presents what the issuer signed with too few mandatory
//! statements, or a proof value built to make the verifier work. Each names
//! the check that refuses it.

use base64::Engine as _;
use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::keys::IssuerKey;
use wallet_core::selective_disclosure::{derive_with, sign_base_for_type, sign_base_with};
use wallet_core::verification::{verify_credential, CheckResult, VerificationReport, VerifyOptions};

use crate::attack_common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

async fn base(key: &IssuerKey) -> Value {
    sign_base_for_type(&TypeRegistry::default(), &unsigned(&key.did()), key, signed_at()).await.unwrap()
}

async fn derive(base: &Value, selective: &[&str]) -> Value {
    let selective: Vec<String> = selective.iter().map(|s| (*s).to_owned()).collect();
    derive_with(&TypeRegistry::default(), base, &selective).await.unwrap()
}

/// A derived health certificate showing three non-mandatory statements too.
async fn derived() -> Value {
    let key = IssuerKey::generate();
    derive(
        &base(&key).await,
        &["/credentialSubject/sex", "/credentialSubject/birthDate", "/credentialSubject/examiningInstitution"],
    )
    .await
}

/// The proof value's header and CBOR components.
fn proof_parts(vc: &Value) -> (Vec<u8>, Vec<ciborium::Value>) {
    let value = vc["proof"]["proofValue"].as_str().unwrap();
    let bytes = B64.decode(&value[1..]).unwrap();
    let (header, body) = bytes.split_at(3);
    (header.to_vec(), ciborium::from_reader(body).unwrap())
}

fn with_proof_parts(vc: &Value, header: &[u8], parts: &[ciborium::Value]) -> Value {
    let mut bytes = header.to_vec();
    ciborium::into_writer(&parts, &mut bytes).unwrap();
    let mut out = vc.clone();
    out["proof"]["proofValue"] = json!(format!("u{}", B64.encode(bytes)));
    out
}

async fn verify(vc: &Value) -> VerificationReport {
    verify_credential(vc, &VerifyOptions::at(now())).await.unwrap_or_else(|e| panic!("malformed: {e}"))
}

#[tokio::test]
async fn attack_sd_the_untouched_derived_credential_verifies() {
    let vc = derived().await;
    let report = verify(&vc).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert!(report.verified, "{report:#?}");
}

/// The HMAC key blinds blank-node labels; the issuer signed each statement
/// with the labels of its own key. A derivation under another key (the base
/// proof's key swapped), or a derived label map rewritten, names other
/// statements.
#[tokio::test]
async fn attack_sd_another_hmac_key_or_label_map_does_not_verify() {
    let key = IssuerKey::generate();
    let base = base(&key).await;
    let (header, mut parts) = proof_parts(&base);
    parts[2] = ciborium::Value::Bytes(vec![0x5a; 32]);
    let swapped = with_proof_parts(&base, &header, &parts);
    let derived_swapped = derive(&swapped, &["/credentialSubject/sex"]).await;
    assert_refused(&verify(&derived_swapped).await, signature, "bad_signature");

    let honest = derive(&base, &["/credentialSubject/sex"]).await;
    assert!(verify(&honest).await.verified);
    let (header, parts) = proof_parts(&honest);
    let labels = parts[3].as_map().unwrap().clone();
    assert!(!labels.is_empty(), "the subject is a blank node");
    // Every label replaced by one made under another key.
    let mut other = parts.clone();
    other[3] =
        ciborium::Value::Map(labels.iter().map(|(k, _)| (k.clone(), ciborium::Value::Bytes(vec![0x5a; 32]))).collect());
    assert_refused(&verify(&with_proof_parts(&honest, &header, &other)).await, signature, "bad_signature");
    // A label moved to another canonical blank node.
    let mut other = parts.clone();
    other[3] = ciborium::Value::Map(labels.iter().map(|(_, v)| (ciborium::Value::from(7_u64), v.clone())).collect());
    assert_refused(&verify(&with_proof_parts(&honest, &header, &other)).await, signature, "bad_signature");
}

#[tokio::test]
async fn attack_sd_an_edited_disclosed_value_does_not_verify() {
    let vc = derived().await;
    for (pointer, value) in [
        ("/credentialSubject/examinationResult", json!("qualified-with-honours")),
        ("/credentialSubject/examiningInstitution", json!("北京协和医院")),
        ("/credentialSubject/sex", json!("M")),
        ("/validFrom", json!("2026-03-16T00:00:00Z")),
        ("/credentialStatus/0/statusListIndex", json!("94568")),
    ] {
        let mut forged = vc.clone();
        *forged.pointer_mut(pointer).unwrap() = value;
        assert_refused(&verify(&forged).await, signature, "bad_signature");
    }
}

#[tokio::test]
async fn attack_sd_a_dropped_mandatory_member_does_not_verify() {
    let vc = derived().await;
    // What the type demands is missed before the proof is read; an optional
    // field (occupation) the issuer made mandatory breaks the signature.
    for (parent, member, code) in [
        ("/credentialSubject", "fullName", "sd_mandatory_member_missing"),
        ("", "credentialStatus", "bad_signature"),
        ("", "validUntil", "sd_mandatory_member_missing"),
        ("/credentialSubject", "occupation", "bad_signature"),
    ] {
        let mut dropped = vc.clone();
        let object = if parent.is_empty() { &mut dropped } else { dropped.pointer_mut(parent).unwrap() };
        object.as_object_mut().unwrap().remove(member).unwrap();
        assert_refused(&verify(&dropped).await, signature, code);
    }
}

#[tokio::test]
async fn attack_sd_a_member_never_signed_or_not_disclosed_does_not_verify() {
    let vc = derived().await;
    // Never signed: a VC 2.0 member the issuer did not write.
    let mut added = vc.clone();
    added["name"] = json!("国家卫生健康委员会特别证明");
    assert_refused(&verify(&added).await, signature, "bad_signature");
    // Signed by the issuer but withheld by this derivation: not covered by the derived proof.
    let mut added = vc.clone();
    added["credentialSubject"]["fullNamePinyin"] = json!("OUYANG Xiaoyan");
    assert_refused(&verify(&added).await, signature, "bad_signature");
}

#[tokio::test]
async fn attack_sd_reordered_duplicated_or_dropped_signatures_do_not_verify() {
    let vc = derived().await;
    let (header, parts) = proof_parts(&vc);
    let signatures = parts[2].as_array().unwrap().clone();
    assert_eq!(signatures.len(), 3, "one per disclosed non-mandatory statement");
    let mut variants = Vec::new();
    let mut swapped = signatures.clone();
    swapped.swap(0, 1);
    variants.push(("reordered", swapped));
    let mut duplicated = signatures.clone();
    duplicated.push(signatures[0].clone());
    variants.push(("duplicated", duplicated));
    let mut twice = signatures.clone();
    twice[1] = signatures[0].clone();
    variants.push(("one used twice", twice));
    variants.push(("one dropped", signatures[..2].to_vec()));
    for (what, signatures) in variants {
        let mut forged = parts.clone();
        forged[2] = ciborium::Value::Array(signatures);
        let report = verify(&with_proof_parts(&vc, &header, &forged)).await;
        assert!(!report.verified, "{what}");
        assert_invalid(&report.checks.signature, "bad_signature");
    }
}

#[tokio::test]
async fn attack_sd_a_base_proof_is_never_accepted() {
    let key = IssuerKey::generate();
    let base = base(&key).await;
    assert_refused(&verify(&base).await, signature, "sd_base_proof_presented");
    // The base proof's bytes under the derived header: not a derived proof.
    let (_, parts) = proof_parts(&base);
    let relabelled = with_proof_parts(&base, &[0xd9, 0x5d, 0x01], &parts);
    assert_refused(&verify(&relabelled).await, signature, "sd_proof_malformed");
    // Beside a valid derived proof.
    let derived = derive(&base, &[]).await;
    let mut both = derived.clone();
    both["proof"] = json!([derived["proof"].clone(), base["proof"].clone()]);
    assert_refused(&verify(&both).await, signature, "sd_base_proof_presented");
}

/// An issuer's base proof with fewer mandatory pointers than its type
/// declares (another issuing tool, a misconfiguration): the holder may then
/// withhold the name and the end of validity, and the derived certificate
/// would verify as an anonymous, never-expiring health certificate. (A
/// withheld status entry cannot be told from none: see DESIGN.md.)
#[tokio::test]
async fn attack_sd_a_derived_credential_must_show_what_its_type_makes_mandatory() {
    let key = IssuerKey::generate();
    let types = TypeRegistry::default();
    let loose =
        sign_base_with(&types, &unsigned(&key.did()), &key, signed_at(), &["/issuer".to_owned(), "/type".to_owned()])
            .await
            .unwrap();
    let derived = derive(&loose, &["/validFrom", "/credentialSubject/examinationResult"]).await;
    for hidden in ["validUntil", "credentialStatus"] {
        assert!(derived.get(hidden).is_none(), "{hidden}: {derived:#}");
    }
    assert!(derived["credentialSubject"].get("fullName").is_none());
    let report = verify(&derived).await;
    assert_refused(&report, signature, "sd_mandatory_member_missing");
    // Showing them all (selected by the holder) is enough: the rule is what is shown.
    let shown = derive(
        &loose,
        &[
            "/validFrom",
            "/validUntil",
            "/credentialStatus",
            "/credentialSubject/fullName",
            "/credentialSubject/examinationResult",
            "/credentialSubject/occupation",
        ],
    )
    .await;
    assert!(verify(&shown).await.verified);
}

/// The derived proof's arrays and label map are bounded before any
/// signature work: each label is a blank node of the shown document (the
/// canonicalisation budget allows 256), each signature a statement.
#[tokio::test]
async fn attack_sd_oversized_proof_parts_are_refused_by_a_limit() {
    let vc = derived().await;
    let (header, parts) = proof_parts(&vc);
    // 100,000 labels: beyond the document size limit before anything is decoded.
    let mut labels = parts.clone();
    labels[3] = ciborium::Value::Map(
        (0..100_000_u64).map(|i| (ciborium::Value::from(i), ciborium::Value::Bytes(vec![0; 32]))).collect(),
    );
    let huge = with_proof_parts(&vc, &header, &labels);
    assert_eq!(verify_credential(&huge, &VerifyOptions::at(now())).await.unwrap_err().code(), "document_too_large");
    // As many as fit in the size limit (tiny labels): refused by the count.
    let mut labels = parts.clone();
    labels[3] = ciborium::Value::Map(
        (0..40_000_u64).map(|i| (ciborium::Value::from(i), ciborium::Value::Bytes(Vec::new()))).collect(),
    );
    assert_refused(&verify(&with_proof_parts(&vc, &header, &labels)).await, signature, "sd_proof_too_large");
    // Signatures: 2,000 copies of a real one.
    let mut signatures = parts.clone();
    let one = parts[2].as_array().unwrap()[0].clone();
    signatures[2] = ciborium::Value::Array(vec![one; 2_000]);
    assert_refused(&verify(&with_proof_parts(&vc, &header, &signatures)).await, signature, "sd_proof_too_large");
    // Mandatory indexes.
    let mut indexes = parts.clone();
    indexes[4] = ciborium::Value::Array((0..20_000_u64).map(ciborium::Value::from).collect());
    assert_refused(&verify(&with_proof_parts(&vc, &header, &indexes)).await, signature, "sd_proof_too_large");
}

/// Derivation is a service too (the verifier's `/credentials/derive`), so the
/// base proof's mandatory pointers are outside input: each is a pass over the
/// document that copies what it selects. 90,000 empty pointers (one CBOR byte
/// each, each selecting the whole document) would keep a core busy for
/// minutes; more than `MAX_DERIVE_POINTERS` is refused before any selection.
/// At the limit it derives (repeats of a mandatory pointer are followed within the bound).
#[tokio::test]
async fn attack_sd_a_base_proof_with_thousands_of_mandatory_pointers_is_refused_before_selection() {
    use wallet_core::selective_disclosure::{DeriveError, MAX_DERIVE_POINTERS};
    let key = IssuerKey::generate();
    let base = base(&key).await;
    let (header, parts) = proof_parts(&base);
    let with_mandatory = |pointers: Vec<ciborium::Value>| {
        let mut forged = parts.clone();
        forged[4] = ciborium::Value::Array(pointers);
        with_proof_parts(&base, &header, &forged)
    };
    let types = TypeRegistry::default();
    for count in [MAX_DERIVE_POINTERS + 1, 90_000] {
        let flood = with_mandatory(vec![ciborium::Value::Text(String::new()); count]);
        let refused = derive_with(&types, &flood, &[]).await.unwrap_err();
        assert!(
            matches!(refused, DeriveError::TooManyPointers { which: "mandatory", count: c } if c == count),
            "{refused:?}"
        );
        assert_eq!(refused.code(), "sd_proof_too_large");
        assert!(!refused.message().zh.is_empty() && !refused.message().en.is_empty());
    }
    // The selection is bounded the same way.
    let selective = vec!["/credentialSubject/sex".to_owned(); MAX_DERIVE_POINTERS + 1];
    let refused = derive_with(&types, &base, &selective).await.unwrap_err();
    assert!(matches!(refused, DeriveError::TooManyPointers { which: "selective", .. }), "{refused:?}");
    // At the limit: the issuer's own mandatory pointers, repeated up to it, still derive.
    let own = parts[4].as_array().unwrap().clone();
    let repeated: Vec<ciborium::Value> = own.iter().cycle().take(MAX_DERIVE_POINTERS).cloned().collect();
    let at_limit = with_mandatory(repeated);
    let derived = derive_with(&types, &at_limit, &["/credentialSubject/sex".to_owned()]).await.unwrap();
    assert!(derived["proof"]["proofValue"].is_string());
}
