//! CSP reporting (spec §7) and the reporting headers of §8, in development and in production.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::{
    rate_limit::metric,
    support::{TestApp, assert_problem},
};

const ENDPOINT: &str = "/api/v1/security/csp-report";

fn post(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    app.request(Method::POST, ENDPOINT)
        .header("content-type", content_type)
        .body(body)
}

fn legacy(directive: &str) -> Value {
    json!({"csp-report": {
        "document-uri": "http://localhost:8000/reset-password?token=secret",
        "referrer": "",
        "violated-directive": directive,
        "effective-directive": directive,
        "original-policy": "default-src 'self'",
        "disposition": "enforce",
        "blocked-uri": "https://cdn.evil.example/x.js?k=v",
        "line-number": 3,
        "script-sample": "alert(1)",
        "status-code": 200
    }})
}

#[tokio::test]
async fn every_report_format_is_accepted() {
    let app = TestApp::spawn().await;
    let label = [("directive", "script-src-elem")];
    let before = metric(&app, "csp_reports_total", &label).await;

    let res = post(&app, "application/csp-report", legacy("script-src-elem").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = post(&app, "application/json", legacy("script-src-elem").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let reports = json!([
        {"type": "csp-violation", "age": 12, "url": "http://localhost:8000/projects?x=1",
         "user_agent": "Mozilla/5.0", "body": {
            "documentURL": "http://localhost:8000/projects?x=1", "referrer": null,
            "blockedURL": "inline", "effectiveDirective": "script-src-elem",
            "originalPolicy": "default-src 'self'", "sourceFile": null, "sample": "",
            "disposition": "report", "statusCode": 200, "lineNumber": 1, "columnNumber": 2}},
        {"type": "deprecation", "url": "http://localhost:8000/", "body": {"id": "x", "message": "m"}}
    ]);
    let res = post(&app, "application/reports+json", reports.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Charset parameters are fine.
    let res = post(
        &app,
        "application/json; charset=utf-8",
        legacy("script-src-elem").to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 204);
    // Security headers and ids on the 204 too.
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("x-request-id"));

    let after = metric(&app, "csp_reports_total", &label).await;
    assert!(after - before >= 4.0, "{before} → {after}");
}

#[tokio::test]
async fn oversized_reports_are_413_and_garbage_is_counted() {
    let app = TestApp::spawn().await;
    let big = format!(
        "{{\"csp-report\": {{\"script-sample\": \"{}\"}}}}",
        "a".repeat(70 * 1024)
    );
    let res = post(&app, "application/csp-report", big).send().await.unwrap();
    assert_problem(res, 413, "payload_too_large").await;

    let invalid = [("directive", "invalid")];
    let before = metric(&app, "csp_reports_total", &invalid).await;
    let garbage: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        b"".to_vec(),
        b"null".to_vec(),
        b"{\"csp-report\": 7}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01],
        b"[1, \"two\", null]".to_vec(),
        b"{\"deeply\": ".repeat(200),
    ];
    for body in garbage {
        let res = post(&app, "application/csp-report", body).send().await.unwrap();
        assert_eq!(res.status(), 204);
    }
    let after = metric(&app, "csp_reports_total", &invalid).await;
    assert!(after - before >= 7.0, "{before} → {after}");

    // Another media type is refused like on any other route.
    let res = post(&app, "text/plain", "hello").send().await.unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn reporting_off_means_no_headers_and_a_silent_endpoint() {
    let app = TestApp::spawn_with(&[("CSP_REPORTING", "false")]).await;
    let res = app.get("/api/v1/config").await;
    let h = res.headers();
    for name in [
        "reporting-endpoints",
        "report-to",
        "content-security-policy-report-only",
    ] {
        assert!(h.get(name).is_none(), "{name}");
    }
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("report-uri") && !csp.contains("report-to"), "{csp}");

    // `webrtc` is used by no other test, so its counter must not move.
    let label = [("directive", "webrtc")];
    let before = metric(&app, "csp_reports_total", &label).await;
    let res = post(&app, "application/csp-report", legacy("webrtc").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = post(&app, "application/csp-report", "garbage").send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(metric(&app, "csp_reports_total", &label).await, before);
}

fn reporting_headers(res: &Response) -> (String, String, Value, Option<String>) {
    let h = res.headers();
    let s = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_string());
    (
        s("content-security-policy").unwrap(),
        s("reporting-endpoints").expect("reporting-endpoints"),
        serde_json::from_str(&s("report-to").expect("report-to")).expect("report-to is JSON"),
        s("content-security-policy-report-only"),
    )
}

#[tokio::test]
async fn reporting_headers_outside_production() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/config", "/", "/api/v1/nope", "/health"] {
        let res = app.get(path).await;
        let (csp, endpoints, report_to, report_only) = reporting_headers(&res);
        assert!(
            csp.ends_with("; report-uri /api/v1/security/csp-report; report-to csp"),
            "{csp}"
        );
        assert!(csp.starts_with("default-src 'self'"));
        assert_eq!(endpoints, "csp=\"/api/v1/security/csp-report\"");
        assert_eq!(report_to["group"], "csp");
        assert!(report_to["max_age"].as_u64().unwrap() > 0);
        assert_eq!(
            report_to["endpoints"][0]["url"],
            "http://localhost:8000/api/v1/security/csp-report"
        );
        let report_only = report_only.expect("a report-only policy outside production");
        assert!(report_only.ends_with("; report-uri /api/v1/security/csp-report; report-to csp"));
        assert_ne!(report_only, csp, "the report-only policy is the stricter candidate");
        assert!(!report_only.contains("unsafe-inline") && !report_only.contains("unsafe-eval"));
    }

    let custom = "default-src 'none'; img-src 'self'";
    let app = TestApp::spawn_with(&[("CSP_REPORT_ONLY_POLICY", custom)]).await;
    let res = app.get("/api/v1/config").await;
    assert_eq!(
        res.headers()["content-security-policy-report-only"],
        "default-src 'none'; img-src 'self'; report-uri /api/v1/security/csp-report; report-to csp"
    );
}

