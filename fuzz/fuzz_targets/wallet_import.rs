//! The wallet's imports: a credential file, a QR text, and its own store file.
#![no_main]
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use wallet_core::wallet::{StoreKey, Wallet};

const KEY: [u8; 32] = [7; 32];

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wallet-import-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    })
}

fn wallet() -> &'static Mutex<Wallet<StoreKey>> {
    static WALLET: OnceLock<Mutex<Wallet<StoreKey>>> = OnceLock::new();
    WALLET.get_or_init(|| {
        Mutex::new(Wallet::open(dir().join("wallet.bin"), StoreKey::new(KEY)).expect("a new wallet opens"))
    })
}

fuzz_target!(|data: &[u8]| {
    let mut wallet = wallet().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = wallet.import_file(data);
    if let Some(text) = fuzz_inputs::as_text(data) {
        let _ = wallet.import_qr(text);
    }
    drop(wallet);
    // A store file someone else wrote (a restored backup, a tampered file).
    let path = dir().join("other.bin");
    if std::fs::write(&path, data).is_ok() {
        let _ = Wallet::open(&path, StoreKey::new(KEY));
    }
});
