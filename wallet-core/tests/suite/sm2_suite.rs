//! The `sm2-rdfc-2026` cryptosuite (`specs/sm2-rdfc-2026.md`): our proofs,
//! tampered copies, hostile inputs, and interoperability with OpenSSL 3's SM2
//! in both directions (its signatures verify here, ours verify there).

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::sm2_rdfc_2026::{
    hash_data, sign, signature_from_der, signature_to_der, verify, Sm2Error, Sm2IssuerKey, Verdict, CRYPTOSUITE,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// The shipped health certificate, its P-256 proof removed.
fn unsigned_credential() -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/qr/sample-health-certificate.signed.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("proof");
    doc
}

fn created() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap()
}

/// One tampering of a signed document.
type Edit = Box<dyn Fn(&mut Value)>;
/// Which error a malformed input must give.
type Expected = fn(&Sm2Error) -> bool;

async fn signed(key: &Sm2IssuerKey) -> Value {
    sign(&unsigned_credential(), key, created()).await.unwrap()
}

#[tokio::test]
async fn a_signed_credential_verifies_and_names_the_suite() {
    let key = Sm2IssuerKey::generate();
    let doc = signed(&key).await;
    assert_eq!(doc["proof"]["cryptosuite"], CRYPTOSUITE);
    assert_eq!(doc["proof"]["verificationMethod"], key.verification_method());
    assert_eq!(doc["proof"]["created"], "2026-12-05T10:00:00Z");
    assert_eq!(verify(&doc).await.unwrap(), Verdict::Valid);
}

