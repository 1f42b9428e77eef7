//! Selective disclosure (`ecdsa-sd-2023`): the issuer's base proof with the
//! type's mandatory pointers, the holder's derivation, and the verifier's
//! answer through `verify_credential`; the W3C vectors (vc-di-ecdsa
//! `TestVectors/ecdsa-sd-2023`) byte for byte where they allow.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::contexts::BundledLoader;
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::{Definition, TypeRegistry};
use wallet_core::keys::IssuerKey;
use wallet_core::selective_disclosure::{
    anchoring_digest, derive_with, derive_with_loader, mandatory_pointers_for, proof_kind, sign_base_for_type,
    verify_signature_with_loader, ProofKind,
};
use wallet_core::verification::{verify_credential, CheckResult, VerificationReport, VerifyOptions};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap()
}

fn test_key() -> IssuerKey {
    IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap()
}

/// A health certificate as the issuer makes it (with its two status entries).
fn unsigned_health_certificate(key: &IssuerKey) -> Value {
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let mut vc = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    if vc.get("credentialStatus").is_none() {
        vc["credentialStatus"] = json!([
            {"id": "https://issuer.example.gov.cn/status/3#94567", "type": "BitstringStatusListEntry",
             "statusPurpose": "revocation", "statusListIndex": "94567",
             "statusListCredential": "https://issuer.example.gov.cn/status/3"},
            {"id": "https://issuer.example.gov.cn/status/4#23110", "type": "BitstringStatusListEntry",
             "statusPurpose": "suspension", "statusListIndex": "23110",
             "statusListCredential": "https://issuer.example.gov.cn/status/4"}
        ]);
    }
    vc
}

async fn base_health_certificate() -> Value {
    let key = test_key();
    let unsigned = unsigned_health_certificate(&key);
    sign_base_for_type(&TypeRegistry::default(), &unsigned, &key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap())
        .await
        .unwrap()
}

async fn derive(base: &Value, selective: &[&str]) -> Value {
    let selective: Vec<String> = selective.iter().map(|s| (*s).to_owned()).collect();
    derive_with(&TypeRegistry::default(), base, &selective).await.unwrap()
}

async fn verify(vc: &Value) -> VerificationReport {
    verify_credential(vc, &VerifyOptions::at(now())).await.unwrap()
}

fn assert_invalid(report: &VerificationReport, code: &str) {
    assert!(!report.verified, "{report:#?}");
    assert_eq!(report.checks.signature.invalid_code(), Some(code), "{:#?}", report.checks.signature);
}

const MANDATORY: &[&str] = &[
    "/issuer",
    "/type",
    "/validFrom",
    "/validUntil",
    "/credentialStatus",
    "/credentialSubject/fullName",
    "/credentialSubject/examinationResult",
    "/credentialSubject/occupation",
];

// ---- the definition format ----

#[test]
fn the_health_certificate_declares_what_an_inspector_always_needs() {
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    assert_eq!(def.mandatory_pointers, MANDATORY);
    // Types that declare none have none.
    let licence = TypeRegistry::shipped().unwrap().by_type("FoodBusinessLicence").unwrap();
    assert!(licence.mandatory_pointers.is_empty());
}

