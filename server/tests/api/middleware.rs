//! The cross-cutting layers: request and trace ids, security headers, CORS, compression.

use reqwest::Method;

use crate::support::{TestApp, json};

const ALWAYS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

fn assert_standard_headers(res: &reqwest::Response) {
    let h = res.headers();
    for (name, value) in ALWAYS {
        assert_eq!(
            h.get(*name).map(|v| v.to_str().unwrap()),
            Some(*value),
            "{name} on {}",
            res.url()
        );
    }
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-eval"));
    assert!(h.get("server").is_none());
    assert!(h.contains_key("x-request-id"));
    assert_eq!(h["x-trace-id"].to_str().unwrap().len(), 32);
}

#[tokio::test]
async fn every_response_has_ids_and_security_headers() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/health"),
        (Method::GET, "/api/v1/config"),
        (Method::GET, "/api/v1/missing"),
        (Method::PUT, "/api/v1/config"),
        (Method::GET, "/docs/"),
        (Method::GET, "/"),
    ] {
        let res = app.request(method, path).send().await.unwrap();
        assert_standard_headers(&res);
    }
}

#[tokio::test]
async fn production_adds_transport_and_isolation_headers() {
    let dev = TestApp::spawn().await;
    let res = dev.get("/health").await;
    assert!(res.headers().get("strict-transport-security").is_none());
    assert!(res.headers().get("cross-origin-opener-policy").is_none());

    let app = TestApp::spawn_with(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", "a-production-secret-that-is-long-enough-1234"),
        ("PUBLIC_URL", "https://app.example.com"),
    ])
    .await;
    let res = app.get("/health").await;
    assert_standard_headers(&res);
    let h = res.headers();
    assert_eq!(h["strict-transport-security"], "max-age=31536000; includeSubDomains");
    assert_eq!(h["cross-origin-opener-policy"], "same-origin");
    assert_eq!(h["cross-origin-resource-policy"], "same-site");
}

#[tokio::test]
async fn request_id_is_echoed_when_sane_and_replaced_otherwise() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/api/v1/nope")
        .header("x-request-id", "abc.DEF_123-x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc.DEF_123-x");
    assert_eq!(json(res).await["request_id"], "abc.DEF_123-x");

    for bad in ["has space", &"a".repeat(65), "semi;colon"] {
        let res = app
            .request(Method::GET, "/health")
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    let a = app.get("/health").await.headers()["x-request-id"].clone();
    let b = app.get("/health").await.headers()["x-request-id"].clone();
    assert_ne!(a, b);
}

#[tokio::test]
async fn trace_id_follows_a_valid_traceparent() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/health")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-trace-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let res = app
        .request(Method::GET, "/health")
        .header("traceparent", "00-zz-00-01")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-trace-id"].to_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn cors_allows_listed_origins_only() {
    let app = TestApp::spawn_with(&[("CORS_ORIGINS", "https://app.example.com,http://localhost:5173")]).await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/v1/config")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,idempotency-key,if-match",
            )
            .send()
    };
    let res = preflight("https://app.example.com").await.unwrap();
    assert!(res.status().is_success());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
        "if-none-match",
        "x-request-id",
        "x-device-name",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(
        res.headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
    );

    let res = preflight("https://evil.example.com").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let res = app
        .request(Method::GET, "/api/v1/config")
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "http://localhost:5173");
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "etag",
        "location",
        "link",
        "x-request-id",
        "x-trace-id",
        "x-ratelimit-limit",
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "idempotent-replayed",
    ] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    // An error response to an allowed origin still carries CORS headers.
    let res = app
        .request(Method::GET, "/api/v1/nope")
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
}

#[tokio::test]
async fn large_responses_are_gzip_compressed_on_request() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/api/v1/openapi.json")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let plain = app.get("/api/v1/openapi.json").await;
    assert!(plain.headers().get("content-encoding").is_none());
}
