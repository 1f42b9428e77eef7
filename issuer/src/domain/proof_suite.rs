//! Which Data Integrity cryptosuite an issuance is signed with, and how it is
//! chosen (#17 item 3).
//!
//! * **VC-API** (`POST /credentials/issue`): the request's `options`, as the W3C
//!   test suites' implementation files send them (e.g. SpruceID's
//!   `{"type": "DataIntegrityProof", "cryptosuite": "ecdsa-sd-2023"}`):
//!   `cryptosuite` is `ecdsa-rdfc-2019` (the default), `ecdsa-sd-2023` or
//!   `ecdsa-jcs-2019`, and `mandatoryPointers` (VC-API `IssueCredentialOptions`)
//!   adds mandatory pointers to an `ecdsa-sd-2023` base proof. A credential
//!   whose `issuer` is the VC-API P-384 key's DID (`--vc-api-p384`,
//!   [`crate::vc_api_p384_key`]) is signed with that key
//!   ([`ProofSuite::with_vc_api_key`]): `ecdsa-rdfc-2019` or `ecdsa-jcs-2019`;
//!   `ecdsa-sd-2023` with P-384 is refused (our `ecdsa-sd-2023` is P-256 only,
//!   as is the W3C suite's test of it).
//! * **Domain API** (`POST /api/v1/<type>`): per request, `?cryptosuite=ecdsa-sd-2023`,
//!   and only for a type whose definition declares `mandatoryPointers` (what an
//!   inspector always sees is the department's decision, not the caller's). Per
//!   request, not per type: a base proof must never be shown to a verifier, so
//!   only a holder whose wallet can derive (the caller knows its channel: app
//!   wallet, not paper or a bare QR) may receive one; every other holder keeps
//!   getting the `ecdsa-rdfc-2019` credential it can show as it is.
//!
//! Every base proof's mandatory pointers are
//! [`wallet_core::selective_disclosure::mandatory_pointers_for`] (the members
//! the verifier's checks rest on, then the type's own), then the request's; a
//! pointer to nothing is refused before anything is signed.

use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use wallet_core::credential_type::{Definition, TypeRegistry};
use wallet_core::ecdsa_jcs_2019::{self, SigningKey};
use wallet_core::issuance::{sign_credential_with, IssueError};
use wallet_core::localized::Localized;
use wallet_core::p384_key::P384IssuerKey;
use wallet_core::selective_disclosure;
use wallet_core::signer::IssuerSigner;
use wallet_core::sm2_rdfc_2026;

use crate::domain::issuance_error::IssuanceError;

/// The default suite's name.
pub const ECDSA_RDFC_2019: &str = "ecdsa-rdfc-2019";

/// At most this many mandatory pointers in a request, each at most
/// [`MAX_POINTER_LEN`] bytes (the work of grouping grows with both).
pub const MAX_REQUESTED_POINTERS: usize = 64;
/// See [`MAX_REQUESTED_POINTERS`].
pub const MAX_POINTER_LEN: usize = 256;

/// How one issuance is signed.
#[derive(Debug, Clone, Default)]
pub enum ProofSuite {
    /// No suite named: the issuer key's RDF suite, `ecdsa-rdfc-2019` for a
    /// P-256 key, `sm2-rdfc-2026` for an SM2 one (`--key-algorithm sm2`). The
    /// credential as signed is what the holder shows.
    #[default]
    IssuerKeyRdfc,
    /// `ecdsa-rdfc-2019` named by the request: a P-256 issuer key only.
    EcdsaRdfc2019,
    /// `sm2-rdfc-2026` named by the request: an SM2 issuer key only.
    Sm2Rdfc2026,
    /// `ecdsa-sd-2023` base proof: the holder derives what it shows.
    EcdsaSd2023 {
        /// Mandatory pointers the request adds to the type's.
        requested: Vec<String>,
    },
    /// `ecdsa-jcs-2019` with the issuer's P-256 key.
    EcdsaJcs2019,
    /// The VC-API P-384 key: `ecdsa-jcs-2019` when `jcs`, else `ecdsa-rdfc-2019`.
    P384 {
        /// The key.
        key: Arc<P384IssuerKey>,
        /// `ecdsa-jcs-2019` rather than `ecdsa-rdfc-2019`.
        jcs: bool,
    },
}

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> IssuanceError {
    IssuanceError::ProofOptions { code, why: Localized::new(zh.into(), en.into()) }
}

