//! The citizen's wallet: credentials (with their inclusion proofs) in a file
//! encrypted at rest with a key the platform supplies, a device key for
//! holder-bound presentations, import from a QR code, a file or an OpenID4VCI
//! offer, listing and rendering in zh/en.
//!
//! A credential issued with an `ecdsa-sd-2023` **base proof** is kept as it
//! came (the base proof is the holder's secret material) and never leaves the
//! wallet: whatever the wallet shows (QR, presentation, export) is a credential
//! derived on demand, with the type's mandatory fields only unless the holder
//! picks more ([`Wallet::disclose`]).
//!
//! Everything is synchronous and free of HTTP and database code: the phone app
//! supplies the store key ([`KeyProvider`]) and, for OpenID4VCI, the HTTP
//! transport ([`oid4vci_client::HttpTransport`]).

mod error;
pub mod oid4vci_client;
mod store;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential_type::TypeRegistry;
use crate::holder::{bound_key, DeviceKey};
use crate::presentation::{present_with, Freshness};
use crate::ui_text::{date_of, kind_name, subject_rows, Lang};
use crate::verification::{verify_credential, VerifyOptions};

pub use self::error::WalletError;
pub use self::store::{KeyProvider, StoreKey};

/// One credential as kept in the wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCredential {
    /// The credential's `id` (or a generated one when it has none).
    pub id: String,
    /// The signed credential, exactly as issued (with an `ecdsa-sd-2023` base
    /// proof: the base credential, from which shown credentials are derived).
    pub credential: Value,
    /// Its inclusion proof in the issuer's log (an `InclusionBundle` as JSON), when the wallet has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<Value>,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// How it came: `qr`, `file`, `oid4vci`.
    pub source: String,
}

/// What the list screen shows for a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    /// The credential id.
    pub id: String,
    /// The type's name in the asked language.
    pub title: String,
    /// Holder (or licensee) name as written in the credential.
    pub name: Option<String>,
    /// The name in pinyin, for health certificates.
    pub name_pinyin: Option<String>,
    /// `YYYY-MM-DD` end of validity.
    pub valid_until: String,
    /// Bound to this wallet's device key (can be shown as a presentation QR).
    pub holder_bound: bool,
    /// Carries an inclusion proof.
    pub has_inclusion_proof: bool,
}

/// A credential rendered for the detail screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedCredential {
    /// The type's name.
    pub title: String,
    /// `(label, value)` in the asked language, in ID-card order.
    pub rows: Vec<(String, String)>,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    /// `YYYY-MM-DD`.
    pub valid_until: String,
    /// The plain credential QR text (`EC1:`; of the mandatory-only derived
    /// credential for a base-proof one).
    pub qr_text: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Contents {
    version: u32,
    /// The device key's 32-byte secret, hex.
    device_key: String,
    credentials: Vec<StoredCredential>,
}

/// The wallet: its file, the platform's key provider, and the decrypted contents in memory.
pub struct Wallet<K: KeyProvider> {
    path: PathBuf,
    keys: K,
    device: DeviceKey,
    credentials: Vec<StoredCredential>,
    types: TypeRegistry,
}

impl<K: KeyProvider> std::fmt::Debug for Wallet<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet").field("path", &self.path).field("credentials", &self.credentials.len()).finish()
    }
}

