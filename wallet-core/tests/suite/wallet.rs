//! The wallet: import → list → present → verify, encryption at rest, and the
//! holder-binding check's negative cases.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::{Definition, RequestError, TypeRegistry};
use wallet_core::holder::DeviceKey;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::presentation::{present, read_scanned, Freshness, PresentationPolicy};
use wallet_core::ui_text::Lang;
use wallet_core::verification::{verify_credential, CheckResult, VerificationReport, VerifyOptions};
use wallet_core::wallet::{StoreKey, Wallet, WalletError};

const NAME: &str = "欧阳晓燕";
const PINYIN: &str = "OUYANG Xiaoyan";

fn health_certificate() -> std::sync::Arc<Definition> {
    TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap()
}

fn request(holder: Option<&DeviceKey>) -> Value {
    let mut req = json!({
        "fullName": NAME, "fullNamePinyin": PINYIN, "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    if let Some(device) = holder {
        req["holderKey"] = device.jwk();
    }
    req
}

fn issued_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 30, 0).unwrap()
}

fn issue(key: &IssuerKey, holder: Option<&DeviceKey>) -> Value {
    issue_as(key, holder, &CredentialId::generate())
}

/// [`issue`] under a chosen id (anyone can sign a credential under any id).
fn issue_as(key: &IssuerKey, holder: Option<&DeviceKey>, id: &CredentialId) -> Value {
    let def = health_certificate();
    let checked = def
        .check_request_keyed(&request(holder), NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let unsigned = crate::with_status_entries(def.to_unsigned_credential(&checked, id, &key.did()));
    pollster::block_on(sign_credential(&unsigned, key, issued_at())).unwrap()
}

/// The id of a credential is public (its QR shows it): a credential signed by
/// anyone under a held id must not replace the held one, and the wallet's own
/// derived copy must not replace its base credential.
#[test]
fn attack_a_credential_reusing_a_held_id_does_not_replace_it() {
    let (_dir, path, store_key) = temp_wallet();
    let mut wallet = Wallet::open(&path, store_key.clone()).unwrap();
    let genuine = issue(&IssuerKey::generate(), None);
    let id = wallet.import_file(genuine.to_string().as_bytes()).unwrap();
    let held_id = CredentialId::parse(&id).expect("a urn:uuid id");

    let forged = issue_as(&IssuerKey::generate(), None, &held_id);
    assert_eq!(forged["id"], genuine["id"], "the premise: same id, another signer");
    assert!(matches!(wallet.import_credential(forged.clone(), None, "qr"), Err(WalletError::IdTaken)));
    assert_eq!(wallet.import_credential(forged, None, "qr").unwrap_err().code(), "credential_id_taken");
    // The same credential again: nothing changes, it is still the one.
    assert_eq!(wallet.import_credential(genuine.clone(), None, "file").unwrap(), id);
    assert_eq!(wallet.list(Lang::En).len(), 1);
    let reopened = Wallet::open(&path, store_key).unwrap();
    assert_eq!(reopened.get(&id).unwrap().credential, genuine);

    // A base-proof credential: its own derived QR does not replace it.
    let base = base_proof_certificate(&IssuerKey::generate());
    let base_id = wallet.import_credential(base.clone(), None, "file").unwrap();
    let qr = wallet.render(&base_id, Lang::En).unwrap().qr_text;
    assert!(matches!(wallet.import_qr(&qr), Err(WalletError::IdTaken)));
    assert_eq!(wallet.get(&base_id).unwrap().credential, base);
    assert!(wallet.is_selectively_disclosable(&base_id).unwrap());
}

fn verify_scanned(text: &str, at: DateTime<Utc>, challenge: Option<&str>) -> VerificationReport {
    let scanned = read_scanned(text).unwrap();
    let mut options = VerifyOptions::at(at).with_presentation(scanned.presentation);
    options.presentation_policy =
        PresentationPolicy { expected_challenge: challenge.map(str::to_owned), ..PresentationPolicy::default() };
    pollster::block_on(verify_credential(&scanned.credential, &options)).unwrap()
}

fn code(r: &CheckResult) -> &str {
    match r {
        CheckResult::Valid => "valid",
        CheckResult::Invalid { code, .. } | CheckResult::Unchecked { code, .. } => code,
    }
}

fn temp_wallet() -> (tempfile::TempDir, std::path::PathBuf, StoreKey) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.bin");
    (dir, path, StoreKey::generate())
}

