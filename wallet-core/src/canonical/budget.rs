//! RDFC-1.0 with a work budget.
//!
//! The algorithm is `ssi`'s own (`ssi_rdf::urdna2015::normalize`), step for
//! step and with the same helpers (first-degree hash, related-node hash,
//! identifier issuer), so the canonical N-Quads are byte-identical to what the
//! `ecdsa-rdfc-2019` cryptosuite signs — the differential test in
//! `tests/suite/canonical_budget.rs` checks this on every fixture. What differs:
//!
//! - the Hash N-Degree Quads permutations are generated one at a time (in the
//!   same order as the `combination` crate `ssi` uses, which allocates all n!
//!   of them up front);
//! - the work is metered, and canonicalisation stops with [`Exceeded`] as soon
//!   as the document has more blank nodes than [`Budget::max_blank_nodes`], a
//!   group of blank nodes with equal first-degree hash (indistinguishable
//!   without the exponential search) larger than
//!   [`Budget::max_indistinguishable`], or needs more than
//!   [`Budget::max_steps`] Hash N-Degree Quads steps (calls and permutations).
//!
//! Real credentials are far inside the budget: over every fixture at most 5
//! blank nodes, groups of 2 and a handful of steps (see the differential test).

use std::collections::{BTreeMap, BTreeSet};

use ssi_json_ld::BlankId;
use ssi_rdf::urdna2015::{
    hash_first_degree_quads, hash_related_blank_node, issue_identifier, BlankNodeComponents as _,
    BlankNodeComponentsMut as _, HashNDegreeQuadsOutput, IdentifierIssuer, NormalizationState,
};
use ssi_rdf::LexicalQuad;

/// More blank nodes than any credential or presentation we issue or accept needs.
pub const MAX_BLANK_NODES: usize = 256;
/// Largest group of blank nodes with equal first-degree hash: the search
/// over such a group grows with the factorial of its size.
pub const MAX_INDISTINGUISHABLE: usize = 8;
/// Hash N-Degree Quads steps (calls and permutations tried) per document.
pub const MAX_STEPS: u64 = 100_000;

/// How much work one canonicalisation may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Distinct blank nodes in the dataset.
    pub max_blank_nodes: usize,
    /// Blank nodes sharing one first-degree hash (and related blank nodes
    /// sharing one related hash, whose permutations are tried).
    pub max_indistinguishable: usize,
    /// Hash N-Degree Quads calls plus permutations tried.
    pub max_steps: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self { max_blank_nodes: MAX_BLANK_NODES, max_indistinguishable: MAX_INDISTINGUISHABLE, max_steps: MAX_STEPS }
    }
}

/// Which limit a document crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`Budget::max_blank_nodes`].
    BlankNodes,
    /// [`Budget::max_indistinguishable`].
    IndistinguishableBlankNodes,
    /// [`Budget::max_steps`].
    Steps,
}

impl Limit {
    /// For messages.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Self::BlankNodes => ("空白节点数", "blank nodes"),
            Self::IndistinguishableBlankNodes => ("无法区分的空白节点数", "indistinguishable blank nodes"),
            Self::Steps => ("规范化步骤数", "canonicalisation steps"),
        }
    }
}

/// The budget was exceeded: `found` (at least) against `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// The limit crossed.
    pub limit: Limit,
    /// What the document needed (for steps: the step that crossed it).
    pub found: u64,
    /// The limit's value.
    pub max: u64,
}

/// The work one canonicalisation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Distinct blank nodes.
    pub blank_nodes: usize,
    /// Largest group of blank nodes with equal first-degree hash (1 when all differ, 0 without blank nodes).
    pub largest_group: usize,
    /// Hash N-Degree Quads calls plus permutations tried.
    pub steps: u64,
}

/// Counts steps against the budget.
struct Meter {
    budget: Budget,
    work: Work,
}

impl Meter {
    fn step(&mut self) -> Result<(), Exceeded> {
        self.work.steps += 1;
        if self.work.steps > self.budget.max_steps {
            return Err(Exceeded { limit: Limit::Steps, found: self.work.steps, max: self.budget.max_steps });
        }
        Ok(())
    }

    fn group(&mut self, size: usize) -> Result<(), Exceeded> {
        self.work.largest_group = self.work.largest_group.max(size);
        if size > self.budget.max_indistinguishable {
            return Err(Exceeded {
                limit: Limit::IndistinguishableBlankNodes,
                found: size as u64,
                max: self.budget.max_indistinguishable as u64,
            });
        }
        Ok(())
    }
}

/// The canonical N-Quads lines of `quads` (sorted, deduplicated, each ending
/// in `\n`), exactly as `ssi`'s `canonical_form_of` gives them, and the work
/// it took.
///
/// # Errors
/// [`Exceeded`] as soon as the budget is crossed.
pub fn canonical_lines(quads: &[LexicalQuad], budget: Budget) -> Result<(Vec<String>, Work), Exceeded> {
    // Every blank node told apart by its first-degree hash: no search, the
    // same lines without `ssi`'s copies (differential test: canonical_budget).
    match super::first_degree::canonical_lines(quads, budget.max_blank_nodes) {
        Some((lines, blank_nodes)) => Ok((lines, first_degree_work(blank_nodes))),
        None => canonical_lines_searching(quads, budget),
    }
}

