//! Problem documents for every way a request can be malformed (spec §0), through the real middleware.

use std::time::Duration;

use axum::{
    Router,
    routing::{get, post},
};
use neoforge::{
    app::with_middleware,
    error::ApiError,
    http::extract::{ApiJson, ApiPath, ApiQuery},
    server,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::support::{TestApp, TestDb, assert_problem, json};

#[derive(Deserialize)]
struct Body {
    name: String,
    count: Option<u32>,
}

#[derive(Deserialize)]
struct Query {
    page: Option<u32>,
}

async fn panicking_handler() -> &'static str {
    panic!("secret internal detail")
}

/// A router made of the crate's own extractors, behind the production middleware stack.
async fn probe_app(overrides: &[(&str, &str)]) -> (String, TestDb) {
    let db = TestDb::new().await;
    let mut map: std::collections::HashMap<String, String> =
        overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    map.insert("DATABASE_URL".into(), db.url.clone());
    let settings = neoforge::config::Settings::for_tests(&map).unwrap();
    let state = server::build_state(settings).await.unwrap();
    let router = Router::new()
        .route(
            "/echo",
            post(|ApiJson(b): ApiJson<Body>| async move { format!("{}:{:?}", b.name, b.count) }),
        )
        .route(
            "/items/{id}",
            get(|ApiPath(id): ApiPath<uuid::Uuid>| async move { id.to_string() }),
        )
        .route(
            "/list",
            get(|ApiQuery(q): ApiQuery<Query>| async move { format!("{:?}", q.page) }),
        )
        .route("/panic", get(panicking_handler))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/fails",
            get(|| async { Err::<(), _>(ApiError::internal("db password=hunter2 leaked")) }),
        );
    let app = with_middleware(router, &state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), db)
}

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let app = TestApp::spawn().await;
    assert_problem(app.get("/api/v1/does-not-exist").await, 404, "not_found").await;
    let res = app.request(Method::DELETE, "/nothing-here").send().await.unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let res = app.request(Method::DELETE, "/api/v1/config").send().await.unwrap();
    let allow = res
        .headers()
        .get("allow")
        .expect("Allow header")
        .to_str()
        .unwrap()
        .to_string();
    assert!(allow.contains("GET"), "{allow}");
    assert_problem(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn json_body_errors() {
    let (base, _db) = probe_app(&[]).await;
    let client = reqwest::Client::new();
    let send = |ct: Option<&'static str>, body: &'static str| {
        let mut req = client.post(format!("{base}/echo")).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let ok = send(Some("application/json"), r#"{"name": "x", "count": 2, "extra": true}"#)
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "x:Some(2)");

    assert_problem(
        send(Some("application/json"), "{broken").await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    assert_problem(
        send(Some("text/plain"), r#"{"name": "x"}"#).await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        send(None, r#"{"name": "x"}"#).await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;

    let body = assert_problem(
        send(Some("application/json"), "{}").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["loc"], json!(["body", "name"]));
    assert_eq!(body["errors"][0]["type"], "missing");
    let body = assert_problem(
        send(Some("application/json"), r#"{"name": "x", "count": -1}"#)
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["loc"], json!(["body", "count"]));
}

#[tokio::test]
async fn path_and_query_errors() {
    let (base, _db) = probe_app(&[]).await;
    let get = |p: &str| reqwest::get(format!("{base}{p}"));
    assert_problem(get("/items/not-a-uuid").await.unwrap(), 404, "not_found").await;
    assert_eq!(
        get("/items/0190b1d4-7a3c-7def-8a00-000000000001")
            .await
            .unwrap()
            .status(),
        200
    );
    let body = assert_problem(get("/list?page=abc").await.unwrap(), 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["loc"], json!(["query", "page"]));
    assert_eq!(get("/list?page=2").await.unwrap().text().await.unwrap(), "Some(2)");
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let (base, _db) = probe_app(&[("MAX_BODY_BYTES", "1024")]).await;
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(4096));
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    // Without a Content-Length (chunked), the limit still holds while streaming.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
    let res = client
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn panics_and_internal_errors_are_opaque_500s() {
    let (base, _db) = probe_app(&[]).await;
    for path in ["/panic", "/fails"] {
        let res = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert!(
            res.headers().contains_key("x-content-type-options"),
            "headers pass through on {path}"
        );
        let body = assert_problem(res, 500, "internal").await;
        let text = body.to_string();
        assert!(!text.contains("secret") && !text.contains("hunter2"), "{text}");
    }
}

#[tokio::test]
async fn slow_requests_time_out_with_a_problem() {
    let (base, _db) = probe_app(&[("REQUEST_TIMEOUT", "1s")]).await;
    let started = std::time::Instant::now();
    let res = reqwest::get(format!("{base}/slow")).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_problem(res, 504, "timeout").await;
}

#[tokio::test]
async fn problem_bodies_are_not_cached() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/nope").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let _ = json(res).await;
}
