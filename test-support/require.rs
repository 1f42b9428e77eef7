//! The one gate for tests that need something outside Rust: PostgreSQL, anvil,
//! a browser, Python, network isolation. Included by `#[path]` into every test
//! crate that has such tests (issuer, verifier, wallet-ffi), so the rule is the
//! same everywhere:
//!
//! - available: [`require`] returns what the test needs (a URL, a program);
//! - missing under `CI` (set, and not `0` / `false`) or the dependency's
//!   `REQUIRE_*` variable: the test fails, saying how to provide it;
//! - missing otherwise: one loud `SKIPPED <test> (<file:line>): …` line on
//!   stderr, and `None`: the test returns early (or, for network isolation,
//!   runs without it).
#![allow(dead_code)] // each test crate needs only some of the dependencies

use std::path::Path;
use std::process::{Command, Stdio};

/// Where the browser tests find chromedriver (Debian's chromium-driver).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the HSM tests find SoftHSM2's PKCS#11 module (Debian's softhsm2).
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A dependency some tests need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dep {
    /// A PostgreSQL server: `TEST_DATABASE_URL` (scripts/with-postgres.sh sets it).
    Postgres,
    /// A local chain: `ANVIL_BIN` (scripts/with-anvil.sh sets it).
    Anvil,
    /// Headless Chromium through chromedriver at [`CHROMEDRIVER`].
    Browser,
    /// A Python interpreter (`python3`, else `python`).
    Python,
    /// A network namespace with only loopback: `unshare -n`.
    Netns,
    /// SoftHSM2: its PKCS#11 module at [`SOFTHSM_MODULE`] and `softhsm2-util`.
    SoftHsm,
}

impl Dep {
    /// The variable that makes this dependency mandatory (besides `CI`).
    pub fn require_var(self) -> &'static str {
        match self {
            Dep::Postgres => "REQUIRE_POSTGRES",
            Dep::Anvil => "REQUIRE_ANVIL",
            Dep::Browser => "REQUIRE_BROWSER",
            Dep::Python => "REQUIRE_PYTHON",
            Dep::Netns => "REQUIRE_NETNS",
            Dep::SoftHsm => "REQUIRE_SOFTHSM",
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Dep::Postgres => "PostgreSQL not available (set TEST_DATABASE_URL or run scripts/with-postgres.sh)",
            Dep::Anvil => "anvil not available (set ANVIL_BIN or run scripts/with-anvil.sh)",
            Dep::Browser => {
                "chromedriver not available at /usr/bin/chromedriver (apt-get install chromium chromium-driver)"
            }
            Dep::Python => "python3 not available (apt-get install python3)",
            Dep::Netns => "network isolation not available (`unshare -n` needs root or user namespaces)",
            Dep::SoftHsm => "SoftHSM2 not available (apt-get install softhsm2)",
        }
    }

    /// What the test uses when the dependency is there.
    fn probe(self) -> Option<String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let runs = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        match self {
            Dep::Postgres => var("TEST_DATABASE_URL"),
            Dep::Anvil => var("ANVIL_BIN"),
            Dep::Browser => Path::new(CHROMEDRIVER).exists().then(|| CHROMEDRIVER.to_owned()),
            Dep::Python => ["python3", "python"].into_iter().find(|p| runs(p, &["--version"])).map(str::to_owned),
            Dep::Netns => runs("unshare", &["-n", "true"]).then(|| "unshare".to_owned()),
            Dep::SoftHsm => (Path::new(SOFTHSM_MODULE).exists() && runs("softhsm2-util", &["--version"]))
                .then(|| SOFTHSM_MODULE.to_owned()),
        }
    }
}

/// Whether an environment flag is on: set, and not empty, `0` or `false`.
fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// `dep` for this test: `Some` (the database URL, or the program to run) when
/// it is available; a failed test when it is missing under `CI` or
/// `REQUIRE_*`; otherwise `None` after a `SKIPPED` line on stderr.
#[track_caller]
pub fn require(dep: Dep) -> Option<String> {
    if let Some(found) = dep.probe() {
        return Some(found);
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    let at = std::panic::Location::caller();
    let var = dep.require_var();
    let why = if flag(var) {
        Some(var)
    } else if flag("CI") {
        Some("CI")
    } else {
        None
    };
    if let Some(why) = why {
        panic!("{test} ({at}): {} — and {why} is set, so this test may not be skipped", dep.missing());
    }
    // Straight to the process's stderr: the test harness captures `eprintln!`
    // of passing tests, and a skip must be seen.
    let line = format!("SKIPPED {test} ({at}): {} — set {var}=1 to fail instead\n", dep.missing());
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    None
}