/// [`canonical_lines`] of quads held anywhere (a subset of a dataset is
/// canonicalised without copying its quads on the common path), as one
/// text: the lines in order, what is hashed and signed, without a string
/// per line.
///
/// # Errors
/// As [`canonical_lines`].
pub(crate) fn canonical_text_of<Q: std::borrow::Borrow<LexicalQuad>>(
    quads: &[Q],
    budget: Budget,
) -> Result<(String, Work), Exceeded> {
    if let Some((text, blank_nodes)) = super::first_degree::canonical_text(quads, budget.max_blank_nodes) {
        return Ok((text, first_degree_work(blank_nodes)));
    }
    let owned: Vec<LexicalQuad> = quads.iter().map(|quad| quad.borrow().clone()).collect();
    canonical_lines_searching(&owned, budget).map(|(lines, work)| (lines.concat(), work))
}

/// The work of a canonicalisation the first-degree hashes settled.
fn first_degree_work(blank_nodes: usize) -> Work {
    Work { blank_nodes, largest_group: usize::from(blank_nodes > 0), steps: 0 }
}

/// [`canonical_lines`] step for step as `ssi` computes it, with the Hash
/// N-Degree Quads search where first-degree hashes collide: the general path,
/// and the reference the fast path is tested against.
///
/// # Errors
/// [`Exceeded`] as soon as the budget is crossed.
pub fn canonical_lines_searching(quads: &[LexicalQuad], budget: Budget) -> Result<(Vec<String>, Work), Exceeded> {
    let mut meter = Meter { budget, work: Work::default() };
    // https://www.w3.org/TR/rdf-canon/#algorithm, numbered as in ssi's normalize.
    // 1
    let mut state = NormalizationState {
        blank_node_to_quads: BTreeMap::new(),
        hash_to_blank_nodes: BTreeMap::new(),
        canonical_issuer: IdentifierIssuer::new("_:c14n".to_owned()),
    };
    // 2
    for quad in quads {
        let quad = quad.as_lexical_quad_ref();
        for blank in quad.blank_node_components() {
            state.blank_node_to_quads.entry(blank).or_default().push(quad);
        }
    }
    meter.work.blank_nodes = state.blank_node_to_quads.len();
    if meter.work.blank_nodes > budget.max_blank_nodes {
        return Err(Exceeded {
            limit: Limit::BlankNodes,
            found: meter.work.blank_nodes as u64,
            max: budget.max_blank_nodes as u64,
        });
    }
    // 3 (ordered, so the step count does not depend on hashing order)
    let mut non_normalized: BTreeSet<&BlankId> = state.blank_node_to_quads.keys().copied().collect();
    // 4, 5
    let mut simple = true;
    while simple {
        simple = false;
        state.hash_to_blank_nodes.clear();
        for identifier in &non_normalized {
            let hash = hash_first_degree_quads(&mut state, identifier);
            state.hash_to_blank_nodes.entry(hash).or_default().push(*identifier);
        }
        for list in state.hash_to_blank_nodes.values() {
            meter.group(list.len())?;
        }
        let mut hashes_to_remove = Vec::new();
        for (hash, list) in &state.hash_to_blank_nodes {
            let [identifier] = list.as_slice() else { continue };
            issue_identifier(&mut state.canonical_issuer, identifier);
            non_normalized.remove(identifier);
            hashes_to_remove.push(hash.clone());
            simple = true;
        }
        for hash in hashes_to_remove {
            state.hash_to_blank_nodes.remove(&hash);
        }
        // 6 (inside the loop, as ssi has it)
        for (_, list) in state.hash_to_blank_nodes.clone() {
            let mut hash_path_list: Vec<HashNDegreeQuadsOutput> = Vec::new();
            for identifier in list {
                if state.canonical_issuer.find_issued_identifier(identifier).is_some() {
                    continue;
                }
                let mut temporary_issuer = IdentifierIssuer::new("_:b".to_owned());
                issue_identifier(&mut temporary_issuer, identifier);
                hash_path_list.push(hash_n_degree_quads(&mut state, identifier, &temporary_issuer, &mut meter)?);
            }
            hash_path_list.sort_by(|a, b| a.hash.cmp(&b.hash));
            for result in hash_path_list {
                for (existing, _) in result.issuer.issued_identifiers {
                    issue_identifier(&mut state.canonical_issuer, &existing);
                }
            }
        }
    }
    // 7
    let mut relabelled = Vec::with_capacity(quads.len());
    for quad in quads {
        let mut copy = quad.clone();
        for label in copy.blank_node_components_mut() {
            // Every blank node was issued an identifier above.
            if let Some(canonical) = state.canonical_issuer.find_issued_identifier(label) {
                *label = canonical.to_owned();
            }
        }
        relabelled.push(copy);
    }
    Ok((super::nquads::lines(&relabelled), meter.work))
}

