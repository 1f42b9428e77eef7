//! The issuance transparency log: RFC 6962 known answers
//! (`fixtures/transparency/`), generated proofs and their mutations
//! (proptest), signed notes and checkpoints, witness cosigning and the
//! wallet's inclusion bundle.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;
use wallet_core::keys::IssuerKey;
use wallet_core::transparency::*;

// ---------------------------------------------------------------- helpers

fn fixture(name: &str) -> Value {
    let path = format!("{}/../fixtures/transparency/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn h(hex_str: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut out).unwrap_or_else(|e| panic!("{hex_str}: {e}"));
    out
}

fn hashes(value: &Value) -> Vec<Hash> {
    value.as_array().expect("array").iter().map(|v| h(v.as_str().expect("hex string"))).collect()
}

fn u(value: &Value) -> u64 {
    value.as_u64().expect("number")
}

/// The 8-leaf reference tree: leaf data, leaf hashes, roots for sizes 1..=8.
struct Reference {
    leaf_hashes: Vec<Hash>,
    roots: Vec<Hash>,
    vectors: Value,
}

fn reference() -> Reference {
    let vectors = fixture("rfc6962-vectors.json");
    let leaf_hashes = vectors["leaves"]
        .as_array()
        .expect("leaves")
        .iter()
        .map(|v| leaf_hash(&hex::decode(v.as_str().expect("hex")).expect("hex")))
        .collect();
    let roots = hashes(&vectors["roots"]);
    Reference { leaf_hashes, roots, vectors }
}

/// A stored tree of 600 leaves: proofs for sizes ≤ 300 are taken inside it,
/// and roots of up to twice that size are available for "wrong size" probes.
const BIG: u64 = 600;

fn big_tree() -> &'static (MerkleTree, Vec<Hash>) {
    static TREE: OnceLock<(MerkleTree, Vec<Hash>)> = OnceLock::new();
    TREE.get_or_init(|| {
        let leaves: Vec<Hash> = (0..BIG).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
        let mut tree = MerkleTree::new();
        tree.extend(leaves.iter().copied());
        (tree, leaves)
    })
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out[(bit / 8) % 32] ^= 1 << (bit % 8);
    out
}

// ---------------------------------------------------------------- RFC 6962 known answers

#[test]
fn rfc6962_hash_vectors() {
    let v = fixture("rfc6962-vectors.json");
    assert_eq!(empty_root(), h(v["hashes"]["emptyRoot"].as_str().unwrap()));
    assert_eq!(MerkleTree::new().root(), empty_root());
    assert_eq!(root_from_leaves(&[]), empty_root());
    assert_eq!(leaf_hash(b""), h(v["hashes"]["emptyLeafHash"].as_str().unwrap()));
    let leaf = &v["hashes"]["leafL123456"];
    assert_eq!(leaf_hash(leaf["dataUtf8"].as_str().unwrap().as_bytes()), h(leaf["leafHash"].as_str().unwrap()));
    // The empty tree and the tree of one empty leaf differ (domain separation).
    assert_ne!(empty_root(), leaf_hash(b""));
}

#[test]
fn reference_tree_roots_for_sizes_1_to_8() {
    let r = reference();
    let mut tree = MerkleTree::new();
    for (i, leaf) in r.leaf_hashes.iter().enumerate() {
        tree.append(*leaf);
        assert_eq!(tree.root(), r.roots[i], "appended size {}", i + 1);
        assert_eq!(root_from_leaves(&r.leaf_hashes[..=i]), r.roots[i], "reference MTH size {}", i + 1);
    }
    let rebuilt = MerkleTree::from_leaf_hashes(r.leaf_hashes.clone());
    for size in 1..=8u64 {
        assert_eq!(tree.root_at(size).unwrap(), r.roots[size as usize - 1]);
        assert_eq!(rebuilt.root_at(size).unwrap(), r.roots[size as usize - 1]);
    }
}

#[test]
fn reference_inclusion_proofs_are_generated_and_verified() {
    let r = reference();
    let tree = MerkleTree::from_leaf_hashes(r.leaf_hashes.clone());
    for case in r.vectors["inclusion"].as_array().unwrap() {
        let (index, size, want) = (u(&case["index"]), u(&case["size"]), hashes(&case["proof"]));
        assert_eq!(tree.inclusion_proof(index, size).unwrap(), want, "PATH({index}, D[{size}])");
        let root = r.roots[size as usize - 1];
        let leaf = r.leaf_hashes[index as usize];
        verify_inclusion(&leaf, index, size, &want, &root).unwrap();
        assert_eq!(root_from_inclusion_proof(&leaf, index, size, &want).unwrap(), root);
        assert_inclusion_mutations_fail(&leaf, index, size, &want, &root, |s| r.roots.get(s as usize - 1).copied());
    }
}

#[test]
fn reference_consistency_proofs_are_generated_and_verified() {
    let r = reference();
    let tree = MerkleTree::from_leaf_hashes(r.leaf_hashes.clone());
    for case in r.vectors["consistency"].as_array().unwrap() {
        let (old, new, want) = (u(&case["size1"]), u(&case["size2"]), hashes(&case["proof"]));
        assert_eq!(tree.consistency_proof(old, new).unwrap(), want, "PROOF({old}, D[{new}])");
        let (old_root, new_root) = (r.roots[old as usize - 1], r.roots[new as usize - 1]);
        verify_consistency(old, new, &want, &old_root, &new_root).unwrap();
        if !want.is_empty() {
            assert_consistency_mutations_fail(old, new, &want, &old_root, &new_root, |s| {
                if s == 0 {
                    Some(empty_root())
                } else {
                    r.roots.get(s as usize - 1).copied()
                }
            });
        }
    }
}

