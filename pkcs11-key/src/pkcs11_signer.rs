//! The issuer's signing key in a PKCS#11 token (an HSM, 密码机; SoftHSM2 in
//! tests), named by a [`Pkcs11Uri`]. The private key never leaves the token:
//! a key that is not `CKA_SENSITIVE` or is `CKA_EXTRACTABLE` is refused at
//! start, and signing sends only a SHA-256 digest in (`CKM_ECDSA`) and takes a
//! raw `r ‖ s` out, normalised to low `s`.
//!
//! Each module is loaded and initialised once per process; a signer keeps a
//! pool of logged-in sessions (a PKCS#11 session is used by one thread at a
//! time), so concurrent signing opens no more sessions than it needs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{anyhow, Context as _};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};
use wallet_core::signer::{normalize_signature, IssuerSigner, SignerError};

use crate::pkcs11_uri::{Pkcs11Uri, PIN_ENV};

/// DER of the P-256 curve OID (1.2.840.10045.3.1.7), as `CKA_EC_PARAMS` holds it.
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Idle sessions kept per signer; more are opened under load and closed after.
const MAX_IDLE_SESSIONS: usize = 8;

/// A P-256 private key in a PKCS#11 token.
pub struct Pkcs11Signer {
    slot: Slot,
    module: Pkcs11,
    key_template: Vec<Attribute>,
    pin: AuthPin,
    public_key: p256::PublicKey,
    idle: Mutex<Vec<(Session, ObjectHandle)>>,
    label: String,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer").field("key", &self.label).finish_non_exhaustive()
    }
}

/// The module at `path`, loaded and `C_Initialize`d once for the process
/// (a second `C_Initialize` of the same library would fail, and finalising it
/// would end every other user's sessions).
///
/// # Errors
/// The file is missing or is not a PKCS#11 module that initialises.
pub fn module(path: &Path) -> anyhow::Result<Pkcs11> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let modules = MODULES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut modules = modules.lock().map_err(|_| anyhow!("PKCS#11 module table poisoned"))?;
    if !path.exists() {
        return Err(anyhow!("PKCS#11 module {} does not exist", path.display()));
    }
    // One library file, one entry, however it is named (symlinks, `module-name`).
    let path = &path.canonicalize().with_context(|| format!("resolving PKCS#11 module {}", path.display()))?;
    if let Some(m) = modules.get(path) {
        return Ok(m.clone());
    }
    let m = Pkcs11::new(path).with_context(|| format!("loading PKCS#11 module {}", path.display()))?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(anyhow!("initialising PKCS#11 module {}: {e}", path.display())),
    }
    modules.insert(path.to_owned(), m.clone());
    Ok(m)
}

/// The PIN: `pin-source=file:` (first line of the file), else [`PIN_ENV`].
fn read_pin(uri: &Pkcs11Uri) -> anyhow::Result<AuthPin> {
    let pin = match &uri.pin_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading the PIN file {}", path.display()))?;
            text.lines().next().unwrap_or_default().to_owned()
        }
        None => std::env::var(PIN_ENV).map_err(|_| {
            anyhow!("no PIN for the PKCS#11 token: add `pin-source=file:<path>` to the URI or set {PIN_ENV}")
        })?,
    };
    Ok(AuthPin::from(pin))
}

/// Whether `wanted` (a URI attribute, if given) is `actual` (a blank-padded
/// PKCS#11 string).
fn matches(wanted: Option<&str>, actual: &str) -> bool {
    wanted.is_none_or(|w| w == actual.trim_end())
}

/// The one slot whose token (and slot) matches every attribute `uri` gives.
fn find_slot(module: &Pkcs11, uri: &Pkcs11Uri) -> anyhow::Result<Slot> {
    let mut found = Vec::new();
    for slot in module.get_slots_with_token().context("listing PKCS#11 slots")? {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        if uri.slot_description.is_some() || uri.slot_manufacturer.is_some() {
            let info = module.get_slot_info(slot).context("reading PKCS#11 slot info")?;
            if !matches(uri.slot_description.as_deref(), info.slot_description())
                || !matches(uri.slot_manufacturer.as_deref(), info.manufacturer_id())
            {
                continue;
            }
        }
        let info = module.get_token_info(slot).context("reading PKCS#11 token info")?;
        if !matches(uri.token.as_deref(), info.label())
            || !matches(uri.serial.as_deref(), info.serial_number())
            || !matches(uri.manufacturer.as_deref(), info.manufacturer_id())
            || !matches(uri.model.as_deref(), info.model())
        {
            continue;
        }
        found.push(slot);
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(anyhow!("no PKCS#11 token matches {}", uri.describe())),
        more => {
            Err(anyhow!("{} PKCS#11 tokens match {}: name one (token, serial or slot-id)", more.len(), uri.describe()))
        }
    }
}

