//! The limiter's Redis back-end: one atomic Lua script (GCRA on Redis' clock) shared by every
//! instance, with a circuit breaker that falls back to memory when Redis fails.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::gcra::{Decision, Quota};
use crate::cache::Redis;

/// GCRA in one round trip. KEYS[1]: the bucket; ARGV[1]: limit; ARGV[2]: emission interval in µs.
/// Returns {allowed, remaining, reset_after_us, retry_after_us}. The clock is Redis' own (`TIME`), so
/// instances with skewed clocks still share one allowance. Same arithmetic as `gcra::step`.
pub const SCRIPT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = limit * interval
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local debt = new_tat - now
if debt > capacity then
  return {0, 0, tat - now, debt - capacity}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(debt / 1000) + 1)
return {1, math.floor((capacity - debt) / interval), debt, 0}
"#;

/// How long the limiter stays on memory after a Redis failure before trying Redis again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// A limiter call may not hold a request up for longer than this.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

pub struct Shared {
    redis: Redis,
    script: redis::Script,
    prefix: String,
    degraded: AtomicBool,
    retry_at: Mutex<Option<Instant>>,
    fallbacks: AtomicU64,
}

impl Shared {
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_string(),
            degraded: AtomicBool::new(false),
            retry_at: Mutex::new(None),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// The shared decision, or `None` when Redis is failing (the caller then uses memory).
    pub async fn check(&self, key: &str, quota: Quota) -> Option<Decision> {
        if !self.should_try() {
            return None;
        }
        let call = async {
            let mut conn = self.redis.connection().await?;
            let (allowed, remaining, reset_us, retry_us): (i64, i64, i64, i64) = self
                .script
                .key(format!("{}{}", self.prefix, key))
                .arg(quota.limit)
                .arg(quota.interval_us())
                .invoke_async(&mut conn)
                .await?;
            anyhow::Ok(Decision {
                allowed: allowed == 1,
                limit: quota.limit,
                remaining: remaining.clamp(0, i64::from(quota.limit)) as u32,
                reset_after: Duration::from_micros(reset_us.max(0) as u64),
                retry_after: Duration::from_micros(retry_us.max(0) as u64),
            })
        };
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(decision)) => {
                self.recovered();
                Some(decision)
            }
            Ok(Err(e)) => {
                self.failed(&format!("{e:#}"));
                None
            }
            Err(_) => {
                self.failed("timed out");
                None
            }
        }
    }

    /// While degraded, one caller per `RETRY_AFTER_FAILURE` probes Redis; the rest use memory.
    fn should_try(&self) -> bool {
        if !self.degraded.load(Ordering::Acquire) {
            return true;
        }
        let mut retry_at = self.retry_at.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *retry_at {
            Some(at) if now < at => false,
            _ => {
                *retry_at = Some(now + RETRY_AFTER_FAILURE);
                true
            }
        }
    }

    fn failed(&self, error: &str) {
        *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + RETRY_AFTER_FAILURE);
        // Logged once per outage, not once per request.
        if !self.degraded.swap(true, Ordering::AcqRel) {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                error,
                "rate limiter: Redis failed; limiting in memory (per instance) until it answers again"
            );
        }
    }

    fn recovered(&self) {
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::info!("rate limiter: Redis answers again; limits are shared across instances");
        }
    }

    /// How many times the limiter fell back to memory (each outage counts once).
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outage_is_reported_once_and_probed_sparingly() {
        let shared = Shared::new(Redis::new("redis://127.0.0.1:1").unwrap(), "t:");
        assert!(shared.should_try());
        shared.failed("connection refused");
        shared.failed("connection refused");
        assert_eq!(shared.fallbacks(), 1);
        assert!(shared.is_degraded());
        // Inside the retry pause every caller stays on memory.
        assert!(!shared.should_try());
        // Once it has passed, exactly one caller probes.
        *shared.retry_at.lock().unwrap() = Some(Instant::now() - Duration::from_millis(1));
        assert!(shared.should_try());
        assert!(!shared.should_try());
        shared.recovered();
        assert!(!shared.is_degraded());
        assert!(shared.should_try());
        // A second outage is a second report.
        shared.failed("timed out");
        assert_eq!(shared.fallbacks(), 2);
    }
}
