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
        .json(&json!({"email": taken.email.to_uppercase(), "current_password": PW}))
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

/// Changing the email needs the current password (spec §1.3): missing → 422, wrong → 400, and then
/// nothing changes; a change sends a notice to the old address.
#[tokio::test]
async fn changing_the_email_needs_the_password_and_tells_the_old_address() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let patch = |body: serde_json::Value| app.authed(Method::PATCH, "/api/v1/users/me", &user).json(&body).send();
    let problem = assert_problem(
        patch(json!({"email": "thief@example.com"})).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["loc"], json!(["body", "current_password"]));
    let res = patch(json!({"email": "thief@example.com", "current_password": "a wrong password"}))
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_credentials").await;
    let me = json(app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap()).await;
    assert_eq!(me["email"], user.email, "nothing changed");
    assert!(app.emails_to("thief@example.com").await.is_empty());
    // The name alone, or the same address again, needs no password.
    assert_eq!(patch(json!({"full_name": "New Name"})).await.unwrap().status(), 200);
    assert_eq!(
        patch(json!({"email": user.email.to_uppercase()}))
            .await
            .unwrap()
            .status(),
        200
    );

    let res = patch(json!({"email": "moved@example.com", "current_password": PW}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["email"], "moved@example.com");
    let notices: Vec<_> = app
        .emails_to(&user.email)
        .await
        .into_iter()
        .filter(|m| m["subject"] == "Your email address was changed")
        .collect();
    assert_eq!(notices.len(), 1);
    let text = notices[0]["text"].as_str().unwrap();
    assert!(text.contains("m***@example.com"), "{text}");
    assert!(!text.contains("moved@example.com"), "the new address is masked: {text}");
    assert!(
        app.emails_to("moved@example.com")
            .await
            .iter()
            .any(|m| m["subject"].as_str().unwrap().contains("Confirm"))
    );
}

/// Deactivating a user revokes every session at once, and reactivating brings none back (spec §1.3).
#[tokio::test]
async fn deactivation_revokes_every_session_for_good() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register_user().await;
    let second =
        crate::support::TestUser::from_token_response(&user.email, PW, json(app.login(&user.email, PW).await).await);
    let path = format!("/api/v1/admin/users/{}", user.id);
    let set = |body: serde_json::Value| app.authed(Method::PATCH, &path, &admin).json(&body).send();
    assert_eq!(set(json!({"is_active": false})).await.unwrap().status(), 200);
    assert_eq!(set(json!({"is_active": true})).await.unwrap().status(), 200);
    for session in [&user, &second] {
        let res = app
            .authed(Method::GET, "/api/v1/users/me", session)
            .send()
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_token").await;
        let res = app
            .post_json("/api/v1/auth/refresh", &json!({"refresh_token": session.refresh}))
            .await;
        assert_problem(res, 401, "invalid_refresh_token").await;
    }
    let reasons: Vec<String> = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT revoke_reason FROM sessions WHERE user_id = $1"
    )
    .bind(uuid::Uuid::parse_str(&user.id).unwrap())
    .fetch_all(c)
    .await)
    .unwrap();
    assert!(
        reasons.len() == 2 && reasons.iter().all(|r| r == "deactivated"),
        "{reasons:?}"
    );
    // Signing in again works once active.
    assert_eq!(app.login(&user.email, PW).await.status(), 200);
}

async fn active_admins(app: &TestApp) -> i64 {
    neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE is_admin AND is_active"
    )
    .fetch_one(c)
    .await)
    .unwrap()
}