fn unsupported(name: &str) -> IssuanceError {
    refuse(
        "unsupported_cryptosuite",
        format!("不支持的签名套件 {name:?}：可选 ecdsa-rdfc-2019（默认）或 ecdsa-sd-2023"),
        format!("unsupported cryptosuite {name:?}: ecdsa-rdfc-2019 (the default) or ecdsa-sd-2023"),
    )
}

fn requested_pointers(value: Option<&Value>) -> Result<Vec<String>, IssuanceError> {
    let bad = || {
        refuse(
            "bad_mandatory_pointers",
            format!("mandatoryPointers 应为最多 {MAX_REQUESTED_POINTERS} 个 JSON 指针（RFC 6901，每个不超过 {MAX_POINTER_LEN} 字节）"),
            format!(
                "mandatoryPointers must be at most {MAX_REQUESTED_POINTERS} JSON pointers (RFC 6901, each at most {MAX_POINTER_LEN} bytes)"
            ),
        )
    };
    let Some(value) = value else { return Ok(Vec::new()) };
    let list = value.as_array().filter(|l| l.len() <= MAX_REQUESTED_POINTERS).ok_or_else(bad)?;
    list.iter()
        .map(|p| {
            p.as_str().filter(|p| p.len() <= MAX_POINTER_LEN && p.starts_with('/')).map(str::to_owned).ok_or_else(bad)
        })
        .collect()
}

impl ProofSuite {
    /// The suite VC-API `options` ask for.
    ///
    /// # Errors
    /// [`IssuanceError::ProofOptions`]: another proof type or cryptosuite,
    /// mandatory pointers for a suite without them, or a malformed pointer list.
    pub fn from_vc_api_options(options: Option<&Value>) -> Result<Self, IssuanceError> {
        let Some(options) = options.filter(|o| !o.is_null()) else { return Ok(Self::default()) };
        let options = options
            .as_object()
            .ok_or_else(|| refuse("bad_options", "options 应为 JSON 对象", "options must be a JSON object"))?;
        if let Some(t) = options.get("type") {
            if t.as_str() != Some("DataIntegrityProof") {
                return Err(refuse(
                    "unsupported_proof_type",
                    "只签发 DataIntegrityProof 类型的签名",
                    "only DataIntegrityProof proofs are issued",
                ));
            }
        }
        let pointers = options.get("mandatoryPointers");
        match options.get("cryptosuite").map(|c| c.as_str().ok_or_else(|| unsupported(&c.to_string()))) {
            None if pointers.is_none() => Ok(Self::IssuerKeyRdfc),
            Some(Ok(ECDSA_RDFC_2019)) if pointers.is_none() => Ok(Self::EcdsaRdfc2019),
            Some(Ok(sm2_rdfc_2026::CRYPTOSUITE)) if pointers.is_none() => Ok(Self::Sm2Rdfc2026),
            None | Some(Ok(ECDSA_RDFC_2019 | sm2_rdfc_2026::CRYPTOSUITE)) => Err(refuse(
                "bad_mandatory_pointers",
                "mandatoryPointers 只用于 ecdsa-sd-2023",
                "mandatoryPointers apply to ecdsa-sd-2023 only",
            )),
            Some(Ok(selective_disclosure::CRYPTOSUITE)) => {
                Ok(Self::EcdsaSd2023 { requested: requested_pointers(pointers)? })
            }
            Some(Ok(ecdsa_jcs_2019::CRYPTOSUITE)) if pointers.is_none() => Ok(Self::EcdsaJcs2019),
            Some(Ok(ecdsa_jcs_2019::CRYPTOSUITE)) => Err(refuse(
                "bad_mandatory_pointers",
                "mandatoryPointers 只用于 ecdsa-sd-2023",
                "mandatoryPointers apply to ecdsa-sd-2023 only",
            )),
            Some(Ok(other)) => Err(unsupported(other)),
            Some(Err(e)) => Err(e),
        }
    }

