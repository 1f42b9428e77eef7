//! Publishing the signed verifier bundle (`GET /bundle`) for offline inspectors.
//!
//! A department runs a verifier with its bundle-signing key (`--bundle-key`,
//! `--bundle-cert`) and the issuers it covers (`--bundle-issuer`). Every
//! `--bundle-secs` the publisher collects what this verifier already keeps fresh —
//! the department trust list it installed, every status list each issuer lists at
//! `GET <issuer>/status` (fetched and verified through the status cache), the latest
//! signed checkpoint of each mirrored log — and, when anything changed, signs a new
//! bundle. Its `sequence` is the collection time in Unix seconds (strictly
//! increasing, also across restarts), so inspectors can ask for what changed:
//!
//! - `GET /bundle`: the full bundle; `ETag: "<sequence>"`, `If-None-Match` → 304;
//! - `GET /bundle?since=N`: 304 when N is current; a signed *delta* from N (only the
//!   status lists that changed, the trust list only when it changed) when N is one
//!   of the recent bundles; else the full bundle. `X-Bundle-Delta-From` says which.
//!
//! wallet-core's `VerifierBundle::apply_delta` merges a delta into the held bundle.
//!
//! **Bounded work per request.** `GET /bundle` is public and a province's bundle
//! is megabytes: each bundle is gzipped once when published and each delta signed
//! and gzipped once when first asked for; a request only hands out shared
//! buffers (no copy, no compression, no signature on the request path).
//!
//! **An issuer that does not answer one round keeps its lists.** The status
//! lists of an issuer whose index (`GET <issuer>/status`) could not be read are
//! the ones its last index named (fetched again through the status cache), not
//! none: one network hiccup must not publish a bundle without them, in which
//! every certificate of that issuer would read `status_list_unavailable`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::Context as _;
use chrono::Utc;
use serde::Deserialize;
use wallet_core::signer::IssuerSigner;
use wallet_core::trust::TrustSigningKey;
use wallet_core::verifier_bundle::{sign_bundle, BundledStatusList, VerifierBundle, VERIFIER_BUNDLE_VERSION};

use crate::api_error::ApiError;
use crate::log_sync::AnchoringState;
use crate::status_sync::StatusState;
use crate::trust_sync::TrustState;

/// How many recent bundles are kept to serve deltas from.
const HISTORY: usize = 32;

/// Bundle publishing settings (off unless `--bundle-key` is given).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BundleSettings {
    /// The department's bundle-signing key (PKCS#8 PEM; encrypted keys take the
    /// passphrase from `BUNDLE_KEY_PASSPHRASE`), or a `pkcs11:` URI of a key in
    /// the department's token (PIN from its pin-source file or
    /// `ISSUER_PKCS11_PIN`). Enables `GET /bundle`.
    #[arg(long = "bundle-key")]
    pub key: Option<PathBuf>,
    /// The signing key's certificate, then its chain up to a root inspectors trust (PEM; repeatable).
    #[arg(long = "bundle-cert")]
    pub certs: Vec<PathBuf>,
    /// Passphrase of an encrypted `--bundle-key`.
    #[arg(long = "bundle-key-passphrase", env = "BUNDLE_KEY_PASSPHRASE", hide_env_values = true)]
    pub passphrase: Option<String>,
    /// Base URL of an issuer whose status lists the bundle carries (repeatable).
    #[arg(long = "bundle-issuer")]
    pub issuers: Vec<String>,
    /// Seconds between collections.
    #[arg(long = "bundle-secs", default_value_t = 300)]
    pub interval_secs: u64,
}

struct Published {
    payload: VerifierBundle,
    signed: Encoded,
    /// Signed deltas from earlier bundles (by their sequence), made when first asked for.
    deltas: Mutex<BTreeMap<u64, Encoded>>,
}

/// A signed bundle or delta, as served: as is, and gzipped (made once).
#[derive(Clone)]
struct Encoded {
    identity: Bytes,
    gzip: Bytes,
}

