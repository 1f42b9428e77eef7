//! RDFC-1.0's first-degree fast path (`canonical::budget::canonical_lines`)
//! against the step-for-step path (`canonical_lines_searching`) and `ssi`'s
//! own `urdna2015::normalize`, on generated datasets small enough that blank
//! nodes often share a first-degree hash (so both paths run) and on datasets
//! where they never do. The fixture-wide comparison with `ssi` is
//! `canonical_budget::budgeted_canonicalisation_is_byte_identical_to_ssi_on_every_fixture`.

use ssi_json_ld::rdf_types::{BlankIdBuf, Id, Literal, LiteralType, Quad, Term};
use ssi_json_ld::IriBuf;
use ssi_rdf::{IntoNQuads as _, LexicalQuad};
use wallet_core::canonical::budget::{canonical_lines, canonical_lines_searching};
use wallet_core::canonical::Budget;

/// A small deterministic generator (xorshift64*), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

fn iri(s: &str) -> IriBuf {
    IriBuf::new(s.to_owned()).unwrap()
}

fn blank(n: usize) -> Id {
    Id::Blank(BlankIdBuf::new(format!("_:n{n}")).unwrap())
}

/// `blank_nodes` blank nodes in `quads` quads over a tiny vocabulary; with
/// `distinct`, every blank node also gets a quad of its own (a literal naming
/// it), so its first-degree hash cannot collide.
fn dataset(rng: &mut Rng, blank_nodes: usize, quads: usize, distinct: bool) -> Vec<LexicalQuad> {
    let predicates = ["https://e.org/p", "https://e.org/q", "https://e.org/r"];
    let literals = ["a", "b", "中文 \"quoted\"\n"];
    let subject =
        |rng: &mut Rng| if rng.below(4) == 0 { Id::Iri(iri("https://e.org/s")) } else { blank(rng.below(blank_nodes)) };
    let mut out = Vec::new();
    for _ in 0..quads {
        let s = subject(rng);
        let p = iri(predicates[rng.below(predicates.len())]);
        let o = match rng.below(3) {
            0 => Term::Id(blank(rng.below(blank_nodes))),
            1 => Term::Id(Id::Iri(iri("https://e.org/o"))),
            _ => Term::Literal(Literal::new(
                literals[rng.below(literals.len())].to_owned(),
                LiteralType::Any(iri("http://www.w3.org/2001/XMLSchema#string")),
            )),
        };
        let g = match rng.below(5) {
            0 => Some(blank(rng.below(blank_nodes))),
            1 => Some(Id::Iri(iri("https://e.org/g"))),
            _ => None,
        };
        out.push(Quad(s, p, o, g));
    }
    if distinct {
        for n in 0..blank_nodes {
            out.push(Quad(
                blank(n),
                iri("https://e.org/name"),
                Term::Literal(Literal::new(format!("node {n}"), LiteralType::Any(iri("https://e.org/t")))),
                None,
            ));
        }
    }
    out
}

/// `n` blank nodes with the same quads each, linked in a ring or a star,
/// plus `extra` random quads among them.
fn look_alikes(rng: &mut Rng, n: usize, extra: usize) -> Vec<LexicalQuad> {
    let literal = |v: &str| Term::Literal(Literal::new(v.to_owned(), LiteralType::Any(iri("https://e.org/t"))));
    let ring = rng.below(2) == 0;
    let mut out = Vec::new();
    for k in 0..n {
        out.push(Quad(blank(k), iri("https://e.org/p"), literal("same"), None));
        if ring {
            out.push(Quad(blank(k), iri("https://e.org/next"), Term::Id(blank((k + 1) % n)), None));
        } else {
            out.push(Quad(Id::Iri(iri("https://e.org/hub")), iri("https://e.org/has"), Term::Id(blank(k)), None));
        }
    }
    for _ in 0..extra {
        let (a, b) = (rng.below(n), rng.below(n));
        out.push(Quad(blank(a), iri("https://e.org/q"), Term::Id(blank(b)), None));
    }
    out
}

fn ssi_lines(quads: &[LexicalQuad]) -> Vec<String> {
    ssi_rdf::urdna2015::normalize(quads.iter().map(|q| q.as_lexical_quad_ref())).collect::<Vec<_>>().into_nquads_lines()
}

#[test]
fn the_fast_path_gives_the_searching_paths_and_ssis_lines_and_work() {
    let (mut settled_by_first_degree, mut searched) = (0, 0);
    for seed in 1..=1500u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let blank_nodes = 1 + rng.below(6);
        let distinct = seed % 3 == 0;
        let data = if seed % 3 == 1 {
            // Look-alike blank nodes (the same quads each, a ring or a star
            // between them): first-degree hashes collide and the search runs.
            let extra = rng.below(3);
            look_alikes(&mut rng, 2 + blank_nodes.min(4), extra)
        } else {
            let quads = 1 + rng.below(14);
            dataset(&mut rng, blank_nodes, quads, distinct)
        };
        let fast = canonical_lines(&data, Budget::default()).unwrap();
        let reference = canonical_lines_searching(&data, Budget::default()).unwrap();
        assert_eq!(fast, reference, "seed {seed}");
        assert_eq!(fast.0, ssi_lines(&data), "seed {seed}");
        if reference.1.largest_group <= 1 {
            settled_by_first_degree += 1;
        } else {
            searched += 1;
        }
    }
    // Both paths were exercised, each many times.
    assert!(settled_by_first_degree >= 300 && searched >= 300, "{settled_by_first_degree} fast, {searched} searched");
}

#[test]
fn the_fast_path_leaves_budget_refusals_to_the_metered_path() {
    // More blank nodes than allowed, all distinct: refused as before.
    let mut rng = Rng(7);
    let data = dataset(&mut rng, 20, 5, true);
    let budget = Budget { max_blank_nodes: 10, ..Budget::default() };
    let refused = canonical_lines(&data, budget).unwrap_err();
    assert_eq!(refused, canonical_lines_searching(&data, budget).unwrap_err());
    assert_eq!(refused.found, 20);
    // Within the limit, the fast path answers.
    let (lines, work) = canonical_lines(&data, Budget::default()).unwrap();
    assert_eq!(work.blank_nodes, 20);
    assert_eq!(work.largest_group, 1);
    assert_eq!(lines, ssi_lines(&data));
}
