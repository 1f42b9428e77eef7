//! Object identifiers: ours (under the registration-free UUID arc `2.25`,
//! ITU-T X.667) and the standard ones the profile uses.
//!
//! Our OIDs have a 128-bit arc, which RustCrypto's `const-oid` (and therefore
//! `x509-cert`'s `ObjectIdentifier`) deliberately cannot hold: its arcs are
//! `u32`. They are therefore kept here as the DER contents octets (what
//! `rustls-webpki`'s `KeyUsage::required` wants too) next to their dotted
//! form, and the certificate parser in [`super::asn1`] keeps extension OIDs as
//! raw bytes.

use der::asn1::ObjectIdentifier;

/// Extended key usage of an issuer certificate: the holder's key may sign
/// credentials (Data Integrity proofs). From UUID `f7e00d78-c192-4ba5-897e-3568f9261b78`.
pub const CREDENTIAL_SIGNING_EKU_OID: &str = "2.25.329482662693797838475756934070622624632";

/// DER contents octets (no tag, no length) of [`CREDENTIAL_SIGNING_EKU_OID`].
pub const CREDENTIAL_SIGNING_EKU_OID_DER: &[u8] = &[
    0x69, 0x83, 0xef, 0xe0, 0x86, 0xde, 0x98, 0x99, 0x92, 0xae, 0xcb, 0x89, 0xbf, 0x8d, 0xad, 0x8f, 0xc9, 0x98, 0xb6,
    0x78,
];

/// Non-critical certificate extension listing the credential types (the VC
/// `type` values) the holder may issue: `SEQUENCE OF UTF8String`.
/// From UUID `ff6a2936-ed56-40f0-ae75-b0a74429e52c`.
pub const CREDENTIAL_TYPES_EXTENSION_OID: &str = "2.25.339504358322724986427246913782769378604";

/// DER contents octets of [`CREDENTIAL_TYPES_EXTENSION_OID`].
pub const CREDENTIAL_TYPES_EXTENSION_OID_DER: &[u8] = &[
    0x69, 0x83, 0xfe, 0xea, 0x94, 0xcd, 0xdd, 0xd5, 0xb2, 0x83, 0xe1, 0xae, 0xba, 0xec, 0x94, 0xf4, 0xa1, 0xa7, 0xca,
    0x2c,
];

/// Extended key usage of a trust-list signer certificate: the holder's key may
/// sign trust lists. From UUID `73372196-66b2-40e1-986c-d07576f74f78`.
pub const TRUST_LIST_SIGNING_EKU_OID: &str = "2.25.153147477078009004738905922560375345016";

/// DER contents octets of [`TRUST_LIST_SIGNING_EKU_OID`].
pub const TRUST_LIST_SIGNING_EKU_OID_DER: &[u8] = &[
    0x69, 0x81, 0xe6, 0xb7, 0x90, 0xe5, 0xcc, 0xeb, 0x92, 0x83, 0xc3, 0x98, 0xb6, 0xb4, 0x8e, 0xd7, 0xb7, 0xdd, 0x9e,
    0x78,
];

// Standard OIDs (small arcs, so `const-oid` holds them).
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// The SM2 curve (GM/T 0006: `sm2p256v1`), as id-ecPublicKey parameters.
pub(crate) const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// `SM2-with-SM3` signatures (GM/T 0006).
pub(crate) const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const AT_COUNTRY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
pub(crate) const AT_ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
pub(crate) const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
pub(crate) const AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");
pub(crate) const CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
pub(crate) const CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub(crate) const CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub(crate) const CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
pub(crate) const CE_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
pub(crate) const CE_CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
pub(crate) const CE_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");
pub(crate) const CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
pub(crate) const CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(crate) const PKCS9_EXTENSION_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");

/// Encode a dotted OID with arcs of up to 128 bits as DER contents octets.
/// `None` when it is not a well-formed OID.
pub fn encode_oid_contents(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> =
        dotted
            .split('.')
            .map(|arc| {
                if arc.is_empty() || (arc.len() > 1 && arc.starts_with('0')) {
                    None
                } else {
                    arc.parse::<u128>().ok()
                }
            })
            .collect::<Option<_>>()?;
    let (&first, rest) = arcs.split_first()?;
    let (&second, rest) = rest.split_first()?;
    if first > 2 || (first < 2 && second > 39) {
        return None;
    }
    let mut out = Vec::new();
    let combined = first.checked_mul(40)?.checked_add(second)?;
    for arc in std::iter::once(combined).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut remaining = arc >> 7;
        while remaining > 0 {
            groups.push(0x80 | (remaining & 0x7f) as u8);
            remaining >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

/// Decode DER contents octets of an OID (arcs of up to 128 bits) to the dotted
/// form. `None` when malformed or an arc is wider than 128 bits.
pub fn decode_oid_contents(contents: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut current: u128 = 0;
    let mut in_arc = false;
    for &byte in contents {
        if !in_arc && byte == 0x80 {
            return None; // non-minimal encoding
        }
        if current.leading_zeros() < 7 {
            return None;
        }
        current = (current << 7) | u128::from(byte & 0x7f);
        in_arc = byte & 0x80 != 0;
        if !in_arc {
            arcs.push(current);
            current = 0;
        }
    }
    if in_arc {
        return None;
    }
    let (&first_combined, rest) = arcs.split_first()?;
    let (first, second) = match first_combined {
        0..=39 => (0, first_combined),
        40..=79 => (1, first_combined - 40),
        _ => (2, first_combined - 80),
    };
    let mut dotted = format!("{first}.{second}");
    for arc in rest {
        dotted.push('.');
        dotted.push_str(&arc.to_string());
    }
    Some(dotted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_oid_constants_match_their_dotted_form() {
        for (dotted, der) in [
            (CREDENTIAL_SIGNING_EKU_OID, CREDENTIAL_SIGNING_EKU_OID_DER),
            (CREDENTIAL_TYPES_EXTENSION_OID, CREDENTIAL_TYPES_EXTENSION_OID_DER),
            (TRUST_LIST_SIGNING_EKU_OID, TRUST_LIST_SIGNING_EKU_OID_DER),
        ] {
            assert_eq!(encode_oid_contents(dotted).as_deref(), Some(der));
            assert_eq!(decode_oid_contents(der).as_deref(), Some(dotted));
        }
    }

    #[test]
    fn standard_oids_encode_like_const_oid() {
        for oid in [ECDSA_WITH_SHA256, AT_ORGANIZATION_IDENTIFIER, CE_EXT_KEY_USAGE] {
            assert_eq!(encode_oid_contents(&oid.to_string()).as_deref(), Some(oid.as_bytes()));
        }
        assert_eq!(encode_oid_contents("3.1"), None);
        assert_eq!(encode_oid_contents("1.2.03"), None);
        assert_eq!(decode_oid_contents(&[0x69, 0x80, 0x01]), None);
        assert_eq!(decode_oid_contents(&[0x69, 0x81]), None);
    }
}
