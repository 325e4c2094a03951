//! Email verification and password reset, end to end through the file email backend.

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, assert_problem, audit_actions, json};

const PW: &str = "correct horse battery staple";

async fn age_tokens(app: &TestApp, minutes: i64) {
    let shift = chrono::Duration::minutes(minutes);
    let mut tx = app.state.db.begin().await.unwrap();
    let rows: Vec<(uuid::Uuid, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = neoforge::with_tx!(
        &mut tx,
        |c| sqlx::query_as("SELECT id, created_at, expires_at FROM user_tokens")
            .fetch_all(c)
            .await
    )
    .unwrap();
    for (id, created, expires) in rows {
        neoforge::with_tx!(&mut tx, |c| sqlx::query(
            "UPDATE user_tokens SET created_at = $2, expires_at = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(created - shift)
        .bind(expires - shift)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn verification_link_verifies_once_then_reports_already_verified() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let token = app.token_from_email(&user.email, "Confirm").await;
    let verify = |t: String| app.post_json("/api/v1/auth/verify-email", &json!({"token": t}));
    let res = verify(token.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await, json!({"status": "verified"}));
    assert_eq!(
        json(verify(token.clone()).await).await,
        json!({"status": "already_verified"})
    );
    let me = json(app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap()).await;
    assert_eq!(me["is_verified"], true);
    assert!(me["email_verified_at"].is_string());
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(a, _)| a == "auth.email_verified")
    );

    for bad in ["garbage".to_string(), user.access.clone(), user.refresh.clone()] {
        assert_problem(verify(bad).await, 400, "invalid_token").await;
    }
}

#[tokio::test]
async fn expired_or_other_purpose_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let verify_token = app.token_from_email(&user.email, "Confirm").await;
    let res = app
        .post_json("/api/v1/auth/password-reset", &json!({"email": user.email}))
        .await;
    assert_eq!(res.status(), 202);
    let reset_token = app.token_from_email(&user.email, "Reset").await;
    let res = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": reset_token}))
        .await;
    assert_problem(res, 400, "invalid_token").await;
    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": verify_token, "new_password": "a brand new password"}),
        )
        .await;
    assert_problem(res, 400, "invalid_token").await;
    age_tokens(&app, 25 * 60).await;
    let res = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": verify_token}))
        .await;
    assert_problem(res, 400, "invalid_token").await;
}

#[tokio::test]
async fn resend_is_throttled_and_silent_about_unknown_emails() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let resend = |email: &str| app.post_json("/api/v1/auth/verify-email/resend", &json!({"email": email}));
    let res = resend("nobody@example.com").await;
    assert_eq!(res.status(), 202);
    let known = json(resend(&user.email).await).await;
    assert_eq!(known, json!({"status": "accepted"}));
    assert_eq!(
        app.emails_to(&user.email).await.len(),
        1,
        "the registration email counts toward the 5-minute limit"
    );
    age_tokens(&app, 6).await;
    assert_eq!(resend(&user.email).await.status(), 202);
    assert_eq!(app.emails_to(&user.email).await.len(), 2);
    assert!(app.emails_to("nobody@example.com").await.is_empty());
    assert_problem(resend("not an email").await, 422, "validation_failed").await;
}

#[tokio::test]
async fn changing_the_email_invalidates_old_links_and_needs_a_new_verification() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let old_token = app.token_from_email(&user.email, "Confirm").await;
    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &user)
        .json(&json!({"email": "New.Address@Example.com", "current_password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me = json(res).await;
    assert_eq!(
        (me["email"].clone(), me["is_verified"].clone()),
        (json!("new.address@example.com"), json!(false))
    );
    let res = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": old_token}))
        .await;
    assert_problem(res, 400, "invalid_token").await;
    let new_token = app.token_from_email("new.address@example.com", "Confirm").await;
    let res = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": new_token}))
        .await;
    assert_eq!(json(res).await["status"], "verified");
}

#[tokio::test]
async fn password_reset_end_to_end() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let second = json(app.login(&user.email, PW).await).await;
    let request = || {
        app.post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": user.email.to_uppercase()}),
        )
    };
    assert_eq!(json(request().await).await, json!({"status": "accepted"}));
    let token = app.token_from_email(&user.email, "Reset").await;
    let link = app.emails_to(&user.email).await.last().unwrap()["links"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(link.starts_with("http://localhost:8000/reset-password?token="));
    // A second request within 5 minutes sends nothing and the first token stays valid.
    assert_eq!(request().await.status(), 202);
    assert_eq!(
        app.emails_to(&user.email)
            .await
            .iter()
            .filter(|m| m["subject"] == "Reset your password")
            .count(),
        1
    );
    let res = app
        .post_json("/api/v1/auth/password-reset", &json!({"email": "ghost@example.com"}))
        .await;
    assert_eq!(res.status(), 202);
    assert!(app.emails_to("ghost@example.com").await.is_empty());

    let confirm = |pw: &str| {
        app.post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": pw}),
        )
    };
    // A password that breaks the policy is refused and the token survives.
    assert_problem(confirm("password").await, 422, "validation_failed").await;
    let res = confirm("a brand new password").await;
    assert_eq!(res.status(), 204);
    assert_problem(confirm("another new password").await, 400, "invalid_token").await;

    // Every session was revoked; the new password works, the old one does not.
    assert_eq!(
        app.authed(Method::GET, "/api/v1/users/me", &user)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = app
        .request(Method::GET, "/api/v1/users/me")
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.login(&user.email, PW).await.status(), 401);
    assert_eq!(app.login(&user.email, "a brand new password").await.status(), 200);
    assert!(
        app.emails_to(&user.email)
            .await
            .iter()
            .any(|m| m["subject"] == "Your password was changed")
    );
    let actions = audit_actions(&app).await;
    let resets: Vec<_> = actions.iter().filter(|(a, _)| a == "auth.password_reset").collect();
    assert_eq!(resets.len(), 2);
    assert_eq!(resets[0].1, None, "the request is anonymous");
    assert_eq!(resets[1].1, Some(user.id.parse().unwrap()));
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    app.post_json("/api/v1/auth/password-reset", &json!({"email": user.email}))
        .await;
    let token = app.token_from_email(&user.email, "Reset").await;
    age_tokens(&app, 61).await;
    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a brand new password"}),
        )
        .await;
    assert_problem(res, 400, "invalid_token").await;
}