#[test]
fn bound_credential_survives_the_compact_qr_form() {
    let device = DeviceKey::generate();
    let vc = issue(&IssuerKey::generate(), Some(&device));
    assert_eq!(vc["credentialSubject"]["id"], device.did());
    // `id` comes first in the subject so it stays a compact record.
    assert_eq!(vc["credentialSubject"].as_object().unwrap().keys().next().map(String::as_str), Some("id"));
    let text = wallet_core::compact::encode_credential(&vc).unwrap();
    assert_eq!(wallet_core::compact::decode_credential(&text).unwrap(), vc);
    let unbound = issue(&IssuerKey::generate(), None);
    assert!(unbound["credentialSubject"].get("id").is_none());
    let mut bad_key = request(None);
    bad_key["holderKey"] = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"});
    let Err(RequestError::Fields(errors)) = health_certificate().check_request_keyed(
        &bad_key,
        NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
        Some(&crate::id_key()),
    ) else {
        panic!("a bad holder key is a field error")
    };
    assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("holderKey", "invalid_holder_key"));
}

#[test]
fn import_list_render_present_verify_round_trip() {
    let (_dir, path, key) = temp_wallet();
    let issuer = IssuerKey::generate();
    let mut wallet = Wallet::open(&path, key.clone()).unwrap();
    let vc = issue(&issuer, Some(wallet.device_key()));
    let qr = wallet_core::compact::encode_credential(&vc).unwrap();
    let id = wallet.import_qr(&qr).unwrap();
    assert_eq!(id, vc["id"].as_str().unwrap());

    let zh = wallet.list(Lang::Zh);
    assert_eq!(zh.len(), 1);
    assert_eq!((zh[0].name.as_deref(), zh[0].name_pinyin.as_deref()), (Some(NAME), Some(PINYIN)));
    assert!(zh[0].holder_bound);
    assert_eq!(zh[0].title, "健康证明");
    assert_eq!(wallet.list(Lang::En)[0].title, "Health certificate");
    let rendered = wallet.render(&id, Lang::En).unwrap();
    assert!(rendered.rows.iter().any(|(l, v)| l == "Name in pinyin" && v == PINYIN), "{:?}", rendered.rows);
    assert!(rendered.rows.iter().any(|(_, v)| v == "Female"), "{:?}", rendered.rows);
    assert_eq!(rendered.qr_text, qr);
    assert!(wallet.render(&id, Lang::Zh).unwrap().rows.iter().any(|(l, v)| l == "姓名" && v == NAME));

    // Reopen: the same credential and the same device key.
    let device_did = wallet.device_key().did();
    drop(wallet);
    let wallet = Wallet::open(&path, key).unwrap();
    assert_eq!(wallet.device_key().did(), device_did);
    assert_eq!(wallet.get(&id).unwrap().credential, vc);

    let presentation = wallet.present(&id, &Freshness::At(now())).unwrap();
    let report = verify_scanned(&presentation, now() + Duration::seconds(20), None);
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.checks.holder_binding, CheckResult::Valid);
    assert!(report.warnings.iter().all(|w| w.code != "holder_binding_not_presented"));

    // The sizes, for the issue note.
    let plain_version = wallet_core::qr::qr_version(&qr).unwrap();
    let unbound = wallet_core::compact::encode_credential(&issue(&issuer, None)).unwrap();
    println!(
        "unbound credential QR: {} chars, version {}",
        unbound.len(),
        wallet_core::qr::qr_version(&unbound).unwrap()
    );
    let presented_version = wallet_core::qr::qr_version(&presentation).unwrap();
    println!(
        "plain credential QR: {} chars, version {plain_version}; presentation QR: {} chars, version {presented_version} (EC level M)",
        qr.len(),
        presentation.len()
    );
    assert!(presentation.len() < qr.len() + 150);
}