#[test]
fn mandatory_pointers_in_a_definition_are_checked() {
    let with = |pointers: Value| {
        let mut def: Value = serde_json::from_str(wallet_core::credential_type::SHIPPED[0].1).unwrap();
        def["mandatoryPointers"] = pointers;
        Definition::parse("test.json", &def.to_string())
    };
    assert!(with(json!(["/issuer", "/credentialSubject/examinationResult"])).is_ok());
    assert!(with(json!(["/credentialSubject/idNumberDigest", "/credentialStatus/0"])).is_ok());
    for (bad, says) in [
        (json!(["issuer"]), "not a JSON pointer"),
        (json!([""]), "not a JSON pointer"),
        (json!(["/issuer~2"]), "not a JSON pointer"),
        (json!(["/issuer", "/issuer"]), "twice"),
        (json!(["/birthDate"]), "not a credential member"),
        (json!(["/credentialSubject/bloodType"]), "not a field of this type"),
        (json!(["/credentialSubject/idNumber"]), "not a field of this type"),
        (json!("/issuer"), "not a definition"),
    ] {
        let e = with(bad.clone()).expect_err(&bad.to_string()).to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

// ---- issue → derive → verify ----

#[tokio::test]
async fn a_base_proof_carries_the_types_mandatory_pointers_present_in_the_credential() {
    let key = test_key();
    let mut unsigned = unsigned_health_certificate(&key);
    assert_eq!(mandatory_pointers_for(&TypeRegistry::default(), &unsigned), MANDATORY);
    // An optional field left out is not mandatory in that credential.
    unsigned["credentialSubject"].as_object_mut().unwrap().remove("occupation");
    let pointers = mandatory_pointers_for(&TypeRegistry::default(), &unsigned);
    assert!(!pointers.iter().any(|p| p.ends_with("/occupation")));
    assert_eq!(pointers.len(), MANDATORY.len() - 1);

    let base = base_health_certificate().await;
    assert_eq!(base["proof"]["cryptosuite"], "ecdsa-sd-2023");
    assert_eq!(proof_kind(base["proof"]["proofValue"].as_str().unwrap()), ProofKind::Base);
}

#[tokio::test]
async fn derived_with_only_the_mandatory_fields_verifies() {
    let base = base_health_certificate().await;
    let derived = derive(&base, &[]).await;
    assert_eq!(proof_kind(derived["proof"]["proofValue"].as_str().unwrap()), ProofKind::Derived);
    let subject = derived["credentialSubject"].as_object().unwrap();
    let mut shown: Vec<&str> = subject.keys().map(String::as_str).collect();
    shown.sort_unstable();
    assert_eq!(shown, ["examinationResult", "fullName", "occupation"], "{derived:#}");
    for kept in ["issuer", "validFrom", "validUntil", "type", "credentialStatus"] {
        assert_eq!(derived[kept], base[kept], "{kept}");
    }
    // selectJsonLd keeps the `id` (and `type`) of every object on a selected path.
    assert_eq!(derived["id"], base["id"]);
    let report = verify(&derived).await;
    assert_eq!(report.checks.signature, CheckResult::Valid, "{report:#?}");
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.types, ["VerifiableCredential", "HealthCertificate"]);
}

#[tokio::test]
async fn derived_with_extra_disclosed_fields_verifies() {
    let base = base_health_certificate().await;
    let derived = derive(&base, &["/credentialSubject/fullNamePinyin", "/credentialSubject/birthDate", "/id"]).await;
    assert_eq!(derived["credentialSubject"]["birthDate"], "1991-07-23");
    assert_eq!(derived["credentialSubject"]["fullNamePinyin"], "OUYANG Xiaoyan");
    assert_eq!(derived["id"], base["id"]);
    assert!(derived["credentialSubject"].get("sex").is_none());
    let report = verify(&derived).await;
    assert!(report.verified, "{report:#?}");
    // Selecting a mandatory pointer again changes nothing.
    let again = derive(&base, &["/credentialSubject/fullName"]).await;
    assert!(verify(&again).await.verified);
}

#[tokio::test]
async fn a_changed_disclosed_value_is_invalid() {
    let base = base_health_certificate().await;
    let derived = derive(&base, &["/credentialSubject/birthDate"]).await;
    for (pointer, value) in [
        ("/credentialSubject/birthDate", json!("1961-07-23")),
        ("/credentialSubject/fullName", json!("欧阳晓")),
        ("/credentialSubject/occupation", json!("teacher")),
        ("/validUntil", json!("2030-03-14T23:59:59Z")),
    ] {
        let mut forged = derived.clone();
        *forged.pointer_mut(pointer).unwrap() = value;
        assert_invalid(&verify(&forged).await, "bad_signature");
    }
    // A statement the issuer signed but the holder did not select cannot be added back.
    let mut added = derived.clone();
    added["credentialSubject"]["sex"] = json!("F");
    assert_invalid(&verify(&added).await, "bad_signature");
}

#[tokio::test]
async fn a_withheld_mandatory_field_is_invalid() {
    let base = base_health_certificate().await;
    let derived = derive(&base, &["/credentialSubject/birthDate"]).await;
    // Dropped from the derived credential after derivation: what the type
    // demands is missed before the proof is read (`attack_sd.rs`); the
    // optional occupation, made mandatory by the issuer, breaks the signature.
    for (pointer, code) in [
        ("/credentialSubject/examinationResult", "sd_mandatory_member_missing"),
        ("/credentialSubject/occupation", "bad_signature"),
        ("/validUntil", "sd_mandatory_member_missing"),
    ] {
        let mut withheld = derived.clone();
        let (parent, member) = pointer.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() { &mut withheld } else { withheld.pointer_mut(parent).unwrap() };
        parent.as_object_mut().unwrap().remove(member).unwrap();
        assert_invalid(&verify(&withheld).await, code);
    }
    // Dropped from the base proof's own pointer list before deriving: the
    // statement has no signature of its own (the issuer signed the mandatory
    // statements together), so the derivation is refused.
    let mut edited = base.clone();
    let value = edited["proof"]["proofValue"].as_str().unwrap().to_owned();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&value[1..]).unwrap();
    let (header, body) = bytes.split_at(3);
    let mut components: Vec<ciborium::Value> = ciborium::from_reader(body).unwrap();
    let pointers = components[4].as_array_mut().unwrap();
    pointers.retain(|p| p.as_text() != Some("/credentialSubject/occupation"));
    assert_eq!(pointers.len(), MANDATORY.len() - 1);
    let mut out = header.to_vec();
    ciborium::into_writer(&components, &mut out).unwrap();
    edited["proof"]["proofValue"] = json!(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)));
    let refused = derive_with(&TypeRegistry::default(), &edited, &[]).await.unwrap_err();
    assert_eq!(refused.code(), "not_sd_base_proof", "{refused}");
    // And a verifier given a derived proof whose mandatory index list omits
    // the statement (what that derivation would have needed) refuses it too.
    let value = derived["proof"]["proofValue"].as_str().unwrap().to_owned();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&value[1..]).unwrap();
    let (header, body) = bytes.split_at(3);
    let mut components: Vec<ciborium::Value> = ciborium::from_reader(body).unwrap();
    components[4].as_array_mut().unwrap().pop().unwrap();
    let mut out = header.to_vec();
    ciborium::into_writer(&components, &mut out).unwrap();
    let mut forged = derived.clone();
    forged["proof"]["proofValue"] = json!(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)));
    assert_invalid(&verify(&forged).await, "bad_signature");
}

