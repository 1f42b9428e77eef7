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
//! more with a directory of files ([`Registry::load`]). Every file is checked
//! on its own ([`Definition::parse`]) and against the others (type names, API
//! paths, context URLs and term codes must not clash); the first problem is
//! returned, naming the file and the field.
//!
//! # Process-wide tables
//! JSON-LD contexts and compact-QR term codes are looked up deep inside
//! signing, verification and QR decoding, so the loaded definitions are also
//! [installed](Registry::install) into one process-wide table, which always
//! starts with the shipped ones. Installing is additive and refuses anything
//! that contradicts what is installed (another meaning for a code, another
//! context under a URL).

mod definition;
mod fields;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, RwLock};

use serde_json::Value;

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
    key_by_code: HashMap<u64, &'static str>,
    code_by_key: HashMap<&'static str, u64>,
    value_by_code: HashMap<u64, &'static str>,
    code_by_value: HashMap<&'static str, u64>,
    contexts: HashMap<String, String>,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
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
        if let Some(existing) = self.definitions.iter().find(|d| d.api_path == def.api_path) {
            return Err(err(None, format!("apiPath {:?} is already used by {}", def.api_path, existing.source)));
        }
        if let Some(doc) = &def.context_document {
            if let Some(existing) = self.definitions.iter().find(|d| d.context_url == def.context_url) {
                return Err(err(
                    None,
                    format!("jsonLd.context {} is already used by {}", def.context_url, existing.source),
                ));
            }
            if crate::contexts::bundled_document(&def.context_url).is_some() {
                return Err(err(None, format!("jsonLd.context {} is a bundled context", def.context_url)));
            }
            let _ = doc;
        }
        for (key, code) in def.key_codes() {
            if let Some(other) = self.key_by_code.get(&code).filter(|k| **k != key) {
                return Err(err(Some(key), format!("duplicate code {code}: already the code of the term {other:?}")));
            }
            if let Some(other) = self.code_by_key.get(key).filter(|c| **c != code) {
                return Err(err(Some(key), format!("the term already has the code {other} in another definition")));
            }
        }
        for (value, code) in def.value_code_entries() {
            if let Some(other) = self.value_by_code.get(&code).filter(|v| **v != value) {
                return Err(err(None, format!("valueCodes: duplicate code {code}: already the code of {other:?}")));
            }
            if let Some(other) = self.code_by_value.get(value.as_str()).filter(|c| **c != code) {
                return Err(err(None, format!("valueCodes: {value:?} already has the code {other}")));
            }
        }
        for (key, code) in def.key_codes() {
            self.key_by_code.entry(code).or_insert(key);
            self.code_by_key.entry(key).or_insert(code);
        }
        for (value, code) in def.value_code_entries() {
            let value = self.value_by_code.get(&code).copied().unwrap_or_else(|| leak(&value));
            self.value_by_code.insert(code, value);
            self.code_by_value.insert(value, code);
        }
        if let Some(doc) = &def.context_document {
            self.contexts.insert(def.context_url.clone(), doc.clone());
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
}

/// A checked set of credential type definitions.
#[derive(Debug, Clone)]
pub struct Registry {
    tables: Tables,
}

static SHIPPED_REGISTRY: LazyLock<Result<Registry, DefinitionError>> = LazyLock::new(|| {
    let mut tables = Tables::default();
    for (name, text) in SHIPPED {
        tables.add(Arc::new(Definition::parse(&format!("shipped:{name}"), text)?))?;
    }
    Ok(Registry { tables })
});

static INSTALLED: LazyLock<RwLock<Tables>> =
    LazyLock::new(|| RwLock::new(SHIPPED_REGISTRY.as_ref().map(|r| r.tables.clone()).unwrap_or_default()));

fn installed() -> std::sync::RwLockReadGuard<'static, Tables> {
    INSTALLED.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Registry {
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
        let mut registry = Self::shipped()?;
        let Some(dir) = dir else {
            return Ok(registry);
        };
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
            if registry.tables.definitions.iter().any(|d| d.type_name == def.type_name) {
                return Err(DefinitionError::new(
                    &def.source,
                    None,
                    format!("type {} clashes with a shipped or earlier definition", def.type_name),
                ));
            }
            registry.tables.add(Arc::new(def))?;
        }
        Ok(registry)
    }

    /// Make these definitions known process-wide (contexts for JSON-LD, codes
    /// for the compact QR form, types for display).
    ///
    /// # Errors
    /// A definition contradicts one installed earlier.
    pub fn install(&self) -> Result<(), DefinitionError> {
        let mut installed = INSTALLED.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = installed.clone();
        for def in &self.tables.definitions {
            next.add(def.clone())?;
        }
        *installed = next;
        Ok(())
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

    /// The definition matching a credential's `type`.
    pub fn for_credential(&self, vc: &Value) -> Option<Arc<Definition>> {
        definition_for(&self.tables.definitions, vc)
    }
}

fn definition_for(defs: &[Arc<Definition>], vc: &Value) -> Option<Arc<Definition>> {
    let types: Vec<&str> = match &vc["type"] {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        Value::String(s) => vec![s.as_str()],
        _ => Vec::new(),
    };
    defs.iter().find(|d| types.contains(&d.type_name)).cloned()
}

/// The installed definition matching a credential's `type`.
pub fn installed_for_credential(vc: &Value) -> Option<Arc<Definition>> {
    definition_for(&installed().definitions, vc)
}

/// The installed definition of a VC type.
pub fn installed_type(type_name: &str) -> Option<Arc<Definition>> {
    installed().definitions.iter().find(|d| d.type_name == type_name).cloned()
}

/// Compact QR: the key with a definition code.
pub(crate) fn installed_key(code: u64) -> Option<&'static str> {
    installed().key_by_code.get(&code).copied()
}

/// Compact QR: the definition code of a key.
pub(crate) fn installed_key_code(key: &str) -> Option<u64> {
    installed().code_by_key.get(key).copied()
}

/// Compact QR: the value with a definition code.
pub(crate) fn installed_value(code: u64) -> Option<&'static str> {
    installed().value_by_code.get(&code).copied()
}

/// Compact QR: the definition code of a value.
pub(crate) fn installed_value_code(value: &str) -> Option<u64> {
    installed().code_by_value.get(value).copied()
}

/// JSON-LD: a generated context document by URL.
pub(crate) fn installed_context(url: &str) -> Option<String> {
    installed().contexts.get(url).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_definitions_are_valid() {
        let r = Registry::shipped().unwrap();
        assert_eq!(r.definitions().count(), 6);
        assert!(r.by_type("HealthCertificate").is_some());
        assert!(r.by_api_path("licences").is_some());
        // Only the medical invoice is single use.
        let single_use: Vec<_> = r.definitions().filter(|d| d.single_use).map(|d| d.type_name).collect();
        assert_eq!(single_use, ["MedicalInvoice"]);
    }
}
