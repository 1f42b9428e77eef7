//! The queue between callers and a store's committer task
//! ([`super::Store::save_issued_coalesced`]): what is waiting to be committed,
//! each with the channel its answer goes back on. Generic, so that the store
//! handle can hold it without this file knowing the store.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

/// One save waiting for a commit: the item and where its answer goes.
pub(super) type Pending<I, A> = (I, oneshot::Sender<A>);

/// The sending end of a committer (absent until first used), shared by every
/// clone of a store handle: when the last one is dropped, the committer ends.
pub(super) type Committer<I, A> = Arc<OnceLock<mpsc::Sender<Pending<I, A>>>>;
