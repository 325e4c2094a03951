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

/// Reads from `stream` until it is closed (EOF or reset) or `limit` passes; returns what arrived and
/// whether it was closed.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: std::time::Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

/// Slow clients cannot hold connections (spec §8): a request head trickled one line at a time is cut off
/// after `HEADER_TIMEOUT`, as is a connection that sends nothing; an idle keep-alive connection lives
/// until `KEEP_ALIVE_TIMEOUT` (not the shorter header deadline), and requests keep working meanwhile.
#[tokio::test]
async fn slow_headers_and_idle_connections_are_disconnected() {
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(&[("HEADER_TIMEOUT", "1s"), ("KEEP_ALIVE_TIMEOUT", "3s")]).await;

    // A header line every 300 ms: far more than a second in all.
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let closed = {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1024];
        tokio::time::timeout(Duration::from_secs(6), async {
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await
        .is_ok()
    };
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(closed, "a trickled request head is cut off");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2500),
        "cut off after {elapsed:?}, HEADER_TIMEOUT is 1 s"
    );

    // Connected, silent.
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(
        closed && started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );

    // Keep-alive: served, then left idle; closed after about 3 s, not after the 1 s header deadline.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (got, closed) = read_until_closed(&mut idle, Duration::from_secs(8)).await;
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "an idle keep-alive connection is closed");
    assert!(
        elapsed >= Duration::from_millis(2500) && elapsed < Duration::from_millis(5000),
        "idle connection closed after {elapsed:?}, KEEP_ALIVE_TIMEOUT is 3 s"
    );
    // Ordinary clients are unaffected.
    assert_eq!(app.get("/health").await.status(), 200);
}
