//! OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow:
//! the parts both sides share (the credential offer and its URI, form
//! encoding, the `jwt` proof of possession). The issuer service serves the
//! endpoints; the wallet client is [`crate::wallet::oid4vci_client`].
//!
//! Supported: `ldp_vc` credentials (our Data Integrity credentials), the
//! pre-authorized code grant with a numeric `tx_code` (PIN), the Nonce
//! Endpoint, `proofs.jwt` with ES256 and a `jwk` header. Not supported:
//! the authorization code flow, `credential_offer_uri` (offers by reference),
//! deferred issuance, batch issuance, DPoP, wallet attestation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::holder::{public_key_from_jwk, verify_es256, DeviceKey};

/// The pre-authorized code grant type.
pub const PRE_AUTHORIZED_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// `typ` of a key proof JWT.
pub const PROOF_JWT_TYP: &str = "openid4vci-proof+jwt";
/// Scheme of a credential offer URI (shown as a QR code).
pub const OFFER_URI_PREFIX: &str = "openid-credential-offer://";
/// Path of the credential issuer metadata.
pub const ISSUER_METADATA_PATH: &str = "/.well-known/openid-credential-issuer";
/// Path of the OAuth authorization server metadata (RFC 8414).
pub const AS_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// Longest credential offer URI accepted (a QR code holds at most ~4 KB).
pub const MAX_OFFER_URI_LEN: usize = 4096;

/// A credential offer (OpenID4VCI 1.0 §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The credential issuer identifier (an https URL; http in tests).
    pub credential_issuer: String,
    /// Which credential configurations are offered.
    pub credential_configuration_ids: Vec<String>,
    /// The grants; only the pre-authorized code grant is supported.
    pub grants: Grants,
}

/// `grants` of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The pre-authorized code grant.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
}

/// The pre-authorized code grant of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// The code (short-lived, single use).
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// The transaction code (PIN) the wallet must ask the user for, sent out of band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
}

/// What the transaction code looks like (so the wallet shows the right keyboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    /// `numeric` or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// Number of characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Where the user finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Why an offer, a response or a proof cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Oid4vciError {
    /// OAuth / OpenID4VCI error code (`invalid_request`, `invalid_proof`, …) or ours.
    pub code: String,
    /// What went wrong, in English (for logs and developers).
    pub message: String,
}

impl Oid4vciError {
    /// An error with a code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message: message.into() }
    }
}

/// `openid-credential-offer://?credential_offer=<percent-encoded JSON>`.
pub fn offer_uri(offer: &CredentialOffer) -> String {
    let json = serde_json::to_string(offer).unwrap_or_default();
    format!("{OFFER_URI_PREFIX}?credential_offer={}", percent_encode(&json))
}

/// Parse a credential offer URI (by value; `credential_offer_uri` is not supported).
///
/// # Errors
/// `invalid_credential_offer` for anything else.
pub fn parse_offer_uri(uri: &str) -> Result<CredentialOffer, Oid4vciError> {
    let bad = |m: &str| Oid4vciError::new("invalid_credential_offer", m);
    if uri.len() > MAX_OFFER_URI_LEN {
        return Err(bad("the offer is too long"));
    }
    let query = uri.trim().split_once('?').map(|(_, q)| q).ok_or_else(|| bad("the offer URI has no query"))?;
    let pairs = form_decode(query)?;
    if pairs.iter().any(|(k, _)| k == "credential_offer_uri") {
        return Err(Oid4vciError::new(
            "unsupported_offer",
            "offers by reference (credential_offer_uri) are not supported",
        ));
    }
    let json = pairs
        .into_iter()
        .find_map(|(k, v)| (k == "credential_offer").then_some(v))
        .ok_or_else(|| bad("no credential_offer parameter"))?;
    let offer: CredentialOffer = serde_json::from_str(&json).map_err(|e| bad(&format!("not an offer: {e}")))?;
    if offer.credential_configuration_ids.is_empty() {
        return Err(bad("the offer names no credential configuration"));
    }
    if !is_protected_endpoint(&offer.credential_issuer) {
        return Err(bad("credential_issuer must be an https URL"));
    }
    if offer.grants.pre_authorized_code.is_none() {
        return Err(Oid4vciError::new("unsupported_grant_type", "only the pre-authorized code grant is supported"));
    }
    Ok(offer)
}

