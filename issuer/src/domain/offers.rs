//! OpenID4VCI 1.0, pre-authorized code flow, issuer side: clinic staff make an
//! offer for a validated domain request and get the offer URI (shown as a QR
//! code) and a PIN (`tx_code`, given to the citizen out of band); the wallet
//! exchanges code + PIN for an access token, fetches a nonce, and asks for the
//! credential with a key proof; the credential is issued through the domain
//! issuance path (logged and anchored like any other), bound to the proven key.
//!
//! Limits: offer codes live [`OFFER_LIFETIME_SECS`], [`MAX_PIN_ATTEMPTS`]
//! wrong PINs burn the offer, one credential per offer, access tokens live
//! [`ACCESS_TOKEN_SECS`], nonces [`NONCE_SECS`] and are single use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use rand::{Rng as _, RngCore as _};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wallet_core::contexts::CREDENTIALS_V2;
use wallet_core::oid4vci::{
    form_decode, offer_uri, verify_proof_jwt, CredentialOffer, Grants, PreAuthorizedCodeGrant, TxCode,
    PRE_AUTHORIZED_CODE_GRANT,
};

use wallet_core::localized::Localized;

use crate::domain::issuance::{parse_request, IdempotencyKey, IssuanceError, Issuer};
use crate::store::{NewOffer, Redemption, TokenGrant};

/// How long an offer's pre-authorized code can be redeemed.
pub const OFFER_LIFETIME_SECS: i64 = 600;
/// Wrong PINs before the offer is burned.
pub const MAX_PIN_ATTEMPTS: u32 = 5;
/// Access token lifetime.
pub const ACCESS_TOKEN_SECS: i64 = 300;
/// Nonce lifetime (and the oldest key proof `iat` accepted).
pub const NONCE_SECS: i64 = 300;
/// Digits of the PIN.
pub const PIN_LENGTH: u32 = 6;

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

fn code_hash(code: &str) -> String {
    sha256_hex(&[b"ecert/oid4vci-code/v1\0", code.as_bytes()])
}

/// The PIN's hash is bound to its code (so equal PINs of two offers differ).
fn tx_code_hash(code_hash: &str, pin: &str) -> String {
    sha256_hex(&[b"ecert/oid4vci-tx-code/v1\0", code_hash.as_bytes(), b"\0", pin.as_bytes()])
}

fn token_hash(token: &str) -> String {
    sha256_hex(&[b"ecert/oid4vci-token/v1\0", token.as_bytes()])
}

fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `POST /api/v1/credential-offers` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OfferRequest {
    credential_configuration_id: String,
    request: Value,
}

/// Why an offer, a token or an OpenID4VCI credential request was refused, or
/// failed. The refusals of the token and credential endpoints are OAuth 2.0
/// errors ([`OfferError::is_oauth`]); [`OfferError::code`] is the stable machine
/// code, [`OfferError::message`] the zh/en text.
#[derive(Debug)]
#[non_exhaustive]
pub enum OfferError {
    /// The domain request (or issuing it) was refused.
    Issuance(IssuanceError),
    /// An offer request carrying `holderKey` (the wallet proves its own key).
    HolderKeyFromWallet,
    /// An offer for a configuration this issuer does not have.
    UnknownConfiguration(String),
    /// A token request that cannot be read (`invalid_request`).
    InvalidRequest(Localized),
    /// A grant other than the pre-authorized code.
    UnsupportedGrantType,
    /// The pre-authorized code cannot be redeemed (`invalid_grant`): why.
    InvalidGrant(GrantRefusal),
    /// No valid access token.
    InvalidToken,
    /// A credential request that is not JSON, or asks for what was not offered.
    InvalidCredentialRequest(Localized),
    /// A credential request for an unknown configuration.
    UnknownConfigurationId,
    /// Not exactly one jwt key proof.
    ProofCount,
    /// The key proof does not verify (its code and why).
    InvalidProof(String, String),
    /// The nonce is unknown or expired (`used`: it was used already).
    InvalidNonce {
        /// It was valid, and used already.
        used: bool,
    },
    /// Anything else (the store, QR rendering); the cause is for the logs only.
    Internal(String),
}

impl OfferError {
    /// For any failure that is not the caller's (the cause is logged, never shown).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// An OAuth 2.0 / OpenID4VCI endpoint's refusal (answered with `error_description` too).
    pub fn is_oauth(&self) -> bool {
        !matches!(
            self,
            Self::Issuance(_) | Self::HolderKeyFromWallet | Self::UnknownConfiguration(_) | Self::Internal(_)
        )
    }

