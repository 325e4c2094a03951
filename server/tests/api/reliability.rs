//! Reliability: concurrent writers never see a locked database; a `kill -9` loses no answered write.

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
    let child = binary()
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir.path())
        .env("PORT", port.to_string())
        .env("ADMIN_PASSWORD", "unused admin password")
        // The load is one user from one IP: the limiter would (rightly) slow it down.
        .env("RATE_LIMITING", "false")
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
    tokio::time::sleep(Duration::from_millis(700)).await;
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