#[test]
fn the_store_file_holds_no_plaintext_personal_data() {
    let (_dir, path, key) = temp_wallet();
    let mut wallet = Wallet::open(&path, key.clone()).unwrap();
    let vc = issue(&IssuerKey::generate(), Some(wallet.device_key()));
    let id = wallet.import_file(json!({"credential": vc}).to_string().as_bytes()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let subject = &vc["credentialSubject"];
    let uuid = id.trim_start_matches("urn:uuid:");
    let needles = [
        NAME.to_owned(),
        "欧阳".to_owned(),
        "OUYANG".to_owned(),
        "Xiaoyan".to_owned(),
        "1991-07-23".to_owned(),
        "11010519491231002X".to_owned(),
        "110105".to_owned(),
        uuid.to_owned(),
        uuid[..8].to_owned(),
        subject["idNumberDigest"].as_str().unwrap()[..12].to_owned(),
        subject["examiningInstitution"].as_str().unwrap().to_owned(),
        "HealthCertificate".to_owned(),
        "credentialSubject".to_owned(),
        wallet.device_key().did()[8..30].to_owned(),
        hex::encode(wallet.device_key().to_bytes()),
    ];
    for needle in &needles {
        let n = needle.as_bytes();
        assert!(!bytes.windows(n.len()).any(|w| w == n), "{needle:?} is in the store file in plain text");
    }
    // Also not in UTF-16 (some platforms' string encodings).
    let utf16: Vec<u8> = NAME.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(!bytes.windows(utf16.len()).any(|w| w == utf16.as_slice()));
    assert!(bytes.starts_with(b"ECW1"));

    // Another key: a clear error, not a panic; an altered file likewise.
    assert!(matches!(Wallet::open(&path, StoreKey::generate()), Err(WalletError::WrongKeyOrTampered)));
    let mut altered = bytes.clone();
    altered[40] ^= 0x01;
    std::fs::write(&path, &altered).unwrap();
    let err = Wallet::open(&path, key.clone()).unwrap_err();
    assert_eq!(err.code(), "wrong_key_or_tampered");
    std::fs::write(&path, b"not a wallet").unwrap();
    assert_eq!(Wallet::open(&path, key).unwrap_err().code(), "not_a_wallet_file");
}

#[test]
fn delete_persists_and_forged_or_malformed_imports_are_refused() {
    let (_dir, path, key) = temp_wallet();
    let mut wallet = Wallet::open(&path, key.clone()).unwrap();
    let vc = issue(&IssuerKey::generate(), None);
    let id = wallet.import_file(vc.to_string().as_bytes()).unwrap();
    assert!(!wallet.list(Lang::Zh)[0].holder_bound);
    // An unbound credential cannot be presented with the device key.
    assert_eq!(wallet.present(&id, &Freshness::At(now())).unwrap_err().code(), "not_holder_bound");

    let mut forged = vc.clone();
    forged["credentialSubject"]["fullName"] = json!("张三");
    assert!(matches!(wallet.import_file(forged.to_string().as_bytes()), Err(WalletError::BadSignature)));
    assert_eq!(wallet.import_qr("EC1:NOT-BASE45-@@").unwrap_err().code(), "not_a_credential");
    assert_eq!(wallet.import_file(b"{").unwrap_err().code(), "not_a_credential");
    assert_eq!(wallet.import_file(b"{\"a\": 1}").unwrap_err().code(), "not_a_credential");

    assert!(wallet.delete(&id).unwrap());
    assert!(!wallet.delete(&id).unwrap());
    let reopened = Wallet::open(&path, key).unwrap();
    assert!(reopened.list(Lang::En).is_empty());
    assert!(matches!(reopened.render(&id, Lang::En), Err(WalletError::NotFound)));
}

#[test]
fn stale_other_device_and_wrong_challenge_presentations_fail() {
    let device = DeviceKey::generate();
    let issuer = IssuerKey::generate();
    let vc = issue(&issuer, Some(&device));

    // Fresh: valid, within the 60 s window (and 30 s skew ahead).
    let fresh = present(&vc, &device, &Freshness::At(now())).unwrap();
    assert_eq!(code(&verify_scanned(&fresh, now() + Duration::seconds(59), None).checks.holder_binding), "valid");
    assert_eq!(code(&verify_scanned(&fresh, now() - Duration::seconds(29), None).checks.holder_binding), "valid");

    // Older than its window: a screenshot.
    let report = verify_scanned(&fresh, now() + Duration::seconds(61), None);
    assert_eq!(code(&report.checks.holder_binding), "presentation_expired");
    assert!(!report.verified);
    assert_eq!(report.first_failure(), Some("presentation_expired"));
    let yesterday = present(&vc, &device, &Freshness::At(now() - Duration::days(1))).unwrap();
    assert_eq!(code(&verify_scanned(&yesterday, now(), None).checks.holder_binding), "presentation_expired");
    let future = present(&vc, &device, &Freshness::At(now() + Duration::minutes(5))).unwrap();
    assert_eq!(code(&verify_scanned(&future, now(), None).checks.holder_binding), "presentation_from_future");

    // Signed by another device key: the wallet refuses, and a forged one fails the check.
    let other = DeviceKey::generate();
    assert_eq!(present(&vc, &other, &Freshness::At(now())).unwrap_err().code(), "presentation_wrong_device_key");
    let other_vc = issue(&issuer, Some(&other));
    let stolen = present(&other_vc, &other, &Freshness::At(now())).unwrap();
    // Swap in the victim's credential under the thief's signature.
    let mut p = read_scanned(&stolen).unwrap();
    let thief_presentation = p.presentation.take().unwrap();
    let mut options = VerifyOptions::at(now());
    options.presentation = Some(thief_presentation);
    let report = pollster::block_on(verify_credential(&vc, &options)).unwrap();
    assert_eq!(code(&report.checks.holder_binding), "presentation_credential_mismatch");
    let forged = forge_signature(&vc, &other);
    let report = verify_scanned(&forged, now(), None);
    assert_eq!(code(&report.checks.holder_binding), "presentation_wrong_device_key");
    assert!(!report.verified);

    // Challenge: the right one passes, another fails, none when one was asked fails.
    let answered = present(&vc, &device, &Freshness::Challenge(now(), "K7Q2".into())).unwrap();
    assert_eq!(code(&verify_scanned(&answered, now(), Some("K7Q2")).checks.holder_binding), "valid");
    assert_eq!(
        code(&verify_scanned(&answered, now(), Some("ZZ99")).checks.holder_binding),
        "presentation_challenge_mismatch"
    );
    assert_eq!(
        code(&verify_scanned(&fresh, now(), Some("K7Q2")).checks.holder_binding),
        "presentation_challenge_mismatch"
    );

    // The plain credential QR of a bound credential: not established, with a warning.
    let plain = wallet_core::compact::encode_credential(&vc).unwrap();
    let report = verify_scanned(&plain, now(), None);
    assert_eq!(code(&report.checks.holder_binding), "no_presentation");
    assert!(report.verified, "showing the plain QR still verifies the document");
    assert!(report.warnings.iter().any(|w| w.code == "holder_binding_not_presented"));
    // An unbound credential: not applicable.
    let unbound = wallet_core::compact::encode_credential(&issue(&issuer, None)).unwrap();
    assert_eq!(code(&verify_scanned(&unbound, now(), None).checks.holder_binding), "not_holder_bound");
}

/// A presentation of `vc` whose signature is by `signer` (not the bound key):
/// made by presenting a copy bound to `signer` and swapping the credential back.
fn forge_signature(vc: &Value, signer: &DeviceKey) -> String {
    // Re-bind the credential JSON to the signer just to get past `present`'s own check, then
    // rebuild the envelope around the real credential's bytes with the signer's signature.
    let mut rebound = vc.clone();
    rebound["credentialSubject"]["id"] = json!(signer.did());
    let text = present(&rebound, signer, &Freshness::At(now())).unwrap();
    let bytes = wallet_core::compact::base45_decode(text.strip_prefix("EP1:").unwrap()).unwrap();
    let envelope: ciborium::Value = ciborium::from_reader(bytes.as_slice()).unwrap();
    let ciborium::Value::Array(mut items) = envelope else { panic!() };
    items[1] = ciborium::Value::Bytes(wallet_core::compact::encode_cbor(vc).unwrap());
    let mut out = Vec::new();
    ciborium::into_writer(&ciborium::Value::Array(items), &mut out).unwrap();
    format!("EP1:{}", wallet_core::compact::base45_encode(&out))
}

#[test]
fn store_timings_with_twenty_credentials() {
    // A rough number for the issue note (test profile: wallet-core unoptimised, dependencies at opt-level 2).
    let (_dir, path, key) = temp_wallet();
    let mut wallet = Wallet::open(&path, key.clone()).unwrap();
    let issuer = IssuerKey::generate();
    let ids: Vec<String> = (0..20)
        .map(|_| {
            let vc = issue(&issuer, Some(wallet.device_key()));
            wallet.import_credential(vc, None, "file").unwrap()
        })
        .collect();
    let size = std::fs::metadata(&path).unwrap().len();
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(Wallet::open(&path, key.clone()).unwrap().list(Lang::En).len(), 20);
    }
    let open = started.elapsed() / 20;
    let started = std::time::Instant::now();
    for id in &ids {
        assert!(wallet.delete(id).unwrap());
    }
    let save = started.elapsed() / 20;
    println!("wallet file with 20 credentials: {size} bytes; open (read, decrypt, parse) {open:?}; save (serialise, encrypt, write, fsync, rename) {save:?} on average while shrinking");
}

