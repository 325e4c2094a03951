//! Probes, client configuration, OpenAPI and the docs UI.

use serde_json::Value;

use crate::support::{TestApp, json};

#[tokio::test]
async fn health_reports_ok_with_checks() {
    let app = TestApp::spawn().await;
    let res = app.get("/health").await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptime_seconds"].is_u64());
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["redis"], "disabled");
}

#[tokio::test]
async fn ready_is_200_then_503_once_shutdown_begins() {
    let app = TestApp::spawn().await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        json(res).await,
        serde_json::json!({"status": "ready", "database": "ok", "redis": "disabled"})
    );

    app.state.begin_shutdown();
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body = json(res).await;
    assert_eq!(body["status"], "shutting_down");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn ready_reports_an_unreachable_redis_and_health_degrades() {
    // Port 1 on loopback refuses connections: a Redis that is configured but down.
    let app = TestApp::spawn_with(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body = json(res).await;
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["redis"], "error");
    let body = json(app.get("/health").await).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["redis"], "error");
}

#[tokio::test]
async fn ready_checks_a_live_redis() {
    let Some(url) = crate::support::test_redis_url() else {
        return crate::support::skipped("needs TEST_REDIS_URL");
    };
    let app = TestApp::spawn_with(&[("REDIS_URL", &url)]).await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["redis"], "ok");
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.close().await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body = json(res).await;
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["database"], "error");
    assert_eq!(json(app.get("/health").await).await["status"], "degraded");
}

#[tokio::test]
async fn client_config_is_public_and_has_no_secrets() {
    let app = TestApp::spawn_with(&[
        ("REGISTRATION_OPEN", "false"),
        ("PUBLIC_URL", "https://app.example.com"),
    ])
    .await;
    let res = app.get("/api/v1/config").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains("test-secret-key"), "no secret in {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["app_name"], "NeoForge");
    assert_eq!(body["environment"], "test");
    assert_eq!(body["api_base_url"], "https://app.example.com/api/v1");
    assert_eq!(body["features"]["registration"], false);
    assert_eq!(body["features"]["totp"], true);
    assert_eq!(body["features"]["community_requires_verified_email"], true);
    assert!(body["csp_reporting"].is_boolean());
}

#[tokio::test]
async fn openapi_document_lists_every_route_of_the_router() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc = json(res).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/health", "/ready", "/api/v1/config"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // The document served is the one `neoforge openapi` prints.
    assert_eq!(doc, serde_json::to_value(neoforge::openapi::document()).unwrap());
}

#[tokio::test]
async fn docs_ui_is_served_from_bundled_assets() {
    let app = TestApp::spawn().await;
    let res = app.get("/docs").await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/docs/");
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no remote asset in the docs page: {html}");
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let res = app.get(asset).await;
        assert_eq!(res.status(), 200, "{asset}");
        let body = res.text().await.unwrap();
        assert!(!body.is_empty());
        if asset.ends_with("initializer.js") {
            assert!(body.contains("/api/v1/openapi.json"), "{body}");
        }
    }
}

#[tokio::test]
async fn html_navigation_gets_the_web_app_and_api_paths_do_not() {
    let app = TestApp::spawn().await;
    let res = app
        .request(reqwest::Method::GET, "/projects/123")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let res = app
        .request(reqwest::Method::GET, "/api/v1/nope")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    crate::support::assert_problem(res, 404, "not_found").await;
}
