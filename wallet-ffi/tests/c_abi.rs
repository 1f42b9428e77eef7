//! The C ABI exercised from real foreign code: a C inspector program compiled with
//! the system C compiler against `include/ecert_wallet.h` and linked to the built
//! `libecert_wallet.so`, and the same library loaded by Python's ctypes. Both verify
//! fixture credentials offline against a signed verifier bundle: a valid one passes,
//! a revoked one fails with `revoked`, a photo of the QR code decodes and verifies,
//! garbage and NULL are errors (not crashes), and a bundle signed by a key that is
//! not a configured root is refused. The wallet's export of a credential (with its
//! inclusion proof) gets the anchoring check offline against the bundle's log; an
//! altered proof fails it. A C wallet app keeps a holder-bound credential
//! in its encrypted store, lists, renders, presents and deletes it; the inspector
//! side checks the presentation's binding, window and challenge. A canonicalisation
//! bomb imported through the C ABI is refused with `document_too_complex`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

#[path = "../../test-support/require.rs"]
mod require;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use require::{require, Dep};
use serde_json::{json, Value};
use wallet_core::keys::IssuerKey;
use wallet_core::transparency::{
    credential_digest, BundledAnchor, BundledLog, Checkpoint, InclusionBundle, LogEntry, LogSigner, MerkleTree,
};
use wallet_core::trust::*;
use wallet_core::verifier_bundle::{sign_bundle, BundledStatusList, VerifierBundle, VERIFIER_BUNDLE_VERSION};

const CRATE: &str = env!("CARGO_MANIFEST_DIR");
const ROOT_PASSPHRASE: &str = "test-only-passphrase";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{CRATE}/../fixtures/{path}")).unwrap()
}

fn json_fixture(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap()
}

/// When the status fixtures are checked (see fixtures/status/README.md).
fn now() -> DateTime<Utc> {
    "2026-04-03T12:00:00Z".parse().unwrap()
}

/// The issuance of `credential` in a clinic's log (next to another credential's),
/// anchored: the log as a bundle carries it, and the wallet's export of the
/// credential with its inclusion proof (one line of JSON).
fn logged_issuance(credential: &Value) -> (BundledLog, String) {
    let origin = "clinic.example.gov.cn/log";
    let signer = LogSigner::from_issuer_key(origin, &IssuerKey::generate()).unwrap();
    let issuer = credential["issuer"].as_str().unwrap();
    let digest = pollster::block_on(credential_digest(credential)).unwrap();
    let at = u64::try_from(now().timestamp()).unwrap() - 86_400;
    let entry = LogEntry::issued(digest, issuer, at).unwrap();
    let mut tree = MerkleTree::new();
    tree.append(LogEntry::issued([7; 32], issuer, at - 60).unwrap().leaf_hash());
    let index = tree.append(entry.leaf_hash());
    let note = Checkpoint::new(origin, tree.size(), tree.root()).sign(&signer).unwrap().to_string();
    let checkpoint = signer.log_key().open_checkpoint(&note).unwrap();
    let inclusion = InclusionBundle::new(entry, index, &tree, &checkpoint).unwrap();
    let log = BundledLog {
        origin: origin.to_owned(),
        log_key: signer.log_key().to_vkey(),
        witness_keys: Vec::new(),
        witness_threshold: 0,
        anchored: Some(BundledAnchor {
            tree_size: tree.size(),
            root: tree.root(),
            chain_id: 31337,
            block_number: 7,
            block_time: at + 30,
            tx_hash: format!("0x{:064x}", 7),
        }),
        conflict: None,
    };
    (log, json!({"credential": credential, "inclusion": inclusion}).to_string())
}

/// A trust list certifying the fixture clinic, and a bundle with `lists` (and
/// `logs`), signed by the health commission's root (or by `signer`).
fn bundle(lists: &[(&str, &str)], logs: &[BundledLog], signer: Option<(&IssuerKey, Vec<u8>)>) -> Vec<u8> {
    bundle_carrying(trust_list(1, &[]), 5, lists, logs, signer)
}

/// The trust list (health commission) with `sequence`, its CRL revoking `revoked`.
fn trust_list(sequence: u64, revoked: &[RevocationEntry]) -> Vec<u8> {
    let issued = now() - Duration::hours(1);
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let health_der = certificate_pem_to_der(&health_pem).unwrap();
    let next = issued + Duration::days(7);
    let contents = TrustListContents {
        sequence,
        issued_at: issued,
        next_update: next,
        roots: vec![health_der.clone()],
        issuer_certificates: vec![certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap()],
        crls: vec![create_crl(&health_pem, &health_key, revoked, issued - Duration::minutes(1), next).unwrap()],
    };
    build_trust_list(&contents, &health_key, std::slice::from_ref(&health_der)).unwrap()
}

