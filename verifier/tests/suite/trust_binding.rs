//! Issue #13 at the verifier: a type the issuer is not authorised for cannot
//! ride along (HTTP report and the inspector page), status lists count only
//! from the credential's own key, and rollback floors survive a restart.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{status_list_credential, Bitstring, StatusPurpose};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
const ROOT_PASSPHRASE: &str = "test-only-passphrase";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

fn clinic_key() -> IssuerKey {
    IssuerKey::from_pkcs8_pem(&fixture("keys/test-issuer.pem")).unwrap()
}

/// A trust list (health commission root) with the clinic's fixture
/// certificate and an animal clinic certified only for dog vaccinations.
fn trust_list(sequence: u64, vet: &IssuerKey) -> Vec<u8> {
    trust_list_signed(sequence, vet, &[], None)
}

/// [`trust_list`], its root's CRL revoking `revoked`, signed by `signer` (a
/// trust-list signer key and certificate) instead of the root.
fn trust_list_signed(
    sequence: u64,
    vet: &IssuerKey,
    revoked: &[wallet_core::trust::RevocationEntry],
    signer: Option<(&IssuerKey, Vec<u8>)>,
) -> Vec<u8> {
    use wallet_core::trust::*;
    let now = Utc::now();
    let root_pem = fixture("trust/health-commission-root.pem");
    let root_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let validity = CertificateValidity { not_before: now - Duration::days(1), not_after: now + Duration::days(365) };
    let csr = create_csr(vet, "示例市动物诊疗中心", "91350100M000100Y43", &vet.did()).unwrap();
    let vet_cert =
        issue_certificate(&csr, &root_pem, &root_key, &["DogVaccinationCertificate"], &validity, &random_serial())
            .unwrap();
    let contents = TrustListContents {
        sequence,
        issued_at: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        roots: vec![certificate_pem_to_der(&root_pem).unwrap()],
        issuer_certificates: vec![
            certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap(),
            certificate_pem_to_der(&vet_cert).unwrap(),
        ],
        crls: vec![
            create_crl(&root_pem, &root_key, revoked, now - Duration::minutes(1), now + Duration::days(7)).unwrap()
        ],
    };
    match signer {
        Some((key, certificate)) => build_trust_list(&contents, key, &[certificate]).unwrap(),
        None => build_trust_list(&contents, &root_key, &[certificate_pem_to_der(&root_pem).unwrap()]).unwrap(),
    }
}

/// A verifier on `data_dir` (None: nothing persisted) with `list` as its trust
/// list file, requiring trust on VC-API too. Returns its base URL.
fn start_verifier(data_dir: Option<&std::path::Path>, list_file: &std::path::Path) -> String {
    start_verifier_with_roots(data_dir, list_file, &["health-commission-root.pem"])
}

