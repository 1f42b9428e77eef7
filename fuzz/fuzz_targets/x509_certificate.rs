//! X.509 certificates of this suite's profile, DER and PEM.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::trust;

fuzz_target!(|data: &[u8]| {
    let _ = trust::summarize_certificate(data);
    if let Some(text) = fuzz_inputs::as_text(data) {
        if let Ok(der) = trust::certificate_pem_to_der(text) {
            let _ = trust::summarize_certificate(&der);
        }
    }
});
