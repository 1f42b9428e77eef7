//! A real local chain for tests: anvil from `ANVIL_BIN` (installed by
//! `scripts/with-anvil.sh`; tests get it from `require(Dep::Anvil)`), started on
//! a port and killed by its own PID on drop.
//! Shared by the issuer's and the verifier's test suites (the verifier includes it by `#[path]`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free local TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An anvil process, killed on drop.
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Anvil {
    /// Starts anvil on `port` and waits until it answers.
    pub async fn start(bin: &str, port: u16) -> Self {
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting anvil");
        let anvil = Self { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
        while reqwest::Client::new().post(&anvil.url).json(&body).send().await.is_err() {
            assert!(Instant::now() < deadline, "anvil did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anvil
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
