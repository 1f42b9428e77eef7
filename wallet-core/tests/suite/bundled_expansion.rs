//! The bundled contexts' fast path to RDF (`canonical::bundled_expansion`,
//! issue #16) against the generic path (`json-ld` expansion, `ssi`'s RDF):
//! wherever the fast path answers, the generic path must succeed with the
//! same canonical N-Quads; on every fixture (the W3C vectors, the VCDM 2.0
//! suite, status lists, trust data, the shipped types' credentials), each
//! with its proof stripped and edited, and on 256 generated credentials. A
//! disagreement is a bug in the fast path.

use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use wallet_core::canonical::fast_and_generic_nquads;
use wallet_core::credential_type::TypeRegistry;

use crate::single_expansion::{credential, json_files, variants};

/// `true` when the fast path answered (and agreed).
fn agree(name: &str, doc: &Value) -> bool {
    let loader = TypeRegistry::default().loader();
    let (fast, generic) = pollster::block_on(fast_and_generic_nquads(&loader, doc));
    match fast {
        None => false,
        Some(Ok(fast)) => {
            assert_eq!(generic.as_ref(), Ok(&fast), "{name}: the fast path's N-Quads differ from the generic path's");
            true
        }
        // A budget refusal on the fast path's RDF: the generic path's RDF is the same.
        Some(Err(e)) => {
            assert_eq!(generic.map_err(|g| g.code()), Err(e.code()), "{name}: {e}");
            true
        }
    }
}

#[test]
fn the_fast_path_agrees_with_the_generic_path_on_every_fixture() {
    let (mut compared, mut fast) = (0, 0);
    let mut taken = Vec::new();
    for (name, doc) in json_files() {
        for (what, vc) in variants(&doc) {
            compared += 1;
            if agree(&format!("{name} ({what})"), &vc) {
                fast += 1;
                taken.push(name.clone());
            }
        }
    }
    eprintln!("bundled fast path: {fast} of {compared} documents");
    // The shipped credentials and the W3C ecdsa-rdfc-2019 vector take it.
    for must in ["sample-health-certificate", "ecdsa-rdfc-2019-p256/signedECDSAP256.json"] {
        assert!(taken.iter().any(|n| n.contains(must)), "{must} did not take the fast path");
    }
    assert!(fast >= 100, "fast path taken for {fast} of {compared}");
}

#[test]
fn the_fast_path_agrees_with_the_generic_path_on_generated_credentials() {
    let fast = std::cell::Cell::new(0_u32);
    let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
    runner
        .run(&credential(), |vc| {
            if agree(&vc.to_string(), &vc) {
                fast.set(fast.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("generated: fast path taken for {} of 256", fast.get());
    assert!(fast.get() >= 32, "fast path taken for {} of 256", fast.get());
}
