//! A worker pool: claims ready jobs of its registry's queues and runs up to `JOB_CONCURRENCY` at once.
//! It wakes when this process commits a job, and polls every `JOB_POLL_INTERVAL` for jobs of other
//! processes (an idle poll is one indexed read, never a write). A running job's lease is renewed three
//! times per `JOB_VISIBILITY_TIMEOUT` until it ends or `JOB_TIMEOUT` stops it. On shutdown the pool stops
//! claiming, lets running jobs finish for `SHUTDOWN_TIMEOUT`, and hands the rest back to the queue.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{sync::watch, task::JoinSet};
use tracing::Instrument;
use uuid::Uuid;

use super::{Job, Permanent, Registry, backoff, store};
use crate::{config::Settings, db::now, state::AppState};

/// How a pool behaves; from the settings, or set directly by tests.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this pool in `jobs.locked_by` and in logs.
    pub id: String,
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub visibility_timeout: Duration,
    /// How long one attempt may run (its lease is renewed meanwhile).
    pub run_timeout: Duration,
    pub backoff_base: Duration,
    pub shutdown_timeout: Duration,
}

impl WorkerConfig {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            id: instance_id(),
            concurrency: s.jobs.concurrency as usize,
            poll_interval: s.jobs.poll_interval,
            visibility_timeout: s.jobs.visibility_timeout,
            run_timeout: s.jobs.timeout,
            backoff_base: s.jobs.backoff_base,
            shutdown_timeout: s.server.shutdown_timeout,
        }
    }

    /// How often a running job's lease is renewed: three times per lease, so one slow renewal never lets
    /// it lapse.
    fn heartbeat(&self) -> Duration {
        self.visibility_timeout / 3
    }
}

/// `host:pid:random`, unique per pool.
pub fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let random = Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

#[derive(Clone)]
pub struct WorkerPool {
    state: AppState,
    registry: Arc<Registry>,
    config: Arc<WorkerConfig>,
    /// Jobs running now, so shutdown can hand back those that do not finish in time.
    running: Arc<Mutex<HashMap<Uuid, Job>>>,
}

impl WorkerPool {
    pub fn new(state: AppState, registry: Registry, config: WorkerConfig) -> Self {
        Self {
            state,
            registry: Arc::new(registry),
            config: Arc::new(config),
            running: Arc::default(),
        }
    }

    /// Runs until `stop` turns true, then drains (see the module docs).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let queues = self.registry.queues();
        tracing::info!(worker = %self.config.id, ?queues, concurrency = self.config.concurrency, "job workers started");
        let mut tasks = JoinSet::new();
        let mut failing = false;
        loop {
            // Registered before looking, so a commit between the look and the wait still wakes us.
            let woken = super::wake_signal().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if *stop.borrow() {
                break;
            }
            let free = self.config.concurrency.saturating_sub(tasks.len());
            let mut claimed = 0;
            if free > 0 {
                match self.claim(&queues, free).await {
                    Ok(jobs) => {
                        if std::mem::take(&mut failing) {
                            tracing::info!(worker = %self.config.id, "job queue reachable again");
                        }
                        claimed = jobs.len();
                        for job in jobs {
                            self.running.lock().expect("not poisoned").insert(job.id, job.clone());
                            let pool = self.clone();
                            tasks.spawn(async move { pool.execute(job).await });
                        }
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(worker = %self.config.id, error = %e, "cannot claim jobs; retrying at every poll");
                            failing = true;
                        }
                    }
                }
            }
            if claimed > 0 && claimed == free {
                continue; // there may be more, and there is room once a slot frees up
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                // A dropped sender means nobody can stop us any more: stop now rather than spin.
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        self.drain(tasks).await;
    }

    async fn claim(&self, queues: &[String], mut free: usize) -> Result<Vec<Job>, sqlx::Error> {
        let mut claimed = Vec::new();
        for queue in queues {
            let now = now();
            if free == 0 || !store::has_ready(&self.state.db, queue, now).await? {
                continue;
            }
            let lease_until = now + chrono::Duration::from_std(self.config.visibility_timeout).unwrap_or_default();
            let jobs = store::claim(&self.state.db, queue, &self.config.id, free, lease_until, now).await?;
            free -= jobs.len();
            claimed.extend(jobs);
        }
        Ok(claimed)
    }

