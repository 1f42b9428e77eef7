//! Verification of Merkle inclusion proofs (RFC 9162 §2.1.3.2) and
//! consistency proofs (RFC 9162 §2.1.4.2).
//!
//! Both verifiers first check the proof has exactly the length the RFC's
//! generation algorithm produces for the given sizes (so truncated, padded or
//! re-ordered proofs are refused with [`ProofError::WrongProofSize`] before any
//! hashing), then run the RFC's verification algorithm and compare the
//! resulting root(s) in constant time.

use super::hash::{empty_root, hashes_equal, node_hash, split_point, Hash};

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The size of the tree it was asked in.
        tree_size: u64,
    },
    /// A proof or root was asked for a tree size larger than the tree.
    #[error("tree size {size} is larger than the tree ({tree_size} leaves)")]
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The number of leaves in the tree.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger to a smaller tree.
    #[error("new tree size {new_size} is smaller than the old tree size {old_size}")]
    NewTreeSmaller {
        /// The older (claimed smaller) size.
        old_size: u64,
        /// The newer (claimed larger) size.
        new_size: u64,
    },
    /// The proof does not have the number of hashes the sizes require.
    #[error("the proof has {got} hashes, {want} expected")]
    WrongProofSize {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes require.
        want: usize,
    },
    /// A consistency proof between two different non-empty sizes was empty.
    #[error("the consistency proof is empty but the tree sizes differ")]
    UnexpectedEmptyProof,
    /// The root computed from the proof is not the expected (new) root.
    #[error("the root computed from the proof does not match the expected root")]
    MismatchedRoot,
    /// The old root computed from a consistency proof is not the expected old root.
    #[error("the old root computed from the consistency proof does not match the expected old root")]
    MismatchedOldRoot,
}

/// Number of hashes in the inclusion proof of leaf `index` in a tree of
/// `tree_size` leaves: the length of RFC 9162 §2.1.3.1's `PATH(m, D[n])`.
/// Caller guarantees `index < tree_size`.
pub(crate) fn inclusion_proof_len(index: u64, tree_size: u64) -> usize {
    let (mut m, mut n) = (index, tree_size);
    let mut len = 0;
    while n > 1 {
        let k = split_point(n);
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    len
}

/// Number of hashes in the consistency proof between `old_size` and
/// `new_size`: the length of RFC 9162 §2.1.4.1's `PROOF(m, D[n])`.
/// Caller guarantees `0 < old_size < new_size`.
pub(crate) fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let (mut m, mut n) = (old_size, new_size);
    let mut started_as_complete = true; // the `b` flag of SUBPROOF
    let mut len = 0;
    while m != n {
        let k = split_point(n);
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            started_as_complete = false;
        }
        len += 1;
    }
    if !started_as_complete {
        len += 1;
    }
    len
}

/// The root implied by an inclusion proof (RFC 9162 §2.1.3.2, steps 1–4).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] when `index >= tree_size`,
/// [`ProofError::WrongProofSize`] when the proof is not exactly as long as
/// the sizes require.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let want = inclusion_proof_len(index, tree_size);
    if proof.len() != want {
        return Err(ProofError::WrongProofSize { got: proof.len(), want });
    }
    let mut f_n = index;
    let mut s_n = tree_size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongProofSize { got: proof.len(), want });
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongProofSize { got: proof.len(), want });
    }
    Ok(r)
}

/// Verify that `leaf_hash` is the leaf at `index` of the tree of `tree_size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongProofSize`] or
/// [`ProofError::MismatchedRoot`].
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)?;
    if hashes_equal(&computed, root) {
        Ok(())
    } else {
        Err(ProofError::MismatchedRoot)
    }
}

/// Verify that the tree of `new_size` leaves with root `new_root` extends the
/// tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. An old size of 0 needs an
/// empty proof and `old_root` equal to [`empty_root`] (stricter than some
/// implementations, which ignore the old root then).
///
/// # Errors
/// [`ProofError::NewTreeSmaller`], [`ProofError::UnexpectedEmptyProof`],
/// [`ProofError::WrongProofSize`], [`ProofError::MismatchedOldRoot`] or
/// [`ProofError::MismatchedRoot`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    if new_size < old_size {
        return Err(ProofError::NewTreeSmaller { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofSize { got: proof.len(), want: 0 });
        }
        return if hashes_equal(old_root, new_root) { Ok(()) } else { Err(ProofError::MismatchedRoot) };
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofSize { got: proof.len(), want: 0 });
        }
        return if hashes_equal(old_root, &empty_root()) { Ok(()) } else { Err(ProofError::MismatchedOldRoot) };
    }
    if proof.is_empty() {
        return Err(ProofError::UnexpectedEmptyProof);
    }
    let want = consistency_proof_len(old_size, new_size);
    if proof.len() != want {
        return Err(ProofError::WrongProofSize { got: proof.len(), want });
    }

    // Step 2: when the old tree is a complete subtree, its root is the first
    // node of the path (the generator leaves it out).
    let (first, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        let (first, rest) = proof.split_first().ok_or(ProofError::UnexpectedEmptyProof)?;
        (*first, rest)
    };
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = first;
    let mut s_r = first;
    for c in rest {
        if s_n == 0 {
            return Err(ProofError::WrongProofSize { got: proof.len(), want });
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongProofSize { got: proof.len(), want });
    }
    // Evaluate both comparisons before branching (constant time in which one failed).
    let old_ok = hashes_equal(&f_r, old_root);
    let new_ok = hashes_equal(&s_r, new_root);
    match (old_ok, new_ok) {
        (true, true) => Ok(()),
        (false, _) => Err(ProofError::MismatchedOldRoot),
        (true, false) => Err(ProofError::MismatchedRoot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_match_the_reference_tree() {
        // RFC 9162 §2.1.5's 7-leaf example: PATH(0, D[7]) = [b, h, l] and
        // PROOF(3, D[7]) = [c, d, g, l], PROOF(4, D[7]) = [l], PROOF(6, D[7]) = [i, j, k].
        assert_eq!(inclusion_proof_len(0, 7), 3);
        assert_eq!(inclusion_proof_len(3, 7), 3);
        assert_eq!(inclusion_proof_len(4, 7), 3);
        assert_eq!(inclusion_proof_len(6, 7), 2);
        assert_eq!(consistency_proof_len(3, 7), 4);
        assert_eq!(consistency_proof_len(4, 7), 1);
        assert_eq!(consistency_proof_len(6, 7), 3);
        assert_eq!(inclusion_proof_len(0, 1), 0);
        // 10M leaves: 24 hashes for most leaves.
        assert_eq!(inclusion_proof_len(0, 10_000_000), 24);
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let h = [0u8; 32];
        assert!(verify_inclusion(&h, u64::MAX - 1, u64::MAX, &[], &h).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &[h], &h, &h).is_err());
        assert!(verify_consistency(1, u64::MAX, &[h; 64], &h, &h).is_err());
    }
}