#[test]
fn consistency_edge_cases() {
    let empty = empty_root();
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    // Equal sizes: empty proof, equal roots.
    verify_consistency(0, 0, &[], &empty, &empty).unwrap();
    verify_consistency(1, 1, &[], &a, &a).unwrap();
    assert_eq!(verify_consistency(1, 1, &[], &a, &b), Err(ProofError::MismatchedRoot));
    assert_eq!(verify_consistency(1, 1, &[a], &a, &a), Err(ProofError::WrongProofSize { got: 1, want: 0 }));
    // From the empty tree: always consistent, with an empty proof and the empty root.
    verify_consistency(0, 1, &[], &empty, &a).unwrap();
    assert_eq!(verify_consistency(0, 1, &[], &a, &a), Err(ProofError::MismatchedOldRoot));
    assert!(verify_consistency(0, 1, &[empty], &empty, &a).is_err());
    // Time travel and empty proofs.
    assert_eq!(verify_consistency(1, 0, &[], &a, &b), Err(ProofError::NewTreeSmaller { old_size: 1, new_size: 0 }));
    assert_eq!(verify_consistency(2, 1, &[], &a, &b), Err(ProofError::NewTreeSmaller { old_size: 2, new_size: 1 }));
    assert_eq!(verify_consistency(1, 2, &[], &a, &b), Err(ProofError::UnexpectedEmptyProof));
    // Generation errors.
    let tree = MerkleTree::from_leaf_hashes(vec![a, b]);
    assert_eq!(tree.consistency_proof(2, 1), Err(ProofError::NewTreeSmaller { old_size: 2, new_size: 1 }));
    assert_eq!(tree.consistency_proof(1, 3), Err(ProofError::SizeOutOfRange { size: 3, tree_size: 2 }));
    assert_eq!(tree.consistency_proof(0, 2).unwrap(), Vec::<Hash>::new());
    assert_eq!(tree.consistency_proof(2, 2).unwrap(), Vec::<Hash>::new());
}

#[test]
fn inclusion_edge_cases() {
    let a = leaf_hash(b"data");
    // A one-leaf tree: the root is the leaf hash and the proof is empty.
    verify_inclusion(&a, 0, 1, &[], &a).unwrap();
    assert_eq!(verify_inclusion(&a, 0, 1, &[], &empty_root()), Err(ProofError::MismatchedRoot));
    for (index, size) in [(0, 0), (1, 0), (2, 1), (1, 1)] {
        assert_eq!(
            verify_inclusion(&a, index, size, &[], &a),
            Err(ProofError::IndexOutOfRange { index, tree_size: size })
        );
    }
    let tree = MerkleTree::from_leaf_hashes(vec![a; 3]);
    assert_eq!(tree.inclusion_proof(3, 3), Err(ProofError::IndexOutOfRange { index: 3, tree_size: 3 }));
    assert_eq!(tree.inclusion_proof(0, 4), Err(ProofError::SizeOutOfRange { size: 4, tree_size: 3 }));
    assert_eq!(tree.leaf_hash(2), Some(a));
    assert_eq!(tree.leaf_hash(u64::MAX), None);
    assert_eq!(tree.complete_node(1, 0), Some(node_hash(&a, &a)));
    assert_eq!(tree.complete_node(1, 1), None);
}

// ---------------------------------------------------------------- mutation helpers

/// Every corruption of a valid inclusion proof must fail: a bit flip in any
/// proof hash, a wrong index, another tree size (with that size's real
/// root), a wrong root, a truncated, extended or prefixed proof.
fn assert_inclusion_mutations_fail(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
    root_at: impl Fn(u64) -> Option<Hash>,
) {
    let fails = |leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash, what: &str| {
        assert!(
            verify_inclusion(leaf, index, size, proof, root).is_err(),
            "{what} verified (index {index}, size {size}, proof of {} hashes)",
            proof.len()
        );
    };
    for i in 0..proof.len() {
        for bit in [0, 3, 100, 255, (i * 37 + index as usize) % 256] {
            let mut bad = proof.to_vec();
            bad[i] = flip(&bad[i], bit);
            fails(leaf, index, size, &bad, root, "bit flip");
        }
    }
    for other in [index.wrapping_sub(1), index + 1, index ^ 1, index ^ 2, index ^ 4] {
        if other != index && other < size {
            fails(leaf, other, size, proof, root, "wrong index");
        }
    }
    // Another size with that size's real root (what a checkpoint binds).
    // With the *same* root only doubling and halving are sure to fail: the
    // proofs of neighbouring sizes can hash alike, e.g. leaf 0 in 7 and 8
    // leaves, which is harmless since a signed checkpoint binds size and root.
    for other in [size - 1, size + 1, size * 2, size / 2, size + 7] {
        if other != size && other > index {
            if let Some(other_root) = root_at(other) {
                fails(leaf, index, other, proof, &other_root, "wrong size");
            }
            if other == size * 2 || other == size / 2 {
                fails(leaf, index, other, proof, root, "wrong size, same root");
            }
        }
    }
    fails(leaf, index, size, proof, &flip(root, 7), "flipped root");
    fails(leaf, index, size, proof, &empty_root(), "empty root");
    fails(&flip(leaf, 0), index, size, proof, root, "wrong leaf");
    if !proof.is_empty() {
        fails(leaf, index, size, &proof[..proof.len() - 1], root, "truncated");
        fails(leaf, index, size, &proof[1..], root, "first hash removed");
    }
    let mut extended = proof.to_vec();
    extended.push(*root);
    fails(leaf, index, size, &extended, root, "trailing root");
    let mut prefixed = vec![[0u8; 32]];
    prefixed.extend_from_slice(proof);
    fails(leaf, index, size, &prefixed, root, "preceding garbage");
}

