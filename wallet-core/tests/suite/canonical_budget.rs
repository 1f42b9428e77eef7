//! Bounded RDF canonicalisation: documents whose RDFC-1.0 canonicalisation
//! would run away (arrays of identical blank nodes: the "bomb" family) are
//! refused with `document_too_complex` by the anchoring digest, the signature
//! checks, issuance and the wallet's import — before any proof work; JSON
//! nested too deep or too large is refused with its own code; and on every
//! real document (all fixtures) our budgeted canonicalisation is byte-identical
//! to `ssi`'s.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use ssi_json_ld::syntax::Parse as _;
use ssi_json_ld::{CompactJsonLd, Expandable as _};
use ssi_rdf::{AnyLdEnvironment as _, LdEnvironment};
use wallet_core::canonical::{
    self, canonical_nquads, canonicalize, check_document, parse_document, Budget, CanonicalizationError, Limit, Work,
    MAX_BLANK_NODES, MAX_INDISTINGUISHABLE, MAX_JSON_DEPTH, MAX_STEPS,
};
use wallet_core::contexts::{BundledLoader, CREDENTIALS_EXAMPLES_V2, CREDENTIALS_V2};
use wallet_core::issuance::{sign_credential, sign_presentation, PresentationPurpose};
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, verify_presentation, VerifyOptions};
use wallet_core::wallet::{StoreKey, Wallet};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// The bomb's shapes: `flat` elements are `{"c": 1}`, nested ones `{"c": {"c": 1}}`.
#[derive(Debug, Clone, Copy)]
struct Shape {
    nested: bool,
    subjects: usize,
}

const SHAPES: [Shape; 4] = [
    Shape { nested: false, subjects: 1 },
    Shape { nested: false, subjects: 2 },
    Shape { nested: true, subjects: 1 },
    Shape { nested: true, subjects: 2 },
];

/// `credentialSubject` with `k` identical elements per subject (`c` is covered
/// by the examples context's `@vocab`, so the data model accepts it).
fn bomb_subject(k: usize, shape: Shape) -> Value {
    let element = if shape.nested { json!({"c": {"c": 1}}) } else { json!({"c": 1}) };
    let one = json!({ "c": vec![element; k] });
    if shape.subjects == 1 {
        one
    } else {
        Value::Array(vec![one; shape.subjects])
    }
}

fn unsigned(subject: Value, issuer: &str) -> Value {
    json!({
        "@context": [CREDENTIALS_V2, CREDENTIALS_EXAMPLES_V2],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": subject
    })
}

/// A credential with a well-formed `did:key` proof (made for a one-element
/// subject) whose subject is then replaced by `subject`.
fn signed_with_subject(key: &IssuerKey, subject: Value) -> Value {
    let small = unsigned(json!({"c": 1}), &key.did());
    let mut signed = pollster::block_on(sign_credential(&small, key, Utc::now())).unwrap();
    signed["credentialSubject"] = subject;
    signed
}

fn too_complex(result: Result<impl std::fmt::Debug, CanonicalizationError>) -> CanonicalizationError {
    let e = result.expect_err("the bomb must be refused");
    assert_eq!(e.code(), "document_too_complex", "{e}");
    e
}

#[test]
fn bombs_are_refused_by_the_canonicaliser_the_digest_and_the_signature_check() {
    let key = IssuerKey::generate();
    let options = VerifyOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
    for shape in SHAPES {
        for k in 9..=50 {
            let signed = signed_with_subject(&key, bomb_subject(k, shape));
            let e = too_complex(pollster::block_on(check_document(&signed)));
            assert!(
                matches!(e, CanonicalizationError::TooComplex { limit: Limit::IndistinguishableBlankNodes, found, .. }
                    if found >= k as u64),
                "k = {k}, {shape:?}: {e:?}"
            );
            too_complex(pollster::block_on(canonical_nquads(&signed)));
            too_complex(pollster::block_on(wallet_core::transparency::credential_digest(&signed)));
            let report = pollster::block_on(verify_credential(&signed, &options))
                .unwrap_or_else(|e| panic!("k = {k}, {shape:?}: the bomb is well-formed, got {}", e.code()));
            assert_eq!(report.checks.signature.invalid_code(), Some("document_too_complex"), "k = {k}, {shape:?}");
            assert!(!report.verified);
        }
    }
}

