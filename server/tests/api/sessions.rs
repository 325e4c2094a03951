//! Listing, renaming and revoking one's sessions.

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, assert_problem, json};

const PW: &str = "correct horse battery staple";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn login_with_agent(app: &TestApp, email: &str, agent: &str) -> serde_json::Value {
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("user-agent", agent)
        .json(&json!({"email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    json(res).await
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_the_current_one_marked() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let firefox = login_with_agent(&app, &user.email, FIREFOX).await;
    let curl = login_with_agent(&app, &user.email, "curl/8.5").await;

    let res = app
        .request(Method::GET, "/api/v1/auth/sessions")
        .bearer_auth(curl["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = json(res).await;
    assert_eq!(
        (
            page["total"].clone(),
            page["page"].clone(),
            page["page_size"].clone(),
            page["pages"].clone()
        ),
        (json!(3), json!(1), json!(20), json!(1))
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], curl["session_id"]);
    assert_eq!(items[0]["device_name"], "curl/8.5");
    assert_eq!(items[0]["is_current"], true);
    assert_eq!(items[1]["id"], firefox["session_id"]);
    assert_eq!(items[1]["device_name"], "Firefox on Linux");
    assert_eq!(items[1]["user_agent"], FIREFOX);
    assert_eq!(items[1]["is_current"], false);
    assert_eq!(items[2]["id"], json!(user.session_id));
    assert_eq!(items[0]["ip_address"], "127.0.0.1");
    for item in items {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 10, "SessionOut fields only: {keys:?}");
        assert!(item["revoked_at"].is_null());
    }
    let text = page.to_string();
    assert!(!text.contains(&user.refresh) && !text.contains("hash"));

    let res = app
        .authed(Method::GET, "/api/v1/auth/sessions?page=2&page_size=2", &user)
        .send()
        .await
        .unwrap();
    let page = json(res).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["pages"], 2);
    let res = app
        .authed(Method::GET, "/api/v1/auth/sessions?page=9", &user)
        .send()
        .await
        .unwrap();
    let page = json(res).await;
    assert_eq!(
        (page["items"].as_array().unwrap().len(), page["total"].clone()),
        (0, json!(3))
    );
    for bad in ["page=0", "page_size=0", "page_size=101", "page=x"] {
        let res = app
            .authed(Method::GET, &format!("/api/v1/auth/sessions?{bad}"), &user)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"][0], "query");
    }
}

#[tokio::test]
async fn sessions_can_be_renamed_by_their_owner_only() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = app.register_user().await;
    let path = format!("/api/v1/auth/sessions/{}", user.session_id);
    let res = app
        .authed(Method::PATCH, &path, &user)
        .json(&json!({"device_name": "  Work laptop "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["device_name"], "Work laptop");
    let res = app
        .authed(Method::PATCH, &path, &user)
        .json(&json!({"device_name": "x".repeat(101)}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .authed(Method::PATCH, &path, &other)
        .json(&json!({"device_name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "session_not_found").await;
    let res = app
        .authed(Method::PATCH, "/api/v1/auth/sessions/not-a-uuid", &user)
        .json(&json!({"device_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn revoking_a_session_is_idempotent_and_private() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let second = json(app.login(&user.email, PW).await).await;
    let other = app.register_user().await;
    let path = format!(
        "/api/v1/auth/sessions/{}/revoke",
        second["session_id"].as_str().unwrap()
    );

    let res = app.authed(Method::POST, &path, &other).send().await.unwrap();
    assert_problem(res, 404, "session_not_found").await;

    let res = app.authed(Method::POST, &path, &user).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let first = json(res).await;
    assert_eq!(first["revoke_reason"], "user_revoked");
    assert!(first["revoked_at"].is_string());
    let res = app.authed(Method::POST, &path, &user).send().await.unwrap();
    assert_eq!(json(res).await, first, "unchanged the second time");

    let res = app
        .request(Method::GET, "/api/v1/users/me")
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn revoke_others_keeps_one_session() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let b = json(app.login(&user.email, PW).await).await;
    let _c = json(app.login(&user.email, PW).await).await;

    // Naming a session that is not the caller's: 404 and nothing changes.
    let stranger = app.register_user().await;
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &user)
        .json(&json!({"keep_session_id": stranger.session_id}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "session_not_found").await;
    assert_eq!(
        app.request(Method::GET, "/api/v1/users/me")
            .bearer_auth(b["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // No body: keep the current session.
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &user)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await, json!({"revoked_count": 2}));
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.request(Method::GET, "/api/v1/users/me")
            .bearer_auth(b["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Naming another live session revokes the current one too.
    let d = json(app.login(&user.email, PW).await).await;
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &user)
        .json(&json!({"keep_session_id": d["session_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await, json!({"revoked_count": 1}));
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.request(Method::GET, "/api/v1/users/me")
            .bearer_auth(d["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