/// Every corruption of a valid, non-empty consistency proof must fail.
fn assert_consistency_mutations_fail(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
    root_at: impl Fn(u64) -> Option<Hash>,
) {
    let fails = |old: u64, new: u64, proof: &[Hash], old_root: &Hash, new_root: &Hash, what: &str| {
        assert!(
            verify_consistency(old, new, proof, old_root, new_root).is_err(),
            "{what} verified ({old} -> {new}, proof of {} hashes)",
            proof.len()
        );
    };
    for i in 0..proof.len() {
        for bit in [0, 4, 128, 255, (i * 41 + old as usize) % 256] {
            let mut bad = proof.to_vec();
            bad[i] = flip(&bad[i], bit);
            fails(old, new, &bad, old_root, new_root, "bit flip");
        }
    }
    for other in [old - 1, old + 1, old ^ 2, old / 2, old * 2] {
        if other != old && other > 0 && other < new {
            if let Some(other_root) = root_at(other) {
                fails(other, new, proof, &other_root, new_root, "wrong old size");
            }
            if other == old ^ 2 || other == old / 2 || other == old * 2 {
                fails(other, new, proof, old_root, new_root, "wrong old size, same root");
            }
        }
    }
    for other in [new - 1, new + 1, new * 2, new / 2] {
        if other != new && other > old {
            if let Some(other_root) = root_at(other) {
                fails(old, other, proof, old_root, &other_root, "wrong new size");
            }
            if other == new * 2 || other == new / 2 {
                fails(old, other, proof, old_root, new_root, "wrong new size, same root");
            }
        }
    }
    fails(old, new, proof, &flip(old_root, 1), new_root, "flipped old root");
    fails(old, new, proof, old_root, &flip(new_root, 1), "flipped new root");
    fails(old, new, proof, new_root, old_root, "swapped roots");
    fails(old, new, &[], old_root, new_root, "empty proof");
    fails(old, new, &proof[..proof.len() - 1], old_root, new_root, "truncated");
    for extra in [*old_root, *new_root, proof[0], [0u8; 32]] {
        let mut extended = proof.to_vec();
        extended.push(extra);
        fails(old, new, &extended, old_root, new_root, "trailing hash");
        let mut prefixed = vec![extra];
        prefixed.extend_from_slice(proof);
        fails(old, new, &prefixed, old_root, new_root, "preceding hash");
    }
}

// ---------------------------------------------------------------- proptest: generated proofs

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_inclusion_proof_verifies_and_every_mutation_fails(size in 1u64..=300, index_seed in any::<u64>()) {
        let (tree, leaves) = big_tree();
        let index = index_seed % size;
        let root = tree.root_at(size).unwrap();
        prop_assert_eq!(root, root_from_leaves(&leaves[..size as usize]));
        let proof = tree.inclusion_proof(index, size).unwrap();
        let leaf = leaves[index as usize];
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        assert_inclusion_mutations_fail(&leaf, index, size, &proof, &root, |s| tree.root_at(s).ok());
    }

    #[test]
    fn every_consistency_proof_verifies_and_every_mutation_fails(new in 1u64..=300, old_seed in any::<u64>()) {
        let (tree, _) = big_tree();
        let old = old_seed % (new + 1);
        let (old_root, new_root) = (tree.root_at(old).unwrap(), tree.root_at(new).unwrap());
        let proof = tree.consistency_proof(old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &proof, &old_root, &new_root).is_ok());
        if old == 0 || old == new {
            prop_assert!(proof.is_empty());
        } else {
            assert_consistency_mutations_fail(old, new, &proof, &old_root, &new_root, |s| tree.root_at(s).ok());
        }
    }

    #[test]
    fn every_proof_of_every_index_in_small_trees(size in 1u64..=40) {
        let (tree, leaves) = big_tree();
        let root = tree.root_at(size).unwrap();
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).unwrap();
            prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root).is_ok());
        }
        for old in 0..=size {
            let proof = tree.consistency_proof(old, size).unwrap();
            prop_assert!(verify_consistency(old, size, &proof, &tree.root_at(old).unwrap(), &root).is_ok());
        }
    }

    #[test]
    fn arbitrary_proof_inputs_never_panic(
        leaf in any::<[u8; 32]>(),
        index in any::<u64>(),
        old in any::<u64>(),
        new in any::<u64>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..70),
        root in any::<[u8; 32]>(),
    ) {
        let _ = verify_inclusion(&leaf, index, new, &proof, &root);
        let _ = root_from_inclusion_proof(&leaf, index % new.max(1), new, &proof);
        let _ = verify_consistency(old, new, &proof, &leaf, &root);
        let _ = verify_consistency(old % new.max(1), new, &proof, &leaf, &root);
    }
}

// ---------------------------------------------------------------- log entries