    /// The stable machine code.
    pub fn code(&self) -> String {
        match self {
            Self::Issuance(e) => e.code(),
            Self::HolderKeyFromWallet => "holder_key_from_wallet".into(),
            Self::UnknownConfiguration(_) | Self::UnknownConfigurationId => "unknown_credential_configuration".into(),
            Self::InvalidRequest(_) => "invalid_request".into(),
            Self::UnsupportedGrantType => "unsupported_grant_type".into(),
            Self::InvalidGrant(_) => "invalid_grant".into(),
            Self::InvalidToken => "invalid_token".into(),
            Self::InvalidCredentialRequest(_) => "invalid_credential_request".into(),
            Self::ProofCount => "invalid_proof".into(),
            Self::InvalidProof(code, _) => code.clone(),
            Self::InvalidNonce { .. } => "invalid_nonce".into(),
            Self::Internal(_) => "internal_error".into(),
        }
    }

    /// What to tell people, in zh and en.
    pub fn message(&self) -> Localized {
        match self {
            Self::Issuance(e) => e.message(),
            Self::HolderKeyFromWallet => Localized::new(
                "通过 OpenID4VCI 领取时，持有人设备公钥由钱包自行证明，请勿在此提供",
                "with OpenID4VCI the wallet proves its own device key: do not send holderKey here",
            ),
            Self::UnknownConfiguration(other) => {
                Localized::new(format!("未知的凭证配置：{other}"), format!("unknown credential configuration: {other}"))
            }
            Self::InvalidRequest(message) | Self::InvalidCredentialRequest(message) => message.clone(),
            Self::UnsupportedGrantType => {
                Localized::new("只支持预授权码方式", "only the pre-authorized code grant is supported")
            }
            Self::InvalidGrant(why) => match why {
                GrantRefusal::Expired => Localized::new(
                    "领取码已过期，请联系签发机构重新生成",
                    "the offer has expired; ask the issuer for a new one",
                ),
                GrantRefusal::Used => Localized::new("领取码已被使用", "the pre-authorized code was already used"),
                GrantRefusal::Burned => Localized::new(
                    "取证码错误次数过多，该领取码已作废，请联系签发机构重新生成",
                    "too many wrong PINs: this offer is void; ask the issuer for a new one",
                ),
                GrantRefusal::WrongPin { attempts_left: 0 } => Localized::new(
                    "取证码错误；错误次数已达上限，该领取码已作废",
                    "wrong PIN; that was the last attempt, the offer is now void",
                ),
                GrantRefusal::WrongPin { attempts_left } => Localized::new(
                    format!("取证码错误，还可尝试 {attempts_left} 次"),
                    format!("wrong PIN; {attempts_left} attempts left"),
                ),
                GrantRefusal::Unknown => Localized::new("领取码无效", "the pre-authorized code is not valid"),
            },
            Self::InvalidToken => {
                Localized::new("访问令牌无效、已过期或已使用", "the access token is not valid, has expired or was used")
            }
            Self::UnknownConfigurationId => Localized::new("未知的凭证配置", "unknown credential_configuration_id"),
            Self::ProofCount => Localized::new("需要恰好一个 jwt 密钥证明", "exactly one jwt key proof is required"),
            Self::InvalidProof(_, why) => {
                Localized::new("持有人密钥证明无效", format!("the key proof is not valid: {why}"))
            }
            Self::InvalidNonce { used: false } => Localized::new(
                "随机数无效或已过期，请重新获取",
                "the nonce is not valid or has expired; fetch a new one",
            ),
            Self::InvalidNonce { used: true } => {
                Localized::new("随机数已被使用，请重新获取", "the nonce was already used; fetch a new one")
            }
            Self::Internal(_) => {
                Localized::new("服务器内部错误，请稍后重试", "internal server error; please retry later")
            }
        }
    }
}

impl std::fmt::Display for OfferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Issuance(e) => write!(f, "{e}"),
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
            other => write!(f, "{}: {}", other.code(), other.message().en),
        }
    }
}

impl std::error::Error for OfferError {}

impl From<IssuanceError> for OfferError {
    fn from(e: IssuanceError) -> Self {
        Self::Issuance(e)
    }
}

/// Why a pre-authorized code was not exchanged for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantRefusal {
    /// No offer with this code.
    Unknown,
    /// The offer has expired.
    Expired,
    /// The code was exchanged already.
    Used,
    /// Too many wrong PINs: the offer is void.
    Burned,
    /// A wrong PIN; this many attempts are left (0: the offer is now void).
    WrongPin {
        /// Attempts left.
        attempts_left: u32,
    },
}

