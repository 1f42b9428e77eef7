//! Revocation and suspension: W3C Bitstring Status List v1.0.
//!
//! A credential names, in `credentialStatus`, one bit of a published list
//! (`BitstringStatusListEntry`: `statusPurpose`, `statusListIndex` as a base-10
//! string, `statusListCredential` URL). The list is itself a credential
//! (`BitstringStatusListCredential`) signed by the issuer, whose
//! `credentialSubject.encodedList` is `u` + base64url(GZIP(bitstring)), at
//! least [`MIN_STATUS_LIST_BITS`] long so that fetching it does not tell the
//! issuer whose credential is being checked (herd privacy). Bit 0 is the most
//! significant bit of the first byte.
//!
//! - **Issuer side**: [`Bitstring`] (`new`, `set`, `encode`), [`StatusEntry::to_json`]
//!   for the credential, [`status_list_credential`] for the unsigned list,
//!   then [`sign_credential`](crate::issuance::sign_credential).
//! - **Verifier side**: fetch whole lists (never per credential), hand them to
//!   [`StatusListCache::offer`] (which verifies and decodes once), record
//!   fetch failures with [`StatusListCache::record_failure`], and check each
//!   credential with [`check_status`], which fails closed.
//!
//! # Design choices (each from a peer system's revocation bug)
//! - A list that cannot be fetched, does not verify, cannot be decoded or is
//!   too short never yields `Valid`: no list, no verdict (`status_list_*`).
//! - The list must be signed by the credential's key: the key whose trust was
//!   assessed (or a key the trust list certifies for the same organisation,
//!   after a rotation). Neither the list's nor the credential's `issuer`
//!   string counts, nor the key of another proof appended to the credential:
//!   anyone can write those (`status_list_wrong_issuer`).
//! - The list's `id` must be the URL it was fetched from: otherwise one of the
//!   issuer's lists could be served in place of another (`status_list_url_mismatch`).
//! - Rollback: per URL and signer the newest list by `validFrom` is kept; an
//!   older one from that signer is refused (`status_list_rollback`). Issuers
//!   must therefore give every publication a later `validFrom`. A list by
//!   another signer served at the same URL neither replaces nor blocks the
//!   issuer's. The floors can be persisted across restarts.
//! - Freshness: past the list's `validUntil` the check fails
//!   (`status_list_expired`); a list fetched more than [`StatusPolicy::max_age`]
//!   ago fails (`status_data_stale`), beyond [`StatusPolicy::warn_after`] it
//!   warns (`status_data_aging`). A set revocation bit is believed even from
//!   an old list (revocation is final).
//! - Strict parsing: legacy `StatusList2021` entries, unprefixed (`H4sI…`)
//!   or `z…` encoded lists, `statusSize` > 1, numeric indexes, purposes other
//!   than revocation / suspension are errors, not silently skipped.
//! - Finality of revocation is the issuer's to enforce: the library reports
//!   what the newest verified list says.

mod bitstring;
mod cache;
mod entry;
mod error;
mod lazy;
mod list;
mod verify;

pub use bitstring::{Bitstring, MAX_DECODED_BYTES};
pub use cache::{
    check_required_entries, check_status, check_status_with, RecordedFailure, StatusListCache, StatusPolicy,
    MAX_SIGNERS_PER_URL,
};
pub use entry::{status_entries, StatusEntry, MAX_STATUS_ENTRIES, STATUS_ENTRY_TYPE};
pub use error::StatusError;
pub use lazy::LazyStatusLists;
pub use list::{status_list_credential, VerifiedStatusList, STATUS_LIST_CREDENTIAL_TYPE, STATUS_LIST_TYPE};
pub use verify::verify_status_list;

use serde::{Deserialize, Serialize};

/// The minimum list length, in entries (bits): 131,072 = 16 KiB, the spec's
/// herd-privacy minimum. Shorter lists are refused.
pub const MIN_STATUS_LIST_BITS: usize = 131_072;

/// What a set bit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusPurpose {
    /// Cancelled for good (the spec: not reversible).
    Revocation,
    /// Temporarily not to be accepted (reversible).
    Suspension,
    /// A single-use credential (e-invoice, medical bill) has been used, e.g.
    /// reimbursed: not to be accepted again. Set once, never cleared. Not one of
    /// the spec's purposes; the spec leaves the set open.
    Used,
}

impl StatusPurpose {
    /// `"revocation"` / `"suspension"` / `"used"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
            Self::Used => "used",
        }
    }

    /// Parse `"revocation"` / `"suspension"` / `"used"` (exactly; other spec
    /// purposes such as `message` and `refresh` are not supported).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "revocation" => Some(Self::Revocation),
            "suspension" => Some(Self::Suspension),
            "used" => Some(Self::Used),
            _ => None,
        }
    }
}

impl std::fmt::Display for StatusPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StatusPurpose {
    type Err = StatusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| StatusError::EntryUnsupported(format!("statusPurpose {s:?} is not supported")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_zero_is_the_most_significant_bit_of_the_first_byte() {
        let mut b = Bitstring::new(16);
        b.set(0, true).unwrap();
        b.set(15, true).unwrap();
        assert_eq!(b.as_bytes(), &[0x80, 0x01]);
        assert_eq!(b.get(0), Some(true));
        assert_eq!(b.get(1), Some(false));
        assert_eq!(b.get(16), None);
        assert!(b.set(16, true).is_err());
        assert_eq!(b.iter_set().collect::<Vec<_>>(), vec![0, 15]);
    }

    #[test]
    fn gzip_trailing_bytes_are_refused() {
        let enc = Bitstring::new(64).encode();
        use base64::Engine as _;
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&enc[1..]).unwrap();
        raw.push(0);
        let bad = format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw));
        assert!(matches!(Bitstring::decode(&bad), Err(StatusError::InvalidGzip(_))), "{:?}", Bitstring::decode(&bad));
    }

    #[test]
    fn purpose_round_trips() {
        for p in [StatusPurpose::Revocation, StatusPurpose::Suspension, StatusPurpose::Used] {
            assert_eq!(StatusPurpose::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::Value::String(p.as_str().into()));
        }
        assert!("message".parse::<StatusPurpose>().is_err());
    }
}
