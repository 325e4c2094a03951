//! Registration, sign-in, access tokens, refresh rotation and reuse detection, browser (cookie) mode.

use std::time::Duration;

use neoforge::auth::tokens::TokenKeys;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_problem, audit_actions, json};

const PW: &str = "correct horse battery staple";

#[tokio::test]
async fn register_creates_a_signed_in_unverified_user() {
    let app = TestApp::spawn().await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "  Alice@Example.COM ", "password": PW, "full_name": " Alice "}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json(res).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    let user = &body["user"];
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["full_name"], "Alice");
    assert_eq!(
        (user["is_active"].clone(), user["is_admin"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        (user["is_verified"].clone(), user["email_verified_at"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(user["totp_enabled"], false);
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 10, "exactly the UserOut fields: {keys:?}");
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        uuid::Uuid::parse_str(user["id"].as_str().unwrap())
            .unwrap()
            .get_version_num()
            == 7
    );

    let mails = app.emails_to("alice@example.com").await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]["links"][0]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:8000/verify-email?token=")
    );
    assert!(mails[0]["html"].as_str().unwrap().contains("<a href="));
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        vec![(
            "auth.register".to_string(),
            Some(user["id"].as_str().unwrap().parse().unwrap())
        )]
    );
}

#[tokio::test]
async fn register_rejects_duplicates_case_insensitively() {
    let app = TestApp::spawn().await;
    app.register_as("bob@example.com", "Bob").await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "BOB@example.com ", "password": PW, "full_name": "Bob 2"}),
        )
        .await;
    assert_problem(res, 409, "email_taken").await;
}

#[tokio::test]
async fn register_validates_every_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"email": "nope", "password": PW, "full_name": "A"}),
            vec!["email"],
        ),
        (
            json!({"email": "a@example.com", "password": "short", "full_name": "A"}),
            vec!["password"],
        ),
        (
            json!({"email": "a@example.com", "password": "password123", "full_name": "A"}),
            vec!["password"],
        ),
        (
            json!({"email": "long.email@example.com", "password": "long.email@example.com", "full_name": "A"}),
            vec!["password"],
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(129), "full_name": "A"}),
            vec!["password"],
        ),
        (
            json!({"email": "a@example.com", "password": PW, "full_name": "   "}),
            vec!["full_name"],
        ),
        (
            json!({"email": "a@example.com", "password": PW, "full_name": "n".repeat(101)}),
            vec!["full_name"],
        ),
        (
            json!({"email": "bad", "password": "short", "full_name": ""}),
            vec!["email", "full_name", "password"],
        ),
        (json!({"password": PW, "full_name": "A"}), vec!["email"]),
    ];
    for (body, fields) in cases {
        let res = app.post_json("/api/v1/auth/register", &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        let mut locs: Vec<String> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["loc"][1].as_str().unwrap().to_string())
            .collect();
        locs.sort();
        assert_eq!(locs, fields, "{body}");
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["loc"][0] == "body")
        );
    }
    // Nothing was written.
    assert!(audit_actions(&app).await.is_empty());
}

#[tokio::test]
async fn registration_can_be_closed() {
    let app = TestApp::spawn_with(&[("REGISTRATION_OPEN", "false")]).await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "a@example.com", "password": PW, "full_name": "A"}),
        )
        .await;
    assert_problem(res, 403, "registration_closed").await;
}

#[tokio::test]
async fn login_succeeds_and_every_failure_looks_the_same() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app.login(&format!("  {}  ", user.email.to_uppercase()), PW).await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["user"]["email"], user.email);
    assert_ne!(body["session_id"], json!(user.session_id));

    let deactivated = app.register_user().await;
    let admin = app.admin().await;
    let res = app
        .authed(
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", deactivated.id),
            &admin,
        )
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let mut bodies = Vec::new();
    for (email, password) in [
        (user.email.as_str(), "wrong password here"),
        ("nobody@example.com", PW),
        (deactivated.email.as_str(), PW),
    ] {
        let res = app.login(email, password).await;
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let mut body = assert_problem(res, 401, "invalid_credentials").await;
        body.as_object_mut().unwrap().remove("request_id");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let failed: Vec<_> = audit_actions(&app)
        .await
        .into_iter()
        .filter(|(a, _)| a == "auth.login_failed")
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|(_, actor)| actor.is_none()));
}

