//! The audit log endpoint: filters, paging, redaction, truncated IPs.

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, assert_problem, json};

#[tokio::test]
async fn admins_read_the_audit_log_with_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register_user().await;
    let _ = app.login(&user.email, "wrong password here").await;
    let res = app
        .authed(Method::POST, "/api/v1/projects", &user)
        .json(&json!({"name": "Audited"}))
        .send()
        .await
        .unwrap();
    let project = json(res).await;

    assert_problem(
        app.authed(Method::GET, "/api/v1/admin/audit-logs", &user)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_problem(app.get("/api/v1/admin/audit-logs").await, 401, "not_authenticated").await;
    let get = |q: &str| {
        app.authed(Method::GET, &format!("/api/v1/admin/audit-logs?{q}"), &admin)
            .send()
    };

    let all = json(get("").await.unwrap()).await;
    let actions: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "project.create", "newest first: {actions:?}");
    assert!(actions.contains(&"auth.login_failed") && actions.contains(&"auth.register"));
    let entry = &all["items"][0];
    assert_eq!(entry["actor_id"], json!(user.id));
    assert_eq!(entry["resource_type"], "project");
    assert_eq!(entry["resource_id"], project["id"]);
    assert_eq!(entry["ip"], "127.0.0.0/24", "client network, truncated");
    assert!(entry["request_id"].as_str().is_some_and(|r| !r.is_empty()));

    assert_eq!(
        json(get(&format!("actor_id={}", user.id)).await.unwrap()).await["total"],
        2
    );
    assert_eq!(json(get("action=auth.login_failed").await.unwrap()).await["total"], 1);
    let failed = json(get("action=auth.login_failed").await.unwrap()).await;
    assert!(failed["items"][0]["actor_id"].is_null());
    assert_eq!(json(get("action_prefix=project.").await.unwrap()).await["total"], 1);
    assert_eq!(
        json(get("action_prefix=%25").await.unwrap()).await["total"],
        0,
        "the prefix is literal"
    );
    assert_eq!(json(get("resource_type=project").await.unwrap()).await["total"], 1);
    assert_eq!(
        json(
            get(&format!("resource_id={}", project["id"].as_str().unwrap()))
                .await
                .unwrap()
        )
        .await["total"],
        1
    );
    assert_eq!(json(get("since=2999-01-01T00:00:00Z").await.unwrap()).await["total"], 0);
    assert_eq!(json(get("until=2000-01-01T00:00:00Z").await.unwrap()).await["total"], 0);
    let total = all["total"].as_i64().unwrap();
    assert_eq!(
        json(
            get("since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B02:00")
                .await
                .unwrap()
        )
        .await["total"],
        total
    );
    for bad in ["since=yesterday", "until=2024-13-01", "actor_id=not-a-uuid"] {
        let problem = assert_problem(get(bad).await.unwrap(), 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"][0], "query");
    }
    let page = json(get("cursor=&page_size=1").await.unwrap()).await;
    let next = page["next_cursor"].as_str().unwrap();
    let second = json(get(&format!("cursor={next}&page_size=1")).await.unwrap()).await;
    assert_ne!(second["items"][0]["id"], page["items"][0]["id"]);
    assert_problem(
        get(&format!("cursor={next}&action=auth.register")).await.unwrap(),
        400,
        "invalid_cursor",
    )
    .await;
}
