//! A fast path from a credential in the bundled contexts straight to RDF
//! quads (issue #16), driven by the processed term definitions.
//!
//! The generic path (`json-ld`'s expansion, then `ssi`'s conversion to RDF)
//! processes every type-scoped and property-scoped context again on every node
//! that uses one, and clones the whole active context (hundreds of protected
//! terms) to leave a type-scoped context: that was a third of a verification.
//! Here the same steps of the JSON-LD 1.1 expansion algorithm run on a small
//! subset of JSON-LD, and every context they reach (the top-level one, each
//! type-scoped and property-scoped one, each "previous context" a node object
//! returns to) is processed by `json-ld` itself once per process and kept:
//! keyed by the context it was derived from and the term that led there, so
//! only terms the bundled (immutable) or generated contexts define with a
//! scoped context can add entries, and the cache is cleared at [`MAX_KEPT`].
//!
//! The subset: node objects whose keys are terms defined as `@id`, `@type` or
//! an absolute property IRI (no `@`-keys, no compact or absolute IRI keys, no
//! `@vocab` terms, no embedded `@context`); values that are strings, integers,
//! booleans, node objects, arrays of those, `null`; containers none, `@set` or
//! `@graph` (the proof); coercions none, `@id`, `@vocab` or a datatype; ids
//! and types that are absolute IRIs or terms. Anything else (a blank node id
//! in the document, a language, `@list`, a float, a base IRI, …) is `None`
//! and the caller takes the generic path, which also reports every error.
//! The differential tests (`tests/suite/bundled_expansion.rs`) hold this
//! path to the generic one's canonical N-Quads on every fixture, the W3C
//! vectors and generated credentials.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Map, Value};
use ssi_json_ld::context_processing::Options as ProcessingOptions;
use ssi_json_ld::rdf_types::{BlankIdBuf, Id, Literal, LiteralType, Quad, Term};
use ssi_json_ld::syntax::Keyword;
use ssi_json_ld::{Container, IriBuf, Process as _, ValidId};
use ssi_rdf::LexicalQuad;

use crate::contexts::BundledLoader;

/// A processed (active) JSON-LD context.
type ActiveContext = ssi_json_ld::Context<IriBuf, BlankIdBuf>;

/// Contexts kept at most (the bundled contexts have a handful of scoped ones).
const MAX_KEPT: usize = 256;

/// A kept context and its number (never reused, so a key naming it cannot
/// outlive it and name another).
struct Kept {
    id: u64,
    context: ActiveContext,
}

/// How a context was reached from another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    /// The type-scoped context of this term (looked up in the context the
    /// node's types are read in, which the derived-from context determines).
    TypeScoped(u64, String),
    /// The property-scoped context of this term.
    PropertyScoped(String),
    /// The previous context (leaving a non-propagated context).
    Previous,
}

/// Kept contexts by key.
type KeptBy<K> = LazyLock<Mutex<HashMap<K, Arc<Kept>>>>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Top-level contexts, by [`crate::processed_contexts::key`].
static TOP: KeptBy<Vec<String>> = LazyLock::new(Mutex::default);
/// Derived contexts, by the context they were derived from and the step.
static DERIVED: KeptBy<(u64, Step)> = LazyLock::new(Mutex::default);

fn keep(context: ActiveContext) -> Arc<Kept> {
    Arc::new(Kept { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), context })
}

fn remember<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, Arc<Kept>>>, key: K, value: &Arc<Kept>) {
    if let Ok(mut kept) = map.lock() {
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(key, value.clone());
    }
}

fn recall<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, Arc<Kept>>>, key: &K) -> Option<Arc<Kept>> {
    map.lock().ok()?.get(key).cloned()
}

/// The RDF quads of `document` (blank nodes labelled `_:f0`, `_:f1`, …), or
/// `None` when the document is outside the subset this path handles.
pub(crate) async fn quads(loader: &BundledLoader, document: &Value) -> Option<Vec<LexicalQuad>> {
    let object = document.as_object()?;
    let top = top_context(loader, object.get("@context")?).await?;
    if top.context.base_iri().is_some() || top.context.default_language().is_some() {
        return None;
    }
    let mut out = Expansion { loader, quads: Vec::new(), blank: 0 };
    out.node(object, top, None, None, true).await?;
    Some(out.quads)
}

