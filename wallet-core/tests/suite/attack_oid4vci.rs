//! Attacks on the OpenID4VCI key proof (`verify_proof_jwt`): whoever holds an
//! offer's token but not the device key tries to get a credential bound to
//! a key of their choice without a valid signature by it. Regression tests:
//! each is refused today (`invalid_proof`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use wallet_core::holder::DeviceKey;
use wallet_core::oid4vci::{make_proof_jwt, verify_proof_jwt, PROOF_JWT_TYP};

const AUD: &str = "https://issuer.example.gov.cn";

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn claims() -> Value {
    json!({"aud": AUD, "iat": Utc::now().timestamp(), "nonce": "n-1"})
}

/// A JWT with `header`, the usual claims and `signature` (raw bytes).
fn jwt(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{signature}")
}

#[track_caller]
fn assert_refused(proof: &str, why: &str) {
    let refused = verify_proof_jwt(proof, AUD, Utc::now(), Duration::minutes(5));
    match refused {
        Err(e) => assert_eq!(e.code, "invalid_proof", "{why}: {}", e.message),
        Ok(_) => panic!("{why}: accepted"),
    }
}

#[test]
fn attack_oid4vci_the_honest_proof_passes() {
    let device = DeviceKey::generate();
    let proof = make_proof_jwt(&device, AUD, "n-1", Utc::now());
    let accepted = verify_proof_jwt(&proof, AUD, Utc::now(), Duration::minutes(5)).unwrap();
    assert_eq!(accepted.jwk, device.jwk());
}

#[test]
fn attack_oid4vci_an_unsigned_or_otherwise_signed_key_proof_is_refused() {
    let victim = DeviceKey::generate();
    let attacker = DeviceKey::generate();
    // alg none, empty signature, naming the victim's key.
    let none = json!({"typ": PROOF_JWT_TYP, "alg": "none", "jwk": victim.jwk()});
    assert_refused(&jwt(&none, &claims(), |_| Vec::new()), "alg none");
    // alg ES256 with an empty signature.
    let es256 = json!({"typ": PROOF_JWT_TYP, "alg": "ES256", "jwk": victim.jwk()});
    assert_refused(&jwt(&es256, &claims(), |_| Vec::new()), "empty signature");
    // HS256 with the public key's bytes as the MAC key (key confusion): refused by alg.
    let hs256 = json!({"typ": PROOF_JWT_TYP, "alg": "HS256", "jwk": victim.jwk()});
    assert_refused(&jwt(&hs256, &claims(), |m| m[..32].to_vec()), "HS256");
    // Signed by the attacker's key, naming the victim's.
    assert_refused(&jwt(&es256, &claims(), |m| attacker.sign(m).to_vec()), "another key");
    // The attacker's own proof with the victim's jwk swapped into the header.
    let theirs = make_proof_jwt(&attacker, AUD, "n-1", Utc::now());
    let signature = theirs.rsplit('.').next().unwrap();
    let payload = theirs.split('.').nth(1).unwrap();
    assert_refused(&format!("{}.{payload}.{signature}", b64(&es256)), "jwk swapped");
    // A key named by reference beside the jwk (kid, x5c) is refused outright.
    let with_kid = json!({"typ": PROOF_JWT_TYP, "alg": "ES256", "jwk": attacker.jwk(), "kid": "did:key:zDn#0"});
    assert_refused(&jwt(&with_kid, &claims(), |m| attacker.sign(m).to_vec()), "kid");
    // Another typ (a plain JWT the holder signed for some other purpose).
    let other_typ = json!({"typ": "JWT", "alg": "ES256", "jwk": attacker.jwk()});
    assert_refused(&jwt(&other_typ, &claims(), |m| attacker.sign(m).to_vec()), "typ JWT");
}

#[test]
fn attack_oid4vci_a_proof_for_another_audience_or_time_is_refused() {
    let device = DeviceKey::generate();
    let header = json!({"typ": PROOF_JWT_TYP, "alg": "ES256", "jwk": device.jwk()});
    let sign = |m: &[u8]| device.sign(m).to_vec();
    // aud as an array that holds the issuer among others: a proof made for
    // several issuers is not made for this one.
    let mut many = claims();
    many["aud"] = json!([AUD, "https://elsewhere.example"]);
    assert_refused(&jwt(&header, &many, sign), "aud array");
    let mut prefix = claims();
    prefix["aud"] = json!(format!("{AUD}.evil.example"));
    assert_refused(&jwt(&header, &prefix, sign), "aud prefix");
    // An old proof, and one dated beyond the 60 s skew.
    let mut old = claims();
    old["iat"] = json!((Utc::now() - Duration::minutes(6)).timestamp());
    assert_refused(&jwt(&header, &old, sign), "old");
    let mut future = claims();
    future["iat"] = json!((Utc::now() + Duration::minutes(2)).timestamp());
    assert_refused(&jwt(&header, &future, sign), "future");
    // iat as a string, four parts, a huge token.
    let mut text = claims();
    text["iat"] = json!(Utc::now().timestamp().to_string());
    assert_refused(&jwt(&header, &text, sign), "iat string");
    let good = make_proof_jwt(&device, AUD, "n-1", Utc::now());
    assert_refused(&format!("{good}.x"), "four parts");
    assert_refused(&format!("{}{}", good, "A".repeat(10_000)), "huge");
}
