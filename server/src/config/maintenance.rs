//! `settings.maintenance`: how often each periodic cleanup runs (`CLEANUP_INTERVAL[_<TASK>]`) and how long
//! audit entries are kept.

use std::time::Duration;

use super::source::{ConfigError, Source};

/// Periodic maintenance.
#[derive(Clone, Copy, Debug)]
pub struct MaintenanceSettings {
    /// `CLEANUP_INTERVAL`: the default of every task's own interval.
    pub cleanup_interval: Duration,
    /// Per-task intervals of the periodic maintenance (each defaults to `CLEANUP_INTERVAL`).
    pub cleanup_intervals: CleanupIntervals,
    pub audit_retention_days: u32,
}

impl MaintenanceSettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        let cleanup_interval = src.duration("CLEANUP_INTERVAL", Duration::from_secs(3600))?;
        Ok(Self {
            cleanup_interval,
            cleanup_intervals: CleanupIntervals::from_source(src, cleanup_interval)?,
            audit_retention_days: src.parsed("AUDIT_RETENTION_DAYS", 365, "a number of days")?,
        })
    }
}

/// How often each periodic maintenance task runs (`CLEANUP_INTERVAL_<TASK>`, else `CLEANUP_INTERVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupIntervals {
    pub idempotency: Duration,
    pub sessions: Duration,
    pub tokens: Duration,
    pub audit: Duration,
    pub jobs: Duration,
}

impl CleanupIntervals {
    fn from_source(src: &Source<'_>, default: Duration) -> Result<Self, ConfigError> {
        Ok(Self {
            idempotency: src.duration("CLEANUP_INTERVAL_IDEMPOTENCY", default)?,
            sessions: src.duration("CLEANUP_INTERVAL_SESSIONS", default)?,
            tokens: src.duration("CLEANUP_INTERVAL_TOKENS", default)?,
            audit: src.duration("CLEANUP_INTERVAL_AUDIT", default)?,
            jobs: src.duration("CLEANUP_INTERVAL_JOBS", default)?,
        })
    }
}