#[test]
fn entry_kinds_have_distinct_leaf_hashes_and_round_trip() {
    let digest = [0x5a; 32];
    let issuer = "did:key:zDnaeTestIssuer";
    let kinds = [
        EntryKind::Issued,
        EntryKind::StatusChanged { purpose: StatusListPurpose::Revocation, value: true },
        EntryKind::StatusChanged { purpose: StatusListPurpose::Revocation, value: false },
        EntryKind::StatusChanged { purpose: StatusListPurpose::Suspension, value: true },
        EntryKind::KeyEvent { kind: KeyEventKind::Activated },
        EntryKind::KeyEvent { kind: KeyEventKind::Rotated },
        EntryKind::KeyEvent { kind: KeyEventKind::Retired },
        EntryKind::KeyEvent { kind: KeyEventKind::Compromised },
        EntryKind::Notarized,
    ];
    let mut seen = Vec::new();
    for kind in kinds {
        let entry = LogEntry::new(kind, digest, issuer, 1_700_000_000).unwrap();
        assert_eq!(LogEntry::decode(&entry.encode()).unwrap(), entry);
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<LogEntry>(&json).unwrap(), entry);
        assert_eq!(entry.leaf_hash(), leaf_hash(&entry.encode()));
        assert!(!seen.contains(&entry.leaf_hash()));
        seen.push(entry.leaf_hash());
    }
    // Time and digest are bound into the leaf.
    let a = LogEntry::issued(digest, issuer, 1).unwrap();
    assert_ne!(a.leaf_hash(), LogEntry::issued(digest, issuer, 2).unwrap().leaf_hash());
    assert_ne!(a.leaf_hash(), LogEntry::issued([0; 32], issuer, 1).unwrap().leaf_hash());
}

proptest! {
    #[test]
    fn entry_decode_never_panics_and_accepts_only_canonical_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(entry) = LogEntry::decode(&bytes) {
            prop_assert_eq!(entry.encode(), bytes);
        }
    }

    #[test]
    fn entries_round_trip(
        digest in any::<[u8; 32]>(),
        issuer in "[a-z:0-9A-Z._-]{1,80}",
        at in any::<u64>(),
        tag in 0u8..3,
        bit in any::<bool>(),
    ) {
        let kind = match tag {
            0 => EntryKind::Issued,
            1 => EntryKind::StatusChanged { purpose: StatusListPurpose::Suspension, value: bit },
            _ => EntryKind::KeyEvent { kind: KeyEventKind::Compromised },
        };
        let entry = LogEntry::new(kind, digest, issuer, at).unwrap();
        prop_assert_eq!(LogEntry::decode(&entry.encode()).unwrap(), entry);
    }
}

// ---------------------------------------------------------------- signed notes and checkpoints

const ORIGIN: &str = "log.clinic.example/issuance";

fn log_signer() -> LogSigner {
    LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap()
}

fn ed25519_key(seed: u8) -> Ed25519SigningKey {
    Ed25519SigningKey::from_bytes(&[seed; 32])
}

#[test]
fn go_sumdb_note_known_answer() {
    let v = &fixture("signed-note-vectors.json")["goSumdbNote"];
    let signer_key = v["signerKey"].as_str().unwrap();
    // PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>; the base64 may contain '+'.
    let encoded = signer_key.splitn(5, '+').nth(4).unwrap();
    let bytes = STANDARD.decode(encoded).unwrap();
    assert_eq!(bytes[0], signature_type::ED25519);
    let seed: [u8; 32] = bytes[1..].try_into().unwrap();
    let signer = LogSigner::ed25519("PeterNeumann", Ed25519SigningKey::from_bytes(&seed)).unwrap();

    let log_key = LogKey::from_vkey(v["verifierKey"].as_str().unwrap()).unwrap();
    assert_eq!(&log_key, signer.log_key());
    assert_eq!(log_key.to_vkey(), v["verifierKey"].as_str().unwrap());

    let mut note = SignedNote::new(v["text"].as_str().unwrap()).unwrap();
    note.sign(&signer).unwrap();
    assert_eq!(note.to_string(), v["note"].as_str().unwrap(), "Ed25519 is deterministic: byte-for-byte");

    let parsed = SignedNote::parse(v["note"].as_str().unwrap()).unwrap();
    assert_eq!(parsed.verify(&[&log_key as &dyn NoteVerifier]).unwrap(), vec![0]);
    let tampered = SignedNote::parse(&v["note"].as_str().unwrap().replace("cryptography", "cryptographY")).unwrap();
    assert_eq!(
        tampered.verify(&[&log_key as &dyn NoteVerifier]),
        Err(NoteError::InvalidSignature { name: "PeterNeumann".into() })
    );
}