#[tokio::test]
async fn oauth2_password_grant_form() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let form = |grant: &'static str| {
        app.request(Method::POST, "/api/v1/auth/token")
            .form(&[
                ("username", user.email.as_str()),
                ("password", PW),
                ("grant_type", grant),
            ])
            .send()
    };
    let res = form("password").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["user"]["email"], user.email);
    assert_problem(form("client_credentials").await.unwrap(), 400, "unsupported_grant_type").await;
    let res = app
        .post_json("/api/v1/auth/token", &json!({"username": user.email, "password": PW}))
        .await;
    assert_problem(res, 415, "unsupported_media_type").await;
    let res = app
        .request(Method::POST, "/api/v1/auth/token")
        .form(&[("username", "x")])
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["loc"], json!(["body", "password"]));
}

#[tokio::test]
async fn access_tokens_are_checked_strictly() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let me = |auth: Option<String>| {
        let mut req = app.request(Method::GET, "/api/v1/users/me");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    assert_eq!(me(Some(format!("Bearer {}", user.access))).await.unwrap().status(), 200);
    let res = me(None).await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_problem(res, 401, "not_authenticated").await;

    let uid: uuid::Uuid = user.id.parse().unwrap();
    let sid: uuid::Uuid = user.session_id.parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    let right = TokenKeys::new(b"test-secret-key-test-secret-key-0123456789", Duration::from_secs(900));
    let wrong = TokenKeys::new(b"some-other-secret-some-other-secret-0000", Duration::from_secs(900));
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let claims = json!({"sub": user.id, "sid": user.session_id, "iat": now, "exp": now + 600, "typ": "access",
        "iss": "neoforge", "aud": "neoforge-api"});
    let alg_none = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(claims));
    for bad in [
        "Bearer garbage".to_string(),
        "Basic dXNlcjpwdw==".to_string(),
        format!("Bearer {alg_none}"),
        format!("Bearer {}", wrong.issue(uid, sid, now)),
        format!("Bearer {}", right.issue(uid, sid, now - 3600)),
        format!("Bearer {}", right.issue(uid, uuid::Uuid::now_v7(), now)),
        format!("Bearer {}", user.refresh),
    ] {
        let res = me(Some(bad.clone())).await.unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{bad}");
        assert_problem(res, 401, "invalid_token").await;
    }
    assert_eq!(
        me(Some(format!("Bearer {}", right.issue(uid, sid, now))))
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = json(app.login(&user.email, PW).await).await;

    let res = refresh(&app, &user.refresh).await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    let new_refresh = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, user.refresh);
    assert_eq!(body["session_id"], json!(user.session_id), "same session, new token");
    let new_access = body["access_token"].as_str().unwrap().to_string();

    // The rotated-out token comes back: reuse.
    let res = refresh(&app, &user.refresh).await;
    assert_problem(res, 401, "refresh_token_reused").await;
    // Every session of the user is now dead, the other device's too.
    for access in [new_access.as_str(), other["access_token"].as_str().unwrap()] {
        let res = app
            .request(Method::GET, "/api/v1/users/me")
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_problem(res, 401, "invalid_token").await;
    }
    assert_problem(refresh(&app, &new_refresh).await, 401, "invalid_refresh_token").await;
    let sessions = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar::<_, String>(
        "SELECT revoke_reason FROM sessions ORDER BY created_at"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(sessions, vec!["refresh_reuse", "refresh_reuse"]);
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(a, _)| a == "auth.refresh_reuse_detected")
    );
    assert_problem(refresh(&app, "never-issued-token").await, 401, "invalid_refresh_token").await;
    let res = app.request(Method::POST, "/api/v1/auth/refresh").send().await.unwrap();
    assert_problem(res, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        let user = app.register_user().await;
        let attempts = (0..8).map(|_| refresh(&app, &user.refresh));
        let results = futures_util::future::join_all(attempts).await;
        let mut ok = 0;
        for res in results {
            match res.status().as_u16() {
                200 => ok += 1,
                401 => {
                    let code = json(res).await["code"].as_str().unwrap().to_string();
                    assert_eq!(code, "refresh_token_reused");
                }
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(ok, 1, "exactly one refresh wins");
    }
}

#[tokio::test]
async fn reuse_grace_tolerates_a_near_simultaneous_retry() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_GRACE", "30s")]).await;
    let user = app.register_user().await;
    let res = refresh(&app, &user.refresh).await;
    assert_eq!(res.status(), 200);
    let new_refresh = json(res).await["refresh_token"].as_str().unwrap().to_string();
    assert_problem(refresh(&app, &user.refresh).await, 401, "invalid_refresh_token").await;
    // The family survived: the winner's token still works.
    assert_eq!(refresh(&app, &new_refresh).await.status(), 200);
}

