//! The JSON-LD contexts this suite understands, bundled into the binary.
//!
//! Nothing is ever fetched at run time: a credential naming a context that is
//! not bundled here is rejected (data-model error `unknown_context`)
//! before any JSON-LD processing happens ("loading remote context failed" is a
//! classic field bug we refuse to have).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use ssi_json_ld::{ContextLoader, Iri, Loader, LoadingResult, StaticLoader};

/// Our own context: the terms of health certificates and licences.
pub const ECERT_V1: &str = "https://w3id.org/ecert/v1";
/// The VC Data Model 2.0 base context.
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The VC Data Model 1.1 base context (still sent by some test suites).
pub const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";
/// The W3C examples context (`@vocab`), used by the W3C test suites.
pub const CREDENTIALS_EXAMPLES_V2: &str = "https://www.w3.org/ns/credentials/examples/v2";
/// Data Integrity v2 context.
pub const DATA_INTEGRITY_V2: &str = "https://w3id.org/security/data-integrity/v2";

/// (URL, document) for every context bundled from our own copies. These take
/// precedence over the copies inside `ssi`, so the bytes we verify against are
/// the ones pinned in this repository.
const BUNDLED: &[(&str, &str)] = &[
    (ECERT_V1, include_str!("../contexts/ecert-v1.jsonld")),
    (CREDENTIALS_V2, include_str!("../contexts/credentials-v2.jsonld")),
    (CREDENTIALS_V1, include_str!("../contexts/credentials-v1.jsonld")),
    (CREDENTIALS_EXAMPLES_V2, include_str!("../contexts/credentials-examples-v2.jsonld")),
    (
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
        include_str!("../contexts/credentials-undefined-terms-v2.jsonld"),
    ),
    (DATA_INTEGRITY_V2, include_str!("../contexts/security-data-integrity-v2.jsonld")),
    ("https://w3id.org/security/multikey/v1", include_str!("../contexts/security-multikey-v1.jsonld")),
    ("https://www.w3.org/ns/did/v1", include_str!("../contexts/ns-did-v1.jsonld")),
];

static OWN_CONTEXTS: LazyLock<ContextLoader> = LazyLock::new(|| {
    let map: HashMap<String, String> =
        BUNDLED.iter().map(|(url, doc)| ((*url).to_owned(), (*doc).to_owned())).collect();
    // The bundled documents are compiled in and checked by the `bundled_contexts_parse` test.
    #[allow(clippy::expect_used)]
    ContextLoader::empty().with_context_map_from(map).expect("bundled JSON-LD contexts are valid JSON")
});

/// The text of a context bundled in this crate (not a generated one).
pub fn bundled_document(url: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(u, _)| *u == url).map(|(_, d)| *d)
}

/// The JSON-LD document loader used for signing and verifying: our bundled
/// contexts first, then the generated contexts it was built with (those of a
/// [`TypeRegistry`](crate::credential_type::TypeRegistry)'s credential types,
/// see its `loader`), then the static set compiled into `ssi`; never the
/// network. The default loader has no generated contexts.
#[derive(Debug, Clone, Default)]
pub struct BundledLoader {
    /// Generated context documents by URL (shared, never edited).
    generated: Arc<HashMap<String, String>>,
}

impl BundledLoader {
    /// A loader that also serves these generated context documents (URL → JSON text).
    pub fn with_generated(generated: Arc<HashMap<String, String>>) -> Self {
        Self { generated }
    }

    /// The text of a generated context this loader serves.
    pub(crate) fn generated_document(&self, url: &str) -> Option<&str> {
        self.generated.get(url).map(String::as_str)
    }

    /// Is this context URL one we can process offline? (Bundled, generated,
    /// or in `ssi`'s static set.)
    pub fn is_known(&self, url: &str) -> bool {
        BUNDLED.iter().any(|(u, _)| *u == url)
            || self.generated.contains_key(url)
            || Iri::new(url).ok().is_some_and(|iri| {
                // ssi's own static set (security v1/v2, ed25519-2020, status list 2021, …)
                pollster::block_on(StaticLoader.load(iri)).is_ok()
            })
    }
}

impl Loader for BundledLoader {
    async fn load(&self, url: &Iri) -> LoadingResult {
        match OWN_CONTEXTS.load(url).await {
            Ok(doc) => Ok(doc),
            Err(_) => match self.generated.get(url.as_str()) {
                Some(doc) => {
                    let map = HashMap::from([(url.as_str().to_owned(), doc.clone())]);
                    match ContextLoader::empty().with_context_map_from(map) {
                        Ok(loader) => loader.load(url).await,
                        Err(_) => StaticLoader.load(url).await,
                    }
                }
                None => StaticLoader.load(url).await,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_contexts_parse() {
        for (url, doc) in BUNDLED {
            let v: serde_json::Value = serde_json::from_str(doc).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(v.get("@context").is_some(), "{url} has no @context");
            let iri = Iri::new(*url).unwrap();
            assert!(pollster::block_on(BundledLoader::default().load(iri)).is_ok(), "{url} does not load");
        }
    }

    #[test]
    fn unknown_context_is_not_known() {
        let loader = BundledLoader::default();
        assert!(loader.is_known(ECERT_V1));
        assert!(loader.is_known(CREDENTIALS_V2));
        assert!(!loader.is_known("https://evil.example/context/v1"));
        assert!(!loader.is_known("not a url"));
    }
}
