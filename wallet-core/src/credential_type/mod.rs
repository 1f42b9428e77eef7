//! Credential types from definition files, not from code.
//!
//! A *definition* (JSON, see `credential-types/*.json` at the repository root)
//! names a VC type, its fields (type, constraints, zh/en label, whether it is
//! printed on the card and shown to the inspector), the JSON-LD IRIs the
//! fields map to, the compact-QR codes of its new terms and the departments
//! whose issuers may be authorised for it. The *field types* and their rules
//! (ID card check digit, credit-code checksum, dates, …) are code
//! ([`FieldType`]); the *credential types* are data.
//!
//! The six shipped definitions are compiled in ([`SHIPPED`]); an operator adds
//! more with a directory of files ([`TypeRegistry::load`]). Every file is checked
//! on its own ([`Definition::parse`]) and against the others (type names, API
//! paths, context URLs and term codes must not clash); the first problem is
//! returned, naming the file and the field.
//!
//! # A registry is a value
//! JSON-LD contexts and compact-QR term codes are looked up deep inside
//! signing, verification and QR decoding, so whoever signs, verifies or
//! decodes is handed the [`TypeRegistry`] to use: [`VerifyOptions`](crate::verification::VerifyOptions)
//! carries one, the compact codec has `*_with` functions that take one, and
//! [`TypeRegistry::loader`] is the JSON-LD loader that knows its generated
//! contexts. There is no process-wide table: two registries (a test's and a
//! service's, say) never see each other. [`TypeRegistry::default`] is the
//! shipped definitions, parsed once.

mod definition;
mod fields;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::compact::terms;
use crate::contexts::BundledLoader;

pub use definition::{
    CustomError, Definition, DefinitionError, EnumValue, Field, FieldType, JsonLd, Text, Validity, ValueCodes,
    DEFINITION_CODE_END, DEFINITION_CODE_START, ECERT_VOCAB,
};
pub use fields::{DisplayField, RequestError, Validated, ID_NUMBER_KEY_MISSING};

/// The definitions shipped with the suite: (file name, text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("health-certificate.json", include_str!("../../../credential-types/health-certificate.json")),
    ("food-business-licence.json", include_str!("../../../credential-types/food-business-licence.json")),
    (
        "physician-practising-certificate.json",
        include_str!("../../../credential-types/physician-practising-certificate.json"),
    ),
    ("driving-instructor-licence.json", include_str!("../../../credential-types/driving-instructor-licence.json")),
    ("dog-vaccination-certificate.json", include_str!("../../../credential-types/dog-vaccination-certificate.json")),
    ("medical-invoice.json", include_str!("../../../credential-types/medical-invoice.json")),
];

/// The code tables and contexts of a set of definitions, checked for clashes.
#[derive(Debug, Default, Clone)]
struct Tables {
    definitions: Vec<Arc<Definition>>,
    key_by_code: HashMap<u64, Arc<str>>,
    code_by_key: HashMap<Arc<str>, u64>,
    value_by_code: HashMap<u64, Arc<str>>,
    code_by_value: HashMap<Arc<str>, u64>,
    /// Generated context documents by URL (shared with the loaders handed out).
    contexts: Arc<HashMap<String, String>>,
}

