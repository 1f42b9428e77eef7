//! Credential JSON into the one verification routine (offline options).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::verification::{verify_credential, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(vc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let options = VerifyOptions::at(fuzz_inputs::fixed_now());
    let _ = pollster::block_on(verify_credential(&vc, &options));
});