#[test]
fn verifier_key_strings_from_other_implementations() {
    let v = fixture("signed-note-vectors.json");
    for vkey in [
        v["ed25519VerifierKeyWithPlus"]["verifierKey"].as_str().unwrap(),
        v["ecdsaVerifierKeys"]["rekor"].as_str().unwrap(),
        v["ecdsaVerifierKeys"]["pixel6"].as_str().unwrap(),
    ] {
        let key = LogKey::from_vkey(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"));
        assert_eq!(key.to_vkey(), vkey);
    }
    let witness = v["cosignatureV1VerifierKey"]["verifierKey"].as_str().unwrap();
    let key = WitnessKey::from_vkey(witness).unwrap();
    assert_eq!(key.name(), "remora.n621.de");
    assert_eq!(key.to_vkey(), witness);
    // A cosignature key is not a log key and vice versa; key IDs are checked.
    assert!(LogKey::from_vkey(witness).is_err());
    assert!(WitnessKey::from_vkey(v["ecdsaVerifierKeys"]["rekor"].as_str().unwrap()).is_err());
    assert!(WitnessKey::from_vkey(&witness.replace("da77ade7", "da77ade8")).is_err());
}

#[test]
fn checkpoint_sign_parse_verify_round_trip() {
    let signer = log_signer();
    let root = leaf_hash(b"root");
    let checkpoint = Checkpoint::new(ORIGIN, 42, root);
    let note = checkpoint.sign(&signer).unwrap();
    let wire = note.to_string();
    assert!(wire.starts_with(&format!("{ORIGIN}\n42\n{}\n\n\u{2014} {ORIGIN} ", STANDARD.encode(root))));

    let opened = signer.log_key().open_checkpoint(&wire).unwrap();
    assert_eq!(opened.checkpoint, checkpoint);
    assert_eq!(SignedNote::parse(&wire).unwrap(), note);

    // The public key travels as a vkey string.
    let configured = LogKey::from_vkey(&signer.log_key().to_vkey()).unwrap();
    assert_eq!(configured.open_checkpoint(&wire).unwrap().checkpoint, checkpoint);

    // Extension lines are signed and kept.
    let mut with_extension = checkpoint.clone();
    with_extension.extensions.push("anchored 0xabc".into());
    let wire2 = with_extension.sign(&signer).unwrap().to_string();
    assert_eq!(signer.log_key().open_checkpoint(&wire2).unwrap().checkpoint, with_extension);
}

#[test]
fn tampered_checkpoints_fail() {
    let signer = log_signer();
    let root = leaf_hash(b"root");
    let wire = Checkpoint::new(ORIGIN, 42, root).sign(&signer).unwrap().to_string();
    let key = signer.log_key();
    let root_b64 = STANDARD.encode(root);
    let other_root = STANDARD.encode(leaf_hash(b"other"));
    for tampered in [
        wire.replacen("\n42\n", "\n43\n", 1),
        wire.replacen(&root_b64, &other_root, 1),
        wire.replacen(ORIGIN, "log.clinic.example/issuancf", 1),
        wire.replacen(&format!("{root_b64}\n"), &format!("{root_b64}\nextra\n"), 1),
    ] {
        assert_ne!(tampered, wire);
        assert_eq!(
            key.open_checkpoint(&tampered).map(|_| ()),
            Err(CheckpointError::Note(NoteError::InvalidSignature { name: ORIGIN.into() })),
            "{tampered}"
        );
    }
    // The signature itself altered.
    let sig_start = wire.find('\u{2014}').unwrap();
    let mut bytes = wire.clone().into_bytes();
    let pos = bytes.len() - 10;
    bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).unwrap();
    assert!(altered[sig_start..] != wire[sig_start..]);
    assert!(key.open_checkpoint(&altered).is_err());
}

#[test]
fn unknown_keys_and_wrong_origins_are_refused() {
    let signer = log_signer();
    let wire = Checkpoint::new(ORIGIN, 1, [1; 32]).sign(&signer).unwrap().to_string();

    // Same name, another key: its key ID differs, so the signature is unknown.
    let other = log_signer();
    assert_eq!(
        other.log_key().open_checkpoint(&wire).map(|_| ()),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    );
    // Same key, another name.
    let renamed = LogKey::ecdsa_p256("log.other.example/issuance", &IssuerKey::generate().public_key()).unwrap();
    assert!(renamed.open_checkpoint(&wire).is_err());

    // A log refuses to sign for another origin...
    assert!(matches!(
        Checkpoint::new("log.other.example/x", 1, [1; 32]).sign(&signer),
        Err(CheckpointError::WrongOrigin { .. })
    ));
    // ...and a verifier refuses a note whose origin is not the key's name.
    let mut foreign =
        SignedNote::new(Checkpoint::new("log.other.example/x", 1, [1; 32]).to_note_text().unwrap()).unwrap();
    foreign.sign(&signer).unwrap();
    assert!(matches!(signer.log_key().open_checkpoint(&foreign.to_string()), Err(CheckpointError::WrongOrigin { .. })));

    // Unknown extra signatures are ignored; a known one that fails rejects the note.
    let mut note = SignedNote::parse(&wire).unwrap();
    note.add_signature(NoteSignature::new("someone.example/else", 7, vec![1, 2, 3]).unwrap()).unwrap();
    assert!(signer.log_key().verify_checkpoint_note(note.clone()).is_ok());
    note.add_signature(NoteSignature::new(ORIGIN, signer_key_id(&signer), vec![0x30, 0x00]).unwrap()).unwrap();
    assert!(matches!(
        signer.log_key().verify_checkpoint_note(note),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));
}

fn signer_key_id(signer: &LogSigner) -> u32 {
    NoteVerifier::key_id(signer.log_key())
}

