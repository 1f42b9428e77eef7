//! Where a department's root key is, and unlocking it for one command.
//!
//! A CA directory holds either `root.key.pem` (the key, passphrase-encrypted)
//! or `root.key.uri` (a PKCS#11 URI naming a key in the department's token —
//! 密码机/HSM — which never leaves it). `init-root --token URI` makes the
//! second kind: it uses the key the URI names if the token has it (made by
//! `token-key`, say), else generates it there (`CKA_SENSITIVE`, never
//! `CKA_EXTRACTABLE`), signs the root certificate with it and records the URI.
//! Every command that signs with the root (`issue`, `crl`, `trust-list`) then
//! signs in the token; `--root-key URI` names the key explicitly (another
//! module path on this machine, another slot), and wallet-core refuses it if it
//! is not the root certificate's key. The URI rules are the issuer's
//! ([`issuer::pkcs11_uri`]): the PIN comes from `pin-source=file:…` or
//! `ISSUER_PKCS11_PIN`, never from the command line.
//!
//! Token keys are P-256: SM2 in PKCS#11 needs vendor mechanisms (SoftHSM2, the
//! tested token, has none), so an SM2 root stays a file key.

use anyhow::{bail, Context as _};
use issuer::pkcs11_signer::{generate_in_token, token_has_key, Pkcs11Signer};
use issuer::pkcs11_uri::Pkcs11Uri;
use p256::elliptic_curve::zeroize::Zeroizing;
use wallet_core::trust::{TrustAlgorithm, TrustKey, TrustSigningKey};

use super::ca_dir::{CaDir, ROOT_KEY_FILE};
use super::files;
use super::passphrase::PassphraseArgs;

/// The PKCS#11 URI of a root key kept in a token.
pub const ROOT_KEY_URI_FILE: &str = "root.key.uri";

/// `--root-key`: the root key in a token, named on the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct RootKeyArgs {
    /// The root key in a PKCS#11 token (HSM), as a URI:
    /// `pkcs11:token=…;object=…?module-path=…&pin-source=file:…` (or
    /// `module-name=…`). Without it, DIR/root.key.uri if the root was made with
    /// `init-root --token`, else DIR/root.key.pem and its passphrase
    /// (`trust-list`: the --signer directory's key). The PIN comes from the
    /// pin-source file or ISSUER_PKCS11_PIN, never from here.
    #[arg(long = "root-key", value_name = "URI")]
    pub uri: Option<String>,
}

/// A root key ready to sign.
pub enum RootKey {
    /// Decrypted from `root.key.pem`.
    File(TrustKey),
    /// In a token; only signatures come out.
    Token(Box<Pkcs11Signer>),
}

impl RootKey {
    /// The key, for wallet-core's signing functions.
    pub fn signing(&self) -> TrustSigningKey<'_> {
        match self {
            Self::File(key) => key.signing(),
            Self::Token(signer) => TrustSigningKey::P256Signer(signer.as_ref()),
        }
    }
}

/// The passphrase, read the first time a file key needs it (a command whose
/// keys are all in tokens never asks for one).
pub struct LazyPassphrase<'a> {
    args: &'a PassphraseArgs,
    read: Option<Zeroizing<String>>,
}

impl<'a> LazyPassphrase<'a> {
    /// Nothing read yet.
    pub fn new(args: &'a PassphraseArgs) -> Self {
        Self { args, read: None }
    }

    fn get(&mut self) -> anyhow::Result<&str> {
        if self.read.is_none() {
            self.read = Some(self.args.read()?);
        }
        self.read.as_ref().map(|p| p.as_str()).context("the passphrase was not read")
    }
}

/// Open the token key `uri` names (it must stay in the token: checked by
/// [`Pkcs11Signer::open`]).
fn open_token_key(uri: &str) -> anyhow::Result<Pkcs11Signer> {
    let uri = Pkcs11Uri::parse(uri.trim())?;
    Pkcs11Signer::open(&uri).with_context(|| format!("root key {}", uri.describe()))
}

/// The URI recorded in the directory, if the root is a token key.
fn recorded_uri(ca: &CaDir) -> anyhow::Result<Option<String>> {
    let path = ca.file(ROOT_KEY_URI_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(text.trim().to_owned()))
}