#[tokio::test]
async fn a_base_proof_presented_to_a_verifier_is_refused() {
    let base = base_health_certificate().await;
    let report = verify(&base).await;
    assert_invalid(&report, "sd_base_proof_presented");
    // The same inside a holder presentation.
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [base],
    });
    let report =
        wallet_core::verification::verify_presentation(&vp, &VerifyOptions::at(now()), None, None).await.unwrap();
    assert!(!report.verified);
    let wallet_core::verification::CredentialOutcome::Report(inner) = &report.credentials[0] else {
        panic!("{report:#?}")
    };
    assert_eq!(inner.checks.signature.invalid_code(), Some("sd_base_proof_presented"));
}

#[tokio::test]
async fn derivation_refuses_what_it_cannot_derive() {
    let base = base_health_certificate().await;
    let types = TypeRegistry::default();
    for (selective, code) in [
        (vec!["credentialSubject/sex".to_owned()], "bad_selective_pointer"),
        (vec!["/credentialSubject/bloodType".to_owned()], "bad_selective_pointer"),
        (vec![String::new()], "bad_selective_pointer"),
    ] {
        let e = derive_with(&types, &base, &selective).await.unwrap_err();
        assert_eq!(e.code(), code, "{selective:?}: {e}");
    }
    // A derived credential cannot be derived again, nor an ecdsa-rdfc-2019 one.
    let derived = derive(&base, &[]).await;
    assert_eq!(derive_with(&types, &derived, &[]).await.unwrap_err().code(), "not_sd_base_proof");
    let rdfc = fixture_json("qr/sample-health-certificate.signed.json");
    assert_eq!(derive_with(&types, &rdfc, &[]).await.unwrap_err().code(), "not_sd_base_proof");
}