fn set_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("nf_refresh="))
        .expect("nf_refresh cookie")
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("nf_refresh=")
        .to_string()
}

#[tokio::test]
async fn browser_mode_keeps_the_refresh_token_in_a_cookie() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": user.email, "password": PW, "refresh_in": "cookie"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookie = set_cookie(&res);
    for part in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "no Secure on http://");
    let body = json(res).await;
    assert!(body.get("refresh_token").is_none());
    let token = cookie_value(&cookie);

    // Refresh from the cookie alone: the new token goes only into the cookie.
    let res = app
        .request(Method::POST, "/api/v1/auth/refresh")
        .header("cookie", format!("nf_refresh={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let next = cookie_value(&set_cookie(&res));
    assert_ne!(next, token);
    let body = json(res).await;
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap().to_string();

    // Logout from the cookie: the session ends and the cookie is cleared.
    let res = app
        .request(Method::POST, "/api/v1/auth/logout")
        .bearer_auth(&access)
        .header("cookie", format!("nf_refresh={next}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(set_cookie(&res).contains("Max-Age=0"));
    let res = app
        .request(Method::POST, "/api/v1/auth/refresh")
        .header("cookie", format!("nf_refresh={next}"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_refresh_token").await;

    // A token sent in the body answers in the body, unless cookie mode is asked for.
    let res = refresh(&app, &user.refresh).await;
    assert!(json(res).await["refresh_token"].is_string());
}

#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let app = TestApp::spawn_with(&[("PUBLIC_URL", "https://app.example.com")]).await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "c@example.com", "password": PW, "full_name": "C", "refresh_in": "cookie"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert!(set_cookie(&res).contains("; Secure"));
}

#[tokio::test]
async fn logout_revokes_one_session() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let second = json(app.login(&user.email, PW).await).await;
    let stranger = app.register_user().await;

    // A refresh token that is not one of the caller's sessions.
    let res = app
        .authed(Method::POST, "/api/v1/auth/logout", &user)
        .json(&json!({"refresh_token": stranger.refresh}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_refresh_token").await;

    // Logging out another of one's own sessions by its refresh token.
    let res = app
        .authed(Method::POST, "/api/v1/auth/logout", &user)
        .json(&json!({"refresh_token": second["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .request(Method::GET, "/api/v1/users/me")
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // No token: the current session.
    let res = app
        .authed(Method::POST, "/api/v1/auth/logout", &user)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(
        app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap(),
        401,
        "invalid_token",
    )
    .await;
    assert_problem(
        app.request(Method::POST, "/api/v1/auth/logout").send().await.unwrap(),
        401,
        "not_authenticated",
    )
    .await;
}

#[tokio::test]
async fn logout_all_revokes_every_session() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let _ = app.login(&user.email, PW).await;
    let _ = app.login(&user.email, PW).await;
    let res = app
        .authed(Method::POST, "/api/v1/auth/logout-all", &user)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await, json!({"revoked_count": 3}));
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(audit_actions(&app).await.iter().any(|(a, _)| a == "auth.logout_all"));
}

#[tokio::test]
async fn deactivation_locks_a_user_out_at_once() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let admin = app.admin().await;
    let res = app
        .authed(Method::PATCH, &format!("/api/v1/admin/users/{}", user.id), &admin)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["is_active"], false);
    assert_problem(
        app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap(),
        401,
        "invalid_token",
    )
    .await;
    assert_problem(refresh(&app, &user.refresh).await, 401, "invalid_refresh_token").await;
}

/// Cookie mode accepts only same-origin requests (spec §1.3): a cross-site form cannot sign a victim in,
/// nor use or end their `nf_refresh` session. Body mode (API clients) is untouched.
#[tokio::test]
async fn cookie_mode_refuses_cross_site_requests() {
    let app = TestApp::spawn_with(&[
        ("PUBLIC_URL", "https://app.example.com/base"),
        ("CORS_ORIGINS", "https://partner.example.com"),
    ])
    .await;
    let user = app.register_user().await;
    let form = |origin: Option<&str>, site: Option<&str>| {
        let mut req = app.request(Method::POST, "/api/v1/auth/token").form(&[
            ("username", user.email.as_str()),
            ("password", PW),
            ("refresh_in", "cookie"),
        ]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        req.send()
    };
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (Some("null"), None),
        (Some("https://app.example.com.evil.example"), Some("same-origin")),
        (None, Some("cross-site")),
    ] {
        let res = form(origin, site).await.unwrap();
        assert!(res.headers().get("set-cookie").is_none(), "{origin:?} {site:?}");
        assert_problem(res, 403, "csrf_rejected").await;
    }
    for (origin, site) in [
        (Some("https://app.example.com"), None),
        (Some("https://partner.example.com"), Some("cross-site")),
        (None, Some("same-origin")),
        (None, None),
    ] {
        let res = form(origin, site).await.unwrap();
        assert_eq!(res.status(), 200, "{origin:?} {site:?}");
    }
    let evil = |req: reqwest::RequestBuilder| req.header("origin", "https://evil.example").send();
    // JSON login and register in cookie mode too; body mode is not cookie mode.
    let res = evil(
        app.request(Method::POST, "/api/v1/auth/login")
            .json(&json!({"email": user.email, "password": PW, "refresh_in": "cookie"})),
    )
    .await
    .unwrap();
    assert_problem(res, 403, "csrf_rejected").await;
    let res = evil(
        app.request(Method::POST, "/api/v1/auth/register")
            .json(&json!({"email": "csrf@example.com", "password": PW, "full_name": "C", "refresh_in": "cookie"})),
    )
    .await
    .unwrap();
    assert_problem(res, 403, "csrf_rejected").await;
    let res = evil(
        app.request(Method::POST, "/api/v1/auth/login")
            .json(&json!({"email": user.email, "password": PW})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "body mode");

    // A request authenticated by the cookie: refresh and logout.
    let signed_in = form(Some("https://app.example.com"), None).await.unwrap();
    let token = cookie_value(&set_cookie(&signed_in));
    let access = json(signed_in).await["access_token"].as_str().unwrap().to_string();
    let cookie = format!("nf_refresh={token}");
    let res = evil(
        app.request(Method::POST, "/api/v1/auth/refresh")
            .header("cookie", &cookie),
    )
    .await
    .unwrap();
    assert_problem(res, 403, "csrf_rejected").await;
    let res = evil(
        app.request(Method::POST, "/api/v1/auth/logout")
            .bearer_auth(&access)
            .header("cookie", &cookie),
    )
    .await
    .unwrap();
    assert_problem(res, 403, "csrf_rejected").await;
    let res = app
        .request(Method::POST, "/api/v1/auth/refresh")
        .header("cookie", &cookie)
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the session survived the forged requests");
}

/// A login abandoned mid-hash (client gone) keeps its hashing permit until the hash ends: aborted sign-ins
/// never run more hashes at once than there are permits.
#[tokio::test]
async fn aborted_sign_ins_never_exceed_the_hashing_permits() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(15))
        .build()
        .unwrap();
    let attempts = (0..24).map(|_| {
        impatient
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": user.email, "password": "a wrong password"}))
            .send()
    });
    let results = futures_util::future::join_all(attempts).await;
    assert!(results.iter().any(|r| r.is_err()), "some sign-ins were abandoned");
    // Let every hash that started finish.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.state.hasher.running() > 0 {
        assert!(std::time::Instant::now() < deadline, "hashes still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let permits = app.state.hasher.permits();
    let peak = app.state.hasher.peak_running();
    assert!(
        peak >= 1 && peak <= permits,
        "{peak} hashes ran at once with {permits} permits"
    );
    assert_eq!(app.login(&user.email, PW).await.status(), 200);
}
