//! Term table 1: the static dictionaries that turn frequent object keys, string
//! values and IRI prefixes into small integers.
//!
//! **These tables are part of the wire format.** A code, once published, never
//! changes meaning. New entries may only be appended (old decoders then report
//! [`CompactError::UnknownTermCode`](super::CompactError::UnknownTermCode) for
//! them); re-ordering or removing an entry needs a new header byte (a new table
//! version, see the module documentation of [`crate::compact`]).
//!
//! The code of an entry is its zero-based position in the slice.
//!
//! **Codes from 1000 on** (keys and values) are not in these slices: they are
//! assigned by credential type definition files ([`crate::credential_type`]),
//! each new term of a definition declaring its own code, like a registry entry
//! (as CWT claim keys are registered). The loader refuses a code outside
//! 1000–65535, a code that two terms share, a term that two definitions code
//! differently, and a code for a term that table 1 already has. A code keeps
//! its meaning forever: a new version of a definition may add fields with new
//! codes but never reuse one. A decoder that lacks the definition reports
//! [`CompactError::UnknownTermCode`](super::CompactError::UnknownTermCode).

/// Object keys (map keys) of table 1, in code order.
///
/// On the wire a key code `c` is written as the CBOR integer `zigzag⁻¹(c)`
/// (`c / 2` when `c` is even, `-(c + 1) / 2` when odd), so codes 0–47 take a
/// single byte. The first 48 entries are therefore the keys of the health
/// certificate and food-business licence and of the proof / status blocks.
pub const KEYS: &[&str] = &[
    // 0–16: VC 2.0 core, status entry and Data Integrity proof.
    "@context",
    "id",
    "type",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialStatus",
    "proof",
    "statusPurpose",
    "statusListIndex",
    "statusListCredential",
    "cryptosuite",
    "created",
    "verificationMethod",
    "proofPurpose",
    "proofValue",
    // 17–32: the ecert context (https://w3id.org/ecert/v1).
    "fullName",
    "fullNamePinyin",
    "sex",
    "birthDate",
    "idNumberDigest",
    "idNumberSalt",
    "examinationDate",
    "examiningInstitution",
    "examinationResult",
    "occupation",
    "licenceNumber",
    "licensee",
    "unifiedSocialCreditCode",
    "legalRepresentative",
    "businessAddress",
    "businessScope",
    // 33–47: other frequent VC 2.0 / Data Integrity terms.
    "name",
    "description",
    "credentialSchema",
    "evidence",
    "termsOfUse",
    "refreshService",
    "holder",
    "verifiableCredential",
    "challenge",
    "domain",
    "expires",
    "nonce",
    "previousProof",
    "relatedResource",
    "renderMethod",
    // 48–: two-byte codes.
    "digestSRI",
    "digestMultibase",
    "mediaType",
    "confidenceMethod",
    "statusMessage",
    "statusSize",
    "statusReference",
    "encodedList",
    "ttl",
    "issuanceDate",
    "expirationDate",
    "controller",
    "publicKeyMultibase",
    "jsonSchema",
    "@id",
    "@type",
    "@value",
    "@language",
    "@direction",
    "@list",
    "@set",
    "@graph",
    "@vocab",
    "@protected",
    "@version",
    "@container",
    "@base",
    // 75–: appended.
    "licenceId",
];

/// Known string values of table 1, in code order. On the wire a value code
/// `c` is tag 6 around the unsigned integer `c`; codes 0–23 take two bytes.
pub const VALUES: &[&str] = &[
    // 0–23: two-byte values.
    "https://www.w3.org/ns/credentials/v2",
    "https://w3id.org/ecert/v1",
    "VerifiableCredential",
    "HealthCertificate",
    "FoodBusinessLicence",
    "BitstringStatusListEntry",
    "DataIntegrityProof",
    "ecdsa-rdfc-2019",
    "assertionMethod",
    "revocation",
    "suspension",
    "qualified",
    "food-service",
    "VerifiablePresentation",
    "BitstringStatusListCredential",
    "BitstringStatusList",
    "https://www.w3.org/ns/credentials/examples/v2",
    "https://w3id.org/security/data-integrity/v2",
    "eddsa-rdfc-2022",
    "authentication",
    "message",
    "refresh",
    "EnvelopedVerifiableCredential",
    "EnvelopedVerifiablePresentation",
    // 24–: three-byte values.
    "ecdsa-jcs-2019",
    "ecdsa-sd-2023",
    "eddsa-jcs-2022",
    "bbs-2023",
    "capabilityInvocation",
    "capabilityDelegation",
    "keyAgreement",
    "JsonSchema",
    "JsonSchemaCredential",
    "Multikey",
    "https://www.w3.org/2018/credentials/v1",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
    "https://www.w3.org/ns/credentials/undefined-terms/v2",
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "unqualified",
    // 40–: appended.
    "sm2-rdfc-2026",
];

