//! Rate limiting (spec §6): tiers, headers, 429s, exemptions, CORS on 429, preflights, Redis sharing and
//! fallback. Each limiting test runs in memory, and again on Redis when `TEST_REDIS_URL` is set.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::{Method, Response};
use serde_json::json;

use crate::support::{TestApp, assert_problem, test_redis_url};

/// The value of one sample of `/metrics` (0 when absent): `labels` must all be on the line.
pub async fn metric(app: &TestApp, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    metric_in(&text, name, labels)
}

pub fn metric_in(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Where buckets live in one run of a test.
pub enum Mode {
    Memory,
    Redis(String),
}

impl Mode {
    /// Memory always; Redis too when available. Each Redis run gets its own key prefix, so parallel
    /// tests never share buckets.
    pub fn all() -> Vec<Mode> {
        let mut modes = vec![Mode::Memory];
        match test_redis_url() {
            Some(url) => modes.push(Mode::Redis(url)),
            None => crate::support::skipped("its Redis run needs TEST_REDIS_URL"),
        }
        modes
    }

    /// Starts an app with limiting on, `overrides`, and this mode's back-end.
    pub async fn spawn(&self, overrides: &[(&str, &str)]) -> TestApp {
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let mut all: Vec<(&str, &str)> = vec![("RATE_LIMITING", "true")];
        if let Mode::Redis(url) = self {
            all.push(("REDIS_URL", url));
            all.push(("RATE_LIMIT_REDIS_PREFIX", &prefix));
        }
        all.extend_from_slice(overrides);
        TestApp::spawn_with(&all).await
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mode::Memory => "memory",
            Mode::Redis(_) => "redis",
        }
    }
}

fn header(res: &Response, name: &str) -> Option<String> {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

fn remaining(res: &Response) -> u32 {
    header(res, "x-ratelimit-remaining")
        .expect("x-ratelimit-remaining")
        .parse()
        .unwrap()
}

const RATE_HEADERS: &[&str] = &[
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
];

fn assert_no_rate_headers(res: &Response) {
    for name in RATE_HEADERS {
        assert!(res.headers().get(*name).is_none(), "{name} on {}", res.url());
    }
}

fn wrong_login(app: &TestApp, email: &str) -> impl std::future::Future<Output = Response> + use<> {
    app.post_json(
        "/api/v1/auth/login",
        &json!({"email": email, "password": "not the password"}),
    )
}

#[tokio::test]
async fn login_brute_force_meets_429_by_the_11th_try() {
    for mode in Mode::all() {
        let app = mode.spawn(&[]).await;
        let user = app.register_user().await;
        let route = [("tier", "auth"), ("route", "/api/v1/auth/login")];
        let before = metric(&app, "rate_limit_violations_total", &route).await;
        // The limiter reads the sign-in body and hands it on intact.
        let res = app.login(&user.email, &user.password).await;
        assert_eq!(res.status(), 200, "{}", mode.name());
        assert_eq!(remaining(&res), 9);
        for i in 0..9u32 {
            let res = wrong_login(&app, &user.email).await;
            assert_eq!(res.status(), 401, "{} try {}", mode.name(), i + 2);
            assert_eq!(remaining(&res), 8 - i, "{}", mode.name());
            assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"auth\";q=10;w=60");
        }
        // Even the right password is refused now: every attempt counted, failed ones too.
        let res = app.login(&user.email, &user.password).await;
        let retry: u64 = header(&res, "retry-after").expect("retry-after").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(header(&res, "x-ratelimit-limit").unwrap(), "10");
        assert_eq!(remaining(&res), 0);
        assert!(header(&res, "ratelimit").unwrap().starts_with("\"auth\";r=0;t="));
        assert!(res.headers().contains_key("x-trace-id"));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_problem(res, 429, "rate_limited").await;
        let after = metric(&app, "rate_limit_violations_total", &route).await;
        assert!(after >= before + 1.0, "{before} → {after}");
        // Other auth routes have their own buckets.
        let res = app
            .post_json("/api/v1/auth/password-reset", &json!({"email": user.email}))
            .await;
        assert_eq!(res.status(), 202, "{}", mode.name());
    }
}

