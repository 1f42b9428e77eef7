//! The issuer signing with a key in a PKCS#11 token: a throw-away SoftHSM2
//! token (its own `SOFTHSM2_CONF` and token directory), keys generated in it,
//! issuers started with `--signing-key pkcs11:…`. What they sign (credentials,
//! status lists, log checkpoints) verifies with wallet-core; the private key
//! cannot be read or wrapped out of the token; bad configurations stop the
//! issuer with a message naming the problem; rotation to a new token key keeps
//! old credentials valid.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use wallet_core::signer::IssuerSigner as _;
use wallet_core::transparency::LogKey;
use wallet_core::verification::{verify_credential, VerifyOptions};

use crate::support::requests::health_request;
use crate::support::softhsm::{serial, token, PIN, UNUSED_TOKEN};

pub(crate) struct App {
    pub(crate) base: String,
    pub(crate) did: String,
    pub(crate) http: reqwest::Client,
}

pub(crate) async fn start(data: &std::path::Path, signing_key: Option<String>) -> anyhow::Result<App> {
    start_at(data, signing_key, None).await
}

/// [`start`], with the public URL written into credentials (stable across restarts).
pub(crate) async fn start_at(
    data: &std::path::Path,
    signing_key: Option<String>,
    public_url: Option<&str>,
) -> anyhow::Result<App> {
    let mut settings = issuer::config::Settings::for_tests(data.to_path_buf());
    settings.signing_key = signing_key;
    settings.public_url = public_url.map(str::to_owned);
    let app = issuer::startup::Application::build(&settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    Ok(App { base, did, http })
}

impl App {
    pub(crate) async fn issue(&self) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/v1/health-certificates", self.base))
            .json(&health_request())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let body: Value = resp.json().await.unwrap();
        body["credential"].clone()
    }

    pub(crate) async fn get(&self, url: &str) -> String {
        let resp = self.http.get(url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        resp.text().await.unwrap()
    }

    /// The checkpoint, verified with the log key derived from `public_key`.
    async fn verified_checkpoint(&self, public_key: &p256::PublicKey) {
        let served = LogKey::from_vkey(self.get(&format!("{}/log/key", self.base)).await.trim()).unwrap();
        let expected = LogKey::ecdsa_p256(served.origin(), public_key).unwrap();
        assert_eq!(served.to_vkey(), expected.to_vkey(), "the log signs with the token key");
        let note = self.get(&format!("{}/log/checkpoint", self.base)).await;
        expected.open_checkpoint(&note).unwrap();
    }
}

async fn assert_signature_valid(vc: &Value) {
    let report = verify_credential(vc, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
}

#[tokio::test]
async fn a_token_key_signs_credentials_status_lists_and_checkpoints() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    let public_key = token.generate("issuer-sign");
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), Some(token.uri("issuer-sign"))).await.unwrap();
    let expected_did = format!("did:key:{}", wallet_core::keys::public_key_multibase(&public_key));
    assert_eq!(app.did, expected_did);
    assert!(!data.path().join("issuer-key.pem").exists(), "no file key is made when a token key is asked for");

    let vc = app.issue().await;
    assert_eq!(vc["issuer"]["id"].as_str().or(vc["issuer"].as_str()), Some(expected_did.as_str()));
    assert_signature_valid(&vc).await;
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["name"] = Value::String("王五".into());
    let report = verify_credential(&tampered, &VerifyOptions::default()).await.unwrap();
    assert!(report.checks.signature.is_invalid());

    // The status list credential is signed in the token too.
    let list_url = vc["credentialStatus"][0]["statusListCredential"].as_str().unwrap();
    let list: Value = serde_json::from_str(&app.get(list_url).await).unwrap();
    assert_eq!(list["issuer"].as_str().or(list["issuer"]["id"].as_str()), Some(expected_did.as_str()));
    assert_signature_valid(&list).await;

    app.verified_checkpoint(&public_key).await;
}