const PRODUCTION: &[(&str, &str)] = &[
    ("ENVIRONMENT", "production"),
    ("SECRET_KEY", "a-production-secret-that-is-long-enough-1234"),
    ("PUBLIC_URL", "https://app.example.com"),
];

#[tokio::test]
async fn production_sends_the_production_header_set() {
    let app = TestApp::spawn_with(PRODUCTION).await;
    for path in ["/api/v1/config", "/", "/health", "/api/v1/missing"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert_eq!(h["strict-transport-security"], "max-age=31536000; includeSubDomains");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        assert_eq!(h["cross-origin-resource-policy"], "same-site");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(
            h["permissions-policy"],
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
        );
        assert!(h.get("server").is_none());
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-eval"));
        // Reporting is off by default in production.
        assert!(!csp.contains("report-uri"), "{csp}");
        for name in [
            "reporting-endpoints",
            "report-to",
            "content-security-policy-report-only",
        ] {
            assert!(h.get(name).is_none(), "{name} on {path}");
        }
    }
    let config: Value = app.get("/api/v1/config").await.json().await.unwrap();
    assert_eq!(config["csp_reporting"], false);

    // Turned on in production: the reporting headers, but no report-only trial policy.
    let mut settings = PRODUCTION.to_vec();
    settings.push(("CSP_REPORTING", "true"));
    let app = TestApp::spawn_with(&settings).await;
    let res = app.get("/api/v1/config").await;
    let (csp, _, report_to, report_only) = reporting_headers(&res);
    assert!(csp.ends_with("report-to csp"));
    assert_eq!(
        report_to["endpoints"][0]["url"],
        "https://app.example.com/api/v1/security/csp-report"
    );
    assert_eq!(report_only, None);
}

/// The web app's pages (and the API) are served with no `'unsafe-inline'` at all; only the Swagger UI
/// under `/docs` gets the looser `style-src` it needs (spec §8).
#[tokio::test]
async fn the_app_policy_has_no_unsafe_inline_and_only_docs_gets_inline_styles() {
    for settings in [&[][..], &[("CSP_REPORTING", "false")][..], PRODUCTION] {
        let app = TestApp::spawn_with(settings).await;
        for path in [
            "/",
            "/projects",
            "/settings",
            "/api/v1/config",
            "/health",
            "/assets/missing.js",
        ] {
            let res = app.get(path).await;
            let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
            assert!(csp.contains("style-src 'self';"), "{path}: {csp}");
            assert!(
                !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
                "{path}: {csp}"
            );
            assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        }
        for path in ["/docs/", "/docs/index.html"] {
            let res = app.get(path).await;
            let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
            assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{path}: {csp}");
            assert!(
                csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"),
                "{path}: {csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        }
    }
}