#[tokio::test]
async fn limited_responses_carry_every_header_and_exempt_ones_none() {
    for mode in Mode::all() {
        let app = mode.spawn(&[]).await;
        let res = app.get("/api/v1/config").await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "x-ratelimit-limit").unwrap(), "100");
        assert_eq!(remaining(&res), 99);
        assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"anon\";q=100;w=60");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let reset: u64 = header(&res, "x-ratelimit-reset").unwrap().parse().unwrap();
        // One request used 0.6 s of a 60 s allowance: whole again within a second or two.
        assert!((now..=now + 2).contains(&reset), "{reset} vs {now}");
        assert_eq!(header(&res, "ratelimit").unwrap(), "\"anon\";r=99;t=1");
        // Errors count and carry headers too.
        let res = app.get("/api/v1/nope").await;
        assert_eq!(res.status(), 404);
        assert_eq!(remaining(&res), 98);

        for path in ["/health", "/ready", "/metrics", "/docs/", "/", "/assets/missing.js"] {
            let res = app.get(path).await;
            assert_no_rate_headers(&res);
        }
        let res = app.request(Method::OPTIONS, "/api/v1/config").send().await.unwrap();
        assert_no_rate_headers(&res);
        // None of those counted.
        assert_eq!(remaining(&app.get("/api/v1/config").await), 97, "{}", mode.name());
    }
}

#[tokio::test]
async fn limiting_off_sends_no_headers() {
    let app = TestApp::spawn_with(&[("RATE_LIMITING", "false"), ("RATE_LIMIT_ANON", "1")]).await;
    for _ in 0..3 {
        let res = app.get("/api/v1/config").await;
        assert_eq!(res.status(), 200);
        assert_no_rate_headers(&res);
    }
}

#[tokio::test]
async fn a_429_to_an_allowed_origin_has_cors_headers_and_preflights_are_free() {
    for mode in Mode::all() {
        let app = mode
            .spawn(&[("RATE_LIMIT_ANON", "2"), ("CORS_ORIGINS", "https://app.example.com")])
            .await;
        for _ in 0..5 {
            let res = app
                .request(Method::OPTIONS, "/api/v1/config")
                .header("origin", "https://app.example.com")
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
            assert_no_rate_headers(&res);
        }
        let get = || {
            app.request(Method::GET, "/api/v1/config")
                .header("origin", "https://app.example.com")
                .send()
        };
        assert_eq!(remaining(&get().await.unwrap()), 1, "{}", mode.name());
        assert_eq!(remaining(&get().await.unwrap()), 0);
        let res = get().await.unwrap();
        assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(res.headers()["access-control-allow-credentials"], "true");
        let exposed = header(&res, "access-control-expose-headers").unwrap().to_lowercase();
        assert!(exposed.contains("retry-after") && exposed.contains("x-ratelimit-remaining"));
        assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"anon\";q=2;w=60");
        assert_problem(res, 429, "rate_limited").await;
    }
}

