//! The signed verifier bundle (department JWS) against the configured roots.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::verifier_bundle;

fuzz_target!(|data: &[u8]| {
    let roots = fuzz_inputs::configured_roots();
    let _ = verifier_bundle::read_signed_bundle(data, &roots, fuzz_inputs::fixed_now());
});
