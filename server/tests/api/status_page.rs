//! The status page: events by administrators, latest state per service, overall status.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, assert_problem, audit_actions, json};

async fn event(app: &TestApp, admin: &TestUser, body: Value) -> reqwest::Response {
    app.authed(Method::POST, "/api/v1/status/events", admin)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn empty_page_is_unknown() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/status").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=5");
    assert_eq!(
        json(res).await,
        json!({"status": "unknown", "services": [], "updated_at": null})
    );
    let res = app.get("/api/v1/status/services/api").await;
    assert_eq!(
        json(res).await,
        json!({"service_id": "api", "status": "unknown", "description": null, "updated_at": null})
    );
    for bad in ["API", "-x", "a.b", &"a".repeat(65)] {
        assert_problem(
            app.get(&format!("/api/v1/status/services/{bad}")).await,
            404,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn only_admins_post_events_and_input_is_checked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register_user().await;
    let body = json!({"service_id": "api", "status": "down"});
    assert_problem(
        app.request(Method::POST, "/api/v1/status/events")
            .json(&body)
            .send()
            .await
            .unwrap(),
        401,
        "not_authenticated",
    )
    .await;
    assert_problem(event(&app, &user, body.clone()).await, 403, "forbidden").await;
    for (bad, field) in [
        (json!({"service_id": "Bad Id", "status": "down"}), "service_id"),
        (json!({"service_id": "api", "status": "on fire"}), "status"),
        (
            json!({"service_id": "api", "status": "down", "description": "d".repeat(2001)}),
            "description",
        ),
    ] {
        let problem = assert_problem(event(&app, &admin, bad).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"], json!(["body", field]));
    }
    let res = event(
        &app,
        &admin,
        json!({"service_id": "api", "status": "down", "description": "Outage"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let e = json(res).await;
    assert_eq!(
        (e["service_id"].clone(), e["status"].clone(), e["description"].clone()),
        (json!("api"), json!("down"), json!("Outage"))
    );
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(a, _)| a == "status_event.create")
    );
}

#[tokio::test]
async fn latest_event_wins_and_overall_follows_the_worst() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (svc, status) in [
        ("api", "down"),
        ("web", "operational"),
        ("api", "operational"),
        ("db", "maintenance"),
    ] {
        assert_eq!(
            event(&app, &admin, json!({"service_id": svc, "status": status}))
                .await
                .status(),
            201
        );
    }
    let page = json(app.get("/api/v1/status").await).await;
    assert_eq!(page["status"], "degraded", "maintenance counts as degraded");
    let services = page["services"].as_array().unwrap();
    assert_eq!(services.len(), 3);
    let api = services.iter().find(|s| s["service_id"] == "api").unwrap();
    assert_eq!(api["status"], "operational", "the latest event wins");
    let newest = services
        .iter()
        .map(|s| s["updated_at"].as_str().unwrap().to_string())
        .max()
        .unwrap();
    assert_eq!(page["updated_at"], json!(newest));
    event(&app, &admin, json!({"service_id": "web", "status": "down"})).await;
    assert_eq!(json(app.get("/api/v1/status").await).await["status"], "down");
    let svc = json(app.get("/api/v1/status/services/web").await).await;
    assert_eq!(svc["status"], "down");
    for s in ["api", "db"] {
        event(&app, &admin, json!({"service_id": s, "status": "operational"})).await;
    }
    event(&app, &admin, json!({"service_id": "web", "status": "operational"})).await;
    assert_eq!(json(app.get("/api/v1/status").await).await["status"], "operational");

    // ETag and 304 on the page and on a service.
    let res = app.get("/api/v1/status/services/web").await;
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .request(Method::GET, "/api/v1/status/services/web")
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
}

#[tokio::test]
async fn events_list_newest_first_with_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (svc, status) in [("api", "down"), ("web", "degraded"), ("api", "operational")] {
        event(&app, &admin, json!({"service_id": svc, "status": status})).await;
    }
    let list = json(app.get("/api/v1/status/events").await).await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["items"][0]["status"], "operational");
    assert_eq!(
        json(app.get("/api/v1/status/events?service_id=api").await).await["total"],
        2
    );
    assert_eq!(
        json(app.get("/api/v1/status/events?status=degraded").await).await["total"],
        1
    );
    assert_problem(
        app.get("/api/v1/status/events?status=bad").await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/status/events?service_id=BAD").await,
        422,
        "validation_failed",
    )
    .await;
    let page = json(app.get("/api/v1/status/events?cursor=&page_size=2").await).await;
    assert_eq!(page["has_more"], true);
}

/// Reading the page touches one row per service: the plan uses no scan of the events table.
#[tokio::test]
async fn the_page_reads_per_service_state_not_events() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut tx = app.state.db.begin().await.unwrap();
    for i in 0..2000 {
        let svc = format!("svc-{}", i % 20);
        let status = ["operational", "degraded", "down", "maintenance"][i % 4];
        neoforge::with_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO status_events (id, service_id, status, description, created_at) VALUES ($1, $2, $3, NULL, $4)"
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&svc)
        .bind(status)
        .bind(neoforge::db::now())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    tx.commit().await.unwrap();
    // Bulk-loaded events bypass the per-service table; an event through the API updates it.
    event(&app, &admin, json!({"service_id": "svc-0", "status": "down"})).await;
    let page = json(app.get("/api/v1/status").await).await;
    assert_eq!(page["services"].as_array().unwrap().len(), 1);
    assert_eq!(page["status"], "down");
}