#[tokio::test]
async fn the_private_key_cannot_leave_the_token() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    token.generate("issuer-export");
    let session = token.session();
    let key = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"issuer-export".to_vec())])
        .unwrap();
    let [key] = key.as_slice() else { panic!("one private key") };
    let attrs = session
        .get_attributes(
            *key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Value,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::NeverExtractable(true)), "{attrs:?}");
    assert!(!attrs.iter().any(|a| matches!(a, Attribute::Value(_))), "CKA_VALUE was read: {attrs:?}");
    // Wrapping it under a key of ours is refused too.
    let wrapping = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::Token(false), Attribute::ValueLen(32.into()), Attribute::Wrap(true), Attribute::Encrypt(true)],
        )
        .unwrap();
    let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, *key);
    assert!(
        matches!(wrapped, Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::KeyUnextractable, _))),
        "{wrapped:?}"
    );
}

async fn startup_error(signing_key: String) -> String {
    let data = tempfile::tempdir().unwrap();
    match start(data.path(), Some(signing_key.clone())).await {
        Ok(_) => panic!("the issuer started with {signing_key}"),
        Err(e) => {
            assert!(!data.path().join("issuer-key.pem").exists(), "no fallback to a file key");
            format!("{e:#}")
        }
    }
}

#[tokio::test]
async fn bad_token_configurations_stop_the_issuer_with_a_clear_error() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    token.generate("issuer-config");
    let wrong_pin = token.dir.join("wrong-pin");
    std::fs::write(&wrong_pin, "000000\n").unwrap();
    let uri = token.uri("issuer-config");
    let cases = [
        (
            uri.replace(&token.pin_file().display().to_string(), &wrong_pin.display().to_string())
                .replace(&format!("token={}", crate::support::softhsm::TOKEN), &format!("token={UNUSED_TOKEN}")),
            "wrong PIN",
        ),
        (token.uri("no-such-key"), "no private key"),
        (uri.replace("token=ecert-test", "token=other"), "no PKCS#11 token matches token=other"),
        (uri.replace(&token.module, "/nonexistent/libpkcs11.so"), "does not exist"),
        (uri.replace("pin-source=file:", "pin-value=246810&x-was="), "pin-value"),
        ("pkcs11:object=k".to_owned(), "module-path"),
        (uri.replace("pkcs11:", "pkcs12:"), "pkcs11:"),
        (uri.replace("token=ecert-test", "token=ecert-test;slot-id=4242424242"), "no PKCS#11 token matches"),
        (uri.replace("token=ecert-test", "token=ecert-test;manufacturer=Thales"), "no PKCS#11 token matches"),
        (uri.replace("token=ecert-test", "token=ecert-test;slot-description=HSM%201"), "no PKCS#11 token matches"),
        (uri.replace("token=ecert-test", "token=ecert-test;colour=red"), "unknown attribute `colour`"),
        // module-path wins over module-name (RFC 7512 §2.3).
        (
            uri.replace(&format!("module-path={}", token.module), "module-name=softhsm2&module-path=/x.so"),
            "does not exist",
        ),
    ];
    for (uri, says) in cases {
        let message = startup_error(uri.clone()).await;
        assert!(message.contains(says), "{uri}: {message}");
        assert!(!message.contains(PIN), "the PIN is not in the message: {message}");
    }
}

#[tokio::test]
async fn the_token_is_found_by_its_slot_and_what_it_says_of_itself() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    let public = token.generate("issuer-slot");
    let (module, slot) = token.slot();
    let (slot_info, token_info) = (module.get_slot_info(slot).unwrap(), module.get_token_info(slot).unwrap());
    let encode = |text: &str| text.trim_end().replace('%', "%25").replace(' ', "%20").replace(';', "%3B");
    // No token label: the slot number and the manufacturer, model and slot strings name it.
    let uri = token.uri("issuer-slot").replace(
        "token=ecert-test",
        &format!(
            "slot-id={};manufacturer={};model={};slot-description={};slot-manufacturer={}",
            slot.id(),
            encode(token_info.manufacturer_id()),
            encode(token_info.model()),
            encode(slot_info.slot_description()),
            encode(slot_info.manufacturer_id()),
        ),
    );
    assert!(!uri.contains("token="), "{uri}");
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), Some(uri)).await.unwrap();
    assert_eq!(app.did, format!("did:key:{}", wallet_core::keys::public_key_multibase(&public)));
}

