//! A bounded pool of threads for CPU-bound work (signature verification,
//! signing, JSON-LD canonicalisation, image decoding), so that it never runs
//! on the async workers that also answer `/healthz` and read request bodies.
//!
//! * A fixed number of worker threads (by default one per core).
//! * A bounded queue: when it is full, [`CpuPool::run`] fails at once with
//!   [`CpuPoolError::Busy`] (HTTP 503 `busy` with `Retry-After`) instead of
//!   piling up work that clients have long given up on.
//! * A deadline per job, counted from submission: the caller stops waiting at
//!   the deadline ([`CpuPoolError::DeadlineExceeded`], 503 `deadline_exceeded`),
//!   and a queued job whose deadline has passed is dropped without running.
//!   A job already running is not interrupted (CPU work cannot be), its result
//!   is discarded.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;

use crate::api_error::ApiError;

/// Default queue length (jobs waiting for a worker, beyond those running).
pub const DEFAULT_QUEUE: usize = 64;
/// Default deadline of one job, from submission to result.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// `Retry-After` sent with 503 `busy` and `deadline_exceeded`, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// How large the pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuPoolConfig {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Jobs that may wait for a worker.
    pub queue: usize,
    /// How long a job may take from submission to result.
    pub deadline: Duration,
}

impl CpuPoolConfig {
    /// Workers = `workers` or the number of cores; queue and deadline as given
    /// (the services' `--cpu-workers`, `--cpu-queue`, `--cpu-deadline-secs`).
    pub fn new(workers: Option<usize>, queue: usize, deadline_secs: u64) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self { workers: workers.unwrap_or(cores).max(1), queue, deadline: Duration::from_secs(deadline_secs.max(1)) }
    }
}

impl Default for CpuPoolConfig {
    fn default() -> Self {
        Self::new(None, DEFAULT_QUEUE, DEFAULT_DEADLINE.as_secs())
    }
}

/// Why a job gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CpuPoolError {
    /// The queue was full: the job was not accepted.
    #[error("the CPU pool's queue is full")]
    Busy,
    /// The deadline passed before the job finished (or started).
    #[error("the job did not finish within its deadline")]
    DeadlineExceeded,
    /// The job panicked (a bug; the worker thread survives).
    #[error("the job panicked")]
    Panicked,
}

impl From<CpuPoolError> for ApiError {
    fn from(e: CpuPoolError) -> Self {
        match e {
            CpuPoolError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "服务器繁忙，请稍后重试",
                "the server is busy; please retry shortly",
            )
            .with_retry_after(RETRY_AFTER_SECS),
            CpuPoolError::DeadlineExceeded => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "deadline_exceeded",
                "服务器繁忙，处理超时，请稍后重试",
                "the server is busy and could not finish in time; please retry shortly",
            )
            .with_retry_after(RETRY_AFTER_SECS),
            CpuPoolError::Panicked => ApiError::internal("a CPU pool job panicked"),
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Queued {
    deadline: Instant,
    job: Job,
}

/// Counts, for tests and logs.
#[derive(Debug, Default)]
struct Counters {
    completed: AtomicU64,
    refused: AtomicU64,
    expired: AtomicU64,
}

/// A handle to the pool; clones share it. The threads end when the last handle
/// is dropped (after the jobs already queued).
#[derive(Clone)]
pub struct CpuPool {
    sender: SyncSender<Queued>,
    deadline: Duration,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for CpuPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuPool").field("deadline", &self.deadline).field("counters", &self.counters).finish()
    }
}

impl CpuPool {
    /// Start `config.workers` threads named `cpu-pool-N`.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(config: CpuPoolConfig) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Queued>(config.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let counters = Arc::new(Counters::default());
        for n in 0..config.workers.max(1) {
            let receiver = Arc::clone(&receiver);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new().name(format!("cpu-pool-{n}")).spawn(move || work(&receiver, &counters))?;
        }
        Ok(Self { sender, deadline: config.deadline, counters })
    }

    /// Run `job` on a pool thread and wait (asynchronously) for its result.
    ///
    /// # Errors
    /// [`CpuPoolError::Busy`] at once when the queue is full;
    /// [`CpuPoolError::DeadlineExceeded`] when no result came within the deadline;
    /// [`CpuPoolError::Panicked`] when the job panicked.
    pub async fn run<T, F>(&self, job: F) -> Result<T, CpuPoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let deadline = Instant::now() + self.deadline;
        let (reply, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(job)).map_err(|_| CpuPoolError::Panicked);
            // The caller may have stopped waiting; then nobody wants the result.
            let _ = reply.send(outcome);
        });
        match self.sender.try_send(Queued { deadline, job }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                return Err(CpuPoolError::Busy);
            }
            // The workers are gone (they only end with the last handle, so this is a bug).
            Err(TrySendError::Disconnected(_)) => return Err(CpuPoolError::Panicked),
        }
        match tokio::time::timeout_at(deadline.into(), result).await {
            Ok(Ok(outcome)) => outcome,
            // Dropped unrun (its deadline passed in the queue) or timed out waiting.
            Ok(Err(_)) | Err(_) => Err(CpuPoolError::DeadlineExceeded),
        }
    }

    /// Run a future that is CPU-bound (it awaits nothing that needs a reactor, e.g.
    /// wallet-core's verification or signing) to completion on a pool thread.
    ///
    /// # Errors
    /// As [`CpuPool::run`].
    pub async fn run_future<T, Fut, F>(&self, make: F) -> Result<T, CpuPoolError>
    where
        T: Send + 'static,
        Fut: std::future::Future<Output = T>,
        F: FnOnce() -> Fut + Send + 'static,
    {
        self.run(move || pollster::block_on(make())).await
    }

    /// Jobs finished, refused (queue full) and dropped unrun (deadline passed in the queue).
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.counters.completed.load(Ordering::Relaxed),
            self.counters.refused.load(Ordering::Relaxed),
            self.counters.expired.load(Ordering::Relaxed),
        )
    }
}

