//! 证照标识 in credentials: the verification check on signed credentials
//! (right identifier; wrong check character, authority or type code fail),
//! and its compact-QR form (lossless, small, malformed input refused).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::credential::{CredentialId, UnifiedSocialCreditCode};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::licence_id::LicenceId;
use wallet_core::trust::{certificate_pem_to_der, TrustList, TrustStore};
use wallet_core::verification::{verify_credential, IssuerTrust, VerifyOptions};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn test_key() -> IssuerKey {
    IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap()
}

fn trust_store() -> Arc<TrustStore> {
    let roots: Vec<Vec<u8>> = ["trust/health-commission-root.pem", "trust/market-supervision-root.pem"]
        .iter()
        .map(|p| certificate_pem_to_der(&fixture(p)).unwrap())
        .collect();
    let bytes = fixture("trust/trust-list.json").into_bytes();
    let now = DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z").unwrap().with_timezone(&Utc);
    Arc::new(TrustList::load(&bytes, &roots, now, chrono::Duration::days(1)).unwrap())
}

fn trusted(store: Arc<TrustStore>) -> VerifyOptions {
    let list =
        IssuerTrust::List { store, warn_after: chrono::Duration::hours(24), max_age: chrono::Duration::days(3650) };
    VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()).with_trust(list, true)
}

fn health_certificate(issuer: &str) -> Value {
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    crate::with_status_entries(def.to_unsigned_credential(&checked, &CredentialId::generate(), issuer))
}

fn type_code(type_name: &str) -> wallet_core::licence_id::LicenceTypeCode {
    TypeRegistry::shipped().unwrap().by_type(type_name).unwrap().licence_type_code.clone().unwrap()
}

fn usci(s: &str) -> UnifiedSocialCreditCode {
    UnifiedSocialCreditCode::parse(s).unwrap()
}