fn invalid_request(zh: &str, en: &str) -> OfferError {
    OfferError::InvalidRequest(Localized::new(zh, en))
}

impl Issuer {
    /// The credential issuer identifier: this service's public base URL.
    pub fn credential_issuer(&self) -> &str {
        self.status.base_url()
    }

    /// Make an offer for a domain request that validates now. Returns the offer
    /// URI (and its QR as SVG) and the PIN, to be given to the citizen separately.
    ///
    /// # Errors
    /// [`OfferError::UnknownConfiguration`], [`OfferError::HolderKeyFromWallet`] (the
    /// wallet proves its key itself), or the issuance errors of the request.
    pub async fn create_offer(&self, body: &[u8], created_by: &str) -> Result<Value, OfferError> {
        let offer: OfferRequest = parse_request(body)?;
        if offer.request.get("holderKey").is_some() {
            return Err(OfferError::HolderKeyFromWallet);
        }
        let request_bytes = serde_json::to_vec(&offer.request).map_err(OfferError::internal)?;
        let (type_name, suite) = crate::domain::proof_suite::split_configuration_id(&offer.credential_configuration_id);
        let Some(def) = self.types.by_type(type_name) else {
            let other = &offer.credential_configuration_id;
            return Err(OfferError::UnknownConfiguration(other.clone()));
        };
        crate::domain::proof_suite::ProofSuite::for_domain_request(&def, suite)?;
        // Refused now, not after the citizen spent the offer's one token on it.
        self.check_authorised(&def)?;
        crate::domain::issuance::check_typed_request(&def, &offer.request, self.id_number_key.as_ref())?;
        let code = random_b64(32);
        let pin: String = (0..PIN_LENGTH).map(|_| char::from(b'0' + rand::rngs::OsRng.gen_range(0..10u8))).collect();
        let now = Utc::now().timestamp();
        let offer_id = uuid::Uuid::new_v4().to_string();
        let hash = code_hash(&code);
        self.store
            .create_offer(&NewOffer {
                offer_id: offer_id.clone(),
                tx_code_hash: Some(tx_code_hash(&hash, &pin)),
                code_hash: hash,
                configuration_id: offer.credential_configuration_id.clone(),
                request_json: String::from_utf8(request_bytes).map_err(OfferError::internal)?,
                created_by: created_by.to_owned(),
                created_at: now,
                expires_at: now + OFFER_LIFETIME_SECS,
            })
            .await
            .map_err(OfferError::internal)?;
        let credential_offer = CredentialOffer {
            credential_issuer: self.credential_issuer().to_owned(),
            credential_configuration_ids: vec![offer.credential_configuration_id],
            grants: Grants {
                pre_authorized_code: Some(PreAuthorizedCodeGrant {
                    pre_authorized_code: code,
                    tx_code: Some(TxCode {
                        input_mode: Some("numeric".into()),
                        length: Some(PIN_LENGTH),
                        description: Some(
                            "请输入诊所另行告知的 6 位取证码 / Enter the 6-digit PIN the clinic gave you".into(),
                        ),
                    }),
                }),
            },
        };
        let uri = offer_uri(&credential_offer);
        let qr_svg = wallet_core::qr::render_svg(&uri).map_err(OfferError::internal)?;
        tracing::info!(offer_id, created_by, "credential offer created");
        Ok(json!({
            "offerId": offer_id,
            "credentialOffer": credential_offer,
            "credentialOfferUri": uri,
            "qrSvg": qr_svg,
            "txCode": pin,
            "expiresAt": chrono::DateTime::from_timestamp(now + OFFER_LIFETIME_SECS, 0).map(|t| t.to_rfc3339()),
        }))
    }