// ---- selective disclosure: the base proof stays in the wallet ----

fn sd_kind(vc: &Value) -> wallet_core::selective_disclosure::ProofKind {
    wallet_core::selective_disclosure::proof_kind(vc["proof"]["proofValue"].as_str().unwrap_or(""))
}

fn base_proof_certificate(key: &IssuerKey) -> Value {
    let def = health_certificate();
    let checked = def
        .check_request_keyed(&request(None), NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let mut unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    unsigned["credentialStatus"] = json!([
        {"id": "https://issuer.example.gov.cn/status/3#94567", "type": "BitstringStatusListEntry",
         "statusPurpose": "revocation", "statusListIndex": "94567",
         "statusListCredential": "https://issuer.example.gov.cn/status/3"}
    ]);
    pollster::block_on(wallet_core::selective_disclosure::sign_base_for_type(
        &TypeRegistry::default(),
        &unsigned,
        key,
        issued_at(),
    ))
    .unwrap()
}

#[test]
fn the_wallet_keeps_a_base_proof_and_shows_only_derived_credentials() {
    use wallet_core::selective_disclosure::ProofKind;
    let key = IssuerKey::generate();
    let base = base_proof_certificate(&key);
    let (_dir, path, store_key) = temp_wallet();
    let mut wallet = Wallet::open(&path, store_key.clone()).unwrap();
    let id = wallet.import_credential(base.clone(), None, "file").unwrap();
    assert!(wallet.is_selectively_disclosable(&id).unwrap());
    assert_eq!(wallet.get(&id).unwrap().credential, base, "kept as issued");

    // The card's QR: derived, mandatory fields only, and it verifies.
    let qr = wallet.render(&id, Lang::En).unwrap().qr_text;
    let shown = wallet_core::compact::decode_credential(&qr).unwrap();
    assert_eq!(sd_kind(&shown), ProofKind::Derived);
    assert_eq!(shown["credentialSubject"]["fullName"], NAME);
    assert!(shown["credentialSubject"].get("birthDate").is_none(), "{shown:#}");
    let report = pollster::block_on(verify_credential(&shown, &VerifyOptions::at(now()))).unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");

    // The export (what an inspector reads with its inclusion proof): derived too.
    let export: Value = serde_json::from_str(&wallet.export(&id).unwrap()).unwrap();
    assert_eq!(sd_kind(&export["credential"]), ProofKind::Derived);
    assert!(!export.to_string().contains("1991-07-23"));

    // The holder picks more.
    let (derived, qr) = wallet.disclose(&id, &["/credentialSubject/birthDate".to_owned()]).unwrap();
    assert_eq!(derived["credentialSubject"]["birthDate"], "1991-07-23");
    assert_eq!(wallet_core::compact::decode_credential(&qr).unwrap()["credentialSubject"]["birthDate"], "1991-07-23");
    assert!(matches!(
        wallet.disclose(&id, &["/credentialSubject/nothing".to_owned()]),
        Err(WalletError::Derive(e)) if e.code() == "bad_selective_pointer"
    ));
    assert!(matches!(wallet.disclose("urn:uuid:nothing", &[]), Err(WalletError::NotFound)));

    // Kept across reopening.
    let reopened = Wallet::open(&path, store_key).unwrap();
    assert_eq!(reopened.get(&id).unwrap().credential, base);

    // A base credential whose mandatory field was changed is refused at import.
    let mut tampered = base.clone();
    tampered["credentialSubject"]["fullName"] = json!("张三");
    assert!(matches!(wallet.import_credential(tampered, None, "file"), Err(WalletError::BadSignature)));

    // An ecdsa-rdfc-2019 credential is shown as it is and cannot be disclosed selectively.
    let plain = wallet.import_credential(issue(&key, None), None, "file").unwrap();
    assert!(!wallet.is_selectively_disclosable(&plain).unwrap());
    assert!(matches!(wallet.disclose(&plain, &[]), Err(WalletError::Derive(e)) if e.code() == "not_sd_base_proof"));
}
