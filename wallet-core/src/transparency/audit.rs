//! Replaying an issuer's log against the chain's anchors: an auditor's check
//! that the issuer's database was not rewritten after the fact.
//!
//! The auditor rebuilds the tree from the entries the issuer serves now and
//! compares its root, at every anchored size, with the root the chain
//! recorded at the time. The first anchor that disagrees bounds the rewrite:
//! some entry in `[last agreeing size, that size)` changed (or entries were
//! removed, when the log is now shorter than an anchored size). With the
//! leaf hashes of an earlier audit that passed, the auditor names the exact
//! first changed entry.

use serde::Serialize;

use super::anchor::ChainAnchor;
use super::hash::{hashes_equal, Hash};
use super::tree::MerkleTree;

/// The first disagreement between the log and the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditMismatch {
    /// The anchor whose root the log no longer has.
    pub anchor: ChainAnchor,
    /// The largest anchored size the log still agrees with (0 if none).
    pub last_good_size: u64,
    /// The first entry that differs: exact when `exact`, else the first
    /// index of the range `[first_bad_entry, anchor size)` that holds it.
    pub first_bad_entry: u64,
    /// Whether `first_bad_entry` is the exact entry.
    pub exact: bool,
    /// In words.
    pub reason: String,
}

/// An audit's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    /// Entries the issuer serves now.
    pub log_size: u64,
    /// Distinct anchored sizes compared.
    pub anchors_checked: usize,
    /// The largest anchored size (0 if none).
    pub anchored_size: u64,
    /// The first disagreement, if any.
    pub mismatch: Option<AuditMismatch>,
}

impl AuditReport {
    /// Whether the log agrees with every anchor.
    pub fn is_consistent(&self) -> bool {
        self.mismatch.is_none()
    }
}

/// Compare `tree` (rebuilt from the issuer's entries) with `anchors` (read from
/// the chain, any order). `previous_leaves`: the leaf hashes of an earlier
/// audit that passed, to name the exact first changed entry.
pub fn audit_log(tree: &MerkleTree, anchors: &[ChainAnchor], previous_leaves: Option<&[Hash]>) -> AuditReport {
    let mut sorted: Vec<&ChainAnchor> = anchors.iter().collect();
    sorted.sort_by_key(|a| (a.calldata.tree_size, a.block_number));
    sorted.dedup_by_key(|a| a.calldata.tree_size);
    let mut last_good = 0;
    let mut checked = 0;
    let anchored_size = sorted.last().map_or(0, |a| a.calldata.tree_size);
    for anchor in &sorted {
        checked += 1;
        let size = anchor.calldata.tree_size;
        let agrees = tree.root_at(size).is_ok_and(|root| hashes_equal(&root, &anchor.calldata.root));
        if agrees {
            last_good = size;
            continue;
        }
        let shorter = size > tree.size();
        let changed_from_previous = previous_leaves.and_then(|previous| {
            previous
                .iter()
                .zip(tree.leaf_hashes())
                .position(|(old, new)| !hashes_equal(old, new))
                .map(|i| i as u64)
                .filter(|i| *i >= last_good && *i < size)
        });
        let (first_bad_entry, exact) = match changed_from_previous {
            Some(index) => (index, true),
            None if shorter && tree.size() >= last_good => (tree.size(), false),
            None => (last_good, size - last_good == 1),
        };
        let reason = if shorter {
            format!(
                "the chain anchored {size} entries at block {} but the log now has {}: entries were removed",
                anchor.block_number,
                tree.size()
            )
        } else if exact {
            format!(
                "the log's root at size {size} differs from the one anchored at block {}: entry {first_bad_entry} \
                 was rewritten",
                anchor.block_number
            )
        } else {
            format!(
                "the log's root at size {size} differs from the one anchored at block {}: an entry in \
                 {last_good}..{size} was rewritten",
                anchor.block_number
            )
        };
        return AuditReport {
            log_size: tree.size(),
            anchors_checked: checked,
            anchored_size,
            mismatch: Some(AuditMismatch {
                anchor: (*anchor).clone(),
                last_good_size: last_good,
                first_bad_entry,
                exact,
                reason,
            }),
        };
    }
    AuditReport { log_size: tree.size(), anchors_checked: checked, anchored_size, mismatch: None }
}

#[cfg(test)]
mod tests {
    use super::super::anchor::AnchorCalldata;
    use super::super::hash::leaf_hash;
    use super::*;

    fn tree(n: u64, tamper: Option<u64>) -> MerkleTree {
        MerkleTree::from_leaf_hashes(
            (0..n).map(|i| leaf_hash(&(if Some(i) == tamper { 999 } else { i }).to_be_bytes())).collect(),
        )
    }

    fn anchor(tree: &MerkleTree, size: u64, block: u64) -> ChainAnchor {
        ChainAnchor {
            chain_id: 1,
            tx_hash: format!("0x{block:x}"),
            from: "0x1".into(),
            block_number: block,
            block_hash: "0x2".into(),
            block_time: 1000 + block,
            calldata: AnchorCalldata { tree_size: size, root: tree.root_at(size).unwrap(), note_digest: [0; 32] },
        }
    }

    #[test]
    fn an_untouched_log_agrees_with_every_anchor() {
        let honest = tree(10, None);
        let anchors = [anchor(&honest, 3, 1), anchor(&honest, 7, 2), anchor(&honest, 10, 3)];
        let report = audit_log(&honest, &anchors, None);
        assert!(report.is_consistent());
        assert_eq!(report.anchors_checked, 3);
        assert_eq!(report.anchored_size, 10);
    }

    #[test]
    fn a_rewritten_entry_is_bounded_by_anchors_and_named_with_a_previous_audit() {
        let honest = tree(10, None);
        let anchors = [anchor(&honest, 3, 1), anchor(&honest, 7, 2), anchor(&honest, 10, 3)];
        let rewritten = tree(10, Some(5));
        let report = audit_log(&rewritten, &anchors, None);
        let mismatch = report.mismatch.unwrap();
        assert_eq!((mismatch.last_good_size, mismatch.first_bad_entry, mismatch.exact), (3, 3, false));
        assert_eq!(mismatch.anchor.calldata.tree_size, 7);
        let report = audit_log(&rewritten, &anchors, Some(honest.leaf_hashes()));
        let mismatch = report.mismatch.unwrap();
        assert_eq!((mismatch.first_bad_entry, mismatch.exact), (5, true));
    }

    #[test]
    fn one_entry_per_anchor_names_the_entry_and_removal_is_detected() {
        let honest = tree(4, None);
        let anchors: Vec<_> = (1..=4).map(|s| anchor(&honest, s, s)).collect();
        let mismatch = audit_log(&tree(4, Some(2)), &anchors, None).mismatch.unwrap();
        assert_eq!((mismatch.first_bad_entry, mismatch.exact), (2, true));
        let mismatch = audit_log(&tree(3, None), &anchors, None).mismatch.unwrap();
        assert_eq!(mismatch.anchor.calldata.tree_size, 4);
        assert!(mismatch.reason.contains("removed"), "{}", mismatch.reason);
    }
}