impl Encoded {
    fn new(signed: Vec<u8>) -> std::io::Result<Self> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&signed)?;
        Ok(Self { identity: Bytes::from(signed), gzip: Bytes::from(encoder.finish()?) })
    }
}

/// Collects, signs and keeps the recent bundles.
#[derive(Clone)]
pub struct BundlePublisher {
    key: Arc<dyn IssuerSigner>,
    chain: Arc<Vec<Vec<u8>>>,
    issuers: Vec<String>,
    interval: std::time::Duration,
    history: Arc<RwLock<VecDeque<Published>>>,
    /// Per issuer, the list URLs its last readable index named.
    known_lists: Arc<Mutex<BTreeMap<String, Vec<String>>>>,
}

#[derive(Deserialize)]
struct ListIndex {
    lists: Vec<ListRef>,
}

#[derive(Deserialize)]
struct ListRef {
    url: String,
}

impl BundlePublisher {
    /// `None` when no `--bundle-key` is configured.
    ///
    /// # Errors
    /// Unreadable or mismatched key and certificates.
    pub fn from_settings(settings: &BundleSettings) -> anyhow::Result<Option<Self>> {
        let Some(key_path) = &settings.key else { return Ok(None) };
        let key = crate::bundle_key::load(key_path, settings.passphrase.as_deref())?;
        anyhow::ensure!(!settings.certs.is_empty(), "--bundle-key needs --bundle-cert (its certificate chain)");
        let chain = crate::trust_sync::read_pem_certificates(&settings.certs)?;
        // Fail at start, not at the first collection, on a key that does not match.
        let probe = VerifierBundle {
            version: VERIFIER_BUNDLE_VERSION,
            sequence: 0,
            issued_at: Utc::now(),
            trust_list: String::new(),
            status_lists: Vec::new(),
            checkpoints: Vec::new(),
            logs: Vec::new(),
            base_sequence: None,
        };
        sign_bundle(&probe, TrustSigningKey::P256Signer(key.as_ref()), &chain)
            .map_err(|e| anyhow::anyhow!("--bundle-key/--bundle-cert: {e}"))?;
        Ok(Some(Self {
            key,
            chain: Arc::new(chain),
            issuers: settings.issuers.iter().map(|u| u.trim_end_matches('/').to_owned()).collect(),
            interval: std::time::Duration::from_secs(settings.interval_secs.max(1)),
            history: Arc::default(),
            known_lists: Arc::default(),
        }))
    }

