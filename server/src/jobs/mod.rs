//! Durable background jobs stored in the database, their workers, and the periodic maintenance tasks.
//!
//! Why our own queue and not `apalis`: see `docs/architecture.md` ("Background jobs"). In short, a job
//! must be enqueued inside the caller's transaction (`Tx`, our SQLite single writer or a PostgreSQL
//! transaction), and apalis' SQL storages push through their own pools.
//!
//! The life of a job (`jobs` table): `queued` → claimed (`running`, with a lease that ends at
//! `available_at`) → `done`, or back to `queued` with a backoff after a failure, or `dead` after
//! `max_attempts`. A running job whose lease ran out (its worker died) is claimable again. Acks and
//! failures present the lease id, so a worker that lost its lease cannot overwrite a newer claim.
//! Jobs with an outside effect (email) record the effect (`effect_at`) before they are acked, so a
//! retry after a crash between the two does not repeat the effect.

pub mod admin;
pub mod backoff;
pub mod email;
pub mod periodic;
pub mod store;
pub mod worker;

use std::{collections::HashMap, future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{db::Tx, state::AppState};

pub use store::Job;

/// The queue of outgoing email.
pub const EMAIL_QUEUE: &str = "email";
/// Queues that always appear in `job_queue_depth{queue}`, even when empty.
pub const KNOWN_QUEUES: &[&str] = &[EMAIL_QUEUE];

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub queue: String,
    pub kind: String,
    pub payload: Vec<u8>,
    pub max_attempts: u32,
    pub run_at: DateTime<Utc>,
}

/// Adds `job` inside `tx`: it exists exactly when the caller's change commits. After the commit this
/// process's workers are woken; other processes find it at their next poll.
pub async fn enqueue(tx: &mut Tx, job: &NewJob) -> Result<Uuid, sqlx::Error> {
    let id = store::insert(tx, job, crate::db::now()).await?;
    wake_workers_after_commit(tx);
    Ok(id)
}

/// Wakes this process's workers once `tx` commits, so a job it made runnable runs at once instead of at
/// their next poll. Registered once per transaction, however many jobs it enqueues.
pub fn wake_workers_after_commit(tx: &mut Tx) {
    tx.after_commit_once("jobs::wake_workers", wake_workers);
}

/// Woken on every commit that enqueued a job, so idle workers of this process start at once.
static WAKE: Notify = Notify::const_new();

pub fn wake_workers() {
    WAKE.notify_waiters();
}

pub(crate) fn wake_signal() -> &'static Notify {
    &WAKE
}

/// A failure that retrying cannot fix (a payload that does not decode, an unknown kind): the job goes
/// straight to `dead`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

type Handler = Arc<dyn Fn(AppState, Job) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// What a worker pool can run: job kinds, each with its queue and handler.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, (String, Handler)>,
}

impl Registry {
    /// The kinds NeoForge itself enqueues.
    pub fn standard() -> Self {
        Self::default().with(EMAIL_QUEUE, email::KIND, email::deliver)
    }

    /// Adds a kind. The handler's `Ok` acks the job; an error retries it (or buries it, for [`Permanent`]).
    pub fn with<F, Fut>(mut self, queue: &str, kind: &str, handler: F) -> Self
    where
        F: Fn(AppState, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |state, job| Box::pin(handler(state, job)));
        self.handlers.insert(kind.to_string(), (queue.to_string(), handler));
        self
    }

    /// The queues this registry's kinds live on (a pool claims only from these), sorted.
    pub fn queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = self.handlers.values().map(|(q, _)| q.clone()).collect();
        queues.sort();
        queues.dedup();
        queues
    }

    fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers.get(kind).map(|(_, h)| h.clone())
    }
}

/// Sets `job_queue_depth{queue}` (queued and running jobs) and `jobs_dead_waiting{queue,kind}` from the
/// database. Best effort: a slow or failing database leaves the last values, it never fails the scrape.
pub async fn record_queue_gauges(state: &AppState) {
    let wait = std::time::Duration::from_secs(1);
    let read = tokio::time::timeout(wait, async {
        Ok::<_, sqlx::Error>((store::depth(&state.db).await?, store::dead_by_kind(&state.db).await?))
    })
    .await;
    let Ok(Ok((depth, dead))) = read else { return };
    for queue in KNOWN_QUEUES {
        if !depth.iter().any(|(q, _)| q == queue) {
            metrics::gauge!("job_queue_depth", "queue" => queue.to_string()).set(0.0);
        }
    }
    for (queue, n) in depth {
        metrics::gauge!("job_queue_depth", "queue" => queue).set(n as f64);
    }
    // A kind whose dead jobs were all retried or discarded drops out of the query: set it to 0.
    static SEEN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    for (queue, kind) in seen.iter() {
        if !dead.iter().any(|(q, k, _)| q == queue && k == kind) {
            metrics::gauge!("jobs_dead_waiting", "queue" => queue.clone(), "kind" => kind.clone()).set(0.0);
        }
    }
    for (queue, kind, n) in dead {
        metrics::gauge!("jobs_dead_waiting", "queue" => queue.clone(), "kind" => kind.clone()).set(n as f64);
        if !seen.iter().any(|(q, k)| *q == queue && *k == kind) {
            seen.push((queue, kind));
        }
    }
}

/// Starts the background work of one process, a worker pool (for `registry`'s kinds) and the periodic
/// `tasks` (normally [`crate::periodic_tasks`]), until `stop` turns true; await the handles to know that running jobs finished or were handed back.
pub fn start(
    state: &AppState,
    registry: Registry,
    tasks: &'static [periodic::PeriodicTask],
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let config = worker::WorkerConfig::from_settings(&state.settings);
    let instance = config.id.clone();
    let pool = worker::WorkerPool::new(state.clone(), registry, config);
    vec![
        tokio::spawn(pool.run(stop.clone())),
        tokio::spawn(periodic::run(state.clone(), tasks, instance, stop)),
    ]
}
