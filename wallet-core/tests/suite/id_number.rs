//! Issue #13 item 6: the ID number cannot be learnt from a credential.
//!
//! A resident ID number is region (6) + birth date (8) + sequence (3, parity =
//! sex) + check character, so a credential's `birthDate` and `sex` leave about
//! 3,500 regions x 500 sequence numbers. These tests play the attacker who holds
//! a signed credential's QR code and tries them all.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{NaiveDate, TimeZone, Utc};
use hmac::Mac as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wallet_core::credential::{CredentialId, IdMatch, IdNumber, IdNumberDigest, IdNumberKey};
use wallet_core::credential_type::{RequestError, TypeRegistry, ID_NUMBER_KEY_MISSING};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// The 18-character number for 17 digits.
fn with_check(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first17}{}", CHECK[(sum % 11) as usize] as char)
}

/// The holder: a woman born 1991-07-23 in Guangzhou, Yuexiu (440104), sequence 37, even digit 4.
const TRUE_NUMBER_17: &str = "44010419910723374";

fn request(number: &str) -> Value {
    json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": number, "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    })
}

/// A signed health certificate as issued now, as the attacker gets it: its QR text.
async fn issued_qr_text(key: &IdNumberKey) -> String {
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
    let checked = def.check_request_keyed(&request(&with_check(TRUE_NUMBER_17)), today, Some(key)).unwrap();
    let issuer_key =
        IssuerKey::from_pkcs8_pem(&std::fs::read_to_string(format!("{FIXTURES}/keys/test-issuer.pem")).unwrap())
            .unwrap();
    let unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &issuer_key.did());
    let signed =
        sign_credential(&unsigned, &issuer_key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap();
    wallet_core::compact::encode_credential(&signed).unwrap()
}

/// Candidate numbers for a birth date and sex: `n` of them, spread over region
/// codes 110000–659999 and the sequence numbers of the right parity, the true
/// number among them.
fn candidates(birth: &str, female: bool, n: usize, truth: &str) -> Vec<String> {
    let mut out = vec![truth.to_owned()];
    let mut region = 110_000u32;
    while out.len() < n {
        for seq in (0..1000u32).filter(|s| (s % 2 == 0) == female).step_by(50) {
            let c = with_check(&format!("{region:06}{birth}{seq:03}"));
            if c != truth {
                out.push(c);
            }
        }
        region += 53;
    }
    out.truncate(n);
    out
}

fn decode(mb: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(mb.strip_prefix('u').unwrap()).unwrap()
}

fn v1(salt: &[u8], number: &str) -> Vec<u8> {
    Sha256::new().chain_update(b"ecert/id-number/v1").chain_update(salt).chain_update(number).finalize().to_vec()
}

fn hmac_v2(key: &[u8], salt: &[u8], number: &str) -> Vec<u8> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(b"ecert/id-number/v2");
    mac.update(salt);
    mac.update(number.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Does `digest` contain the first 16 bytes of `guess` anywhere? (The attacker
/// need not know where the MAC sits nor how it is truncated.)
fn found(digest: &[u8], guess: &[u8]) -> bool {
    digest.windows(16).any(|w| w == &guess[..16])
}

#[tokio::test]
async fn brute_force_over_regions_and_sequences_does_not_find_the_number_of_a_v2_credential() {
    let key = IdNumberKey::generate();
    let qr = issued_qr_text(&key).await;
    // The attacker's side: only the QR text.
    let vc = wallet_core::compact::decode_credential(&qr).unwrap();
    let s = &vc["credentialSubject"];
    let birth = s["birthDate"].as_str().unwrap().replace('-', "");
    let female = s["sex"] == "F";
    let digest = decode(s["idNumberDigest"].as_str().unwrap());
    let salt = decode(s["idNumberSalt"].as_str().unwrap());
    let truth = with_check(TRUE_NUMBER_17);
    let all = candidates(&birth, female, 20_000, &truth);
    assert_eq!(all.len(), 20_000);
    assert!(all.iter().all(|c| IdNumber::parse(c).is_ok()));

    // v1 construction, and HMAC under keys the attacker might guess or hold from elsewhere.
    let wrong_keys: [&[u8]; 3] = [&[0u8; 32], b"", &IdNumberKey::generate().to_text().into_bytes()];
    for c in &all {
        assert!(!found(&digest, &v1(&salt, c)), "v1 brute force found the number");
        for k in wrong_keys {
            assert!(!found(&digest, &hmac_v2(k, &salt, c)), "HMAC under a wrong key found the number");
        }
    }
    let digest_of = IdNumberDigest::of_credential(&vc).unwrap();
    let other = IdNumberKey::generate();
    assert!(all.iter().all(
        |c| digest_of.check(&IdNumber::parse(c).unwrap(), std::slice::from_ref(&other)) == IdMatch::KeyUnavailable
    ));

    // The inspector with the department key: the true number and only it matches.
    let matching: Vec<_> = all
        .iter()
        .filter(|c| digest_of.check(&IdNumber::parse(c).unwrap(), &[other.clone(), key.clone()]) == IdMatch::Matches)
        .collect();
    assert_eq!(matching, vec![&truth]);
}

#[tokio::test]
async fn the_same_brute_force_finds_the_number_of_a_legacy_v1_digest() {
    // What issue #13 item 6 reported, so the attack above is a real one: a v1
    // digest (as in the fixtures and in credentials issued before) gives the number away.
    let truth = with_check(TRUE_NUMBER_17);
    let salt = [9u8; 16];
    let digest = v1(&salt, &truth);
    let all = candidates("19910723", true, 20_000, &truth);
    let hits: Vec<_> = all.iter().filter(|c| found(&digest, &v1(&salt, c))).collect();
    assert_eq!(hits, vec![&truth]);
    // And the ID check still answers for it (no key needed: it is public anyway).
    let d = IdNumberDigest {
        digest: format!("u{}", URL_SAFE_NO_PAD.encode(&digest)),
        salt: format!("u{}", URL_SAFE_NO_PAD.encode(salt)),
    };
    assert_eq!(d.version(), Some(1));
    assert_eq!(d.check(&IdNumber::parse(&truth).unwrap(), &[]), IdMatch::Matches);
}

#[test]
fn without_a_key_an_id_bearing_request_is_refused_and_no_keyless_digest_is_made() {
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
    assert!(def.carries_id_number());
    let Err(RequestError::Fields(errs)) = def.check_request(&request(&with_check(TRUE_NUMBER_17)), today) else {
        panic!("a keyless issuer must not digest an ID number")
    };
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].field.as_str(), errs[0].code.as_str()), ("idNumber", ID_NUMBER_KEY_MISSING));
    assert!(!errs[0].message.zh.is_empty() && !errs[0].message.en.is_empty());
    // A type without an ID number needs no key.
    let food = TypeRegistry::shipped().unwrap().by_type("FoodBusinessLicence").unwrap();
    assert!(!food.carries_id_number());
}

#[tokio::test]
async fn a_v2_health_certificate_qr_stays_within_version_15_level_m() {
    let qr = issued_qr_text(&IdNumberKey::generate()).await;
    let code = qrcode::QrCode::with_error_correction_level(qr.as_bytes(), qrcode::EcLevel::M).unwrap();
    let qrcode::Version::Normal(v) = code.version() else { panic!("micro QR") };
    assert!(v <= 15, "version {v}");
}