    /// This suite with the VC-API P-384 key when `credential`'s `issuer` is
    /// that key's DID (`p384`: the key when `--vc-api-p384` is on).
    ///
    /// # Errors
    /// [`IssuanceError::ProofOptions`] for `ecdsa-sd-2023` with the P-384 key.
    pub fn with_vc_api_key(self, credential: &Value, p384: Option<&Arc<P384IssuerKey>>) -> Result<Self, IssuanceError> {
        let Some(key) = p384 else { return Ok(self) };
        let issuer = credential.get("issuer");
        let named = issuer.and_then(|i| i.as_str().or_else(|| i.get("id").and_then(Value::as_str)));
        if named != Some(key.did().as_str()) {
            return Ok(self);
        }
        match self {
            Self::IssuerKeyRdfc | Self::EcdsaRdfc2019 => Ok(Self::P384 { key: Arc::clone(key), jcs: false }),
            Self::EcdsaJcs2019 => Ok(Self::P384 { key: Arc::clone(key), jcs: true }),
            Self::EcdsaSd2023 { .. } | Self::Sm2Rdfc2026 | Self::P384 { .. } => Err(refuse(
                "unsupported_key_type",
                "P-384 密钥只签发 ecdsa-rdfc-2019 与 ecdsa-jcs-2019",
                "the P-384 key signs ecdsa-rdfc-2019 and ecdsa-jcs-2019 only",
            )),
        }
    }

    /// The DID that signs with this suite when it is not the issuer's own key.
    pub fn signer_did(&self) -> Option<String> {
        match self {
            Self::P384 { key, .. } => Some(key.did()),
            _ => None,
        }
    }

    /// The suite a domain-API request asks for (`?cryptosuite=`), for `def`.
    ///
    /// # Errors
    /// [`IssuanceError::ProofOptions`]: an unknown suite, or `ecdsa-sd-2023` for
    /// a type whose definition declares no mandatory pointers.
    pub fn for_domain_request(def: &Definition, requested: Option<&str>) -> Result<Self, IssuanceError> {
        match requested {
            None => Ok(Self::IssuerKeyRdfc),
            Some(ECDSA_RDFC_2019) => Ok(Self::EcdsaRdfc2019),
            Some(sm2_rdfc_2026::CRYPTOSUITE) => Ok(Self::Sm2Rdfc2026),
            Some(selective_disclosure::CRYPTOSUITE) if !def.mandatory_pointers.is_empty() => {
                Ok(Self::EcdsaSd2023 { requested: Vec::new() })
            }
            Some(selective_disclosure::CRYPTOSUITE) => Err(refuse(
                "selective_disclosure_not_offered",
                format!("“{}”的类型定义未规定必须出示的字段（mandatoryPointers），不签发选择性披露凭证", def.name.zh),
                format!(
                    "the definition of “{}” declares no mandatoryPointers: it is not issued for selective disclosure",
                    def.name.en
                ),
            )),
            Some(other) => Err(unsupported(other)),
        }
    }

