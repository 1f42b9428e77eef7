//! The issuance transparency log at scale.
//!
//! `cargo bench --profile dev -p wallet-core --bench transparency -- --warm-up-time 1 --measurement-time 3`
//!
//! - `append/leaf_hashes/100k`, `append/entries/100k`: appending a batch of
//!   100,000 leaves to a tree (the second also encodes and hashes each
//!   `LogEntry`); criterion reports entries/s;
//! - `proofs/*/10M`: inclusion and consistency proof generation and
//!   verification, and a historical root, in a tree of 10,000,000 leaves
//!   (`TRANSPARENCY_BENCH_LEAVES` overrides the size, e.g. `4194304`);
//! - `checkpoint/*`, `bundle/verify`: signing and opening a P-256 checkpoint,
//!   an Ed25519 cosignature, and a wallet's full offline bundle check
//!   (log signature + 2-of-3 cosignatures + inclusion proof).
//!
//! The big tree's build time, resident memory and proof sizes are printed once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng as _, SeedableRng as _};
use wallet_core::keys::IssuerKey;
use wallet_core::transparency::{
    leaf_hash, verify_consistency, verify_inclusion, AnchorCalldata, AnchoringPolicy, ChainAnchor, Checkpoint,
    Ed25519SigningKey, Hash, InclusionBundle, LogEntry, LogMirror, LogMirrors, LogSigner, MerkleTree, SignedNote,
    Witness, WitnessPolicy,
};

const DEFAULT_LEAVES: u64 = 10_000_000;
const BATCH: u64 = 100_000;
const ISSUER: &str = "did:key:zDnaeTVfvLa5pmyuu7fxQ2XRZnwFhe5ZeUDy4BNZkqGWcZPyR";
const ORIGIN: &str = "log.clinic.example/issuance";

/// Resident set size of this process, in MiB (Linux; 0 elsewhere).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn entry(i: u64) -> LogEntry {
    let digest = leaf_hash(&i.to_be_bytes());
    LogEntry::issued(digest, ISSUER, 1_700_000_000 + i).unwrap_or_else(|e| panic!("entry: {e}"))
}

struct Big {
    tree: MerkleTree,
    size: u64,
}

fn big() -> &'static Big {
    static BIG: OnceLock<Big> = OnceLock::new();
    BIG.get_or_init(|| {
        let size =
            std::env::var("TRANSPARENCY_BENCH_LEAVES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_LEAVES);
        let before = rss_mib();
        let started = Instant::now();
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let hashed = started.elapsed();
        let tree = MerkleTree::from_leaf_hashes(leaves);
        let built = started.elapsed();
        let after = rss_mib();
        let root_started = Instant::now();
        let root = tree.root();
        let root_time = root_started.elapsed();
        let proof_first = tree.inclusion_proof(0, size).map(|p| p.len()).unwrap_or(0);
        let proof_last = tree.inclusion_proof(size - 1, size).map(|p| p.len()).unwrap_or(0);
        let consistency = tree.consistency_proof(size * 3 / 4 + 1, size).map(|p| p.len()).unwrap_or(0);
        let grown = after - before;
        eprintln!(
            "\n[transparency] tree of {size} leaves: leaf hashes {hashed:.2?}, levels {:.2?} (total {built:.2?})",
            built - hashed
        );
        eprintln!(
            "[transparency] RSS {before:.0} MiB -> {after:.0} MiB (+{grown:.0} MiB, {:.1} bytes/leaf); root {} in {root_time:.2?}",
            grown * 1024.0 * 1024.0 / size as f64,
            hex::encode(&root[..8]),
        );
        eprintln!(
            "[transparency] inclusion proof: {proof_first} hashes = {} bytes (leaf 0), {proof_last} hashes = {} bytes (last leaf)",
            proof_first * 32,
            proof_last * 32,
        );
        let old = size * 3 / 4 + 1;
        eprintln!("[transparency] consistency proof {old}->{size}: {consistency} hashes = {} bytes\n", consistency * 32);
        Big { tree, size }
    })
}