    /// `/.well-known/openid-credential-issuer`.
    pub fn issuer_metadata(&self) -> Value {
        let base = self.credential_issuer();
        // One configuration per defined credential type, its id the type's name.
        let configuration = |def: &wallet_core::credential_type::Definition, suite: &str| {
            let (kind, zh, en) = (def.type_name.as_str(), &def.name.zh, &def.name.en);
            json!({
                "format": "ldp_vc",
                "credential_definition": {
                    "@context": [CREDENTIALS_V2, def.context_url],
                    "type": ["VerifiableCredential", kind],
                },
                "cryptographic_binding_methods_supported": ["did:key"],
                "credential_signing_alg_values_supported": [suite],
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
                "credential_metadata": {"display": [{"name": zh, "locale": "zh-CN"}, {"name": en, "locale": "en"}]},
            })
        };
        json!({
            "credential_issuer": base,
            "credential_endpoint": format!("{base}/oid4vci/credential"),
            "nonce_endpoint": format!("{base}/oid4vci/nonce"),
            "display": [{"name": "电子证照签发服务", "locale": "zh-CN"}, {"name": "e-Certificate issuer", "locale": "en"}],
            "credential_configurations_supported": self
                .types
                .definitions()
                .flat_map(|def| {
                    let sd_id = format!("{}{}", def.type_name, crate::domain::proof_suite::SD_CONFIGURATION_SUFFIX);
                    let sd = configuration(def, wallet_core::selective_disclosure::CRYPTOSUITE);
                    std::iter::once((def.type_name.to_owned(), configuration(def, "ecdsa-rdfc-2019")))
                        .chain((!def.mandatory_pointers.is_empty()).then_some((sd_id, sd)))
                })
                .collect::<serde_json::Map<String, Value>>(),
        })
    }

    /// `/.well-known/oauth-authorization-server` (this service is its own authorization server).
    pub fn authorization_server_metadata(&self) -> Value {
        let base = self.credential_issuer();
        json!({
            "issuer": base,
            "token_endpoint": format!("{base}/oid4vci/token"),
            "grant_types_supported": [PRE_AUTHORIZED_CODE_GRANT],
            "pre-authorized_grant_anonymous_access_supported": true,
        })
    }

