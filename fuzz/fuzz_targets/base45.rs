//! Strict Base45 (RFC 9285) decoding.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::compact;

fuzz_target!(|data: &[u8]| {
    let Some(text) = fuzz_inputs::as_text(data) else { return };
    if let Ok(bytes) = compact::base45_decode(text) {
        // Strict decoding accepts only the canonical text of some bytes.
        assert_eq!(compact::base45_encode(&bytes), text, "non-canonical Base45 accepted");
    }
});
