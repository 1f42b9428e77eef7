//! A throw-away SoftHSM2 token for the PKCS#11 tests (`hsm`, `hsm_pki`): its
//! own `SOFTHSM2_CONF` and token directory, made once per test process
//! (SoftHSM reads its configuration when the module is first initialised), so
//! every test names its keys with labels of its own.

use std::path::PathBuf;
use std::sync::OnceLock;

use cryptoki::context::Pkcs11;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use super::require::{require, Dep};

/// The token's label.
pub const TOKEN: &str = "ecert-test";
/// Its user PIN.
pub const PIN: &str = "246810";
/// A second token (same PIN) that no test logs in to: a wrong PIN is only
/// refused by a token this process is not logged in to already (PKCS#11 login
/// state is per application and token).
pub const UNUSED_TOKEN: &str = "ecert-nologin";

/// Held by every test that uses the token, one at a time: SoftHSM2's file store
/// answers `CKR_GENERAL_ERROR` now and then when threads and processes change
/// and read it at once, and a test must not see another's login state.
pub fn serial() -> &'static tokio::sync::Mutex<()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    &SERIAL
}

/// The test token.
pub struct Token {
    /// The module's path.
    pub module: String,
    /// The directory holding the configuration, the token files and the PIN file.
    pub dir: PathBuf,
}

impl Token {
    /// The file holding the PIN.
    pub fn pin_file(&self) -> PathBuf {
        self.dir.join("pin")
    }

    /// The URI of key `object` with the right PIN file.
    pub fn uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token={TOKEN};object={object}?module-path={}&pin-source=file:{}",
            self.module,
            self.pin_file().display()
        )
    }

    /// A new key `object` in the token: its public key.
    pub fn generate(&self, object: &str) -> p256::PublicKey {
        let uri = issuer::pkcs11_uri::Pkcs11Uri::parse(&self.uri(object)).unwrap();
        issuer::pkcs11_signer::generate_in_token(&uri).unwrap()
    }

    /// The `SOFTHSM2_CONF` a child process needs to see this token.
    pub fn conf(&self) -> PathBuf {
        self.dir.join("softhsm2.conf")
    }

    /// The module, initialised, and the test token's slot.
    pub fn slot(&self) -> (Pkcs11, cryptoki::slot::Slot) {
        // The module as the issuer's code loaded it (initialised once per process).
        let module = issuer::pkcs11_signer::module(std::path::Path::new(&self.module)).unwrap();
        let slot = module
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| module.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
            .unwrap();
        (module, slot)
    }

    /// A logged-in session of this process on the test token.
    pub fn session(&self) -> cryptoki::session::Session {
        let (module, slot) = self.slot();
        let session = module.open_rw_session(slot).unwrap();
        match session.login(UserType::User, Some(&AuthPin::from(PIN.to_owned()))) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("{e}"),
        }
        session
    }
}

/// The test token, or `None` (the test is skipped) without SoftHSM2.
pub fn token() -> Option<&'static Token> {
    static TOKEN_DIR: OnceLock<Token> = OnceLock::new();
    let module = require(Dep::SoftHsm)?;
    Some(TOKEN_DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        for label in [TOKEN, UNUSED_TOKEN] {
            let out = std::process::Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &conf)
                .args(["--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "13579"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::write(dir.join("pin"), format!("{PIN}\n")).unwrap();
        // Before any test of this process loads the module.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        Token { module, dir }
    }))
}
