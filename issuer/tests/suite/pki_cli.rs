//! `ecert-pki …` as an operator runs it: the real binary in temporary
//! directories, its certificates checked by the `openssl` binary and its trust
//! lists by `wallet_core::trust::TrustList::load`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use wallet_core::credential::{FOOD_BUSINESS_LICENCE_TYPE, HEALTH_CERTIFICATE_TYPE};
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{
    certificate_pem_to_der, decrypt_private_key, summarize_certificate, CertificateSummary, TrustList, TrustStore,
};
use wallet_core::verification::CheckResult;

const PASSPHRASE: &str = "Kiwi-Lantern-Orchid-42";
const CLINIC_NAME: &str = "广州市第一人民医院体检中心";
const CLINIC_USCI: &str = "12110000MB0000001U";
const OFFICE_NAME: &str = "广州市市场监督管理局越秀分局";
const OFFICE_USCI: &str = "11110000MB00000022";

// ---------------------------------------------------------------- harness

/// One finished run of the binary.
struct Run {
    output: Output,
    stdout: String,
    stderr: String,
}

impl Run {
    fn succeeded(&self) -> bool {
        self.output.status.success()
    }
}

/// A temporary working directory; records every output of the binary so a
/// test can check that no secret ever appeared in one.
struct Workspace {
    dir: tempfile::TempDir,
    outputs: RefCell<Vec<String>>,
}

impl Workspace {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temporary directory"), outputs: RefCell::new(Vec::new()) }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `path` as an argument.
    fn arg(&self, relative: &str) -> String {
        text(&self.path(relative))
    }