#[test]
fn just_below_the_group_limit_is_canonicalised_and_verifies() {
    // Two subjects of four identical elements: eight indistinguishable leaves.
    let key = IssuerKey::generate();
    let subject = bomb_subject(4, Shape { nested: false, subjects: 2 });
    let signed = pollster::block_on(sign_credential(&unsigned(subject, &key.did()), &key, Utc::now())).unwrap();
    let work = pollster::block_on(check_document(&signed)).unwrap();
    assert_eq!(work.largest_group, 8);
    let report = pollster::block_on(verify_credential(&signed, &VerifyOptions::default())).unwrap();
    assert!(report.checks.signature.is_valid(), "{:?}", report.checks.signature);
    // Our canonical form is ssi's here too (the search over the group really ran).
    assert!(work.steps > 8, "{work:?}");
    assert_eq!(pollster::block_on(canonical_nquads(&signed)).unwrap(), ssi_nquads(&signed).unwrap());
}

#[test]
fn each_limit_of_the_budget_refuses() {
    let key = IssuerKey::generate();
    let doc = unsigned(bomb_subject(4, Shape { nested: false, subjects: 2 }), &key.did());
    let within = pollster::block_on(canonicalize(&doc, Budget::default())).unwrap().work;
    let refused = |budget: Budget| match pollster::block_on(canonicalize(&doc, budget)) {
        Err(CanonicalizationError::TooComplex { limit, .. }) => limit,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let default = Budget::default();
    assert_eq!(refused(Budget { max_blank_nodes: within.blank_nodes - 1, ..default }), Limit::BlankNodes);
    assert_eq!(
        refused(Budget { max_indistinguishable: within.largest_group - 1, ..default }),
        Limit::IndistinguishableBlankNodes
    );
    assert_eq!(refused(Budget { max_steps: within.steps - 1, ..default }), Limit::Steps);
    // Exactly the work it needs is enough.
    let exact = Budget {
        max_blank_nodes: within.blank_nodes,
        max_indistinguishable: within.largest_group,
        max_steps: within.steps,
    };
    assert_eq!(pollster::block_on(canonicalize(&doc, exact)).unwrap().work, within);
    assert_eq!((MAX_BLANK_NODES, MAX_INDISTINGUISHABLE, MAX_STEPS), (256, 8, 100_000));
}

#[test]
fn more_blank_nodes_than_the_limit_are_refused_even_when_all_differ() {
    let key = IssuerKey::generate();
    let many: Vec<Value> = (0..MAX_BLANK_NODES + 1).map(|i| json!({"c": i})).collect();
    let signed = signed_with_subject(&key, json!({ "c": many }));
    let e = too_complex(pollster::block_on(check_document(&signed)));
    assert!(matches!(e, CanonicalizationError::TooComplex { limit: Limit::BlankNodes, .. }), "{e:?}");
}

#[test]
fn issuance_refuses_to_sign_a_bomb() {
    let key = IssuerKey::generate();
    for shape in SHAPES {
        for k in [9, 50] {
            let e =
                pollster::block_on(sign_credential(&unsigned(bomb_subject(k, shape), &key.did()), &key, Utc::now()))
                    .unwrap_err();
            assert_eq!(e.code(), "document_too_complex", "k = {k}, {shape:?}: {e}");
        }
    }
}

/// A signed presentation of a self-asserted credential (secured only by the
/// presentation's proof) whose subject is then replaced by a bomb.
#[test]
fn a_presentation_carrying_a_bomb_fails_its_proof_with_document_too_complex() {
    let holder = IssuerKey::generate();
    let vp = json!({
        "@context": [CREDENTIALS_V2, CREDENTIALS_EXAMPLES_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder.did(),
        "verifiableCredential": [unsigned(json!({"c": 1}), &holder.did())]
    });
    let mut signed = pollster::block_on(sign_presentation(
        &vp,
        &holder,
        Utc::now(),
        Some("challenge-1"),
        None,
        PresentationPurpose::Authentication,
    ))
    .unwrap();
    let options = VerifyOptions::default();
    let honest = pollster::block_on(verify_presentation(&signed, &options, Some("challenge-1"), None)).unwrap();
    assert!(honest.proof.is_valid(), "{:?}", honest.proof);
    signed["verifiableCredential"][0]["credentialSubject"] = bomb_subject(30, Shape { nested: false, subjects: 2 });
    let report = pollster::block_on(verify_presentation(&signed, &options, Some("challenge-1"), None)).unwrap();
    assert_eq!(report.proof.invalid_code(), Some("document_too_complex"));
    assert!(!report.verified);
    let e = pollster::block_on(sign_presentation(
        &signed
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.remove("proof");
                Value::Object(o)
            })
            .unwrap(),
        &holder,
        Utc::now(),
        None,
        None,
        PresentationPurpose::Authentication,
    ))
    .unwrap_err();
    assert_eq!(e.code(), "document_too_complex");
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "c": inner }))
}

