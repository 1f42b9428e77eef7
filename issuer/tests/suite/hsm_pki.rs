//! A department whose root key is in a PKCS#11 token (SoftHSM2): `ecert-pki
//! init-root --token URI` makes (or takes) the key there, and `issue`, `crl`
//! and `trust-list` sign in the token. What comes out verifies with the
//! existing code — OpenSSL for the certificates and CRLs, wallet-core's
//! `TrustList::load` and `verify_credential` for the trust list and a
//! credential of a clinic whose key is in the token too — and the root's
//! private key cannot be read from the token. No passphrase is involved; the
//! PIN never appears on a command line or in an output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{Duration, Utc};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::status::{verify_status_list, StatusListCache, StatusPolicy};
use wallet_core::trust::{certificate_pem_to_der, TrustList, TrustStore};
use wallet_core::verification::{verify_credential, CheckResult, IssuerTrust, StatusSource, VerifyOptions};

use crate::hsm::{start, start_at};
use crate::support::softhsm::{serial, token, Token, PIN};

const DEPARTMENT: &str = "广州市卫生健康委员会";
const ROOT_NAME: &str = "广州市卫生健康委员会电子证照根证书";
const CLINIC_NAME: &str = "广州市第一人民医院体检中心";
const CLINIC_USCI: &str = "12110000MB0000001U";
const OTHER_NAME: &str = "广州市越秀区第二诊所";
const OTHER_USCI: &str = "11110000MB00000022";

/// One run of `ecert-pki`: success, stdout, stderr.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// A working directory; every run sees the test token and no passphrase or
/// PIN in its environment (the PIN comes from the URI's pin-source file).
struct Desk<'t> {
    dir: tempfile::TempDir,
    token: &'t Token,
    outputs: std::cell::RefCell<Vec<String>>,
}

impl<'t> Desk<'t> {
    fn new(token: &'t Token) -> Self {
        Self { dir: tempfile::tempdir().unwrap(), token, outputs: Default::default() }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn arg(&self, relative: &str) -> String {
        self.path(relative).to_str().unwrap().to_owned()
    }

    fn run_with(&self, args: &[&str], configure: impl FnOnce(&mut Command)) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecert-pki"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("SOFTHSM2_CONF", self.token.conf())
            .env_remove("ISSUER_PKI_PASSPHRASE")
            .env_remove("ISSUER_PKCS11_PIN")
            .env_remove("ISSUER_SIGNING_KEY")
            .env_remove("RUST_LOG");
        configure(&mut command);
        let output = command.output().unwrap();
        let run = Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.outputs.borrow_mut().extend([run.stdout.clone(), run.stderr.clone()]);
        run
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run_with(args, |_| {});
        assert!(run.ok, "ecert-pki {args:?} failed:\n{}", run.stderr);
        run
    }

    fn fails(&self, args: &[&str], expected: &str) -> Run {
        let run = self.run_with(args, |_| {});
        assert!(!run.ok, "ecert-pki {args:?} succeeded:\n{}", run.stderr);
        assert!(run.stderr.contains(expected), "ecert-pki {args:?}: expected {expected:?} in:\n{}", run.stderr);
        run
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    fn init_token_root(&self, dir: &str, object: &str) -> Run {
        self.ok(&[
            "init-root",
            "--authorises",
            HEALTH_CERTIFICATE_TYPE,
            "--dir",
            &self.arg(dir),
            "--organization",
            DEPARTMENT,
            "--common-name",
            ROOT_NAME,
            "--token",
            &self.token.uri(object),
        ])
    }

    fn issue(&self, dir: &str, csr: &str, out: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "issue".to_owned(),
            "--dir".to_owned(),
            self.arg(dir),
            "--csr".to_owned(),
            self.arg(csr),
            "--types".to_owned(),
            HEALTH_CERTIFICATE_TYPE.to_owned(),
            "--out".to_owned(),
            self.arg(out),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&args)
    }