#[tokio::test]
async fn the_compact_qr_of_a_derived_health_certificate() {
    let base = base_health_certificate().await;
    let types = TypeRegistry::default();
    let mut lines = Vec::new();
    for (what, selective) in [
        ("mandatory only", vec![]),
        ("+ pinyin, sex", vec!["/credentialSubject/fullNamePinyin", "/credentialSubject/sex"]),
        (
            "everything",
            vec![
                "/id",
                "/credentialSubject/fullNamePinyin",
                "/credentialSubject/sex",
                "/credentialSubject/birthDate",
                "/credentialSubject/idNumberDigest",
                "/credentialSubject/idNumberSalt",
                "/credentialSubject/examinationDate",
                "/credentialSubject/examiningInstitution",
            ],
        ),
    ] {
        let derived = derive(&base, &selective).await;
        let qr_text = wallet_core::compact::encode_credential_with(&types, &derived).unwrap();
        let decoded = wallet_core::compact::decode_credential_with(&types, &qr_text).unwrap();
        assert_eq!(serde_json::to_string(&decoded).unwrap(), serde_json::to_string(&derived).unwrap());
        assert!(verify(&decoded).await.verified, "{what}");
        let version = wallet_core::qr::qr_version(&qr_text).unwrap();
        let json_len = serde_json::to_string(&derived).unwrap().len();
        let proof_len = derived["proof"]["proofValue"].as_str().unwrap().len();
        lines.push(format!(
            "{what}: JSON {json_len} B (proofValue {proof_len} chars), QR text {} chars, version {version} at M",
            qr_text.len()
        ));
        if selective.is_empty() {
            assert!(version <= 15, "the mandatory-only derived certificate needs QR version {version} at level M");
        }
    }
    println!("{}", lines.join("\n"));
}

// ---- W3C vc-di-ecdsa TestVectors/ecdsa-sd-2023 ----

/// Our loader plus the citizenship v4rc1 context the vectors use (not shipped).
fn w3c_loader() -> BundledLoader {
    let context = fixture("w3c/ecdsa-sd-2023/citizenship-v4rc1.jsonld");
    BundledLoader::with_generated(Arc::new(HashMap::from([("https://w3id.org/citizenship/v4rc1".to_owned(), context)])))
}

fn w3c_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

#[tokio::test]
async fn the_w3c_derived_credentials_verify() {
    for example in ["employ", "prc"] {
        let derived = fixture_json(&format!("w3c/ecdsa-sd-2023/{example}/derivedRevealDocument.json"));
        assert_eq!(
            verify_signature_with_loader(&w3c_loader(), &derived, w3c_time()).await,
            CheckResult::Valid,
            "{example}"
        );
        // The disclosed document is the vector's unsigned reveal document.
        let mut unsigned = derived.clone();
        unsigned.as_object_mut().unwrap().remove("proof");
        assert_eq!(unsigned, fixture_json(&format!("w3c/ecdsa-sd-2023/{example}/derivedUnsignedReveal.json")));
        // Tampered: another birth country.
        let mut forged = derived.clone();
        forged["credentialSubject"]["birthCountry"] = json!("Arcadia Minor");
        let result = verify_signature_with_loader(&w3c_loader(), &forged, w3c_time()).await;
        assert_eq!(result.invalid_code(), Some("bad_signature"), "{example}: {result:?}");
    }
}

#[tokio::test]
async fn the_w3c_base_proofs_are_refused() {
    for example in ["employ", "prc"] {
        let base = fixture_json(&format!("w3c/ecdsa-sd-2023/{example}/addSignedSDBase.json"));
        let result = verify_signature_with_loader(&w3c_loader(), &base, w3c_time()).await;
        assert_eq!(result.invalid_code(), Some("sd_base_proof_presented"), "{example}");
    }
}

#[tokio::test]
async fn deriving_from_the_w3c_base_reproduces_the_w3c_derived_proof() {
    // Derivation is deterministic (no new signature: the HMAC key in the base
    // proof fixes the blank-node labels), so it can be compared byte for byte.
    let base = fixture_json("w3c/ecdsa-sd-2023/employ/addSignedSDBase.json");
    let selective: Vec<String> =
        serde_json::from_value(fixture_json("w3c/ecdsa-sd-2023/employSelective.json")).unwrap();
    let expected = fixture_json("w3c/ecdsa-sd-2023/employ/derivedRevealDocument.json");
    let derived = derive_with_loader(&w3c_loader(), &base, &selective).await.unwrap();
    assert_eq!(derived["proof"]["proofValue"], expected["proof"]["proofValue"]);
    assert_eq!(derived, expected);
}