#[test]
fn json_nested_too_deep_or_too_large_is_refused_with_its_own_code() {
    let key = IssuerKey::generate();
    // Within serde_json's own limit (128) but deeper than ours.
    let deep = signed_with_subject(&key, nested(MAX_JSON_DEPTH));
    assert_eq!(canonical::check_json_limits(&deep).unwrap_err().code(), "document_too_deep");
    let e = pollster::block_on(verify_credential(&deep, &VerifyOptions::default())).unwrap_err();
    assert_eq!(e.code(), "document_too_deep");
    let mut unsigned_deep = deep.clone();
    unsigned_deep.as_object_mut().unwrap().remove("proof");
    let e = pollster::block_on(sign_credential(&unsigned_deep, &key, Utc::now())).unwrap_err();
    assert_eq!(e.code(), "document_too_deep");
    // Exactly at the limit (the subject is one level below the document)
    // is processed all the way, on a test thread's 2 MiB stack.
    let at_limit = signed_with_subject(&key, nested(MAX_JSON_DEPTH - 1));
    canonical::check_json_limits(&at_limit).unwrap();
    let report = pollster::block_on(verify_credential(&at_limit, &VerifyOptions::default())).unwrap();
    assert_eq!(report.checks.signature.invalid_code(), Some("bad_signature"));
    // Beyond serde_json's limit: refused while parsing, with our code (not a syntax error).
    let text = format!("{}{}{}", "[".repeat(200), "1", "]".repeat(200));
    assert_eq!(parse_document(text.as_bytes()).unwrap_err().code(), "document_too_deep");
    assert_eq!(parse_document(b"{\"a\": ").unwrap_err().code(), "invalid_json_ld");
    let big = signed_with_subject(&key, json!({ "c": "x".repeat(300 * 1024) }));
    assert_eq!(canonical::check_json_limits(&big).unwrap_err().code(), "document_too_large");
    assert_eq!(parse_document(big.to_string().as_bytes()).unwrap_err().code(), "document_too_large");
    let e = pollster::block_on(verify_credential(&big, &VerifyOptions::default())).unwrap_err();
    assert_eq!(e.code(), "document_too_large");
}

#[test]
fn the_wallet_refuses_to_import_a_bomb_or_a_too_deep_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = Wallet::open(dir.path().join("wallet.bin"), StoreKey::generate()).unwrap();
    let key = IssuerKey::generate();
    let bomb = signed_with_subject(&key, bomb_subject(40, Shape { nested: true, subjects: 2 }));
    let e = wallet.import_file(bomb.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.code(), "document_too_complex", "{e}");
    let qr = wallet_core::compact::encode_credential(&bomb).unwrap();
    assert_eq!(wallet.import_qr(&qr).unwrap_err().code(), "document_too_complex");
    let e = wallet.import_credential(bomb, None, "file").unwrap_err();
    assert_eq!(e.code(), "document_too_complex", "{e}");
    let deep = format!("{}{}{}", "{\"a\":".repeat(200), "1", "}".repeat(200));
    assert_eq!(wallet.import_file(deep.as_bytes()).unwrap_err().code(), "document_too_deep");
    let deep_signed = signed_with_subject(&key, nested(MAX_JSON_DEPTH));
    assert_eq!(wallet.import_file(deep_signed.to_string().as_bytes()).unwrap_err().code(), "document_too_deep");
    // Nothing was stored, and an honest credential still imports.
    let honest = pollster::block_on(sign_credential(&unsigned(json!({"c": 1}), &key.did()), &key, Utc::now())).unwrap();
    wallet.import_file(honest.to_string().as_bytes()).unwrap();
    assert_eq!(wallet.list(wallet_core::ui_text::Lang::En).len(), 1);
}