/// A bundle numbered `sequence` carrying `trust_list`, as [`bundle`].
fn bundle_carrying(
    trust_list: Vec<u8>,
    sequence: u64,
    lists: &[(&str, &str)],
    logs: &[BundledLog],
    signer: Option<(&IssuerKey, Vec<u8>)>,
) -> Vec<u8> {
    let issued = now() - Duration::hours(1);
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let health_der = certificate_pem_to_der(&health_pem).unwrap();
    let payload = VerifierBundle {
        version: VERIFIER_BUNDLE_VERSION,
        sequence,
        issued_at: issued,
        trust_list: String::from_utf8(trust_list).unwrap(),
        status_lists: lists
            .iter()
            .map(|(url, file)| BundledStatusList { url: (*url).to_owned(), credential: json_fixture(file) })
            .collect(),
        checkpoints: Vec::new(),
        logs: logs.to_vec(),
        base_sequence: None,
    };
    match signer {
        Some((key, cert)) => sign_bundle(&payload, key, &[cert]).unwrap(),
        None => sign_bundle(&payload, &health_key, &[health_der]).unwrap(),
    }
}

/// Where `cargo test` just built `libecert_wallet.so`: `target/<profile>/deps/`, next
/// to this test binary (it builds the library's cdylib there for the tests, fresh on
/// every change; the copy in `target/<profile>/` exists only after a `cargo build`
/// and may be stale, so it is never used).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_path_buf();
    assert!(dir.join("libecert_wallet.so").exists(), "cdylib not built at {}", dir.display());
    dir
}

fn compile_inspector(out: &Path) -> PathBuf {
    compile(out, "inspect")
}

fn compile(out: &Path, name: &str) -> PathBuf {
    let program = out.join(name);
    let lib = library_dir();
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&program)
        .arg(format!("{CRATE}/tests/c/{name}.c"))
        .arg(format!("-I{CRATE}/include"))
        .arg(format!("-L{}", lib.display()))
        .arg("-lecert_wallet")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(status.success(), "compiling tests/c/{name}.c failed");
    program
}

fn lines(output: &std::process::Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{stdout}")))
        .collect()
}