/// Log `session` in as the user; already logged in (by another session of
/// this process) is fine.
fn login(session: &Session, pin: &AuthPin) -> Result<(), CkError> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn login_error(e: CkError, uri: &Pkcs11Uri) -> anyhow::Error {
    match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => {
            anyhow!("PKCS#11 login to {} refused: wrong PIN (CKR_PIN_INCORRECT)", uri.describe())
        }
        CkError::Pkcs11(RvError::PinLocked, _) => {
            anyhow!("PKCS#11 token of {} has its user PIN locked", uri.describe())
        }
        other => anyhow!("PKCS#11 login to {} failed: {other}", uri.describe()),
    }
}

/// The key template: class and key type, `object` as label, `id`.
fn template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut t = vec![Attribute::Class(class), Attribute::KeyType(KeyType::EC)];
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    t
}

fn find_one(session: &Session, template: &[Attribute], what: &str, uri: &Pkcs11Uri) -> anyhow::Result<ObjectHandle> {
    let found = session.find_objects(template).with_context(|| format!("searching the token for {what}"))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(anyhow!("no {what} {} in the PKCS#11 token", uri.describe())),
        more => Err(anyhow!("{} objects match {what} {}: give `id` too", more.len(), uri.describe())),
    }
}

/// The P-256 public key of the pair: `CKA_EC_POINT` of the public key object
/// (DER OCTET STRING around the SEC1 point, or the bare point).
fn public_key(session: &Session, uri: &Pkcs11Uri) -> anyhow::Result<p256::PublicKey> {
    let handle = find_one(session, &template(uri, ObjectClass::PUBLIC_KEY), "public key", uri)?;
    let attrs = session
        .get_attributes(handle, &[AttributeType::EcParams, AttributeType::EcPoint])
        .context("reading the public key")?;
    let mut point = None;
    for attr in attrs {
        match attr {
            Attribute::EcParams(p) if p != P256_EC_PARAMS => {
                return Err(anyhow!("the key {} is not on P-256", uri.describe()))
            }
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let point = point.ok_or_else(|| anyhow!("the public key {} has no CKA_EC_POINT", uri.describe()))?;
    let sec1 = match point.as_slice() {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        bare => bare,
    };
    p256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| anyhow!("the public key {} is not a P-256 point", uri.describe()))
}

/// Refuse a private key that could leave the token.
fn check_private_key_stays(session: &Session, key: ObjectHandle, uri: &Pkcs11Uri) -> anyhow::Result<()> {
    let attrs = session
        .get_attributes(key, &[AttributeType::Sensitive, AttributeType::Extractable, AttributeType::Sign])
        .context("reading the private key's attributes")?;
    let (mut sensitive, mut extractable, mut sign) = (false, true, false);
    for attr in attrs {
        match attr {
            Attribute::Sensitive(v) => sensitive = v,
            Attribute::Extractable(v) => extractable = v,
            Attribute::Sign(v) => sign = v,
            _ => {}
        }
    }
    if !sensitive || extractable {
        return Err(anyhow!(
            "the private key {} could leave the token (CKA_SENSITIVE must be true, CKA_EXTRACTABLE false): \
             refusing to sign with it",
            uri.describe()
        ));
    }
    if !sign {
        return Err(anyhow!("the private key {} may not sign (CKA_SIGN is false)", uri.describe()));
    }
    Ok(())
}

impl Pkcs11Signer {
    /// Open the key `uri` names: load the module, find the token, log in,
    /// find the key pair, check the private key cannot leave the token, and
    /// sign once to prove the pair matches.
    ///
    /// # Errors
    /// A message naming what is wrong: the module, token, PIN, key or its attributes.
    pub fn open(uri: &Pkcs11Uri) -> anyhow::Result<Self> {
        let module = module(&uri.module_path()?)?;
        let pin = read_pin(uri)?;
        let slot = find_slot(&module, uri)?;
        let session = module.open_ro_session(slot).context("opening a PKCS#11 session")?;
        login(&session, &pin).map_err(|e| login_error(e, uri))?;
        let key_template = template(uri, ObjectClass::PRIVATE_KEY);
        let key = find_one(&session, &key_template, "private key", uri)?;
        check_private_key_stays(&session, key, uri)?;
        let public_key = public_key(&session, uri)?;
        let signer = Self {
            slot,
            module,
            key_template,
            pin,
            public_key,
            idle: Mutex::new(vec![(session, key)]),
            label: uri.describe(),
        };
        let probe = signer.sign_es256(b"ecert issuer key check").map_err(|e| anyhow!("{e}"))?;
        let signature = p256::ecdsa::Signature::from_slice(&probe).map_err(|e| anyhow!("{e}"))?;
        p256::ecdsa::VerifyingKey::from(&public_key)
            .verify(b"ecert issuer key check", &signature)
            .map_err(|_| anyhow!("the private and public keys {} do not match", uri.describe()))?;
        Ok(signer)
    }

    /// What the key's URI names (no PIN, no module path), for messages.
    pub fn describe(&self) -> &str {
        &self.label
    }

    /// An idle session (or a new, logged-in one) and the key's handle in it.
    fn session(&self) -> Result<(Session, ObjectHandle), SignerError> {
        let idle = self.idle.lock().map_err(|_| SignerError("session pool poisoned".into()))?.pop();
        if let Some(pooled) = idle {
            return Ok(pooled);
        }
        let fail = |e: CkError| SignerError(format!("PKCS#11 {}: {e}", self.label));
        let session = self.module.open_ro_session(self.slot).map_err(fail)?;
        login(&session, &self.pin).map_err(fail)?;
        let found = session.find_objects(&self.key_template).map_err(fail)?;
        let [key] = found.as_slice() else {
            return Err(SignerError(format!("PKCS#11 {}: the key is gone from the token", self.label)));
        };
        Ok((session, *key))
    }

    fn give_back(&self, pooled: (Session, ObjectHandle)) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_SESSIONS {
                idle.push(pooled);
            }
        }
    }
}