impl<K: KeyProvider> Wallet<K> {
    /// Open the wallet file at `path`, or create it (with a new device key) when missing.
    ///
    /// # Errors
    /// [`WalletError::WrongKeyOrTampered`] when the key does not open it, and the other I/O and format errors.
    pub fn open(path: impl AsRef<Path>, keys: K) -> Result<Self, WalletError> {
        let path = path.as_ref().to_path_buf();
        let key = keys.store_key().map_err(WalletError::KeyUnavailable)?;
        match std::fs::read(&path) {
            Ok(file) => {
                let plain = store::open(&key, &file)?;
                let contents: Contents =
                    serde_json::from_slice(&plain).map_err(|e| WalletError::Corrupt(e.to_string()))?;
                if contents.version != 1 {
                    return Err(WalletError::Corrupt(format!("unknown contents version {}", contents.version)));
                }
                let secret = hex::decode(&contents.device_key).map_err(|e| WalletError::Corrupt(e.to_string()))?;
                let device = DeviceKey::from_bytes(&secret).map_err(|e| WalletError::Corrupt(e.to_string()))?;
                Ok(Self { path, keys, device, credentials: contents.credentials, types: TypeRegistry::default() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let wallet = Self {
                    path,
                    keys,
                    device: DeviceKey::generate(),
                    credentials: Vec::new(),
                    types: TypeRegistry::default(),
                };
                wallet.save()?;
                Ok(wallet)
            }
            Err(e) => Err(WalletError::Io(e.to_string())),
        }
    }

    fn save(&self) -> Result<(), WalletError> {
        let key = self.keys.store_key().map_err(WalletError::KeyUnavailable)?;
        let contents = Contents {
            version: 1,
            device_key: hex::encode(self.device.to_bytes()),
            credentials: self.credentials.clone(),
        };
        let plain = serde_json::to_vec(&contents).map_err(|e| WalletError::Corrupt(e.to_string()))?;
        store::write_atomically(&self.path, &store::seal(&key, &plain)?)
    }

    /// The same wallet, reading, checking and showing credentials of `types`
    /// (the shipped types unless set).
    pub fn with_types(mut self, types: TypeRegistry) -> Self {
        self.types = types;
        self
    }

    /// The wallet's device key (its public JWK goes to issuers; it signs presentations).
    pub fn device_key(&self) -> &DeviceKey {
        &self.device
    }

    /// Import a credential from the text of its QR code (`EC1:…`).
    ///
    /// # Errors
    /// [`WalletError::NotACredential`], [`WalletError::BadSignature`], I/O.
    pub fn import_qr(&mut self, qr_text: &str) -> Result<String, WalletError> {
        let vc = crate::compact::decode_credential_with(&self.types, qr_text.trim())
            .map_err(|e| WalletError::NotACredential(e.to_string()))?;
        self.import_credential(vc, None, "qr")
    }

    /// Import from a file: a signed credential as JSON, or
    /// `{"credential": …, "inclusion": …}` (the credential with its inclusion bundle).
    ///
    /// # Errors
    /// As [`Wallet::import_qr`].
    pub fn import_file(&mut self, bytes: &[u8]) -> Result<String, WalletError> {
        let json = crate::canonical::parse_document(bytes).map_err(|e| match e {
            e if e.is_limit() => WalletError::TooComplex(e),
            e => WalletError::NotACredential(e.to_string()),
        })?;
        match json.get("credential") {
            Some(vc) if json.get("proof").is_none() => {
                let inclusion = json.get("inclusion").filter(|i| !i.is_null()).cloned();
                self.import_credential(vc.clone(), inclusion, "file")
            }
            _ => self.import_credential(json, None, "file"),
        }
    }

    /// Import a signed credential: it must be a well-formed credential whose
    /// signature verifies (checked offline; trust, status and anchoring are the
    /// inspector's business). Importing the same credential again changes
    /// nothing (but adds an inclusion proof the held one lacks); a *different*
    /// credential with a held id is refused ([`WalletError::IdTaken`]): the
    /// id is public (every QR shows it), so anyone could sign a credential
    /// under it, and a derived copy would otherwise replace its base
    /// credential, whose selective disclosure cannot be had again.
    ///
    /// # Errors
    /// As [`Wallet::import_qr`].
    pub fn import_credential(
        &mut self,
        vc: Value,
        inclusion: Option<Value>,
        source: &str,
    ) -> Result<String, WalletError> {
        if let Some(bundle) = &inclusion {
            crate::transparency::InclusionBundle::from_json(&bundle.to_string())
                .map_err(|e| WalletError::NotACredential(format!("inclusion proof: {e}")))?;
        }
        // Refused before any JSON-LD or proof work that could run away.
        match pollster::block_on(crate::canonical::check_document_with(&self.types.loader(), &vc)) {
            Err(e) if e.is_limit() => return Err(WalletError::TooComplex(e)),
            _ => {}
        }
        // A base proof is checked through what the wallet will show: the
        // credential derived with the mandatory fields (base signature,
        // proof-scoped key, mandatory statements).
        let shown = self.shown(&vc, &[])?;
        let options = VerifyOptions::default().with_types(self.types.clone());
        let report = pollster::block_on(verify_credential(&shown, &options))
            .map_err(|e| WalletError::NotACredential(e.to_string()))?;
        if !report.checks.signature.is_valid() {
            return Err(WalletError::BadSignature);
        }
        crate::compact::encode_credential_with(&self.types, &shown)
            .map_err(|e| WalletError::NotACredential(e.to_string()))?;
        let id = report.credential_id.unwrap_or_else(|| crate::credential::CredentialId::generate().to_string());
        let stored = StoredCredential {
            id: id.clone(),
            credential: vc,
            inclusion,
            imported_at: Utc::now(),
            source: source.to_owned(),
        };
        match self.credentials.iter_mut().find(|c| c.id == id) {
            Some(existing) if existing.credential == stored.credential => {
                if existing.inclusion.is_some() || stored.inclusion.is_none() {
                    return Ok(id);
                }
                existing.inclusion = stored.inclusion;
            }
            Some(_) => return Err(WalletError::IdTaken),
            None => self.credentials.push(stored),
        }
        self.save()?;
        Ok(id)
    }

    /// Receive a credential through an OpenID4VCI offer (pre-authorized code,
    /// `tx_code` = the PIN the clinic gave out of band), bound to this wallet's device key.
    ///
    /// # Errors
    /// [`WalletError::Oid4vci`] with the issuer's OAuth error code, and the import errors.
    pub fn import_offer<T: oid4vci_client::HttpTransport>(
        &mut self,
        transport: &T,
        offer_uri: &str,
        tx_code: Option<&str>,
    ) -> Result<String, WalletError> {
        let vc = oid4vci_client::Oid4vciClient::new(transport).receive(offer_uri, tx_code, &self.device)?;
        if bound_key(&vc).and_then(Result::ok) != Some(self.device.public_key()) {
            return Err(WalletError::NotACredential("the issuer did not bind the credential to this device".into()));
        }
        self.import_credential(vc, None, "oid4vci")
    }

    /// Keep an inclusion proof (fetched later from the issuer) with a credential.
    ///
    /// # Errors
    /// [`WalletError::NotFound`], a proof that cannot be read, I/O.
    pub fn attach_inclusion(&mut self, id: &str, bundle: Value) -> Result<(), WalletError> {
        crate::transparency::InclusionBundle::from_json(&bundle.to_string())
            .map_err(|e| WalletError::NotACredential(format!("inclusion proof: {e}")))?;
        let stored = self.credentials.iter_mut().find(|c| c.id == id).ok_or(WalletError::NotFound)?;
        stored.inclusion = Some(bundle);
        self.save()
    }

    /// The list screen: one summary per credential, in import order.
    pub fn list(&self, lang: Lang) -> Vec<CredentialSummary> {
        self.credentials
            .iter()
            .map(|c| {
                let subject = c.credential.get("credentialSubject").unwrap_or(&Value::Null);
                let text = |k: &str| subject.get(k).and_then(Value::as_str).map(str::to_owned);
                CredentialSummary {
                    id: c.id.clone(),
                    title: kind_name(&self.types, &c.credential, lang),
                    name: text("fullName").or_else(|| text("licensee")),
                    name_pinyin: text("fullNamePinyin"),
                    valid_until: date_of(&c.credential, "validUntil"),
                    holder_bound: bound_key(&c.credential).and_then(Result::ok) == Some(self.device.public_key()),
                    has_inclusion_proof: c.inclusion.is_some(),
                }
            })
            .collect()
    }

    /// What the wallet shows of `vc`: `vc` itself, or for a credential with an
    /// `ecdsa-sd-2023` base proof the credential derived from it with the
    /// mandatory fields and those `selective` points at.
    fn shown(&self, vc: &Value, selective: &[String]) -> Result<Value, WalletError> {
        Ok(pollster::block_on(crate::selective_disclosure::shown_with(&self.types, vc, selective))?)
    }

    /// Whether a credential was issued for selective disclosure (it is kept with
    /// an `ecdsa-sd-2023` base proof; [`Wallet::disclose`] applies).
    ///
    /// # Errors
    /// [`WalletError::NotFound`].
    pub fn is_selectively_disclosable(&self, id: &str) -> Result<bool, WalletError> {
        let c = self.get(id).ok_or(WalletError::NotFound)?;
        Ok(crate::selective_disclosure::has_base_proof(&c.credential))
    }

    /// A credential derived from a base-proof credential, showing its
    /// mandatory fields and those `selective` (RFC 6901 pointers, e.g.
    /// `/credentialSubject/birthDate`) points at, and its QR text. The derived
    /// proof is verified before it is handed out.
    ///
    /// # Errors
    /// [`WalletError::NotFound`]; [`WalletError::Derive`] for a credential
    /// without a base proof (`not_sd_base_proof`) or a pointer to nothing;
    /// [`WalletError::BadSignature`] when the derived proof does not verify.
    pub fn disclose(&self, id: &str, selective: &[String]) -> Result<(Value, String), WalletError> {
        let c = self.get(id).ok_or(WalletError::NotFound)?;
        let derived =
            pollster::block_on(crate::selective_disclosure::derive_with(&self.types, &c.credential, selective))?;
        let options = VerifyOptions::default().with_types(self.types.clone());
        let report = pollster::block_on(verify_credential(&derived, &options))
            .map_err(|e| WalletError::NotACredential(e.to_string()))?;
        if !report.checks.signature.is_valid() {
            return Err(WalletError::BadSignature);
        }
        let qr = crate::compact::encode_credential_with(&self.types, &derived)
            .map_err(|e| WalletError::NotACredential(e.to_string()))?;
        Ok((derived, qr))
    }

    /// One credential.
    pub fn get(&self, id: &str) -> Option<&StoredCredential> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// The detail screen of a credential in `lang` (labels from the shared catalogue).
    ///
    /// # Errors
    /// [`WalletError::NotFound`]; a credential the QR form cannot carry.
    pub fn render(&self, id: &str, lang: Lang) -> Result<RenderedCredential, WalletError> {
        let c = self.get(id).ok_or(WalletError::NotFound)?;
        let shown = self.shown(&c.credential, &[])?;
        Ok(RenderedCredential {
            title: kind_name(&self.types, &c.credential, lang),
            rows: subject_rows(&self.types, &c.credential, lang, crate::ui_text::Shown::OnCard),
            valid_from: date_of(&c.credential, "validFrom"),
            valid_until: date_of(&c.credential, "validUntil"),
            qr_text: crate::compact::encode_credential_with(&self.types, &shown)
                .map_err(|e| WalletError::NotACredential(e.to_string()))?,
        })
    }

    /// The holder-bound presentation QR text of a credential (see [`crate::presentation`]).
    ///
    /// # Errors
    /// [`WalletError::NotFound`]; the credential is not bound to this wallet's device key.
    pub fn present(&self, id: &str, freshness: &Freshness) -> Result<String, WalletError> {
        let c = self.get(id).ok_or(WalletError::NotFound)?;
        let shown = self.shown(&c.credential, &[])?;
        Ok(present_with(&self.types, &shown, &self.device, freshness)?)
    }

    /// The credential (derived, mandatory fields only, for a base-proof one)
    /// with its inclusion proof, as the file [`Wallet::import_file`]
    /// reads and an inspector's [`crate::verifier_bundle::OpenedBundle::verify_qr_text`]
    /// checks offline (anchoring included): `{"credential": …, "inclusion": …}`
    /// (`inclusion` is `null` when the wallet has none).
    ///
    /// # Errors
    /// [`WalletError::NotFound`].
    pub fn export(&self, id: &str) -> Result<String, WalletError> {
        let c = self.get(id).ok_or(WalletError::NotFound)?;
        let export = serde_json::json!({"credential": self.shown(&c.credential, &[])?, "inclusion": c.inclusion});
        Ok(export.to_string())
    }

    /// Delete a credential (and its inclusion proof); false when it was not there.
    ///
    /// # Errors
    /// I/O when the file cannot be rewritten.
    pub fn delete(&mut self, id: &str) -> Result<bool, WalletError> {
        let before = self.credentials.len();
        self.credentials.retain(|c| c.id != id);
        if self.credentials.len() == before {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }
}
