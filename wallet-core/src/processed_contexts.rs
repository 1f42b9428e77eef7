//! Processed JSON-LD contexts, kept (issue #16).
//!
//! Every expansion of a credential used to process its `@context` from the
//! JSON text up: the VC 2.0 base context alone has hundreds of protected
//! terms, and one verification expanded four documents with the same context
//! list. The contexts we bundle are compiled in and never change, and a
//! generated context is fixed by its text, so the *processed* active context
//! of a list of them is computed once per process and reused.
//!
//! [`expand`] gives what `expand_full` from an empty context gives (the
//! JSON-LD 1.1 expansion algorithm processes the top-level `@context` against
//! the empty context before it reads anything else, and with no previous
//! context): it starts from the kept active context and expands the document
//! without its `@context` entry. It answers only for documents whose
//! `@context` is a URL or an array of URLs, each bundled or generated, and only
//! with successes: anything else (an inline context, a URL from `ssi`'s static
//! set, any error) is `None`, and the caller takes the generic path, which
//! reports errors as before. The differential test
//! (`tests/suite/expansion_cache.rs`) holds both paths to the same expanded
//! document and the same N-Quads on every fixture.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use ssi_json_ld::expansion::{self, Options};
use ssi_json_ld::syntax::TryFromJson as _;
use ssi_json_ld::{BlankIdBuf, Expand as _, ExpandedDocument, IriBuf, Process as _};

use crate::contexts::{bundled_document, BundledLoader};

/// A processed (active) JSON-LD context.
type ActiveContext = ssi_json_ld::Context<IriBuf, BlankIdBuf>;

/// Context lists kept at most (a service sees a handful; a flood of
/// generated-context variants only evicts, it cannot grow memory).
const MAX_KEPT: usize = 64;
/// Longest `@context` array taken by this path.
const MAX_URLS: usize = 16;

/// Processed contexts by key ([`key`]).
static KEPT: LazyLock<Mutex<HashMap<Vec<String>, Arc<ActiveContext>>>> = LazyLock::new(Mutex::default);

/// The key of a top-level `@context`: its URLs in order, each generated one
/// with its text (the same URL with another text is another context).
/// `None` unless every entry is a bundled or generated context URL.
pub(crate) fn key(loader: &BundledLoader, context: &ssi_json_ld::syntax::Value) -> Option<Vec<String>> {
    use ssi_json_ld::syntax::Value;
    let urls: Vec<&str> = match context {
        Value::String(url) => vec![url.as_str()],
        Value::Array(items) if !items.is_empty() && items.len() <= MAX_URLS => {
            items.iter().map(Value::as_str).collect::<Option<_>>()?
        }
        _ => return None,
    };
    urls.into_iter()
        .map(|url| {
            if bundled_document(url).is_some() {
                Some(url.to_owned())
            } else {
                loader.generated_document(url).map(|text| format!("{url}\n{text}"))
            }
        })
        .collect()
}

/// The active context `context` gives from the empty context, kept.
pub(crate) async fn processed(
    loader: &BundledLoader,
    key: Vec<String>,
    context: &ssi_json_ld::syntax::Value,
    options: Options,
) -> Option<Arc<ActiveContext>> {
    if let Some(kept) = KEPT.lock().ok()?.get(&key) {
        return Some(kept.clone());
    }
    let local = ssi_json_ld::syntax::context::Context::try_from_json(context.clone()).ok()?;
    let active = local
        .process_with(&mut (), &ActiveContext::default(), loader, None, options.into())
        .await
        .ok()?
        .into_processed();
    let active = Arc::new(active);
    let mut kept = KEPT.lock().ok()?;
    if kept.len() >= MAX_KEPT {
        kept.clear();
    }
    kept.insert(key, active.clone());
    Some(active)
}

/// `document` expanded with `options` as `expand_full` does from the empty
/// context (no base URL, no warnings kept), its `@context` processed once per
/// process. `None`: not a document this path takes, or an error (the generic
/// path reports it).
pub(crate) async fn expand(
    loader: &BundledLoader,
    document: &ssi_json_ld::syntax::Value,
    options: Options,
) -> Option<ExpandedDocument<IriBuf, BlankIdBuf>> {
    let object = document.as_object()?;
    let context = object.get_unique("@context").ok()??;
    let key = key(loader, context)?;
    let active = processed(loader, key, context, options).await?;
    let mut without_context = object.clone();
    without_context.remove_unique("@context").ok()?;
    let without_context = ssi_json_ld::syntax::Value::Object(without_context);
    let expanded: Result<_, expansion::Error> =
        without_context.expand_full(&mut (), ActiveContext::clone(&active), None, loader, options, ()).await;
    expanded.ok()
}

