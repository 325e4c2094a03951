//! The threat guard (spec §8): blocks scanners, probe paths and attack patterns in query strings with
//! 403 `blocked`, and an IP with 3 blocked requests within an hour for the next hour.
//!
//! The strike table is per instance and capped, like the limiter's memory store: a flood of distinct
//! attacking IPs cannot grow it past `MAX_OFFENDERS`.

pub mod rules;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use self::rules::Reason;
use crate::error::Code;
use crate::{error::ApiError, http::context::RequestContext, state::AppState};

/// Blocked requests within `STRIKE_WINDOW` that get an IP blocked.
pub const STRIKES: usize = 3;
pub const STRIKE_WINDOW: Duration = Duration::from_secs(3600);
pub const BLOCK_FOR: Duration = Duration::from_secs(3600);
pub const MAX_OFFENDERS: usize = 100_000;

#[derive(Debug)]
struct Offender {
    strikes: Vec<Instant>,
    blocked_until: Option<Instant>,
    last_seen: Instant,
}

impl Offender {
    fn is_blocked(&self, now: Instant) -> bool {
        self.blocked_until.is_some_and(|t| now < t)
    }

    /// Whether this entry still matters: blocked, or a strike that has not aged out.
    fn is_live(&self, now: Instant) -> bool {
        self.is_blocked(now) || self.strikes.iter().any(|t| now.duration_since(*t) < STRIKE_WINDOW)
    }
}

/// IPs with recent blocked requests.
pub struct ThreatGuard {
    offenders: Mutex<HashMap<IpAddr, Offender>>,
    cap: usize,
}

impl Default for ThreatGuard {
    fn default() -> Self {
        Self::with_capacity(MAX_OFFENDERS)
    }
}

impl ThreatGuard {
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            offenders: Mutex::new(HashMap::new()),
            cap: cap.max(8),
        }
    }

    pub fn is_blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let map = self.offenders.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&ip).is_some_and(|o| o.is_blocked(now))
    }

    /// Records a blocked request; returns true when this strike blocks the IP.
    pub fn strike(&self, ip: IpAddr, now: Instant) -> bool {
        let mut map = self.offenders.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(&ip) && map.len() >= self.cap {
            evict(&mut map, now, self.cap);
        }
        let o = map.entry(ip).or_insert_with(|| Offender {
            strikes: Vec::with_capacity(STRIKES),
            blocked_until: None,
            last_seen: now,
        });
        o.last_seen = now;
        o.strikes.retain(|t| now.duration_since(*t) < STRIKE_WINDOW);
        o.strikes.push(now);
        if o.strikes.len() >= STRIKES {
            o.strikes.clear();
            o.blocked_until = Some(now + BLOCK_FOR);
            return true;
        }
        false
    }

    /// The number of IPs remembered.
    pub fn len(&self) -> usize {
        self.offenders.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Forgets what no longer matters; if the table is still full, the least recently seen eighth of the
/// unblocked IPs (or, failing that, of all IPs).
fn evict(map: &mut HashMap<IpAddr, Offender>, now: Instant, cap: usize) {
    map.retain(|_, o| o.is_live(now));
    if map.len() < cap {
        return;
    }
    let mut seen: Vec<Instant> = map.values().map(|o| o.last_seen).collect();
    let nth = seen.len() / 8;
    let threshold = *seen.select_nth_unstable(nth).1;
    let before = map.len();
    map.retain(|_, o| o.is_blocked(now) || o.last_seen > threshold);
    if map.len() == before {
        map.retain(|_, o| o.last_seen > threshold);
    }
}

fn blocked(reason: Reason) -> Response {
    metrics::counter!("security_threat_blocks_total", "reason" => reason.label()).increment(1);
    ApiError::new(
        StatusCode::FORBIDDEN,
        Code::Blocked,
        "This request was blocked by the threat filter.",
    )
    .into_response()
}

pub async fn threat_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.settings.security.threat_detection {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.client_ip)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    // Strikes count per IPv4 address or IPv6 /64 (spec §6): one host cannot shed its block by hopping addresses.
    let ip = crate::http::client_ip::bucket(ip);
    let now = Instant::now();
    if state.threats.is_blocked(ip, now) {
        return blocked(Reason::IpBlocked);
    }
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let reason = if rules::scanner(&user_agent) {
        Some(Reason::ScannerUserAgent)
    } else {
        rules::probe_path(req.uri().path()).or_else(|| rules::query(req.uri().query().unwrap_or_default()))
    };
    let Some(reason) = reason else {
        return next.run(req).await;
    };
    // The query is left out of the log: it is the attacker's payload and may hold anything.
    tracing::warn!(reason = reason.label(), method = %req.method(), path = %req.uri().path(), "threat blocked");
    if state.threats.strike(ip, now) {
        tracing::warn!(client_ip = %ip, for_secs = BLOCK_FOR.as_secs(), "IP blocked after repeated threats");
    }
    blocked(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_strike_within_an_hour_blocks_for_an_hour() {
        let guard = ThreatGuard::default();
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(!guard.strike(ip, t0));
        // A strike that aged out does not count.
        assert!(!guard.strike(ip, t0 + Duration::from_secs(3700)));
        assert!(!guard.strike(ip, t0 + Duration::from_secs(3800)));
        assert!(!guard.is_blocked(ip, t0 + Duration::from_secs(3801)));
        assert!(guard.strike(ip, t0 + Duration::from_secs(3900)));
        assert!(guard.is_blocked(ip, t0 + Duration::from_secs(3901)));
        assert!(guard.is_blocked(ip, t0 + Duration::from_secs(3900 + 3599)));
        assert!(!guard.is_blocked(ip, t0 + Duration::from_secs(3900 + 3600)));
    }

    #[test]
    fn the_table_is_bounded_and_keeps_blocked_ips() {
        let guard = ThreatGuard::with_capacity(1_000);
        let t0 = Instant::now();
        let bad: IpAddr = "203.0.113.66".parse().unwrap();
        for _ in 0..STRIKES {
            guard.strike(bad, t0);
        }
        for i in 0..150_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            guard.strike(ip, t0 + Duration::from_millis(u64::from(i)));
            assert!(guard.len() <= 1_000);
        }
        assert!(guard.is_blocked(bad, t0 + Duration::from_secs(200)));
    }
}
