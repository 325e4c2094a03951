//! The signed-in user's account and user management by administrators.

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, TestDb, assert_problem, audit_actions, binary, json};

const PW: &str = "correct horse battery staple";

#[tokio::test]
async fn me_can_be_read_and_updated() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let taken = app.register_user().await;
    let res = app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["email"], user.email);

    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &user)
        .json(&json!({"full_name": "  Renamed  "}))
        .send()
        .await
        .unwrap();
    let me = json(res).await;
    assert_eq!(me["full_name"], "Renamed");
    assert_eq!(me["email"], user.email);

    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &user)
        .json(&json!({"email": taken.email.to_uppercase()}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "email_taken").await;
    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &user)
        .json(&json!({"email": "nope", "full_name": ""}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    // Privileged fields in the body are ignored.
    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &user)
        .json(&json!({"is_admin": true, "is_active": false, "id": "x", "full_name": "Still me"}))
        .send()
        .await
        .unwrap();
    let me = json(res).await;
    assert_eq!(
        (me["is_admin"].clone(), me["is_active"].clone()),
        (json!(false), json!(true))
    );
    let updates = audit_actions(&app)
        .await
        .into_iter()
        .filter(|(a, _)| a == "user.updated")
        .count();
    assert_eq!(updates, 2);
}

#[tokio::test]
async fn changing_the_password_keeps_only_the_current_session() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = json(app.login(&user.email, PW).await).await;
    let change = |current: &str, new: &str| {
        app.authed(Method::POST, "/api/v1/users/me/password", &user)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_problem(
        change("wrong password!", "a brand new password").await.unwrap(),
        400,
        "invalid_credentials",
    )
    .await;
    assert_problem(change(PW, "12345678").await.unwrap(), 422, "validation_failed").await;
    assert_eq!(change(PW, "a brand new password").await.unwrap().status(), 204);
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .request(Method::GET, "/api/v1/users/me")
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.login(&user.email, "a brand new password").await.status(), 200);
    assert!(
        app.emails_to(&user.email)
            .await
            .iter()
            .any(|m| m["subject"] == "Your password was changed")
    );
}

#[tokio::test]
async fn deleting_the_account_needs_the_password() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app
        .authed(Method::DELETE, "/api/v1/users/me", &user)
        .json(&json!({"password": "not my password"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_credentials").await;
    let res = app
        .authed(Method::DELETE, "/api/v1/users/me", &user)
        .json(&json!({"password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(app.login(&user.email, PW).await.status(), 401);
    let sessions: i64 = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(c)
        .await)
    .unwrap();
    assert_eq!(sessions, 0);
    assert!(audit_actions(&app).await.iter().any(|(a, _)| a == "user.deleted"));
}

#[tokio::test]
async fn admin_user_management() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.register_as("alice.smith@example.com", "Alice Smith").await;
    let bob = app.register_as("bob@example.com", "Bob Jones").await;

    let res = app
        .authed(Method::GET, "/api/v1/admin/users", &alice)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/admin/users").await, 401, "not_authenticated").await;

    let page = json(
        app.authed(Method::GET, "/api/v1/admin/users", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"][0]["email"], "bob@example.com", "newest first");
    let page = json(
        app.authed(Method::GET, "/api/v1/admin/users?q=SMITH", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["email"], "alice.smith@example.com");
    let page = json(
        app.authed(Method::GET, "/api/v1/admin/users?q=%25", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["total"], 0, "LIKE wildcards are literal");

    let path = format!("/api/v1/admin/users/{}", alice.id);
    let res = app
        .authed(Method::PATCH, &path, &admin)
        .json(&json!({"is_admin": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["is_admin"], true);
    let bob_path = format!("/api/v1/admin/users/{}", bob.id);
    let res = app
        .authed(Method::PATCH, &bob_path, &alice)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["is_active"], false, "Alice, now an admin, can act");

    let me = format!("/api/v1/admin/users/{}", admin.id);
    for body in [json!({"is_active": false}), json!({"is_admin": false})] {
        let res = app.authed(Method::PATCH, &me, &admin).json(&body).send().await.unwrap();
        assert_problem(res, 409, "cannot_modify_self").await;
    }
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", uuid::Uuid::now_v7()),
            &admin,
        )
        .json(&json!({"is_active": true}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(a, actor)| a == "admin.user_update" && actor.is_some())
    );
}

#[tokio::test]
async fn create_admin_command_and_first_start_admin() {
    let db = TestDb::new().await;
    let out = binary()
        .args(["create-admin", "--email", "Root@Example.com"])
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let password = stdout.split("(shown once): ").nth(1).unwrap().trim().to_string();

    let app = TestApp::spawn_with(&[("DATABASE_URL", &db.url)]).await;
    let res = app.login("root@example.com", &password).await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(
        (body["user"]["is_admin"].clone(), body["user"]["is_verified"].clone()),
        (json!(true), json!(true))
    );

    // With an administrator present, first start creates no other.
    neoforge::auth::bootstrap::ensure_admin(&app.state).await.unwrap();
    let n: i64 = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(c)
        .await)
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn first_start_creates_the_configured_admin() {
    let app = TestApp::spawn_with(&[
        ("ADMIN_EMAIL", "boss@example.com"),
        ("ADMIN_PASSWORD", "a long admin password"),
    ])
    .await;
    neoforge::auth::bootstrap::ensure_admin(&app.state).await.unwrap();
    let res = app.login("boss@example.com", "a long admin password").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["user"]["is_admin"], true);
}