async fn top_context(loader: &BundledLoader, context: &Value) -> Option<Arc<Kept>> {
    let json: ssi_json_ld::syntax::Value = serde_json::from_value(context.clone()).ok()?;
    let key = crate::processed_contexts::key(loader, &json)?;
    if let Some(kept) = recall(&TOP, &key) {
        return Some(kept);
    }
    let active = crate::processed_contexts::processed(loader, key.clone(), &json, Default::default()).await?;
    let kept = keep(ActiveContext::clone(&active));
    remember(&TOP, key, &kept);
    Some(kept)
}

/// What a key of a node object is.
enum Key {
    Id,
    Type,
    Property(IriBuf),
}

struct Expansion<'l> {
    loader: &'l BundledLoader,
    quads: Vec<LexicalQuad>,
    blank: u64,
}

impl Expansion<'_> {
    fn fresh(&mut self) -> Option<Id> {
        let label = BlankIdBuf::new(format!("_:f{}", self.blank)).ok()?;
        self.blank += 1;
        Some(Id::Blank(label))
    }

    /// `from`, then the context `step` leads to (processed once per process).
    async fn derive(&self, from: &Arc<Kept>, step: Step, local: Option<Local<'_>>) -> Option<Arc<Kept>> {
        let key = (from.id, step);
        if let Some(kept) = recall(&DERIVED, &key) {
            return Some(kept);
        }
        let context = match (&key.1, local) {
            (Step::Previous, _) => from.context.previous_context()?.clone(),
            (_, Some(local)) => local
                .context
                .process_with(&mut (), &from.context, self.loader, local.base_url, local.options)
                .await
                .ok()?
                .into_processed(),
            (_, None) => return None,
        };
        let kept = keep(context);
        remember(&DERIVED, key, &kept);
        Some(kept)
    }

    /// The property-scoped context of `term` in `active`, applied (or `active`).
    async fn property_scoped(&self, active: Arc<Kept>, term: Option<&str>) -> Option<Arc<Kept>> {
        let Some(term) = term else { return Some(active) };
        let Some(definition) = active.context.get(term) else { return Some(active) };
        let Some(local) = definition.context() else { return Some(active) };
        let local = Local {
            context: local,
            base_url: definition.base_url().cloned(),
            options: ProcessingOptions::default().with_override(),
        };
        let step = Step::PropertyScoped(term.to_owned());
        self.derive(&active, step, Some(local)).await
    }

    /// Expand one node object into quads of `graph`; its id.
    async fn node(
        &mut self,
        object: &Map<String, Value>,
        active: Arc<Kept>,
        property: Option<&str>,
        graph: Option<&Id>,
        top: bool,
    ) -> Option<Id> {
        if !top && object.contains_key("@context") {
            return None;
        }
        // A node object leaves a non-propagated (type-scoped) context, unless
        // it is only an `@id` (JSON-LD 1.1 expansion, step 7).
        let only_id = object.len() == 1 && object.keys().all(|k| matches!(key_of(&active.context, k), Some(Key::Id)));
        let mut active = if active.context.previous_context().is_some() && !only_id {
            self.derive(&active, Step::Previous, None).await?
        } else {
            active
        };
        active = Box::pin(self.property_scoped(active, property)).await?;

        // Types, read in the context before any type-scoped one; their
        // contexts applied in lexicographic order of the terms.
        let type_scoped = active.clone();
        let mut type_keys: Vec<&String> = object
            .keys()
            .filter(|k| *k != "@context" && matches!(key_of(&type_scoped.context, k), Some(Key::Type)))
            .collect();
        type_keys.sort_unstable();
        let mut type_terms: Vec<&str> = Vec::new();
        for key in &type_keys {
            match object.get(*key)? {
                Value::String(s) => type_terms.push(s),
                Value::Array(items) => {
                    for item in items {
                        type_terms.push(item.as_str()?);
                    }
                }
                _ => return None,
            }
        }
        let mut types = Vec::with_capacity(type_terms.len());
        for term in &type_terms {
            types.push(iri(&type_scoped.context, term, true)?);
        }
        let mut sorted = type_terms.clone();
        sorted.sort_unstable();
        for term in sorted {
            let Some(definition) = type_scoped.context.get(term) else { continue };
            let Some(local) = definition.context() else { continue };
            let local = Local {
                context: local,
                base_url: definition.base_url().cloned(),
                options: ProcessingOptions::default().without_propagation(),
            };
            active = self.derive(&active, Step::TypeScoped(type_scoped.id, term.to_owned()), Some(local)).await?;
        }

        // What each key is in the node's context, looked up once.
        let mut members = Vec::with_capacity(object.len());
        for (key, value) in object {
            if key == "@context" {
                continue;
            }
            let definition = active.context.get(key.as_str());
            members.push((key, value, key_defined_by(&active.context, key, definition)?, definition));
        }

        // The node's id.
        let mut id = None;
        for (_, value, key, _) in &members {
            if let Key::Id = key {
                if id.is_some() {
                    return None;
                }
                id = Some(Id::Iri(iri(&active.context, value.as_str()?, false)?));
            }
        }
        let subject = match id {
            Some(id) => id,
            None => self.fresh()?,
        };
        for ty in types {
            self.quads.push(Quad(subject.clone(), RDF_TYPE_IRI.clone(), Term::Id(Id::Iri(ty)), graph.cloned()));
        }

        for (key, value, kind, definition) in &members {
            let Key::Property(predicate) = kind else { continue };
            let container = definition.as_ref().map_or(Container::None, |d| d.container());
            let values: &[Value] = match value {
                Value::Array(items) => items,
                single => std::slice::from_ref(single),
            };
            for value in values {
                let object = match (value, container) {
                    (Value::Null, _) => continue,
                    (Value::Object(node), Container::Graph) => {
                        let name = self.fresh()?;
                        Box::pin(self.node(node, active.clone(), Some(key.as_str()), Some(&name), false)).await?;
                        Term::Id(name)
                    }
                    (_, Container::Graph) => return None,
                    (Value::Object(node), _) => {
                        Term::Id(Box::pin(self.node(node, active.clone(), Some(key.as_str()), graph, false)).await?)
                    }
                    (Value::Array(_), _) => return None,
                    (scalar, _) if definition.as_ref().is_some_and(|d| d.context().is_some()) => {
                        // A property-scoped context applies to a scalar too,
                        // and its definition of the term coerces it.
                        let scoped = Box::pin(self.property_scoped(active.clone(), Some(key.as_str()))).await?;
                        literal(&scoped.context, scoped.context.get(key.as_str()), scalar)?
                    }
                    (scalar, _) => literal(&active.context, *definition, scalar)?,
                };
                self.quads.push(Quad(subject.clone(), predicate.clone(), object, graph.cloned()));
            }
        }
        Some(subject)
    }
}

