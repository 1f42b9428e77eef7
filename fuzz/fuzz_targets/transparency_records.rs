//! Log entries, inclusion bundles, notarisation receipts and anchor calldata.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::transparency::{AnchorCalldata, InclusionBundle, LogEntry, NotarizationReceipt};

fuzz_target!(|data: &[u8]| {
    let _ = LogEntry::decode(data);
    let _ = AnchorCalldata::decode(data);
    if let Some(text) = fuzz_inputs::as_text(data) {
        if let Ok(bundle) = InclusionBundle::from_json(text) {
            let _ = bundle.checkpoint_note();
        }
        let _ = NotarizationReceipt::from_json(text);
    }
});