    /// Run `ecert-pki` with these arguments; the passphrase comes from the
    /// environment unless `configure` changes that.
    fn run_with(&self, args: &[&str], configure: impl FnOnce(&mut Command)) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecert-pki"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .env_remove("RUST_LOG")
            .env("ISSUER_PKI_PASSPHRASE", PASSPHRASE);
        configure(&mut command);
        let output = command.output().expect("run the ecert-pki binary");
        let run = Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            output,
        };
        self.outputs.borrow_mut().push(run.stdout.clone());
        self.outputs.borrow_mut().push(run.stderr.clone());
        run
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {})
    }

    /// Run and require success.
    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(
            run.succeeded(),
            "ecert-pki {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            run.output.status,
            run.stdout,
            run.stderr
        );
        run
    }

    /// Run and require failure with a one-line message containing `expected`.
    fn fails(&self, args: &[&str], expected: &str) -> Run {
        self.fails_with(args, |_| {}, expected)
    }

    fn fails_with(&self, args: &[&str], configure: impl FnOnce(&mut Command), expected: &str) -> Run {
        let run = self.run_with(args, configure);
        assert!(!run.succeeded(), "ecert-pki {args:?} succeeded: {}", run.stderr);
        assert!(run.stderr.contains(expected), "ecert-pki {args:?}: expected {expected:?} in stderr:\n{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "the error is one line: {:?}", run.stderr);
        assert!(lines.first().is_some_and(|l| l.starts_with("Error: ")), "{:?}", run.stderr);
        run
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("reading {relative}: {e}"))
    }

    fn write(&self, relative: &str, content: &str) {
        std::fs::write(self.path(relative), content).unwrap_or_else(|e| panic!("writing {relative}: {e}"));
    }

    /// Write a passphrase file as an operator should: readable by the owner only.
    fn write_secret(&self, relative: &str, content: &str) {
        self.write(relative, content);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(self.path(relative), std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
    }

    /// A department root that may authorise only `authorises` (comma-separated).
    fn init_root(&self, dir: &str, organization: &str, common_name: &str, authorises: &str) {
        self.ok(&[
            "init-root",
            "--dir",
            &self.arg(dir),
            "--organization",
            organization,
            "--common-name",
            common_name,
            "--authorises",
            authorises,
        ]);
    }

    fn init_departments(&self) {
        self.init_root("hc", "广州市卫生健康委员会", "广州市卫生健康委员会电子证照根证书", HEALTH_CERTIFICATE_TYPE);
        self.init_root("ms", "广州市市场监督管理局", "广州市市场监督管理局电子证照根证书", FOOD_BUSINESS_LICENCE_TYPE);
    }

    /// `request` with the CSR on stdout, saved to `csr_file`.
    fn request(&self, data_dir: &str, organization: &str, usci: &str, csr_file: &str) -> Run {
        let run =
            self.ok(&["request", "--data-dir", &self.arg(data_dir), "--organization", organization, "--usci", usci]);
        assert!(run.stdout.starts_with("-----BEGIN CERTIFICATE REQUEST-----"), "{}", run.stdout);
        assert!(run.stdout.trim_end().ends_with("-----END CERTIFICATE REQUEST-----"), "{}", run.stdout);
        self.write(csr_file, &run.stdout);
        run
    }

    /// `issue` into `out`; returns what the certificate says.
    fn issue(&self, dir: &str, csr_file: &str, types: &str, out: &str) -> CertificateSummary {
        let run = self.ok(&[
            "issue",
            "--dir",
            &self.arg(dir),
            "--csr",
            &self.arg(csr_file),
            "--types",
            types,
            "--out",
            &self.arg(out),
        ]);
        assert!(run.stdout.is_empty(), "with --out nothing goes to stdout: {}", run.stdout);
        let pem = self.read(out);
        let summary = summarize(&pem);
        assert_eq!(
            self.read(&format!("{dir}/issued/{}.pem", summary.serial)),
            pem,
            "the certificate is stored in issued/"
        );
        summary
    }

    fn trust_list(&self, out: &str) -> Run {
        self.ok(&[
            "trust-list",
            "--dir",
            &self.arg("hc"),
            "--dir",
            &self.arg("ms"),
            "--signer",
            &self.arg("hc"),
            "--out",
            &self.arg(out),
        ])
    }

    /// Load a trust list as a verifier configured with both roots does.
    fn load_trust_list(&self, file: &str) -> TrustStore {
        let bytes = std::fs::read(self.path(file)).expect("trust list");
        let roots = [
            certificate_pem_to_der(&self.read("hc/root.pem")).expect("root"),
            certificate_pem_to_der(&self.read("ms/root.pem")).expect("root"),
        ];
        TrustList::load(&bytes, &roots, Utc::now(), Duration::days(1)).expect("the trust list loads")
    }

    fn revoked_at(&self, dir: &str, serial: &str) -> DateTime<Utc> {
        let register: serde_json::Value =
            serde_json::from_str(&self.read(&format!("{dir}/revocations.json"))).expect("json");
        let record = register["revocations"]
            .as_array()
            .expect("revocations")
            .iter()
            .find(|r| r["serial"] == serial)
            .unwrap_or_else(|| panic!("no revocation of {serial}"));
        DateTime::parse_from_rfc3339(record["revoked_at"].as_str().expect("revoked_at"))
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    /// No output of any run contained any line of these PEM documents' bodies.
    fn assert_never_printed(&self, what: &str, pem: &str) {
        let body_lines: Vec<&str> = pem.lines().filter(|line| !line.starts_with("-----") && line.len() >= 16).collect();
        assert!(!body_lines.is_empty(), "{what} has a body");
        for output in self.outputs.borrow().iter() {
            for line in &body_lines {
                assert!(!output.contains(line), "{what} appeared in an output:\n{output}");
            }
        }
    }

    /// The secrets of the CA directories and this data directory never appeared.
    fn assert_no_secret_printed(&self, data_dirs: &[&str]) {
        for dir in ["hc", "ms"] {
            let encrypted = self.read(&format!("{dir}/root.key.pem"));
            self.assert_never_printed("an encrypted root key", &encrypted);
            let plain = decrypt_private_key(&encrypted, PASSPHRASE).expect("decrypt").to_pkcs8_pem().expect("pem");
            self.assert_never_printed("a root key", &plain);
        }
        for data_dir in data_dirs {
            self.assert_never_printed("an issuer key", &self.read(&format!("{data_dir}/issuer-key.pem")));
            let retired = self.path(&format!("{data_dir}/retired-keys"));
            if retired.exists() {
                for entry in std::fs::read_dir(retired).expect("list") {
                    let pem = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
                    self.assert_never_printed("a retired issuer key", &pem);
                }
            }
        }
        for output in self.outputs.borrow().iter() {
            assert!(!output.contains(PASSPHRASE), "the passphrase appeared in an output");
        }
    }
}

fn text(path: &Path) -> String {
    path.to_str().expect("temporary paths are UTF-8").to_owned()
}

fn summarize(pem: &str) -> CertificateSummary {
    summarize_certificate(&certificate_pem_to_der(pem).expect("PEM certificate")).expect("summary")
}

fn issuer_key(ws: &Workspace, data_dir: &str) -> IssuerKey {
    IssuerKey::from_pkcs8_pem(&ws.read(&format!("{data_dir}/issuer-key.pem"))).expect("issuer key")
}

fn types(names: &[&str]) -> Vec<String> {
    std::iter::once("VerifiableCredential").chain(names.iter().copied()).map(str::to_owned).collect()
}

/// `valid` or the failure code.
fn outcome(result: &CheckResult) -> String {
    match result {
        CheckResult::Valid => "valid".to_owned(),
        CheckResult::Invalid { code, .. } | CheckResult::Unchecked { code, .. } => code.clone(),
    }
}

fn openssl(ws: &Workspace, args: &[&str]) -> Run {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(ws.dir.path())
        .output()
        .expect("the openssl binary is needed for these tests");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Let the clock pass a whole second, so that times recorded to the second
/// (X.509 precision) differ.
fn next_seconds(seconds: u64) {
    std::thread::sleep(StdDuration::from_millis(1000 * seconds + 100));
}

// ---------------------------------------------------------------- tests

#[test]
fn lifecycle_from_root_to_revoked_issuer() {
    let ws = Workspace::new();
    ws.init_departments();
    for dir in ["hc", "ms"] {
        assert!(ws.path(&format!("{dir}/issued")).is_dir());
        assert_eq!(ws.read(&format!("{dir}/trust-list.sequence")).trim(), "0");
        assert!(ws.read(&format!("{dir}/root.key.pem")).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        #[cfg(unix)]
        assert_eq!(mode(&ws.path(&format!("{dir}/root.key.pem"))), 0o600);
    }

    // The clinic asks for a certificate for its service's key (generated now).
    let request = ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "clinic.csr");
    let clinic_key = issuer_key(&ws, "clinic");
    assert!(request.stderr.contains(&clinic_key.did()), "{}", request.stderr);
    #[cfg(unix)]
    assert_eq!(mode(&ws.path("clinic/issuer-key.pem")), 0o600);
    let again = ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "clinic-again.csr");
    assert!(again.stderr.contains(&clinic_key.did()), "the existing key is reused");
    let shown = ws.ok(&["show", &ws.arg("clinic.csr")]);
    assert!(shown.stdout.contains(&clinic_key.did()) && shown.stdout.contains(CLINIC_USCI), "{}", shown.stdout);

    // The health commission issues it; OpenSSL accepts the chain.
    let clinic = ws.issue("hc", "clinic.csr", HEALTH_CERTIFICATE_TYPE, "clinic.pem");
    assert_eq!(clinic.did.as_deref(), Some(clinic_key.did().as_str()));
    assert_eq!(clinic.allowed_types, [HEALTH_CERTIFICATE_TYPE]);
    assert_eq!(clinic.usci.as_deref(), Some(CLINIC_USCI));
    let verify = openssl(&ws, &["verify", "-CAfile", "hc/root.pem", "clinic.pem"]);
    assert!(verify.succeeded(), "{}{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("clinic.pem: OK"), "{}", verify.stdout);

    // Market supervision certifies a licensing office.
    ws.request("office", OFFICE_NAME, OFFICE_USCI, "office.csr");
    let office_key = issuer_key(&ws, "office");
    ws.issue("ms", "office.csr", FOOD_BUSINESS_LICENCE_TYPE, "office.pem");

    // An empty CRL: still OK.
    let crl = ws.ok(&["crl", "--dir", &ws.arg("hc")]);
    assert!(crl.stdout.starts_with("-----BEGIN X509 CRL-----"), "the CRL goes to stdout: {}", crl.stdout);
    ws.write("crl-empty.pem", &crl.stdout);
    let verify =
        openssl(&ws, &["verify", "-crl_check", "-CRLfile", "crl-empty.pem", "-CAfile", "hc/root.pem", "clinic.pem"]);
    assert!(verify.succeeded(), "{}{}", verify.stdout, verify.stderr);

    // The first trust list: both roots, both issuers.
    ws.trust_list("trust-list-1.json");
    assert_eq!(ws.read("hc/trust-list.sequence").trim(), "1");
    let store = ws.load_trust_list("trust-list-1.json");
    assert_eq!(store.sequence(), 1);
    assert_eq!(store.root_names().len(), 2);
    assert_eq!(store.issuer_certificate_count(), 2);
    let now = Utc::now();
    assert_eq!(outcome(&store.check_issuer(&clinic_key.did(), &types(&[HEALTH_CERTIFICATE_TYPE]), now)), "valid");
    assert_eq!(
        outcome(&store.check_issuer(&clinic_key.did(), &types(&[FOOD_BUSINESS_LICENCE_TYPE]), now)),
        "type_not_allowed"
    );
    assert_eq!(
        outcome(&store.check_issuer(&office_key.verification_method(), &types(&[FOOD_BUSINESS_LICENCE_TYPE]), now)),
        "valid"
    );

    // The clinic's key is compromised: revoke (serial typed as OpenSSL prints it).
    next_seconds(2);
    let typed_serial = clinic
        .serial
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let revoke = ws.ok(&[
        "revoke",
        "--dir",
        &ws.arg("hc"),
        "--serial",
        &typed_serial,
        "--reason",
        "key-compromise",
        "--comment",
        "laptop stolen",
    ]);
    assert!(revoke.stderr.contains(&clinic.serial), "{}", revoke.stderr);
    let revoked_at = ws.revoked_at("hc", &clinic.serial);
    assert!(revoked_at >= clinic.not_before + Duration::seconds(2));
    // Idempotent.
    let again = ws.ok(&["revoke", "--dir", &ws.arg("hc"), "--serial", &clinic.serial, "--reason", "key-compromise"]);
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert_eq!(ws.revoked_at("hc", &clinic.serial), revoked_at);

    ws.ok(&["crl", "--dir", &ws.arg("hc"), "--out", &ws.arg("crl-revoked.pem")]);
    let shown = ws.ok(&["show", &ws.arg("crl-revoked.pem")]);
    assert!(shown.stdout.contains(&clinic.serial) && shown.stdout.contains("keyCompromise"), "{}", shown.stdout);
    let verify =
        openssl(&ws, &["verify", "-crl_check", "-CRLfile", "crl-revoked.pem", "-CAfile", "hc/root.pem", "clinic.pem"]);
    assert_eq!(verify.output.status.code(), Some(2), "{}{}", verify.stdout, verify.stderr);
    assert!(
        format!("{}{}", verify.stdout, verify.stderr).contains("certificate revoked"),
        "{}{}",
        verify.stdout,
        verify.stderr
    );

    // The next trust list carries the revocation.
    ws.trust_list("trust-list-2.json");
    let store = ws.load_trust_list("trust-list-2.json");
    assert_eq!(store.sequence(), 2);
    let health = types(&[HEALTH_CERTIFICATE_TYPE]);
    let before = clinic.not_before + Duration::seconds(1);
    assert_eq!(outcome(&store.check_issuer(&clinic_key.did(), &health, before)), "valid");
    assert_eq!(outcome(&store.check_issuer(&clinic_key.did(), &health, revoked_at)), "issuer_revoked");
    assert_eq!(
        outcome(&store.check_issuer(&clinic_key.did(), &health, revoked_at + Duration::seconds(1))),
        "issuer_revoked"
    );
    assert_eq!(
        outcome(&store.check_issuer(&office_key.did(), &types(&[FOOD_BUSINESS_LICENCE_TYPE]), Utc::now())),
        "valid"
    );

    // `show` verifies the list against the roots and marks the revocation.
    let shown = ws.ok(&[
        "show",
        &ws.arg("trust-list-2.json"),
        "--root",
        &ws.arg("hc/root.pem"),
        "--root",
        &ws.arg("ms/root.pem"),
    ]);
    assert!(shown.stdout.contains("Signature: valid"), "{}", shown.stdout);
    assert!(shown.stdout.contains("REVOKED"), "{}", shown.stdout);
    assert!(shown.stdout.contains(OFFICE_NAME), "{}", shown.stdout);
    // Against the wrong root alone, it does not verify.
    ws.fails(&["show", &ws.arg("trust-list-2.json"), "--root", &ws.arg("ms/root.pem")], "does not verify");

    ws.assert_no_secret_printed(&["clinic", "office"]);
}

#[test]
fn key_rotation_keeps_earlier_credentials_valid() {
    let ws = Workspace::new();
    ws.init_departments();
    ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "old.csr");
    let old_key_pem = ws.read("clinic/issuer-key.pem");
    let old_key = issuer_key(&ws, "clinic");
    let old = ws.issue("hc", "old.csr", HEALTH_CERTIFICATE_TYPE, "old.pem");
    ws.trust_list("trust-list-1.json");

    next_seconds(2);
    let rotation =
        ws.ok(&["rotate-key", "--data-dir", &ws.arg("clinic"), "--organization", CLINIC_NAME, "--usci", CLINIC_USCI]);
    // The old key is kept, byte for byte, in retired-keys/; a new one replaces it.
    let retired: Vec<PathBuf> = std::fs::read_dir(ws.path("clinic/retired-keys"))
        .expect("retired-keys exists")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(retired.len(), 1, "{retired:?}");
    let retired_file = retired.first().expect("one retired key");
    let retired_name = retired_file.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(retired_name.starts_with("issuer-key-") && retired_name.ends_with(".pem"), "{retired_name}");
    assert_eq!(std::fs::read_to_string(retired_file).expect("read"), old_key_pem);
    let new_key = issuer_key(&ws, "clinic");
    assert_ne!(new_key.did(), old_key.did());
    #[cfg(unix)]
    {
        assert_eq!(mode(&ws.path("clinic/issuer-key.pem")), 0o600);
        assert_eq!(mode(retired_file), 0o600);
    }
    assert!(rotation.stderr.contains(&old_key.did()) && rotation.stderr.contains(&new_key.did()));
    assert!(rotation.stderr.contains("superseded"), "the next steps are printed: {}", rotation.stderr);
    let leftovers: Vec<_> = std::fs::read_dir(ws.path("clinic"))
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files are left: {leftovers:?}");

    // The CSR on stdout is for the new key.
    assert!(rotation.stdout.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    ws.write("new.csr", &rotation.stdout);
    let shown = ws.ok(&["show", &ws.arg("new.csr")]);
    assert!(shown.stdout.contains(&new_key.did()), "{}", shown.stdout);

    // Before its certificate exists, verifiers do not know the new key.
    let store = ws.load_trust_list("trust-list-1.json");
    let health = types(&[HEALTH_CERTIFICATE_TYPE]);
    assert_eq!(outcome(&store.check_issuer(&new_key.did(), &health, Utc::now())), "unknown_issuer");

    // The department certifies the new key, then retires the old certificate.
    let new = ws.issue("hc", "new.csr", HEALTH_CERTIFICATE_TYPE, "new.pem");
    assert_eq!(new.did.as_deref(), Some(new_key.did().as_str()));
    ws.ok(&["revoke", "--dir", &ws.arg("hc"), "--serial", &old.serial, "--reason", "superseded"]);
    let superseded_at = ws.revoked_at("hc", &old.serial);
    ws.trust_list("trust-list-2.json");
    let store = ws.load_trust_list("trust-list-2.json");
    let signed_before = old.not_before + Duration::seconds(1);
    assert!(signed_before < superseded_at);
    assert_eq!(outcome(&store.check_issuer(&old_key.did(), &health, signed_before)), "valid");
    assert_eq!(outcome(&store.check_issuer(&old_key.did(), &health, superseded_at)), "valid");
    assert_eq!(
        outcome(&store.check_issuer(&old_key.did(), &health, superseded_at + Duration::seconds(1))),
        "issuer_revoked"
    );
    assert_eq!(outcome(&store.check_issuer(&new_key.did(), &health, Utc::now())), "valid");

    // Superseded cannot become another non-compromise reason…
    ws.fails(
        &["revoke", "--dir", &ws.arg("hc"), "--serial", &old.serial, "--reason", "cessation-of-operation"],
        "already revoked",
    );
    // …but a later key compromise upgrades it, voiding earlier signatures too.
    ws.ok(&[
        "revoke",
        "--dir",
        &ws.arg("hc"),
        "--serial",
        &old.serial,
        "--reason",
        "key-compromise",
        "--invalidity-date",
        &old.not_before.to_rfc3339(),
    ]);
    let register: serde_json::Value = serde_json::from_str(&ws.read("hc/revocations.json")).expect("json");
    let record = &register["revocations"][0];
    assert_eq!(record["reason"], "keyCompromise");
    assert_eq!(record["earlier"][0]["reason"], "superseded");
    assert_eq!(ws.revoked_at("hc", &old.serial), superseded_at, "the revocation date stays");
    ws.trust_list("trust-list-3.json");
    let store = ws.load_trust_list("trust-list-3.json");
    assert_eq!(store.sequence(), 3);
    assert_eq!(outcome(&store.check_issuer(&old_key.did(), &health, signed_before)), "issuer_revoked");
    assert_eq!(outcome(&store.check_issuer(&new_key.did(), &health, Utc::now())), "valid");

    ws.assert_no_secret_printed(&["clinic"]);
}

#[test]
fn passphrase_errors_are_clear_and_nothing_secret_is_printed() {
    let ws = Workspace::new();
    let hc = ws.arg("hc");
    let init = [
        "init-root",
        "--dir",
        hc.as_str(),
        "--organization",
        "广州市卫生健康委员会",
        "--common-name",
        "根证书",
        "--authorises",
        HEALTH_CERTIFICATE_TYPE,
    ];

    // No passphrase, or an empty one: refused, nothing created.
    ws.fails_with(
        &init,
        |c| {
            c.env_remove("ISSUER_PKI_PASSPHRASE");
        },
        "no passphrase",
    );
    ws.fails_with(
        &init,
        |c| {
            c.env("ISSUER_PKI_PASSPHRASE", "");
        },
        "empty",
    );
    ws.write_secret("empty-passphrase", "\n");
    let mut with_file = init.to_vec();
    let empty_file = ws.arg("empty-passphrase");
    with_file.extend(["--passphrase-file", empty_file.as_str()]);
    ws.fails(&with_file, "empty");
    assert!(!ws.path("hc/root.pem").exists() && !ws.path("hc/root.key.pem").exists());

    // A passphrase file (with its newline) works and wins over the environment.
    ws.write_secret("passphrase", &format!("{PASSPHRASE}\n"));
    let passphrase_file = ws.arg("passphrase");
    let mut init_with_file = init.to_vec();
    init_with_file.extend(["--passphrase-file", passphrase_file.as_str()]);
    let created = ws.run_with(&init_with_file, |c| {
        c.env("ISSUER_PKI_PASSPHRASE", "not-this-one");
    });
    assert!(created.succeeded(), "{}", created.stderr);
    let root_before = ws.read("hc/root.pem");
    let key_before = ws.read("hc/root.key.pem");
    decrypt_private_key(&key_before, PASSPHRASE).expect("the file's passphrase protects the key");

    // A second init-root is refused and changes nothing.
    ws.fails(&init, "already holds a CA");
    assert_eq!(ws.read("hc/root.pem"), root_before);
    assert_eq!(ws.read("hc/root.key.pem"), key_before);

    // Wrong passphrase, from the environment or a file.
    ws.fails_with(
        &["crl", "--dir", &hc],
        |c| {
            c.env("ISSUER_PKI_PASSPHRASE", "wrong");
        },
        "wrong passphrase",
    );
    ws.write_secret("wrong-passphrase", "wrong\n");
    ws.fails(&["crl", "--dir", &hc, "--passphrase-file", &ws.arg("wrong-passphrase")], "wrong passphrase");
    let crl = ws.ok(&["crl", "--dir", &hc, "--passphrase-file", &passphrase_file]);
    assert!(crl.stdout.starts_with("-----BEGIN X509 CRL-----"));

    // Issuing with a wrong passphrase stores nothing.
    ws.init_root("ms", "广州市市场监督管理局", "广州市市场监督管理局电子证照根证书", FOOD_BUSINESS_LICENCE_TYPE);
    ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "clinic.csr");
    let issue = ["issue", "--dir", hc.as_str(), "--csr", "clinic.csr", "--types", HEALTH_CERTIFICATE_TYPE];
    ws.fails_with(
        &issue,
        |c| {
            c.env("ISSUER_PKI_PASSPHRASE", "wrong");
        },
        "wrong passphrase",
    );
    assert_eq!(std::fs::read_dir(ws.path("hc/issued")).expect("issued").count(), 0);
    ws.fails_with(
        &["trust-list", "--dir", &hc, "--signer", &hc, "--out", "tl.json"],
        |c| {
            c.env("ISSUER_PKI_PASSPHRASE", "wrong");
        },
        "wrong passphrase",
    );
    assert_eq!(ws.read("hc/trust-list.sequence").trim(), "0", "a failed list takes no sequence number");

    // `show` refuses key files rather than printing them.
    ws.fails(&["show", &ws.arg("clinic/issuer-key.pem")], "never displays keys");
    ws.fails(&["show", &ws.arg("hc/root.key.pem")], "never displays keys");

    ws.assert_no_secret_printed(&["clinic"]);
}

#[test]
fn bad_input_is_refused_with_context() {
    let ws = Workspace::new();
    ws.init_departments();
    let hc = ws.arg("hc");

    // A USCI with a wrong check character: refused before any key is made.
    ws.fails(
        &["request", "--data-dir", &ws.arg("clinic"), "--organization", CLINIC_NAME, "--usci", "12110000MB0000001V"],
        "check character",
    );
    assert!(!ws.path("clinic/issuer-key.pem").exists());
    ws.fails(
        &["request", "--data-dir", &ws.arg("clinic"), "--organization", CLINIC_NAME, "--usci", "1211"],
        "unified social credit code",
    );

    // Rotation needs a key, and a good USCI; a refused rotation changes nothing.
    let clinic_dir = ws.arg("clinic");
    let rotate = |usci: &'static str| ["rotate-key", "--data-dir", "", "--organization", CLINIC_NAME, "--usci", usci];
    let mut args = rotate(CLINIC_USCI);
    args[2] = &clinic_dir;
    ws.fails(&args, "nothing to rotate");
    ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "clinic.csr");
    let key_before = ws.read("clinic/issuer-key.pem");
    let mut args = rotate("12110000MB0000001V");
    args[2] = &clinic_dir;
    ws.fails(&args, "check character");
    assert_eq!(ws.read("clinic/issuer-key.pem"), key_before);
    assert!(!ws.path("clinic/retired-keys").exists());

    // Credential type names.
    ws.fails(&["issue", "--dir", &hc, "--csr", "clinic.csr", "--types", "Health-Certificate"], "not a type name");
    ws.fails(
        &["issue", "--dir", &hc, "--csr", "clinic.csr", "--types", "VerifiableCredential"],
        "cannot be authorised",
    );
    ws.fails(
        &["issue", "--dir", &hc, "--csr", "clinic.csr", "--types", "HealthCertificate,BoilerOperatorCertificate"],
        "credential type BoilerOperatorCertificate has no definition",
    );
    ws.fails(&["issue", "--dir", &hc, "--csr", "missing.csr", "--types", "HealthCertificate"], "missing.csr");
    ws.fails(
        &["issue", "--dir", &ws.arg("nowhere"), "--csr", "clinic.csr", "--types", "HealthCertificate"],
        "not a department CA directory",
    );
    ws.fails(
        &["issue", "--dir", &hc, "--csr", "clinic.csr", "--types", "HealthCertificate", "--days", "100000"],
        "outlive the root",
    );
    // A certificate is not a CSR.
    ws.fails(
        &["issue", "--dir", &hc, "--csr", &ws.arg("hc/root.pem"), "--types", "HealthCertificate"],
        "issuing a certificate",
    );

    // Revocation: unknown serials, future times, misplaced invalidity dates.
    ws.fails(
        &["revoke", "--dir", &hc, "--serial", "4a0b0c0d", "--reason", "superseded"],
        "no certificate with serial 4a0b0c0d",
    );
    ws.fails(&["revoke", "--dir", &hc, "--serial", "not-hex", "--reason", "superseded"], "not a hexadecimal number");
    let clinic = ws.issue("hc", "clinic.csr", HEALTH_CERTIFICATE_TYPE, "clinic.pem");
    // A serial from the other department is unknown here.
    ws.fails(
        &["revoke", "--dir", &ws.arg("ms"), "--serial", &clinic.serial, "--reason", "superseded"],
        "no certificate with serial",
    );
    let future = (Utc::now() + Duration::days(1)).to_rfc3339();
    ws.fails(
        &["revoke", "--dir", &hc, "--serial", &clinic.serial, "--reason", "superseded", "--at", &future],
        "in the future",
    );
    ws.fails(
        &[
            "revoke",
            "--dir",
            &hc,
            "--serial",
            &clinic.serial,
            "--reason",
            "superseded",
            "--invalidity-date",
            "2026-01-01T00:00:00Z",
        ],
        "only applies to --reason key-compromise",
    );
    let register: serde_json::Value = serde_json::from_str(&ws.read("hc/revocations.json")).expect("json");
    assert_eq!(register["revocations"].as_array().map(Vec::len), Some(0), "nothing was recorded");

    // A second command waits for nobody: a held lock is reported.
    ws.write("hc/.lock", "12345\n");
    ws.fails(&["revoke", "--dir", &hc, "--serial", &clinic.serial, "--reason", "superseded"], "is locked");
    std::fs::remove_file(ws.path("hc/.lock")).expect("unlock");

    ws.assert_no_secret_printed(&["clinic"]);
}

