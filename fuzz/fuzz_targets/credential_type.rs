//! Credential-type definition files (credential-types/*.json).
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::credential_type::Definition;

fuzz_target!(|data: &[u8]| {
    let Some(text) = fuzz_inputs::as_text(data) else { return };
    let _ = Definition::parse("fuzz.json", text);
});