    /// Runs one claimed job and records its outcome.
    async fn execute(&self, job: Job) {
        let span =
            tracing::info_span!("job", job_id = %job.id, queue = %job.queue, kind = %job.kind, attempt = job.attempts);
        async {
            let started = Instant::now();
            let outcome = if job.effect_at.is_some() {
                // An earlier attempt did the work and died before its ack: only the ack is missing.
                tracing::info!("the job's effect was recorded by an earlier attempt; acking without running it");
                Ok(())
            } else if job.attempts > job.max_attempts {
                // Its last attempt's worker vanished mid-run: the lease ran out with no attempts left.
                Err(anyhow::Error::new(Permanent(
                    "the last attempt did not finish (its worker stopped)".into(),
                )))
            } else if let Some(handler) = self.registry.handler(&job.kind) {
                self.run_leased(&job, handler(self.state.clone(), job.clone())).await
            } else {
                Err(anyhow::Error::new(Permanent(format!(
                    "no handler for job kind {:?}",
                    job.kind
                ))))
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            if let Err(e) = self.settle(&job, outcome, elapsed_ms).await {
                // The lease will run out and the job will be claimed again.
                tracing::error!(error = %e, "cannot record the job's outcome");
            }
        }
        .instrument(span)
        .await;
        self.running.lock().expect("not poisoned").remove(&job.id);
    }

    /// Runs `work` under `run_timeout`, renewing the job's lease meanwhile. If the lease is lost (the
    /// database was unreachable for a whole lease and another worker took the job), the run is abandoned
    /// rather than finished twice.
    async fn run_leased(
        &self,
        job: &Job,
        work: futures_util::future::BoxFuture<'static, anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::sleep(self.config.run_timeout);
        tokio::pin!(deadline, work);
        let mut beat = tokio::time::interval(self.config.heartbeat());
        beat.tick().await; // the first tick is immediate; the claim just set the lease
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = &mut deadline => return Err(anyhow::anyhow!("timed out after {:?}", self.config.run_timeout)),
                _ = beat.tick() => {
                    let until = now() + chrono::Duration::from_std(self.config.visibility_timeout).unwrap_or_default();
                    match store::extend_lease(&self.state.db, job, until, now()).await {
                        Ok(true) => {}
                        Ok(false) => {
                            return Err(anyhow::anyhow!("the lease was lost to another worker; this run stopped"));
                        }
                        // Transient: the lease still has two thirds to go; the next beat tries again.
                        Err(e) => tracing::warn!(error = %e, "cannot renew the job's lease"),
                    }
                }
            }
        }
    }

    async fn settle(&self, job: &Job, outcome: anyhow::Result<()>, elapsed_ms: u64) -> Result<(), sqlx::Error> {
        let db = &self.state.db;
        let queue = job.queue.clone();
        let held = match outcome {
            Ok(()) => {
                metrics::counter!("jobs_completed_total", "queue" => queue).increment(1);
                tracing::info!(elapsed_ms, "job done");
                store::complete(db, job, now()).await?
            }
            Err(e) => {
                metrics::counter!("jobs_failed_total", "queue" => queue.clone()).increment(1);
                let error = format!("{e:#}");
                let permanent = e.downcast_ref::<Permanent>().is_some();
                if permanent || job.attempts >= job.max_attempts {
                    metrics::counter!("jobs_dead_total", "queue" => queue).increment(1);
                    tracing::error!(error = %error, elapsed_ms, "job failed for good; it is dead");
                    store::bury(db, job, &error, now()).await?
                } else {
                    let delay = backoff::jittered(self.config.backoff_base, job.attempts.max(1) as u32);
                    tracing::warn!(error = %error, elapsed_ms, retry_in = ?delay, "job failed; it will be retried");
                    let retry_at = now() + chrono::Duration::from_std(delay).unwrap_or_default();
                    store::retry(db, job, &error, retry_at, now()).await?
                }
            }
        };
        if !held {
            tracing::warn!("the job's lease had run out; another worker owns it now");
        }
        Ok(())
    }

    /// Waits for running jobs up to the shutdown timeout, then stops them and hands them back.
    async fn drain(&self, mut tasks: JoinSet<()>) {
        let deadline = tokio::time::sleep(self.config.shutdown_timeout);
        tokio::pin!(deadline);
        while !tasks.is_empty() {
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = &mut deadline => break,
            }
        }
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let unfinished: Vec<Job> = self
            .running
            .lock()
            .expect("not poisoned")
            .drain()
            .map(|(_, j)| j)
            .collect();
        for job in &unfinished {
            match store::release(&self.state.db, job, now()).await {
                Ok(_) => tracing::info!(job_id = %job.id, "job handed back to the queue at shutdown"),
                Err(e) => {
                    tracing::warn!(job_id = %job.id, error = %e, "cannot hand the job back; its lease will run out")
                }
            }
        }
        tracing::info!(worker = %self.config.id, released = unfinished.len(), "job workers stopped");
    }
}
