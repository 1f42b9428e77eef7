//! Scanned QR text: `EC1:` (compact credential) and `EP1:` (holder presentation).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::{compact, presentation};

fuzz_target!(|data: &[u8]| {
    let Some(text) = fuzz_inputs::as_text(data) else { return };
    let _ = presentation::read_scanned(text);
    let _ = presentation::decode_presentation(text);
    if let Ok(vc) = compact::decode_credential(text) {
        // What decodes must encode again (the verifier re-encodes nothing, but
        // the wallet stores what it scanned and shows it as a QR code).
        let _ = compact::encode_credential(&vc);
    }
});
