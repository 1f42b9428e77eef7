//! The cheapest hostile inputs to status and anchoring: a forged credential
//! naming every status list an offline bundle holds, a signed status list
//! whose bitstring inflates beyond any real list, an inclusion proof with a
//! huge path or an impossible index, and a checkpoint signed by another key
//! than the log's. Each is refused by a bound or a check, named by its code.

use std::io::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use chrono::Duration;
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{
    status_list_credential, Bitstring, LazyStatusLists, StatusListCache, StatusPolicy, StatusPurpose, MAX_DECODED_BYTES,
};
use wallet_core::transparency::{Checkpoint, InclusionBundle, LogEntry, LogSigner, MerkleTree, WitnessPolicy};
use wallet_core::verification::{verify_credential, CheckResult, StatusSource, VerificationReport, VerifyOptions};

use crate::attack_common::*;

fn list_url(n: usize) -> String {
    format!("https://issuer.example.gov.cn/status/{n}")
}

async fn signed_list(key: &IssuerKey, url: &str, purpose: StatusPurpose, bits: &Bitstring) -> Value {
    let unsigned = status_list_credential(
        url,
        &key.did(),
        purpose,
        bits,
        now() - Duration::minutes(10),
        now() + Duration::days(1),
    );
    sign_credential(&unsigned, key, now() - Duration::minutes(10)).await.unwrap()
}

/// A health certificate by `key` with a revocation entry in each of `urls`
/// but the last of several, and a suspension entry in that one.
fn naming(key: &IssuerKey, urls: &[String]) -> Value {
    let mut doc = unsigned(&key.did());
    doc["credentialStatus"] = Value::Array(
        urls.iter()
            .enumerate()
            .map(|(i, url)| {
                let purpose = if i > 0 && i + 1 == urls.len() { "suspension" } else { "revocation" };
                json!({"id": format!("{url}#94567"), "type": "BitstringStatusListEntry",
                       "statusPurpose": purpose, "statusListIndex": "94567", "statusListCredential": url})
            })
            .collect(),
    );
    doc
}

async fn verify(vc: &Value, options: &VerifyOptions) -> VerificationReport {
    verify_credential(vc, options).await.unwrap_or_else(|e| panic!("malformed: {e}"))
}

/// An offline inspector opens a bundle's status lists lazily, each when a
/// credential first names it (~5 ms each; a province bundles 2,000). A
/// forged credential naming them all must not make it verify every one.
#[tokio::test]
async fn attack_a_forged_credential_does_not_make_the_verifier_check_status_lists() {
    let key = IssuerKey::generate();
    // As many lists as a credential may name (`MAX_STATUS_ENTRIES`).
    let urls: Vec<String> = (0..wallet_core::status::MAX_STATUS_ENTRIES).map(list_url).collect();
    let mut lists = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let purpose = if i + 1 == urls.len() { StatusPurpose::Suspension } else { StatusPurpose::Revocation };
        lists.push((url.clone(), signed_list(&key, url, purpose, &Bitstring::new(131_072)).await));
    }
    let lazy = Arc::new(LazyStatusLists::new(lists, now(), now()));
    let options = VerifyOptions::at(now())
        .with_status(StatusSource::Lazy { lists: lazy.clone(), policy: StatusPolicy::default() });
    let genuine = sign_credential(&naming(&key, &urls), &key, signed_at()).await.unwrap();
    let mut forged = genuine.clone();
    forged["credentialSubject"]["fullName"] = json!("王五");
    let report = verify(&forged, &options).await;
    assert_refused(&report, signature, "bad_signature");
    assert!(
        matches!(&report.checks.status, CheckResult::Unchecked { code, .. } if code == "status_not_checked"),
        "{:#?}",
        report.checks.status
    );
    assert_eq!(lazy.verified_urls(), 0, "no list was verified for a forged credential");
    // The genuine credential has its lists verified, each once.
    let report = verify(&genuine, &options).await;
    assert_eq!(report.checks.status, CheckResult::Valid, "{report:#?}");
    assert_eq!(lazy.verified_urls(), urls.len());
}