#[tokio::test]
async fn a_key_that_could_leave_the_token_is_refused() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    let session = token.session();
    let label = b"issuer-extractable".to_vec();
    let public = [
        Attribute::Token(true),
        Attribute::Label(label.clone()),
        Attribute::Id(vec![9, 9]),
        Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        Attribute::Verify(true),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Label(label),
        Attribute::Id(vec![9, 9]),
        Attribute::Private(true),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
        Attribute::Sign(true),
    ];
    session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private).unwrap();
    let message = startup_error(token.uri("issuer-extractable")).await;
    assert!(message.contains("could leave the token"), "{message}");
}

/// The key events in the log, in order: (kind, key, credentialDigest).
async fn key_events(app: &App) -> Vec<(String, String, String)> {
    let page: Value =
        serde_json::from_str(&app.get(&format!("{}/log/entries?start=0&count=100", app.base)).await).unwrap();
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["kind"]["type"] == "keyEvent")
        .map(|e| {
            let entry = &e["entry"];
            (
                entry["kind"]["kind"].as_str().unwrap().to_owned(),
                entry["issuer"].as_str().unwrap().to_owned(),
                entry["credentialDigest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn rotating_to_a_new_token_key_is_logged_and_keeps_earlier_credentials_valid() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    let old_public = token.generate("issuer-2026");
    let new_public = token.generate("issuer-2027");
    let data = tempfile::tempdir().unwrap();
    let before = start(data.path(), Some(token.uri("issuer-2026"))).await.unwrap();
    let old_vc = before.issue().await;
    let old_did = format!("did:key:{}", wallet_core::keys::public_key_multibase(&old_public));
    assert_eq!(before.did, old_did);
    let digest = |did: &str| hex::encode(Sha256::digest(did.as_bytes()));
    assert_eq!(key_events(&before).await, [("activated".to_owned(), old_did.clone(), digest(&old_did))]);

    // The operator generates the next key in the token and restarts with its URI.
    let after = start(data.path(), Some(token.uri("issuer-2027"))).await.unwrap();
    let new_did = format!("did:key:{}", wallet_core::keys::public_key_multibase(&new_public));
    assert_eq!(after.did, new_did);
    let new_vc = after.issue().await;
    assert_signature_valid(&old_vc).await;
    assert_signature_valid(&new_vc).await;
    assert_eq!(new_vc["issuer"]["id"].as_str().or(new_vc["issuer"].as_str()), Some(new_did.as_str()));

    // The log shows the change of key: the old one rotated out, the new one activated,
    // each entry naming the key by its did:key and its SHA-256.
    let expected = [
        ("activated".to_owned(), old_did.clone(), digest(&old_did)),
        ("rotated".to_owned(), old_did.clone(), digest(&old_did)),
        ("activated".to_owned(), new_did.clone(), digest(&new_did)),
    ];
    assert_eq!(key_events(&after).await, expected);
    // The log is signed with the new key from the restart on, and covers the events.
    after.verified_checkpoint(&new_public).await;
    // A restart with the same key logs nothing new; going back to the old key is a rotation too.
    let again = start(data.path(), Some(token.uri("issuer-2027"))).await.unwrap();
    assert_eq!(key_events(&again).await, expected);
    let back = start(data.path(), Some(token.uri("issuer-2026"))).await.unwrap();
    let events = key_events(&back).await;
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[3], ("rotated".to_owned(), new_did.clone(), digest(&new_did)));
    assert_eq!(events[4], ("activated".to_owned(), old_did.clone(), digest(&old_did)));
    // Earlier credentials still verify, and their issuance entries are still in the log.
    assert_signature_valid(&old_vc).await;
    let key = issuer::signing_key::load(Some(&token.uri("issuer-2027")), data.path()).unwrap();
    assert_eq!(key.public_key(), new_public);
}

#[tokio::test]
async fn module_name_finds_the_installed_module() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    // Debian's softhsm2 registers itself with p11-kit (softhsm2.module); the URI names
    // it by name instead of by file.
    let registered = std::path::Path::new("/usr/share/p11-kit/modules/softhsm2.module").exists();
    if !registered && std::env::var_os(issuer::pkcs11_module::MODULE_DIR_ENV).is_none() {
        eprintln!("SKIPPED: softhsm2 is not registered with p11-kit here");
        return;
    }
    let public = token.generate("issuer-by-name");
    let uri = token.uri("issuer-by-name").replace(&format!("module-path={}", token.module), "module-name=softhsm2");
    assert!(uri.contains("module-name=softhsm2") && !uri.contains("module-path"), "{uri}");
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), Some(uri.clone())).await.unwrap();
    assert_eq!(app.did, format!("did:key:{}", wallet_core::keys::public_key_multibase(&public)));
    assert_signature_valid(&app.issue().await).await;
    // An unknown name stops the start, saying where it looked.
    let message = startup_error(uri.replace("module-name=softhsm2", "module-name=nohsm")).await;
    assert!(message.contains("no PKCS#11 module named `nohsm`"), "{message}");
}