/// A `secretKeyMultibase` (base58btc of multicodec `p256-priv`, 0x1306) as its 32 bytes.
fn w3c_secret(multibase: &str) -> [u8; 32] {
    let bytes = bs58::decode(multibase.strip_prefix('z').unwrap()).into_vec().unwrap();
    assert_eq!(&bytes[..2], [0x86, 0x26]);
    bytes[2..].try_into().unwrap()
}

#[tokio::test]
async fn the_w3c_base_proof_is_reproduced_byte_for_byte_from_the_w3c_key_material() {
    use p256::pkcs8::EncodePrivateKey as _;
    let material = fixture_json("w3c/ecdsa-sd-2023/SDKeyMaterial.json");
    let issuer =
        p256::SecretKey::from_slice(&w3c_secret(material["baseKeyPair"]["secretKeyMultibase"].as_str().unwrap()))
            .unwrap();
    let issuer = IssuerKey::from_pkcs8_pem(&issuer.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap()).unwrap();
    let scoped = w3c_secret(material["proofKeyPair"]["secretKeyMultibase"].as_str().unwrap());
    let hmac_key: [u8; 32] = hex::decode(material["hmacKeyString"].as_str().unwrap()).unwrap().try_into().unwrap();
    let expected = fixture_json("w3c/ecdsa-sd-2023/employ/addSignedSDBase.json");
    let mut unsigned = expected.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    let mandatory: Vec<String> =
        serde_json::from_value(fixture_json("w3c/ecdsa-sd-2023/employMandatory.json")).unwrap();
    let created =
        DateTime::parse_from_rfc3339(expected["proof"]["created"].as_str().unwrap()).unwrap().with_timezone(&Utc);
    let ours = wallet_core::selective_disclosure::sign_base_with_key_material(
        &w3c_loader(),
        &unsigned,
        &issuer,
        created,
        &mandatory,
        &hmac_key,
        &scoped,
    )
    .await
    .unwrap();
    assert_eq!(ours["proof"]["verificationMethod"], expected["proof"]["verificationMethod"]);
    let components = |vc: &Value| -> Vec<ciborium::Value> {
        let value = vc["proof"]["proofValue"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&value[1..]).unwrap();
        assert_eq!(&bytes[..3], [0xd9, 0x5d, 0x00]);
        ciborium::from_reader(&bytes[3..]).unwrap()
    };
    let (ours_c, theirs_c) = (components(&ours), components(&expected));
    // Proof-scoped public key, HMAC key, one signature per non-mandatory statement, pointers.
    assert_eq!(ours_c[1], theirs_c[1]);
    assert_eq!(ours_c[2], theirs_c[2]);
    assert_eq!(ours_c[3].as_array().unwrap().len(), theirs_c[3].as_array().unwrap().len());
    assert_eq!(ours_c[4], theirs_c[4]);
    // The vector's signatures are deterministic (RFC 6979), as ours: the whole
    // base proof comes out byte for byte.
    assert_eq!(ours["proof"]["proofValue"], expected["proof"]["proofValue"]);
    assert_eq!(ours, expected);
    // Derived from our base, the W3C selection verifies and reveals the vector's document.
    let selective: Vec<String> =
        serde_json::from_value(fixture_json("w3c/ecdsa-sd-2023/employSelective.json")).unwrap();
    let derived = derive_with_loader(&w3c_loader(), &ours, &selective).await.unwrap();
    assert_eq!(verify_signature_with_loader(&w3c_loader(), &derived, w3c_time()).await, CheckResult::Valid);
    let mut revealed = derived.clone();
    revealed.as_object_mut().unwrap().remove("proof");
    assert_eq!(revealed, fixture_json("w3c/ecdsa-sd-2023/employ/derivedUnsignedReveal.json"));
}

