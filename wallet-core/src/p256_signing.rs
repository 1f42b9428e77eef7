//! ECDSA P-256 signing (ES256, RFC 6979 nonces) with a precomputed table of
//! multiples of the generator (issue #16).
//!
//! A signature's cost is one scalar multiplication `k·G`. The `p256` crate
//! computes it as for any point: 256 doublings and 64 additions. The
//! generator never changes, so its multiples can be computed once per process:
//! `j·16^i·G` for every 4-bit window `i` (64) and digit `j` (16), 1,024 affine
//! points (~72 KiB). Then `k·G` is 64 mixed additions and no doubling. Each
//! window's point is chosen by a scan of all 16 entries with constant-time
//! selection, so neither the memory access pattern nor a branch depends on the
//! secret nonce; `add_mixed` (complete formulas) handles the identity without
//! a branch too.
//!
//! Everything else is the `ecdsa` crate's `sign_prehashed` step for step:
//! the nonce from `rfc6979::generate_k` with SHA-256 and no extra data, `r`
//! the x-coordinate of `k·G` reduced mod n, `s = k⁻¹(z + r·d)`, no low-s
//! normalisation. Signatures are byte-identical to
//! `p256::ecdsa::SigningKey::sign`, which the tests below hold them to (random
//! keys and messages, and RFC 6979 A.2.5).

use std::sync::LazyLock;

use p256::ecdsa::Signature;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::AffineCoordinates as _;
use p256::elliptic_curve::subtle::{ConditionallySelectable as _, ConstantTimeEq as _};
use p256::elliptic_curve::{Curve as _, Field as _, FieldBytesEncoding, Group as _, PrimeField as _};
use p256::{AffinePoint, FieldBytes, NistP256, NonZeroScalar, ProjectivePoint, Scalar};
use sha2::{Digest as _, Sha256};

/// Windows of 4 bits in a 256-bit scalar.
const WINDOWS: usize = 64;

/// `TABLE[i][j] = j · 16^i · G`.
static GENERATOR_TABLE: LazyLock<Box<[[AffinePoint; 16]; WINDOWS]>> = LazyLock::new(|| {
    let mut table = Box::new([[AffinePoint::IDENTITY; 16]; WINDOWS]);
    let mut base = ProjectivePoint::GENERATOR;
    for row in table.iter_mut() {
        let mut multiple = ProjectivePoint::IDENTITY;
        for entry in row.iter_mut() {
            *entry = multiple.to_affine();
            multiple += base;
        }
        // 16 · base: the next window's unit.
        base = base.double().double().double().double();
    }
    table
});

/// `k·G` from the table: one constant-time lookup and one mixed addition per
/// 4-bit window of `k`.
fn mul_generator(k: &Scalar) -> ProjectivePoint {
    let repr = k.to_repr(); // big-endian
                            // Least significant window first: the low nibble, then the high one, of
                            // each byte from the last.
    let digits = repr.iter().rev().flat_map(|byte| [byte & 0x0f, byte >> 4]);
    let mut sum = ProjectivePoint::IDENTITY;
    for (row, digit) in GENERATOR_TABLE.iter().zip(digits) {
        let mut chosen = AffinePoint::IDENTITY;
        for (j, entry) in (0_u8..).zip(row.iter()) {
            chosen.conditional_assign(entry, j.ct_eq(&digit));
        }
        sum += chosen;
    }
    sum
}

/// ES256: the ECDSA P-256 signature of SHA-256(`message`) with the RFC 6979
/// nonce, as `p256::ecdsa::SigningKey::sign` makes it. `None` only where that
/// signer fails too (`r` or `s` zero, probability ~2⁻²⁵⁶).
pub(crate) fn sign(secret: &NonZeroScalar, message: &[u8]) -> Option<Signature> {
    // bits2field of a 32-byte digest for a 32-byte field is the digest itself.
    let z_bytes: FieldBytes = Sha256::digest(message);
    let d: &Scalar = secret.as_ref();
    let k_bytes = rfc6979::generate_k::<Sha256, _>(
        &d.to_repr(),
        &<p256::U256 as FieldBytesEncoding<NistP256>>::encode_field_bytes(&NistP256::ORDER),
        &z_bytes,
        &[],
    );
    let k = Option::<Scalar>::from(Scalar::from_repr(k_bytes))?;
    if bool::from(k.is_zero()) {
        return None;
    }
    let k_inv = Option::<Scalar>::from(k.invert())?;
    let z = <Scalar as Reduce<p256::U256>>::reduce_bytes(&z_bytes);
    let big_r = mul_generator(&k).to_affine();
    let r = <Scalar as Reduce<p256::U256>>::reduce_bytes(&big_r.x());
    let s = k_inv * (z + r * d);
    Signature::from_scalars(r, s).ok()
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Signer as _;
    use rand::{Rng as _, RngCore as _};

    use super::*;

    #[test]
    fn the_table_gives_the_multiples_of_the_generator() {
        let mut rng = rand::thread_rng();
        let mut scalars = vec![Scalar::ZERO, Scalar::ONE, -Scalar::ONE, Scalar::from(15_u64), Scalar::from(16_u64)];
        scalars.extend((0..200).map(|_| Scalar::random(&mut rng)));
        for k in scalars {
            assert_eq!(mul_generator(&k).to_affine(), (ProjectivePoint::GENERATOR * k).to_affine(), "k = {k:?}");
        }
    }

    #[test]
    fn signatures_are_those_of_the_p256_crate() {
        let mut rng = rand::thread_rng();
        for round in 0..300 {
            let secret = NonZeroScalar::random(&mut rng);
            let reference = p256::ecdsa::SigningKey::from(secret);
            let mut message = vec![0_u8; rng.gen_range(0..300)];
            rng.fill_bytes(&mut message);
            let expected: Signature = reference.sign(&message);
            assert_eq!(sign(&secret, &message), Some(expected), "round {round}");
        }
    }

    /// RFC 6979 A.2.5, P-256 with SHA-256, messages "sample" and "test".
    #[test]
    fn rfc6979_vectors() {
        let x = hex::decode("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721").unwrap();
        let secret = NonZeroScalar::try_from(x.as_slice()).unwrap();
        for (message, r, s) in [
            (
                "sample",
                "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
                "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
            ),
            (
                "test",
                "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
                "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
            ),
        ] {
            let signature = sign(&secret, message.as_bytes()).unwrap();
            assert_eq!(hex::encode_upper(signature.r().to_bytes()), r, "{message}");
            assert_eq!(hex::encode_upper(signature.s().to_bytes()), s, "{message}");
        }
    }
}