/// The root key of `ca`: the token key `uri` names, else the one
/// `root.key.uri` names, else `root.key.pem` unlocked with the passphrase.
///
/// # Errors
/// A bad URI, token, PIN or key; a wrong passphrase.
pub fn unlock(ca: &CaDir, uri: Option<&str>, passphrase: &mut LazyPassphrase<'_>) -> anyhow::Result<RootKey> {
    let uri = match uri {
        Some(given) => Some(given.to_owned()),
        None => recorded_uri(ca)?,
    };
    match uri {
        Some(uri) => Ok(RootKey::Token(Box::new(open_token_key(&uri)?))),
        None => Ok(RootKey::File(ca.unlock_root_key(passphrase.get()?)?)),
    }
}

/// A new root's key, before the directory is written.
pub enum NewRootKey {
    /// A fresh key, and its encrypted PEM for `root.key.pem`.
    File(TrustKey, String),
    /// A key in a token.
    Token {
        /// The key.
        signer: Box<Pkcs11Signer>,
        /// Its URI, for `root.key.uri`.
        uri: String,
        /// Whether this run generated it (else the token had it).
        generated: bool,
    },
}

impl NewRootKey {
    /// The key `init-root` asks for: in the token `token_uri` names (used if
    /// it is there, generated there if not), else a fresh file key of
    /// `algorithm` encrypted with the passphrase.
    ///
    /// # Errors
    /// SM2 with a token; token, PIN or key failures; no passphrase.
    pub fn create(
        token_uri: Option<&str>,
        algorithm: TrustAlgorithm,
        passphrase: &PassphraseArgs,
    ) -> anyhow::Result<Self> {
        let Some(text) = token_uri.map(str::trim) else {
            let passphrase = passphrase.read_new()?;
            let key = TrustKey::generate(algorithm);
            let encrypted =
                wallet_core::trust::encrypt_private_key(&key, &passphrase).context("encrypting the root key")?;
            return Ok(Self::File(key, encrypted));
        };
        if algorithm != TrustAlgorithm::P256 {
            bail!(
                "a root key in a PKCS#11 token is P-256 only (SM2 in PKCS#11 needs vendor mechanisms); \
                 make an SM2 root without --token"
            );
        }
        let uri = Pkcs11Uri::parse(text)?;
        if uri.object.is_none() {
            bail!("the --token URI needs `object` (the root key's label)");
        }
        let existed = token_has_key(&uri).with_context(|| format!("looking for the key {}", uri.describe()))?;
        if !existed {
            generate_in_token(&uri)
                .with_context(|| format!("generating the root key {} in the token", uri.describe()))?;
        }
        Ok(Self::Token { signer: Box::new(open_token_key(text)?), uri: text.to_owned(), generated: !existed })
    }

    /// The key, for signing the root certificate.
    pub fn signing(&self) -> TrustSigningKey<'_> {
        match self {
            Self::File(key, _) => key.signing(),
            Self::Token { signer, .. } => TrustSigningKey::P256Signer(signer.as_ref()),
        }
    }

    /// Record the key in the new CA directory (`root.key.pem` or
    /// `root.key.uri`, mode 0600, never overwritten: of two concurrent
    /// `init-root` runs the second stops here).
    ///
    /// # Errors
    /// The file exists or cannot be written.
    pub fn save(&self, ca: &CaDir) -> anyhow::Result<()> {
        match self {
            Self::File(_, encrypted) => files::create_private(&ca.file(ROOT_KEY_FILE), encrypted.as_bytes()),
            Self::Token { uri, .. } => {
                files::create_private(&ca.file(ROOT_KEY_URI_FILE), format!("{uri}\n").as_bytes())
            }
        }
    }

    /// Where the key is, for the operator.
    pub fn describe(&self) -> String {
        match self {
            Self::File(..) => format!("{ROOT_KEY_FILE} (encrypted; back it up with its passphrase, separately)"),
            Self::Token { signer, generated, .. } => format!(
                "{ROOT_KEY_URI_FILE} names the key {} in the token ({}; it cannot be exported)",
                signer.describe(),
                if *generated { "generated there now" } else { "made there earlier" }
            ),
        }
    }
}
