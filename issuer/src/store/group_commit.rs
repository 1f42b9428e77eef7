//! Coalescing concurrent single issuances into shared commits.
//!
//! [`Store::save_issued_coalesced`] hands its credential to one committer task
//! per store (started on first use); the task takes every save waiting when
//! it is free (at most [`MAX_GROUP`]) and stores them with
//! [`Store::save_issued_group`]: one transaction, one fsync, one turn of the
//! log lock for all of them. A lone request is committed at once (no timer, no
//! added latency); under load, the requests that arrive while a commit is in
//! progress share the next one. When a group cannot be committed whole, each
//! of its saves is retried on its own, so every caller gets its own answer.

use tokio::sync::{mpsc, oneshot};

use super::commit_queue::Pending;
use super::{IssuedToSave, LogAppended, SaveOutcome, Store, StoreError};

/// Most saves in one shared commit.
pub const MAX_GROUP: usize = 256;

type Answer = Result<(SaveOutcome, Option<LogAppended>), StoreError>;

impl Store {
    /// As [`Store::save_issued_logged`] (with the idempotency record and log
    /// entry of `item`), sharing a commit with the other saves waiting at the
    /// same time.
    ///
    /// # Errors
    /// As [`Store::save_issued_logged`].
    pub async fn save_issued_coalesced(&self, item: IssuedToSave) -> Answer {
        let sender = self.committer.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(MAX_GROUP);
            tokio::spawn(commit_groups(self.without_committer(), receiver));
            sender
        });
        let (reply, answer) = oneshot::channel();
        if let Err(refused) = sender.send((item, reply)).await {
            // The committer is gone (its runtime ended): save on our own.
            let (item, _) = refused.0;
            return self.save_issued_logged(&item.credential, item.idempotency.as_ref(), Some(&item.log_entry)).await;
        }
        answer.await.map_err(|_| StoreError::Corrupt("the group committer stopped before answering".into()))?
    }
}

/// The committer task: a group per turn, until every store handle is dropped.
async fn commit_groups(store: Store, mut receiver: mpsc::Receiver<Pending<IssuedToSave, Answer>>) {
    let mut waiting = Vec::with_capacity(MAX_GROUP);
    while receiver.recv_many(&mut waiting, MAX_GROUP).await > 0 {
        let group: Vec<Pending<IssuedToSave, Answer>> = std::mem::take(&mut waiting);
        let (items, replies): (Vec<IssuedToSave>, Vec<_>) = group.into_iter().unzip();
        match store.save_issued_group(&items).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, saves = items.len(), "shared commit failed; saving one by one");
                for (item, reply) in items.into_iter().zip(replies) {
                    let answer = store
                        .save_issued_logged(&item.credential, item.idempotency.as_ref(), Some(&item.log_entry))
                        .await;
                    let _ = reply.send(answer);
                }
            }
        }
    }
}