/// <https://www.w3.org/TR/rdf-canon/#hash-n-degree-quads>, as in ssi, metered.
fn hash_n_degree_quads(
    state: &mut NormalizationState<'_>,
    identifier: &BlankId,
    issuer: &IdentifierIssuer,
    meter: &mut Meter,
) -> Result<HashNDegreeQuadsOutput, Exceeded> {
    meter.step()?;
    let mut issuer = issuer.clone();
    // 1–3
    let mut hash_to_related: BTreeMap<String, Vec<&BlankId>> = BTreeMap::new();
    if let Some(quads) = state.blank_node_to_quads.get(identifier).cloned() {
        for quad in quads {
            for (component, position) in quad.blank_node_components_with_position() {
                if component != identifier {
                    let hash = hash_related_blank_node(state, component, quad, &mut issuer, position);
                    hash_to_related.entry(hash).or_default().push(component);
                }
            }
        }
    }
    // 4, 5
    let mut data_to_hash = String::new();
    for (related_hash, blank_node_list) in hash_to_related {
        data_to_hash.push_str(&related_hash);
        meter.group(blank_node_list.len())?;
        let mut chosen_path = String::new();
        let mut chosen_issuer = None;
        for permutation in Permutations::new(blank_node_list.len()) {
            meter.step()?;
            let mut issuer_copy = issuer.clone();
            let mut path = String::new();
            let mut recursion_list = Vec::new();
            // A permutation of 0..len: every index is in range.
            for related in permutation.iter().filter_map(|&i| blank_node_list.get(i).copied()) {
                if let Some(canonical) = state.canonical_issuer.find_issued_identifier(related) {
                    recursion_list.push(canonical.to_owned());
                } else {
                    if issuer_copy.find_issued_identifier(related).is_none() {
                        recursion_list.push(related.to_owned());
                    }
                    path += &issue_identifier(&mut issuer_copy, related);
                }
            }
            for related in recursion_list {
                let result = hash_n_degree_quads(state, &related, &issuer_copy, meter)?;
                path.push_str(&issue_identifier(&mut issuer_copy, &related));
                path.push('<');
                path.push_str(&result.hash);
                path.push('>');
                issuer_copy = result.issuer;
            }
            if chosen_path.is_empty() || path < chosen_path {
                chosen_path = path;
                chosen_issuer = Some(issuer_copy);
            }
        }
        data_to_hash.push_str(&chosen_path);
        if let Some(chosen) = chosen_issuer {
            issuer = chosen;
        }
    }
    // 6
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data_to_hash.as_bytes()));
    Ok(HashNDegreeQuadsOutput { hash, issuer })
}

/// The permutations of `0..n` one at a time, in the order of
/// `combination::permutate::from_vec` (which `ssi` uses): for n ≥ 3, each
/// permutation of `0..n-1` in turn with `n-1` inserted at position 0, 1, …;
/// for n = 2, `[0, 1]` then `[1, 0]`. The order matters: on equal paths the
/// first permutation's issuer is kept.
#[derive(Debug, Clone)]
pub struct Permutations {
    n: usize,
    /// For n ≥ 2: 0 → start from `[0, 1]`, 1 → from `[1, 0]`.
    base: usize,
    /// `insert_at[m]` for m in 3..=n: where `m - 1` goes.
    insert_at: Vec<usize>,
    done: bool,
}

impl Permutations {
    /// All permutations of `0..n` (one, `[0]`, for n ≤ 1, as in `combination`).
    pub fn new(n: usize) -> Self {
        Self { n, base: 0, insert_at: vec![0; n + 1], done: false }
    }
}

impl Iterator for Permutations {
    type Item = Vec<usize>;

    // `insert_at` has n + 1 entries and m runs over 3..=n; `insert_at[m] < m`
    // is at most the length of `current` when `m - 1` is inserted.
    #[allow(clippy::indexing_slicing)]
    fn next(&mut self) -> Option<Vec<usize>> {
        if self.done {
            return None;
        }
        if self.n <= 1 {
            self.done = true;
            return Some(vec![0]);
        }
        let mut current = if self.base == 0 { vec![0, 1] } else { vec![1, 0] };
        for m in 3..=self.n {
            current.insert(self.insert_at[m], m - 1);
        }
        // Advance: the last insertion varies fastest.
        let mut m = self.n;
        loop {
            if m < 3 {
                self.base += 1;
                self.done = self.base == 2;
                break;
            }
            self.insert_at[m] += 1;
            if self.insert_at[m] < m {
                break;
            }
            self.insert_at[m] = 0;
            m -= 1;
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_come_in_the_order_ssi_tries_them() {
        for n in 1..=6 {
            let ours: Vec<Vec<usize>> = Permutations::new(n).collect();
            let theirs = combination::permutate::from_vec(&(0..n).collect::<Vec<usize>>());
            assert_eq!(ours, theirs, "n = {n}");
        }
        assert_eq!(Permutations::new(7).count(), 5040);
    }
}