impl IssuerSigner for Pkcs11Signer {
    fn public_key(&self) -> p256::PublicKey {
        self.public_key
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let digest = Sha256::digest(message);
        let (session, key) = self.session()?;
        let signed = match session.sign(&Mechanism::Ecdsa, key, &digest) {
            // The token logged everyone out (it was reset): log in again once.
            Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => {
                login(&session, &self.pin).and_then(|()| session.sign(&Mechanism::Ecdsa, key, &digest))
            }
            other => other,
        };
        // A session that failed is dropped (closed), not pooled.
        let raw = signed.map_err(|e| SignerError(format!("PKCS#11 signing with {}: {e}", self.label)))?;
        self.give_back((session, key));
        normalize_signature(&raw)
    }
}

/// Generate a P-256 key pair in the token `uri` names, labelled `object` with
/// `id`: the private key `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, signing only.
/// Refuses when a key with that label already exists.
///
/// # Errors
/// Module, token, PIN or generation failures.
pub fn generate_in_token(uri: &Pkcs11Uri) -> anyhow::Result<p256::PublicKey> {
    let module = module(&uri.module_path()?)?;
    let pin = read_pin(uri)?;
    let slot = find_slot(&module, uri)?;
    let session = module.open_rw_session(slot).context("opening a PKCS#11 session")?;
    login(&session, &pin).map_err(|e| login_error(e, uri))?;
    let label = uri.object.clone().ok_or_else(|| anyhow!("the URI needs `object` (the new key's label)"))?;
    let existing = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(label.as_bytes().to_vec())])
        .context("searching the token")?;
    if !existing.is_empty() {
        return Err(anyhow!("the token already has a key labelled {label}"));
    }
    let id = uri.id.clone().unwrap_or_else(|| Sha256::digest(label.as_bytes()).get(..8).unwrap_or_default().to_vec());
    let common = |private: bool| {
        vec![
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::Private(private),
        ]
    };
    let mut public = common(false);
    public.extend([Attribute::EcParams(P256_EC_PARAMS.to_vec()), Attribute::Verify(true)]);
    let mut private = common(true);
    private.extend([Attribute::Sensitive(true), Attribute::Extractable(false), Attribute::Sign(true)]);
    session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private).context("generating the key pair")?;
    let by_label = Pkcs11Uri { id: Some(id), ..uri.clone() };
    public_key(&session, &by_label)
}

/// Whether the token `uri` names holds a private key matching it (`object`
/// and/or `id`): so that a command can use a key made earlier (e.g. by
/// `ecert-pki token-key`) instead of generating one.
///
/// # Errors
/// Module, token or PIN failures.
pub fn token_has_key(uri: &Pkcs11Uri) -> anyhow::Result<bool> {
    let module = module(&uri.module_path()?)?;
    let pin = read_pin(uri)?;
    let slot = find_slot(&module, uri)?;
    let session = module.open_ro_session(slot).context("opening a PKCS#11 session")?;
    login(&session, &pin).map_err(|e| login_error(e, uri))?;
    let found = session.find_objects(&template(uri, ObjectClass::PRIVATE_KEY)).context("searching the token")?;
    Ok(!found.is_empty())
}