#[tokio::test]
async fn signed_in_requests_use_the_user_tier_per_user() {
    for mode in Mode::all() {
        let app = mode.spawn(&[("RATE_LIMIT_USER", "3"), ("RATE_LIMIT_ANON", "2")]).await;
        let alice = app.register_user().await;
        let bob = app.register_user().await;
        for expected in [2, 1, 0] {
            let res = app
                .authed(Method::GET, "/api/v1/users/me", &alice)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"user\";q=3;w=60");
            assert_eq!(remaining(&res), expected);
        }
        let res = app
            .authed(Method::GET, "/api/v1/users/me", &alice)
            .send()
            .await
            .unwrap();
        assert_eq!(header(&res, "ratelimit").unwrap().split(';').next(), Some("\"user\""));
        assert_problem(res, 429, "rate_limited").await;
        // Another user from the same address has an allowance of their own, and so do anonymous calls.
        let res = app.authed(Method::GET, "/api/v1/users/me", &bob).send().await.unwrap();
        assert_eq!((res.status().as_u16(), remaining(&res)), (200, 2), "{}", mode.name());
        let res = app.get("/api/v1/config").await;
        assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"anon\";q=2;w=60");
        assert_eq!(remaining(&res), 1);
        // A token that does not verify is anonymous traffic (and the handler still answers 401).
        let res = app
            .request(Method::GET, "/api/v1/users/me")
            .bearer_auth("not.a.token")
            .send()
            .await
            .unwrap();
        assert_eq!(remaining(&res), 0);
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn auth_routes_have_a_bucket_each() {
    for mode in Mode::all() {
        let app = mode.spawn(&[("RATE_LIMIT_AUTH", "2")]).await;
        for path in [
            "/api/v1/auth/password-reset",
            "/api/v1/auth/verify-email/resend",
            "/api/v1/auth/verify-email",
            "/api/v1/auth/password-reset/confirm",
            "/api/v1/auth/refresh",
            "/api/v1/auth/2fa/setup",
        ] {
            for _ in 0..2 {
                let res = app.post_json(path, &json!({"email": "x@example.com"})).await;
                assert_ne!(res.status(), 429, "{path}");
                assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"auth\";q=2;w=60", "{path}");
            }
            let res = app.post_json(path, &json!({"email": "x@example.com"})).await;
            assert_problem(res, 429, "rate_limited").await;
        }
        // Anonymous ticket creation is an auth-tier route (matched even before the route exists)…
        for _ in 0..2 {
            let res = app.post_json("/api/v1/support/tickets", &json!({})).await;
            assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"auth\";q=2;w=60");
        }
        let res = app.post_json("/api/v1/support/tickets", &json!({})).await;
        assert_eq!(res.status(), 429);
        // …but a signed-in one is not.
        let res = app
            .request(Method::POST, "/api/v1/support/tickets")
            .bearer_auth("anything")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&res, "ratelimit-policy").unwrap(),
            "\"anon\";q=100;w=60",
            "{}",
            mode.name()
        );
    }
}

#[tokio::test]
async fn one_account_is_limited_per_address_across_login_and_token() {
    for mode in Mode::all() {
        let app = mode.spawn(&[("RATE_LIMIT_AUTH", "3")]).await;
        for _ in 0..3 {
            assert_eq!(wrong_login(&app, "victim@example.com").await.status(), 401);
        }
        let token = |username: &str| {
            app.request(Method::POST, "/api/v1/auth/token")
                .form(&[("username", username), ("password", "wrong password")])
                .send()
        };
        // The token route's own bucket is untouched, but this account's is spent.
        let res = token("Victim@Example.com").await.unwrap();
        assert_eq!(remaining(&res), 2, "{}", mode.name());
        assert_problem(res, 429, "rate_limited").await;
        let res = token("someone-else@example.com").await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(remaining(&res), 1);
    }
}