#[test]
fn a_c_program_verifies_offline_through_the_c_abi() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile_inspector(dir.path());
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let roots = write("roots.pem", fixture("trust/health-commission-root.pem").as_bytes());
    let credential = json_fixture("status/credential.json");
    let qr = wallet_core::compact::encode_credential(&credential).unwrap();
    let (log, export) = logged_issuance(&credential);
    let mut altered: Value = serde_json::from_str(&export).unwrap();
    altered["inclusion"]["index"] = json!(0);
    let qr_file = write("qr.txt", format!("{qr}\nEC1:not-a-credential\n{export}\n{altered}\n").as_bytes());
    let photo = write("qr.png", &wallet_core::qr::render_png(&qr, 4).unwrap());
    let clear = [
        ("https://issuer.example.gov.cn/status/3", "status/list-revocation-clear.json"),
        ("https://issuer.example.gov.cn/status/4", "status/list-suspension-clear.json"),
    ];
    let run = |bundle_path: &Path| {
        let output = Command::new(&program)
            .arg(&roots)
            .arg(now().timestamp().to_string())
            .arg(bundle_path)
            .arg(&qr_file)
            .arg(&photo)
            .output()
            .unwrap();
        (output.status.code(), lines(&output))
    };

    let (code, out) = run(&write("clear.bundle", &bundle(&clear, std::slice::from_ref(&log), None)));
    assert_eq!(code, Some(0), "{out:#?}");
    assert_eq!(out[0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(out[1]["failed"]["error"], "null_argument", "NULL inspector is an error: {:#}", out[1]);
    assert_eq!(out[2]["failed"]["error"], "wrong_prefix", "{:#}", out[2]);
    assert_eq!(out[3]["sequence"], 5);
    assert_eq!(out[3]["problems"], serde_json::json!([]));
    // The credential: every check passes, offline, at the fixtures' time.
    assert_eq!(out[4]["verified"], true, "{:#}", out[4]);
    assert_eq!(out[4]["report"]["checks"]["signature"]["result"], "valid");
    assert_eq!(out[4]["report"]["checks"]["issuerTrust"]["result"], "valid");
    assert_eq!(out[4]["report"]["checks"]["status"]["result"], "valid");
    assert_eq!(out[4]["credential"]["id"], credential["id"]);
    // A QR code carries no inclusion proof: anchoring cannot be checked offline.
    assert_eq!(out[4]["report"]["checks"]["anchoring"]["result"], "unchecked");
    assert_eq!(out[4]["report"]["checks"]["anchoring"]["code"], "anchoring_no_inclusion_proof");
    // Garbage text: an error with a code, and the program carries on.
    assert_eq!(out[5]["failed"]["error"], "invalid_base45", "{:#}", out[5]);
    assert!(out[5]["failed"]["message"]["zh"].as_str().is_some_and(|m| !m.is_empty()));
    // The wallet's export: the inclusion proof against the bundle's anchored log.
    assert_eq!(out[6]["verified"], true, "{:#}", out[6]);
    assert_eq!(out[6]["report"]["checks"]["anchoring"]["result"], "valid", "{:#}", out[6]);
    assert_eq!(out[6]["report"]["anchor"]["blockNumber"], 7);
    assert_eq!(out[6]["report"]["anchor"]["index"], 1);
    // The same export with the proof moved to another leaf: anchoring fails, so does the verdict.
    assert_eq!(out[7]["verified"], false, "{:#}", out[7]);
    assert_eq!(out[7]["report"]["checks"]["anchoring"]["code"], "anchoring_bad_inclusion_proof", "{:#}", out[7]);
    // The photo of the QR code.
    assert_eq!(out[8]["verified"], true, "{:#}", out[8]);

    // The same credential, revoked in the bundle's list.
    let revoked = [clear[0], clear[1]].map(|(url, file)| {
        if file.contains("revocation") {
            (url, "status/list-revocation-revoked.json")
        } else {
            (url, file)
        }
    });
    let (code, out) = run(&write("revoked.bundle", &bundle(&revoked, &[], None)));
    assert_eq!(code, Some(0));
    assert_eq!(out[4]["verified"], false);
    assert_eq!(out[4]["report"]["checks"]["status"]["code"], "revoked", "{:#}", out[4]);

    // Signed by a department root the app is not configured with: refused at open.
    let market_pem = fixture("trust/market-supervision-root.pem");
    let market_key = decrypt_private_key(&fixture("trust/market-supervision-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let foreign = bundle(&clear, &[], Some((&market_key, certificate_pem_to_der(&market_pem).unwrap())));
    let (code, out) = run(&write("foreign.bundle", &foreign));
    assert_eq!(code, Some(1));
    assert_eq!(out.last().unwrap()["failed"]["error"], "bundle_untrusted_signer", "{out:#?}");
}

#[test]
fn python_verifies_through_the_same_library() {
    let Some(python) = require(Dep::Python) else { return };
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, fixture("trust/health-commission-root.pem")).unwrap();
    let bundle_path = dir.path().join("clear.bundle");
    let clear = [
        ("https://issuer.example.gov.cn/status/3", "status/list-revocation-clear.json"),
        ("https://issuer.example.gov.cn/status/4", "status/list-suspension-clear.json"),
    ];
    std::fs::write(&bundle_path, bundle(&clear, &[], None)).unwrap();
    let qr = wallet_core::compact::encode_credential(&json_fixture("status/credential.json")).unwrap();
    let output = Command::new(python)
        .arg(format!("{CRATE}/tests/python/inspect.py"))
        .arg(library_dir().join("libecert_wallet.so"))
        .arg(&roots)
        .arg(now().timestamp().to_string())
        .arg(&bundle_path)
        .arg(&qr)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let out = lines(&output);
    assert_eq!(out[0]["verified"], true, "{:#}", out[0]);
    assert_eq!(out[0]["report"]["checks"]["status"]["result"], "valid");
    assert_eq!(out[1]["failed"]["error"], "invalid_base45", "{:#}", out[1]);
}

#[test]
fn a_c_wallet_app_imports_presents_and_deletes_through_the_c_abi() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile(dir.path(), "wallet");
    let wallet_file = dir.path().join("wallet.ecw");
    let key_hex = "4f".repeat(32);
    let run = |args: &[&std::ffi::OsStr]| {
        let output = Command::new(&program).arg(&wallet_file).arg(&key_hex).args(args).output().unwrap();
        (output.status.code(), lines(&output))
    };
    // First start: the wallet file is created with a device key; its JWK goes to the issuer.
    let (code, out) = run(&["jwk".as_ref()]);
    assert_eq!(code, Some(0), "{out:#?}");
    let device_did = wallet_core::holder::did_from_jwk(&out[0]).unwrap();

    // The clinic issues the certificate bound to that key (the fixture credential, re-signed).
    let mut unsigned = json_fixture("status/credential.json");
    unsigned.as_object_mut().unwrap().remove("proof");
    let mut subject = serde_json::Map::new();
    subject.insert("id".into(), Value::String(device_did.clone()));
    subject.extend(unsigned["credentialSubject"].as_object().unwrap().clone());
    unsigned["credentialSubject"] = Value::Object(subject);
    let issuer_key = wallet_core::keys::IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap();
    let signed = pollster::block_on(wallet_core::issuance::sign_credential(
        &unsigned,
        &issuer_key,
        "2026-03-15T08:00:00Z".parse().unwrap(),
    ))
    .unwrap();
    let qr = wallet_core::compact::encode_credential(&signed).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let qr_file = write("qr.txt", qr.as_bytes());
    let roots = write("roots.pem", fixture("trust/health-commission-root.pem").as_bytes());
    let clear = [
        ("https://issuer.example.gov.cn/status/3", "status/list-revocation-clear.json"),
        ("https://issuer.example.gov.cn/status/4", "status/list-suspension-clear.json"),
    ];
    let bundle_file = write("clear.bundle", &bundle(&clear, &[], None));
    let now = now().timestamp().to_string();
    let (code, out) =
        run(&["use".as_ref(), roots.as_os_str(), now.as_ref(), bundle_file.as_os_str(), qr_file.as_os_str()]);
    assert_eq!(code, Some(0), "{out:#?}");
    assert_eq!(out[0]["id"], signed["id"]);
    let listed = out[1].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "欧阳晓燕");
    assert_eq!(listed[0]["namePinyin"], "OUYANG Xiaoyan");
    assert_eq!(listed[0]["holderBound"], true);
    assert!(out[2]["qrText"].as_str().unwrap().starts_with("EC1:"), "{:#}", out[2]);
    assert!(out[3]["presentation"].as_str().unwrap().starts_with("EP1:"), "{:#}", out[3]);
    // Presented now: every check passes, the binding included.
    assert_eq!(out[4]["verified"], true, "{:#}", out[4]);
    assert_eq!(out[4]["report"]["checks"]["holderBinding"]["result"], "valid");
    // The same code two minutes later (a screenshot): refused.
    assert_eq!(out[5]["verified"], false);
    assert_eq!(out[5]["report"]["checks"]["holderBinding"]["code"], "presentation_expired", "{:#}", out[5]);
    // Over the inspector's challenge: valid; against another challenge: refused.
    assert_eq!(out[6]["report"]["checks"]["holderBinding"]["result"], "valid", "{:#}", out[6]);
    assert_eq!(out[7]["report"]["checks"]["holderBinding"]["code"], "presentation_challenge_mismatch");
    assert_eq!((out[8]["deleted"].as_i64(), out[9]["deletedAgain"].as_i64()), (Some(1), Some(0)));
    assert_eq!(out[10], serde_json::json!([]));

    // The file on disk while it holds the credential: no plaintext personal data.
    let (code, out) = run(&["import".as_ref(), qr_file.as_os_str()]);
    assert_eq!((code, &out[0]["id"]), (Some(0), &signed["id"]));
    let bytes = std::fs::read(&wallet_file).unwrap();
    for needle in ["欧阳晓燕", "OUYANG", "1991-07-23", "HealthCertificate"] {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} in the wallet file");
    }
    // Another key does not open it.
    let output = Command::new(&program).arg(&wallet_file).arg("00".repeat(32)).arg("jwk").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output)[0]["failed"]["error"], "wrong_key_or_tampered");

    // A canonicalisation bomb (two subjects of 50 identical blank nodes, with a
    // well-formed proof) is refused at once with its code: the app does not freeze.
    let mut bomb = signed.clone();
    bomb["@context"] =
        serde_json::json!(["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]);
    bomb["type"] = serde_json::json!(["VerifiableCredential", "ExampleCredential"]);
    let subject = serde_json::json!({"c": vec![serde_json::json!({"c": 1}); 50]});
    bomb["credentialSubject"] = serde_json::json!([subject.clone(), subject]);
    let bomb_file = write("bomb.txt", wallet_core::compact::encode_credential(&bomb).unwrap().as_bytes());
    let (code, out) = run(&["import".as_ref(), bomb_file.as_os_str()]);
    assert_eq!(code, Some(0), "{out:#?}");
    assert_eq!(out[0]["failed"]["error"], "document_too_complex", "{out:#?}");
}

/// The last error's code on this thread.
#[allow(unsafe_code)]
fn last_error_code() -> String {
    // SAFETY: NULL or a NUL-terminated string owned by the library.
    let error = unsafe { ecert_wallet::ecert_last_error().as_ref() }.expect("an error");
    // SAFETY: as above, non-NULL.
    let text = unsafe { std::ffi::CStr::from_ptr(error) }.to_str().unwrap();
    serde_json::from_str::<Value>(text).unwrap()["error"].as_str().unwrap().to_owned()
}

/// Attack review 3 through the C ABI: the department revokes a bundle
/// signer whose key was stolen. A bundle it signs is refused when the trust
/// list it carries revokes it, and, when it carries an older list without
/// that CRL, by the list the app kept from the department's bundle
/// (`ecert_inspector_trust_list`, passed to `ecert_inspector_open_after`).
#[test]
#[allow(unsafe_code)]
fn attack_a_revoked_bundle_signer_is_refused_through_the_c_abi() {
    use std::ffi::{CStr, CString};
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let signer_key = IssuerKey::generate();
    let csr =
        create_csr(&signer_key, "示例市卫生健康委员会核验数据包", "12110000MB0000001U", &signer_key.did()).unwrap();
    let serial = random_serial();
    let validity =
        CertificateValidity { not_before: now() - Duration::days(90), not_after: now() + Duration::days(270) };
    let signer_cert = certificate_pem_to_der(
        &issue_trust_list_signer_certificate(&csr, &health_pem, &health_key, &validity, &serial).unwrap(),
    )
    .unwrap();
    let thief = || Some((&signer_key, signer_cert.clone()));
    let revocation = RevocationEntry {
        serial,
        revoked_at: now() - Duration::days(1),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let revoking = trust_list(2, std::slice::from_ref(&revocation));
    let roots = CString::new(health_pem).unwrap();
    let now_unix = now().timestamp();
    let open = |bundle: &[u8], held_sequence: i64, held_list: &[u8]| {
        // SAFETY: live buffers and a NUL-terminated string for the call's duration.
        unsafe {
            ecert_wallet::ecert_inspector_open_after(
                bundle.as_ptr(),
                bundle.len(),
                roots.as_ptr(),
                held_sequence,
                held_list.as_ptr(),
                held_list.len(),
                now_unix,
            )
        }
    };

    // The premise: unrevoked, its bundles open.
    let unrevoked = open(&bundle_carrying(trust_list(1, &[]), 5, &[], &[], thief()), -1, &[]);
    assert!(!unrevoked.is_null());
    // SAFETY: returned by ecert_inspector_open_after.
    unsafe { ecert_wallet::ecert_inspector_free(unrevoked) };
    // 1. Carrying the department's list, whose CRL revokes it.
    assert!(open(&bundle_carrying(revoking.clone(), 6, &[], &[], thief()), -1, &[]).is_null());
    assert_eq!(last_error_code(), "bundle_untrusted_signer");
    // The department's own bundle opens; the app keeps its trust list.
    let departments = open(&bundle_carrying(revoking.clone(), 6, &[], &[], None), 5, &[]);
    assert!(!departments.is_null(), "{}", last_error_code());
    // SAFETY: a live inspector.
    let kept = unsafe { ecert_wallet::ecert_inspector_trust_list(departments) };
    assert!(!kept.is_null());
    // SAFETY: a string returned by the library, freed once below.
    let kept_list = unsafe { CStr::from_ptr(kept) }.to_bytes().to_vec();
    assert_eq!(kept_list, revoking);
    // SAFETY: returned by the library, each freed once.
    unsafe {
        ecert_wallet::ecert_string_free(kept);
        ecert_wallet::ecert_inspector_free(departments);
    }
    // 2. The thief's next bundle carries the older list: refused by the kept one.
    let leaving_out = bundle_carrying(trust_list(1, &[]), 7, &[], &[], thief());
    assert!(open(&leaving_out, 6, &kept_list).is_null());
    assert_eq!(last_error_code(), "bundle_trust_list_rollback");
    // 3. A sequence far ahead of the held one.
    let far = bundle_carrying(revoking, 6 + i64::MAX.unsigned_abs() / 2, &[], &[], None);
    assert!(open(&far, 6, &kept_list).is_null());
    assert_eq!(last_error_code(), "bundle_sequence_jump");
    // A kept list that is not a trust list is an error, not an empty one.
    assert!(open(&leaving_out, 6, b"{}").is_null());
    assert_eq!(last_error_code(), "held_trust_list_unusable");
}