    /// Refuse a suite `key` cannot sign, rather than sign another one: an SM2
    /// issuer (`--key-algorithm sm2`) signs `sm2-rdfc-2026` only (so no
    /// `ecdsa-rdfc-2019`, `ecdsa-jcs-2019` or `ecdsa-sd-2023` base proof), a
    /// P-256 issuer never `sm2-rdfc-2026`. The VC-API P-384 key signs its own.
    ///
    /// # Errors
    /// [`IssuanceError::ProofOptions`] `unsupported_cryptosuite`.
    pub fn check_signer(&self, key: &dyn IssuerSigner) -> Result<(), IssuanceError> {
        let sm2 = key.sm2_credential_key().is_some();
        let named = match self {
            Self::IssuerKeyRdfc | Self::P384 { .. } => return Ok(()),
            Self::Sm2Rdfc2026 if sm2 => return Ok(()),
            Self::Sm2Rdfc2026 => {
                return Err(refuse(
                    "unsupported_cryptosuite",
                    "本签发方使用 P-256 密钥，不签发 sm2-rdfc-2026 凭证",
                    "this issuer signs with a P-256 key: it does not issue sm2-rdfc-2026 credentials",
                ))
            }
            _ if !sm2 => return Ok(()),
            Self::EcdsaRdfc2019 => ECDSA_RDFC_2019,
            Self::EcdsaJcs2019 => ecdsa_jcs_2019::CRYPTOSUITE,
            Self::EcdsaSd2023 { .. } => selective_disclosure::CRYPTOSUITE,
        };
        Err(refuse(
            "unsupported_cryptosuite",
            format!("本签发方使用 SM2 密钥（sm2-rdfc-2026），不签发 {named} 凭证"),
            format!("this issuer signs with an SM2 key (sm2-rdfc-2026): it does not issue {named} credentials"),
        ))
    }

    /// Signed by the issuer key with its own RDF suite (`ecdsa-rdfc-2019` or
    /// `sm2-rdfc-2026`, [`ProofSuite::check_signer`] having refused a
    /// mismatch), which [`wallet_core::issuance::sign_credential_anchored`]
    /// signs with the anchoring digest (P-256 in one pass).
    pub fn is_issuer_key_rdfc(&self) -> bool {
        matches!(self, Self::IssuerKeyRdfc | Self::EcdsaRdfc2019 | Self::Sm2Rdfc2026)
    }

    /// A short tag for idempotency scopes: the same key with another suite is
    /// another request.
    pub fn scope_suffix(&self) -> &'static str {
        match self {
            // The same credential as the issuer key's default suite.
            Self::IssuerKeyRdfc | Self::EcdsaRdfc2019 | Self::Sm2Rdfc2026 => "",
            Self::EcdsaSd2023 { .. } => "#ecdsa-sd-2023",
            Self::EcdsaJcs2019 => "#ecdsa-jcs-2019",
            Self::P384 { jcs: false, .. } => "#p384",
            Self::P384 { jcs: true, .. } => "#p384-ecdsa-jcs-2019",
        }
    }

    /// The mandatory pointers of a base proof of `unsigned`, or `None` for
    /// `ecdsa-rdfc-2019`.
    ///
    /// # Errors
    /// [`IssuanceError::ProofOptions`] for a requested pointer that points at
    /// nothing in `unsigned` (W3C vc-di-ecdsa §3.4.12: a proof generation error).
    pub fn mandatory_pointers(
        &self,
        types: &TypeRegistry,
        unsigned: &Value,
    ) -> Result<Option<Vec<String>>, IssuanceError> {
        let Self::EcdsaSd2023 { requested } = self else { return Ok(None) };
        let mut pointers = selective_disclosure::mandatory_pointers_for(types, unsigned);
        for p in requested {
            if unsigned.pointer(p).is_none() {
                return Err(refuse(
                    "bad_mandatory_pointers",
                    format!("必须出示的字段 {p:?} 在凭证中不存在"),
                    format!("the mandatory pointer {p:?} points at nothing in the credential"),
                ));
            }
            if !pointers.contains(p) {
                pointers.push(p.clone());
            }
        }
        Ok(Some(pointers))
    }
}

/// OpenID4VCI credential configuration ids (`domain::offers`): a type's name
/// is its `ecdsa-rdfc-2019` configuration; `<type>+ecdsa-sd-2023` its
/// selective-disclosure one, offered only for types that declare mandatory
/// pointers. An OpenID4VCI holder is an app wallet, which derives: the offer's
/// configuration is the clinic's choice of suite, as `?cryptosuite=` is on the
/// domain API.
pub const SD_CONFIGURATION_SUFFIX: &str = "+ecdsa-sd-2023";

/// The type name and the suite a configuration id names (see [`SD_CONFIGURATION_SUFFIX`]).
pub fn split_configuration_id(id: &str) -> (&str, Option<&'static str>) {
    match id.strip_suffix(SD_CONFIGURATION_SUFFIX) {
        Some(type_name) => (type_name, Some(selective_disclosure::CRYPTOSUITE)),
        None => (id, None),
    }
}