#[tokio::test]
async fn forwarded_addresses_are_limited_apart_only_behind_trusted_proxies() {
    let from = |app: &TestApp, ip: &str| {
        app.request(Method::GET, "/api/v1/config")
            .header("x-forwarded-for", ip)
            .send()
    };
    let app = Mode::Memory
        .spawn(&[("RATE_LIMIT_ANON", "1"), ("TRUSTED_PROXIES", "127.0.0.1/32")])
        .await;
    assert_eq!(from(&app, "198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(from(&app, "198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(from(&app, "198.51.100.2").await.unwrap().status(), 200);

    let app = Mode::Memory.spawn(&[("RATE_LIMIT_ANON", "1")]).await;
    assert_eq!(from(&app, "198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(from(&app, "198.51.100.2").await.unwrap().status(), 429);
}

#[tokio::test]
async fn two_instances_on_one_redis_share_one_allowance() {
    let Some(url) = test_redis_url() else {
        return crate::support::skipped("needs TEST_REDIS_URL");
    };
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let settings = [
        ("RATE_LIMITING", "true"),
        ("RATE_LIMIT_ANON", "5"),
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_REDIS_PREFIX", prefix.as_str()),
    ];
    let a = TestApp::spawn_with(&settings).await;
    let b = TestApp::spawn_with(&settings).await;
    assert_eq!(remaining(&a.get("/api/v1/config").await), 4);
    assert_eq!(remaining(&b.get("/api/v1/config").await), 3);
    assert_eq!(remaining(&a.get("/api/v1/config").await), 2);
    assert_eq!(remaining(&b.get("/api/v1/config").await), 1);
    assert_eq!(remaining(&a.get("/api/v1/config").await), 0);
    assert_problem(b.get("/api/v1/config").await, 429, "rate_limited").await;
    assert_problem(a.get("/api/v1/config").await, 429, "rate_limited").await;
    assert_eq!(a.state.limiter.fallbacks() + b.state.limiter.fallbacks(), 0);
    let ready = a.get("/ready").await;
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn a_dead_redis_falls_back_to_memory_and_says_so_once() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMITING", "true"),
        ("RATE_LIMIT_ANON", "3"),
        ("REDIS_URL", "redis://127.0.0.1:1"),
    ])
    .await;
    let started = std::time::Instant::now();
    for expected in [2, 1, 0] {
        let res = app.get("/api/v1/config").await;
        assert_eq!(res.status(), 200);
        assert_eq!(remaining(&res), expected);
    }
    for _ in 0..10 {
        assert_problem(app.get("/api/v1/config").await, 429, "rate_limited").await;
    }
    assert!(started.elapsed().as_secs() < 5, "fallback must be quick");
    assert_eq!(app.state.limiter.fallbacks(), 1, "one outage, one log line");
    assert!(app.state.limiter.is_degraded());
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["redis"], "error");
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn anonymous_tickets_use_the_auth_tier_and_signed_in_ones_the_user_tier() {
    for mode in Mode::all() {
        let app = mode.spawn(&[("RATE_LIMIT_AUTH", "2"), ("RATE_LIMIT_USER", "50")]).await;
        let ticket = || {
            app.post_json(
                "/api/v1/support/tickets",
                &json!({"email": "g@example.com", "subject": "S", "message": "M"}),
            )
        };
        for _ in 0..2 {
            let res = ticket().await;
            assert_eq!(res.status(), 201, "{}", mode.name());
            assert!(header(&res, "ratelimit-policy").unwrap().starts_with("\"auth\""));
        }
        let res = ticket().await;
        assert!(res.headers().contains_key("retry-after"));
        assert_problem(res, 429, "rate_limited").await;

        // A signed-in user's ticket counts against the user tier instead.
        let user = app.register_user().await;
        let res = app
            .authed(Method::POST, "/api/v1/support/tickets", &user)
            .json(&json!({"subject": "S", "message": "M"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", mode.name());
        assert!(header(&res, "ratelimit-policy").unwrap().starts_with("\"user\""));
    }
}

/// The limiter keys IPv6 clients by their /64 (spec §6): fresh addresses from one /64 share one bucket.
#[tokio::test]
async fn ipv6_addresses_of_one_64_share_a_bucket() {
    for mode in Mode::all() {
        let from = |app: &TestApp, ip: &str| {
            app.request(Method::GET, "/api/v1/config")
                .header("x-forwarded-for", ip)
                .send()
        };
        let app = mode
            .spawn(&[("RATE_LIMIT_ANON", "2"), ("TRUSTED_PROXIES", "127.0.0.1/32")])
            .await;
        assert_eq!(from(&app, "2001:db8:1:2::1").await.unwrap().status(), 200);
        assert_eq!(from(&app, "2001:db8:1:2::2").await.unwrap().status(), 200);
        let res = from(&app, "2001:db8:1:2:abcd:ef01:2345:6789").await.unwrap();
        assert_problem(res, 429, "rate_limited").await;
        assert_eq!(
            from(&app, "2001:db8:1:3::1").await.unwrap().status(),
            200,
            "{}",
            mode.name()
        );
        // IPv4 stays per address.
        assert_eq!(from(&app, "198.51.100.1").await.unwrap().status(), 200);
        assert_eq!(from(&app, "198.51.100.2").await.unwrap().status(), 200);
    }
}

/// After 10 failed sign-ins for one email within 15 minutes — from any number of addresses, on any
/// instance — the account is locked: 429 with `Retry-After`, even for the right password or through the
/// other sign-in route; a success before that resets the count (spec §1.3). The limiter itself is off
/// here, so only the account lock can refuse.
#[tokio::test]
async fn failed_sign_ins_lock_the_account_from_any_address_on_any_instance() {
    let app = TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    // A second instance on the same database.
    let other = TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32"), ("DATABASE_URL", &app.db.url)]).await;
    let user = app.register_user().await;
    let attempt = |app: &TestApp, ip: &str, password: &str| {
        app.request(Method::POST, "/api/v1/auth/login")
            .header("x-forwarded-for", ip)
            .json(&json!({"email": user.email.to_uppercase(), "password": password}))
            .send()
    };
    // Nine failures, then a success: the count starts again.
    for i in 0..9 {
        let res = attempt(&app, &format!("198.51.100.{i}"), "wrong password")
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_credentials").await;
    }
    assert_eq!(
        attempt(&app, "198.51.100.99", &user.password).await.unwrap().status(),
        200
    );
    // Ten failures from ten addresses, spread over two instances.
    for i in 0..10 {
        let instance = if i % 2 == 0 { &app } else { &other };
        let res = attempt(instance, &format!("203.0.113.{i}"), "wrong password")
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_credentials").await;
    }
    let locked = [("tier", "account"), ("route", "/api/v1/auth/login")];
    let before = metric(&app, "rate_limit_violations_total", &locked).await;
    for (instance, password) in [
        (&app, user.password.as_str()),
        (&other, user.password.as_str()),
        (&app, "wrong"),
    ] {
        let res = attempt(instance, "192.0.2.200", password).await.unwrap();
        let retry: u64 = header(&res, "retry-after").expect("retry-after").parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert_problem(res, 429, "rate_limited").await;
    }
    // The recorder is process-wide: both instances count into it.
    assert!(metric(&app, "rate_limit_violations_total", &locked).await >= before + 3.0);
    let res = app
        .request(Method::POST, "/api/v1/auth/token")
        .form(&[("username", user.email.as_str()), ("password", user.password.as_str())])
        .send()
        .await
        .unwrap();
    assert_problem(res, 429, "rate_limited").await;
    // Another account is not affected; the window passing unlocks this one.
    let bystander = app.register_user().await;
    assert_eq!(app.login(&bystander.email, &bystander.password).await.status(), 200);
    let mut tx = app.state.db.begin().await.unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE login_failures SET window_started_at = $1"
    )
    .bind(neoforge::db::now() - chrono::Duration::minutes(16))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        attempt(&other, "192.0.2.200", &user.password).await.unwrap().status(),
        200
    );
}

/// `/auth/refresh` is limited per session in its own tier (spec §6): many users behind one address each
/// keep their allowance; a token that names no session spends the address's `auth` bucket instead.
#[tokio::test]
async fn refresh_is_limited_per_session() {
    for mode in Mode::all() {
        let app = mode
            .spawn(&[("RATE_LIMIT_AUTH", "2"), ("RATE_LIMIT_REFRESH", "3")])
            .await;
        let alice = app.register_user().await;
        let bob = app.register_user().await;
        let refresh = |token: &str| app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": token}));
        let mut token = alice.refresh.clone();
        for i in 0..3u32 {
            let res = refresh(&token).await;
            assert_eq!(res.status(), 200, "{} refresh {i}", mode.name());
            assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"refresh\";q=3;w=60");
            assert_eq!(remaining(&res), 2 - i);
            token = res.json::<serde_json::Value>().await.unwrap()["refresh_token"]
                .as_str()
                .unwrap()
                .to_string();
        }
        let res = refresh(&token).await;
        assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"refresh\";q=3;w=60");
        assert!(header(&res, "retry-after").is_some());
        assert_problem(res, 429, "rate_limited").await;
        // Bob, on the same address, has his own allowance (more than the auth tier's 2).
        let mut token = bob.refresh.clone();
        for _ in 0..3 {
            let res = refresh(&token).await;
            assert_eq!(res.status(), 200, "{}", mode.name());
            token = res.json::<serde_json::Value>().await.unwrap()["refresh_token"]
                .as_str()
                .unwrap()
                .to_string();
        }
        // Unknown tokens: the address's auth bucket (2), then 429.
        for _ in 0..2 {
            let res = refresh("not-a-token").await;
            assert_eq!(header(&res, "ratelimit-policy").unwrap(), "\"auth\";q=2;w=60");
            assert_problem(res, 401, "invalid_refresh_token").await;
        }
        assert_problem(refresh("not-a-token").await, 429, "rate_limited").await;
    }
}