    fn openssl(&self, args: &[&str]) -> Option<Run> {
        let output = Command::new("openssl").args(args).current_dir(self.dir.path()).output().ok()?;
        Some(Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn load_trust_list(&self, file: &str, roots: &[&str]) -> TrustStore {
        let bytes = std::fs::read(self.path(file)).unwrap();
        let roots: Vec<Vec<u8>> =
            roots.iter().map(|r| certificate_pem_to_der(&self.read(&format!("{r}/root.pem"))).unwrap()).collect();
        TrustList::load(&bytes, &roots, Utc::now(), Duration::days(1)).expect("the trust list loads")
    }

    fn assert_pin_never_printed(&self) {
        for output in self.outputs.borrow().iter() {
            assert!(!output.contains(PIN), "the PIN appeared in an output:\n{output}");
        }
    }
}

fn outcome(result: &CheckResult) -> String {
    match result {
        CheckResult::Valid => "valid".to_owned(),
        CheckResult::Invalid { code, .. } | CheckResult::Unchecked { code, .. } => code.clone(),
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn types() -> Vec<String> {
    vec!["VerifiableCredential".to_owned(), HEALTH_CERTIFICATE_TYPE.to_owned()]
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The attributes of the private key labelled `object`, as anyone logged in to the token sees them.
fn private_key_attributes(token: &Token, object: &str) -> Vec<Attribute> {
    let session = token.session();
    let found = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(object.as_bytes().to_vec())])
        .unwrap();
    let [key] = found.as_slice() else { panic!("one private key labelled {object}: {found:?}") };
    session
        .get_attributes(
            *key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Value,
            ],
        )
        .unwrap()
}

#[tokio::test]
async fn a_token_root_certifies_a_token_clinic_and_the_verifier_accepts_its_credentials() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    let desk = Desk::new(token);

    // The department: root key generated in the token, no passphrase anywhere.
    let run = desk.init_token_root("hc", "dept-root-a");
    assert!(run.stderr.contains("generated there now"), "{}", run.stderr);
    assert!(!desk.path("hc/root.key.pem").exists(), "no key file for a token root");
    let recorded = desk.read("hc/root.key.uri");
    assert_eq!(recorded.trim(), token.uri("dept-root-a"));
    #[cfg(unix)]
    assert_eq!(mode(&desk.path("hc/root.key.uri")), 0o600);

    // The root's private key stays in the token: sensitive, never extractable, CKA_VALUE unreadable.
    let attributes = private_key_attributes(token, "dept-root-a");
    assert!(attributes.contains(&Attribute::Sensitive(true)), "{attributes:?}");
    assert!(attributes.contains(&Attribute::Extractable(false)), "{attributes:?}");
    assert!(attributes.contains(&Attribute::NeverExtractable(true)), "{attributes:?}");
    assert!(!attributes.iter().any(|a| matches!(a, Attribute::Value(_))), "CKA_VALUE was read: {attributes:?}");

    // The clinic: its key in the token too (token-key), its CSR certified by the token root.
    desk.ok(&[
        "token-key",
        "--signing-key",
        &token.uri("clinic-a"),
        "--organization",
        CLINIC_NAME,
        "--usci",
        CLINIC_USCI,
        "--out",
        &desk.arg("clinic.csr"),
    ]);
    desk.issue("hc", "clinic.csr", "clinic.pem", &[]);
    // A second clinic, revoked (key compromise), for the CRL.
    desk.ok(&[
        "token-key",
        "--signing-key",
        &token.uri("clinic-b"),
        "--organization",
        OTHER_NAME,
        "--usci",
        OTHER_USCI,
        "--out",
        &desk.arg("other.csr"),
    ]);
    desk.issue("hc", "other.csr", "other.pem", &[]);
    let other_serial = desk
        .openssl(&["x509", "-in", "other.pem", "-noout", "-serial"])
        .map(|r| r.stdout.trim().trim_start_matches("serial=").to_owned());
    let other_serial = match other_serial {
        Some(serial) => serial,
        None => {
            wallet_core::trust::summarize_certificate(&certificate_pem_to_der(&desk.read("other.pem")).unwrap())
                .unwrap()
                .serial
        }
    };
    desk.ok(&["revoke", "--dir", &desk.arg("hc"), "--serial", &other_serial, "--reason", "key-compromise"]);
    desk.ok(&["crl", "--dir", &desk.arg("hc"), "--out", &desk.arg("crl.pem")]);

    // OpenSSL checks the token's signatures on the certificates and the CRL.
    if let Some(verify) =
        desk.openssl(&["verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "hc/root.pem", "clinic.pem"])
    {
        assert!(verify.ok, "{}{}", verify.stdout, verify.stderr);
        let revoked = desk
            .openssl(&["verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "hc/root.pem", "other.pem"])
            .unwrap();
        assert!(!revoked.ok && format!("{}{}", revoked.stdout, revoked.stderr).contains("certificate revoked"));
    }

    // The trust list, signed in the token; the verifier's loader accepts it.
    desk.ok(&["trust-list", "--dir", &desk.arg("hc"), "--signer", &desk.arg("hc"), "--out", &desk.arg("trust.json")]);
    let store = desk.load_trust_list("trust.json", &["hc"]);
    let clinic_did = issuer::signing_key::load(Some(&token.uri("clinic-a")), desk.dir.path()).unwrap().did();
    let other_did = issuer::signing_key::load(Some(&token.uri("clinic-b")), desk.dir.path()).unwrap().did();
    assert_eq!(outcome(&store.check_issuer(&clinic_did, &types(), Utc::now())), "valid");
    assert_eq!(outcome(&store.check_issuer(&other_did, &types(), Utc::now())), "issuer_revoked");
    // Against another root it does not load.
    desk.init_token_root("elsewhere", "dept-root-other");
    let bytes = std::fs::read(desk.path("trust.json")).unwrap();
    let other_root = certificate_pem_to_der(&desk.read("elsewhere/root.pem")).unwrap();
    assert!(TrustList::load(&bytes, &[other_root], Utc::now(), Duration::days(1)).is_err());

    // The clinic's issuer signs with its token key; the verifier trusts what it issues.
    let data = tempfile::tempdir().unwrap();
    let app = start(data.path(), Some(token.uri("clinic-a"))).await.unwrap();
    assert_eq!(app.did, clinic_did);
    let credential = app.issue().await;
    let mut options = VerifyOptions::at(Utc::now());
    options.trust =
        IssuerTrust::List { store: Arc::new(store), warn_after: Duration::hours(24), max_age: Duration::days(7) };
    let report = verify_credential(&credential, &options).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
    assert_eq!(outcome(&report.checks.issuer_trust), "valid", "{report:#?}");

    desk.assert_pin_never_printed();
}

#[test]
fn a_token_root_refuses_what_it_must() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().blocking_lock();
    let desk = Desk::new(token);
    let init = |dir: &str, uri: &str| {
        vec![
            "init-root".to_owned(),
            "--authorises".to_owned(),
            HEALTH_CERTIFICATE_TYPE.to_owned(),
            "--dir".to_owned(),
            desk.arg(dir),
            "--organization".to_owned(),
            DEPARTMENT.to_owned(),
            "--common-name".to_owned(),
            ROOT_NAME.to_owned(),
            "--token".to_owned(),
            uri.to_owned(),
        ]
    };

    // SM2 roots stay file keys: SoftHSM2 (and PKCS#11 without vendor mechanisms) has no SM2.
    let mut sm2 = init("sm2", &token.uri("dept-sm2"));
    sm2.extend(["--algorithm".to_owned(), "sm2".to_owned()]);
    desk.fails(&strs(&sm2), "P-256 only");
    // The PIN is never an argument, and a passphrase makes no sense for a token key.
    let with_pin = token.uri("dept-pin").replace("pin-source=file:", &format!("pin-value={PIN}&x-was="));
    desk.fails(&strs(&init("pin", &with_pin)), "pin-value");
    let mut both = init("both", &token.uri("dept-both"));
    both.extend(["--passphrase-file".to_owned(), desk.arg("passphrase")]);
    desk.fails(&strs(&both), "cannot be used with");
    // A key that could leave the token is not made a root.
    let session = token.session();
    let label = b"dept-extractable".to_vec();
    let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    session
        .generate_key_pair(
            &cryptoki::mechanism::Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Label(label.clone()),
                Attribute::EcParams(p256),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(true),
                Attribute::Label(label),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Sign(true),
            ],
        )
        .unwrap();
    drop(session);
    desk.fails(&strs(&init("extractable", &token.uri("dept-extractable"))), "could leave the token");
    assert!(!desk.path("extractable/root.pem").exists());

    // A root over an existing one is refused; a key already in the token is used, not replaced.
    desk.init_token_root("hc", "dept-root-b");
    desk.fails(&strs(&init("hc", &token.uri("dept-root-b"))), "already holds a CA");
    let again = desk.ok(&strs(&init("hc-again", &token.uri("dept-root-b"))));
    assert!(again.stderr.contains("made there earlier"), "{}", again.stderr);

    // A clinic request (file key) to certify.
    desk.ok(&[
        "request",
        "--data-dir",
        &desk.arg("clinic"),
        "--organization",
        CLINIC_NAME,
        "--usci",
        CLINIC_USCI,
        "--out",
        &desk.arg("clinic.csr"),
    ]);
    let issue = |root_key: &str| {
        vec![
            "issue".to_owned(),
            "--dir".to_owned(),
            desk.arg("hc"),
            "--csr".to_owned(),
            desk.arg("clinic.csr"),
            "--types".to_owned(),
            HEALTH_CERTIFICATE_TYPE.to_owned(),
            "--root-key".to_owned(),
            root_key.to_owned(),
        ]
    };
    // Another token key than the root's: wallet-core refuses to sign with it.
    token.generate("dept-not-the-root");
    desk.fails(&strs(&issue(&token.uri("dept-not-the-root"))), "does not match the root certificate");
    // A wrong PIN (this process is a fresh login), a missing key, a bad URI.
    std::fs::write(desk.path("wrong-pin"), "000000\n").unwrap();
    let wrong_pin = token.uri("dept-root-b").replace(&token.pin_file().display().to_string(), &desk.arg("wrong-pin"));
    desk.fails(&strs(&issue(&wrong_pin)), "wrong PIN");
    desk.fails(&strs(&issue(&token.uri("dept-no-such-key"))), "no private key");
    desk.fails(
        &strs(&issue(&token.uri("dept-root-b").replace("object=", "colour=red;object="))),
        "unknown attribute `colour`",
    );
    assert!(std::fs::read_dir(desk.path("hc/issued")).unwrap().next().is_none(), "nothing was issued");
    // The right key, named explicitly, works; Debian's softhsm2 is also found by its
    // module name (p11-kit registration).
    let by_name = if Path::new("/usr/share/p11-kit/modules/softhsm2.module").exists() {
        token.uri("dept-root-b").replace(&format!("module-path={}", token.module), "module-name=softhsm2")
    } else {
        token.uri("dept-root-b")
    };
    desk.ok(&strs(&issue(&by_name)));
    assert_eq!(std::fs::read_dir(desk.path("hc/issued")).unwrap().count(), 1);

    // A trust list over a token root (the signer) and a file root: the passphrase is
    // needed for the file root only.
    desk.run_with(
        &[
            "init-root",
            "--authorises",
            HEALTH_CERTIFICATE_TYPE,
            "--dir",
            &desk.arg("ms"),
            "--organization",
            "广州市市场监督管理局",
            "--common-name",
            "广州市市场监督管理局电子证照根证书",
        ],
        |c| {
            c.env("ISSUER_PKI_PASSPHRASE", "Kiwi-Lantern-Orchid-42");
        },
    );
    assert!(desk.path("ms/root.key.pem").exists());
    let list = [
        "trust-list",
        "--dir",
        &desk.arg("hc"),
        "--dir",
        &desk.arg("ms"),
        "--signer",
        &desk.arg("hc"),
        "--out",
        &desk.arg("mixed.json"),
    ];
    desk.fails(&list, "no passphrase for the root key");
    let run = desk.run_with(&list, |c| {
        c.env("ISSUER_PKI_PASSPHRASE", "Kiwi-Lantern-Orchid-42");
    });
    assert!(run.ok, "{}", run.stderr);
    let store = desk.load_trust_list("mixed.json", &["hc", "ms"]);
    let clinic_key = wallet_core::keys::IssuerKey::from_pkcs8_pem(&desk.read("clinic/issuer-key.pem")).unwrap();
    assert_eq!(outcome(&store.check_issuer(&clinic_key.did(), &types(), Utc::now())), "valid");
    // The file root can sign the list too (its key from root.key.pem, the token root's CRL in the token).
    let run = desk.run_with(
        &[
            "trust-list",
            "--dir",
            &desk.arg("hc"),
            "--dir",
            &desk.arg("ms"),
            "--signer",
            &desk.arg("ms"),
            "--out",
            &desk.arg("by-ms.json"),
        ],
        |c| {
            c.env("ISSUER_PKI_PASSPHRASE", "Kiwi-Lantern-Orchid-42");
        },
    );
    assert!(run.ok, "{}", run.stderr);
    desk.load_trust_list("by-ms.json", &["ms"]);

    desk.assert_pin_never_printed();
}

#[tokio::test]
async fn after_a_rotation_between_token_keys_earlier_credentials_pass_every_check() {
    let Some(token) = token() else { return };
    let _one_at_a_time = serial().lock().await;
    let desk = Desk::new(token);
    desk.init_token_root("hc", "dept-root-rotation");
    // The clinic's two keys, both made in the token and certified for the same organisation.
    for (object, csr) in [("clinic-2026", "a.csr"), ("clinic-2027", "b.csr")] {
        desk.ok(&[
            "token-key",
            "--signing-key",
            &token.uri(object),
            "--organization",
            CLINIC_NAME,
            "--usci",
            CLINIC_USCI,
            "--out",
            &desk.arg(csr),
        ]);
        desk.issue("hc", csr, &format!("{object}.pem"), &[]);
    }
    desk.ok(&["trust-list", "--dir", &desk.arg("hc"), "--signer", &desk.arg("hc"), "--out", &desk.arg("trust.json")]);
    let store = Arc::new(desk.load_trust_list("trust.json", &["hc"]));

    // Issued with key A; the issuer restarts with key B (same data, same public URL).
    const PUBLIC: &str = "https://clinic.example";
    let data = tempfile::tempdir().unwrap();
    let before = start_at(data.path(), Some(token.uri("clinic-2026")), Some(PUBLIC)).await.unwrap();
    let old_vc = before.issue().await;
    let after = start_at(data.path(), Some(token.uri("clinic-2027")), Some(PUBLIC)).await.unwrap();
    assert_ne!(before.did, after.did);
    let new_vc = after.issue().await;

    // What an inspector holds: the trust list and the status lists as now published
    // (re-signed with key B, also for the credentials key A signed).
    let now = Utc::now();
    let mut cache = StatusListCache::new();
    for vc in [&old_vc, &new_vc] {
        for entry in vc["credentialStatus"].as_array().unwrap() {
            let url = entry["statusListCredential"].as_str().unwrap();
            let path = url.strip_prefix(PUBLIC).unwrap();
            let list: serde_json::Value =
                serde_json::from_str(&after.get(&format!("{}{path}", after.base)).await).unwrap();
            assert_eq!(list["issuer"].as_str().or(list["issuer"]["id"].as_str()), Some(after.did.as_str()));
            cache.insert_verified(verify_status_list(url, &list, now).await.unwrap(), now).unwrap();
        }
    }
    let mut options = VerifyOptions::at(now);
    options.status = StatusSource::Cache { cache: Arc::new(cache), policy: StatusPolicy::default() };
    // Without the trust list nothing says key B speaks for key A's issuer: the old
    // credential's status cannot be established (the check is not vacuous).
    let report = verify_credential(&old_vc, &options).await.unwrap();
    assert_ne!(outcome(&report.checks.status), "valid", "{report:#?}");
    options.trust = IssuerTrust::List { store, warn_after: Duration::hours(24), max_age: Duration::days(7) };
    for (what, vc) in [("signed with the old key", &old_vc), ("signed with the new key", &new_vc)] {
        let report = verify_credential(vc, &options).await.unwrap();
        let checks = &report.checks;
        assert!(checks.signature.is_valid(), "{what}: {report:#?}");
        assert_eq!(outcome(&checks.issuer_trust), "valid", "{what}: {report:#?}");
        assert_eq!(outcome(&checks.status), "valid", "{what}: {report:#?}");
    }
}
