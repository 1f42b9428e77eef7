//! The CBOR document of a credential (NFC/BLE transports, inside `EC1:`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::compact;

fuzz_target!(|data: &[u8]| {
    if let Ok(vc) = compact::decode_cbor(data) {
        // The JSON read back must encode again and decode to the same JSON.
        if let Ok(again) = compact::encode_cbor(&vc) {
            let back = compact::decode_cbor(&again).expect("re-encoded CBOR decodes");
            assert_eq!(back, vc, "CBOR round trip changed the document");
        }
    }
});