/// An endpoint a wallet may send a pre-authorized code, a PIN or a proof to:
/// `https://`, or plain `http://` only to this device itself (loopback, for
/// development and tests). Over plain HTTP on a clinic's Wi-Fi, anyone
/// listening would redeem the code and PIN first and take the credential,
/// bound to their own key.
pub fn is_protected_endpoint(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    // `[v6]` or `[v6]:port`, nothing else after the bracket; `host` or `host:port`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, rest)) => match rest.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if port.is_some_and(|port| port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` of name/value pairs.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// Decode `application/x-www-form-urlencoded` (also a URI query): `+` is a space.
///
/// # Errors
/// `invalid_request` for bad `%` escapes or bytes that are not UTF-8.
pub fn form_decode(body: &str) -> Result<Vec<(String, String)>, Oid4vciError> {
    let decode = |s: &str| -> Result<String, Oid4vciError> {
        let bad = || Oid4vciError::new("invalid_request", "bad percent-encoding");
        let mut out = Vec::with_capacity(s.len());
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hi = bytes.next().and_then(|c| char::from(c).to_digit(16)).ok_or_else(bad)?;
                    let lo = bytes.next().and_then(|c| char::from(c).to_digit(16)).ok_or_else(bad)?;
                    out.push(u8::try_from(hi * 16 + lo).map_err(|_| bad())?);
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|_| bad())
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The wallet's key proof JWT (OpenID4VCI 1.0 Appendix F.1): ES256 by the
/// device key, the public key in the `jwk` header, `aud` = the credential
/// issuer, `iat`, and the issuer's `nonce`.
pub fn make_proof_jwt(device: &DeviceKey, audience: &str, nonce: &str, issued_at: DateTime<Utc>) -> String {
    let header = json!({"typ": PROOF_JWT_TYP, "alg": "ES256", "jwk": device.jwk()});
    let claims = json!({"aud": audience, "iat": issued_at.timestamp(), "nonce": nonce});
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = device.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A verified key proof: the holder's key and the nonce it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProof {
    /// The holder's public JWK (from the header).
    pub jwk: Value,
    /// The nonce the proof carries (the issuer checks it is its own and unused).
    pub nonce: String,
}

/// Verify a key proof JWT: `typ`, `alg` ES256, a P-256 `jwk` header (no `kid`/`x5c`),
/// the signature, `aud` = `audience`, `iat` within `max_age` before `now`
/// (and not more than 60 s ahead), a `nonce`. The nonce's freshness is the issuer's to check.
///
/// # Errors
/// `invalid_proof` (or `invalid_nonce` when the nonce is missing).
pub fn verify_proof_jwt(
    jwt: &str,
    audience: &str,
    now: DateTime<Utc>,
    max_age: chrono::Duration,
) -> Result<KeyProof, Oid4vciError> {
    let bad = |m: &str| Oid4vciError::new("invalid_proof", m);
    if jwt.len() > 8192 {
        return Err(bad("the proof is too long"));
    }
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("not a compact JWS"));
    };
    let part = |p: &str| -> Result<Value, Oid4vciError> {
        let bytes = URL_SAFE_NO_PAD.decode(p).map_err(|_| bad("not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))
    };
    let header = part(h)?;
    let claims = part(c)?;
    if header.get("typ").and_then(Value::as_str) != Some(PROOF_JWT_TYP) {
        return Err(bad("typ must be openid4vci-proof+jwt"));
    }
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(bad("alg must be ES256"));
    }
    if header.get("kid").is_some() || header.get("x5c").is_some() {
        return Err(bad("the key must be given as jwk only"));
    }
    let jwk = header.get("jwk").ok_or_else(|| bad("no jwk header"))?;
    let key = public_key_from_jwk(jwk).map_err(|e| bad(&format!("jwk: {e}")))?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad("signature not base64url"))?;
    if !verify_es256(&key, format!("{h}.{c}").as_bytes(), &signature) {
        return Err(bad("the signature does not verify"));
    }
    if claims.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(bad("aud must be the credential issuer"));
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or_else(|| bad("iat is required"))?;
    if iat < (now - max_age).timestamp() || iat > now.timestamp() + 60 {
        return Err(bad("iat is not recent"));
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or_else(|| Oid4vciError::new("invalid_nonce", "the proof carries no nonce"))?;
    Ok(KeyProof { jwk: crate::holder::jwk_of(&key), nonce: nonce.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> CredentialOffer {
        CredentialOffer {
            credential_issuer: "https://issuer.example/a b".into(),
            credential_configuration_ids: vec!["HealthCertificate".into()],
            grants: Grants {
                pre_authorized_code: Some(PreAuthorizedCodeGrant {
                    pre_authorized_code: "abc+/=&".into(),
                    tx_code: Some(TxCode { input_mode: Some("numeric".into()), length: Some(6), description: None }),
                }),
            },
        }
    }

    #[test]
    fn offer_uri_round_trips_and_uses_the_spec_names() {
        let uri = offer_uri(&offer());
        assert!(uri.starts_with("openid-credential-offer://?credential_offer=%7B"));
        assert_eq!(parse_offer_uri(&uri).unwrap(), offer());
        let json = serde_json::to_value(offer()).unwrap();
        assert_eq!(json["grants"][PRE_AUTHORIZED_CODE_GRANT]["pre-authorized_code"], "abc+/=&");
        assert_eq!(json["grants"][PRE_AUTHORIZED_CODE_GRANT]["tx_code"]["input_mode"], "numeric");
        for bad in ["", "openid-credential-offer://", "x?credential_offer=%ZZ", "x?credential_offer=%7B%7D"] {
            assert!(parse_offer_uri(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_offer_uri("x?credential_offer_uri=https%3A%2F%2Fa").unwrap_err().code, "unsupported_offer");
    }

    /// The code and PIN go only over TLS, or to this device itself.
    #[test]
    fn attack_an_offer_over_plain_http_to_another_host_is_refused() {
        for (url, protected) in [
            ("https://issuer.example", true),
            ("http://127.0.0.1:8080", true),
            ("http://localhost:8080/x", true),
            ("http://[::1]:8080", true),
            ("http://clinic.example", false),
            ("http://192.168.1.20:8080", false),
            ("http://127.0.0.1@evil.example", false),
            ("http://127.0.0.1.evil.example", false),
            ("http://[::1]evil.example/", false),
            ("http://[::1", false),
            ("http://[::1]:80x", false),
            ("http://localhost:", false),
            ("ftp://issuer.example", false),
            ("", false),
        ] {
            assert_eq!(is_protected_endpoint(url), protected, "{url}");
            let mut plain = offer();
            plain.credential_issuer = url.into();
            assert_eq!(parse_offer_uri(&offer_uri(&plain)).is_ok(), protected, "{url}");
        }
    }

    #[test]
    fn form_encoding_round_trips() {
        let body = form_encode(&[("grant_type", PRE_AUTHORIZED_CODE_GRANT), ("tx_code", "0 1")]);
        let pairs = form_decode(&body).unwrap();
        assert_eq!(pairs[0], ("grant_type".into(), PRE_AUTHORIZED_CODE_GRANT.into()));
        assert_eq!(pairs[1], ("tx_code".into(), "0 1".into()));
        assert_eq!(form_decode("a=b+c").unwrap()[0].1, "b c");
        assert!(form_decode("a=%F").is_err());
        assert!(form_decode("a=%FF").is_err());
    }

    #[test]
    fn proof_jwt_verifies_and_each_rule_is_enforced() {
        let device = DeviceKey::generate();
        let now = Utc::now();
        let age = chrono::Duration::minutes(5);
        let jwt = make_proof_jwt(&device, "https://issuer.example", "n-1", now);
        let proof = verify_proof_jwt(&jwt, "https://issuer.example", now, age).unwrap();
        assert_eq!((proof.jwk, proof.nonce.as_str()), (device.jwk(), "n-1"));
        let code = |jwt: &str, aud: &str| verify_proof_jwt(jwt, aud, now, age).unwrap_err().code;
        assert_eq!(code(&jwt, "https://other.example"), "invalid_proof");
        let old = make_proof_jwt(&device, "https://issuer.example", "n", now - chrono::Duration::minutes(10));
        assert_eq!(code(&old, "https://issuer.example"), "invalid_proof");
        // A tampered payload (another nonce) no longer verifies.
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = URL_SAFE_NO_PAD
            .encode(json!({"aud": "https://issuer.example", "iat": now.timestamp(), "nonce": "n-2"}).to_string());
        parts[1] = &forged;
        assert_eq!(code(&parts.join("."), "https://issuer.example"), "invalid_proof");
        for garbage in ["", "a.b", "a.b.c", "a.b.c.d"] {
            assert_eq!(code(garbage, "https://issuer.example"), "invalid_proof");
        }
    }
}
