//! Status lists: the `encodedList` bitstring and the list credential.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet_core::status::{self, Bitstring};

fuzz_target!(|data: &[u8]| {
    if let Some(text) = fuzz_inputs::as_text(data) {
        if let Ok(bits) = Bitstring::decode(text) {
            let _ = bits.len();
        }
    }
    let Ok(list) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    // Fetched from the address it names, so the checks go past the id check.
    let url = list.get("id").and_then(serde_json::Value::as_str).unwrap_or("https://example.org/status/1").to_owned();
    let _ = pollster::block_on(status::verify_status_list(&url, &list, fuzz_inputs::fixed_now()));
    let _ = status::status_entries(&list);
});