#[test]
fn ed25519_log_keys_work_too() {
    let signer = LogSigner::ed25519(ORIGIN, ed25519_key(9)).unwrap();
    let wire = Checkpoint::new(ORIGIN, 3, [3; 32]).sign(&signer).unwrap().to_string();
    assert_eq!(signer.log_key().open_checkpoint(&wire).unwrap().checkpoint.size, 3);
    assert_eq!(LogKey::from_vkey(&signer.log_key().to_vkey()).unwrap(), *signer.log_key());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn garbage_never_panics(input in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let key = LogKey::ed25519(ORIGIN, &ed25519_key(1).verifying_key()).unwrap();
        let _ = SignedNote::parse(&input);
        let _ = SignedNote::parse_bytes(&bytes);
        let _ = Checkpoint::from_note_text(&input);
        let _ = key.open_checkpoint(&input);
        let _ = LogKey::from_vkey(&input);
        let _ = WitnessKey::from_vkey(&input);
        let _ = NoteSignature::parse_line(&input);
        let _ = InclusionBundle::from_json(&input);
        let _ = LogEntry::decode(&bytes);
    }

    #[test]
    fn mutated_notes_never_panic_and_never_verify_when_changed(
        position in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        delete in any::<bool>(),
    ) {
        let signer = LogSigner::ed25519(ORIGIN, ed25519_key(2)).unwrap();
        let wire = Checkpoint::new(ORIGIN, 1234, [7; 32]).sign(&signer).unwrap().to_string();
        let chars: Vec<char> = wire.chars().collect();
        let at = position.index(chars.len());
        let mut mutated = chars.clone();
        if delete { mutated.remove(at); } else { mutated[at] = replacement; }
        let mutated: String = mutated.into_iter().collect();
        let result = signer.log_key().open_checkpoint(&mutated);
        if mutated != wire {
            // Only a change that leaves text and signature bytes intact (none
            // exists for a base64 signature except no-ops) could verify.
            if let Ok(opened) = result {
                prop_assert_eq!(opened.note.to_string(), wire);
            }
        } else {
            prop_assert!(result.is_ok());
        }
    }

    #[test]
    fn notes_round_trip(lines in prop::collection::vec("[a-zA-Z0-9 ./+=-]{0,40}", 1..6), name in "[a-z0-9./-]{1,30}") {
        let text = lines.join("\n") + "\n";
        let signer = LogSigner::ed25519(name, ed25519_key(3)).unwrap();
        let mut note = SignedNote::new(text.clone()).unwrap();
        note.sign(&signer).unwrap();
        let parsed = SignedNote::parse(&note.to_string()).unwrap();
        prop_assert_eq!(parsed.text(), text.as_str());
        prop_assert!(parsed.verify(&[signer.log_key() as &dyn NoteVerifier]).is_ok());
    }
}

// ---------------------------------------------------------------- witnesses

struct Log {
    signer: LogSigner,
    tree: MerkleTree,
}

impl Log {
    fn new(signer: LogSigner) -> Self {
        Self { signer, tree: MerkleTree::new() }
    }

    fn append(&mut self, n: u64, tag: &str) {
        for i in 0..n {
            let entry = LogEntry::issued(leaf_hash(format!("{tag} {i}").as_bytes()), "did:key:zDnaeX", i).unwrap();
            self.tree.append(entry.leaf_hash());
        }
    }

    fn checkpoint(&self) -> String {
        Checkpoint::new(self.signer.log_key().origin(), self.tree.size(), self.tree.root())
            .sign(&self.signer)
            .unwrap()
            .to_string()
    }
}

fn witnesses(log: &LogKey) -> Vec<Witness> {
    (1..=3u8)
        .map(|i| Witness::new(format!("witness.dept{i}.example/w"), ed25519_key(100 + i), log.clone()).unwrap())
        .collect()
}

#[test]
fn cosignatures_meet_a_two_of_three_policy() {
    let mut log = Log::new(log_signer());
    log.append(10, "a");
    let mut ws = witnesses(log.signer.log_key());
    let keys: Vec<WitnessKey> = ws.iter().map(|w| w.key().clone()).collect();
    let policy = WitnessPolicy::new(keys.clone(), 2).unwrap();

    let wire = log.checkpoint();
    let mut note = SignedNote::parse(&wire).unwrap();
    let first = ws[0].cosign(&wire, &[], 1_700_000_000).unwrap();
    note.add_signature(first.clone()).unwrap();

    // One cosignature: not enough.
    assert_eq!(policy.verify(&note), Err(WitnessError::QuorumNotMet { got: 1, want: 2 }));
    // The same witness twice still counts once.
    let mut doubled = note.clone();
    doubled.add_signature(first).unwrap();
    assert_eq!(policy.verify(&doubled), Err(WitnessError::QuorumNotMet { got: 1, want: 2 }));
    // A witness outside the policy does not count.
    let mut outsider = Witness::new("witness.rogue.example/w", ed25519_key(50), log.signer.log_key().clone()).unwrap();
    let mut with_outsider = note.clone();
    with_outsider.add_signature(outsider.cosign(&wire, &[], 1_700_000_000).unwrap()).unwrap();
    assert_eq!(policy.verify(&with_outsider), Err(WitnessError::QuorumNotMet { got: 1, want: 2 }));

    // Two of three: accepted, with the timestamps.
    note.add_signature(ws[2].cosign(&wire, &[], 1_700_000_005).unwrap()).unwrap();
    let cosignatures = policy.verify(&note).unwrap();
    assert_eq!(cosignatures.len(), 2);
    assert_eq!(cosignatures[1], Cosignature { witness: "witness.dept3.example/w".into(), timestamp: 1_700_000_005 });
    // The cosigned note still opens with the log key, and round-trips as text.
    let reparsed = SignedNote::parse(&note.to_string()).unwrap();
    assert!(log.signer.log_key().verify_checkpoint_note(reparsed.clone()).is_ok());
    assert_eq!(verify_cosignatures(&reparsed, &keys, 2).unwrap(), cosignatures);
    assert_eq!(verify_cosignatures(&reparsed, &keys, 3), Err(WitnessError::QuorumNotMet { got: 2, want: 3 }));
    assert!(WitnessPolicy::new(keys.clone(), 4).is_err());

    // A cosignature whose timestamp was altered fails and rejects the note.
    let forged_line = note.signatures()[2].clone();
    let mut bytes = forged_line.signature().to_vec();
    bytes[7] ^= 1;
    let mut forged = SignedNote::parse(&wire).unwrap();
    forged.add_signature(NoteSignature::new(forged_line.name(), forged_line.key_id(), bytes).unwrap()).unwrap();
    assert!(matches!(policy.verify(&forged), Err(WitnessError::InvalidCosignature { .. })));

    // A cosignature over another checkpoint does not transfer.
    log.append(1, "b");
    let mut other = SignedNote::parse(&log.checkpoint()).unwrap();
    for signature in note.signatures().iter().skip(1) {
        other.add_signature(signature.clone()).unwrap();
    }
    assert!(matches!(policy.verify(&other), Err(WitnessError::InvalidCosignature { .. })));
}

