//! Merkle tree hashing of RFC 6962 §2.1, restated in RFC 9162 §2.1.1.
//!
//! Leaves and interior nodes are hashed with distinct one-byte prefixes
//! (`0x00` and `0x01`), so a leaf can never be passed off as an interior node
//! (second-preimage resistance of the tree).

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Size in bytes of a [`Hash`](type@Hash).
pub const HASH_SIZE: usize = 32;

/// The root of the empty tree: `MTH({}) = SHA-256()` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of a leaf: `SHA-256(0x00 ‖ data)` (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The Merkle Tree Hash (`MTH`, RFC 9162 §2.1.1) of a list of *leaf hashes*.
///
/// This is the direct recursive definition: the list of `n > 1` leaves is
/// split at `k`, the largest power of two smaller than `n`, and the root is
/// `node_hash(MTH(D[0:k]), MTH(D[k:n]))`. It costs `n - 1` node hashes and is
/// meant as the reference against which [`MerkleTree`](super::MerkleTree) is
/// tested, and for small one-off trees.
#[allow(clippy::indexing_slicing)] // 0 < k = split_point(n) < n
pub fn root_from_leaves(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => empty_root(),
        [single] => *single,
        _ => {
            let k = split_point(leaf_hashes.len() as u64) as usize;
            node_hash(&root_from_leaves(&leaf_hashes[..k]), &root_from_leaves(&leaf_hashes[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n`, for `n >= 2`
/// (RFC 9162 §2.1.1's `k`). Returns 0 for `n < 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Compare two hashes in constant time (no early exit on the first
/// differing byte), so timing does not reveal how much of a forged root
/// matched.
pub fn hashes_equal(a: &Hash, b: &Hash) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_the_largest_power_of_two_below_n() {
        let cases = [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1 << 40, 1 << 39)];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn constant_time_equality() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(hashes_equal(&a, &b));
        b[31] ^= 1;
        assert!(!hashes_equal(&a, &b));
    }
}
