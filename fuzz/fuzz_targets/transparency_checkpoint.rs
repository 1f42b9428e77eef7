//! Signed notes, checkpoints and witness cosignatures (C2SP formats).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wallet_core::transparency::{verify_cosignatures, Checkpoint, LogKey, SignedNote, WitnessKey};

/// Keys from the published vectors (fixtures/transparency/signed-note-vectors.json).
fn keys() -> &'static (LogKey, WitnessKey) {
    static KEYS: OnceLock<(LogKey, WitnessKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            LogKey::from_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").expect("log key"),
            WitnessKey::from_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
                .expect("witness key"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (log_key, witness) = keys();
    if let Ok(note) = SignedNote::parse_bytes(data) {
        let _ = Checkpoint::from_note_text(note.text());
        let _ = verify_cosignatures(&note, std::slice::from_ref(witness), 1);
        let _ = log_key.verify_checkpoint_note(note);
    }
    if let Some(text) = fuzz_inputs::as_text(data) {
        let _ = Checkpoint::from_note_text(text);
        let _ = log_key.open_checkpoint(text);
        let _ = LogKey::from_vkey(text);
        let _ = WitnessKey::from_vkey(text);
    }
});
