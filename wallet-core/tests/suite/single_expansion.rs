//! One JSON-LD expansion per verified credential (issue #16): the verification
//! skips the data model's own expansion when `ssi`'s stricter expansion of the
//! whole signed credential (the budgeted canonicalisation) succeeded, and runs
//! it only to report why that failed. So the data-model verdict must be the
//! same either way: `check_credential_with` (syntax, then the data model's
//! expansion) against the verification's order (syntax, then the signed
//! credential's canonicalisation, then the data model's expansion only when
//! that failed), on every fixture (the VCDM 2.0 suite's negative ones
//! included), each with its proof stripped and tampered, and on 256
//! generated credentials.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use wallet_core::canonical::{canonicalize_signed_with, Budget};
use wallet_core::contexts::BundledLoader;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::data_model::{
    check_credential_expansion_with, check_credential_syntax_with, check_credential_with, DataModelError,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

fn loader() -> BundledLoader {
    TypeRegistry::default().loader()
}

pub fn json_files() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(FIXTURES)];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "json" || e == "jsonld") {
            if let Ok(value) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap()) {
                if value.is_object() {
                    out.push((path.display().to_string(), value));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The verification's order; `true` in the second place when the data
/// model's own expansion was skipped.
fn single_expansion_verdict(loader: &BundledLoader, vc: &Value) -> (Result<(), DataModelError>, bool) {
    if let Err(e) = check_credential_syntax_with(loader, vc) {
        return (Err(e), false);
    }
    if pollster::block_on(canonicalize_signed_with(loader, vc, Budget::default())).is_ok() {
        return (Ok(()), true);
    }
    (check_credential_expansion_with(loader, vc), false)
}

/// Same data-model verdict both ways; returns whether the expansion was skipped.
fn same_verdict(name: &str, vc: &Value) -> bool {
    let loader = loader();
    let (single, skipped) = single_expansion_verdict(&loader, vc);
    assert_eq!(single, check_credential_with(&loader, vc), "{name}: the data-model verdicts differ");
    skipped
}

pub fn variants(doc: &Value) -> Vec<(&'static str, Value)> {
    let mut out = vec![("as is", doc.clone())];
    let Some(obj) = doc.as_object() else { return out };
    let mut without = obj.clone();
    if without.remove("proof").is_some() {
        out.push(("proof stripped", Value::Object(without)));
    }
    let mut edit = |what: &'static str, f: &dyn Fn(&mut Map<String, Value>)| {
        let mut copy = obj.clone();
        f(&mut copy);
        out.push((what, Value::Object(copy)));
    };
    edit("undefined subject term", &|o| {
        if let Some(s) = o.get_mut("credentialSubject").and_then(Value::as_object_mut) {
            s.insert("notDefinedAnywhere".into(), json!("x"));
        }
    });
    edit("undefined type", &|o| {
        if let Some(t) = o.get_mut("type").and_then(Value::as_array_mut) {
            t.push(json!("NotAType"));
        }
    });
    for (what, key, value) in [
        ("empty key", "", json!("x")),
        ("nested array", "fullName", json!([["a"], "b"])),
        ("value object", "fullName", json!({"@value": "x", "@language": "zh"})),
        ("blank node id", "id", json!("_:b0")),
        ("float", "fullName", json!(1.5)),
        ("same value twice", "fullName", json!(["a", "a"])),
        ("keyword key", "@type", json!("HealthCertificate")),
    ] {
        edit(what, &|o| {
            if let Some(s) = o.get_mut("credentialSubject").and_then(Value::as_object_mut) {
                s.insert(key.into(), value.clone());
            }
        });
    }
    edit("proof with a nested object", &|o| {
        if let Some(p) = o.get_mut("proof").and_then(Value::as_object_mut) {
            p.insert("verificationMethod".into(), json!({"id": "did:example:1#k"}));
        }
    });
    edit("proof with a relative IRI", &|o| {
        if let Some(p) = o.get_mut("proof").and_then(Value::as_object_mut) {
            p.insert("verificationMethod".into(), json!("not an iri"));
        }
    });
    out
}

#[test]
fn the_single_expansion_gives_the_data_model_verdict_on_every_fixture() {
    let (mut compared, mut skipped) = (0, 0);
    for (name, doc) in json_files() {
        for (what, vc) in variants(&doc) {
            compared += 1;
            if same_verdict(&format!("{name} ({what})"), &vc) {
                skipped += 1;
            }
        }
    }
    eprintln!("single expansion: {compared} documents, data-model expansion skipped for {skipped}");
    assert!(compared >= 500 && skipped >= 100, "compared {compared}, skipped {skipped}");
}

/// A credential in the bundled contexts with generated members: defined and
/// undefined terms, nested objects, arrays, numbers, IRIs and not-IRIs.
pub fn credential() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "fullName",
        "fullName",
        "examinationDate",
        "idNumberDigest",
        "sex",
        "birthDate",
        "examinationResult",
        "occupation",
        "licensee",
        "id",
        "type",
        "name",
        "description",
        "undefinedTerm",
        "@id",
        "@type",
    ]);
    let scalar = prop_oneof![
        8 => Just(json!("qualified")),
        2 => Just(json!("https://example.org/a")),
        1 => Just(json!("urn:uuid:3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a14")),
        1 => Just(json!("not an iri")),
        1 => Just(json!("HealthCertificate")),
        1 => Just(json!("_:b0")),
        1 => Just(json!(42)),
        1 => Just(json!(1.5)),
        1 => Just(json!(true)),
        1 => Just(json!(null)),
    ];
    let value = scalar.prop_recursive(2, 12, 3, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["id", "type", "fullName", "name", "undefinedTerm"]),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    let contexts = prop::sample::select(vec![
        json!(["https://www.w3.org/ns/credentials/v2", "https://w3id.org/ecert/v1"]),
        json!(["https://www.w3.org/ns/credentials/v2"]),
        json!(["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]),
        json!(["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"]),
        json!(["https://www.w3.org/2018/credentials/v1", "https://w3id.org/ecert/v1"]),
    ]);
    let types = prop::sample::subsequence(vec!["HealthCertificate", "ExampleCredential", "FoodBusinessLicence"], 0..2);
    let with_proof = any::<bool>();
    let status = prop::option::of(prop::sample::select(vec![
        json!({"id": "https://issuer.example/status/3#94567", "type": "BitstringStatusListEntry",
               "statusPurpose": "revocation", "statusListIndex": "94567",
               "statusListCredential": "https://issuer.example/status/3"}),
        json!([{"type": "BitstringStatusListEntry", "statusPurpose": "suspension", "statusListIndex": "1",
                "statusListCredential": "https://issuer.example/status/4"}]),
    ]));
    (contexts, types, prop::collection::btree_map(key, value, 0..6), with_proof, status).prop_map(
        |(context, types, subject, with_proof, status)| {
            let mut ty = vec![json!("VerifiableCredential")];
            ty.extend(types.into_iter().map(|t| json!(t)));
            let subject: Map<String, Value> = subject.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let mut vc = json!({
                "@context": context,
                "type": ty,
                "issuer": "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
                "validFrom": "2026-03-15T00:00:00Z",
                "credentialSubject": subject,
            });
            if vc["@context"][0] == "https://www.w3.org/2018/credentials/v1" {
                vc["issuanceDate"] = json!("2026-03-15T00:00:00Z");
            }
            if let Some(status) = status {
                vc["credentialStatus"] = status;
            }
            if with_proof {
                vc["proof"] = json!({
                    "type": "DataIntegrityProof",
                    "cryptosuite": "ecdsa-rdfc-2019",
                    "created": "2026-03-15T08:00:00Z",
                    "verificationMethod": "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169#zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
                    "proofPurpose": "assertionMethod",
                    "proofValue": "z5FGZjfsTHcRHGGaBJbXr8Zs3ax2wJtdjtC6mPTMmWJR4LKrGJDHxMx7NRNL1eMWp3cyA9tSX3GfTeoPT4CufBHfJ"
                });
            }
            vc
        },
    )
}

#[test]
fn the_single_expansion_gives_the_data_model_verdict_on_generated_credentials() {
    use proptest::test_runner::{Config, TestRunner};
    let skipped = std::cell::Cell::new(0_u32);
    let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
    runner
        .run(&credential(), |vc| {
            if same_verdict("generated", &vc) {
                skipped.set(skipped.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("generated: data-model expansion skipped for {} of 256", skipped.get());
    // Both branches exercised: valid generated credentials and broken ones.
    assert!((32..=224).contains(&skipped.get()), "skipped for {} of 256", skipped.get());
}

/// Issuance takes the same shortcut (`sign_credential_anchored`): a credential
/// the data model refuses is refused with the same error, one it accepts is
/// never refused for its data model, on every fixture variant without its proof.
#[test]
fn issuance_gives_the_data_model_verdict_with_one_expansion() {
    use wallet_core::issuance::{sign_credential_anchored, IssueError};
    let types = TypeRegistry::default();
    let loader = types.loader();
    let key = wallet_core::keys::IssuerKey::generate();
    let created = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let (mut refused, mut signed) = (0, 0);
    for (name, doc) in json_files() {
        for (what, vc) in variants(&doc) {
            let Some(mut unsigned) = vc.as_object().cloned() else { continue };
            unsigned.remove("proof");
            let unsigned = Value::Object(unsigned);
            let expected = check_credential_with(&loader, &unsigned);
            let got = pollster::block_on(sign_credential_anchored(&types, &unsigned, &key, created));
            match (expected, got) {
                (Err(e), Err(IssueError::DataModel(g))) => {
                    assert_eq!(g, e, "{name} ({what}): another data-model error");
                    refused += 1;
                }
                (Err(e), other) => panic!("{name} ({what}): the data model refuses ({e:?}), issuance gave {other:?}"),
                (Ok(()), Err(IssueError::DataModel(g))) => {
                    panic!("{name} ({what}): the data model accepts, issuance refused it: {g:?}")
                }
                (Ok(()), Ok(_)) => signed += 1,
                (Ok(()), Err(_)) => {}
            }
        }
    }
    eprintln!("issuance: {signed} signed, {refused} refused by the data model");
    assert!(signed >= 100 && refused >= 100, "signed {signed}, refused {refused}");
}
