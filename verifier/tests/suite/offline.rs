//! Offline inspection with a signed verifier bundle: `verifier check` runs in a
//! network namespace with only loopback (`unshare -n`), so any network use
//! would fail. A fresh bundle verifies a valid credential and fails a revoked
//! one; 3 days old, the result carries staleness warnings; 8 days old, the
//! status check fails; a bundle signed by an unknown key is refused.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use wallet_core::trust::*;
use wallet_core::verifier_bundle::{sign_bundle, BundledStatusList, VerifierBundle, VERIFIER_BUNDLE_VERSION};

use crate::support::require::{require, Dep};

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
pub(crate) const ROOT_PASSPHRASE: &str = "test-only-passphrase";

pub(crate) fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

/// The departments' trust list as issued `issued` ago (valid 7 days from then).
pub(crate) fn trust_list(issued: chrono::DateTime<Utc>) -> Vec<u8> {
    numbered_trust_list(issued, 1, &[])
}

/// [`trust_list`] with its `sequence`, the health commission's CRL revoking `revoked`.
fn numbered_trust_list(issued: chrono::DateTime<Utc>, sequence: u64, revoked: &[RevocationEntry]) -> Vec<u8> {
    let health_pem = fixture("trust/health-commission-root.pem");
    let market_pem = fixture("trust/market-supervision-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let market_key = decrypt_private_key(&fixture("trust/market-supervision-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let next = issued + Duration::days(7);
    let contents = TrustListContents {
        sequence,
        issued_at: issued,
        next_update: next,
        roots: vec![certificate_pem_to_der(&health_pem).unwrap(), certificate_pem_to_der(&market_pem).unwrap()],
        issuer_certificates: vec![certificate_pem_to_der(&fixture("trust/clinic-test-issuer.pem")).unwrap()],
        crls: vec![
            create_crl(&health_pem, &health_key, revoked, issued - Duration::minutes(1), next).unwrap(),
            create_crl(&market_pem, &market_key, &[], issued - Duration::minutes(1), next).unwrap(),
        ],
    };
    build_trust_list(&contents, &health_key, &[certificate_pem_to_der(&health_pem).unwrap()]).unwrap()
}

/// A bundle collected `age` ago, signed by the health commission's root key (or `signer`).
fn bundle(
    age: Duration,
    lists: &[BundledStatusList],
    signer: Option<(&wallet_core::keys::IssuerKey, Vec<u8>)>,
) -> Vec<u8> {
    numbered_bundle(7, age, lists, signer)
}

/// [`bundle`] with its `sequence`.
fn numbered_bundle(
    sequence: u64,
    age: Duration,
    lists: &[BundledStatusList],
    signer: Option<(&wallet_core::keys::IssuerKey, Vec<u8>)>,
) -> Vec<u8> {
    bundle_carrying(sequence, age, trust_list(Utc::now() - age), lists, signer)
}

/// [`numbered_bundle`] carrying `trust_list`.
fn bundle_carrying(
    sequence: u64,
    age: Duration,
    trust_list: Vec<u8>,
    lists: &[BundledStatusList],
    signer: Option<(&wallet_core::keys::IssuerKey, Vec<u8>)>,
) -> Vec<u8> {
    let issued = Utc::now() - age;
    let contents = VerifierBundle {
        version: VERIFIER_BUNDLE_VERSION,
        sequence,
        issued_at: issued,
        trust_list: String::from_utf8(trust_list).unwrap(),
        status_lists: lists.to_vec(),
        checkpoints: Vec::new(),
        logs: Vec::new(),
        base_sequence: None,
    };
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    match signer {
        Some((key, cert)) => sign_bundle(&contents, key, &[cert]).unwrap(),
        None => sign_bundle(&contents, &health_key, &[certificate_pem_to_der(&health_pem).unwrap()]).unwrap(),
    }
}

/// `unshare -n` when this machine allows it (root, user namespaces). Else the
/// isolation is skipped (loudly; a failure under `CI` / `REQUIRE_NETNS`) and
/// `verifier check` runs without a network namespace.
fn offline_prefix() -> Option<Vec<String>> {
    require(Dep::Netns).map(|unshare| vec![unshare, "-n".into()])
}

/// Runs `verifier check` offline with a data directory of its own (no
/// rollback floor carried over); (exit code, JSON output).
pub(crate) fn check(bundle_path: &Path, input: &str) -> (i32, Value) {
    let data = tempfile::tempdir().unwrap();
    check_in(data.path(), bundle_path, input)
}

/// Runs `verifier check` offline with `data_dir` as its data directory (where
/// the highest bundle sequence seen is kept); (exit code, JSON output).
pub(crate) fn check_in(data_dir: &Path, bundle_path: &Path, input: &str) -> (i32, Value) {
    let verifier = env!("CARGO_BIN_EXE_verifier");
    let args = [
        "check".to_owned(),
        "--bundle".into(),
        bundle_path.display().to_string(),
        "--trust-root".into(),
        format!("{FIXTURES}/trust/health-commission-root.pem"),
        "--trust-root".into(),
        format!("{FIXTURES}/trust/market-supervision-root.pem"),
        input.to_owned(),
    ];
    let output = match offline_prefix() {
        Some(prefix) => Command::new(&prefix[0])
            .args(&prefix[1..])
            .arg(verifier)
            .args(&args)
            .env("VERIFIER_DATA_DIR", data_dir)
            .output(),
        None => Command::new(verifier).args(&args).env("VERIFIER_DATA_DIR", data_dir).output(),
    }
    .expect("running verifier check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap_or(-1), json)
}

fn warning_codes(report: &Value) -> Vec<String> {
    report["report"]["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap().to_owned()).collect()
}

/// A real issuer holding the fixture clinic's key (the one the trust list certifies).
struct ClinicIssuer {
    base: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl ClinicIssuer {
    async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("issuer-key.pem"), fixture("keys/test-issuer.pem")).unwrap();
        let settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
        let app = issuer::startup::Application::build(&settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let http = issuer::accounts::authorized_client(&settings).await.unwrap();
        Self { base, http, _data: data }
    }

    /// Issues a health certificate; the signed credential.
    async fn issue(&self) -> Value {
        let request = json!({
            "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
            "idNumber": "11010519491231002X",
            "examinationDate": Utc::now().date_naive().format("%Y-%m-%d").to_string(),
            "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
        });
        let resp =
            self.http.post(format!("{}/api/v1/health-certificates", self.base)).json(&request).send().await.unwrap();
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["credential"].clone()
    }

    /// Issues a health certificate and revokes it: the credential, and its
    /// status lists collected before and after the revocation.
    async fn issued_then_revoked(&self) -> (Value, Vec<BundledStatusList>, Vec<BundledStatusList>) {
        let vc = self.issue().await;
        let before = collect_lists(&self.http, &vc).await;
        let uuid = vc["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
        let resp = self
            .http
            .post(format!("{}/credentials/{uuid}/status", self.base))
            .json(&json!({"action": "revoke", "reason": "复查不合格 / failed re-examination", "by": "test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let after = collect_lists(&self.http, &vc).await;
        (vc, before, after)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_checks_against_a_signed_bundle() {
    // Online: a real issuer with the clinic's certified key issues two certificates and revokes one.
    let issuer = ClinicIssuer::start().await;
    let (base, http) = (&issuer.base, &issuer.http);
    let issued = [issuer.issue().await, issuer.issue().await];
    let (valid, revoked) = (&issued[0], &issued[1]);
    let uuid = revoked["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    let resp = http
        .post(format!("{base}/credentials/{uuid}/status"))
        .json(&json!({"action": "revoke", "reason": "证件遗失 / reported lost", "by": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The department collects the status lists the credentials name.
    let mut lists = Vec::new();
    let mut urls: Vec<String> = issued
        .iter()
        .flat_map(|vc| vc["credentialStatus"].as_array().unwrap().clone())
        .map(|entry| entry["statusListCredential"].as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    urls.dedup();
    for url in urls {
        let credential: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        lists.push(BundledStatusList { url, credential });
    }
    let qr = |vc: &Value| wallet_core::compact::encode_credential(vc).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    // Fresh bundle.
    let fresh = write("fresh.json", bundle(Duration::minutes(5), &lists, None));
    let (code, out) = check(&fresh, &qr(valid));
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["report"]["checks"]["status"]["result"], "valid");
    assert_eq!(out["report"]["checks"]["issuerTrust"]["result"], "valid");
    assert!(out["bundleProblems"].as_array().unwrap().is_empty(), "{out:#}");
    let (code, out) = check(&fresh, &qr(revoked));
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["report"]["checks"]["status"]["code"], "revoked");

    // From a photo of the QR code, too.
    let png = wallet_core::qr::render_png(&qr(valid), 4).unwrap();
    let photo = write("qr.png", png);
    let (code, _) = check(&fresh, photo.to_str().unwrap());
    assert_eq!(code, 0);

    // Three days old: still verifies, and says which data is aging.
    let aging = write("aging.json", bundle(Duration::days(3), &lists, None));
    let (code, out) = check(&aging, &qr(valid));
    assert_eq!(code, 0, "{out:#}");
    let warnings = warning_codes(&out);
    assert!(warnings.iter().any(|w| w == "status_data_aging"), "{warnings:?}");

    // Eight days old: the status check fails, naming the stale status data.
    let stale = write("stale.json", bundle(Duration::days(8), &lists, None));
    let (code, out) = check(&stale, &qr(valid));
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["report"]["checks"]["status"]["code"], "status_data_stale", "{out:#}");

    // Signed by a key no configured department vouches for: refused.
    let stranger = wallet_core::keys::IssuerKey::generate();
    let validity =
        CertificateValidity { not_before: Utc::now() - Duration::days(1), not_after: Utc::now() + Duration::days(30) };
    let rogue = create_root(
        &DepartmentName { organization: "冒牌部门".into(), common_name: "Rogue".into() },
        &validity,
        &stranger,
    )
    .unwrap();
    let forged = write(
        "forged.json",
        bundle(Duration::minutes(5), &lists, Some((&stranger, certificate_pem_to_der(&rogue).unwrap()))),
    );
    let (code, out) = check(&forged, &qr(valid));
    assert_eq!(code, 2, "{out:#}");
    assert_eq!(out["error"], "bundle_untrusted_signer", "{out:#}");

    // A bundle altered after signing: refused.
    let mut tampered = std::fs::read(&fresh).unwrap();
    let at = tampered.windows(7).position(|w| w == b"\"sequen").unwrap();
    tampered[at + 12] = b'8';
    let tampered = write("tampered.json", tampered);
    let (code, out) = check(&tampered, &qr(valid));
    assert_eq!(code, 2, "{out:#}");
}

/// The status lists `vc` names, as the department collects them now.
async fn collect_lists(http: &reqwest::Client, vc: &Value) -> Vec<BundledStatusList> {
    let mut lists = Vec::new();
    for entry in vc["credentialStatus"].as_array().unwrap() {
        let url = entry["statusListCredential"].as_str().unwrap().to_owned();
        let credential: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        lists.push(BundledStatusList { url, credential });
    }
    lists
}

/// Attack review part 2 (rollback): an inspector's laptop is handed yesterday's
/// bundle, validly signed, in which a since-revoked certificate is still clear.
/// Once a newer bundle was opened there, the older one is refused, by the next
/// `verifier check` process too (the floor is kept in the data directory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_an_older_bundle_is_refused_once_a_newer_one_was_opened() {
    let issuer = ClinicIssuer::start().await;
    let (vc, before, after) = issuer.issued_then_revoked().await;

    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    std::fs::write(&old, numbered_bundle(10, Duration::hours(2), &before, None)).unwrap();
    let new = dir.path().join("new.json");
    std::fs::write(&new, numbered_bundle(11, Duration::minutes(5), &after, None)).unwrap();
    let qr = wallet_core::compact::encode_credential(&vc).unwrap();
    let state = dir.path().join("state");

    // Before anything newer was seen, the old bundle is what it is: clear.
    let (code, out) = check_in(&state, &old, &qr);
    assert_eq!(code, 0, "{out:#}");
    let (code, out) = check_in(&state, &new, &qr);
    assert_eq!((code, &out["report"]["checks"]["status"]["code"]), (1, &json!("revoked")), "{out:#}");
    // The replay, in a new process: refused, the revocation is not undone.
    let (code, out) = check_in(&state, &old, &qr);
    assert_eq!((code, &out["error"]), (2, &json!("bundle_rollback")), "{out:#}");
    // The same bundle again is fine.
    let (code, _) = check_in(&state, &new, &qr);
    assert_eq!(code, 1);
}

/// Attack review 3: the key of a department's bundle signer (a trust-list
/// signer certificate under the health commission's root) is stolen and the
/// department revokes it. The thief keeps signing bundles with the status
/// lists from before a revocation, carrying a trust list whose CRL revokes
/// the thief's certificate, or an older one without that CRL, or with a
/// sequence far ahead (a floor no genuine bundle passes). Each is refused at
/// `verifier check`, across processes (the trust list is kept in the data
/// directory); the department's own bundle still opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_revoked_bundle_signer_cannot_serve_bundles() {
    let issuer = ClinicIssuer::start().await;
    let (vc, before, after) = issuer.issued_then_revoked().await;
    let qr = wallet_core::compact::encode_credential(&vc).unwrap();

    // The bundle signer: certified by the health commission's root for signing lists.
    let health_pem = fixture("trust/health-commission-root.pem");
    let health_key = decrypt_private_key(&fixture("trust/health-commission-root.key.pem"), ROOT_PASSPHRASE).unwrap();
    let signer_key = wallet_core::keys::IssuerKey::generate();
    let csr =
        create_csr(&signer_key, "示例市卫生健康委员会核验数据包", "12110000MB0000001U", &signer_key.did()).unwrap();
    let serial = random_serial();
    let validity = CertificateValidity {
        not_before: Utc::now() - Duration::days(30),
        not_after: Utc::now() + Duration::days(300),
    };
    let signer_cert = certificate_pem_to_der(
        &issue_trust_list_signer_certificate(&csr, &health_pem, &health_key, &validity, &serial).unwrap(),
    )
    .unwrap();
    let signed_by_thief = || Some((&signer_key, signer_cert.clone()));
    let revocation = RevocationEntry {
        serial: serial.clone(),
        revoked_at: Utc::now() - Duration::hours(1),
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    let issued = Utc::now() - Duration::minutes(30);
    let revoking_list = numbered_trust_list(issued, 2, std::slice::from_ref(&revocation));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    // The premise: before the revocation its bundles open, old lists and all.
    let unrevoked = write("unrevoked.json", numbered_bundle(10, Duration::hours(2), &before, signed_by_thief()));
    let (code, out) = check(&unrevoked, &qr);
    assert_eq!(code, 0, "a signer nobody revoked signs bundles: {out:#}");

    // 1. Carrying the department's current list, whose CRL revokes its signer.
    let carrying_crl = write(
        "carrying-crl.json",
        bundle_carrying(11, Duration::minutes(5), revoking_list.clone(), &before, signed_by_thief()),
    );
    let (code, out) = check(&carrying_crl, &qr);
    assert_eq!((code, &out["error"]), (2, &json!("bundle_untrusted_signer")), "{out:#}");

    // The department's own bundle (root-signed) carries that list: it opens, says
    // revoked, and this inspector keeps the list.
    let state = dir.path().join("state");
    let departments =
        write("department.json", bundle_carrying(11, Duration::minutes(5), revoking_list.clone(), &after, None));
    let (code, out) = check_in(&state, &departments, &qr);
    assert_eq!((code, &out["report"]["checks"]["status"]["code"]), (1, &json!("revoked")), "{out:#}");
    assert!(state.join("held-trust-list.json").is_file());

    // 2. The thief's next bundle leaves the revoking list out and carries the
    //    older one: refused by the list kept, in this later process.
    let older_list = numbered_trust_list(issued, 1, &[]);
    let leaving_out =
        write("leaving-out.json", bundle_carrying(12, Duration::minutes(1), older_list, &before, signed_by_thief()));
    let (code, out) = check_in(&state, &leaving_out, &qr);
    assert_eq!((code, &out["error"]), (2, &json!("bundle_trust_list_rollback")), "{out:#}");
    // And carrying the current list, it is refused here as anywhere.
    let (code, out) = check_in(&state, &carrying_crl, &qr);
    assert_eq!((code, &out["error"]), (2, &json!("bundle_untrusted_signer")), "{out:#}");

    // 3. A sequence far ahead: it would set a floor no genuine bundle passes.
    let step = wallet_core::trust::MAX_SEQUENCE_STEP;
    let far =
        write("far.json", bundle_carrying(11 + step + 1, Duration::minutes(1), revoking_list.clone(), &after, None));
    let (code, out) = check_in(&state, &far, &qr);
    assert_eq!((code, &out["error"]), (2, &json!("bundle_sequence_jump")), "{out:#}");
    // The department's next bundle, one step at most ahead, opens and the revocation stands.
    let next = write("next.json", bundle_carrying(11 + step, Duration::minutes(1), revoking_list, &after, None));
    let (code, out) = check_in(&state, &next, &qr);
    assert_eq!((code, &out["report"]["checks"]["status"]["code"]), (1, &json!("revoked")), "{out:#}");
}

/// The department's verifier publishes the bundle: `GET /bundle` is signed by its
/// bundle key and verifies the issuer's credential offline; after a revocation the
/// inspector asks `?since=N` and gets a delta carrying only the changed list, which
/// wallet-core merges into the held bundle; the merged bundle says `revoked`. A
/// current inspector gets 304.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_publishes_full_bundles_and_deltas() {
    use wallet_core::verifier_bundle::{open_bundle, open_payload, read_signed_bundle, FreshnessPolicy};
    let issuer = ClinicIssuer::start().await;
    let (issuer_base, http) = (&issuer.base, &issuer.http);
    let vc = issuer.issue().await;
    let qr = wallet_core::compact::encode_credential(&vc).unwrap();

    // The department's verifier: trust list + roots, bundle key, the issuer to cover.
    let dir = tempfile::tempdir().unwrap();
    let trust_file = dir.path().join("trust-list.json");
    std::fs::write(&trust_file, trust_list(Utc::now() - Duration::minutes(10))).unwrap();
    let mut vsettings = verifier::config::Settings::for_tests();
    vsettings.trust.roots = vec![format!("{FIXTURES}/trust/health-commission-root.pem").into()];
    vsettings.trust.trust_list_file = Some(trust_file);
    vsettings.bundle.key = Some(format!("{FIXTURES}/trust/health-commission-root.key.pem").into());
    vsettings.bundle.certs = vec![format!("{FIXTURES}/trust/health-commission-root.pem").into()];
    vsettings.bundle.passphrase = Some(ROOT_PASSPHRASE.into());
    vsettings.bundle.issuers = vec![issuer_base.clone()];
    vsettings.bundle.interval_secs = 1;
    let verifier_app = verifier::startup::Application::build(&vsettings).unwrap();
    let verifier_base = format!("http://127.0.0.1:{}", verifier_app.port());
    tokio::spawn(verifier_app.run_until_stopped());
    let client = reqwest::Client::new();
    let get = |query: String, etag: Option<String>| {
        let client = client.clone();
        let url = format!("{verifier_base}/bundle{query}");
        async move {
            let mut req = client.get(url);
            if let Some(etag) = etag {
                req = req.header("If-None-Match", etag);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let delta_from = resp.headers().get("x-bundle-delta-from").map(|v| v.to_str().unwrap().to_owned());
            let etag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
            (status, etag, delta_from, resp.bytes().await.unwrap().to_vec())
        }
    };
    let roots = [certificate_pem_to_der(&fixture("trust/health-commission-root.pem")).unwrap()];
    let policy = FreshnessPolicy::default();

    // The first collection: a full bundle with the issuer's two lists.
    let mut full = None;
    for _ in 0..100 {
        let (status, etag, _, bytes) = get(String::new(), None).await;
        if status == 200 {
            full = Some((etag.unwrap(), bytes));
            break;
        }
        assert_eq!(status, 503, "{}", String::from_utf8_lossy(&bytes));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (etag, full) = full.expect("a bundle within 10 s");
    // Asked for gzip: the same bytes, gzipped once when published.
    let gzipped = client.get(format!("{verifier_base}/bundle")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let compressed = gzipped.bytes().await.unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(compressed.as_ref()), &mut unzipped).unwrap();
    assert_eq!(unzipped, full, "the gzipped bundle is the bundle");
    assert!(compressed.len() < full.len());
    let opened = open_bundle(&full, &roots, Utc::now(), policy, None).await.unwrap();
    assert_eq!(opened.bundle.status_lists.len(), 2, "revocation and suspension lists");
    assert_eq!(format!("\"{}\"", opened.bundle.sequence), etag);
    let checked = opened.verify_qr_text(&qr, None, Utc::now()).await.unwrap();
    assert!(checked.report.verified, "{:#?}", checked.report);
    let held = opened.bundle.clone();
    // Nothing changed: 304 both ways.
    assert_eq!(get(String::new(), Some(etag.clone())).await.0, 304);
    assert_eq!(get(format!("?since={}", held.sequence), None).await.0, 304);

    // Revoke; the next collection publishes a new bundle; the inspector asks for a delta.
    let uuid = vc["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    let resp = http
        .post(format!("{issuer_base}/credentials/{uuid}/status"))
        .json(&json!({"action": "revoke", "reason": "test", "by": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut delta = None;
    for _ in 0..100 {
        let (status, _, delta_from, bytes) = get(format!("?since={}", held.sequence), None).await;
        if status == 200 {
            assert_eq!(delta_from, Some(held.sequence.to_string()));
            delta = Some(bytes);
            break;
        }
        assert_eq!(status, 304);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let delta_bytes = delta.expect("a new bundle within 10 s");
    let delta = read_signed_bundle(&delta_bytes, &roots, Utc::now()).unwrap();
    assert_eq!(delta.base_sequence, Some(held.sequence));
    assert_eq!(delta.status_lists.len(), 1, "only the revocation list changed");
    assert!(delta.trust_list.is_empty(), "the trust list did not change");
    assert!(delta_bytes.len() * 2 < full.len(), "delta {} B vs full {} B", delta_bytes.len(), full.len());
    let merged = VerifierBundle::apply_delta(&held, delta.clone()).unwrap();
    assert_eq!(merged.status_lists.len(), 2);
    let reopened = open_payload(merged, &roots, Utc::now(), policy).await;
    assert!(reopened.problems.is_empty(), "{:?}", reopened.problems);
    let checked = reopened.verify_qr_text(&qr, None, Utc::now()).await.unwrap();
    assert!(!checked.report.verified);
    assert_eq!(checked.report.first_failure(), Some("revoked"), "{:#?}", checked.report);
    // A delta cannot be applied twice or to another base.
    assert!(VerifierBundle::apply_delta(&reopened.bundle, delta).is_err());
    // An unknown base gets the full bundle.
    let (status, _, delta_from, bytes) = get("?since=1".into(), None).await;
    assert_eq!((status, delta_from), (200, None));
    assert!(open_bundle(&bytes, &roots, Utc::now(), policy, Some(held.sequence)).await.is_ok());
    eprintln!("bundle sizes: full {} B, delta {} B", full.len(), delta_bytes.len());
}