impl Tables {
    /// Add a definition, or say why it clashes. Adding an identical definition again is a no-op.
    fn add(&mut self, def: Arc<Definition>) -> Result<(), DefinitionError> {
        let err = |field: Option<&str>, p: String| DefinitionError::new(&def.source, field, p);
        if let Some(existing) = self.definitions.iter().find(|d| d.type_name == def.type_name) {
            if same_wire_meaning(existing, &def) {
                return Ok(());
            }
            return Err(err(None, format!("type {} is already defined by {}", def.type_name, existing.source)));
        }
        if let Some(code) = &def.licence_type_code {
            if let Some(existing) = self.definitions.iter().find(|d| d.licence_type_code.as_ref() == Some(code)) {
                return Err(err(None, format!("licenceTypeCode {code} is already the code of {}", existing.type_name)));
            }
        }
        if let Some(existing) = self.definitions.iter().find(|d| d.api_path == def.api_path) {
            return Err(err(None, format!("apiPath {:?} is already used by {}", def.api_path, existing.source)));
        }
        if def.context_document.is_some() {
            if let Some(existing) = self.definitions.iter().find(|d| d.context_url == def.context_url) {
                return Err(err(
                    None,
                    format!("jsonLd.context {} is already used by {}", def.context_url, existing.source),
                ));
            }
            if crate::contexts::bundled_document(&def.context_url).is_some() {
                return Err(err(None, format!("jsonLd.context {} is a bundled context", def.context_url)));
            }
        }
        for (key, code) in def.key_codes() {
            if let Some(other) = self.key_by_code.get(&code).filter(|k| ***k != *key) {
                return Err(err(Some(key), format!("duplicate code {code}: already the code of the term {other:?}")));
            }
            if let Some(other) = self.code_by_key.get(key).filter(|c| **c != code) {
                return Err(err(Some(key), format!("the term already has the code {other} in another definition")));
            }
        }
        for (value, code) in def.value_code_entries() {
            if let Some(other) = self.value_by_code.get(&code).filter(|v| ***v != *value) {
                return Err(err(None, format!("valueCodes: duplicate code {code}: already the code of {other:?}")));
            }
            if let Some(other) = self.code_by_value.get(value.as_str()).filter(|c| **c != code) {
                return Err(err(None, format!("valueCodes: {value:?} already has the code {other}")));
            }
        }
        for (key, code) in def.key_codes() {
            let key: Arc<str> = self.key_by_code.get(&code).cloned().unwrap_or_else(|| Arc::from(key));
            self.key_by_code.insert(code, key.clone());
            self.code_by_key.entry(key).or_insert(code);
        }
        for (value, code) in def.value_code_entries() {
            let value: Arc<str> = self.value_by_code.get(&code).cloned().unwrap_or_else(|| Arc::from(value));
            self.value_by_code.insert(code, value.clone());
            self.code_by_value.insert(value, code);
        }
        if let Some(doc) = &def.context_document {
            Arc::make_mut(&mut self.contexts).insert(def.context_url.clone(), doc.clone());
        }
        self.definitions.push(def);
        Ok(())
    }
}

fn same_wire_meaning(a: &Definition, b: &Definition) -> bool {
    a.context_url == b.context_url
        && a.context_document == b.context_document
        && a.key_codes() == b.key_codes()
        && a.value_code_entries() == b.value_code_entries()
        && a.api_path == b.api_path
        && a.licence_type_code == b.licence_type_code
}

/// A checked set of credential type definitions: their code tables for the
/// compact QR form and their generated JSON-LD contexts. Immutable once
/// built; cloning is cheap (one `Arc`).
#[derive(Debug, Clone)]
pub struct TypeRegistry {
    tables: Arc<Tables>,
}

/// The shipped definitions, parsed once (an immutable value, never edited).
static SHIPPED_REGISTRY: LazyLock<Result<TypeRegistry, DefinitionError>> = LazyLock::new(|| {
    let mut tables = Tables::default();
    for (name, text) in SHIPPED {
        tables.add(Arc::new(Definition::parse(&format!("shipped:{name}"), text)?))?;
    }
    Ok(TypeRegistry { tables: Arc::new(tables) })
});

impl Default for TypeRegistry {
    /// The shipped definitions ([`TypeRegistry::shipped`]); should a shipped
    /// file be broken (a test guards against it), no definitions at all, so
    /// only term table 1 and the bundled contexts are known.
    fn default() -> Self {
        Self::shipped().unwrap_or_else(|_| Self { tables: Arc::default() })
    }
}

impl TypeRegistry {
    /// The shipped definitions.
    ///
    /// # Errors
    /// Only if a shipped file is broken (a test guards against it).
    pub fn shipped() -> Result<Self, DefinitionError> {
        SHIPPED_REGISTRY.clone()
    }

