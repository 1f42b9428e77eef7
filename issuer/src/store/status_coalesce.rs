//! Coalescing the status allocations of concurrent single issuances.
//!
//! Every single issuance allocates its status entries before it signs (the
//! indexes are part of what is signed). Alone, each allocation is a
//! transaction of its own with its own commit (an fsync) and its own turn of
//! the allocation lock. [`Store::allocate_status_coalesced`] hands the request
//! to one allocator task per store (started on first use), which takes every
//! allocation waiting when it is free (at most [`MAX_ALLOCATIONS`]) and makes
//! them with [`Store::allocate_status_many`]: one transaction, one commit, one
//! turn of the lock, as a batch does. A lone request is allocated at once (no
//! timer); under load the requests that arrive during an allocation share the
//! next. When a shared allocation fails, each of its requests is retried on its
//! own, so every caller gets its own answer.

use tokio::sync::{mpsc, oneshot};
use wallet_core::status::StatusPurpose;

use super::commit_queue::Pending;
use super::status_allocation::{AllocationAnswer, AllocationRequest, StatusListConfig};
use super::{Store, StoreError};

/// Most allocations made in one shared transaction.
pub const MAX_ALLOCATIONS: usize = 256;

impl Store {
    /// As [`Store::allocate_status`], sharing a transaction with the other
    /// allocations waiting at the same time.
    ///
    /// # Errors
    /// As [`Store::allocate_status`].
    pub async fn allocate_status_coalesced(
        &self,
        credential_id: &str,
        purposes: &[StatusPurpose],
        config: &StatusListConfig,
    ) -> AllocationAnswer {
        let sender = self.allocator.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(MAX_ALLOCATIONS);
            tokio::spawn(allocate_groups(self.without_committer(), receiver));
            sender
        });
        let request =
            AllocationRequest { credential_id: credential_id.to_owned(), purposes: purposes.to_vec(), config: *config };
        let (reply, answer) = oneshot::channel();
        if sender.send((request, reply)).await.is_err() {
            // The allocator is gone (its runtime ended): allocate on our own.
            return self.allocate_status(credential_id, purposes, config).await;
        }
        answer.await.map_err(|_| StoreError::Corrupt("the status allocator stopped before answering".into()))?
    }
}

/// The allocator task: a group per turn, until every store handle is dropped.
async fn allocate_groups(store: Store, mut receiver: mpsc::Receiver<Pending<AllocationRequest, AllocationAnswer>>) {
    let mut waiting = Vec::with_capacity(MAX_ALLOCATIONS);
    while receiver.recv_many(&mut waiting, MAX_ALLOCATIONS).await > 0 {
        let mut group: Vec<Pending<AllocationRequest, AllocationAnswer>> = std::mem::take(&mut waiting);
        // Requests with other purposes (single-use types) or list sizes go in a transaction of their own.
        while !group.is_empty() {
            let (purposes, config) = match group.first() {
                Some((first, _)) => (first.purposes.clone(), first.config),
                None => break,
            };
            let (same, rest): (Vec<_>, Vec<_>) =
                group.into_iter().partition(|(r, _)| r.purposes == purposes && r.config == config);
            group = rest;
            allocate_one_group(&store, &purposes, &config, same).await;
        }
    }
}

async fn allocate_one_group(
    store: &Store,
    purposes: &[StatusPurpose],
    config: &StatusListConfig,
    group: Vec<Pending<AllocationRequest, AllocationAnswer>>,
) {
    let ids: Vec<&str> = group.iter().map(|(r, _)| r.credential_id.as_str()).collect();
    match store.allocate_status_many(&ids, purposes, config).await {
        Ok(allocations) if allocations.len() == group.len() => {
            for ((_, reply), allocation) in group.into_iter().zip(allocations) {
                let _ = reply.send(Ok(allocation));
            }
        }
        shared => {
            if let Err(e) = shared {
                tracing::warn!(error = %e, allocations = group.len(), "shared status allocation failed; one by one");
            }
            for (request, reply) in group {
                let _ = reply.send(store.allocate_status(&request.credential_id, purposes, config).await);
            }
        }
    }
}
