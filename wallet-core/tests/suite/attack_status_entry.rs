//! Attack: the holder of a revoked (or suspended) credential shows it without
//! the status entry that would say so. In a derived `ecdsa-sd-2023`
//! credential whose base proof did not make `credentialStatus` mandatory
//! (another issuing tool, a misconfiguration) the holder simply does not
//! disclose it; a withheld entry looks like a credential issued without one.
//! Every shipped type's definition says its credentials always carry a
//! revocation and a suspension entry (`statusRequired`), so such a credential
//! is refused: status `invalid status_entry_missing`, and so is one signed
//! whole without them (no issuer route of ours makes one). Credentials of no
//! defined type (the W3C suites') keep the old reading: `unchecked
//! no_status_entry`.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::selective_disclosure::{derive_with, sign_base_with};
use wallet_core::status::{status_list_credential, Bitstring, StatusListCache, StatusPolicy, StatusPurpose};
use wallet_core::verification::{verify_credential, CheckResult, StatusSource, VerificationReport, VerifyOptions};

use crate::attack_common::*;

const REVOCATION_URL: &str = "https://issuer.example.gov.cn/status/3";
const SUSPENSION_URL: &str = "https://issuer.example.gov.cn/status/4";

/// The fixture's two lists, signed by `key`; the fixture's revocation bit
/// (94567) set: the certificate is revoked.
async fn revoked_lists(key: &IssuerKey) -> StatusListCache {
    let mut cache = StatusListCache::default();
    for (url, purpose, set) in
        [(REVOCATION_URL, StatusPurpose::Revocation, Some(94_567)), (SUSPENSION_URL, StatusPurpose::Suspension, None)]
    {
        let mut bits = Bitstring::new(131_072);
        if let Some(index) = set {
            bits.set(index, true).unwrap();
        }
        let unsigned = status_list_credential(
            url,
            &key.did(),
            purpose,
            &bits,
            now() - Duration::minutes(10),
            now() + Duration::days(1),
        );
        let list = sign_credential(&unsigned, key, now() - Duration::minutes(10)).await.unwrap();
        cache.offer(url, &list, now(), now()).await.unwrap();
    }
    cache
}

async fn verify(vc: &Value, cache: Option<StatusListCache>) -> VerificationReport {
    let mut options = VerifyOptions::at(now());
    if let Some(cache) = cache {
        options = options.with_status(StatusSource::Cache { cache: Arc::new(cache), policy: StatusPolicy::default() });
    }
    verify_credential(vc, &options).await.unwrap_or_else(|e| panic!("malformed: {e}"))
}

/// A base proof with every pointer the verifier demands of a derived health
/// certificate, but not `/credentialStatus`.
async fn loose_base(key: &IssuerKey) -> Value {
    let pointers: Vec<String> = [
        "/issuer",
        "/type",
        "/validFrom",
        "/validUntil",
        "/credentialSubject/fullName",
        "/credentialSubject/examinationResult",
        "/credentialSubject/occupation",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    sign_base_with(&TypeRegistry::default(), &unsigned(&key.did()), key, signed_at(), &pointers).await.unwrap()
}

async fn derive(base: &Value, selective: &[&str]) -> Value {
    let selective: Vec<String> = selective.iter().map(|s| (*s).to_owned()).collect();
    derive_with(&TypeRegistry::default(), base, &selective).await.unwrap()
}

#[tokio::test]
async fn attack_status_entry_a_derived_credential_without_its_status_entry_is_refused() {
    let key = IssuerKey::generate();
    let base = loose_base(&key).await;
    // Shown with its entries, the revoked certificate reads revoked.
    let honest = derive(&base, &["/credentialStatus"]).await;
    assert_refused(&verify(&honest, Some(revoked_lists(&key).await)).await, status, "revoked");
    // The holder withholds the whole status entry: before the rule, a green
    // verdict with status `unchecked no_status_entry`.
    let hidden = derive(&base, &[]).await;
    assert!(hidden.get("credentialStatus").is_none(), "{hidden:#}");
    let report = verify(&hidden, Some(revoked_lists(&key).await)).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_refused(&report, status, "status_entry_missing");
    // Without any status lists at hand too.
    assert_refused(&verify(&hidden, None).await, status, "status_entry_missing");
}

/// Only the suspension entry shown, the revocation entry withheld: the
/// suspension bit is clear, and the certificate would read valid.
#[tokio::test]
async fn attack_status_entry_a_derived_credential_showing_only_its_suspension_entry_is_refused() {
    let key = IssuerKey::generate();
    let partial = derive(&loose_base(&key).await, &["/credentialStatus/1"]).await;
    let entries = partial["credentialStatus"].as_array().map_or(1, Vec::len);
    assert_eq!(entries, 1, "{partial:#}");
    assert_eq!(partial["credentialStatus"][0]["statusPurpose"].as_str().unwrap_or(""), "suspension", "{partial:#}");
    let report = verify(&partial, Some(revoked_lists(&key).await)).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_refused(&report, status, "status_entry_missing");
}

/// A health certificate signed whole (`ecdsa-rdfc-2019`, or the SM2 suite)
/// without status entries: our issuer allocates entries on every route, so
/// such a credential comes from another tool, a misconfiguration or a stolen
/// key, and could never be revoked. Before the rule: a green verdict with
/// status `unchecked no_status_entry`.
#[tokio::test]
async fn attack_status_entry_a_whole_credential_without_status_is_refused() {
    let key = IssuerKey::generate();
    let mut doc = unsigned(&key.did());
    doc.as_object_mut().unwrap().remove("credentialStatus");
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    let report = verify(&vc, None).await;
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_refused(&report, status, "status_entry_missing");
    // Only the suspension entry kept: the revocation entry is missing.
    let mut doc = unsigned(&key.did());
    let suspension = doc["credentialStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["statusPurpose"] == "suspension")
        .cloned()
        .unwrap();
    doc["credentialStatus"] = json!([suspension]);
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    assert_refused(&verify(&vc, Some(revoked_lists(&key).await)).await, status, "status_entry_missing");
    // The SM2 suite: the same rule.
    let sm2 = wallet_core::sm2_rdfc_2026::Sm2IssuerKey::generate();
    let mut doc = unsigned(&sm2.did());
    doc.as_object_mut().unwrap().remove("credentialStatus");
    let vc = wallet_core::sm2_rdfc_2026::sign(&doc, &sm2, signed_at()).await.unwrap();
    let report = verify(&vc, None).await;
    assert_eq!(report.checks.signature, CheckResult::Valid, "{report:#?}");
    assert_refused(&report, status, "status_entry_missing");
    // A single-use type also needs its `used` entry: the definitions say so.
    let types = TypeRegistry::default();
    let invoice = types.by_type("MedicalInvoice").unwrap();
    assert!(invoice.single_use && invoice.status_required);
    assert!(types.definitions().all(|d| d.status_required), "every shipped type carries status entries");
}

/// W3C-suite credentials are of no defined type: without `credentialStatus`
/// they read as before (`unchecked no_status_entry`, verified).
#[tokio::test]
async fn attack_status_entry_credentials_of_no_defined_type_are_unaffected() {
    let key = IssuerKey::generate();
    let doc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": key.did(),
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21", "degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"}}
    });
    let vc = sign_credential(&doc, &key, signed_at()).await.unwrap();
    let report = verify(&vc, None).await;
    assert!(report.verified, "{report:#?}");
    match &report.checks.status {
        CheckResult::Unchecked { code, .. } => assert_eq!(code, "no_status_entry"),
        other => panic!("{other:?}"),
    }
}
