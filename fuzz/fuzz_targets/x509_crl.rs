//! Certificate revocation lists, DER and PEM.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::trust;

fuzz_target!(|data: &[u8]| {
    let _ = trust::summarize_crl(data);
    if let Some(text) = fuzz_inputs::as_text(data) {
        if let Ok(der) = trust::crl_pem_to_der(text) {
            let _ = trust::summarize_crl(&der);
        }
    }
});