/// Sign a health certificate carrying `licence_id` (any text) with the certified test key.
async fn signed_with(key: &IssuerKey, licence_id: &str) -> Value {
    let mut unsigned = health_certificate(&key.did());
    unsigned["licenceId"] = Value::String(licence_id.to_owned());
    sign_credential(&unsigned, key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap()
}

#[tokio::test]
async fn the_certified_authoritys_identifier_verifies_and_wrong_ones_fail() {
    let store = trust_store();
    let key = test_key();
    let authority = store.organization_usci(&key.did()).expect("the test clinic's certificate names its code");
    let good = LicenceId::new(type_code("HealthCertificate"), usci(&authority), "20260000017", 1).unwrap();

    let vc = signed_with(&key, &good.to_string()).await;
    let report = verify_credential(&vc, &trusted(store.clone())).await.unwrap();
    assert!(report.checks.licence_id.is_valid(), "{:?}", report.checks.licence_id);
    assert!(report.verified, "{report:#?}");

    // Another (valid) credit code as the authority.
    let other = LicenceId::new(type_code("HealthCertificate"), usci("9144030071526726XG"), "20260000017", 1).unwrap();
    let report =
        verify_credential(&signed_with(&key, &other.to_string()).await, &trusted(store.clone())).await.unwrap();
    assert_eq!(report.checks.licence_id.invalid_code(), Some("licence_id_authority_mismatch"));
    assert!(report.checks.signature.is_valid() && !report.verified);

    // The food business licence's type code on a health certificate.
    let wrong_type = LicenceId::new(type_code("FoodBusinessLicence"), usci(&authority), "20260000017", 1).unwrap();
    let report =
        verify_credential(&signed_with(&key, &wrong_type.to_string()).await, &trusted(store.clone())).await.unwrap();
    assert_eq!(report.checks.licence_id.invalid_code(), Some("licence_id_type_mismatch"));
    assert!(!report.verified);

    // A wrong check character, signed as it is.
    let text = good.to_string();
    let (body, check) = text.split_at(text.len() - 1);
    let wrong_check = format!("{body}{}", if check == "0" { "1" } else { "0" });
    let report = verify_credential(&signed_with(&key, &wrong_check).await, &trusted(store)).await.unwrap();
    assert_eq!(report.checks.licence_id.invalid_code(), Some("licence_id_check"));
    assert!(!report.verified);
    assert_eq!(report.first_failure(), Some("licence_id_check"));
}

#[test]
fn the_compact_form_carries_the_identifier_losslessly_in_few_bytes() {
    let types = TypeRegistry::shipped().unwrap();
    let sample: Value = serde_json::from_str(&fixture("qr/sample-health-certificate.signed.json")).unwrap();
    let plain = wallet_core::compact::encode_cbor(&sample).unwrap();
    for serial in ["1", "20260000017", "0042", "A1B2"] {
        let id = LicenceId::new(type_code("HealthCertificate"), usci("11430000006122244L"), serial, 3).unwrap();
        let with = id.put_into(sample.clone());
        let cbor = wallet_core::compact::encode_cbor_with(&types, &with).unwrap();
        assert_eq!(wallet_core::compact::decode_cbor_with(&types, &cbor).unwrap(), with);
        let text = wallet_core::compact::encode_credential(&with).unwrap();
        assert_eq!(wallet_core::compact::decode_credential(&text).unwrap(), with);
        // 78 characters of text become about 20 bytes (plus the key and the record lost at the top level).
        let extra = cbor.len() - plain.len();
        println!("serial {serial}: +{extra} bytes, QR version {:?}", wallet_core::qr::qr_version(&text));
        assert!(extra <= 30 + serial.len(), "serial {serial}: {extra} more bytes");
    }
    // An identifier whose type code no definition has stays text, losslessly.
    let foreign = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U";
    let with = json!({"licenceId": foreign});
    let cbor = wallet_core::compact::encode_cbor_with(&types, &with).unwrap();
    assert_eq!(wallet_core::compact::decode_cbor_with(&types, &cbor).unwrap(), with);
    // So does a wrong check character.
    let bad = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V";
    let with = json!({"licenceId": bad});
    let cbor = wallet_core::compact::encode_cbor_with(&types, &with).unwrap();
    assert_eq!(wallet_core::compact::decode_cbor_with(&types, &cbor).unwrap(), with);
}

#[test]
fn malformed_compact_identifiers_are_errors() {
    let types = TypeRegistry::shipped().unwrap();
    // {"licenceId": 19([3, h'…', 1, 1])} with the map key as its code (75 → CBOR -38).
    let document = |items: &[u8]| {
        let mut d = vec![0xa1, 0x38, 0x25, 0xd3];
        d.extend_from_slice(items);
        d
    };
    let good_authority = [0x4b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let ok = document(&[&[0x84, 0x03][..], &good_authority, &[0x01, 0x01]].concat());
    let decoded = wallet_core::compact::decode_cbor_with(&types, &ok).unwrap();
    let id = LicenceId::parse(decoded["licenceId"].as_str().unwrap()).unwrap();
    assert_eq!((id.serial(), id.version()), ("1", 1));
    for bad in [
        document(&[&[0x84, 0x03][..], &[0x4b; 12], &[0x01, 0x01]].concat()), // beyond 31^17
        document(&[&[0x84, 0x03][..], &good_authority, &[0x01, 0x00]].concat()), // version 0
        document(&[&[0x84, 0x03][..], &good_authority, &[0x01, 0x19, 0x03, 0xe8]].concat()), // version 1000
        document(&[&[0x84, 0x07][..], &good_authority, &[0x01, 0x01]].concat()), // a type without a code
        document(&[&[0x84, 0x18, 0xff][..], &good_authority, &[0x01, 0x01]].concat()), // unknown value code
        document(&[&[0x83, 0x03][..], &good_authority, &[0x01]].concat()),   // three items
        document(&[0x01]),                                                   // not an array
        document(&[&[0x84, 0x03][..], &good_authority, &[0x60, 0x01]].concat()), // empty serial
    ] {
        assert!(wallet_core::compact::decode_cbor_with(&types, &bad).is_err(), "{bad:02x?}");
    }
}

/// Tag 20: a credential whose 证照标识 sits where issuers put it is a record
/// with the identifier's authority, serial and (after 001) version appended;
/// the type code comes from the record's `type`. Lossless, and smaller than
/// the map with a tag 19 value it replaces.
#[test]
fn a_credential_with_its_identifier_in_place_is_a_licence_record() {
    let types = TypeRegistry::shipped().unwrap();
    let sample: Value = serde_json::from_str(&fixture("qr/sample-health-certificate.signed.json")).unwrap();
    let plain = wallet_core::compact::encode_cbor(&sample).unwrap();
    for (serial, version) in [("1", 1), ("20260000017", 1), ("4294967296", 2), ("0042", 999), ("A1B2", 17)] {
        let id = LicenceId::new(type_code("HealthCertificate"), usci("11430000006122244L"), serial, version).unwrap();
        let with = id.put_into(sample.clone());
        let cbor = wallet_core::compact::encode_cbor_with(&types, &with).unwrap();
        assert_eq!(cbor.first(), Some(&0xd4), "tag 20 at the top");
        assert_eq!(wallet_core::compact::decode_cbor_with(&types, &cbor).unwrap(), with);
        let extra = cbor.len() - plain.len();
        let serial_len = if serial.starts_with('0') || serial.starts_with('A') { 1 + serial.len() } else { 9 };
        assert!(extra <= 13 + serial_len + usize::from(version > 1) * 3, "{serial}/{version}: {extra} more bytes");
    }
    // Elsewhere in the object, or with another type's code: a map, still lossless.
    let id = LicenceId::new(type_code("HealthCertificate"), usci("11430000006122244L"), "7", 1).unwrap();
    let mut at_the_end = sample.clone();
    at_the_end["licenceId"] = json!(id.to_string());
    let food = LicenceId::new(type_code("FoodBusinessLicence"), usci("11430000006122244L"), "7", 1).unwrap();
    for other in [at_the_end, food.put_into(sample.clone())] {
        let cbor = wallet_core::compact::encode_cbor_with(&types, &other).unwrap();
        assert_ne!(cbor.first(), Some(&0xd4));
        assert_eq!(wallet_core::compact::decode_cbor_with(&types, &cbor).unwrap(), other);
    }
}

#[test]
fn malformed_licence_records_are_errors() {
    let types = TypeRegistry::shipped().unwrap();
    // 20([mask 1<<2 (type), 6(3) "HealthCertificate", authority, serial(, version)]).
    let record = |len: u8, type_value: &[u8], parts: &[&[u8]]| {
        let mut d = vec![0xd4, len, 0x04];
        d.extend_from_slice(type_value);
        for part in parts {
            d.extend_from_slice(part);
        }
        d
    };
    let health: &[u8] = &[0xc6, 0x03];
    let authority: &[u8] = &[0x4b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let ok = record(0x84, health, &[authority, &[0x01]]);
    let decoded = wallet_core::compact::decode_cbor_with(&types, &ok).unwrap();
    let keys: Vec<&String> = decoded.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["licenceId", "type"], "first, without an id");
    let id = LicenceId::parse(decoded["licenceId"].as_str().unwrap()).unwrap();
    assert_eq!((id.serial(), id.version(), id.type_code()), ("1", 1, &type_code("HealthCertificate")));
    assert_eq!(wallet_core::compact::encode_cbor_with(&types, &decoded).unwrap(), ok, "one encoding");
    let v2 = record(0x85, health, &[authority, &[0x01], &[0x02]]);
    assert_eq!(
        LicenceId::parse(wallet_core::compact::decode_cbor_with(&types, &v2).unwrap()["licenceId"].as_str().unwrap())
            .unwrap()
            .version(),
        2
    );
    for bad in [
        record(0x85, health, &[authority, &[0x01], &[0x01]]), // version 001 written out
        record(0x85, health, &[authority, &[0x01], &[0x19, 0x03, 0xe8]]), // version 1000
        record(0x85, health, &[authority, &[0x01], &[0x00]]), // version 0
        record(0x83, health, &[authority]),                   // no serial
        record(0x86, health, &[authority, &[0x01], &[0x02], &[0x02]]), // one part too many
        record(0x82, health, &[]),                            // no parts at all
        record(0x84, health, &[&[0x4b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &[0x01]]), // beyond 31^17
        record(0x84, health, &[&[0x4a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], &[0x01]]), // 10-byte authority
        record(0x84, health, &[&[0x61, 0x41], &[0x01]]),                         // authority as text
        record(0x84, health, &[authority, &[0x60]]),                             // empty serial
        record(0x84, health, &[authority, &[0x20]]),                             // negative serial
        record(0x84, &[0xc6, 0x02], &[authority, &[0x01]]),                      // VerifiableCredential: no type code
        record(0x84, &[0x61, 0x58], &[authority, &[0x01]]),                      // an unknown type
        vec![0xd4, 0x84, 0x04],                                                  // truncated
        vec![0xd4, 0x01],                                                        // not [mask, …]
    ] {
        assert!(wallet_core::compact::decode_cbor_with(&types, &bad).is_err(), "{bad:02x?}");
    }
}