/// IRI prefixes of table 1, in code order, used by the prefix codec (tag 14).
/// The encoder picks the longest matching prefix.
pub const PREFIXES: &[&str] = &[
    "https://",
    "http://",
    "did:web:",
    "did:example:",
    "did:key:",
    "urn:uuid:",
    "https://www.w3.org/ns/credentials/",
    "https://w3id.org/",
    "https://example.org/",
    "https://example.com/",
    "https://example.edu/",
    "did:",
    "urn:",
];

/// Code of `key` in [`KEYS`]. Definition codes (≥ 1000) are a
/// [`TypeRegistry`](crate::credential_type::TypeRegistry)'s: see its `key_code`.
pub fn key_code(key: &str) -> Option<u64> {
    position(KEYS, key)
}

/// Code of `value` in [`VALUES`] (definition codes: the registry's `value_code`).
pub fn value_code(value: &str) -> Option<u64> {
    position(VALUES, value)
}

/// The key of [`KEYS`] with code `code` (definition codes: the registry's `key`).
pub fn key(code: u64) -> Option<&'static str> {
    entry(KEYS, code)
}

/// The value of [`VALUES`] with code `code` (definition codes: the registry's `value`).
pub fn value(code: u64) -> Option<&'static str> {
    entry(VALUES, code)
}

/// The prefix with code `code`.
pub fn prefix(code: u64) -> Option<&'static str> {
    entry(PREFIXES, code)
}

/// The longest prefix in [`PREFIXES`] that `s` starts with, with its code.
pub fn longest_prefix(s: &str) -> Option<(u64, &'static str)> {
    PREFIXES
        .iter()
        .enumerate()
        .filter(|(_, p)| s.starts_with(**p))
        .max_by_key(|(_, p)| p.len())
        .and_then(|(i, p)| Some((u64::try_from(i).ok()?, *p)))
}

fn position(table: &[&str], s: &str) -> Option<u64> {
    table.iter().position(|t| *t == s).and_then(|i| u64::try_from(i).ok())
}

fn entry(table: &'static [&'static str], code: u64) -> Option<&'static str> {
    usize::try_from(code).ok().and_then(|i| table.get(i)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tables_have_no_duplicates() {
        for table in [KEYS, VALUES, PREFIXES] {
            let set: HashSet<_> = table.iter().collect();
            assert_eq!(set.len(), table.len());
        }
    }

    /// Freezes table 1: codes are wire format. Appending is fine (update the
    /// lengths here); changing an existing entry must fail this test.
    #[test]
    fn table_one_is_frozen() {
        assert_eq!(
            (KEYS[0], KEYS[16], KEYS[17], KEYS[32], KEYS[47], KEYS[48]),
            ("@context", "proofValue", "fullName", "businessScope", "renderMethod", "digestSRI")
        );
        assert_eq!(
            (VALUES[0], VALUES[7], VALUES[23]),
            ("https://www.w3.org/ns/credentials/v2", "ecdsa-rdfc-2019", "EnvelopedVerifiablePresentation")
        );
        assert_eq!(PREFIXES[0], "https://");
        assert_eq!(VALUES[40], crate::sm2_rdfc_2026::CRYPTOSUITE);
        assert_eq!((KEYS.len(), VALUES.len(), PREFIXES.len()), (76, 41, 13));
    }

    #[test]
    fn every_term_of_the_ecert_context_has_a_one_byte_key_code() {
        let context: serde_json::Value =
            serde_json::from_str(include_str!("../../contexts/ecert-v1.jsonld")).expect("bundled context is JSON");
        let terms = context["@context"].as_object().expect("context object");
        for term in terms.keys().filter(|t| !t.starts_with('@') && !["xsd", "ec"].contains(&t.as_str())) {
            if ["HealthCertificate", "FoodBusinessLicence"].contains(&term.as_str()) {
                assert!(value_code(term).is_some_and(|c| c < 24), "{term}");
            } else if term == crate::licence_id::CREDENTIAL_TERM {
                // A top-level term added after table 1's one-byte codes were taken.
                assert_eq!(key_code(term), Some(75));
            } else {
                assert!(key_code(term).is_some_and(|c| c < 48), "{term}");
            }
        }
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            longest_prefix("https://www.w3.org/ns/credentials/foo"),
            Some((6, "https://www.w3.org/ns/credentials/"))
        );
        assert_eq!(longest_prefix("https://a.example"), Some((0, "https://")));
        assert_eq!(longest_prefix("did:example:x"), Some((3, "did:example:")));
        assert_eq!(longest_prefix("mailto:x"), None);
    }
}