/// `ssi`'s own (unbounded) canonical N-Quads: only called on documents our
/// budget accepted, so it terminates.
fn ssi_nquads(document: &Value) -> Result<String, String> {
    pollster::block_on(async {
        let (json, _) = ssi_json_ld::syntax::Value::parse_str(&document.to_string()).map_err(|e| e.to_string())?;
        let mut ld = LdEnvironment::default();
        let expanded =
            CompactJsonLd(json).expand_with(&mut ld, &BundledLoader::default()).await.map_err(|e| e.to_string())?;
        ld.canonical_form_of(&expanded).map(|lines| lines.concat()).map_err(|e| e.to_string())
    })
}

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

/// Every JSON-LD document among the fixtures (W3C vectors, VC 2.0 test
/// documents, status lists, credentials, trust data), with and without its
/// proof, and each embedded credential: our canonical N-Quads equal `ssi`'s.
#[test]
fn budgeted_canonicalisation_is_byte_identical_to_ssi_on_every_fixture() {
    let mut files = Vec::new();
    json_files(Path::new(FIXTURES), &mut files);
    let mut documents: Vec<(String, Value)> = Vec::new();
    for path in files {
        let Ok(doc) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap()) else { continue };
        let name = path.strip_prefix(FIXTURES).unwrap().display().to_string();
        let mut queue = vec![doc];
        while let Some(doc) = queue.pop() {
            let Some(obj) = doc.as_object() else { continue };
            if let Some(Value::Array(vcs)) = obj.get("verifiableCredential") {
                queue.extend(vcs.iter().cloned());
            }
            if !obj.contains_key("@context") {
                continue;
            }
            if obj.contains_key("proof") {
                let mut unsecured = obj.clone();
                unsecured.remove("proof");
                documents.push((format!("{name} (without proof)"), Value::Object(unsecured)));
            }
            documents.push((name.clone(), doc));
        }
    }
    let (mut identical, mut both_invalid) = (0, 0);
    let mut most = Work::default();
    for (name, doc) in &documents {
        match pollster::block_on(canonicalize(doc, Budget::default())) {
            Ok(ours) => {
                assert_eq!(Ok(&ours.nquads), ssi_nquads(doc).as_ref(), "{name}");
                identical += 1;
                most.blank_nodes = most.blank_nodes.max(ours.work.blank_nodes);
                most.largest_group = most.largest_group.max(ours.work.largest_group);
                most.steps = most.steps.max(ours.work.steps);
            }
            Err(CanonicalizationError::Invalid(_)) => {
                assert!(ssi_nquads(doc).is_err(), "{name}: ours failed, ssi's did not");
                both_invalid += 1;
            }
            Err(e) => panic!("{name}: a real document was refused: {e}"),
        }
    }
    println!("{identical} documents identical, {both_invalid} invalid for both; most work on one: {most:?}");
    assert!(identical >= 200, "only {identical} documents compared: were the fixtures found?");
    // Real documents stay far inside the budget.
    assert!(most.blank_nodes * 8 <= MAX_BLANK_NODES, "{most:?}");
    assert!(most.largest_group * 2 <= MAX_INDISTINGUISHABLE, "{most:?}");
    assert!(most.steps * 100 <= MAX_STEPS, "{most:?}");
    // The W3C vector: the canonical document of the ecdsa-rdfc-2019 test vector.
    let unsigned =
        serde_json::from_str::<Value>(&std::fs::read_to_string(format!("{FIXTURES}/w3c/unsigned.json")).unwrap())
            .unwrap();
    let expected =
        std::fs::read_to_string(format!("{FIXTURES}/w3c/ecdsa-rdfc-2019-p256/canonDocECDSAP256.txt")).unwrap();
    assert_eq!(pollster::block_on(canonical_nquads(&unsigned)).unwrap().trim_end(), expected.trim_end());
}
