//! The `ecdsa-rdfc-2019` fast path (`wallet_core::ecdsa_rdfc_2019`) against
//! `ssi`'s verification of the same documents: every signed fixture, the W3C
//! vector, credentials we sign from every data-model fixture that is a valid
//! credential, and tampered copies of each. A document where the two disagree
//! is a bug in the fast path.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::canonical::{canonical_nquads, canonicalize_signed_with, Budget};
use wallet_core::contexts::BundledLoader;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::ecdsa_rdfc_2019::{verify, verify_with_canonical, verify_with_ssi, verify_with_unsecured, FastPath};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn json_files(dir: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(format!("{FIXTURES}/{dir}"))];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "json") {
            if let Ok(value) = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()) {
                out.push((path.display().to_string(), value));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every way an attacker would change a signed document, one at a time.
fn tampered(doc: &Value) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut edit = |what: &'static str, f: &dyn Fn(&mut Value)| {
        let mut copy = doc.clone();
        f(&mut copy);
        if copy != *doc {
            out.push((what, copy));
        }
    };
    edit("subject field changed", &|d| {
        if let Some(subject) = d.get_mut("credentialSubject").and_then(Value::as_object_mut) {
            let key = subject.keys().find(|k| *k != "id").cloned();
            if let Some(key) = key {
                subject.insert(key, json!("tampered"));
            }
        }
    });
    edit("subject property added", &|d| {
        if let Some(subject) = d.get_mut("credentialSubject").and_then(Value::as_object_mut) {
            subject.insert("name".into(), json!("Mallory"));
        }
    });
    edit("a proof nested in the subject", &|d| {
        let proof = d["proof"].clone();
        if let Some(subject) = d.get_mut("credentialSubject").and_then(Value::as_object_mut) {
            subject.insert("proof".into(), proof);
        }
    });
    edit("validUntil moved", &|d| {
        if d.get("validUntil").is_some() {
            d["validUntil"] = json!("2099-01-01T00:00:00Z");
        }
    });
    edit("issuer changed", &|d| d["issuer"] = json!("did:example:mallory"));
    edit("id added", &|d| {
        if d.get("id").is_none() {
            d["id"] = json!("urn:uuid:00000000-0000-4000-8000-000000000000");
        } else {
            d["id"] = json!("urn:uuid:11111111-1111-4111-8111-111111111111");
        }
    });
    edit("type added", &|d| {
        if let Some(types) = d.get_mut("type").and_then(Value::as_array_mut) {
            types.push(json!("HealthCertificate"));
        }
    });
    edit("proof created moved", &|d| d["proof"]["created"] = json!("2020-01-01T00:00:00Z"));
    edit("proof created in the future", &|d| d["proof"]["created"] = json!("2099-01-01T00:00:00Z"));
    edit("proof expires in the past", &|d| d["proof"]["expires"] = json!("2001-01-01T00:00:00Z"));
    edit("proof purpose changed", &|d| d["proof"]["proofPurpose"] = json!("authentication"));
    edit("proof value of another document", &|d| {
        d["proof"]["proofValue"] =
            json!("z5FGZjfsTHcRHGGaBJbXr8Zs3ax2wJtdjtC6mPTMmWJR4LKrGJDHxMx7NRNL1eMWp3cyA9tSX3GfTeoPT4CufBHfJ")
    });
    edit("proof value truncated", &|d| {
        if let Some(v) = d["proof"]["proofValue"].as_str() {
            let v = v.to_owned();
            d["proof"]["proofValue"] = json!(v[..v.len() - 2]);
        }
    });
    edit("verification method of another key", &|d| {
        let other = IssuerKey::generate();
        d["proof"]["verificationMethod"] = json!(other.verification_method());
    });
    edit("proof given a context of its own", &|d| {
        d["proof"]["@context"] = json!("https://www.w3.org/ns/credentials/v2")
    });
    edit("challenge added to the proof", &|d| d["proof"]["challenge"] = json!("1234"));
    out
}

/// Documents whose unsecured N-Quads were read off the signed document's RDF.
static DERIVED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Documents whose proof configuration N-Quads were read off the proof graph.
static DERIVED_CONFIG: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn loader() -> BundledLoader {
    TypeRegistry::default().loader()
}

