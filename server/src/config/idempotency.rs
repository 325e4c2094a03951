//! `settings.idempotency`: how long `Idempotency-Key` results are kept and how much of them is stored.

use std::time::Duration;

use super::source::{ConfigError, Source};

/// Stored `Idempotency-Key` results (see `http/idempotency.rs`).
#[derive(Clone, Copy, Debug)]
pub struct IdempotencySettings {
    /// `IDEMPOTENCY_TTL`.
    pub ttl: Duration,
    /// Stored results keep their body only up to this size (`IDEMPOTENCY_MAX_STORED_BYTES`).
    pub max_stored_bytes: usize,
}

impl IdempotencySettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            ttl: src.duration("IDEMPOTENCY_TTL", Duration::from_secs(86_400))?,
            max_stored_bytes: src.parsed("IDEMPOTENCY_MAX_STORED_BYTES", 65_536, "a number of bytes")?,
        })
    }
}
