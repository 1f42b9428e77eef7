//! OpenID4VCI pre-authorized code flow, end to end against the real issuer
//! service (127.0.0.1:0, SQLite): the clinic makes an offer, the wallet-core
//! client (over a tiny blocking HTTP transport, as a phone app would supply)
//! redeems it with the PIN, receives a credential bound to its device key,
//! stores it, presents it, and the presentation verifies.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use serde_json::{json, Value};

use crate::support::requests::health_request;
use wallet_core::holder::DeviceKey;
use wallet_core::oid4vci::{form_encode, make_proof_jwt, parse_offer_uri, PRE_AUTHORIZED_CODE_GRANT};
use wallet_core::presentation::{read_scanned, Freshness};
use wallet_core::verification::{verify_credential, CheckResult, VerifyOptions};
use wallet_core::wallet::oid4vci_client::{HttpRequest, HttpResponse, HttpTransport};
use wallet_core::wallet::{StoreKey, Wallet, WalletError};

/// HTTP/1.1 over a plain TCP stream, one request per connection.
pub(crate) struct StdTransport;

impl HttpTransport for StdTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let rest = request.url.strip_prefix("http://").ok_or("only http:// in tests")?;
        let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
        let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            request.method,
            request.body.len()
        );
        for (k, v) in &request.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        stream.write_all(&request.body).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no header end")?;
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut body = raw[split + 4..].to_vec();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            body = dechunk(&body)?;
        }
        Ok(HttpResponse { status, body })
    }
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).map_err(|e| e.to_string())?.trim(), 16)
            .map_err(|e| e.to_string())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

struct App {
    base: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

async fn spawn() -> App {
    let data = tempfile::tempdir().unwrap();
    let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, http, _data: data }
}

