//! The signed trust list (JWS with an x5c chain) against the configured roots.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::trust::TrustList;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = TrustList::parse(data) else { return };
    let _ = list.listed_roots();
    let roots = fuzz_inputs::configured_roots();
    let _ = list.verify(&roots, fuzz_inputs::fixed_now(), chrono::Duration::hours(72));
});