    /// The bundle key, for wallet-core's signing.
    fn signing_key(&self) -> TrustSigningKey<'_> {
        TrustSigningKey::P256Signer(self.key.as_ref())
    }

    /// Collect and publish every interval, until the process ends.
    pub async fn run(self, trust: TrustState, status: StatusState, anchoring: AnchoringState) {
        loop {
            if let Err(e) = self.collect_once(&trust, &status, &anchoring).await {
                tracing::warn!(error = %e, "verifier bundle not published this round");
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// One collection: publishes a new bundle when anything changed.
    ///
    /// # Errors
    /// No trust list installed yet, or signing failed.
    pub async fn collect_once(
        &self,
        trust: &TrustState,
        status: &StatusState,
        anchoring: &AnchoringState,
    ) -> anyhow::Result<()> {
        let trust_list = trust.installed_list().context("no trust list installed yet")?;
        let trust_list = String::from_utf8(trust_list).context("trust list is not UTF-8")?;
        let mut indexes = Vec::with_capacity(self.issuers.len());
        for issuer in &self.issuers {
            let index = list_index(status.http(), issuer).await;
            if let Err(e) = &index {
                tracing::warn!(issuer, error = %e, "status list index unavailable; keeping the lists it named before");
            }
            indexes.push((issuer.clone(), index.ok()));
        }
        let urls = {
            let mut known = self.known_lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            lists_to_collect(&mut known, indexes)
        };
        status.fetch(&urls).await;
        let status_lists: Vec<BundledStatusList> = urls
            .iter()
            .flat_map(|url| {
                status
                    .verified_lists(url)
                    .into_iter()
                    .map(|credential| BundledStatusList { url: url.clone(), credential })
            })
            .collect();
        let checkpoints = anchoring.checkpoints();
        let logs = anchoring.bundled_logs();
        let now = Utc::now();
        let last_sequence = {
            let history = self.history.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(last) = history.back() {
                let p = &last.payload;
                if p.trust_list == trust_list
                    && p.status_lists == status_lists
                    && p.checkpoints == checkpoints
                    && p.logs == logs
                {
                    return Ok(());
                }
            }
            history.back().map(|last| last.payload.sequence)
        };
        let now_secs = u64::try_from(now.timestamp()).unwrap_or(0);
        let payload = VerifierBundle {
            version: VERIFIER_BUNDLE_VERSION,
            sequence: last_sequence.map_or(now_secs, |last| now_secs.max(last + 1)),
            issued_at: now,
            trust_list,
            status_lists,
            checkpoints,
            logs,
            base_sequence: None,
        };
        let signed = Encoded::new(sign_bundle(&payload, self.signing_key(), &self.chain)?)?;
        tracing::info!(
            sequence = payload.sequence,
            status_lists = payload.status_lists.len(),
            bytes = signed.identity.len(),
            gzipped = signed.gzip.len(),
            "verifier bundle published"
        );
        let mut history = self.history.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        history.push_back(Published { payload, signed, deltas: Mutex::default() });
        while history.len() > HISTORY {
            history.pop_front();
        }
        Ok(())
    }

    /// What to answer for `since`, or `None` when nothing was published yet.
    fn answer(&self, since: Option<u64>) -> Result<Option<Answer>, ApiError> {
        let history = self.history.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(latest) = history.back() else { return Ok(None) };
        let sequence = latest.payload.sequence;
        let full = || Answer { sequence, body: Some(latest.signed.clone()), delta_from: None };
        Ok(Some(match since {
            Some(n) if n == sequence => Answer { sequence, body: None, delta_from: None },
            Some(n) => match history.iter().find(|p| p.payload.sequence == n) {
                Some(base) => {
                    // Signed once per (latest, base): at most HISTORY - 1 per bundle,
                    // whoever asks how often.
                    let mut deltas = latest.deltas.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let delta = match deltas.get(&n) {
                        Some(delta) => delta.clone(),
                        None => {
                            let delta = latest.payload.delta_since(&base.payload);
                            let signed =
                                sign_bundle(&delta, self.signing_key(), &self.chain).map_err(ApiError::internal)?;
                            let encoded = Encoded::new(signed).map_err(ApiError::internal)?;
                            deltas.insert(n, encoded.clone());
                            encoded
                        }
                    };
                    Answer { sequence, body: Some(delta), delta_from: Some(n) }
                }
                None => full(),
            },
            None => full(),
        }))
    }
}

/// The status list URLs to collect: each issuer's index as read this round,
/// or, for an issuer whose index could not be read (`None`), the URLs its
/// last readable index named (kept in `known`).
fn lists_to_collect(
    known: &mut BTreeMap<String, Vec<String>>,
    indexes: Vec<(String, Option<Vec<String>>)>,
) -> Vec<String> {
    let mut urls = BTreeSet::new();
    for (issuer, index) in indexes {
        match index {
            Some(lists) => {
                urls.extend(lists.iter().cloned());
                known.insert(issuer, lists);
            }
            None => urls.extend(known.get(&issuer).into_iter().flatten().cloned()),
        }
    }
    urls.into_iter().collect()
}

/// The answer to `GET /bundle[?since=N]`.
struct Answer {
    /// The current bundle's sequence (the ETag).
    sequence: u64,
    /// The signed full bundle or delta; `None` when the asker is current.
    body: Option<Encoded>,
    /// The base of a delta.
    delta_from: Option<u64>,
}

async fn list_index(http: &reqwest::Client, issuer: &str) -> anyhow::Result<Vec<String>> {
    let resp = http.get(format!("{issuer}/status")).send().await?.error_for_status()?;
    let bytes = service_http::outbound::read_capped(resp, 1024 * 1024).await?;
    let index: ListIndex = serde_json::from_slice(&bytes)?;
    Ok(index.lists.into_iter().map(|l| l.url).collect())
}

/// `?since=N`.
#[derive(Debug, Deserialize)]
pub struct BundleQuery {
    since: Option<u64>,
}

/// `GET /bundle[?since=N]`.
///
/// # Errors
/// 404 `bundle_not_configured`; 503 `bundle_not_ready` before the first collection.
pub async fn bundle(
    publisher: web::Data<Option<BundlePublisher>>,
    query: web::Query<BundleQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Some(publisher) = publisher.get_ref() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "bundle_not_configured",
            "本核验服务未配置离线核验数据包",
            "this verifier does not publish a verifier bundle",
        ));
    };
    let Some(Answer { sequence, body: bytes, delta_from }) = publisher.answer(query.since)? else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bundle_not_ready",
            "离线核验数据包尚未生成，请稍后再试",
            "the verifier bundle has not been collected yet; retry shortly",
        ));
    };
    let etag = format!("\"{sequence}\"");
    let not_modified = bytes.is_none()
        || req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "accept-encoding"));
    if let Some(base) = delta_from {
        resp.insert_header(("X-Bundle-Delta-From", base.to_string()));
    }
    Ok(match bytes {
        Some(bytes) if !not_modified => {
            resp.content_type("application/json");
            if accepts_gzip(&req) {
                resp.insert_header((header::CONTENT_ENCODING, "gzip")).body(bytes.gzip)
            } else {
                resp.body(bytes.identity)
            }
        }
        _ => resp.finish(),
    })
}

