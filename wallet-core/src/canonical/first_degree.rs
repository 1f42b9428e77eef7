//! RDFC-1.0 when the first-degree hashes settle it (issue #16).
//!
//! In a credential every blank node (the subject without `id`, the proof
//! node, the proof graph, …) is told apart by its own quads: the first-degree
//! hashes all differ, the canonical labels are issued in hash order and the
//! Hash N-Degree Quads search never runs. That case is computed here without
//! `ssi`'s copies: each quad is written once per blank node it names into
//! one reused buffer (`_:a` for the reference node, `_:z` for the others, as
//! the algorithm says), hashed, and the dataset written once more with the
//! canonical labels. Anything else — two blank nodes with one first-degree
//! hash — returns `None` and takes the metered, step-for-step path in
//! [`super::budget`], which is also the reference of the differential tests
//! (`tests/suite/canonical_budget.rs`): both give the same lines on every
//! fixture, edited variants and generated datasets.

use std::borrow::Borrow;
use std::collections::HashMap;

use sha2::{Digest as _, Sha256};
use ssi_json_ld::rdf_types::{Id, Term};
use ssi_rdf::LexicalQuad;

use super::nquads;

/// The canonical N-Quads lines of `quads` and its number of blank nodes, when every blank
/// node has its own first-degree hash and there are at most `max_blank_nodes`
/// of them; `None` otherwise (the caller takes the general path, which also
/// reports a budget crossed).
pub(super) fn canonical_lines<Q: Borrow<LexicalQuad>>(
    quads: &[Q],
    max_blank_nodes: usize,
) -> Option<(Vec<String>, usize)> {
    let (written, blank_nodes) = canonical_written(quads, max_blank_nodes)?;
    Some((written.lines().map(str::to_owned).collect(), blank_nodes))
}

/// [`canonical_lines`] as one text, the lines in order (what is hashed and
/// signed): written into one buffer, so no line is allocated on its own
/// (issue #16: a verification canonicalises three datasets).
pub(super) fn canonical_text<Q: Borrow<LexicalQuad>>(quads: &[Q], max_blank_nodes: usize) -> Option<(String, usize)> {
    let (written, blank_nodes) = canonical_written(quads, max_blank_nodes)?;
    let mut text = String::with_capacity(written.buffer.len());
    for line in written.lines() {
        text.push_str(line);
    }
    Some((text, blank_nodes))
}

/// Canonical lines written into one buffer: `lines` are their ranges,
/// sorted and without duplicates.
struct Written {
    buffer: String,
    lines: Vec<std::ops::Range<usize>>,
}

impl Written {
    fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|range| self.buffer.get(range.clone()).unwrap_or_default())
    }
}