fn work(receiver: &Mutex<Receiver<Queued>>, counters: &Counters) {
    loop {
        let next = receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        let Ok(Queued { deadline, job }) = next else { return };
        if Instant::now() >= deadline {
            // Dropping the job drops its reply channel: the caller sees the deadline.
            counters.expired.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        job();
        counters.completed.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn pool(workers: usize, queue: usize, deadline: Duration) -> CpuPool {
        CpuPool::start(CpuPoolConfig { workers, queue, deadline }).expect("threads start")
    }

    /// A job that blocks its worker until `release` is sent (or dropped).
    fn blocker(started: std::sync::mpsc::Sender<()>) -> (impl FnOnce() + Send + 'static, std::sync::mpsc::Sender<()>) {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let job = move || {
            let _ = started.send(());
            let _ = wait.recv();
        };
        (job, release)
    }

    #[tokio::test]
    async fn results_come_back_and_panics_are_errors() {
        let pool = pool(2, 4, Duration::from_secs(10));
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        assert_eq!(pool.run_future(|| async { "async".len() }).await, Ok(5));
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, Err(CpuPoolError::Panicked));
        assert_eq!(pool.run(|| 1).await, Ok(1), "the worker survives a panic");
    }

    /// Poll `fut` once (it submits its job on the first poll) and keep it.
    async fn submitted<F: std::future::Future + Unpin>(fut: &mut F) {
        assert!(tokio::time::timeout(Duration::from_millis(1), fut).await.is_err(), "still waiting");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = pool(1, 1, Duration::from_secs(30));
        let (started_tx, started) = std::sync::mpsc::channel();
        let (job, release) = blocker(started_tx);
        let mut running = Box::pin(pool.run(job));
        submitted(&mut running).await;
        started.recv().expect("the first job runs");
        let mut queued = Box::pin(pool.run(|| "second"));
        submitted(&mut queued).await;
        assert_eq!(pool.run(|| "third").await, Err(CpuPoolError::Busy));
        assert_eq!(pool.run(|| "fourth").await, Err(CpuPoolError::Busy));
        assert_eq!(pool.counts().1, 2);
        release.send(()).expect("blocker waits");
        assert_eq!(running.await, Ok(()));
        assert_eq!(queued.await, Ok("second"));
        assert_eq!(pool.run(|| "fifth").await, Ok("fifth"), "room again");
    }

    #[tokio::test]
    async fn past_the_deadline_the_caller_is_answered_and_queued_jobs_are_dropped() {
        let pool = pool(1, 4, Duration::from_millis(300));
        let (started_tx, started) = std::sync::mpsc::channel();
        let (job, release) = blocker(started_tx);
        let mut first = Box::pin(pool.run(job));
        submitted(&mut first).await;
        started.recv().expect("the first job runs");
        let ran = Arc::new(AtomicBool::new(false));
        let second = pool.run({
            let ran = Arc::clone(&ran);
            move || ran.store(true, Ordering::SeqCst)
        });
        assert_eq!(second.await, Err(CpuPoolError::DeadlineExceeded), "queued behind a blocked worker");
        assert_eq!(first.await, Err(CpuPoolError::DeadlineExceeded), "still running at its deadline");
        release.send(()).expect("blocker waits");
        // The next job runs after the expired one was taken off the queue.
        assert_eq!(pool.run(|| 7).await, Ok(7));
        assert!(!ran.load(Ordering::SeqCst), "a job past its deadline never runs");
        assert_eq!(pool.counts().2, 1, "one job dropped unrun");
    }

    #[test]
    fn errors_are_503_with_stable_codes() {
        use actix_web::ResponseError as _;
        for (e, code) in [(CpuPoolError::Busy, "busy"), (CpuPoolError::DeadlineExceeded, "deadline_exceeded")] {
            let api = ApiError::from(e);
            assert_eq!(api.error, code);
            let response = api.error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
        }
    }
}
