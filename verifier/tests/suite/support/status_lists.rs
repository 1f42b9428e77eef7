//! A status list server for credentials the tests sign themselves. Every
//! shipped type says `statusRequired`: a credential of it without a
//! revocation and a suspension entry is refused (`status_entry_missing`), and
//! the verifier fetches the lists its entries name. One list, with both
//! purposes and nothing set, answers every request. [`Listener`] is the
//! server underneath (also the counting list server of `outbound_fetch`).

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use wallet_core::status::{status_list_credential, Bitstring, StatusEntry, StatusPurpose};

/// A status list server answering every request with the list set by
/// [`StatusLists::serve`] (404 before).
pub struct StatusLists {
    listener: Listener,
}

impl StatusLists {
    pub fn start() -> Self {
        let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec();
        Self { listener: Listener::start(not_found) }
    }

    /// The list's URL.
    pub fn url(&self) -> String {
        format!("{}/status/1", self.listener.base)
    }

    /// A revocation and a suspension entry on the list.
    pub fn entries(&self) -> Value {
        json!([
            StatusEntry::new(StatusPurpose::Revocation, 42, self.url()).to_json(),
            StatusEntry::new(StatusPurpose::Suspension, 43, self.url()).to_json(),
        ])
    }

    /// The list to sign by `issuer` (the credentials' key): both purposes,
    /// nothing set, valid from `valid_from` for a week.
    pub fn unsigned_list(&self, issuer: &str, valid_from: DateTime<Utc>) -> Value {
        let mut list = status_list_credential(
            &self.url(),
            issuer,
            StatusPurpose::Revocation,
            &Bitstring::new(131_072),
            valid_from,
            valid_from + Duration::days(7),
        );
        list["credentialSubject"]["statusPurpose"] = json!(["revocation", "suspension"]);
        list
    }

    /// Serve the list signed by `key` (valid from five minutes ago).
    pub async fn serve_signed_by(&self, key: &wallet_core::keys::IssuerKey) {
        let valid_from = Utc::now() - Duration::minutes(5);
        let unsigned = self.unsigned_list(&key.did(), valid_from);
        self.serve(wallet_core::issuance::sign_credential(&unsigned, key, valid_from).await.unwrap());
    }

    /// Serve `signed` from now on.
    pub fn serve(&self, signed: Value) {
        self.listener.answer(ok_json(&signed));
    }
}

/// `unsigned` with entries on a new list server, and the server (serving
/// nothing until [`StatusLists::serve`]).
pub fn with_status_entries(mut unsigned: Value) -> (Value, StatusLists) {
    let lists = StatusLists::start();
    unsigned["credentialStatus"] = lists.entries();
    (unsigned, lists)
}

/// A local HTTP server that answers every request with the current response
/// (switchable) and counts the requests.
pub struct Listener {
    pub base: String,
    hits: Arc<AtomicUsize>,
    response: Arc<Mutex<Vec<u8>>>,
}

impl Listener {
    pub fn start(response: Vec<u8>) -> Self {
        Self::start_answering_after(response, std::time::Duration::ZERO)
    }

    /// [`Listener::start`], taking `delay` over each answer (a slow list server).
    pub fn start_answering_after(response: Vec<u8>, delay: std::time::Duration) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let response = Arc::new(Mutex::new(response));
        let (counter, answer) = (Arc::clone(&hits), Arc::clone(&response));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                if head.is_empty() {
                    continue;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(delay);
                let bytes = answer.lock().unwrap().clone();
                let _ = stream.write_all(&bytes);
            }
        });
        Self { base, hits, response }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn answer(&self, response: Vec<u8>) {
        *self.response.lock().unwrap() = response;
    }
}

pub fn ok_json(body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
