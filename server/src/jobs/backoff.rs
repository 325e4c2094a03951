//! Retry delays: exponential from `JOB_BACKOFF_BASE`, capped at one hour, with "equal jitter" (a random
//! point in the upper half), so jobs that failed together do not all retry in the same instant.

use std::time::Duration;

/// The longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// The delay after failed attempt number `attempt` (1-based); `unit` is a random number in `[0, 1)`.
pub fn delay(base: Duration, attempt: u32, unit: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exponent).min(MAX_DELAY);
    full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// [`delay`] with a fresh random `unit`.
pub fn jittered(base: Duration, attempt: u32) -> Duration {
    delay(base, attempt, rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(30);

    #[test]
    fn doubles_per_attempt_within_the_jitter_band() {
        for attempt in 1..=6 {
            let full = BASE * (1 << (attempt - 1));
            assert_eq!(delay(BASE, attempt, 0.0), full / 2, "attempt {attempt}");
            assert_eq!(delay(BASE, attempt, 1.0), full, "attempt {attempt}");
            let mid = delay(BASE, attempt, 0.5);
            assert!(mid > full / 2 && mid < full);
        }
    }

    #[test]
    fn is_capped_at_an_hour_however_many_attempts() {
        assert_eq!(delay(BASE, 8, 1.0), MAX_DELAY);
        assert_eq!(delay(BASE, 1000, 1.0), MAX_DELAY);
        assert_eq!(delay(Duration::MAX, 3, 1.0), MAX_DELAY);
    }

    #[test]
    fn jitter_spreads_retries() {
        let samples: Vec<Duration> = (0..50).map(|_| jittered(BASE, 3)).collect();
        assert!(samples.iter().all(|d| *d >= BASE * 2 && *d <= BASE * 4));
        assert!(samples.iter().any(|d| *d != samples[0]), "50 draws are not all equal");
    }
}
