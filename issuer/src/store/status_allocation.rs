//! What a status allocation is asked for and gives: the list sizing, one
//! allocated index, and the request the coalescing allocator queues
//! ([`super::Store::allocate_status_coalesced`]). Kept apart from
//! `status.rs` so the store handle can name the allocator's queue.

use wallet_core::status::{StatusPurpose, MIN_STATUS_LIST_BITS};

use super::StoreError;

/// How new status lists are sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusListConfig {
    size_bits: u64,
    max_allocations: u64,
}

impl StatusListConfig {
    /// `size_bits` long lists (at least [`MIN_STATUS_LIST_BITS`]) of which at most
    /// `max_allocations` (1 ..= `size_bits`) indexes are handed out before a new list
    /// is started.
    ///
    /// # Errors
    /// [`StoreError::InvalidStatusConfig`] when a bound is broken.
    pub fn new(size_bits: u64, max_allocations: u64) -> Result<Self, StoreError> {
        let min = MIN_STATUS_LIST_BITS as u64;
        if size_bits < min {
            return Err(StoreError::InvalidStatusConfig(format!(
                "a status list must have at least {min} entries (herd privacy), not {size_bits}"
            )));
        }
        if size_bits > i64::MAX as u64 / 2 {
            return Err(StoreError::InvalidStatusConfig(format!("status list size {size_bits} is too large")));
        }
        if max_allocations == 0 || max_allocations > size_bits {
            return Err(StoreError::InvalidStatusConfig(format!(
                "the allocations per status list must be between 1 and the list size {size_bits}, \
                 not {max_allocations}"
            )));
        }
        Ok(Self { size_bits, max_allocations })
    }

    /// Lists of `max(MIN_STATUS_LIST_BITS, max_allocations)` bits, each handing out
    /// `max_allocations` indexes.
    ///
    /// # Errors
    /// As [`StatusListConfig::new`] (`max_allocations` is 0 or absurdly large).
    pub fn with_max_allocations(max_allocations: u64) -> Result<Self, StoreError> {
        Self::new(max_allocations.max(MIN_STATUS_LIST_BITS as u64), max_allocations)
    }

    /// Bits per list.
    pub fn size_bits(&self) -> u64 {
        self.size_bits
    }

    /// Indexes handed out per list before rolling over to a new one.
    pub fn max_allocations(&self) -> u64 {
        self.max_allocations
    }
}

impl Default for StatusListConfig {
    /// 131,072-bit lists, all of whose indexes are used.
    fn default() -> Self {
        Self { size_bits: MIN_STATUS_LIST_BITS as u64, max_allocations: MIN_STATUS_LIST_BITS as u64 }
    }
}

/// One index handed out to a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusAllocation {
    /// Revocation or suspension.
    pub purpose: StatusPurpose,
    /// The list (`/status/{list_id}`).
    pub list_id: i64,
    /// The bit's position in the list.
    pub index: u64,
}

/// One credential's allocation request, as queued for the allocator.
#[derive(Debug, Clone)]
pub(super) struct AllocationRequest {
    /// The credential.
    pub(super) credential_id: String,
    /// Its purposes, in order.
    pub(super) purposes: Vec<StatusPurpose>,
    /// How new lists are sized.
    pub(super) config: StatusListConfig,
}

/// The allocator's answer to one request.
pub(super) type AllocationAnswer = Result<Vec<StatusAllocation>, StoreError>;