impl App {
    /// A fresh offer: (offer URI, PIN).
    async fn offer(&self) -> (String, String) {
        let body = json!({"credentialConfigurationId": "HealthCertificate", "request": health_request()});
        let resp = self.http.post(format!("{}/api/v1/credential-offers", self.base)).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 201);
        let json: Value = resp.json().await.unwrap();
        assert!(
            json["qrSvg"].as_str().unwrap().starts_with("<?xml") || json["qrSvg"].as_str().unwrap().contains("<svg")
        );
        (json["credentialOfferUri"].as_str().unwrap().to_owned(), json["txCode"].as_str().unwrap().to_owned())
    }

    async fn token(&self, code: &str, pin: Option<&str>, grant: &str) -> (u16, Value) {
        let mut form = vec![("grant_type", grant), ("pre-authorized_code", code)];
        if let Some(pin) = pin {
            form.push(("tx_code", pin));
        }
        let resp = reqwest::Client::new()
            .post(format!("{}/oid4vci/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(&form))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn nonce(&self) -> String {
        let resp = reqwest::Client::new().post(format!("{}/oid4vci/nonce", self.base)).send().await.unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let json: Value = resp.json().await.unwrap();
        json["c_nonce"].as_str().unwrap().to_owned()
    }

    async fn credential(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = reqwest::Client::new().post(format!("{}/oid4vci/credential", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

fn code_of(uri: &str) -> String {
    parse_offer_uri(uri).unwrap().grants.pre_authorized_code.unwrap().pre_authorized_code
}

fn wrong(pin: &str) -> String {
    pin.chars().map(|c| if c == '9' { '0' } else { char::from(c as u8 + 1) }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_pin_token_credential_store_present_verify() {
    let app = spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let wallet_path = dir.path().join("wallet.bin");
    let key = StoreKey::generate();

    // Metadata names the endpoints and the ldp_vc configurations.
    let meta: Value =
        reqwest::get(format!("{}/.well-known/openid-credential-issuer", app.base)).await.unwrap().json().await.unwrap();
    assert_eq!(meta["credential_issuer"], app.base.as_str());
    assert_eq!(meta["credential_configurations_supported"]["HealthCertificate"]["format"], "ldp_vc");
    assert_eq!(meta["nonce_endpoint"], format!("{}/oid4vci/nonce", app.base));

    // An offer; five wrong PINs through the wallet burn it: the sixth, right, PIN is refused.
    let (uri, pin) = app.offer().await;
    let offer = parse_offer_uri(&uri).unwrap();
    let tx = offer.grants.pre_authorized_code.as_ref().unwrap().tx_code.clone().unwrap();
    assert_eq!((tx.input_mode.as_deref(), tx.length), (Some("numeric"), Some(6)));
    let outcomes = {
        let (uri, pin, path, key) = (uri.clone(), pin.clone(), wallet_path.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            let mut wallet = Wallet::open(&path, key).unwrap();
            let mut outcomes = Vec::new();
            for _ in 0..5 {
                outcomes.push(wallet.import_offer(&StdTransport, &uri, Some(&wrong(&pin))));
            }
            outcomes.push(wallet.import_offer(&StdTransport, &uri, Some(&pin)));
            assert!(matches!(wallet.import_offer(&StdTransport, &uri, None), Err(WalletError::Oid4vci(e)) if e.code == "tx_code_required"));
            outcomes
        })
        .await
        .unwrap()
    };
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Err(WalletError::Oid4vci(e)) => {
                assert_eq!(e.code, "invalid_grant", "attempt {}", i + 1);
                if i < 4 {
                    assert!(e.message.contains(&format!("{} attempts left", 4 - i)), "{}", e.message);
                } else if i == 4 {
                    assert!(e.message.contains("last attempt"), "{}", e.message);
                } else {
                    assert!(e.message.contains("too many wrong PINs"), "{}", e.message);
                }
            }
            other => panic!("attempt {}: {other:?}", i + 1),
        }
    }
    // The burned offer's code stays refused; the bilingual message is there too.
    let (status, body) = app.token(&code_of(&uri), Some(&pin), PRE_AUTHORIZED_CODE_GRANT).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(body["message"]["zh"].as_str().unwrap().contains("作废"));
    assert!(body["error_description"].is_string());

    // A fresh offer with the right PIN: the credential arrives bound to the device key.
    let (uri, pin) = app.offer().await;
    let (id, presentation, device_did, vc) = {
        let (uri, pin, path, key) = (uri.clone(), pin.clone(), wallet_path.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            let mut wallet = Wallet::open(&path, key).unwrap();
            let id = wallet.import_offer(&StdTransport, &uri, Some(&pin)).unwrap();
            // Single use: the same offer again is refused.
            let again = wallet.import_offer(&StdTransport, &uri, Some(&pin)).unwrap_err();
            assert_eq!(again.code(), "invalid_grant");
            let summary = wallet.list(wallet_core::ui_text::Lang::Zh);
            assert_eq!(summary.len(), 1);
            assert!(summary[0].holder_bound);
            let presentation = wallet.present(&id, &Freshness::At(chrono::Utc::now())).unwrap();
            let vc = wallet.get(&id).unwrap().credential.clone();
            (id, presentation, wallet.device_key().did(), vc)
        })
        .await
        .unwrap()
    };
    assert_eq!(vc["credentialSubject"]["id"], device_did.as_str());
    assert_eq!(vc["credentialSubject"]["fullName"], "欧阳晓燕");

    // It was issued through the domain path: stored, logged (an inclusion proof exists).
    let uuid = id.trim_start_matches("urn:uuid:");
    // Reading a stored credential needs the API token (the holder has the QR).
    let anonymous = reqwest::get(format!("{}/credentials/{uuid}", app.base)).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let stored: Value =
        app.http.get(format!("{}/credentials/{uuid}", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored, vc);
    let inclusion = reqwest::get(format!("{}/credentials/{uuid}/inclusion", app.base)).await.unwrap();
    assert_eq!(inclusion.status(), 200);
    let bundle: Value = inclusion.json().await.unwrap();
    // The wallet keeps the inclusion proof with the credential (and refuses garbage as one).
    {
        let (path, key, id) = (wallet_path.clone(), key.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            let mut wallet = Wallet::open(&path, key.clone()).unwrap();
            assert!(wallet.attach_inclusion(&id, json!({"not": "a bundle"})).is_err());
            wallet.attach_inclusion(&id, bundle.clone()).unwrap();
            let reopened = Wallet::open(&path, key).unwrap();
            assert!(reopened.list(wallet_core::ui_text::Lang::En)[0].has_inclusion_proof);
            assert_eq!(reopened.get(&id).unwrap().inclusion.as_ref(), Some(&bundle));
        })
        .await
        .unwrap();
    }

    // The presentation verifies offline, holder binding valid.
    let scanned = read_scanned(&presentation).unwrap();
    let options = VerifyOptions::default().with_presentation(scanned.presentation);
    let report = verify_credential(&scanned.credential, &options).await.unwrap();
    assert!(report.verified, "{report:#?}");
    assert_eq!(report.checks.holder_binding, CheckResult::Valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_credential_endpoints_refuse_bad_requests() {
    let app = spawn().await;
    let (uri, pin) = app.offer().await;
    let code = code_of(&uri);

    // Token endpoint: grant type, missing PIN (not counted), unknown code, wrong content type.
    let (status, body) = app.token(&code, Some(&pin), "authorization_code").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, body) = app.token(&code, None, PRE_AUTHORIZED_CODE_GRANT).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let (status, body) = app.token("no-such-code", Some(&pin), PRE_AUTHORIZED_CODE_GRANT).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let resp = reqwest::Client::new()
        .post(format!("{}/oid4vci/token", app.base))
        .json(&json!({"grant_type": PRE_AUTHORIZED_CODE_GRANT}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let (status, token) = app.token(&code, Some(&pin), PRE_AUTHORIZED_CODE_GRANT).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 300);
    let token = token["access_token"].as_str().unwrap().to_owned();

    let device = DeviceKey::generate();
    let now = chrono::Utc::now();
    let request = |jwt: &str| json!({"credential_configuration_id": "HealthCertificate", "proofs": {"jwt": [jwt]}});
    let good_proof = make_proof_jwt(&device, &app.base, &app.nonce().await, now);

    // No / bad token.
    let (status, body) = app.credential(None, &request(&good_proof)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    let unauthenticated = reqwest::Client::new()
        .post(format!("{}/oid4vci/credential", app.base))
        .json(&request(&good_proof))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    let (status, _) = app.credential(Some("ecat_forged"), &request(&good_proof)).await;
    assert_eq!(status, 401);
    // Other configuration, no proof, proof for another audience, forged nonce, no proofs.
    let other = json!({"credential_configuration_id": "FoodBusinessLicence", "proofs": {"jwt": [good_proof]}});
    let (status, body) = app.credential(Some(&token), &other).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_credential_request")));
    let (status, body) = app.credential(Some(&token), &json!({"credential_configuration_id": "X"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unknown_credential_configuration")));
    let (status, body) =
        app.credential(Some(&token), &json!({"credential_configuration_id": "HealthCertificate"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_proof")));
    let wrong_aud = make_proof_jwt(&device, "https://elsewhere.example", &app.nonce().await, now);
    let (status, body) = app.credential(Some(&token), &request(&wrong_aud)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_proof")));
    let forged_nonce = make_proof_jwt(&device, &app.base, "bm90LW91cnM", now);
    let (status, body) = app.credential(Some(&token), &request(&forged_nonce)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_nonce")));

    // A good request issues once, bound to the proven key; the nonce and the token are then used up.
    let (status, body) = app.credential(Some(&token), &request(&good_proof)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"][0]["credential"]["credentialSubject"]["id"], device.did());
    let (status, body) = app.credential(Some(&token), &request(&good_proof)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));

    // A nonce is single use even with a fresh token.
    let (uri2, pin2) = app.offer().await;
    let (_, token2) = app.token(&code_of(&uri2), Some(&pin2), PRE_AUTHORIZED_CODE_GRANT).await;
    let (status, body) = app.credential(token2["access_token"].as_str(), &request(&good_proof)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_nonce")));

    // Offer creation: needs an API token, refuses holderKey and invalid fields.
    let body = json!({"credentialConfigurationId": "HealthCertificate", "request": health_request()});
    let resp =
        reqwest::Client::new().post(format!("{}/api/v1/credential-offers", app.base)).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let mut with_key = health_request();
    with_key["holderKey"] = device.jwk();
    let resp = app
        .http
        .post(format!("{}/api/v1/credential-offers", app.base))
        .json(&json!({"credentialConfigurationId": "HealthCertificate", "request": with_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let mut bad = health_request();
    bad["idNumber"] = json!("110105194912310021");
    let resp = app
        .http
        .post(format!("{}/api/v1/credential-offers", app.base))
        .json(&json!({"credentialConfigurationId": "HealthCertificate", "request": bad}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = app
        .http
        .post(format!("{}/api/v1/credential-offers", app.base))
        .json(&json!({"credentialConfigurationId": "Passport", "request": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_api_binds_a_holder_key_when_given_one() {
    let app = spawn().await;
    let device = DeviceKey::generate();
    let mut req = health_request();
    req["holderKey"] = device.jwk();
    let resp = app.http.post(format!("{}/api/v1/health-certificates", app.base)).json(&req).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["credential"]["credentialSubject"]["id"], device.did());
    let mut bad = health_request();
    bad["holderKey"] = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"});
    let resp = app.http.post(format!("{}/api/v1/health-certificates", app.base)).json(&bad).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["details"][0]["field"], "holderKey");
}

/// The token endpoint is anonymous and each request opens a write
/// transaction: one address's flood of made-up codes is slowed to 429
/// before it reaches the store.
#[tokio::test]
async fn attack_a_flood_of_made_up_codes_is_slowed_per_address() {
    let app = spawn().await;
    let mut answered_400 = 0;
    let mut first_429 = None;
    for i in 0..200 {
        let (status, body) = app.token(&format!("made-up-{i}"), Some("000000"), PRE_AUTHORIZED_CODE_GRANT).await;
        match (status, body["error"].as_str()) {
            (400, Some("invalid_grant")) => answered_400 += 1,
            (429, Some("too_many_requests")) => {
                first_429 = Some(i);
                break;
            }
            other => panic!("request {i}: {other:?}"),
        }
    }
    // A wallet's few requests pass (30 at once); a flood does not.
    assert!(answered_400 >= 30, "{answered_400}");
    assert!(first_429.is_some(), "200 made-up codes from one address were all answered");
}