#[tokio::test]
async fn a_type_without_mandatory_pointers_and_with_a_number_derives_and_verifies() {
    // The dog vaccination certificate declares no mandatoryPointers (the
    // holder shows what it picks beyond issuer, type and validity) and carries
    // an integer (numbers keep their literal form through derivation).
    let key = test_key();
    let types = TypeRegistry::default();
    let def = types.by_type("DogVaccinationCertificate").unwrap();
    let request = json!({"ownerName": "王芳", "dogName": "旺财", "breed": "中华田园犬", "dogSex": "male",
        "birthYear": 2021, "vaccine": "rabies", "vaccinationDate": "2026-03-01", "vaccinationClinic": "海淀区动物防疫站"});
    let checked = def.check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), None).unwrap();
    let mut unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    // Its status entries, as the issuer adds them (the type requires them).
    unsigned["credentialStatus"] = json!([
        {"id": "https://issuer.example.gov.cn/status/3#7", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "7", "statusListCredential": "https://issuer.example.gov.cn/status/3"},
        {"id": "https://issuer.example.gov.cn/status/4#7", "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
         "statusListIndex": "7", "statusListCredential": "https://issuer.example.gov.cn/status/4"}]);
    // Only the members every base proof makes mandatory.
    assert_eq!(
        mandatory_pointers_for(&types, &unsigned),
        ["/issuer", "/type", "/validFrom", "/validUntil", "/credentialStatus"]
    );
    let base =
        sign_base_for_type(&types, &unsigned, &key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap();
    let derived = derive(&base, &["/credentialSubject/birthYear", "/credentialSubject/vaccine"]).await;
    assert_eq!(derived["validUntil"], unsigned["validUntil"]);
    assert_eq!(derived["credentialSubject"]["birthYear"], json!(2021));
    assert!(derived["credentialSubject"].get("ownerName").is_none());
    assert!(verify(&derived).await.verified);
    let mut forged = derived.clone();
    forged["credentialSubject"]["birthYear"] = json!(2020);
    assert_invalid(&verify(&forged).await, "bad_signature");
}

// ---- anchoring: one digest for the base and every derived credential ----

/// `proof.proofValue`'s base signature replaced with `(r, n − s)`: the other
/// valid encoding of the same ECDSA signature.
fn with_high_s(vc: &Value) -> Value {
    let value = vc["proof"]["proofValue"].as_str().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&value[1..]).unwrap();
    let (header, body) = bytes.split_at(3);
    let mut components: Vec<ciborium::Value> = ciborium::from_reader(body).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(components[0].as_bytes().unwrap()).unwrap();
    let (r, s) = signature.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    assert_ne!(flipped.to_bytes(), signature.to_bytes());
    components[0] = ciborium::Value::Bytes(flipped.to_bytes().to_vec());
    let mut out = header.to_vec();
    ciborium::into_writer(&ciborium::Value::Array(components), &mut out).unwrap();
    let mut vc = vc.clone();
    vc["proof"]["proofValue"] = json!(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)));
    vc
}

#[tokio::test]
async fn a_derived_credential_has_the_anchoring_digest_of_its_base() {
    let base = base_health_certificate().await;
    let digest = anchoring_digest(&base).expect("a base proof has an anchoring digest");
    let mandatory_only = derive(&base, &[]).await;
    let more = derive(&base, &["/credentialSubject/birthDate", "/credentialSubject/sex"]).await;
    assert_eq!(anchoring_digest(&mandatory_only), Some(digest));
    assert_eq!(anchoring_digest(&more), Some(digest));
    // Not the N-Quads digest of either (they differ from each other).
    let nquads = wallet_core::transparency::credential_digest(&mandatory_only).await.unwrap();
    assert_ne!(nquads, digest);
    // The other encoding of the same base signature: same digest.
    assert_eq!(anchoring_digest(&with_high_s(&mandatory_only)), Some(digest));
    // Another issuance of the same credential: another digest.
    let again = base_health_certificate().await;
    assert_ne!(anchoring_digest(&again), Some(digest));
}

#[tokio::test]
async fn only_ecdsa_sd_2023_proofs_have_an_anchoring_digest() {
    let key = test_key();
    let unsigned = unsigned_health_certificate(&key);
    let rdfc = wallet_core::issuance::sign_credential(&unsigned, &key, now()).await.unwrap();
    assert_eq!(anchoring_digest(&rdfc), None);
    assert_eq!(anchoring_digest(&unsigned), None);
    let base = base_health_certificate().await;
    for bad in ["", "u", "uAAAA", "z123", "u2V0Ag"] {
        let mut vc = base.clone();
        vc["proof"]["proofValue"] = json!(bad);
        assert_eq!(anchoring_digest(&vc), None, "{bad:?}");
    }
    let mut two = base.clone();
    two["proof"] = json!([base["proof"].clone(), base["proof"].clone()]);
    assert_eq!(anchoring_digest(&two), None, "a proof set is not one ecdsa-sd-2023 proof");
}
