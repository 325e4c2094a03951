//! Reliability: concurrent writers never see a locked database; a `kill -9` loses no answered write and
//! no queued email, and sends none twice.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, TestDb, binary, free_port, json};

#[tokio::test]
async fn two_hundred_concurrent_writes_all_succeed() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let requests = (0..200).map(|i| {
        app.authed(Method::POST, "/api/v1/projects", &user)
            .json(&json!({"name": format!("p{i}")}))
            .send()
    });
    let results = futures_util::future::join_all(requests).await;
    for res in results {
        let res = res.unwrap();
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
    }
    let list = json(app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap()).await;
    assert_eq!(list["total"], 200);
}

async fn start(db: &TestDb, port: u16) -> std::process::Child {
    start_with(db, port, &[]).await
}

pub(crate) async fn start_with(db: &TestDb, port: u16, extra: &[(&str, &str)]) -> std::process::Child {
    let child = binary()
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir.path())
        .env("PORT", port.to_string())
        .env("ADMIN_PASSWORD", "unused admin password")
        // The load is one user from one IP: the limiter would (rightly) slow it down.
        .env("RATE_LIMITING", "false")
        // ... and on a fast machine it outgrows the default quota of 1,000 projects within a second.
        .env("MAX_PROJECTS_PER_USER", "1000000")
        // Set last, so a test may override any of the above.
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://127.0.0.1:{port}/ready"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

#[tokio::test]
async fn kill_9_during_writes_loses_no_answered_write() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut child = start(&db, port).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let reg: serde_json::Value = client
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": "crash@example.com", "password": "correct horse battery", "full_name": "C"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = reg["access_token"].as_str().unwrap().to_string();

    // Four writers create projects until the server dies; every 2xx id is remembered.
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, token, answered) = (client.clone(), base.clone(), token.clone(), answered.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let res = client
                    .post(format!("{base}/projects"))
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("w{w}-{i}")}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 201 => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(id) = body["id"].as_str() {
                            answered.lock().unwrap().push(id.to_string());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    // Until enough writes were answered (a loaded machine is slower), then kill mid-stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    while answered.lock().unwrap().len() <= 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    for w in writers {
        let _ = w.await;
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 10, "the load ran ({} writes)", answered.len());

    let mut child = start(&db, port).await;
    let login: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": "crash@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    for id in &answered {
        let res = client
            .get(format!("{base}/projects/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "answered write {id} survived the crash");
    }
    child.kill().unwrap();
    let _ = child.wait();
}

/// Every email file in `outbox`, by recipient.
fn outbox_by_recipient(outbox: &std::path::Path) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Ok(mail) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap())
        {
            *counts
                .entry(mail["to"].as_str().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn kill_9_during_registrations_loses_no_email_and_sends_none_twice() {
    let db = TestDb::new().await;
    let port = free_port();
    let outbox = db.dir.path().join("outbox");
    let outbox_str = outbox.display().to_string();
    // A job the killed process had claimed runs again when its lease ends: keep the lease short.
    let env = [
        ("EMAIL_BACKEND", "file"),
        ("EMAIL_OUTBOX_DIR", outbox_str.as_str()),
        ("JOB_VISIBILITY_TIMEOUT", "2s"),
    ];
    let mut child = start_with(&db, port, &env).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (client, base, answered) = (client.clone(), base.clone(), answered.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let email = format!("w{w}-{i}@example.com");
                let res = client
                    .post(format!("{base}/auth/register"))
                    .json(&json!({"email": email, "password": "correct horse battery", "full_name": "R"}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 201 => answered.lock().unwrap().push(email),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL, with emails queued and in flight
    let _ = child.wait();
    for w in writers {
        let _ = w.await;
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 3, "the load ran ({} registrations)", answered.len());

    let mut child = start_with(&db, port, &env).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = outbox_by_recipient(&outbox);
        if answered.iter().all(|e| counts.contains_key(e)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queued emails were lost: {} of {} delivered",
            counts.len(),
            answered.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // time for a duplicate to show
    for (to, n) in outbox_by_recipient(&outbox) {
        assert_eq!(n, 1, "{to} got {n} verification emails");
    }
    child.kill().unwrap();
    let _ = child.wait();
}