async fn same_answer(name: &str, doc: &Value, applicable: &mut usize, total: &mut usize) {
    let Some(proof) = doc.get("proof").filter(|p| p.is_object()) else { return };
    if proof.get("cryptosuite").and_then(Value::as_str) != Some("ecdsa-rdfc-2019") {
        return;
    }
    *total += 1;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let reference = verify_with_ssi(doc, now).await;
    let answer = verify(doc, proof).await;
    // The verifier's own route (issue #16): the unsecured document's N-Quads
    // read off the signed document's RDF, only the proof configuration
    // canonicalised again. Same answer, and the same N-Quads as canonicalising
    // the unsecured document itself.
    if let Ok(canonical) = canonicalize_signed_with(&loader(), doc, Budget::default()).await {
        if let Some(unsecured) = &canonical.unsecured {
            DERIVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut without = doc.clone();
            without.as_object_mut().unwrap().remove("proof");
            assert_eq!(canonical_nquads(&without).await.as_ref(), Ok(unsecured), "{name}: derived N-Quads differ");
        }
        let derived = verify_with_unsecured(&loader(), doc, proof, canonical.unsecured.as_deref()).await;
        assert_eq!(derived, answer, "{name}: derived and direct unsecured documents answer differently");
        // The proof configuration read off the proof graph: the same N-Quads
        // as canonicalising it (the proof without proofValue, in the document's
        // @context), and the same answer with both parts read off.
        if let Some(config) = &canonical.proof_config {
            DERIVED_CONFIG.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut direct = proof.as_object().unwrap().clone();
            direct.remove("proofValue");
            direct.insert("@context".into(), doc["@context"].clone());
            assert_eq!(
                canonical_nquads(&Value::Object(direct)).await.as_ref(),
                Ok(config),
                "{name}: derived proof configuration differs"
            );
        }
        let both = verify_with_canonical(
            &loader(),
            doc,
            proof,
            canonical.unsecured.as_deref(),
            canonical.proof_config.as_deref(),
        )
        .await;
        assert_eq!(both, answer, "{name}: read-off and direct canonical parts answer differently");
    }
    match answer {
        FastPath::Valid => assert!(reference, "{name}: the fast path accepts what ssi refuses"),
        FastPath::Mismatch => assert!(!reference, "{name}: the fast path refuses what ssi accepts"),
        FastPath::Canonicalization(e) => assert!(!reference, "{name}: fast path says {e}, ssi accepts"),
        FastPath::NotApplicable(_) => return,
    }
    *applicable += 1;
}

#[tokio::test]
async fn the_fast_path_gives_ssis_answer_on_every_signed_fixture_and_tampered_copy() {
    let key = IssuerKey::from_pkcs8_pem(&std::fs::read_to_string(format!("{FIXTURES}/keys/test-issuer.pem")).unwrap())
        .unwrap();
    let mut signed: Vec<(String, Value)> = json_files("")
        .into_iter()
        .filter(|(_, v)| v.get("proof").and_then(|p| p.get("cryptosuite")) == Some(&json!("ecdsa-rdfc-2019")))
        .collect();
    // Every data-model fixture that is a valid credential, signed by us.
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap();
    for (name, unsigned) in json_files("vcdm2").into_iter().chain(json_files("credentials")) {
        let ours = name.ends_with("sample-health-certificate.unsigned.json");
        if !(name.ends_with("-ok.json") || ours) || unsigned.get("proof").is_some() {
            continue;
        }
        if let Ok(vc) = sign_credential(&unsigned, &key, created).await {
            signed.push((format!("{name} (signed here)"), vc));
        }
    }
    assert!(signed.len() >= 20, "too few signed documents to compare: {}", signed.len());

    let (mut applicable, mut total, mut accepted) = (0, 0, 0);
    for (name, doc) in &signed {
        same_answer(name, doc, &mut applicable, &mut total).await;
        if matches!(verify(doc, &doc["proof"]).await, FastPath::Valid) {
            accepted += 1;
        }
        for (what, copy) in tampered(doc) {
            same_answer(&format!("{name}: {what}"), &copy, &mut applicable, &mut total).await;
        }
    }
    eprintln!(
        "fast path: {applicable} of {total} documents compared with ssi; {accepted} of {} originals valid",
        signed.len()
    );
    assert!(accepted >= signed.len() - 12, "most signed fixtures must verify: {accepted}/{}", signed.len());
    assert!(applicable * 10 >= total * 9, "the fast path must handle nearly all: {applicable}/{total}");
    let derived = DERIVED.load(std::sync::atomic::Ordering::Relaxed);
    assert!(derived * 10 >= total * 8, "unsecured N-Quads derived for {derived} of {total}");
    let config = DERIVED_CONFIG.load(std::sync::atomic::Ordering::Relaxed);
    assert!(config * 10 >= total * 7, "proof configuration N-Quads derived for {config} of {total}");
}