/// The IRIs every credential uses, validated once per process rather than
/// once per quad (issue #16: IRI validation was 2.5% of a verification).
static RDF_TYPE_IRI: LazyLock<IriBuf> = LazyLock::new(|| known_iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"));
static XSD_STRING: LazyLock<IriBuf> = LazyLock::new(|| known_iri("http://www.w3.org/2001/XMLSchema#string"));
static XSD_BOOLEAN: LazyLock<IriBuf> = LazyLock::new(|| known_iri("http://www.w3.org/2001/XMLSchema#boolean"));
static XSD_INTEGER: LazyLock<IriBuf> = LazyLock::new(|| known_iri("http://www.w3.org/2001/XMLSchema#integer"));

#[allow(clippy::expect_used)] // constant, valid IRIs (the unit test below checks them)
fn known_iri(iri: &'static str) -> IriBuf {
    IriBuf::new(iri.to_owned()).expect("a constant, valid IRI")
}

/// A scoped context to process, and how.
struct Local<'a> {
    context: &'a ssi_json_ld::syntax::context::Context,
    base_url: Option<IriBuf>,
    options: ProcessingOptions,
}

/// A term definition of an active context.
type Definition<'c> = ssi_json_ld::context::TermDefinitionRef<'c, IriBuf, BlankIdBuf>;

/// What `key` is in `context`; `None` for anything outside the subset.
fn key_of(context: &ActiveContext, key: &str) -> Option<Key> {
    key_defined_by(context, key, context.get(key))
}

