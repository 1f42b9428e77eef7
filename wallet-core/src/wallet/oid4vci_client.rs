//! The wallet's OpenID4VCI 1.0 client (pre-authorized code flow). HTTP is a
//! trait the phone app implements (as isomdl does), so wallet-core carries no
//! HTTP stack: offer → issuer metadata → token (with the PIN) → nonce →
//! credential request with a key proof by the device key.

use chrono::Utc;
use serde_json::{json, Value};

use crate::holder::DeviceKey;
use crate::oid4vci::{
    form_encode, make_proof_jwt, parse_offer_uri, Oid4vciError, AS_METADATA_PATH, ISSUER_METADATA_PATH,
    PRE_AUTHORIZED_CODE_GRANT,
};

/// An HTTP request the wallet wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

/// The response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// What the platform implements: send one request, return the response
/// (any status). Only transport failures are errors. The platform enforces
/// TLS and certificate checks.
pub trait HttpTransport {
    /// Send `request`.
    ///
    /// # Errors
    /// A description of the transport failure.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

/// The client, over a transport.
#[derive(Debug)]
pub struct Oid4vciClient<'t, T: HttpTransport> {
    transport: &'t T,
}

/// Largest response body accepted (a credential is a few KiB).
const MAX_RESPONSE: usize = 512 * 1024;

impl<'t, T: HttpTransport> Oid4vciClient<'t, T> {
    /// A client sending through `transport`.
    pub fn new(transport: &'t T) -> Self {
        Self { transport }
    }

    fn call(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Value, Oid4vciError> {
        let request = HttpRequest {
            method,
            url: url.to_owned(),
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body,
        };
        let response = self.transport.send(&request).map_err(|e| Oid4vciError::new("transport_error", e))?;
        if response.body.len() > MAX_RESPONSE {
            return Err(Oid4vciError::new("invalid_response", "the response is too large"));
        }
        let json: Value = serde_json::from_slice(&response.body)
            .map_err(|_| Oid4vciError::new("invalid_response", format!("HTTP {}: not JSON", response.status)))?;
        if !(200..300).contains(&response.status) {
            let code = json.get("error").and_then(Value::as_str).unwrap_or("server_error");
            let description = json
                .get("error_description")
                .and_then(Value::as_str)
                .or_else(|| json.pointer("/message/en").and_then(Value::as_str))
                .unwrap_or("");
            return Err(Oid4vciError::new(code, format!("HTTP {}: {description}", response.status)));
        }
        Ok(json)
    }

    /// Run the whole flow for the first configuration of the offer and return the credential.
    ///
    /// # Errors
    /// The issuer's OAuth / OpenID4VCI error (`invalid_grant` for a wrong or
    /// used-up PIN, `invalid_proof`, …), `transport_error`, `invalid_response`.
    pub fn receive(&self, offer_uri: &str, tx_code: Option<&str>, device: &DeviceKey) -> Result<Value, Oid4vciError> {
        let offer = parse_offer_uri(offer_uri)?;
        let issuer = offer.credential_issuer.trim_end_matches('/');
        let grant = offer
            .grants
            .pre_authorized_code
            .as_ref()
            .ok_or_else(|| Oid4vciError::new("unsupported_grant_type", "no pre-authorized code"))?;
        if grant.tx_code.is_some() && tx_code.is_none_or(str::is_empty) {
            return Err(Oid4vciError::new("tx_code_required", "the offer needs the PIN the issuer gave you"));
        }
        let metadata = self.call("GET", &format!("{issuer}{ISSUER_METADATA_PATH}"), &[], Vec::new())?;
        if metadata.get("credential_issuer").and_then(Value::as_str) != Some(offer.credential_issuer.as_str()) {
            return Err(Oid4vciError::new("invalid_response", "the metadata names another credential issuer"));
        }
        let endpoint = |v: &Value, name: &str| -> Result<String, Oid4vciError> {
            let url = v
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| Oid4vciError::new("invalid_response", format!("the metadata has no {name}")))?;
            if !crate::oid4vci::is_protected_endpoint(url) {
                return Err(Oid4vciError::new("invalid_response", format!("the metadata's {name} is not https")));
            }
            Ok(url.to_owned())
        };
        let credential_endpoint = endpoint(&metadata, "credential_endpoint")?;
        let nonce_endpoint = endpoint(&metadata, "nonce_endpoint")?;
        let configuration_id = offer.credential_configuration_ids.first().cloned().ok_or_else(|| {
            Oid4vciError::new("invalid_credential_offer", "the offer names no credential configuration")
        })?;
        if metadata.pointer(&format!("/credential_configurations_supported/{configuration_id}")).is_none() {
            return Err(Oid4vciError::new("invalid_response", "the offered configuration is not in the metadata"));
        }
        let as_metadata = self.call("GET", &format!("{issuer}{AS_METADATA_PATH}"), &[], Vec::new())?;
        let token_endpoint = endpoint(&as_metadata, "token_endpoint")?;

        let mut form = vec![
            ("grant_type", PRE_AUTHORIZED_CODE_GRANT),
            ("pre-authorized_code", grant.pre_authorized_code.as_str()),
        ];
        if let Some(pin) = tx_code {
            form.push(("tx_code", pin));
        }
        let token = self.call(
            "POST",
            &token_endpoint,
            &[("content-type", "application/x-www-form-urlencoded")],
            form_encode(&form).into_bytes(),
        )?;
        let access_token = token
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Oid4vciError::new("invalid_response", "no access_token"))?;

        let nonce = self.call("POST", &nonce_endpoint, &[], Vec::new())?;
        let c_nonce = nonce
            .get("c_nonce")
            .and_then(Value::as_str)
            .ok_or_else(|| Oid4vciError::new("invalid_response", "no c_nonce"))?;
        let proof = make_proof_jwt(device, &offer.credential_issuer, c_nonce, Utc::now());
        let body = json!({"credential_configuration_id": configuration_id, "proofs": {"jwt": [proof]}});
        let bearer = format!("Bearer {access_token}");
        let response = self.call(
            "POST",
            &credential_endpoint,
            &[("content-type", "application/json"), ("authorization", &bearer)],
            body.to_string().into_bytes(),
        )?;
        response
            .pointer("/credentials/0/credential")
            .cloned()
            .ok_or_else(|| Oid4vciError::new("invalid_response", "no credentials[0].credential"))
    }
}
