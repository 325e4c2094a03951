//! No response, log line or audit entry ever carries a password, hash, token, TOTP secret or code.

use std::{
    io::Read,
    process::Stdio,
    time::{Duration, Instant},
};

use neoforge::auth::totp::code_at;
use serde_json::{Value, json};

use crate::support::{TestDb, binary, free_port};

#[tokio::test]
async fn secrets_never_reach_logs_responses_or_the_audit_log() {
    let db = TestDb::new().await;
    let port = free_port();
    let outbox = db.dir.path().join("outbox");
    let mut child = binary()
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir.path())
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "debug")
        .env("LOG_FORMAT", "json")
        .env("EMAIL_BACKEND", "file")
        .env("EMAIL_OUTBOX_DIR", &outbox)
        .env("ADMIN_EMAIL", "root@example.com")
        .env("ADMIN_PASSWORD", "root admin password 1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("http://127.0.0.1:{port}/ready"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let password = "sekrit correct horse 42";
    let mut secrets: Vec<String> = vec![password.into(), "root admin password 1".into()];
    // Bodies of responses that must carry no credential: sign-in (beyond its new tokens), errors, /users/me.
    let mut responses = String::new();
    let post = |path: &str, body: Value, bearer: Option<String>| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send()
    };
    let res = post(
        "/auth/register",
        json!({"email": "leak@example.com", "password": password, "full_name": "L"}),
        None,
    )
    .await
    .unwrap();
    let reg: Value = res.json().await.unwrap();
    let access = reg["access_token"].as_str().unwrap().to_string();
    secrets.push(reg["refresh_token"].as_str().unwrap().into());
    let res = post("/auth/refresh", json!({"refresh_token": reg["refresh_token"]}), None)
        .await
        .unwrap();
    let refreshed: Value = res.json().await.unwrap();
    secrets.push(refreshed["refresh_token"].as_str().unwrap().into());
    let access = refreshed["access_token"].as_str().map(str::to_string).unwrap_or(access);
    let setup: Value = post("/auth/2fa/setup", json!({"password": password}), Some(access.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base32 = setup["secret"].as_str().unwrap().to_string();
    let raw = totp_rs::Secret::try_from_base32(&base32).unwrap().as_bytes().to_vec();
    let code = code_at(&raw, chrono::Utc::now().timestamp() as u64);
    let enabled: Value = post("/auth/2fa/enable", json!({"code": code}), Some(access.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(base32);
    secrets.push(code.clone());
    let recovery: Vec<String> = serde_json::from_value(enabled["recovery_codes"].clone()).unwrap();
    secrets.extend(recovery.iter().cloned());
    let login: Value = post(
        "/auth/login",
        json!({"email": "leak@example.com", "password": password, "totp_code": recovery[0]}),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    responses.push_str(&login["user"].to_string());
    let bad = post(
        "/auth/login",
        json!({"email": "leak@example.com", "password": "wrong wrong wrong", "totp_code": "999999"}),
        None,
    )
    .await
    .unwrap();
    responses.push_str(&bad.text().await.unwrap());
    post("/auth/password-reset", json!({"email": "leak@example.com"}), None)
        .await
        .unwrap();
    let me = client
        .get(format!("{base}/users/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    responses.push_str(&me);
    // Email tokens live only in the emails themselves.
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let mail: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        if let Some(link) = mail["links"][0].as_str() {
            secrets.push(link.split("token=").nth(1).unwrap().to_string());
        }
    }
    secrets.push(access);

    let audit: Vec<String> = neoforge::with_db!(
        &neoforge::db::Db::connect(&db.url, &Default::default()).await.unwrap(),
        |c| {
            sqlx::query_scalar::<_, String>(
                "SELECT action || ' ' || COALESCE(ip, '') || ' ' || CAST(metadata AS TEXT) FROM audit_log",
            )
            .fetch_all(c)
            .await
        }
    )
    .unwrap();
    assert!(audit.len() >= 6, "{audit:?}");

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    let mut logs = String::new();
    child.stdout.take().unwrap().read_to_string(&mut logs).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("request finished"), "debug JSON logs were captured");
    // JSON lines with the request's ids at the top level.
    let finished: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "request finished")
        .collect();
    assert!(finished.len() >= 8, "{finished:?}");
    for line in &finished {
        for key in ["timestamp", "level", "message", "target", "request_id", "trace_id"] {
            assert!(line[key].is_string(), "{key} in {line}");
        }
        assert_eq!(line["trace_id"].as_str().unwrap().len(), 32);
    }

    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "secret {secret:?} in logs");
        if !secret.starts_with("ey") {
            // Responses other than the token and recovery-code answers carry no credential at all.
            assert!(!responses.contains(secret.as_str()), "secret {secret:?} in a response");
        }
        for line in &audit {
            assert!(!line.contains(secret.as_str()), "secret {secret:?} in audit {line}");
        }
    }
    for forbidden in ["$argon2", "password_hash", "totp_secret", "leak@example.com"] {
        for line in &audit {
            assert!(!line.contains(forbidden), "{forbidden} in audit {line}");
        }
    }
    assert!(!responses.contains("$argon2") && !responses.contains("password_hash"));
}