#[tokio::test]
async fn every_tampering_is_a_mismatch_or_refused() {
    let key = Sm2IssuerKey::generate();
    let doc = signed(&key).await;
    let other = Sm2IssuerKey::generate();
    let edits: Vec<(&str, Edit)> = vec![
        ("fullName", Box::new(|d| d["credentialSubject"]["fullName"] = json!("王五"))),
        ("examinationResult", Box::new(|d| d["credentialSubject"]["examinationResult"] = json!("qualified-forged"))),
        ("validUntil", Box::new(|d| d["validUntil"] = json!("2099-01-01T00:00:00Z"))),
        ("created", Box::new(|d| d["proof"]["created"] = json!("2020-01-01T00:00:00Z"))),
        (
            "signature bit",
            Box::new(|d| {
                let value = d["proof"]["proofValue"].as_str().unwrap().to_owned();
                let mut bytes = bs58::decode(&value[1..]).into_vec().unwrap();
                bytes[10] ^= 1;
                d["proof"]["proofValue"] = json!(format!("z{}", bs58::encode(bytes).into_string()));
            }),
        ),
        (
            "another key",
            Box::new({
                let vm = other.verification_method();
                move |d| d["proof"]["verificationMethod"] = json!(vm)
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut copy = doc.clone();
        edit(&mut copy);
        assert_eq!(verify(&copy).await.unwrap(), Verdict::Mismatch, "{what}");
    }
    // A claim the protected contexts do not define is refused outright.
    let mut copy = doc.clone();
    copy["credentialSubject"]["note"] = json!("x");
    assert!(matches!(verify(&copy).await, Err(Sm2Error::Canonicalization(_))));
}

#[tokio::test]
async fn malformed_proofs_are_errors_not_verdicts() {
    let key = Sm2IssuerKey::generate();
    let doc = signed(&key).await;
    let p256 = wallet_core::keys::IssuerKey::generate();
    let cases: Vec<(&str, Value, Expected)> = vec![
        (
            "no proof",
            {
                let mut d = doc.clone();
                d.as_object_mut().unwrap().remove("proof");
                d
            },
            |e| matches!(e, Sm2Error::NotThisSuite),
        ),
        (
            "proof set",
            {
                let mut d = doc.clone();
                d["proof"] = json!([doc["proof"].clone()]);
                d
            },
            |e| matches!(e, Sm2Error::NotThisSuite),
        ),
        (
            "ecdsa suite name",
            {
                let mut d = doc.clone();
                d["proof"]["cryptosuite"] = json!("ecdsa-rdfc-2019");
                d
            },
            |e| matches!(e, Sm2Error::NotThisSuite),
        ),
        (
            "authentication purpose",
            {
                let mut d = doc.clone();
                d["proof"]["proofPurpose"] = json!("authentication");
                d
            },
            |e| matches!(e, Sm2Error::ProofPurpose),
        ),
        (
            "P-256 key",
            {
                let mut d = doc.clone();
                d["proof"]["verificationMethod"] = json!(p256.verification_method());
                d
            },
            |e| matches!(e, Sm2Error::NotSm2DidKey(_)),
        ),
        (
            "https key",
            {
                let mut d = doc.clone();
                d["proof"]["verificationMethod"] = json!("https://evil.example/key#1");
                d
            },
            |e| matches!(e, Sm2Error::NotSm2DidKey(_)),
        ),
        (
            "short signature",
            {
                let mut d = doc.clone();
                d["proof"]["proofValue"] = json!(format!("z{}", bs58::encode([1_u8; 63]).into_string()));
                d
            },
            |e| matches!(e, Sm2Error::ProofValue),
        ),
        (
            "zero r",
            {
                let mut d = doc.clone();
                let mut raw = [0_u8; 64];
                raw[63] = 1;
                d["proof"]["proofValue"] = json!(format!("z{}", bs58::encode(raw).into_string()));
                d
            },
            |e| matches!(e, Sm2Error::ProofValue),
        ),
        (
            "s = n (out of range)",
            {
                let mut d = doc.clone();
                let n = hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123").unwrap();
                let mut raw = [1_u8; 64];
                raw[32..].copy_from_slice(&n);
                d["proof"]["proofValue"] = json!(format!("z{}", bs58::encode(raw).into_string()));
                d
            },
            |e| matches!(e, Sm2Error::ProofValue),
        ),
        (
            "base64 proofValue",
            {
                let mut d = doc.clone();
                d["proof"]["proofValue"] = json!("uAAAA");
                d
            },
            |e| matches!(e, Sm2Error::ProofValue),
        ),
        (
            "huge proofValue",
            {
                let mut d = doc.clone();
                d["proof"]["proofValue"] = json!(format!("z{}", "2".repeat(100_000)));
                d
            },
            |e| matches!(e, Sm2Error::ProofValue),
        ),
    ];
    for (what, doc, expected) in cases {
        match verify(&doc).await {
            Err(e) => assert!(expected(&e), "{what}: wrong error {e:?}"),
            Ok(verdict) => panic!("{what}: expected an error, got {verdict:?}"),
        }
    }
    // Signing refuses what it cannot sign.
    assert!(matches!(sign(&json!([1]), &key, created()).await, Err(Sm2Error::NotSignable)));
    assert!(matches!(sign(&doc, &key, created()).await, Err(Sm2Error::NotSignable)));
}

#[tokio::test]
async fn the_suites_do_not_verify_each_other() {
    // The same bytes cannot pass as an ecdsa-rdfc-2019 proof: another hash,
    // another curve, and the suite name is inside what is signed.
    let key = Sm2IssuerKey::generate();
    let mut doc = signed(&key).await;
    doc["proof"]["cryptosuite"] = json!("ecdsa-rdfc-2019");
    let proof = doc["proof"].clone();
    assert_ne!(wallet_core::ecdsa_rdfc_2019::verify(&doc, &proof).await, wallet_core::ecdsa_rdfc_2019::FastPath::Valid);
}

// ---- OpenSSL 3 interoperability ----------------------------------------

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out =
        Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn openssl_verifies_our_proof() {
    let dir = tempfile::tempdir().unwrap();
    let key = Sm2IssuerKey::generate();
    let doc = signed(&key).await;
    let hash = hash_data(&doc, &doc["proof"]).await.unwrap().unwrap();
    let value = doc["proof"]["proofValue"].as_str().unwrap();
    let raw: [u8; 64] = bs58::decode(&value[1..]).into_vec().unwrap().try_into().unwrap();
    std::fs::write(dir.path().join("hashdata.bin"), hash.bytes()).unwrap();
    std::fs::write(dir.path().join("sig.der"), signature_to_der(&raw).unwrap()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.to_pkcs8_pem().unwrap()).unwrap();
    openssl(dir.path(), &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    let out = openssl(
        dir.path(),
        &[
            "dgst",
            "-sm3",
            "-verify",
            "pub.pem",
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            "sig.der",
            "hashdata.bin",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
    // And a digest OpenSSL computes with SM3 is ours (GB/T 32905).
    std::fs::write(dir.path().join("abc"), b"abc").unwrap();
    let out = openssl(dir.path(), &["dgst", "-sm3", "-r", "abc"]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"));
}

#[tokio::test]
async fn our_verifier_accepts_a_proof_openssl_signed() {
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["genpkey", "-algorithm", "SM2", "-out", "key.pem"]);
    let pem = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
    // Only the public key is needed to name the verification method; the
    // private key stays with OpenSSL.
    let public = Sm2IssuerKey::from_pkcs8_pem(&pem).unwrap();
    let mut doc = unsigned_credential();
    doc["proof"] = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": "2026-12-05T10:00:00Z",
        "verificationMethod": public.verification_method(),
        "proofPurpose": "assertionMethod",
    });
    let hash = hash_data(&doc, &doc["proof"]).await.unwrap().unwrap();
    std::fs::write(dir.path().join("hashdata.bin"), hash.bytes()).unwrap();
    openssl(
        dir.path(),
        &["dgst", "-sm3", "-sign", "key.pem", "-sigopt", "distid:1234567812345678", "-out", "sig.der", "hashdata.bin"],
    );
    let raw = signature_from_der(&std::fs::read(dir.path().join("sig.der")).unwrap()).unwrap();
    doc["proof"]["proofValue"] = json!(format!("z{}", bs58::encode(raw).into_string()));
    assert_eq!(verify(&doc).await.unwrap(), Verdict::Valid);
    // Signed with another distinguishing identifier, it is not ours.
    openssl(
        dir.path(),
        &[
            "dgst",
            "-sm3",
            "-sign",
            "key.pem",
            "-sigopt",
            "distid:0000000000000000",
            "-out",
            "other.der",
            "hashdata.bin",
        ],
    );
    let raw = signature_from_der(&std::fs::read(dir.path().join("other.der")).unwrap()).unwrap();
    doc["proof"]["proofValue"] = json!(format!("z{}", bs58::encode(raw).into_string()));
    assert_eq!(verify(&doc).await.unwrap(), Verdict::Mismatch);
}