fn append(c: &mut Criterion) {
    let leaves: Vec<Hash> = (0..BATCH).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let entries: Vec<LogEntry> = (0..BATCH).map(entry).collect();
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("leaf_hashes/100k", |b| {
        b.iter_batched(
            MerkleTree::new,
            |mut tree| {
                for leaf in &leaves {
                    tree.append(*leaf);
                }
                black_box(tree.root())
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("entries/100k", |b| {
        b.iter_batched(
            MerkleTree::new,
            |mut tree| {
                for e in &entries {
                    tree.append(e.leaf_hash());
                }
                black_box(tree.root())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let big = big();
    let (tree, size) = (&big.tree, big.size);
    let label = if size == DEFAULT_LEAVES { "10M".to_owned() } else { size.to_string() };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let indices: Vec<u64> = (0..1024).map(|_| rng.gen_range(0..size)).collect();
    let old_sizes: Vec<u64> = (0..1024).map(|_| rng.gen_range(1..size)).collect();
    let root = tree.root();
    let proofs: Vec<Vec<Hash>> = indices.iter().map(|&i| tree.inclusion_proof(i, size).unwrap_or_default()).collect();
    let leaves: Vec<Hash> = indices.iter().map(|&i| tree.leaf_hash(i).unwrap_or_default()).collect();
    let old_roots: Vec<Hash> = old_sizes.iter().map(|&s| tree.root_at(s).unwrap_or_default()).collect();
    let consistency: Vec<Vec<Hash>> =
        old_sizes.iter().map(|&s| tree.consistency_proof(s, size).unwrap_or_default()).collect();

    let mut group = c.benchmark_group("proofs");
    let mut n = 0usize;
    group.bench_function(format!("inclusion_generate/{label}"), |b| {
        b.iter(|| {
            n = (n + 1) % indices.len();
            black_box(tree.inclusion_proof(indices[n], size))
        })
    });
    group.bench_function(format!("inclusion_verify/{label}"), |b| {
        b.iter(|| {
            n = (n + 1) % indices.len();
            black_box(verify_inclusion(&leaves[n], indices[n], size, &proofs[n], &root))
        })
    });
    group.bench_function(format!("consistency_generate/{label}"), |b| {
        b.iter(|| {
            n = (n + 1) % old_sizes.len();
            black_box(tree.consistency_proof(old_sizes[n], size))
        })
    });
    group.bench_function(format!("consistency_verify/{label}"), |b| {
        b.iter(|| {
            n = (n + 1) % old_sizes.len();
            black_box(verify_consistency(old_sizes[n], size, &consistency[n], &old_roots[n], &root))
        })
    });
    group.bench_function(format!("root_at/{label}"), |b| {
        b.iter(|| {
            n = (n + 1) % old_sizes.len();
            black_box(tree.root_at(old_sizes[n]))
        })
    });
    group.finish();
}

fn checkpoints(c: &mut Criterion) {
    let signer = LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap_or_else(|e| panic!("{e}"));
    let mut tree = MerkleTree::new();
    let target = entry(4242);
    for i in 0..10_000 {
        tree.append(if i == 4242 { target.leaf_hash() } else { entry(i).leaf_hash() });
    }
    let checkpoint = Checkpoint::new(ORIGIN, tree.size(), tree.root());
    let wire = checkpoint.sign(&signer).unwrap_or_else(|e| panic!("{e}")).to_string();
    let mut witnesses: Vec<Witness> = (1..=3u8)
        .map(|i| {
            Witness::new(
                format!("witness.dept{i}.example/w"),
                Ed25519SigningKey::from_bytes(&[i; 32]),
                signer.log_key().clone(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut note = SignedNote::parse(&wire).unwrap_or_else(|e| panic!("{e}"));
    for w in witnesses.iter_mut().take(2) {
        let line = w.cosign(&wire, &[], 1_700_000_000).unwrap_or_else(|e| panic!("{e}"));
        note.add_signature(line).unwrap_or_else(|e| panic!("{e}"));
    }
    let policy =
        WitnessPolicy::new(witnesses.iter().map(|w| w.key().clone()).collect(), 2).unwrap_or_else(|e| panic!("{e}"));
    let verified = signer.log_key().verify_checkpoint_note(note).unwrap_or_else(|e| panic!("{e}"));
    let bundle = InclusionBundle::new(target.clone(), 4242, &tree, &verified).unwrap_or_else(|e| panic!("{e}"));
    let json = bundle.to_json();
    eprintln!("[transparency] inclusion bundle JSON at 10,000 entries, 2 cosignatures: {} bytes", json.len());

    let mut group = c.benchmark_group("checkpoint");
    group.bench_function("sign_p256", |b| b.iter(|| black_box(checkpoint.sign(&signer))));
    group.bench_function("open_p256", |b| b.iter(|| black_box(signer.log_key().open_checkpoint(&wire))));
    let mut witness = witnesses.remove(2);
    group.bench_function("cosign_ed25519", |b| b.iter(|| black_box(witness.cosign(&wire, &[], 1_700_000_001))));
    group.finish();

    let digest = *target.credential_digest();
    c.bench_function("bundle/verify_2of3", |b| {
        b.iter(|| {
            let bundle = InclusionBundle::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
            black_box(bundle.verify(&digest, signer.log_key(), &policy))
        })
    });
}

/// The verifier side of the anchoring check: extending a log mirror by a page
/// of entries against a signed checkpoint, and the per-verification lookup in a
/// mirror of 100,000 entries (baseline: one `bundle/verify_2of3`).
fn mirror(c: &mut Criterion) {
    const MIRRORED: u64 = 100_000;
    let signer = LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap_or_else(|e| panic!("{e}"));
    let entries: Vec<LogEntry> = (0..MIRRORED).map(entry).collect();
    let tree = MerkleTree::from_leaf_hashes(entries.iter().map(LogEntry::leaf_hash).collect());
    let note = |size: u64| {
        let root = tree.root_at(size).unwrap_or_else(|e| panic!("{e}"));
        Checkpoint::new(ORIGIN, size, root).sign(&signer).unwrap_or_else(|e| panic!("{e}")).to_string()
    };
    let before = rss_mib();
    let mut full = LogMirror::new(signer.log_key().clone());
    full.extend(&entries, &note(MIRRORED), 1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("[transparency] mirror of {MIRRORED} entries: +{:.0} MiB RSS", rss_mib() - before);
    let anchor = ChainAnchor {
        chain_id: 1,
        tx_hash: "0x01".into(),
        from: "0x02".into(),
        block_number: 9,
        block_hash: "0x03".into(),
        block_time: 1_800_000_000,
        calldata: AnchorCalldata { tree_size: MIRRORED, root: tree.root(), note_digest: [0; 32] },
    };
    full.add_anchor(anchor).unwrap_or_else(|e| panic!("{e}"));
    let mirrors = LogMirrors::new(vec![full]);
    let policy = AnchoringPolicy::default();
    let target = entry(MIRRORED / 2);

    let mut group = c.benchmark_group("mirror");
    group.bench_function("check/100k", |b| {
        b.iter(|| {
            black_box(mirrors.check(target.credential_digest(), ISSUER, Some(target.at()), &policy, 1_800_000_100))
        })
    });
    let page = &entries[..1000];
    let page_note = note(1000);
    group.throughput(Throughput::Elements(1000));
    group.bench_function("extend_1000", |b| {
        b.iter_batched(
            || LogMirror::new(signer.log_key().clone()),
            |mut mirror| black_box(mirror.extend(page, &page_note, 1_800_000_000)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, append, proofs, checkpoints, mirror);
criterion_main!(benches);