#[test]
fn witness_checks_consistency_and_refuses_forks() {
    let signer = log_signer();
    let mut honest = Log::new(signer.clone());
    honest.append(10, "a");
    let mut witness = witnesses(signer.log_key()).remove(0);
    let first = honest.checkpoint();
    witness.cosign(&first, &[], 100).unwrap();
    assert_eq!(witness.latest().map(|c| c.size), Some(10));

    // The honest log grows; the witness checks the consistency proof.
    honest.append(5, "b");
    let grown = honest.checkpoint();
    let proof = honest.tree.consistency_proof(10, 15).unwrap();
    assert!(matches!(witness.cosign(&grown, &[], 101), Err(WitnessError::Inconsistent(_))));
    assert!(matches!(witness.cosign(&grown, &proof[1..], 101), Err(WitnessError::Inconsistent(_))));
    let line = witness.cosign(&grown, &proof, 99).unwrap();
    assert_eq!(witness.latest().map(|c| c.size), Some(15));
    // The clock went backwards (99 < 100): the timestamp does not.
    assert_eq!(u64::from_be_bytes(line.signature()[..8].try_into().unwrap()), 100);

    // The same checkpoint again is fine (a fresh cosignature).
    witness.cosign(&grown, &[], 102).unwrap();

    // A fork: same log key, entry 3 rewritten, then grown past the witness.
    let mut fork = Log::new(signer.clone());
    fork.append(3, "a");
    fork.append(1, "rewritten");
    fork.append(14, "c");
    let forked = fork.checkpoint();
    let fork_proof = fork.tree.consistency_proof(15, 18).unwrap();
    assert!(matches!(witness.cosign(&forked, &fork_proof, 103), Err(WitnessError::Inconsistent(_))));
    // Same size as the witness's latest, different root: also a fork.
    let mut same_size = Log::new(signer.clone());
    same_size.append(15, "z");
    assert!(matches!(
        witness.cosign(&same_size.checkpoint(), &[], 103),
        Err(WitnessError::Inconsistent(ProofError::MismatchedRoot))
    ));
    // Rolling back to an older checkpoint is refused.
    assert_eq!(witness.cosign(&first, &[], 103), Err(WitnessError::Rollback { latest: 15, offered: 10 }));
    // A checkpoint not signed by the log is refused.
    let mut impostor = Log::new(log_signer());
    impostor.append(20, "a");
    assert!(matches!(witness.cosign(&impostor.checkpoint(), &[], 103), Err(WitnessError::Checkpoint(_))));
    // After all the refusals the witness still holds the honest checkpoint.
    assert_eq!(witness.latest().map(|c| (c.size, c.root)), Some((15, honest.tree.root())));

    // A witness restored from storage keeps refusing the fork.
    let stored = witness.latest().cloned().unwrap();
    let mut restored = Witness::new("witness.dept1.example/w", ed25519_key(101), signer.log_key().clone())
        .unwrap()
        .with_latest(stored);
    assert!(matches!(restored.cosign(&forked, &fork_proof, 200), Err(WitnessError::Inconsistent(_))));
    honest.append(3, "d");
    let proof = honest.tree.consistency_proof(15, 18).unwrap();
    restored.cosign(&honest.checkpoint(), &proof, 200).unwrap();
}

// ---------------------------------------------------------------- inclusion bundles

struct BundleSetup {
    log: Log,
    policy: WitnessPolicy,
    bundle: InclusionBundle,
    digest: Hash,
    ws: Vec<Witness>,
}

fn cosigned_checkpoint(log: &Log, ws: &mut [Witness], proof_from: Option<u64>, now: u64) -> VerifiedCheckpoint {
    let wire = log.checkpoint();
    let mut note = SignedNote::parse(&wire).unwrap();
    for w in ws.iter_mut().take(2) {
        let proof = match proof_from {
            Some(old) => log.tree.consistency_proof(old, log.tree.size()).unwrap(),
            None => Vec::new(),
        };
        note.add_signature(w.cosign(&wire, &proof, now).unwrap()).unwrap();
    }
    log.signer.log_key().verify_checkpoint_note(note).unwrap()
}

