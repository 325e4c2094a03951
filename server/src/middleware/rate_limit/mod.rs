//! Rate limiting (spec §6): the `RateLimiter` (memory, or Redis shared by all instances) and the
//! middleware that classifies each request, counts it, sets the headers and refuses with 429.

pub mod gcra;
pub mod shared;
pub mod tiers;

use std::{net::IpAddr, time::Duration};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use self::{
    gcra::{Decision, MemoryStore, Quota, now_us},
    shared::Shared,
    tiers::{Plan, Tier},
};
use crate::error::Code;
use crate::{cache::Redis, config::Settings, error::ApiError, http::context::RequestContext, state::AppState};

/// At most this many buckets are held in memory (a flood of distinct IPs cannot grow it further).
pub const MAX_MEMORY_KEYS: usize = 100_000;

/// The three tiers' quotas and where buckets live.
pub struct RateLimiter {
    pub auth: Quota,
    pub refresh: Quota,
    pub user: Quota,
    pub anon: Quota,
    memory: MemoryStore,
    shared: Option<Shared>,
}

impl RateLimiter {
    pub fn new(settings: &Settings, redis: Option<Redis>) -> Self {
        let window = settings.rate_limit.window;
        Self {
            auth: Quota::new(settings.rate_limit.auth, window),
            refresh: Quota::new(settings.rate_limit.refresh, window),
            user: Quota::new(settings.rate_limit.user, window),
            anon: Quota::new(settings.rate_limit.anon, window),
            memory: MemoryStore::new(MAX_MEMORY_KEYS),
            shared: redis.map(|r| Shared::new(r, &settings.rate_limit.redis_prefix)),
        }
    }

    /// Counts one request against `key`: in Redis when configured and answering, else in memory.
    pub async fn check(&self, key: &str, quota: Quota) -> Decision {
        if let Some(shared) = &self.shared
            && let Some(decision) = shared.check(key, quota).await
        {
            return decision;
        }
        self.memory.check(key, quota, now_us())
    }

    /// How many times the limiter fell back from Redis to memory (once per outage).
    pub fn fallbacks(&self) -> u64 {
        self.shared.as_ref().map_or(0, Shared::fallbacks)
    }

    /// Whether Redis is configured but currently failing.
    pub fn is_degraded(&self) -> bool {
        self.shared.as_ref().is_some_and(Shared::is_degraded)
    }
}

pub async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !state.settings.rate_limit.enabled || tiers::is_exempt(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.client_ip)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let mut plan = tiers::classify(&req, &state, ip);
    if let Some(access) = plan.access {
        req.extensions_mut().insert(access);
    }
    if plan.tier == Tier::Refresh {
        let (rebuilt, session) = match read_refresh_session(req, &state).await {
            Ok(pair) => pair,
            Err(res) => return res,
        };
        req = rebuilt;
        match session {
            Some(id) => {
                plan.quota = state.limiter.refresh;
                plan.key = format!("refresh:{id}");
            }
            // A token that names no session (unknown, rotated out, absent) is an `auth`-tier attempt of
            // this IP: guessing tokens costs the guesser's allowance, not a session's.
            None => plan.tier = Tier::Auth,
        }
    }
    let limiter = &state.limiter;
    let decision = limiter.check(&plan.key, plan.quota).await;
    let mut refused = (!decision.allowed).then_some(decision.retry_after);
    // A sign-in the route bucket allows also spends its IP + email bucket (the body is read only then).
    if refused.is_none() && plan.login {
        let (rebuilt, login_key) = match read_login_key(req, ip, state.settings.server.max_body_bytes).await {
            Ok(pair) => pair,
            Err(res) => return res,
        };
        req = rebuilt;
        if let Some(key) = login_key {
            let by_email = limiter.check(&key, plan.quota).await;
            if !by_email.allowed {
                refused = Some(by_email.retry_after);
            }
        }
    }

    let mut res = match refused {
        Some(retry_after) => {
            metrics::counter!(
                "rate_limit_violations_total",
                "tier" => plan.tier.name(),
                "route" => plan.route.clone()
            )
            .increment(1);
            too_many_requests(retry_after)
        }
        None => next.run(req).await,
    };
    set_headers(res.headers_mut(), &plan, &decision);
    res
}

fn too_many_requests(retry_after: Duration) -> Response {
    let secs = ceil_secs(retry_after).max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        format!("Too many requests; retry in {secs} s."),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(secs))
    .into_response()
}

static X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// The classic `X-RateLimit-*` trio and the draft-09 structured `RateLimit`/`RateLimit-Policy` pair.
fn set_headers(h: &mut HeaderMap, plan: &Plan, d: &Decision) {
    let tier = plan.tier.name();
    let reset_in = ceil_secs(d.reset_after);
    let reset_at = (now_us() + d.reset_after.as_micros() as u64).div_ceil(1_000_000);
    h.insert(X_RATELIMIT_LIMIT.clone(), HeaderValue::from(d.limit));
    h.insert(X_RATELIMIT_REMAINING.clone(), HeaderValue::from(d.remaining));
    h.insert(X_RATELIMIT_RESET.clone(), HeaderValue::from(reset_at));
    let policy = format!("\"{tier}\";q={};w={}", d.limit, plan.quota.window.as_secs());
    let state = format!("\"{tier}\";r={};t={reset_in}", d.remaining);
    for (name, value) in [(&RATELIMIT_POLICY, policy), (&RATELIMIT, state)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name.clone(), v);
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    (d.as_micros() as u64).div_ceil(1_000_000)
}

/// Buffers a refresh body (already capped by the body-limit layer) and finds the session its refresh
/// token — from the body, else the `nf_refresh` cookie — currently belongs to; gives the request back whole.
async fn read_refresh_session(req: Request, state: &AppState) -> Result<(Request, Option<uuid::Uuid>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = read_capped(body, state.settings.server.max_body_bytes).await?;
    let token = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("refresh_token")?.as_str().map(str::to_string))
        .filter(|t| !t.is_empty())
        .or_else(|| crate::auth::service::cookie_token(&parts.headers));
    let session = match token {
        Some(token) => crate::auth::store::session_id_by_refresh_hash(&state.db, &crate::crypto::sha256_hex(&token))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "rate limiter: session lookup failed; counting the refresh per IP");
                None
            }),
        None => None,
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), session))
}

async fn read_capped(body: Body, max: usize) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, max).await.map_err(|e| {
        let too_large = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::PayloadTooLarge,
                "The request body is larger than the server accepts.",
            )
        } else {
            ApiError::bad_request(Code::BadRequest, "The request body could not be read.")
        }
        .into_response()
    })
}

/// Buffers a sign-in body (already capped by the body-limit layer) to find the email it names, and
/// gives the request back whole.
async fn read_login_key(req: Request, ip: IpAddr, max: usize) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = read_capped(body, max).await?;
    let email = if parts.uri.path().ends_with("/token") {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "username")
            .map(|(_, v)| v.into_owned())
    } else {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("email")?.as_str().map(str::to_string))
    };
    let key = email.filter(|e| !e.trim().is_empty()).map(|e| tiers::login_key(ip, &e));
    Ok((Request::from_parts(parts, Body::from(bytes)), key))
}