/// [`key_of`], given `key`'s definition in `context` (looked up once by the
/// caller, who also reads its container and coercion: issue #16).
fn key_defined_by(context: &ActiveContext, key: &str, definition: Option<Definition<'_>>) -> Option<Key> {
    if key.is_empty() || key.starts_with('@') {
        return None;
    }
    let Some(definition) = definition else {
        // Not a term: a property through `@vocab` (a key with a `:` would
        // be a compact or absolute IRI: the generic path's).
        return (!key.contains(':')).then(|| vocabulary_iri(context, key)).flatten().map(Key::Property);
    };
    let plain = !definition.reverse_property()
        && definition.nest().is_none()
        && definition.index().is_none()
        && definition.language().is_none()
        && definition.direction().is_none();
    match definition.value()? {
        ssi_json_ld::Term::Keyword(Keyword::Id) if plain => Some(Key::Id),
        ssi_json_ld::Term::Keyword(Keyword::Type) if plain => Some(Key::Type),
        ssi_json_ld::Term::Id(ssi_json_ld::Id::Valid(ValidId::Iri(iri))) if plain => {
            let simple = matches!(definition.container(), Container::None | Container::Set | Container::Graph);
            let coercion = matches!(
                definition.typ(),
                None | Some(ssi_json_ld::Type::Id | ssi_json_ld::Type::Vocab | ssi_json_ld::Type::Iri(_))
            );
            (simple && coercion).then(|| Key::Property(iri.clone()))
        }
        _ => None,
    }
}

/// IRI expansion of `value` (`vocab`: terms map to their IRIs); only to an
/// absolute IRI that needs no prefix of `context`.
fn iri(context: &ActiveContext, value: &str, vocab: bool) -> Option<IriBuf> {
    if value.is_empty() || value.starts_with('@') || value.starts_with("_:") {
        return None;
    }
    if vocab {
        if let Some(definition) = context.get(value) {
            return match definition.value()? {
                ssi_json_ld::Term::Id(ssi_json_ld::Id::Valid(ValidId::Iri(iri))) => Some(iri.clone()),
                _ => None,
            };
        }
    }
    let Some((prefix, suffix)) = value.split_once(':') else {
        return if vocab { vocabulary_iri(context, value) } else { None };
    };
    if !suffix.starts_with("//") && context.get(prefix).is_some() {
        return None;
    }
    IriBuf::new(value.to_owned()).ok()
}

/// `@vocab` followed by `term`, when the vocabulary mapping is an IRI and
/// the result one too.
fn vocabulary_iri(context: &ActiveContext, term: &str) -> Option<IriBuf> {
    match context.vocabulary()? {
        ssi_json_ld::Term::Id(ssi_json_ld::Id::Valid(ValidId::Iri(vocab))) => {
            IriBuf::new(format!("{}{term}", vocab.as_str())).ok()
        }
        _ => None,
    }
}

/// The RDF object of a scalar value of a property defined by `definition`
/// (`None`: through `@vocab`).
fn literal(context: &ActiveContext, definition: Option<Definition<'_>>, value: &Value) -> Option<Term<Id, Literal>> {
    let typed = |text: String, datatype: &LazyLock<IriBuf>| {
        Some(Term::Literal(Literal::new(text, LiteralType::Any(IriBuf::clone(datatype)))))
    };
    let plain = context.default_language().is_none() && context.default_base_direction().is_none();
    match (value, definition.as_ref().and_then(|d| d.typ())) {
        (Value::String(s), None) if plain => typed(s.clone(), &XSD_STRING),
        (Value::String(s), Some(ssi_json_ld::Type::Id)) => Some(Term::Id(Id::Iri(iri(context, s, false)?))),
        (Value::String(s), Some(ssi_json_ld::Type::Vocab)) => Some(Term::Id(Id::Iri(iri(context, s, true)?))),
        (Value::String(s), Some(ssi_json_ld::Type::Iri(datatype))) => {
            Some(Term::Literal(Literal::new(s.clone(), LiteralType::Any(datatype.clone()))))
        }
        (Value::Bool(b), None) => typed(b.to_string(), &XSD_BOOLEAN),
        (Value::Number(n), None) if n.is_i64() || n.is_u64() => typed(n.to_string(), &XSD_INTEGER),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_iris_are_the_ones_named() {
        assert_eq!(RDF_TYPE_IRI.as_str(), "http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
        assert_eq!(XSD_STRING.as_str(), "http://www.w3.org/2001/XMLSchema#string");
        assert_eq!(XSD_BOOLEAN.as_str(), "http://www.w3.org/2001/XMLSchema#boolean");
        assert_eq!(XSD_INTEGER.as_str(), "http://www.w3.org/2001/XMLSchema#integer");
    }
}
