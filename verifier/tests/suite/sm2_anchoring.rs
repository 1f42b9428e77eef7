//! Anchoring of an SM2 issuer on a real anvil node (`scripts/with-anvil.sh`):
//! its credentials are `sm2-rdfc-2026`, its log checkpoints ECDSA P-256 by the
//! separate `log-key.pem`; a verifier mirroring that log finds the issuer by
//! the SM2 `did:key` the entries record and reports "anchored"; an SM2
//! credential signed with the issuer's key but never logged is rejected.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::trust::TrustAlgorithm;

use crate::support::anvil::{free_port, Anvil};
use crate::support::requests::health_request;
use crate::support::require::{require, Dep};

async fn verify(http: &reqwest::Client, verifier: &str, vc: &Value) -> (u16, Value) {
    let resp = http
        .post(format!("{verifier}/credentials/verify"))
        .json(&json!({"verifiableCredential": vc}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn an_sm2_issuers_credentials_are_anchored_and_unlogged_ones_rejected() {
    let Some(bin) = require(Dep::Anvil) else { return };
    let anvil = Anvil::start(&bin, free_port()).await;
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.key_algorithm = TrustAlgorithm::Sm2;
    settings.chain_rpc_url = Some(anvil.url.clone());
    settings.anchor_interval_secs = 1;
    settings.anchor_max_backoff_secs = 2;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::accounts::authorized_client(&settings).await.unwrap();
    let log_key = http.get(format!("{issuer}/log/key")).send().await.unwrap().text().await.unwrap();

    let mut verifier_settings = verifier::config::Settings::for_tests();
    verifier_settings.anchoring.log_urls = vec![issuer.clone()];
    verifier_settings.anchoring.log_keys = vec![log_key.trim().to_owned()];
    verifier_settings.anchoring.chain_rpc_url = Some(anvil.url.clone());
    verifier_settings.anchoring.require_anchoring = true;
    verifier_settings.anchoring.log_sync_secs = 1;
    let verifier_app = verifier::startup::Application::build(&verifier_settings).unwrap();
    let verifier = format!("http://127.0.0.1:{}", verifier_app.port());
    tokio::spawn(verifier_app.run_until_stopped());

    let resp = http.post(format!("{issuer}/api/v1/health-certificates")).json(&health_request()).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let vc = resp.json::<Value>().await.unwrap()["credential"].clone();
    assert_eq!(vc["proof"]["cryptosuite"], "sm2-rdfc-2026");

    let deadline = Instant::now() + Duration::from_secs(40);
    let body = loop {
        let (_, body) = verify(&http, &verifier, &vc).await;
        if body["report"]["checks"]["anchoring"]["result"] == "valid" {
            break body;
        }
        assert!(Instant::now() < deadline, "never anchored: {body:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(body["verified"], true, "{body:#}");
    assert_eq!(body["report"]["anchor"]["chainId"], 31337);

    // The issuer's SM2 key (stolen) signs a credential that was never logged.
    let key = issuer::signing_key::load_or_generate_sm2(data.path()).unwrap();
    let mut forged = vc.clone();
    forged.as_object_mut().unwrap().remove("proof");
    forged["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    forged["credentialSubject"]["name"] = json!("Mallory");
    let forged =
        wallet_core::sm2_rdfc_2026::sign(&forged, &key, Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    let (status, body) = verify(&http, &verifier, &forged).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["signature"]["result"], "valid");
    assert_eq!(body["report"]["checks"]["anchoring"]["code"], "anchoring_not_in_log", "{body:#}");
}
