//! Passwords: the policy of spec §1.5 and Argon2id hashing off the async executor.

use std::{
    collections::HashSet,
    sync::{
        Arc, LazyLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use crate::error::{ApiError, FieldError};

/// The built-in list of common passwords (19,640 entries, lowercased), compiled into the binary.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

pub fn common_password_count() -> usize {
    COMMON.len()
}

/// Checks the policy; `loc` names the field in the 422 (`["body", "password"]`).
pub fn check_policy(password: &str, email: &str, loc: &[&str]) -> Result<(), ApiError> {
    let len = password.chars().count();
    let fail = |msg: &str, kind: &str| Err(ApiError::validation(vec![FieldError::new(loc, msg, kind)]));
    if len < 8 {
        return fail("must be at least 8 characters", "too_short");
    }
    if len > 128 {
        return fail("must be at most 128 characters", "too_long");
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return fail("must not be your email address", "equals_email");
    }
    if COMMON.contains(password.to_lowercase().as_str()) {
        return fail("is one of the most common passwords; choose another", "too_common");
    }
    Ok(())
}

/// Argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane) on the blocking pool, at most one hash per
/// core but one at a time (at least one), so a login flood queues and always leaves a core to the async
/// workers: the rest of the API keeps its latency while sign-ins spike.
///
/// The permit travels into the blocking closure and is released only when the hash ends: a request
/// cancelled mid-hash (client gone, request timeout) no longer frees its permit while its hash still runs,
/// so aborted sign-ins cannot pile up parallel hashes.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    limit: usize,
    dummy_hash: Arc<str>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dummy = Argon2::default()
            .hash_password(b"dummy password for unknown accounts")
            .expect("argon2 hashes")
            .to_string();
        crate::allocator::release_freed();
        let limit = cores.saturating_sub(1).max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            dummy_hash: Arc::from(dummy),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many hashes may run at once.
    pub fn permits(&self) -> usize {
        self.limit
    }

    /// The most hashes that ever ran at once in this process (also the `password_hashes_running` gauge now).
    pub fn peak_running(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Runs `work` on the blocking pool holding a permit for exactly as long as it runs.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(ApiError::internal)?;
        let (running, peak) = (self.running.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            metrics::gauge!("password_hashes_running").increment(1.0);
            let out = work();
            crate::allocator::release_freed();
            running.fetch_sub(1, Ordering::SeqCst);
            metrics::gauge!("password_hashes_running").decrement(1.0);
            out
        })
        .await
        .map_err(ApiError::internal)
    }

    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_string();
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(ApiError::internal)
    }

    /// Verifies `password` against `hash`; with no hash (unknown account) it verifies against a dummy
    /// hash so the answer takes the same time, and returns false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let known = hash.is_some();
        let hash = hash.map(str::to_string).unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.to_string();
        let ok = self
            .run(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await
            .unwrap_or(false);
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let loc = &["body", "password"];
        assert!(common_password_count() >= 10_000);
        assert!(check_policy("correct horse battery", "a@b.co", loc).is_ok());
        assert_eq!(
            check_policy("short", "a@b.co", loc).unwrap_err().errors.unwrap()[0].kind,
            "too_short"
        );
        assert_eq!(
            check_policy(&"x".repeat(129), "a@b.co", loc)
                .unwrap_err()
                .errors
                .unwrap()[0]
                .kind,
            "too_long"
        );
        assert!(
            check_policy(&"é".repeat(128), "a@b.co", loc).is_ok(),
            "length counts characters"
        );
        assert_eq!(
            check_policy("password1", "a@b.co", loc).unwrap_err().errors.unwrap()[0].kind,
            "too_common"
        );
        assert_eq!(
            check_policy("PassWord1", "a@b.co", loc).unwrap_err().errors.unwrap()[0].kind,
            "too_common"
        );
        assert_eq!(
            check_policy("alice@example.com", "alice@example.com", loc)
                .unwrap_err()
                .errors
                .unwrap()[0]
                .kind,
            "equals_email"
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let h = Hasher::new();
        let hash = h.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hash.contains("m=19456,t=2,p=1"), "{hash}");
        assert!(h.verify("correct horse battery", Some(&hash)).await);
        assert!(!h.verify("wrong horse battery", Some(&hash)).await);
        assert!(!h.verify("dummy password for unknown accounts", None).await);
    }
}