/// A list signed by the credential's own key whose `encodedList` inflates
/// to 64 MiB from a few dozen kilobytes: refused after 16 MiB of output.
#[tokio::test]
async fn attack_a_signed_status_list_that_is_a_gzip_bomb_is_refused() {
    let key = IssuerKey::generate();
    let url = list_url(1);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0_u8; 1 << 20];
    for _ in 0..64 {
        gzip.write_all(&zeros).unwrap();
    }
    let bomb = gzip.finish().unwrap();
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    let mut unsigned = status_list_credential(
        &url,
        &key.did(),
        StatusPurpose::Revocation,
        &Bitstring::new(131_072),
        now() - Duration::minutes(10),
        now() + Duration::days(1),
    );
    unsigned["credentialSubject"]["encodedList"] =
        json!(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bomb)));
    let list = sign_credential(&unsigned, &key, now() - Duration::minutes(10)).await.unwrap();
    let mut cache = StatusListCache::default();
    let refused = cache.offer(&url, &list, now(), now()).await.unwrap_err();
    assert_eq!(refused.code(), "status_list_too_large");
    const { assert!(64 << 20 > MAX_DECODED_BYTES) };
    // A credential naming it: its status is not vouched for (fail closed).
    let vc = sign_credential(&naming(&key, std::slice::from_ref(&url)), &key, signed_at()).await.unwrap();
    let options = VerifyOptions::at(now())
        .with_status(StatusSource::Cache { cache: Arc::new(cache), policy: StatusPolicy::default() });
    let report = verify(&vc, &options).await;
    assert!(!report.verified, "{report:#?}");
    assert_invalid(&report.checks.status, "status_list_too_large");
}

/// A wallet's inclusion proof: a path of 100,000 hashes, an index past the
/// tree, and the same tree under a checkpoint signed by another key.
#[test]
fn attack_inclusion_proofs_with_huge_paths_impossible_indexes_or_another_log_key_are_refused() {
    let origin = "clinic.example/log";
    let log = LogSigner::from_issuer_key(origin, &IssuerKey::generate()).unwrap();
    let mut tree = MerkleTree::new();
    let mut entries = Vec::new();
    for i in 0..5_u8 {
        let entry = LogEntry::issued([i; 32], "did:key:zIssuer", 1_780_000_000 + u64::from(i)).unwrap();
        tree.append(entry.leaf_hash());
        entries.push(entry);
    }
    let note = Checkpoint::new(origin, tree.size(), tree.root()).sign(&log).unwrap().to_string();
    let checkpoint = log.log_key().open_checkpoint(&note).unwrap();
    let inclusion = InclusionBundle::new(entries[3].clone(), 3, &tree, &checkpoint).unwrap();
    let no_witnesses = WitnessPolicy::new(Vec::new(), 0).unwrap();
    let code = |bundle: &InclusionBundle| match bundle.verify(&[3; 32], log.log_key(), &no_witnesses) {
        Ok(_) => "included",
        Err(e) => e.code(),
    };
    assert_eq!(code(&inclusion), "included");
    let mut huge = inclusion.clone();
    huge.proof = vec![[7; 32]; 100_000];
    assert_eq!(code(&huge), "anchoring_bad_inclusion_proof");
    for index in [5, u64::MAX] {
        let mut beyond = inclusion.clone();
        beyond.index = index;
        assert_eq!(code(&beyond), "anchoring_bad_inclusion_proof");
    }
    // As JSON (how a wallet's export arrives): a huge path does not even parse.
    let mut json: Value = serde_json::from_str(&inclusion.to_json()).unwrap();
    json["proof"] = Value::Array(vec![json!(hex::encode([7; 32])); 10_000]);
    assert_eq!(InclusionBundle::from_json(&json.to_string()).unwrap_err().code(), "anchoring_bundle_malformed");
    // The same tree and origin, checkpoint signed by another key.
    let impostor = LogSigner::from_issuer_key(origin, &IssuerKey::generate()).unwrap();
    let forged_note = Checkpoint::new(origin, tree.size(), tree.root()).sign(&impostor).unwrap().to_string();
    let mut forged = inclusion.clone();
    forged.checkpoint = forged_note;
    assert_eq!(code(&forged), "anchoring_bad_checkpoint");
}
