//! The checks that run once every group is parsed: limits that must be usable as they are (rate limits,
//! job counts, non-zero intervals and timeouts, the report-only policy), in the order they always ran.

use std::time::Duration;

use super::{
    Settings,
    source::{ConfigError, err},
};

impl Settings {
    /// Rate limits and the report-only policy must be usable as they are.
    pub(super) fn check_limits(&self) -> Result<(), ConfigError> {
        self.rate_limit.check()?;
        if self.jobs.max_attempts == 0 {
            return Err(err("JOB_MAX_ATTEMPTS", "must be at least 1"));
        }
        if self.jobs.concurrency == 0 {
            return Err(err("JOB_CONCURRENCY", "must be at least 1"));
        }
        let c = &self.maintenance.cleanup_intervals;
        for (var, value) in [
            ("CLEANUP_INTERVAL", self.maintenance.cleanup_interval),
            ("CLEANUP_INTERVAL_IDEMPOTENCY", c.idempotency),
            ("CLEANUP_INTERVAL_SESSIONS", c.sessions),
            ("CLEANUP_INTERVAL_TOKENS", c.tokens),
            ("CLEANUP_INTERVAL_AUDIT", c.audit),
            ("CLEANUP_INTERVAL_JOBS", c.jobs),
            ("JOB_POLL_INTERVAL", self.jobs.poll_interval),
            ("JOB_BACKOFF_BASE", self.jobs.backoff_base),
            ("JOB_TIMEOUT", self.jobs.timeout),
            ("HEADER_TIMEOUT", self.server.header_timeout),
            ("KEEP_ALIVE_TIMEOUT", self.server.keep_alive_timeout),
        ] {
            if value.is_zero() {
                return Err(err(var, "must be longer than 0s"));
            }
        }
        if self.jobs.visibility_timeout < Duration::from_secs(1) {
            return Err(err("JOB_VISIBILITY_TIMEOUT", "must be at least 1s"));
        }
        if let Some(policy) = &self.security.csp_report_only_policy
            && policy.parse::<axum::http::HeaderValue>().is_err()
        {
            return Err(err("CSP_REPORT_ONLY_POLICY", "is not a valid header value"));
        }
        Ok(())
    }
}