/// Sign `unsigned` now with `key` (or the suite's own P-384 key) as `suite`
/// says: an `ecdsa-sd-2023` base proof when `mandatory` is given (see
/// [`ProofSuite::mandatory_pointers`]), else `ecdsa-rdfc-2019` or `ecdsa-jcs-2019`.
///
/// # Errors
/// See [`IssueError`].
pub async fn sign(
    types: &TypeRegistry,
    unsigned: &Value,
    key: &dyn IssuerSigner,
    suite: &ProofSuite,
    mandatory: Option<&[String]>,
) -> Result<Value, IssueError> {
    let now = Utc::now();
    match (suite, mandatory) {
        (_, Some(pointers)) => selective_disclosure::sign_base_with(types, unsigned, key, now, pointers).await,
        (ProofSuite::EcdsaJcs2019, None) => {
            ecdsa_jcs_2019::sign_credential(types, unsigned, SigningKey::P256(key), now)
        }
        (ProofSuite::P384 { key, jcs: true }, None) => {
            ecdsa_jcs_2019::sign_credential(types, unsigned, SigningKey::P384(key), now)
        }
        (ProofSuite::P384 { key, jcs: false }, None) => {
            wallet_core::p384_key::sign_ecdsa_rdfc_2019(types, unsigned, key, now).await
        }
        (
            ProofSuite::IssuerKeyRdfc
            | ProofSuite::EcdsaRdfc2019
            | ProofSuite::Sm2Rdfc2026
            | ProofSuite::EcdsaSd2023 { .. },
            None,
        ) => sign_credential_with(types, unsigned, key, now).await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use wallet_core::keys::IssuerKey;
    use wallet_core::signer::{IssuerSigner, Sm2IssuerSigner};
    use wallet_core::sm2_rdfc_2026::Sm2IssuerKey;

    use super::ProofSuite;

    fn vc_api(cryptosuite: Option<&str>) -> ProofSuite {
        let options = cryptosuite.map(|c| json!({ "cryptosuite": c }));
        ProofSuite::from_vc_api_options(options.as_ref()).expect("a known suite")
    }

    fn refusal_code(suite: &ProofSuite, key: &dyn IssuerSigner) -> Option<String> {
        suite.check_signer(key).err().map(|e| e.code().to_owned())
    }

    #[test]
    fn an_sm2_issuer_signs_sm2_or_refuses_never_another_suite_silently() {
        let sm2 = Sm2IssuerSigner::new(Sm2IssuerKey::generate(), Arc::new(IssuerKey::generate()));
        assert_eq!(refusal_code(&vc_api(None), &sm2), None);
        assert_eq!(refusal_code(&vc_api(Some("sm2-rdfc-2026")), &sm2), None);
        for named in ["ecdsa-rdfc-2019", "ecdsa-jcs-2019", "ecdsa-sd-2023"] {
            assert_eq!(refusal_code(&vc_api(Some(named)), &sm2).as_deref(), Some("unsupported_cryptosuite"), "{named}");
        }
    }

    #[test]
    fn a_p256_issuer_refuses_sm2_by_name() {
        let p256 = IssuerKey::generate();
        for fine in [None, Some("ecdsa-rdfc-2019"), Some("ecdsa-jcs-2019"), Some("ecdsa-sd-2023")] {
            assert_eq!(refusal_code(&vc_api(fine), &p256), None, "{fine:?}");
        }
        assert_eq!(refusal_code(&vc_api(Some("sm2-rdfc-2026")), &p256).as_deref(), Some("unsupported_cryptosuite"));
    }

    #[test]
    fn sm2_by_name_takes_no_mandatory_pointers() {
        let options = json!({ "cryptosuite": "sm2-rdfc-2026", "mandatoryPointers": ["/issuer"] });
        let refused = ProofSuite::from_vc_api_options(Some(&options)).expect_err("pointers are for ecdsa-sd-2023");
        assert_eq!(refused.code(), "bad_mandatory_pointers");
    }
}