fn canonical_written<Q: Borrow<LexicalQuad>>(quads: &[Q], max_blank_nodes: usize) -> Option<(Written, usize)> {
    // Blank node → the quads naming it, once per occurrence (as `ssi` lists
    // them: a quad naming a node twice is hashed twice).
    let mut occurrences: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, quad) in quads.iter().enumerate() {
        for label in blank_labels(quad.borrow()) {
            occurrences.entry(label).or_default().push(index);
        }
    }
    if occurrences.len() > max_blank_nodes {
        return None;
    }
    let mut hashed: Vec<([u8; 32], &str)> = Vec::with_capacity(occurrences.len());
    // One buffer for every reference node's lines, and where each line is
    // (no allocation per line: they are only sorted and hashed).
    let mut buffer = String::new();
    let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
    for (&reference, indices) in &occurrences {
        buffer.clear();
        lines.clear();
        for quad in indices.iter().filter_map(|&i| quads.get(i)) {
            let start = buffer.len();
            nquads::write_line(&mut buffer, quad.borrow(), &|out: &mut String, label: &str| {
                out.push_str(if label == reference { "_:a" } else { "_:z" })
            });
            lines.push(start..buffer.len());
        }
        let line = |range: &std::ops::Range<usize>| buffer.get(range.clone()).unwrap_or_default();
        lines.sort_unstable_by(|a, b| line(a).cmp(line(b)));
        let mut hasher = Sha256::new();
        for range in &lines {
            hasher.update(line(range).as_bytes());
        }
        hashed.push((hasher.finalize().into(), reference));
    }
    // Lower-case hex strings compare as the bytes they encode.
    hashed.sort_unstable();
    if hashed.windows(2).any(|pair| matches!(pair, [a, b] if a.0 == b.0)) {
        return None;
    }
    let canonical: HashMap<&str, String> =
        hashed.iter().enumerate().map(|(n, (_, label))| (*label, format!("_:c14n{n}"))).collect();
    // Every line into one buffer (reused from the hashing), sorted by range.
    buffer.clear();
    buffer.reserve(quads.len() * 128);
    lines.clear();
    for quad in quads {
        let start = buffer.len();
        nquads::write_line(&mut buffer, quad.borrow(), &|out: &mut String, label: &str| {
            out.push_str(canonical.get(label).map_or(label, String::as_str))
        });
        lines.push(start..buffer.len());
    }
    let line = |range: &std::ops::Range<usize>| buffer.get(range.clone()).unwrap_or_default();
    lines.sort_unstable_by(|a, b| line(a).cmp(line(b)));
    lines.dedup_by(|a, b| line(a) == line(b));
    Some((Written { buffer, lines }, hashed.len()))
}

/// The blank node labels of `quad` in subject, object, graph order.
fn blank_labels(quad: &LexicalQuad) -> impl Iterator<Item = &str> {
    let subject = match &quad.0 {
        Id::Blank(b) => Some(b.as_str()),
        Id::Iri(_) => None,
    };
    let object = match &quad.2 {
        Term::Id(Id::Blank(b)) => Some(b.as_str()),
        _ => None,
    };
    let graph = match &quad.3 {
        Some(Id::Blank(b)) => Some(b.as_str()),
        _ => None,
    };
    subject.into_iter().chain(object).chain(graph)
}

#[cfg(test)]
mod tests {
    use ssi_json_ld::rdf_types::{BlankIdBuf, Literal, LiteralType, Quad};
    use ssi_json_ld::IriBuf;

    use super::*;

    /// The one-buffer text is the canonical lines in order, a duplicate
    /// quad's line once, each line ending in " .\n".
    #[test]
    fn the_text_is_the_canonical_lines_in_order() {
        let iri = |s: &str| IriBuf::new(s.to_owned()).unwrap();
        let blank = |s: &str| Id::Blank(BlankIdBuf::new(s.to_owned()).unwrap());
        let literal = |s: &str| {
            Term::Literal(Literal::new(s.to_owned(), LiteralType::Any(iri("http://www.w3.org/2001/XMLSchema#string"))))
        };
        let p = iri("https://example.org/p");
        let quads: Vec<LexicalQuad> = vec![
            Quad(blank("_:x"), p.clone(), literal("b"), None),
            Quad(Id::Iri(iri("urn:a")), p.clone(), Term::Id(blank("_:x")), None),
            Quad(blank("_:y"), p.clone(), literal("a"), Some(blank("_:g"))),
            Quad(blank("_:x"), p.clone(), literal("b"), None),
            Quad(Id::Iri(iri("urn:a")), p.clone(), literal("z"), None),
        ];
        let (lines, blank_nodes) = canonical_lines(&quads, 16).unwrap();
        let (text, counted) = canonical_text(&quads, 16).unwrap();
        assert_eq!((text, counted), (lines.concat(), blank_nodes));
        assert_eq!((lines.len(), blank_nodes), (4, 3), "the duplicate once: {lines:?}");
        assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "{lines:?}");
        assert!(lines.iter().all(|line| line.ends_with(" .\n") && line.contains("_:c14n") == line.contains("_:")));
    }
}