/// Whether the client takes gzip (`Accept-Encoding` names `gzip` or `*`
/// without `q=0`).
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused =
                parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().map_or(true, |q| q <= 0.0)));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attack review 3: one round in which an issuer's index cannot be read
    /// (a network hiccup, a flood against the issuer) published a bundle
    /// without that issuer's lists, and every certificate of it read
    /// `status_list_unavailable` at offline inspectors until the next bundle.
    #[test]
    fn an_issuer_whose_index_fails_keeps_the_lists_it_named_before() {
        let mut known = BTreeMap::new();
        let a = || ("https://a.example".to_owned(), Some(vec!["https://a.example/status/1".to_owned()]));
        let b = |lists: &[&str]| {
            ("https://b.example".to_owned(), Some(lists.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>()))
        };
        let first =
            lists_to_collect(&mut known, vec![a(), b(&["https://b.example/status/1", "https://b.example/status/2"])]);
        assert_eq!(first.len(), 3);
        // b does not answer: its lists stay.
        let second = lists_to_collect(&mut known, vec![a(), ("https://b.example".to_owned(), None)]);
        assert_eq!(second, first);
        // b answers with one list retired: the index is what counts again.
        let third = lists_to_collect(&mut known, vec![a(), b(&["https://b.example/status/2"])]);
        assert_eq!(third, vec!["https://a.example/status/1".to_owned(), "https://b.example/status/2".to_owned()]);
        // An issuer never read has nothing to keep.
        let fourth = lists_to_collect(&mut known, vec![("https://c.example".to_owned(), None)]);
        assert!(fourth.is_empty());
    }

    #[test]
    fn gzip_is_served_only_to_clients_that_take_it() {
        let with = |value: &str| {
            let req = actix_web::test::TestRequest::default().insert_header((header::ACCEPT_ENCODING, value));
            accepts_gzip(&req.to_http_request())
        };
        assert!(with("gzip") && with("br, gzip;q=0.5") && with("*") && with("GZIP"));
        assert!(!with("identity") && !with("gzip;q=0") && !with("br") && !with("gzip;q=0.0"));
        assert!(!accepts_gzip(&actix_web::test::TestRequest::default().to_http_request()));
    }
}