/// A tiny SMTP peer on loopback (the outside world's mail server), recording every message's DATA.
async fn smtp_sink() -> (u16, std::sync::Arc<tokio::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            store.lock().await.push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.ok();
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn the_smtp_backend_delivers_to_a_real_smtp_peer() {
    let (port, messages) = smtp_sink().await;
    let port = port.to_string();
    let app = TestApp::spawn_with(&[
        ("EMAIL_BACKEND", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", &port),
        ("SMTP_TLS", "false"),
        ("EMAIL_FROM", "NeoForge <no-reply@example.com>"),
    ])
    .await;
    let user = app.register_user().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let got = messages.lock().await.clone();
        if let Some(m) = got.iter().find(|m| m.contains(&user.email)) {
            assert!(m.contains("Subject: Confirm your email address"), "{m}");
            assert!(m.contains("verify-email?token="), "{m}");
            assert!(m.contains("text/html"), "{m}");
            // The job id is the Message-ID, so a receiving server can drop a redelivery after a crash.
            let job: uuid::Uuid = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT id FROM jobs")
                .fetch_one(c)
                .await)
            .unwrap();
            assert!(
                m.contains(&format!("Message-ID: <{}@example.com>", job.simple())),
                "{m}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no message reached the SMTP peer");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_announced() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let login = |agent: &'static str| {
        app.request(Method::POST, "/api/v1/auth/login")
            .header("user-agent", agent)
            .json(&json!({"email": user.email, "password": PW}))
            .send()
    };
    let count = async || {
        app.emails_to(&user.email)
            .await
            .iter()
            .filter(|m| m["subject"] == "New sign-in to your account")
            .count()
    };
    // Registration came from reqwest's default agent (no User-Agent): "Unknown device".
    assert_eq!(
        login("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(count().await, 1);
    let mail = app
        .emails_to(&user.email)
        .await
        .into_iter()
        .find(|m| m["subject"] == "New sign-in to your account")
        .unwrap();
    assert!(mail["text"].as_str().unwrap().contains("Firefox on Linux"));
    assert_eq!(
        login("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(count().await, 1, "a known device is not announced again");
}

async fn request_reset(app: &TestApp, email: &str) -> String {
    // Past the one-email-per-5-minutes throttle of the previous request.
    age_tokens(app, 6).await;
    let res = app
        .post_json("/api/v1/auth/password-reset", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), 202);
    app.token_from_email(email, "Reset").await
}

/// Reset tokens die with the credentials they would reset (spec §1.3): a password change, an email
/// change and a completed reset each void every outstanding reset token of the user.
#[tokio::test]
async fn reset_tokens_are_void_after_password_or_email_changes_and_completed_resets() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let confirm = |token: &str, pw: &str| {
        app.post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": pw}),
        )
    };

    let token = request_reset(&app, &user.email).await;
    let res = app
        .authed(Method::POST, "/api/v1/users/me/password", &user)
        .json(&json!({"current_password": PW, "new_password": "second password here"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(confirm(&token, "attacker password 1").await, 400, "invalid_token").await;

    let token = request_reset(&app, &user.email).await;
    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &user)
        .json(&json!({"email": "renamed@example.com", "current_password": "second password here"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_problem(confirm(&token, "attacker password 2").await, 400, "invalid_token").await;

    // Two live tokens; completing a reset with one voids the other.
    let first = request_reset(&app, "renamed@example.com").await;
    let second = request_reset(&app, "renamed@example.com").await;
    assert_ne!(first, second);
    assert_eq!(confirm(&second, "third password here").await.status(), 204);
    assert_problem(confirm(&first, "attacker password 3").await, 400, "invalid_token").await;
    assert_eq!(
        app.login("renamed@example.com", "third password here").await.status(),
        200
    );
}
