//! Attacks on the compact QR form: hand-made CBOR documents that must be
//! refused as errors (never a panic, never unbounded work), and a scanned
//! credential whose content differs from what its signature covers.

use serde_json::json;
use wallet_core::compact::{base45_encode, decode_credential, terms, CompactError, QR_PREFIX};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, VerifyOptions};

use crate::attack_common::*;

/// The QR text of a CBOR document (header 0x01: uncompressed).
fn qr(cbor: &[u8]) -> String {
    let mut bytes = vec![0x01_u8];
    bytes.extend_from_slice(cbor);
    format!("{QR_PREFIX}{}", base45_encode(&bytes))
}

/// A CBOR map key for term code `code` (zigzag: even → uint, odd → negative int).
fn key(code: u64) -> Vec<u8> {
    let (major, n) = if code.is_multiple_of(2) { (0x00_u8, code / 2) } else { (0x20_u8, code.div_ceil(2) - 1) };
    assert!(n < 24, "small codes only");
    vec![major | u8::try_from(n).unwrap()]
}

#[test]
fn attack_an_unknown_value_code_is_an_error() {
    // {"a": tag 6 (value code 100000)}
    let doc = [0xa1, 0x61, b'a', 0xc6, 0x1a, 0x00, 0x01, 0x86, 0xa0];
    assert_eq!(decode_credential(&qr(&doc)), Err(CompactError::UnknownTermCode(100_000)));
}

#[test]
fn attack_the_same_key_twice_as_a_code_and_as_text_is_refused() {
    let code = terms::key_code("issuer").unwrap();
    let mut doc = vec![0xa2];
    doc.extend(key(code));
    doc.extend([0x61, b'x']);
    doc.extend([0x66]);
    doc.extend(b"issuer");
    doc.extend([0x61, b'y']);
    let result = decode_credential(&qr(&doc));
    assert!(result.is_err(), "a duplicate key must not pick one value silently: {result:?}");
}

#[test]
fn attack_a_huge_declared_array_with_no_items_is_refused_at_once() {
    // {"a": array of 2^40 items} with none following.
    let doc = [0xa1, 0x61, b'a', 0x9b, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00];
    assert!(decode_credential(&qr(&doc)).is_err());
}

#[test]
fn attack_out_of_range_dates_and_back_references_are_errors() {
    let cases: Vec<Vec<u8>> = vec![
        // tag 1 (dateTime) with seconds far beyond year 9999
        vec![0xa1, 0x61, b'a', 0xc1, 0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        // tag 12 (date) with a negative day count before year 0
        vec![0xa1, 0x61, b'a', 0xcc, 0x3a, 0x7f, 0xff, 0xff, 0xff],
        // tag 15 (back-reference) 5 strings back in an empty history
        vec![0xa1, 0x61, b'a', 0xcf, 0x82, 0x05, 0x00],
    ];
    for doc in cases {
        let result = decode_credential(&qr(&doc));
        assert!(result.is_err(), "{doc:02x?}: {result:?}");
    }
}

#[tokio::test]
async fn attack_a_qr_whose_content_was_edited_does_not_verify() {
    let key = IssuerKey::generate();
    let vc = sign_credential(&unsigned(&key.did()), &key, signed_at()).await.unwrap();
    let mut edited = vc.clone();
    edited["credentialSubject"]["examinationResult"] = json!("unqualified");
    let text = wallet_core::compact::encode_credential(&edited).unwrap();
    let scanned = decode_credential(&text).unwrap();
    let report = verify_credential(&scanned, &VerifyOptions::at(now())).await.unwrap();
    assert_refused(&report, signature, "bad_signature");
}
