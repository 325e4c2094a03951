//! `neoforge backup`: a consistent SQLite copy taken while the server serves a write load; restored, it
//! holds every write acknowledged before the backup began.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::json;

use crate::{
    reliability::start_with,
    support::{TestDb, binary, free_port},
};

fn backup(db_url: &str, target: &std::path::Path) -> std::process::Output {
    binary()
        .arg("backup")
        .arg(target)
        .env("DATABASE_URL", db_url)
        .stdin(Stdio::null())
        .output()
        .expect("run neoforge backup")
}

#[tokio::test]
async fn backup_is_consistent_under_write_load_and_restores_every_acknowledged_write() {
    let db = TestDb::new().await;
    let target = db.dir.path().join("copies").join("backup.db");
    if db.is_postgres() {
        // PostgreSQL has pg_dump; the command says so instead of writing something half-right.
        let out = backup(&db.url, &target);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        assert!(!target.exists());
        return;
    }
    let port = free_port();
    // The writers create projects as fast as the machine allows: on a fast one they pass the default quota
    // (1000 a user) before the backup ends, and a 409 `quota_exceeded` is not what this test is about.
    let mut server = start_with(&db, port, &[]).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let credentials = json!({"email": "backup@example.com", "password": "correct horse battery", "full_name": "B"});
    let reg: serde_json::Value = client
        .post(format!("{base}/auth/register"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = reg["access_token"].as_str().unwrap().to_string();

    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (answered, stop) = (answered.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let res = client
                    .post(format!("{base}/projects"))
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("w{w}-{i}"), "description": "x".repeat(500)}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201, "writes go on during the backup");
                let body: serde_json::Value = res.json().await.unwrap();
                answered.lock().unwrap().push(body["id"].as_str().unwrap().to_string());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before: Vec<String> = answered.lock().unwrap().clone();
    let (url, path) = (db.url.clone(), target.clone());
    let out = tokio::task::spawn_blocking(move || backup(&url, &path)).await.unwrap();
    let during = answered.lock().unwrap().len() - before.len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written"));
    assert!(before.len() > 10, "the load ran before the backup ({})", before.len());
    let total = answered.lock().unwrap().len();
    assert!(total > before.len() + during, "the load went on after the backup");
    server.kill().unwrap();
    let _ = server.wait();

    // A second backup to the same file is refused: a backup is never overwritten.
    let again = backup(&db.url, &target);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    // Restore: serve the copy and find every write acknowledged before the backup began.
    let restored = TestDb::new().await;
    let restored_url = format!("sqlite://{}", target.display());
    let port = free_port();
    let mut server = start_with(&restored, port, &[("DATABASE_URL", &restored_url)]).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let login: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().expect("the restored account signs in");
    for id in &before {
        let res = client
            .get(format!("{base}/projects/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "acknowledged write {id} is in the backup");
    }
    let page: serde_json::Value = client
        .get(format!("{base}/projects?page_size=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let copied = page["total"].as_u64().unwrap() as usize;
    assert!(
        copied >= before.len() && copied <= total,
        "{copied} rows: a snapshot between {} and {total}",
        before.len()
    );
    server.kill().unwrap();
    let _ = server.wait();
}
