//! `settings.rate_limit`: the limiter's switch (`RATE_LIMITING`), window, per-tier limits and Redis prefix.

use std::time::Duration;

use super::source::{ConfigError, Source, err};

/// Request rate limits per tier and window.
#[derive(Clone)]
pub struct RateLimitSettings {
    /// `RATE_LIMITING`.
    pub enabled: bool,
    pub window: Duration,
    pub auth: u32,
    /// `POST /auth/refresh` per session and window.
    pub refresh: u32,
    pub user: u32,
    pub anon: u32,
    /// Prefix of the limiter's Redis keys (instances sharing limits must share it).
    pub redis_prefix: String,
}

impl RateLimitSettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: src.boolean("RATE_LIMITING", true)?,
            window: src.duration("RATE_LIMIT_WINDOW", Duration::from_secs(60))?,
            auth: src.parsed("RATE_LIMIT_AUTH", 10, "a number")?,
            refresh: src.parsed("RATE_LIMIT_REFRESH", 60, "a number")?,
            user: src.parsed("RATE_LIMIT_USER", 300, "a number")?,
            anon: src.parsed("RATE_LIMIT_ANON", 100, "a number")?,
            redis_prefix: src.string("RATE_LIMIT_REDIS_PREFIX", "neoforge:rl:"),
        })
    }

    /// Every limit must be usable as it is.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (var, limit) in [
            ("RATE_LIMIT_AUTH", self.auth),
            ("RATE_LIMIT_REFRESH", self.refresh),
            ("RATE_LIMIT_USER", self.user),
            ("RATE_LIMIT_ANON", self.anon),
        ] {
            if limit == 0 {
                return Err(err(
                    var,
                    "must be at least 1 (turn limiting off with RATE_LIMITING=false)",
                ));
            }
        }
        if self.window < Duration::from_secs(1) {
            return Err(err("RATE_LIMIT_WINDOW", "must be at least 1s"));
        }
        Ok(())
    }
}