#[test]
fn ecert_pki_makes_a_key_in_the_token_and_a_csr_signed_there() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let csr = dir.path().join("csr.pem");
    let run = |object: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecert-pki"))
            .env("SOFTHSM2_CONF", token.conf())
            .args(["token-key", "--signing-key", &token.uri(object), "--organization", "越秀区第一诊所"])
            .args(["--usci", "9144030071526726XG", "--out"])
            .arg(&csr)
            .output()
            .unwrap()
    };
    let out = run("issuer-pki");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The CSR's signature (made in the token) verifies, for the token's key.
    let verify = std::process::Command::new("openssl").args(["req", "-verify", "-noout", "-in"]).arg(&csr).output();
    if let Ok(verify) = verify {
        assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    }
    let key = issuer::signing_key::load(Some(&token.uri("issuer-pki")), dir.path()).unwrap();
    assert!(stderr.contains(&key.did()), "{stderr}");
    assert!(!stderr.contains(PIN) && !String::from_utf8_lossy(&out.stdout).contains(PIN));
    // The same label again is refused: a rotation takes a new label.
    let again = run("issuer-pki");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has a key labelled issuer-pki"));
}

/// A token signs with random nonces: two signatures of one checkpoint differ. A
/// second issuer process on the same database (or the same one after a restart)
/// that signs a size already stored serves the stored note, whose digest is the
/// one anchored, never a note of its own for the same size.
#[tokio::test]
async fn a_second_hsm_issuer_on_one_database_serves_the_stored_checkpoint_note() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    token.generate("issuer-log-twice");
    let data = tempfile::tempdir().unwrap();
    let public = Some("https://issuer.example");
    let first = start_at(data.path(), Some(token.uri("issuer-log-twice")), public).await.unwrap();
    first.issue().await;
    let first_note = checkpoint_note(&first).await;
    let size: u64 = first_note.lines().nth(1).unwrap().parse().unwrap();
    assert!(size >= 1, "{first_note}");

    let second = start_at(data.path(), Some(token.uri("issuer-log-twice")), public).await.unwrap();
    assert_eq!(second.did, first.did);
    let second_note = checkpoint_note(&second).await;
    let store =
        issuer::store::Store::connect(&issuer::config::Settings::for_tests(data.path().to_path_buf()).store_url())
            .await
            .unwrap();
    let stored = store.log_checkpoint(size).await.unwrap().expect("the checkpoint of this size is stored").note_text;
    assert_eq!(first_note, stored, "the first issuer serves the note it stored");
    assert_eq!(second_note, stored, "the second issuer serves the stored note of this size, not one of its own");
    // And once more after both have it: no process serves another note for this size.
    assert_eq!(checkpoint_note(&first).await, stored);
    assert_eq!(checkpoint_note(&second).await, stored);
}

async fn checkpoint_note(app: &App) -> String {
    app.get(&format!("{}/log/checkpoint", app.base)).await
}