    /// Token endpoint: pre-authorized code + PIN → access token.
    ///
    /// # Errors
    /// `unsupported_grant_type`, `invalid_request`, `invalid_grant` (unknown,
    /// expired, used or burned code; wrong PIN with the attempts left).
    pub async fn token(&self, form: &[u8]) -> Result<Value, OfferError> {
        let text =
            std::str::from_utf8(form).map_err(|_| invalid_request("请求内容不是 UTF-8", "the body is not UTF-8"))?;
        let pairs = form_decode(text).map_err(|e| invalid_request("请求内容编码有误", &e.message))?;
        let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match field("grant_type") {
            Some(PRE_AUTHORIZED_CODE_GRANT) => {}
            _ => return Err(OfferError::UnsupportedGrantType),
        }
        let code = field("pre-authorized_code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid_request("缺少预授权码", "pre-authorized_code is missing"))?;
        let pin = field("tx_code")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| invalid_request("缺少取证码（tx_code）", "tx_code (the PIN) is missing"))?;
        let hash = code_hash(code);
        let token = format!("ecat_{}", random_b64(32));
        let now = Utc::now().timestamp();
        let outcome = self
            .store
            .redeem_offer(
                &hash,
                Some(&tx_code_hash(&hash, pin)),
                TokenGrant { access_token_hash: &token_hash(&token), expires_at: now + ACCESS_TOKEN_SECS },
                now,
                MAX_PIN_ATTEMPTS,
            )
            .await
            .map_err(OfferError::internal)?;
        match outcome {
            Redemption::Redeemed { offer_id } => {
                tracing::info!(offer_id, "credential offer redeemed");
                Ok(json!({"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECS}))
            }
            Redemption::Unknown => Err(OfferError::InvalidGrant(GrantRefusal::Unknown)),
            Redemption::Expired => Err(OfferError::InvalidGrant(GrantRefusal::Expired)),
            Redemption::AlreadyRedeemed => Err(OfferError::InvalidGrant(GrantRefusal::Used)),
            Redemption::Burned => Err(OfferError::InvalidGrant(GrantRefusal::Burned)),
            Redemption::WrongTxCode { attempts_left } => {
                Err(OfferError::InvalidGrant(GrantRefusal::WrongPin { attempts_left }))
            }
        }
    }

    /// Nonce endpoint.
    pub fn nonce(&self) -> Value {
        json!({"c_nonce": self.oid4vci.nonce(Utc::now().timestamp() + NONCE_SECS)})
    }

    /// Credential endpoint: access token + key proof → the credential bound to the proven key.
    ///
    /// # Errors
    /// `invalid_token`; `invalid_credential_request`,
    /// `unknown_credential_configuration`, `invalid_proof`, `invalid_nonce`; the issuance errors.
    pub async fn oid4vci_credential(&self, authorization: Option<&str>, body: &[u8]) -> Result<Value, OfferError> {
        let now = Utc::now();
        let token = authorization.and_then(|a| a.strip_prefix("Bearer ")).ok_or(OfferError::InvalidToken)?;
        let offer = self
            .store
            .offer_for_access_token(&token_hash(token.trim()), now.timestamp())
            .await
            .map_err(OfferError::internal)?
            .ok_or(OfferError::InvalidToken)?;
        let request: Value = serde_json::from_slice(body).map_err(|_| {
            OfferError::InvalidCredentialRequest(Localized::new(
                "请求内容不是有效的 JSON",
                "the body is not valid JSON",
            ))
        })?;
        let configuration = request.get("credential_configuration_id").and_then(Value::as_str).unwrap_or("");
        if self.types.by_type(crate::domain::proof_suite::split_configuration_id(configuration).0).is_none() {
            return Err(OfferError::UnknownConfigurationId);
        }
        if configuration != offer.configuration_id {
            return Err(OfferError::InvalidCredentialRequest(Localized::new(
                "该访问令牌对应的领取要约不包含此凭证",
                "this credential was not offered with this access token",
            )));
        }
        let jwts: Vec<&str> = match (request.pointer("/proofs/jwt"), request.get("proof")) {
            (Some(Value::Array(items)), None) => items.iter().filter_map(Value::as_str).collect(),
            (None, Some(p)) if p.get("proof_type").and_then(Value::as_str) == Some("jwt") => {
                p.get("jwt").and_then(Value::as_str).into_iter().collect()
            }
            _ => Vec::new(),
        };
        let [jwt] = jwts.as_slice() else {
            return Err(OfferError::ProofCount);
        };
        let proof = verify_proof_jwt(jwt, self.credential_issuer(), now, chrono::Duration::seconds(NONCE_SECS))
            .map_err(|e| OfferError::InvalidProof(e.code.to_string(), e.message.to_string()))?;
        let nonce_expiry =
            self.oid4vci.check_nonce(&proof.nonce, now.timestamp()).ok_or(OfferError::InvalidNonce { used: false })?;
        let fresh = self
            .store
            .use_nonce(&sha256_hex(&[proof.nonce.as_bytes()]), nonce_expiry, now.timestamp())
            .await
            .map_err(OfferError::internal)?;
        if !fresh {
            return Err(OfferError::InvalidNonce { used: true });
        }
        let mut domain_request: Value = serde_json::from_str(&offer.request_json).map_err(OfferError::internal)?;
        if let Some(map) = domain_request.as_object_mut() {
            map.insert("holderKey".into(), proof.jwk);
        }
        let body = serde_json::to_vec(&domain_request).map_err(OfferError::internal)?;
        let key = IdempotencyKey::parse(&format!("offer-{}", offer.offer_id))?;
        let (type_name, suite) = crate::domain::proof_suite::split_configuration_id(&offer.configuration_id);
        let def = self.types.by_type(type_name).ok_or_else(|| OfferError::internal("offered type gone"))?;
        let suite = crate::domain::proof_suite::ProofSuite::for_domain_request(&def, suite)?;
        let issued = self.issue_type_with(type_name, &body, Some(key), &suite).await?;
        let credential = issued.body.get("credential").cloned().ok_or_else(|| OfferError::internal("no credential"))?;
        let credential_id = issued.body.get("id").and_then(Value::as_str).unwrap_or("");
        self.store.complete_offer(&offer.offer_id, credential_id).await.map_err(OfferError::internal)?;
        tracing::info!(offer_id = offer.offer_id, credential_id, "credential issued through OpenID4VCI");
        Ok(json!({"credentials": [{"credential": credential}]}))
    }
}

/// How often [`spawn_offer_scrubber`] clears the personal data of offers that
/// can no longer be used.
pub const OFFER_SCRUB_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Clear, every [`OFFER_SCRUB_INTERVAL`], the requests (names, plain ID
/// numbers) of offers that expired, burned or were used: otherwise an offer
/// nobody redeems keeps them until some clinic makes another offer.
pub fn spawn_offer_scrubber(store: crate::store::Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store.scrub_unusable_offers(Utc::now().timestamp()).await {
                Ok(0) => {}
                Ok(cleared) => tracing::info!(cleared, "cleared the personal data of unusable offers"),
                Err(e) => tracing::warn!(error = %e, "could not clear the personal data of unusable offers"),
            }
            tokio::time::sleep(OFFER_SCRUB_INTERVAL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_hashes_are_bound_to_their_code() {
        assert_ne!(tx_code_hash(&code_hash("a"), "123456"), tx_code_hash(&code_hash("b"), "123456"));
    }
}