#[cfg(test)]
mod tests {
    //! The differential test: on every JSON fixture of the repository (the
    //! VCDM 2.0 suite's, the W3C Data Integrity vectors, status lists, the
    //! health certificate), with and without its proof, and with both
    //! expansion policies in use (`ssi`'s, which rejects invalid values, and
    //! the data-model check's, which keeps them), the kept-context path either
    //! declines or gives the generic path's expanded document and canonical
    //! N-Quads.
    use std::path::{Path, PathBuf};

    use ssi_json_ld::expansion::{Action, Policy};
    use ssi_json_ld::syntax::Parse as _;
    use ssi_rdf::{AnyLdEnvironment as _, LdEnvironment};

    use super::*;
    use crate::credential_type::TypeRegistry;

    fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                json_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json" || e == "jsonld") {
                out.push(path);
            }
        }
    }

    fn nquads(expanded: &ExpandedDocument<IriBuf, BlankIdBuf>) -> Result<String, String> {
        let mut ld = LdEnvironment::default();
        let quads = ld.quads_of(expanded).map_err(|e| e.to_string())?;
        let (lines, _) = crate::canonical::budget::canonical_lines(&quads, crate::canonical::Budget::default())
            .map_err(|e| format!("{e:?}"))?;
        Ok(lines.concat())
    }

    fn policies() -> [Options; 2] {
        let with = |invalid| Options {
            policy: Policy { invalid, vocab: Action::Keep, allow_undefined: false },
            ..Default::default()
        };
        [with(Action::Reject), with(Action::Keep)]
    }

    #[test]
    fn kept_contexts_expand_every_fixture_as_the_generic_path_does() {
        let loader = TypeRegistry::default().loader();
        let mut files = Vec::new();
        json_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures"), &mut files);
        files.sort();
        let (mut compared, mut declined) = (0, 0);
        for file in &files {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(file).unwrap()) else {
                continue;
            };
            let Some(object) = value.as_object().filter(|o| o.contains_key("@context")) else { continue };
            let mut unsecured = object.clone();
            unsecured.remove("proof");
            for document in [value.clone(), serde_json::Value::Object(unsecured)] {
                let (json, _) = ssi_json_ld::syntax::Value::parse_str(&document.to_string()).unwrap();
                for options in policies() {
                    let kept = pollster::block_on(expand(&loader, &json, options));
                    let generic = pollster::block_on(json.expand_full(
                        &mut (),
                        ActiveContext::new(None),
                        None,
                        &loader,
                        options,
                        (),
                    ));
                    match (kept, generic) {
                        (None, _) => declined += 1,
                        (Some(kept), Ok(generic)) => {
                            assert_eq!(nquads(&kept), nquads(&generic), "{}", file.display());
                            assert!(kept == generic, "{}: expanded documents differ", file.display());
                            compared += 1;
                        }
                        (Some(_), Err(e)) => panic!("{}: generic path fails ({e}), kept path succeeds", file.display()),
                    }
                }
            }
        }
        // Most fixtures use only bundled contexts; the inline-context ones decline.
        assert!(compared >= 150, "compared {compared}, declined {declined}");
        assert!(declined > 0, "no fixture exercised the generic path");
    }

    #[test]
    fn inline_unknown_and_static_set_contexts_decline() {
        let loader = TypeRegistry::default().loader();
        for context in [
            serde_json::json!(["https://www.w3.org/ns/credentials/v2", {"x": "https://example.org/x"}]),
            serde_json::json!(["https://www.w3.org/ns/credentials/v2", "https://evil.example/context/v1"]),
            serde_json::json!("https://w3id.org/security/v2"),
            serde_json::json!([]),
        ] {
            let doc = serde_json::json!({"@context": context, "type": "VerifiableCredential"});
            let (json, _) = ssi_json_ld::syntax::Value::parse_str(&doc.to_string()).unwrap();
            assert!(pollster::block_on(expand(&loader, &json, Options::default())).is_none(), "{context}");
        }
    }

    #[test]
    fn a_generated_context_is_keyed_by_its_text() {
        use std::collections::HashMap;
        let url = "https://w3id.org/ecert/types/test/v1";
        let context = ssi_json_ld::syntax::Value::String(url.into());
        let loader =
            |text: &str| BundledLoader::with_generated(Arc::new(HashMap::from([(url.to_owned(), text.to_owned())])));
        let one = key(&loader(r#"{"@context": {"a": "https://example.org/a"}}"#), &context);
        let other = key(&loader(r#"{"@context": {"a": "https://example.org/b"}}"#), &context);
        assert!(one.is_some() && other.is_some() && one != other);
        assert_eq!(key(&BundledLoader::default(), &context), None);
    }
}
