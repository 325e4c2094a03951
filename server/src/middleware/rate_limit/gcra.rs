//! GCRA (generic cell rate algorithm) and the in-memory bucket store with a hard cap on its keys.
//!
//! A bucket is one number, its "theoretical arrival time" (TAT, µs since the Unix epoch). The Redis
//! script in `shared.rs` runs exactly the same arithmetic, so both back-ends answer alike.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// `limit` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub window: Duration,
}

impl Quota {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window: window.max(Duration::from_secs(1)),
        }
    }

    /// The emission interval T = window / limit, in µs (at least 1).
    pub fn interval_us(&self) -> u64 {
        (self.window.as_micros() as u64 / u64::from(self.limit)).max(1)
    }
}

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the allowance is whole again.
    pub reset_after: Duration,
    /// Until the next request would be allowed (zero when allowed).
    pub retry_after: Duration,
}

/// One GCRA step: the decision and, when allowed, the bucket's new TAT.
///
/// A request is allowed when, after adding it, the bucket holds at most `limit` intervals of debt:
/// `max(tat, now) + T − now ≤ limit·T`. So `limit` requests pass at once, then one per T.
pub fn step(tat: Option<u64>, now: u64, quota: Quota) -> (Decision, Option<u64>) {
    let t = quota.interval_us();
    let capacity = t * u64::from(quota.limit);
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat + t;
    let debt = new_tat - now;
    if debt > capacity {
        let decision = Decision {
            allowed: false,
            limit: quota.limit,
            remaining: 0,
            reset_after: Duration::from_micros(tat - now),
            retry_after: Duration::from_micros(debt - capacity),
        };
        return (decision, None);
    }
    let decision = Decision {
        allowed: true,
        limit: quota.limit,
        remaining: ((capacity - debt) / t) as u32,
        reset_after: Duration::from_micros(debt),
        retry_after: Duration::ZERO,
    };
    (decision, Some(new_tat))
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

const SHARDS: usize = 16;

/// Buckets in memory, sharded to keep lock hold times short, with at most `max_keys` keys in all.
///
/// A bucket whose TAT has passed is the same as no bucket, so dropping it loses nothing. When a shard
/// is full of live buckets (a flood of distinct clients), the eighth closest to being whole is dropped:
/// memory stays bounded, and the clients that are furthest over their limit are the last to be forgotten.
pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<String, u64>>>,
    per_shard: usize,
    hasher: RandomState,
}

impl MemoryStore {
    pub fn new(max_keys: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: (max_keys / SHARDS).max(8),
            hasher: RandomState::new(),
        }
    }

    pub fn check(&self, key: &str, quota: Quota, now: u64) -> Decision {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        let tat = map.get(key).copied();
        let (decision, new_tat) = step(tat, now, quota);
        if let Some(new_tat) = new_tat {
            if tat.is_none() && map.len() >= self.per_shard {
                evict(&mut map, now, self.per_shard);
            }
            match map.get_mut(key) {
                Some(slot) => *slot = new_tat,
                None => {
                    map.insert(key.to_owned(), new_tat);
                }
            }
        }
        decision
    }

    /// The number of buckets held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict(map: &mut HashMap<String, u64>, now: u64, cap: usize) {
    map.retain(|_, tat| *tat > now);
    if map.len() < cap {
        return;
    }
    let mut tats: Vec<u64> = map.values().copied().collect();
    let nth = tats.len() / 8;
    let (_, threshold, _) = tats.select_nth_unstable(nth);
    let threshold = *threshold;
    map.retain(|_, tat| *tat > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000;

    #[test]
    fn limit_requests_pass_then_one_per_interval() {
        let q = Quota::new(10, Duration::from_secs(60));
        let store = MemoryStore::new(1000);
        let now = 1_000 * SEC;
        for i in 0..10 {
            let d = store.check("k", q, now);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let d = store.check("k", q, now);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_secs(6));
        assert_eq!(d.reset_after, Duration::from_secs(60));
        // A refused request does not consume: after one interval exactly one more passes.
        assert!(store.check("k", q, now + 6 * SEC).allowed);
        assert!(!store.check("k", q, now + 6 * SEC).allowed);
        // After a whole window the allowance is whole again.
        let d = store.check("k", q, now + 200 * SEC);
        assert!(d.allowed);
        assert_eq!(d.remaining, 9);
    }

    #[test]
    fn first_request_reports_one_interval_to_reset() {
        let q = Quota::new(100, Duration::from_secs(60));
        let (d, tat) = step(None, 5 * SEC, q);
        assert!(d.allowed);
        assert_eq!(d.remaining, 99);
        assert_eq!(d.reset_after, Duration::from_millis(600));
        assert_eq!(tat, Some(5 * SEC + 600_000));
    }

    #[test]
    fn odd_limits_still_allow_exactly_limit_at_once() {
        for limit in [1, 3, 7, 13, 299, 300, 1000] {
            let q = Quota::new(limit, Duration::from_secs(60));
            let store = MemoryStore::new(100);
            let passed = (0..limit + 5).filter(|_| store.check("k", q, SEC).allowed).count();
            assert_eq!(passed, limit as usize, "limit {limit}");
        }
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_clients() {
        let q = Quota::new(100, Duration::from_secs(60));
        let store = MemoryStore::new(10_000);
        let now = 1_000 * SEC;
        // A client well over its limit before the flood.
        for _ in 0..100 {
            store.check("anon:203.0.113.9", q, now);
        }
        for i in 0..150_000u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            assert!(store.check(&format!("anon:{ip}"), q, now).allowed);
            assert!(store.len() <= 10_000 + SHARDS, "{} keys", store.len());
        }
        assert!(store.len() <= 10_000);
        // The flood did not give the heavy client a fresh allowance.
        assert!(!store.check("anon:203.0.113.9", q, now).allowed);
    }

    #[test]
    fn expired_buckets_are_dropped_first() {
        let q = Quota::new(10, Duration::from_secs(60));
        let store = MemoryStore::new(16 * 8);
        for i in 0..1_000 {
            store.check(&format!("k{i}"), q, i * 10 * SEC);
        }
        assert!(store.len() <= 16 * 8);
    }
}
