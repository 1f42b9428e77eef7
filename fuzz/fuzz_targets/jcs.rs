//! RFC 8785 canonical JSON, what `ecdsa-jcs-2019` hashes: any JSON value is
//! canonicalised within the bounds or refused, never a panic, and the canonical
//! form is a fixed point (read back, it canonicalises to itself byte for byte).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wallet_core::jcs;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    if let Ok(canonical) = jcs::canonicalize(&value) {
        let back: Value = serde_json::from_str(&canonical).expect("the canonical form is JSON");
        let again = jcs::canonicalize(&back).expect("the canonical form canonicalises");
        assert_eq!(again, canonical, "the canonical form is not a fixed point");
    }
});