/// The last active administrator cannot be demoted, deactivated or deleted (409 `last_admin`), and two
/// administrators demoting each other at once leave one (the check is atomic).
#[tokio::test]
async fn the_last_active_administrator_always_remains() {
    let app = TestApp::spawn().await;
    let mut a = app.admin().await;
    let mut b = app.admin().await;
    let patch = |by: &crate::support::TestUser, target: &crate::support::TestUser, body: serde_json::Value| {
        app.authed(Method::PATCH, &format!("/api/v1/admin/users/{}", target.id), by)
            .json(&body)
            .send()
    };
    let relogin = |u: &crate::support::TestUser| {
        let (email, pw) = (u.email.clone(), u.password.clone());
        let res = app.login(&email, &pw);
        async move { crate::support::TestUser::from_token_response(&email, &pw, json(res.await).await) }
    };
    for round in 0..6 {
        let body = if round % 2 == 0 {
            json!({"is_admin": false})
        } else {
            json!({"is_active": false})
        };
        let (x, y) = tokio::join!(patch(&a, &b, body.clone()), patch(&b, &a, body.clone()));
        let statuses = [x.unwrap().status().as_u16(), y.unwrap().status().as_u16()];
        assert_eq!(active_admins(&app).await, 1, "round {round}: {statuses:?}");
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [200, 401, 403, 409].contains(s)),
            "{statuses:?}"
        );
        // Both back as active administrators, with fresh sessions (a deactivation revoked the old ones).
        let mut tx = app.state.db.begin().await.unwrap();
        neoforge::with_tx!(&mut tx, |c| sqlx::query(
            "UPDATE users SET is_admin = TRUE, is_active = TRUE"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
        (a, b) = tokio::join!(relogin(&a), relogin(&b));
    }

    // With B gone, A is the last one: no one can remove A, not even A.
    let b_path = format!("/api/v1/admin/users/{}", b.id);
    let a2 = a.clone();
    assert_eq!(
        app.authed(Method::PATCH, &b_path, &a2)
            .json(&json!({"is_admin": false}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .authed(Method::DELETE, "/api/v1/users/me", &a2)
        .json(&json!({"password": a.password}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "last_admin").await;
    let res = patch(&a2, &a2, json!({"is_admin": false})).await.unwrap();
    assert_eq!(res.status(), 409, "self-demotion is refused either way");
    assert_eq!(active_admins(&app).await, 1);
    // A second administrator makes the first removable.
    let c = app.admin().await;
    let res = app
        .authed(Method::DELETE, "/api/v1/users/me", &a2)
        .json(&json!({"password": a.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .authed(Method::DELETE, "/api/v1/users/me", &c)
        .json(&json!({"password": c.password}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "last_admin").await;
}

/// `create-admin` on an existing unverified account (whoever registered the address first): the account
/// is taken over — sessions revoked, 2FA off, a new password printed once — never promoted as it was.
#[tokio::test]
async fn create_admin_takes_over_an_unverified_account() {
    let app = TestApp::spawn().await;
    let squatter = app.register_user().await;
    let setup = app
        .authed(Method::POST, "/api/v1/auth/2fa/setup", &squatter)
        .json(&json!({"password": PW}))
        .send()
        .await
        .unwrap();
    let secret = json(setup).await["secret"].as_str().unwrap().to_string();
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap().as_bytes().to_vec();
    let code = neoforge::auth::totp::code_at(&raw, chrono::Utc::now().timestamp() as u64);
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/enable", &squatter)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let out = binary()
        .args(["create-admin", "--email", &squatter.email.to_uppercase()])
        .env("DATABASE_URL", &app.db.url)
        .env("DATA_DIR", app.db.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let password = stdout
        .split("(shown once): ")
        .nth(1)
        .expect("the new password is printed")
        .trim()
        .to_string();

    let res = app
        .authed(Method::GET, "/api/v1/users/me", &squatter)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
    let res = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": squatter.refresh}))
        .await;
    assert_problem(res, 401, "invalid_refresh_token").await;
    assert_problem(app.login(&squatter.email, PW).await, 401, "invalid_credentials").await;
    let res = app.login(&squatter.email, &password).await;
    assert_eq!(res.status(), 200, "no second factor is asked: 2FA was turned off");
    let me = json(res).await["user"].clone();
    assert_eq!(
        (
            me["is_admin"].clone(),
            me["is_verified"].clone(),
            me["totp_enabled"].clone()
        ),
        (json!(true), json!(true), json!(false))
    );
}

/// The first-start admin (ADMIN_EMAIL/ADMIN_PASSWORD) over an existing unverified account: the operator's
/// password replaces the squatter's and their sessions end. A verified account given a password keeps
/// its sessions; one promoted without a password gets a generated one.
#[tokio::test]
async fn first_start_promotion_never_keeps_credentials_the_operator_does_not_know() {
    let app = TestApp::spawn_with(&[
        ("ADMIN_EMAIL", "boss@example.com"),
        ("ADMIN_PASSWORD", "the operator's own password"),
    ])
    .await;
    let squatter = app.register_as("boss@example.com", "Squatter").await;
    neoforge::auth::bootstrap::ensure_admin(&app.state).await.unwrap();
    let res = app
        .authed(Method::GET, "/api/v1/users/me", &squatter)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
    assert_eq!(app.login("boss@example.com", PW).await.status(), 401);
    let res = app.login("boss@example.com", "the operator's own password").await;
    assert_eq!(json(res).await["user"]["is_admin"], true);

    // A verified account promoted with a supplied password keeps its sessions.
    let owner = app.verified_user().await;
    let (outcome, shown) =
        neoforge::auth::bootstrap::create_admin(&app.state, &owner.email, Some("a supplied admin password"))
            .await
            .unwrap();
    assert_eq!((outcome, shown), (neoforge::auth::bootstrap::Outcome::Promoted, None));
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &owner)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Without a password: taken over, with a generated one.
    let (outcome, shown) = neoforge::auth::bootstrap::create_admin(&app.state, &owner.email, None)
        .await
        .unwrap();
    assert_eq!(outcome, neoforge::auth::bootstrap::Outcome::PromotedAndReset);
    let generated = shown.expect("a generated password");
    let res = app
        .authed(Method::GET, "/api/v1/users/me", &owner)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
    assert_eq!(app.login(&owner.email, "a supplied admin password").await.status(), 401);
    assert_eq!(app.login(&owner.email, &generated).await.status(), 200);
}
