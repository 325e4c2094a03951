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
