//! Which requests are limited, in which tier, under which bucket key (spec §6).

use std::net::IpAddr;

use axum::{
    extract::{MatchedPath, Request},
    http::{Method, header},
};

use super::gcra::Quota;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Auth,
    /// `POST /auth/refresh`: per session (resolved in the middleware from the presented token).
    Refresh,
    User,
    Anon,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Auth => "auth",
            Tier::Refresh => "refresh",
            Tier::User => "user",
            Tier::Anon => "anon",
        }
    }
}

/// The `auth` tier: each route has its own per-IP bucket.
const AUTH_ROUTES: &[&str] = &[
    "/api/v1/auth/register",
    "/api/v1/auth/token",
    "/api/v1/auth/login",
    "/api/v1/auth/verify-email",
    "/api/v1/auth/verify-email/resend",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
];
const TWO_FACTOR_PREFIX: &str = "/api/v1/auth/2fa/";
/// Anonymous ticket creation is an `auth`-tier route too (a contact form is a spam target). Matched
/// by method and path, so it is limited whether or not the support room is mounted.
pub const SUPPORT_TICKETS: &str = "/api/v1/support/tickets";

/// The `refresh` tier's route: limited per session; a token that matches no session counts in the
/// client IP's `auth` bucket of this route instead.
pub const REFRESH_ROUTE: &str = "/api/v1/auth/refresh";

/// Routes that sign in with an email and password: also limited per IP + email, across both routes.
pub const LOGIN_ROUTES: &[&str] = &["/api/v1/auth/login", "/api/v1/auth/token"];

/// `/health`, `/ready`, `/metrics`, `/docs`, static assets and the web app (everything outside `/api/`),
/// and every `OPTIONS` request, are neither limited nor given rate-limit headers.
pub fn is_exempt(method: &Method, path: &str) -> bool {
    method == Method::OPTIONS || !(path == "/api" || path.starts_with("/api/"))
}

/// How one request is limited.
pub struct Plan {
    pub tier: Tier,
    pub quota: Quota,
    pub key: String,
    /// The `route` label of `rate_limit_violations_total`: the matched route template.
    pub route: String,
    /// Whether the request also counts against its IP + email bucket.
    pub login: bool,
    /// The access token, verified here: handed on to the authentication extractor (one check a request).
    pub access: Option<crate::auth::tokens::AccessClaims>,
}

pub fn classify(req: &Request, state: &AppState, ip: IpAddr) -> Plan {
    let path = req.uri().path();
    let limiter = &state.limiter;
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let has_authorization = req.headers().contains_key(header::AUTHORIZATION);

    // Route labels and keys come from fixed strings or the router's templates, never from the raw
    // path: random paths must not mint metric series.
    let auth_route = if let Some(route) = AUTH_ROUTES.iter().find(|r| **r == path) {
        Some(route.to_string())
    } else if path.starts_with(TWO_FACTOR_PREFIX) {
        Some(matched.clone().unwrap_or_else(|| "<unmatched>".to_string()))
    } else if path == SUPPORT_TICKETS && req.method() == Method::POST && !has_authorization {
        Some(SUPPORT_TICKETS.to_string())
    } else {
        None
    };
    if path == REFRESH_ROUTE && req.method() == Method::POST {
        // Provisional: the middleware reads the token and moves the request to its session's bucket.
        return Plan {
            tier: Tier::Refresh,
            quota: limiter.auth,
            key: auth_key(REFRESH_ROUTE, ip),
            login: false,
            route: REFRESH_ROUTE.to_string(),
            access: None,
        };
    }
    if let Some(route) = auth_route {
        return Plan {
            tier: Tier::Auth,
            quota: limiter.auth,
            key: auth_key(&route, ip),
            login: req.method() == Method::POST && LOGIN_ROUTES.contains(&path),
            route,
            access: None,
        };
    }

    let route = matched.unwrap_or_else(|| "<unmatched>".to_string());
    // A valid access token (signature and expiry; no database round trip here) makes a `user` request.
    let user = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, token)| state.tokens.verify(token.trim()));
    match user {
        Some(claims) => Plan {
            tier: Tier::User,
            quota: limiter.user,
            key: format!("user:{}:{}", claims.user_id, client_key(ip)),
            route,
            login: false,
            access: Some(claims),
        },
        None => Plan {
            tier: Tier::Anon,
            quota: limiter.anon,
            key: format!("anon:{}", client_key(ip)),
            route,
            login: false,
            access: None,
        },
    }
}

/// The per-route, per-client bucket of the `auth` tier.
pub fn auth_key(route: &str, ip: IpAddr) -> String {
    format!("auth:{route}:{}", client_key(ip))
}

/// The client part of a bucket key: the IPv4 address, or the IPv6 `/64` (spec §6) — one host holds a
/// whole /64, so per-address buckets would let it mint fresh allowances at will.
pub fn client_key(ip: IpAddr) -> String {
    crate::http::client_ip::bucket(ip).to_string()
}

/// The IP + email bucket of a sign-in. The email is hashed: addresses never sit in Redis or memory keys.
pub fn login_key(ip: IpAddr, email: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(email.trim().to_lowercase().as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("login:{}:{hex}", client_key(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions() {
        for path in [
            "/health",
            "/ready",
            "/metrics",
            "/docs/",
            "/",
            "/assets/app.js",
            "/apix",
        ] {
            assert!(is_exempt(&Method::GET, path), "{path}");
        }
        assert!(is_exempt(&Method::OPTIONS, "/api/v1/auth/login"));
        assert!(!is_exempt(&Method::GET, "/api/v1/config"));
        assert!(!is_exempt(&Method::POST, "/api"));
    }

    #[test]
    fn login_keys_hide_the_email_and_ignore_case() {
        let ip: IpAddr = "203.0.113.4".parse().unwrap();
        let a = login_key(ip, " Alice@Example.com ");
        assert_eq!(a, login_key(ip, "alice@example.com"));
        assert!(!a.contains("alice"));
        assert_ne!(a, login_key("203.0.113.5".parse().unwrap(), "alice@example.com"));
        // One IPv6 /64 is one client.
        assert_eq!(
            login_key("2001:db8:1:2::1".parse().unwrap(), "a@b.co"),
            login_key("2001:db8:1:2:ffff::9".parse().unwrap(), "a@b.co")
        );
        assert_ne!(
            login_key("2001:db8:1:2::1".parse().unwrap(), "a@b.co"),
            login_key("2001:db8:1:3::1".parse().unwrap(), "a@b.co")
        );
    }
}
