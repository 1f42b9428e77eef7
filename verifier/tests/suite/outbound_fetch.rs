//! Issue #14: what the verifier fetches for status, from where, and how much.
//! A local listener stands in for the status list server and counts the
//! requests it gets: a forged credential, a redirect, a private address or an
//! origin off the allowlist must leave it (or the redirect's target) untouched;
//! an oversized list is refused; the cache stays within its byte bound; a list
//! that could not be refreshed for N intervals stops vouching for the credential.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use verifier::config::Settings;
use verifier::rollback_state::RollbackState;
use verifier::status_sync::{StatusSettings, StatusState};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{status_list_credential, Bitstring, StatusEntry, StatusPurpose};

use crate::support::status_lists::{ok_json, Listener};

fn unavailable() -> Vec<u8> {
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
}

fn start_verifier(settings: &Settings) -> String {
    let app = verifier::startup::Application::build(settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// A health certificate signed by `issuer` whose revocation and suspension
/// entries name `list_url` (one list with both purposes).
async fn certificate(issuer: &IssuerKey, list_url: &str) -> Value {
    let request = crate::support::requests::health_request();
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let checked = def
        .check_request_keyed(
            &request,
            Utc::now().date_naive(),
            Some(&wallet_core::credential::IdNumberKey::from_bytes([0x5a; 32])),
        )
        .unwrap();
    let mut unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &issuer.did());
    unsigned["credentialStatus"] = json!([
        StatusEntry::new(StatusPurpose::Revocation, 42, list_url).to_json(),
        StatusEntry::new(StatusPurpose::Suspension, 43, list_url).to_json()
    ]);
    sign_credential(&unsigned, issuer, Utc::now() - Duration::minutes(5)).await.unwrap()
}

/// The revocation and suspension list at `url`, signed by `signer`, nothing set.
async fn signed_list(url: &str, signer: &IssuerKey, valid_from: chrono::DateTime<Utc>) -> Value {
    let bits = Bitstring::new(131_072);
    let mut list = status_list_credential(
        url,
        &signer.did(),
        StatusPurpose::Revocation,
        &bits,
        valid_from,
        valid_from + Duration::days(7),
    );
    list["credentialSubject"]["statusPurpose"] = json!(["revocation", "suspension"]);
    sign_credential(&list, signer, valid_from).await.unwrap()
}

/// `POST /credentials/verify`: the HTTP status and the status check.
async fn verify(verifier: &str, vc: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": vc}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (status, body["report"]["checks"]["status"].clone())
}

fn tampered(vc: &Value) -> Value {
    let mut forged = vc.clone();
    forged["credentialSubject"]["fullName"] = json!("冒名顶替");
    forged
}

#[tokio::test]
async fn a_forged_credential_makes_the_verifier_fetch_nothing_alone_or_in_a_presentation() {
    let issuer = IssuerKey::generate();
    let listener = Listener::start(unavailable());
    let verifier = start_verifier(&Settings::for_tests());
    let genuine = certificate(&issuer, &format!("{}/status/1", listener.base)).await;
    let forged = tampered(&genuine);

    let (status, check) = verify(&verifier, &forged).await;
    assert_eq!(status, 422);
    assert_eq!(listener.hits(), 0, "a credential with a bad signature made the verifier fetch its status URL");

    let presentation = |vc: &Value| {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [vc]
        })
    };
    let resp = reqwest::Client::new()
        .post(format!("{verifier}/presentations/verify"))
        .json(&json!({"verifiablePresentation": presentation(&forged)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert_eq!(listener.hits(), 0, "a forged credential inside a presentation made the verifier fetch");
    assert_ne!(check["result"], "valid");

    // The same URL in the genuine credential is fetched (the listener works),
    // inside a presentation too.
    let _ = verify(&verifier, &genuine).await;
    assert_eq!(listener.hits(), 1);
    let other = certificate(&issuer, &format!("{}/status/2", listener.base)).await;
    let resp = reqwest::Client::new()
        .post(format!("{verifier}/presentations/verify"))
        .json(&json!({"verifiablePresentation": presentation(&other)}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error() || resp.status().is_success());
    assert_eq!(listener.hits(), 2, "the genuine credential's list in a presentation was fetched");
}

/// A burst of inspectors finding the same list missing (at start, or due at a
/// refresh) costs the list server one request, and every one of them gets the
/// verdict the list gives: one fetch per list at a time, the others wait for it.
#[tokio::test]
async fn concurrent_verifications_needing_one_list_fetch_it_once() {
    let issuer = IssuerKey::generate();
    let listener = Listener::start_answering_after(unavailable(), std::time::Duration::from_millis(400));
    let url = format!("{}/status/1", listener.base);
    listener.answer(ok_json(&signed_list(&url, &issuer, Utc::now() - Duration::minutes(1)).await));
    let verifier = start_verifier(&Settings::for_tests());
    let vc = certificate(&issuer, &url).await;

    let checks = futures_util::future::join_all((0..8).map(|_| verify(&verifier, &vc))).await;
    for (status, check) in &checks {
        assert_eq!(*status, 200, "{check}");
        assert_eq!(check["result"], "valid", "{check}");
    }
    assert_eq!(listener.hits(), 1, "8 concurrent verifications fetched the same list more than once");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let issuer = IssuerKey::generate();
    let target = Listener::start(unavailable());
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: {}/status/1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        target.base
    );
    let listener = Listener::start(redirect.into_bytes());
    let verifier = start_verifier(&Settings::for_tests());
    let vc = certificate(&issuer, &format!("{}/status/1", listener.base)).await;
    let (_, check) = verify(&verifier, &vc).await;
    assert_eq!(listener.hits(), 1);
    assert_eq!(target.hits(), 0, "the redirect was followed");
    assert_eq!(check["result"], "invalid", "{check}");
    assert_eq!(check["code"], "status_list_unavailable", "{check}");
    assert!(check["reason"]["en"].as_str().unwrap().contains("302"), "{check}");
}

#[tokio::test]
async fn an_oversized_list_is_refused_and_the_status_is_not_valid() {
    let issuer = IssuerKey::generate();
    let too_large = verifier::status_sync::MAX_LIST_BYTES + 1;
    // Declared too large, and (no length declared) streamed past the cap.
    let declared =
        format!("HTTP/1.1 200 OK\r\ncontent-length: {too_large}\r\nconnection: close\r\n\r\n{{").into_bytes();
    let mut streamed = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
    streamed.extend(std::iter::repeat_n(b' ', too_large));
    let verifier = start_verifier(&Settings::for_tests());
    for response in [declared, streamed] {
        let listener = Listener::start(response);
        let vc = certificate(&issuer, &format!("{}/status/1", listener.base)).await;
        let (status, check) = verify(&verifier, &vc).await;
        assert_eq!(listener.hits(), 1);
        assert_eq!(status, 422, "{check}");
        assert_ne!(check["result"], "valid", "{check}");
        assert_eq!(check["code"], "status_list_unavailable", "{check}");
        assert!(check["reason"]["en"].as_str().unwrap().contains("larger than"), "{check}");
    }
}

#[tokio::test]
async fn a_private_address_is_refused_without_the_flag() {
    let issuer = IssuerKey::generate();
    let listener = Listener::start(unavailable());
    let port = listener.base.rsplit(':').next().unwrap().to_owned();
    let mut settings = Settings::for_tests();
    settings.status.allow_private_fetch = false;
    let verifier = start_verifier(&settings);
    for url in [format!("{}/status/1", listener.base), format!("http://localhost:{port}/status/1")] {
        let vc = certificate(&issuer, &url).await;
        let (_, check) = verify(&verifier, &vc).await;
        assert_eq!(check["code"], "status_list_unavailable", "{url}: {check}");
        assert!(check["reason"]["en"].as_str().unwrap().contains("not a public address"), "{url}: {check}");
    }
    assert_eq!(listener.hits(), 0, "a private address was fetched without --allow-private-fetch");

    // A configured URL on a literal private address stops the start, naming the flag.
    let mut settings = Settings::for_tests();
    settings.status.allow_private_fetch = false;
    settings.trust.trust_list_url = Some(format!("{}/trust-list", listener.base));
    let err = verifier::startup::Application::build(&settings).err().expect("a private trust list URL was accepted");
    assert!(format!("{err:#}").contains("--allow-private-fetch"), "{err:#}");
}

#[tokio::test]
async fn an_origin_not_on_the_allowlist_is_not_fetched() {
    let issuer = IssuerKey::generate();
    let listener = Listener::start(unavailable());
    let mut settings = Settings::for_tests();
    settings.status.status_origins = vec!["http://127.0.0.1:1".into()];
    let verifier = start_verifier(&settings);
    let vc = certificate(&issuer, &format!("{}/status/1", listener.base)).await;
    let (_, check) = verify(&verifier, &vc).await;
    assert_eq!(listener.hits(), 0, "a list on an origin off the allowlist was fetched");
    assert_eq!(check["code"], "status_list_unavailable", "{check}");
    assert!(check["reason"]["en"].as_str().unwrap().contains("--status-origin"), "{check}");

    // Allowed, the same list is fetched.
    settings.status.status_origins.push(listener.base.clone());
    let allowing = start_verifier(&settings);
    let _ = verify(&allowing, &vc).await;
    assert_eq!(listener.hits(), 1);
}

#[tokio::test]
async fn the_cache_stays_under_its_byte_bound_and_evicted_lists_keep_their_floor() {
    let issuer = IssuerKey::generate();
    let settings = StatusSettings { status_cache_max_mib: 1, ..StatusSettings::default() };
    let state = StatusState::new(&settings, RollbackState::in_memory()).unwrap();
    let now = Utc::now();
    let url = |i: usize| format!("https://issuer.example.gov.cn/status/{i}");
    let lists = 120;
    for i in 0..lists {
        let list = signed_list(&url(i), &issuer, now - Duration::minutes(10)).await;
        state.offer(&url(i), &list).await.unwrap();
        let (bytes, _) = state.cache_usage();
        assert!(bytes <= 1024 * 1024, "{bytes} bytes held after {} lists", i + 1);
    }
    let (_, held) = state.cache_usage();
    assert!(held < lists && held > 10, "{held} of {lists} lists held");
    assert!(!state.verified_lists(&url(lists - 1)).is_empty(), "the newest list was evicted");
    assert!(state.verified_lists(&url(0)).is_empty(), "the least recently used list was kept");
    // The evicted list's rollback floor is kept: an older one is refused.
    let older = signed_list(&url(0), &issuer, now - Duration::hours(1)).await;
    let err = state.offer(&url(0), &older).await.unwrap_err();
    assert_eq!(err.code(), "status_list_rollback");
}

#[tokio::test]
async fn a_list_not_refreshed_for_n_intervals_leaves_the_status_unchecked_or_failed() {
    let issuer = IssuerKey::generate();
    let listener = Listener::start(unavailable());
    let list_url = format!("{}/status/1", listener.base);
    listener.answer(ok_json(&signed_list(&list_url, &issuer, Utc::now() - Duration::minutes(10)).await));
    let vc = certificate(&issuer, &list_url).await;
    let mut settings = Settings::for_tests();
    settings.status.status_refresh_secs = 1;
    settings.status.status_missed_refreshes = 1;
    let lenient = start_verifier(&settings);
    settings.status.stale_status_fails = true;
    let strict = start_verifier(&settings);
    for verifier in [&lenient, &strict] {
        let (status, check) = verify(verifier, &vc).await;
        assert_eq!((status, check["result"].as_str()), (200, Some("valid")), "{check}");
    }

    listener.answer(unavailable());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, check) = verify(&lenient, &vc).await;
    assert_eq!(check["result"], "unchecked", "{check}");
    assert_eq!(check["code"], "status_list_not_refreshed", "{check}");
    assert!(check["reason"]["en"].as_str().unwrap().contains("503"), "the failed refresh is named: {check}");
    assert_eq!(status, 200, "unchecked status does not fail the credential without --stale-status-fails");
    let (status, check) = verify(&strict, &vc).await;
    assert_eq!((status, check["result"].as_str()), (422, Some("invalid")), "{check}");
    assert_eq!(check["code"], "status_list_not_refreshed", "{check}");
    assert_eq!(listener.hits(), 4, "each verifier fetched once, then tried to refresh once");
}
