//! Two-factor authentication: setup, enable, sign-in with a code or a recovery code, replay, disable.

use neoforge::auth::totp::code_at;
use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, TestUser, assert_problem, audit_actions, json};

const PW: &str = "correct horse battery staple";

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// Sets up and enables 2FA; returns the raw secret and the recovery codes.
async fn enable(app: &TestApp, user: &TestUser) -> (Vec<u8>, Vec<String>) {
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/setup", user)
        .json(&json!({"password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    let base32 = body["secret"].as_str().unwrap().to_string();
    assert!(
        body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/NeoForge:")
    );
    let secret = totp_rs::Secret::try_from_base32(&base32).unwrap().as_bytes().to_vec();

    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/enable", user)
        .json(&json!({"code": "000000"}))
        .send()
        .await
        .unwrap();
    if res.status() != 200 {
        assert_problem(res, 400, "invalid_totp").await;
    }
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/enable", user)
        .json(&json!({"code": code_at(&secret, now() - 30)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let codes: Vec<String> = serde_json::from_value(json(res).await["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn login_with(app: &TestApp, user: &TestUser, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": user.email, "password": PW});
    if let Some(c) = code {
        body["totp_code"] = json!(c);
    }
    app.post_json("/api/v1/auth/login", &body).await
}

#[tokio::test]
async fn two_factor_sign_in_with_codes_that_work_once() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let (secret, recovery) = enable(&app, &user).await;
    let me = json(app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap()).await;
    assert_eq!(me["totp_enabled"], true);
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/setup", &user)
        .json(&json!({"password": user.password}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "totp_already_enabled").await;

    let res = login_with(&app, &user, None).await;
    assert_eq!(res.headers()["x-2fa-required"], "true");
    assert_problem(res, 401, "totp_required").await;
    assert_problem(login_with(&app, &user, Some("123456")).await, 401, "invalid_totp").await;

    // The next step's code (within the ±1 window) works once; the same code again is refused.
    let code = code_at(&secret, now() + 30);
    assert_eq!(login_with(&app, &user, Some(&code)).await.status(), 200);
    assert_problem(login_with(&app, &user, Some(&code)).await, 401, "invalid_totp").await;

    // A recovery code works once in place of a TOTP code, in any case and with spaces.
    let shouted = format!(" {} ", recovery[0].to_uppercase());
    assert_eq!(login_with(&app, &user, Some(&shouted)).await.status(), 200);
    assert_problem(login_with(&app, &user, Some(&recovery[0])).await, 401, "invalid_totp").await;
    // The OAuth2 form takes the code too.
    let res = app
        .request(Method::POST, "/api/v1/auth/token")
        .form(&[
            ("username", user.email.as_str()),
            ("password", PW),
            ("totp_code", recovery[1].as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn secrets_are_encrypted_at_rest_and_2fa_can_be_disabled() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let (secret, recovery) = enable(&app, &user).await;
    let stored: (Option<String>, Vec<String>) = {
        let s = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar::<_, Option<String>>(
            "SELECT totp_secret FROM users"
        )
        .fetch_one(c)
        .await)
        .unwrap();
        let codes = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar::<_, String>(
            "SELECT code_hash FROM recovery_codes"
        )
        .fetch_all(c)
        .await)
        .unwrap();
        (s, codes)
    };
    let sealed = stored.0.unwrap();
    let base32 = totp_rs::Secret::from(secret.clone()).to_base32();
    assert!(!sealed.contains(&base32));
    assert_eq!(stored.1.len(), 10);
    assert!(
        stored
            .1
            .iter()
            .all(|h| !recovery.iter().any(|c| h.contains(&c.replace('-', ""))))
    );

    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/disable", &user)
        .json(&json!({"code": "111111"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_totp").await;
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/disable", &user)
        .json(&json!({"code": recovery[3]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        login_with(&app, &user, None).await.status(),
        200,
        "no second factor any more"
    );
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/disable", &user)
        .json(&json!({"code": "111111"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "totp_not_enabled").await;
    let actions = audit_actions(&app).await;
    assert!(actions.iter().any(|(a, _)| a == "auth.2fa_enabled"));
    assert!(actions.iter().any(|(a, _)| a == "auth.2fa_disabled"));
}

#[tokio::test]
async fn enable_needs_a_setup_first() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/enable", &user)
        .json(&json!({"code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_totp").await;
    let res = app
        .request(Method::POST, "/api/v1/auth/2fa/setup")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "not_authenticated").await;
}

/// 2FA setup needs the account password (spec §1.3): a leaked access token alone cannot bind the
/// attacker's authenticator to the account.
#[tokio::test]
async fn two_factor_setup_needs_the_password() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let setup = |body: serde_json::Value| {
        app.authed(Method::POST, "/api/v1/auth/2fa/setup", &user)
            .json(&body)
            .send()
    };
    assert_problem(setup(json!({})).await.unwrap(), 422, "validation_failed").await;
    let res = setup(json!({"password": "not the password at all"})).await.unwrap();
    assert_problem(res, 400, "invalid_credentials").await;
    let me = json(app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap()).await;
    assert_eq!(me["totp_enabled"], false);
    // No pending secret was stored: enabling has nothing to confirm.
    let res = app
        .authed(Method::POST, "/api/v1/auth/2fa/enable", &user)
        .json(&json!({"code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_totp").await;
    assert_eq!(setup(json!({"password": user.password})).await.unwrap().status(), 200);
}
