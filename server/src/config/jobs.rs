//! `settings.jobs`: the durable job queue's workers (`JOB_*`).

use std::time::Duration;

use super::source::{ConfigError, Source};

/// Job workers and retries.
#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    pub max_attempts: u32,
    /// Run the job workers and periodic tasks inside `neoforge serve` (`neoforge worker` always runs them).
    pub workers: bool,
    /// Jobs one worker pool runs at once.
    pub concurrency: u32,
    /// How often an idle pool looks for jobs enqueued by other processes (its own wake it at once).
    pub poll_interval: Duration,
    /// How long a claim lasts without renewal: a running job's worker renews it, so a job whose worker
    /// vanished is claimed again after at most this.
    pub visibility_timeout: Duration,
    /// How long one attempt of a job may run before it is stopped and counted as failed.
    pub timeout: Duration,
    /// The first retry delay; each further attempt doubles it (capped at one hour), with jitter.
    pub backoff_base: Duration,
}

impl JobSettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            max_attempts: src.parsed("JOB_MAX_ATTEMPTS", 8, "a number")?,
            workers: src.boolean("JOB_WORKERS", true)?,
            concurrency: src.parsed("JOB_CONCURRENCY", 4, "a number")?,
            poll_interval: src.duration("JOB_POLL_INTERVAL", Duration::from_secs(1))?,
            visibility_timeout: src.duration("JOB_VISIBILITY_TIMEOUT", Duration::from_secs(60))?,
            timeout: src.duration("JOB_TIMEOUT", Duration::from_secs(600))?,
            backoff_base: src.duration("JOB_BACKOFF_BASE", Duration::from_secs(30))?,
        })
    }
}