    /// The shipped definitions plus every `*.json` file in `dir` (sorted by name).
    ///
    /// # Errors
    /// The first problem found, naming the file (and field).
    pub fn load(dir: Option<&Path>) -> Result<Self, DefinitionError> {
        let registry = Self::shipped()?;
        let Some(dir) = dir else {
            return Ok(registry);
        };
        let mut tables = Tables::clone(&registry.tables);
        let source = dir.display().to_string();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| DefinitionError::new(&source, None, format!("cannot read the directory: {e}")))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let def = Definition::read(&path)?;
            if tables.definitions.iter().any(|d| d.type_name == def.type_name) {
                return Err(DefinitionError::new(
                    &def.source,
                    None,
                    format!("type {} clashes with a shipped or earlier definition", def.type_name),
                ));
            }
            tables.add(Arc::new(def))?;
        }
        Ok(Self { tables: Arc::new(tables) })
    }

    /// Every definition, shipped first.
    pub fn definitions(&self) -> impl Iterator<Item = &Arc<Definition>> {
        self.tables.definitions.iter()
    }

    /// The definition of a VC type.
    pub fn by_type(&self, type_name: &str) -> Option<Arc<Definition>> {
        self.tables.definitions.iter().find(|d| d.type_name == type_name).cloned()
    }

    /// The definition served at `POST /api/v1/<api_path>`.
    pub fn by_api_path(&self, api_path: &str) -> Option<Arc<Definition>> {
        self.tables.definitions.iter().find(|d| d.api_path == api_path).cloned()
    }

    /// The definition whose licence type code (证照类型代码) is `code`.
    pub fn by_licence_type_code(&self, code: &crate::licence_id::LicenceTypeCode) -> Option<Arc<Definition>> {
        self.tables.definitions.iter().find(|d| d.licence_type_code.as_ref() == Some(code)).cloned()
    }

    /// The definition matching a credential's `type`.
    pub fn for_credential(&self, vc: &Value) -> Option<Arc<Definition>> {
        let types: Vec<&str> = match &vc["type"] {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(s) => vec![s.as_str()],
            _ => Vec::new(),
        };
        self.tables.definitions.iter().find(|d| types.contains(&d.type_name.as_str())).cloned()
    }

    /// The kind of a credential, from its `type`: the type name of one of
    /// these definitions, else `Generic`.
    pub fn kind_of(&self, vc: &Value) -> String {
        self.for_credential(vc).map_or_else(|| "Generic".to_owned(), |d| d.type_name.clone())
    }

    /// The JSON-LD loader for these types: the bundled contexts and the
    /// generated contexts of these definitions.
    pub fn loader(&self) -> BundledLoader {
        BundledLoader::with_generated(self.tables.contexts.clone())
    }

    /// Compact QR: the code of an object key, from term table 1 or these definitions.
    pub fn key_code(&self, key: &str) -> Option<u64> {
        terms::key_code(key).or_else(|| self.tables.code_by_key.get(key).copied())
    }

    /// Compact QR: the code of a string value, from term table 1 or these definitions.
    pub fn value_code(&self, value: &str) -> Option<u64> {
        terms::value_code(value).or_else(|| self.tables.code_by_value.get(value).copied())
    }

    /// Compact QR: the object key with a code, from term table 1 or these definitions.
    pub fn key(&self, code: u64) -> Option<&str> {
        terms::key(code).or_else(|| self.tables.key_by_code.get(&code).map(|k| &**k))
    }

    /// Compact QR: the string value with a code, from term table 1 or these definitions.
    pub fn value(&self, code: u64) -> Option<&str> {
        terms::value(code).or_else(|| self.tables.value_by_code.get(&code).map(|v| &**v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_definitions_are_valid() {
        let r = TypeRegistry::shipped().unwrap();
        assert_eq!(r.definitions().count(), 6);
        assert!(r.by_type("HealthCertificate").is_some());
        assert!(r.by_api_path("licences").is_some());
        // Only the medical invoice is single use.
        let single_use: Vec<_> = r.definitions().filter(|d| d.single_use).map(|d| d.type_name.as_str()).collect();
        assert_eq!(single_use, ["MedicalInvoice"]);
    }

    #[test]
    fn every_shipped_type_has_its_own_licence_type_code() {
        let r = TypeRegistry::shipped().unwrap();
        let mut codes = std::collections::HashSet::new();
        for d in r.definitions() {
            let code = d.licence_type_code.clone().unwrap_or_else(|| panic!("{} has no licenceTypeCode", d.type_name));
            assert_eq!(r.by_licence_type_code(&code).map(|found| found.type_name.clone()), Some(d.type_name.clone()));
            assert!(codes.insert(code.to_string()));
        }
    }
}
