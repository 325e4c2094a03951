//! `GET /metrics`: Prometheus text, every family present from start-up, the optional bearer token.

use crate::{
    rate_limit::metric_in,
    support::{TestApp, assert_problem},
};

#[tokio::test]
async fn metrics_are_exported_with_every_family_described() {
    let app = TestApp::spawn_with(&[("RATE_LIMITING", "true"), ("RATE_LIMIT_ANON", "1")]).await;
    for _ in 0..3 {
        let res = app.get("/metrics").await;
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        // Not rate limited, even with a quota of one.
        assert!(res.headers().get("x-ratelimit-limit").is_none());
        let text = res.text().await.unwrap();
        for family in [
            "rate_limit_violations_total",
            "security_threat_blocks_total",
            "csp_reports_total",
        ] {
            assert!(text.contains(&format!("# HELP {family} ")), "HELP {family}:\n{text}");
            assert!(
                text.contains(&format!("# TYPE {family} counter")),
                "TYPE {family}:\n{text}"
            );
        }
    }
    assert_eq!(
        metric_in("x_total{a=\"1\"} 2\nx_total{a=\"2\"} 3\n", "x_total", &[]),
        5.0
    );
}

#[tokio::test]
async fn a_metrics_token_is_required_when_set() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", "scrape-me-0123456789")]).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_problem(res, 401, "not_authenticated").await;
    let res = app
        .request(reqwest::Method::GET, "/metrics")
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
    let res = app
        .request(reqwest::Method::GET, "/metrics")
        .bearer_auth("scrape-me-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("# TYPE csp_reports_total counter"));
}

#[tokio::test]
async fn every_family_of_the_spec_is_listed_from_start_up() {
    let app = TestApp::spawn().await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for (family, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("http_4xx_responses_total", "counter"),
        ("http_5xx_responses_total", "counter"),
        ("db_query_duration_seconds", "histogram"),
        ("db_pool_connections", "gauge"),
        ("rate_limit_violations_total", "counter"),
        ("security_threat_blocks_total", "counter"),
        ("idempotency_replays_total", "counter"),
        ("csp_reports_total", "counter"),
        ("auth_events_total", "counter"),
        ("job_queue_depth", "gauge"),
        ("neoforge_ready", "gauge"),
        ("jobs_failed_total", "counter"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}")),
            "{family} {kind}:\n{text}"
        );
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_probes_are_not() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let route = "/api/v1/projects/{id}";
    let labels = [("method", "GET"), ("route", route), ("status", "404")];
    let before_text = app.get("/metrics").await.text().await.unwrap();
    let before = metric_in(&before_text, "http_requests_total", &labels);
    let before_4xx = metric_in(&before_text, "http_4xx_responses_total", &[("route", route)]);
    let before_unmatched = metric_in(&before_text, "http_requests_total", &[("route", "<unmatched>")]);
    let before_health = metric_in(&before_text, "http_requests_total", &[("route", "/health")]);
    for _ in 0..3 {
        let path = format!("/api/v1/projects/{}", uuid::Uuid::now_v7());
        let res = app.authed(reqwest::Method::GET, &path, &user).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    app.get("/api/v1/no/such/route/at/all").await;
    app.get("/health").await;
    app.get("/ready").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(metric_in(&text, "http_requests_total", &labels) >= before + 3.0);
    assert!(metric_in(&text, "http_4xx_responses_total", &[("route", route)]) >= before_4xx + 3.0);
    assert!(metric_in(&text, "http_requests_total", &[("route", "<unmatched>")]) > before_unmatched);
    assert_eq!(
        metric_in(&text, "http_requests_total", &[("route", "/health")]),
        before_health
    );
    assert_eq!(before_health, 0.0, "probes are never counted");
    assert!(
        metric_in(&text, "http_request_duration_seconds_bucket", &[("route", route)]) > 0.0,
        "a histogram"
    );
    assert!(metric_in(&text, "auth_events_total", &[("event", "register")]) >= 1.0);
    assert!(text.contains("db_pool_connections{state=\"idle\"}"));
    assert!(!text.contains(&user.access), "no token in labels");
}

#[tokio::test]
async fn readiness_is_exported_as_a_gauge() {
    let app = TestApp::spawn().await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(metric_in(&text, "neoforge_ready", &[]), 1.0, "{text}");
    // Redis configured but unreachable: /ready is 503, and the gauge says so.
    let port = crate::support::free_port().to_string();
    let url = format!("redis://127.0.0.1:{port}");
    let broken = TestApp::spawn_with(&[("REDIS_URL", url.as_str())]).await;
    assert_eq!(broken.get("/ready").await.status(), 503);
    let text = broken.get("/metrics").await.text().await.unwrap();
    assert_eq!(metric_in(&text, "neoforge_ready", &[]), 0.0, "{text}");
}

#[tokio::test]
async fn process_families_describe_this_process() {
    let app = TestApp::spawn().await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for (family, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert!(text.contains(&format!("# TYPE {family} {kind}\n")), "{family}:\n{text}");
        assert_eq!(
            text.matches(&format!("# TYPE {family} ")).count(),
            1,
            "{family} described once"
        );
    }
    // The test process is this server's process: the values must be its own.
    let rss = metric_in(&text, "process_resident_memory_bytes", &[]);
    let own_rss_kib: f64 = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap();
    assert!(
        rss > 1e6 && (rss / 1024.0 - own_rss_kib).abs() < own_rss_kib * 0.5,
        "{rss} vs {own_rss_kib} KiB"
    );
    assert!(metric_in(&text, "process_open_fds", &[]) >= 3.0);
    let started = metric_in(&text, "process_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started > now - 3600.0 && started <= now + 1.0,
        "started {started}, now {now}"
    );
    assert!(metric_in(&text, "process_cpu_seconds_total", &[]) > 0.0);
}