/// A verifier configured with the roots `roots` (file names under `fixtures/trust`).
fn start_verifier_with_roots(
    data_dir: Option<&std::path::Path>,
    list_file: &std::path::Path,
    roots: &[&str],
) -> String {
    let mut settings = verifier::config::Settings::for_tests();
    settings.data_dir = data_dir.map(std::path::Path::to_path_buf);
    settings.trust.roots = roots.iter().map(|root| format!("{FIXTURES}/trust/{root}").into()).collect();
    settings.trust.trust_list_file = Some(list_file.to_path_buf());
    settings.trust.require_trust_on_vc_api = true;
    let app = verifier::startup::Application::build(&settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// Start a verifier on `data`, configured with `roots`, whose trust list file
/// `list_file` holds `list`: the HTTP status and the issuer-trust check of its
/// VC-API answer for `vc`.
async fn issuer_trust_after_start(
    data: &std::path::Path,
    list_file: &std::path::Path,
    list: &[u8],
    roots: &[&str],
    vc: &Value,
) -> (u16, Value) {
    std::fs::write(list_file, list).unwrap();
    let (status, body) = vc_api(&start_verifier_with_roots(Some(data), list_file, roots), vc).await;
    (status, body["report"]["checks"]["issuerTrust"].clone())
}

async fn vc_api(base: &str, vc: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/credentials/verify"))
        .json(&json!({"verifiableCredential": vc}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn dog_request() -> Value {
    json!({
        "ownerName": "陈静", "dogName": "旺财", "breed": "中华田园犬", "dogSex": "male", "birthYear": 2022,
        "microchipNumber": "900123456789012", "vaccine": "rabies", "vaccinationDate": "2026-03-01",
        "vaccinationClinic": "示例市动物疫病预防控制中心"
    })
}

fn unsigned_of(type_name: &str, request: &Value, issuer: &str) -> Value {
    let def = wallet_core::credential_type::TypeRegistry::shipped().unwrap().by_type(type_name).unwrap();
    let checked = def
        .check_request_keyed(
            request,
            Utc::now().date_naive(),
            Some(&wallet_core::credential::IdNumberKey::from_bytes([0x5a; 32])),
        )
        .unwrap();
    def.to_unsigned_credential(&checked, &wallet_core::credential::CredentialId::generate(), issuer)
}

/// Any configured root may sign the trust list. The market bureau's root key
/// is stolen; the thief signs a newer list carrying the health commission's
/// CRL from before it revoked a clinic (still within its `nextUpdate`), and
/// every verifier would trust the clinic again. A verifier that accepted the
/// health commission's newer CRL refuses the list, across a restart, with
/// `trust_list_crl_rollback`; the department's next list is taken.
#[tokio::test]
async fn attack_another_departments_root_cannot_bring_back_an_older_crl() {
    use wallet_core::trust::*;
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let vet = IssuerKey::generate();
    let honest = signed_with_status(unsigned_of("DogVaccinationCertificate", &dog_request(), &vet.did()), &vet).await;
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let market_pem = fixture("trust/market-supervision-root.pem");
    let market_key = decrypt_private_key(&fixture("trust/market-supervision-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let validity = CertificateValidity { not_before: now - Duration::days(1), not_after: now + Duration::days(365) };
    let csr = create_csr(&vet, "示例市动物诊疗中心", "91350100M000100Y43", &vet.did()).unwrap();
    let serial = random_serial();
    let vet_cert = certificate_pem_to_der(
        &issue_certificate(&csr, &health_pem, &health_key, &["DogVaccinationCertificate"], &validity, &serial).unwrap(),
    )
    .unwrap();
    let compromise = RevocationEntry {
        serial,
        revoked_at: now - Duration::hours(1),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let market_crl =
        create_crl(&market_pem, &market_key, &[], now - Duration::minutes(2), now + Duration::days(7)).unwrap();
    // A list of `sequence` with the health commission's CRL of `crl_at`, signed by `signer`'s root.
    let list = |sequence: u64, crl_at: DateTime<Utc>, revoked: &[RevocationEntry], (pem, key): (&str, &IssuerKey)| {
        let contents = TrustListContents {
            sequence,
            issued_at: now - Duration::minutes(1),
            next_update: now + Duration::days(7),
            roots: vec![certificate_pem_to_der(&health_pem).unwrap(), certificate_pem_to_der(&market_pem).unwrap()],
            issuer_certificates: vec![vet_cert.clone()],
            crls: vec![
                create_crl(&health_pem, &health_key, revoked, crl_at, crl_at + Duration::days(7)).unwrap(),
                market_crl.clone(),
            ],
        };
        build_trust_list(&contents, key, &[certificate_pem_to_der(pem).unwrap()]).unwrap()
    };
    let health = (health_pem.as_str(), &health_key);
    let market = (market_pem.as_str(), &market_key);
    let roots = ["health-commission-root.pem", "market-supervision-root.pem"];
    let thiefs = list(6, now - Duration::hours(2), &[], market);
    let list_file = dir.path().join("trust-list.json");

    // The premise: on its own, the thief's list installs and the clinic is trusted.
    let fresh = dir.path().join("fresh");
    let (status, trust) = issuer_trust_after_start(&fresh, &list_file, &thiefs, &roots, &honest).await;
    assert_eq!((status, &trust["result"]), (200, &json!("valid")), "{trust:#}");

    // The health commission's list revokes the clinic; the verifier takes it.
    let data = dir.path().join("data");
    let revoking = list(5, now - Duration::minutes(1), std::slice::from_ref(&compromise), health);
    let (status, trust) = issuer_trust_after_start(&data, &list_file, &revoking, &roots, &honest).await;
    assert_eq!((status, &trust["code"]), (422, &json!("issuer_revoked")), "{trust:#}");
    // Restarted with the thief's newer list: refused, the issuer not confirmed.
    let (status, trust) = issuer_trust_after_start(&data, &list_file, &thiefs, &roots, &honest).await;
    assert_eq!((status, &trust["code"]), (422, &json!("trust_list_crl_rollback")), "{trust:#}");
    assert!(trust["reason"]["en"].as_str().unwrap().contains("older than the one held"), "{trust:#}");
    // Leaving the CRL out is refused the same way.
    let without = TrustListContents {
        sequence: 6,
        issued_at: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        roots: vec![certificate_pem_to_der(&health_pem).unwrap(), certificate_pem_to_der(&market_pem).unwrap()],
        issuer_certificates: vec![vet_cert.clone()],
        crls: vec![market_crl.clone()],
    };
    let leaving_out = build_trust_list(&without, &market_key, &[certificate_pem_to_der(&market_pem).unwrap()]).unwrap();
    let (status, trust) = issuer_trust_after_start(&data, &list_file, &leaving_out, &roots, &honest).await;
    assert_eq!((status, &trust["code"]), (422, &json!("trust_list_crl_rollback")), "{trust:#}");
    // Review of this fix: a list that loads but cannot be reopened as of its
    // own `issuedAt` (made before its CRLs), which goes back on nothing, is
    // taken and kept; after a restart the kept file cannot judge the next
    // list, but the CRL floors kept beside it still do.
    let all_roots = [certificate_pem_to_der(&health_pem).unwrap(), certificate_pem_to_der(&market_pem).unwrap()];
    let poison = TrustListContents {
        issued_at: now - Duration::minutes(20),
        crls: vec![
            create_crl(
                &health_pem,
                &health_key,
                std::slice::from_ref(&compromise),
                now - Duration::minutes(1),
                now + Duration::days(7),
            )
            .unwrap(),
            market_crl.clone(),
        ],
        ..without
    };
    let poison = build_trust_list(&poison, &market_key, &[certificate_pem_to_der(&market_pem).unwrap()]).unwrap();
    assert!(TrustList::reopen_held(&poison, &all_roots).is_err(), "the premise: it does not reopen");
    let (status, trust) = issuer_trust_after_start(&data, &list_file, &poison, &roots, &honest).await;
    assert_eq!((status, &trust["code"]), (422, &json!("issuer_revoked")), "{trust:#}");
    let older = list(7, now - Duration::hours(2), &[], market);
    let (status, trust) = issuer_trust_after_start(&data, &list_file, &older, &roots, &honest).await;
    assert_eq!((status, &trust["code"]), (422, &json!("trust_list_crl_rollback")), "{trust:#}");
    let kept: Value = serde_json::from_slice(&std::fs::read(data.join("rollback-state.json")).unwrap()).unwrap();
    assert_eq!(kept["crlFloors"].as_object().map(serde_json::Map::len), Some(2), "{kept:#}");
    // The department's next list (any root may sign it), with the same CRL or a newer one, is taken.
    for (sequence, signer) in [(7, market), (8, health)] {
        let crl_at = now - Duration::minutes(1) + Duration::seconds(i64::try_from(sequence).unwrap());
        let next = list(sequence, crl_at, std::slice::from_ref(&compromise), signer);
        let (status, trust) = issuer_trust_after_start(&data, &list_file, &next, &roots, &honest).await;
        assert_eq!((status, &trust["code"]), (422, &json!("issuer_revoked")), "{sequence}: {trust:#}");
    }
}

/// The vet's dog certificate, also typed `HealthCertificate` (with both types' contexts).
async fn smuggled_health_certificate(vet: &IssuerKey) -> Value {
    let mut vc = unsigned_of("DogVaccinationCertificate", &dog_request(), &vet.did());
    vc["type"] = json!(["VerifiableCredential", "HealthCertificate", "DogVaccinationCertificate"]);
    let health = unsigned_of("HealthCertificate", &crate::support::requests::health_request(), &vet.did());
    let mut contexts = vc["@context"].as_array().unwrap().clone();
    for c in health["@context"].as_array().unwrap() {
        if !contexts.contains(c) {
            contexts.push(c.clone());
        }
    }
    vc["@context"] = json!(contexts);
    signed_with_status(vc, vet).await
}

/// `unsigned` with status entries on a list server serving the list signed
/// by `key`, signed by `key`.
async fn signed_with_status(unsigned: Value, key: &IssuerKey) -> Value {
    let (unsigned, lists) = crate::support::status_lists::with_status_entries(unsigned);
    lists.serve_signed_by(key).await;
    sign_credential(&unsigned, key, Utc::now() - Duration::minutes(1)).await.unwrap()
}

#[tokio::test]
async fn a_dog_vaccination_issuer_cannot_pass_as_a_health_certificate_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let vet = IssuerKey::generate();
    let list_file = dir.path().join("trust-list.json");
    std::fs::write(&list_file, trust_list(1, &vet)).unwrap();
    let base = start_verifier(None, &list_file);
    let smuggled = smuggled_health_certificate(&vet).await;

    let (status, body) = vc_api(&base, &smuggled).await;
    assert_eq!(status, 422, "{body:#}");
    let report = &body["report"];
    assert_eq!(report["checks"]["signature"]["result"], "valid", "{body:#}");
    assert_eq!(report["checks"]["issuerTrust"]["code"], "type_not_allowed", "{body:#}");
    assert!(report["checks"]["issuerTrust"]["reason"]["en"].as_str().unwrap().contains("HealthCertificate"));
    assert!(report["trustedIssuer"].is_null(), "{body:#}");

    // The inspector's QR route and page: rejected, and never called a health certificate.
    let http = reqwest::Client::new();
    let text = wallet_core::compact::encode_credential(&smuggled).expect("the QR text");
    let resp = http.post(format!("{base}/verify/qr")).json(&json!({"qr": text})).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "type_not_allowed", "{body:#}");
    for lang in ["zh", "en"] {
        let page = http
            .post(format!("{base}/inspect/qr?lang={lang}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("qr", text.as_str())]).unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("健康证明") && !page.contains("Health certificate"), "{lang}: {page}");
        assert!(page.contains("类型未经确认的凭证") || page.contains("Credential of unconfirmed type"), "{page}");
    }

    // Its honest dog certificate verifies.
    let honest = unsigned_of("DogVaccinationCertificate", &dog_request(), &vet.did());
    let honest = signed_with_status(honest, &vet).await;
    let (status, body) = vc_api(&base, &honest).await;
    assert_eq!(body["report"]["checks"]["issuerTrust"]["result"], "valid", "{body:#}");
    assert_eq!(body["report"]["trustedIssuer"]["authorisedTypes"], json!(["DogVaccinationCertificate"]));
    assert_eq!(status, 200, "{body:#}");
}

/// seq 5 accepted, verifier stopped; started again on the same data
/// directory with seq 4 in the trust list file: refused, trust fails with
/// `trust_list_rollback`. A verifier without the persisted state would
/// have taken it (the floor comes from the file).
#[tokio::test]
async fn an_older_trust_list_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vet = IssuerKey::generate();
    let list_file = dir.path().join("trust-list.json");
    let honest = unsigned_of("DogVaccinationCertificate", &dog_request(), &vet.did());
    let honest = signed_with_status(honest, &vet).await;

    std::fs::write(&list_file, trust_list(5, &vet)).unwrap();
    let first = start_verifier(Some(&data), &list_file);
    let (status, body) = vc_api(&first, &honest).await;
    assert_eq!(status, 200, "{body:#}");
    let saved: Value = serde_json::from_slice(&std::fs::read(data.join("rollback-state.json")).unwrap()).unwrap();
    assert_eq!(saved["trustListSequence"], 5);

    // "Restart": a new verifier process state on the same data directory.
    std::fs::write(&list_file, trust_list(4, &vet)).unwrap();
    let restarted = start_verifier(Some(&data), &list_file);
    let (status, body) = vc_api(&restarted, &honest).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "trust_list_rollback", "{body:#}");

    let forgetful = start_verifier(None, &list_file);
    let (status, _) = vc_api(&forgetful, &honest).await;
    assert_eq!(status, 200, "without the saved floor the older list would be taken");

    // A newer list is taken after the restart.
    std::fs::write(&list_file, trust_list(6, &vet)).unwrap();
    let again = start_verifier(Some(&data), &list_file);
    let (status, body) = vc_api(&again, &honest).await;
    assert_eq!(status, 200, "{body:#}");
}

fn status_list(url: &str, signer: &IssuerKey, valid_from: DateTime<Utc>, revoked: bool) -> Value {
    let mut bits = Bitstring::new(131_072);
    bits.set(42, revoked).unwrap();
    status_list_credential(
        url,
        &signer.did(),
        StatusPurpose::Revocation,
        &bits,
        valid_from,
        valid_from + Duration::days(7),
    )
}

/// The status sync across a restart: the clinic's newer list accepted, then
/// (restarted on the same data directory) its older one refused; another
/// key's list at the same URL is taken under its own signer without
/// touching the clinic's floor.
#[tokio::test]
async fn an_older_status_list_is_refused_after_a_restart() {
    use verifier::rollback_state::RollbackState;
    use verifier::status_sync::{StatusSettings, StatusState};
    let dir = tempfile::tempdir().unwrap();
    let clinic = clinic_key();
    let attacker = IssuerKey::generate();
    let url = "https://issuer.example.gov.cn/status/9";
    let now = Utc::now();
    let older =
        sign_credential(&status_list(url, &clinic, now - Duration::hours(2), false), &clinic, now - Duration::hours(2))
            .await
            .unwrap();
    let newer =
        sign_credential(&status_list(url, &clinic, now - Duration::hours(1), true), &clinic, now - Duration::hours(1))
            .await
            .unwrap();
    let theirs = sign_credential(
        &status_list(url, &attacker, now - Duration::minutes(1), false),
        &attacker,
        now - Duration::minutes(1),
    )
    .await
    .unwrap();

    let first = StatusState::new(&StatusSettings::default(), RollbackState::open(dir.path()).unwrap()).unwrap();
    first.offer(url, &newer).await.unwrap();
    drop(first);

    let restarted = StatusState::new(&StatusSettings::default(), RollbackState::open(dir.path()).unwrap()).unwrap();
    let err = restarted.offer(url, &older).await.unwrap_err();
    assert_eq!(err.code(), "status_list_rollback");
    restarted.offer(url, &theirs).await.expect("another signer's list does not collide with the clinic's floor");
    let err = restarted.offer(url, &older).await.unwrap_err();
    assert_eq!(err.code(), "status_list_rollback", "the other signer's list did not reset the clinic's floor");
    restarted.offer(url, &newer).await.unwrap();

    // Without the saved state the older list would have been taken.
    let forgetful = StatusState::new(&StatusSettings::default(), RollbackState::in_memory()).unwrap();
    forgetful.offer(url, &older).await.unwrap();
}

/// Attack review: a list signed with a stolen trust-list signer key carrying
/// sequence u64::MAX would set a rollback floor no genuine list can pass,
/// every verifier shut out of its department's lists for good. A list more
/// than `MAX_SEQUENCE_STEP` ahead of the accepted one is refused
/// (`trust_list_sequence_jump`); one at the step is taken.
#[tokio::test]
async fn attack_a_trust_list_sequence_far_ahead_cannot_lock_out_the_next_genuine_list() {
    use wallet_core::trust::MAX_SEQUENCE_STEP;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vet = IssuerKey::generate();
    let list_file = dir.path().join("trust-list.json");
    let honest = signed_with_status(unsigned_of("DogVaccinationCertificate", &dog_request(), &vet.did()), &vet).await;

    std::fs::write(&list_file, trust_list(5, &vet)).unwrap();
    let (status, body) = vc_api(&start_verifier(Some(&data), &list_file), &honest).await;
    assert_eq!(status, 200, "{body:#}");
    for ahead in [u64::MAX, 5 + MAX_SEQUENCE_STEP + 1] {
        std::fs::write(&list_file, trust_list(ahead, &vet)).unwrap();
        let (status, body) = vc_api(&start_verifier(Some(&data), &list_file), &honest).await;
        assert_eq!(status, 422, "{body:#}");
        assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "trust_list_sequence_jump", "{body:#}");
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(data.join("rollback-state.json")).unwrap()).unwrap();
    assert_eq!(saved["trustListSequence"], 5, "the floor did not move");
    // The next genuine list, and one exactly a step ahead, are taken.
    for next in [6, 6 + MAX_SEQUENCE_STEP] {
        std::fs::write(&list_file, trust_list(next, &vet)).unwrap();
        let (status, body) = vc_api(&start_verifier(Some(&data), &list_file), &honest).await;
        assert_eq!(status, 200, "{next}: {body:#}");
    }
}

/// Attack review 3: the department revokes a trust-list signer whose key was
/// stolen; the thief's next list leaves that CRL out. A running verifier
/// refuses it (the held list revokes its signer); so must one restarted in
/// between, which once judged the first list after a restart by that list's
/// own CRLs only. The list accepted is kept in the data directory.
#[tokio::test]
async fn attack_a_revoked_trust_list_signer_is_remembered_across_a_restart() {
    use wallet_core::trust::*;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vet = IssuerKey::generate();
    let honest = signed_with_status(unsigned_of("DogVaccinationCertificate", &dog_request(), &vet.did()), &vet).await;
    let root_pem = fixture("trust/health-commission-root.pem");
    let root_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let signer_key = IssuerKey::generate();
    let csr = create_csr(&signer_key, "示例市信任列表运营中心", "12110000MB0000001U", &signer_key.did()).unwrap();
    let serial = random_serial();
    let validity =
        CertificateValidity { not_before: Utc::now() - Duration::days(1), not_after: Utc::now() + Duration::days(365) };
    let signer_cert = certificate_pem_to_der(
        &issue_trust_list_signer_certificate(&csr, &root_pem, &root_key, &validity, &serial).unwrap(),
    )
    .unwrap();
    let revocation = RevocationEntry {
        serial,
        revoked_at: Utc::now() - Duration::hours(1),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let thiefs = trust_list_signed(6, &vet, &[], Some((&signer_key, signer_cert.clone())));

    // The premise: on its own, the thief's list installs.
    let fresh = dir.path().join("fresh");
    let list_file = dir.path().join("trust-list.json");
    std::fs::write(&list_file, &thiefs).unwrap();
    let (status, body) = vc_api(&start_verifier(Some(&fresh), &list_file), &honest).await;
    assert_eq!(status, 200, "{body:#}");

    // The department's list revokes the signer; the verifier takes it and keeps it.
    std::fs::write(&list_file, trust_list_signed(5, &vet, std::slice::from_ref(&revocation), None)).unwrap();
    let (status, body) = vc_api(&start_verifier(Some(&data), &list_file), &honest).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(data.join("held-trust-list.json").is_file());
    // Restarted with the thief's list: refused, the issuer not confirmed.
    std::fs::write(&list_file, &thiefs).unwrap();
    let (status, body) = vc_api(&start_verifier(Some(&data), &list_file), &honest).await;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["report"]["checks"]["issuerTrust"]["code"], "untrusted_trust_list_signer", "{body:#}");
    // The department's next list, signed by its root, is taken.
    std::fs::write(&list_file, trust_list_signed(7, &vet, std::slice::from_ref(&revocation), None)).unwrap();
    let (status, body) = vc_api(&start_verifier(Some(&data), &list_file), &honest).await;
    assert_eq!(status, 200, "{body:#}");
}
