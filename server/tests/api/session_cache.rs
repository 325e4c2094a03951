//! The in-process session cache (auth/session_cache.rs) never outlives a change: every change made
//! through the API applies to the very next request, and a change made behind the app's back (another
//! process, an operator's SQL) within the cache's lifetime — on PostgreSQL at once, by its change feed.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, TestUser, assert_problem, json};

async fn sign_in_again(app: &TestApp, user: &TestUser) -> TestUser {
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": user.email, "password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    TestUser::from_token_response(&user.email, &user.password, json(res).await)
}

async fn status_of_me(app: &TestApp, user: &TestUser) -> u16 {
    app.authed(Method::GET, "/api/v1/users/me", user)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Writes `sql` (one `$1` = the user's id) outside the app's code, as another process would.
async fn behind_the_apps_back(app: &TestApp, sql: &'static str, user: &TestUser) {
    let id: uuid::Uuid = user.id.parse().unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn changes_through_the_api_apply_to_the_next_request_of_a_cached_session() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;

    // Deactivation by an administrator.
    let user = app.register_user().await;
    assert_eq!(status_of_me(&app, &user).await, 200);
    assert_eq!(status_of_me(&app, &user).await, 200, "served from the cache");
    let res = app
        .authed(Method::PATCH, &format!("/api/v1/admin/users/{}", user.id), &admin)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_problem(
        app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap(),
        401,
        "invalid_token",
    )
    .await;

    // Revoking the other sessions, from a second session.
    let user = app.register_user().await;
    let other = sign_in_again(&app, &user).await;
    assert_eq!(status_of_me(&app, &user).await, 200);
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &other)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(status_of_me(&app, &user).await, 401);
    assert_eq!(status_of_me(&app, &other).await, 200);

    // Promotion is seen at once: an admin-only route opens on the next request.
    assert_eq!(
        app.authed(Method::GET, "/api/v1/admin/users", &other)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let res = app
        .authed(Method::PATCH, &format!("/api/v1/admin/users/{}", user.id), &admin)
        .json(&json!({"is_admin": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.authed(Method::GET, "/api/v1/admin/users", &other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_change_made_outside_the_app_reaches_a_cached_session() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    assert_eq!(status_of_me(&app, &user).await, 200);
    behind_the_apps_back(
        &app,
        "UPDATE sessions SET revoked_at = expires_at WHERE user_id = $1",
        &user,
    )
    .await;
    let started = Instant::now();
    let bound = neoforge::auth::session_cache::MAX_AGE + Duration::from_secs(2);
    while status_of_me(&app, &user).await != 401 {
        assert!(
            started.elapsed() < bound,
            "still accepted {:?} after the revocation",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if app.db.is_postgres() {
        // The change feed, not the entry's lifetime, ended it.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "PostgreSQL's feed took {:?}",
            started.elapsed()
        );
    }
}
