//! OpenID4VCI inputs: form bodies (percent escapes) and credential offer URIs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::oid4vci;

fuzz_target!(|data: &[u8]| {
    let Some(text) = fuzz_inputs::as_text(data) else { return };
    let _ = oid4vci::form_decode(text);
    let _ = oid4vci::parse_offer_uri(text);
});
