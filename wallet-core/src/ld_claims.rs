//! What Data Integrity signs and verifies: the credential or presentation JSON
//! exactly as given, as a JSON-LD document.
//!
//! `ssi`'s own credential types live in `ssi-vc`, which carries an HTTP client
//! (reqwest, for its status-list fetching) that wallet-core and the C ABI must
//! not. Nothing of the typed model was used: the VC Data Model rules are ours
//! ([`crate::data_model`]) and checked first; only the proof is validated
//! (`validate_proof`, not `verify`). So the claims are the document itself, and
//! its expansion is the one `ssi-vc` did (`CompactJsonLd`, undefined terms
//! refused), without the round trip through typed fields.

use std::borrow::Cow;
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use ssi_json_ld::{CompactJsonLd, Expandable, JsonLdError, JsonLdNodeObject, JsonLdObject, JsonLdTypes, Loader};
use ssi_rdf::{Interpretation, LdEnvironment, LinkedDataResource, LinkedDataSubject, VocabularyMut};

/// A JSON-LD credential or presentation, the `claims` of a `DataIntegrity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct LdClaims(CompactJsonLd);

impl LdClaims {
    /// The document (an object, without its `proof`).
    pub(crate) fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("not a JSON object".into());
        }
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())
    }
}

impl JsonLdObject for LdClaims {
    fn json_ld_context(&'_ self) -> Option<Cow<'_, ssi_json_ld::syntax::Context>> {
        self.0.json_ld_context()
    }
}

impl JsonLdNodeObject for LdClaims {
    /// The document's `type` (a string or an array of strings), as `ssi-vc` gave it.
    fn json_ld_type(&'_ self) -> JsonLdTypes<'_> {
        let types: Vec<String> = match self.0 .0.as_object().and_then(|o| o.get("type").next()) {
            Some(ssi_json_ld::syntax::Value::String(s)) => vec![s.to_string()],
            Some(ssi_json_ld::syntax::Value::Array(a)) => {
                a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()
            }
            _ => Vec::new(),
        };
        JsonLdTypes::from(types)
    }
}

impl Expandable for LdClaims {
    type Error = JsonLdError;

    type Expanded<I, V>
        = ssi_json_ld::ExpandedDocument<V::Iri, V::BlankId>
    where
        I: Interpretation,
        V: VocabularyMut,
        V::Iri: LinkedDataResource<I, V> + LinkedDataSubject<I, V>,
        V::BlankId: LinkedDataResource<I, V> + LinkedDataSubject<I, V>;

    async fn expand_with<I, V>(
        &self,
        ld: &mut LdEnvironment<V, I>,
        loader: &impl Loader,
    ) -> Result<Self::Expanded<I, V>, Self::Error>
    where
        I: Interpretation,
        V: VocabularyMut,
        V::Iri: Clone + Eq + Hash + LinkedDataResource<I, V> + LinkedDataSubject<I, V>,
        V::BlankId: Clone + Eq + Hash + LinkedDataResource<I, V> + LinkedDataSubject<I, V>,
    {
        self.0.expand_with(ld, loader).await
    }
}