fn bundle_setup() -> BundleSetup {
    let mut log = Log::new(log_signer());
    log.append(37, "before");
    let digest = leaf_hash(b"the signed credential, canonical form");
    let entry = LogEntry::issued(digest, "did:key:zDnaeClinic", 1_700_000_123).unwrap();
    let index = log.tree.append(entry.leaf_hash());
    log.append(62, "after");
    let mut ws = witnesses(log.signer.log_key());
    let policy = WitnessPolicy::new(ws.iter().map(|w| w.key().clone()).collect(), 2).unwrap();
    let checkpoint = cosigned_checkpoint(&log, &mut ws, None, 1_700_000_200);
    let bundle = InclusionBundle::new(entry, index, &log.tree, &checkpoint).unwrap();
    BundleSetup { log, policy, bundle, digest, ws }
}

#[test]
fn bundle_verifies_offline_and_round_trips_as_json() {
    let s = bundle_setup();
    let verified = s.bundle.verify(&s.digest, s.log.signer.log_key(), &s.policy).unwrap();
    assert_eq!((verified.index, verified.size), (37, 100));
    assert_eq!(verified.origin, ORIGIN);
    assert_eq!(verified.entry.kind(), EntryKind::Issued);
    assert_eq!(verified.entry.issuer(), "did:key:zDnaeClinic");
    assert_eq!(verified.cosignatures.len(), 2);

    let json = s.bundle.to_json();
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["entry"]["kind"]["type"], "issued");
    assert_eq!(value["entry"]["credentialDigest"], hex::encode(s.digest));
    assert_eq!(value["proof"].as_array().unwrap().len(), s.bundle.proof.len());
    let again = InclusionBundle::from_json(&json).unwrap();
    assert_eq!(again, s.bundle);
    assert!(again.verify(&s.digest, s.log.signer.log_key(), &s.policy).is_ok());

    // Strict JSON: unknown fields and malformed hashes are refused.
    assert!(InclusionBundle::from_json(&json.replacen('{', "{\"x\":1,", 1)).is_err());
    assert!(InclusionBundle::from_json(&json.replace(&hex::encode(s.digest), &hex::encode(s.digest).to_uppercase()))
        .is_err());
    assert!(InclusionBundle::from_json("[]").is_err());
}

#[test]
fn bundle_failures() {
    let s = bundle_setup();
    let key = s.log.signer.log_key();

    // Another credential.
    let err = s.bundle.verify(&leaf_hash(b"another credential"), key, &s.policy).unwrap_err();
    assert_eq!(err, BundleError::DigestMismatch);
    assert_eq!(err.code(), "anchoring_wrong_credential");

    // The proof checked against another (later, validly cosigned) checkpoint.
    let mut s2 = bundle_setup();
    s2.log.append(5, "later");
    let later = cosigned_checkpoint(&s2.log, &mut s2.ws, Some(100), 1_700_000_300);
    let mut moved = s2.bundle.clone();
    moved.checkpoint = later.note.to_string();
    let err = moved.verify(&s2.digest, s2.log.signer.log_key(), &s2.policy).unwrap_err();
    assert!(matches!(err, BundleError::Proof(_)), "{err:?}");
    assert_eq!(err.code(), "anchoring_bad_inclusion_proof");
    // A fresh bundle for the later checkpoint verifies.
    let refreshed = InclusionBundle::new(s2.bundle.entry.clone(), 37, &s2.log.tree, &later).unwrap();
    assert_eq!(refreshed.verify(&s2.digest, s2.log.signer.log_key(), &s2.policy).unwrap().size, 105);

    // Wrong index, altered proof.
    let mut wrong_index = s.bundle.clone();
    wrong_index.index = 38;
    assert!(matches!(wrong_index.verify(&s.digest, key, &s.policy), Err(BundleError::Proof(_))));
    let mut altered = s.bundle.clone();
    altered.proof[0][0] ^= 1;
    assert_eq!(altered.verify(&s.digest, key, &s.policy), Err(BundleError::Proof(ProofError::MismatchedRoot)));
    // An entry altered after the fact (another time) is not the logged leaf.
    let mut retimed = s.bundle.clone();
    retimed.entry = LogEntry::issued(s.digest, "did:key:zDnaeClinic", 1_700_000_124).unwrap();
    assert!(matches!(retimed.verify(&s.digest, key, &s.policy), Err(BundleError::Proof(_))));

    // Not enough witnesses for a 3-of-3 policy; another log's key.
    let strict = WitnessPolicy::new(s.policy.witnesses().to_vec(), 3).unwrap();
    let err = s.bundle.verify(&s.digest, key, &strict).unwrap_err();
    assert_eq!(err, BundleError::Witness(WitnessError::QuorumNotMet { got: 2, want: 3 }));
    assert_eq!(err.code(), "anchoring_not_witnessed");
    let stranger = log_signer();
    let err = s.bundle.verify(&s.digest, stranger.log_key(), &s.policy).unwrap_err();
    assert_eq!(err.code(), "anchoring_bad_checkpoint");

    // Building a bundle for an entry that is not the leaf at that index.
    let other_entry = LogEntry::issued([1; 32], "did:key:zDnaeClinic", 1).unwrap();
    let checkpoint = key.open_checkpoint(&s.bundle.checkpoint).unwrap();
    assert_eq!(InclusionBundle::new(other_entry, 37, &s.log.tree, &checkpoint), Err(BundleError::EntryNotAtIndex(37)));
}