/// The clinics' `issuer` binary has no PKI commands: root CA operations live in
/// `ecert-pki` only.
#[test]
fn the_issuer_binary_carries_no_pki_commands() {
    let run = Command::new(env!("CARGO_BIN_EXE_issuer")).args(["pki", "init-root", "--help"]).output().unwrap();
    assert!(!run.status.success(), "issuer pki still exists: {}", String::from_utf8_lossy(&run.stdout));
}

#[test]
fn sm2_department_root_certifies_revokes_and_signs_trust_lists() {
    let ws = Workspace::new();
    ws.ok(&[
        "init-root",
        "--dir",
        &ws.arg("hc"),
        "--organization",
        "广州市卫生健康委员会",
        "--common-name",
        "广州市卫生健康委员会国密根证书",
        "--algorithm",
        "sm2",
        "--authorises",
        HEALTH_CERTIFICATE_TYPE,
    ]);
    ws.init_root("ms", "广州市市场监督管理局", "广州市市场监督管理局电子证照根证书", FOOD_BUSINESS_LICENCE_TYPE);
    let root_text = openssl(&ws, &["x509", "-in", "hc/root.pem", "-noout", "-text"]);
    assert!(root_text.stdout.contains("SM2-with-SM3"), "{}", root_text.stdout);
    let refused = ws.run(&[
        "init-root",
        "--dir",
        &ws.arg("other"),
        "--organization",
        "x",
        "--common-name",
        "y",
        "--any-type",
        "--algorithm",
        "rsa",
    ]);
    assert!(!refused.succeeded() && refused.stderr.contains("p256 or sm2"), "{}", refused.stderr);
    assert!(!ws.path("other/root.pem").exists());

    // A (P-256) clinic certified by the SM2 root; OpenSSL checks it with the
    // GB/T 35276 distinguishing ID.
    ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "clinic.csr");
    let clinic_key = issuer_key(&ws, "clinic");
    let clinic = ws.issue("hc", "clinic.csr", HEALTH_CERTIFICATE_TYPE, "clinic.pem");
    let verify =
        openssl(&ws, &["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "hc/root.pem", "clinic.pem"]);
    assert!(verify.succeeded() && verify.stdout.contains("clinic.pem: OK"), "{}{}", verify.stdout, verify.stderr);

    // An SM2 trust list (signed by the SM2 root) with an SM2 CRL.
    ws.trust_list("trust-list-1.json");
    let store = ws.load_trust_list("trust-list-1.json");
    let health = types(&[HEALTH_CERTIFICATE_TYPE]);
    assert_eq!(outcome(&store.check_issuer(&clinic_key.did(), &health, Utc::now())), "valid");

    next_seconds(2);
    ws.ok(&["revoke", "--dir", &ws.arg("hc"), "--serial", &clinic.serial, "--reason", "key-compromise"]);
    let revoked_at = ws.revoked_at("hc", &clinic.serial);
    ws.ok(&["crl", "--dir", &ws.arg("hc"), "--out", &ws.arg("crl.pem")]);
    let crl_text = openssl(&ws, &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(
        crl_text.stdout.contains("SM2-with-SM3") && crl_text.stdout.contains("Key Compromise"),
        "{}",
        crl_text.stdout
    );
    ws.trust_list("trust-list-2.json");
    let store = ws.load_trust_list("trust-list-2.json");
    assert_eq!(outcome(&store.check_issuer(&clinic_key.did(), &health, revoked_at)), "issuer_revoked");
    let shown = ws.ok(&[
        "show",
        &ws.arg("trust-list-2.json"),
        "--root",
        &ws.arg("hc/root.pem"),
        "--root",
        &ws.arg("ms/root.pem"),
    ]);
    assert!(shown.stdout.contains("Signature: valid") && shown.stdout.contains("REVOKED"), "{}", shown.stdout);
    // Tampered: one character of the payload changed.
    let tampered = ws.read("trust-list-2.json").replacen("\\\"sequence\\\":2", "\\\"sequence\\\":3", 1);
    assert_ne!(tampered, ws.read("trust-list-2.json"));
    ws.write("tampered.json", &tampered);
    let bytes = std::fs::read(ws.path("tampered.json")).expect("read");
    let roots = [certificate_pem_to_der(&ws.read("hc/root.pem")).expect("root")];
    assert!(TrustList::load(&bytes, &roots, Utc::now(), Duration::days(1)).is_err());
}

/// The SM2 key `issuer serve --key-algorithm sm2` signs with.
fn sm2_issuer_key(ws: &Workspace, data_dir: &str) -> wallet_core::sm2_rdfc_2026::Sm2IssuerKey {
    wallet_core::sm2_rdfc_2026::Sm2IssuerKey::from_pkcs8_pem(&ws.read(&format!("{data_dir}/issuer-key-sm2.pem")))
        .expect("an SM2 key")
}

#[test]
fn sm2_clinic_keys_are_requested_certified_and_rotated() {
    let ws = Workspace::new();
    ws.ok(&[
        "init-root",
        "--dir",
        &ws.arg("hc"),
        "--organization",
        "广州市卫生健康委员会",
        "--common-name",
        "广州市卫生健康委员会国密根证书",
        "--algorithm",
        "sm2",
        "--authorises",
        HEALTH_CERTIFICATE_TYPE,
    ]);
    ws.init_root("ms", "广州市市场监督管理局", "广州市市场监督管理局电子证照根证书", FOOD_BUSINESS_LICENCE_TYPE);
    let sm2_request = |csr_file: &str| {
        let run = ws.ok(&[
            "request",
            "--data-dir",
            &ws.arg("clinic"),
            "--organization",
            CLINIC_NAME,
            "--usci",
            CLINIC_USCI,
            "--algorithm",
            "sm2",
        ]);
        assert!(run.stdout.starts_with("-----BEGIN CERTIFICATE REQUEST-----"), "{}", run.stdout);
        ws.write(csr_file, &run.stdout);
        run
    };
    let run = sm2_request("clinic.csr");
    let key = sm2_issuer_key(&ws, "clinic");
    assert!(run.stderr.contains(&key.did()), "{}", run.stderr);
    assert!(!ws.path("clinic/issuer-key.pem").exists(), "no P-256 key is made for an SM2 request");
    #[cfg(unix)]
    assert_eq!(mode(&ws.path("clinic/issuer-key-sm2.pem")), 0o600);
    // OpenSSL reads an SM2 CSR signed with SM2-with-SM3; a second request reuses the key.
    let csr_text = openssl(&ws, &["req", "-in", "clinic.csr", "-noout", "-text"]);
    assert!(csr_text.stdout.contains("SM2-with-SM3"), "{}", csr_text.stdout);
    sm2_request("again.csr");
    assert_eq!(sm2_issuer_key(&ws, "clinic").did(), key.did());

    // The SM2 root certifies the SM2 clinic key; the trust list vouches for it.
    let clinic = ws.issue("hc", "clinic.csr", HEALTH_CERTIFICATE_TYPE, "clinic.pem");
    assert_eq!(clinic.did.as_deref(), Some(key.did().as_str()));
    let cert_text = openssl(&ws, &["x509", "-in", "clinic.pem", "-noout", "-text"]);
    assert!(cert_text.stdout.contains("SM2"), "{}", cert_text.stdout);
    let verify =
        openssl(&ws, &["verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "hc/root.pem", "clinic.pem"]);
    assert!(verify.succeeded() && verify.stdout.contains("clinic.pem: OK"), "{}{}", verify.stdout, verify.stderr);
    ws.trust_list("trust-list-1.json");
    let health = types(&[HEALTH_CERTIFICATE_TYPE]);
    let store = ws.load_trust_list("trust-list-1.json");
    assert_eq!(outcome(&store.check_issuer(&key.did(), &health, Utc::now())), "valid");

    // Rotation: a new SM2 key and an SM2 CSR for it, the old one retired.
    let old_pem = ws.read("clinic/issuer-key-sm2.pem");
    let rotation = ws.ok(&[
        "rotate-key",
        "--data-dir",
        &ws.arg("clinic"),
        "--organization",
        CLINIC_NAME,
        "--usci",
        CLINIC_USCI,
        "--algorithm",
        "sm2",
        "--out",
        &ws.arg("new.csr"),
    ]);
    let new_key = sm2_issuer_key(&ws, "clinic");
    assert_ne!(new_key.did(), key.did());
    assert!(rotation.stderr.contains(&new_key.did()), "{}", rotation.stderr);
    let retired: Vec<PathBuf> = std::fs::read_dir(ws.path("clinic/retired-keys"))
        .expect("retired-keys exists")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(retired.len(), 1, "{retired:?}");
    let retired_name = retired[0].file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    assert!(retired_name.starts_with("issuer-key-sm2-"), "{retired_name}");
    assert_eq!(std::fs::read_to_string(&retired[0]).expect("read"), old_pem);
    let renewed = ws.issue("hc", "new.csr", HEALTH_CERTIFICATE_TYPE, "new.pem");
    assert_eq!(renewed.did.as_deref(), Some(new_key.did().as_str()));

    // A P-256 rotation where there is only an SM2 key: nothing to rotate.
    ws.fails(
        &["rotate-key", "--data-dir", &ws.arg("clinic"), "--organization", CLINIC_NAME, "--usci", CLINIC_USCI],
        "nothing to rotate",
    );
    ws.assert_never_printed("the retired SM2 key", &old_pem);
    ws.assert_never_printed("the SM2 key", &ws.read("clinic/issuer-key-sm2.pem"));
}

/// A department root says which credential types it may authorise: `issue`
/// refuses others, `show` says so, and a root made without a bound is bound
/// in place (same name and key) once what it issued outside the bound is
/// revoked; certificates issued before stay valid under the new root.
#[test]
fn a_department_root_authorises_only_its_types_and_an_unbounded_root_is_bound_in_place() {
    let ws = Workspace::new();
    ws.init_departments();
    ws.request("clinic", CLINIC_NAME, CLINIC_USCI, "clinic.csr");
    let clinic_key = issuer_key(&ws, "clinic");

    // Market supervision may not certify a clinic for health certificates.
    ws.fails(
        &["issue", "--dir", &ws.arg("ms"), "--csr", &ws.arg("clinic.csr"), "--types", HEALTH_CERTIFICATE_TYPE],
        "may authorise only FoodBusinessLicence",
    );
    assert!(std::fs::read_dir(ws.path("ms/issued")).unwrap().next().is_none(), "nothing was issued");
    let shown = ws.ok(&["show", &ws.arg("ms/root.pem")]);
    assert!(shown.stdout.contains("authorises:    FoodBusinessLicence"), "{}", shown.stdout);
    // Neither flag: refused, no root made.
    let refused = ws.run(&["init-root", "--dir", &ws.arg("x"), "--organization", "某局", "--common-name", "根证书"]);
    assert!(!refused.succeeded() && refused.stderr.contains("--authorises"), "{}", refused.stderr);
    assert!(!ws.path("x/root.pem").exists());

    // An agriculture bureau's root made without a bound certifies the clinic for
    // health certificates and dog vaccinations alike.
    ws.ok(&[
        "init-root",
        "--dir",
        &ws.arg("ag"),
        "--organization",
        "广州市农业农村局",
        "--common-name",
        "广州市农业农村局电子证照根证书",
        "--any-type",
    ]);
    let shown = ws.ok(&["show", &ws.arg("ag/root.pem")]);
    assert!(shown.stdout.contains("any credential type"), "{}", shown.stdout);
    let old_root = summarize(&ws.read("ag/root.pem"));
    let both =
        ws.issue("ag", "clinic.csr", &format!("{HEALTH_CERTIFICATE_TYPE},DogVaccinationCertificate"), "both.pem");
    ws.request("vet", "广州市宠物医院", OFFICE_USCI, "vet.csr");
    let vet_key = issuer_key(&ws, "vet");
    let dog = ws.issue("ag", "vet.csr", "DogVaccinationCertificate", "dog.pem");

    // Bounding it to dog vaccinations is refused while the clinic's certificate stands.
    let bound = ["bound-root", "--dir", &ws.arg("ag"), "--authorises", "DogVaccinationCertificate"];
    let refused = ws.fails(&bound, &both.serial);
    assert!(refused.stderr.contains(HEALTH_CERTIFICATE_TYPE), "{}", refused.stderr);
    assert_eq!(summarize(&ws.read("ag/root.pem")).serial, old_root.serial, "the root is unchanged");
    // Revoked as ceased, its earlier health certificates still stand: still refused
    // (the bound judges them too), until the department says they must not count.
    ws.ok(&["revoke", "--dir", &ws.arg("ag"), "--serial", &both.serial, "--reason", "cessation-of-operation"]);
    let refused = ws.fails(&bound, "--invalidate-history");
    assert!(refused.stderr.contains(&both.serial), "{}", refused.stderr);
    assert_eq!(summarize(&ws.read("ag/root.pem")).serial, old_root.serial, "the root is unchanged");
    let bound_anyway = [&bound[..], &["--invalidate-history"]].concat();
    let run = ws.ok(&bound_anyway);
    assert!(run.stderr.contains("authorises:  DogVaccinationCertificate"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("warning: credentials signed under {}", both.serial)), "{}", run.stderr);
    let new_root = summarize(&ws.read("ag/root.pem"));
    assert_ne!(new_root.serial, old_root.serial);
    assert_eq!((new_root.subject.as_str(), new_root.not_after), (old_root.subject.as_str(), old_root.not_after));
    assert_eq!(summarize(&ws.read(&format!("ag/root.{}.pem", old_root.serial))).serial, old_root.serial);
    // The vet's certificate, issued under the old root, chains to the new one.
    let verify = openssl(&ws, &["verify", "-CAfile", "ag/root.pem", "dog.pem"]);
    assert!(verify.succeeded(), "{}{}", verify.stdout, verify.stderr);
    ws.fails(
        &["issue", "--dir", &ws.arg("ag"), "--csr", &ws.arg("clinic.csr"), "--types", HEALTH_CERTIFICATE_TYPE],
        "may authorise only DogVaccinationCertificate",
    );

    // A verifier configured with the bounded root: the vet is trusted for dog
    // vaccinations; a trust list signed under either copy loads.
    ws.ok(&["trust-list", "--dir", &ws.arg("ag"), "--signer", &ws.arg("ag"), "--out", &ws.arg("ag-list.json")]);
    let bytes = std::fs::read(ws.path("ag-list.json")).unwrap();
    let roots = [certificate_pem_to_der(&ws.read("ag/root.pem")).unwrap()];
    let store = TrustList::load(&bytes, &roots, Utc::now(), Duration::days(1)).expect("loads");
    let dog_types = ["VerifiableCredential".to_owned(), "DogVaccinationCertificate".to_owned()];
    assert_eq!(store.check_issuer(&vet_key.did(), &dog_types, Utc::now()), CheckResult::Valid);
    assert_eq!(dog.did.as_deref(), Some(vet_key.did().as_str()));
    let health = ["VerifiableCredential".to_owned(), HEALTH_CERTIFICATE_TYPE.to_owned()];
    assert!(store.check_issuer(&clinic_key.did(), &health, Utc::now()).invalid_code().is_some());
}
