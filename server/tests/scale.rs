//! `make test-scale`: two `neoforge serve` processes on different ports sharing one PostgreSQL schema and
//! one Redis, as a deployment behind a load balancer runs them. Sessions, revocation, rate limits,
//! idempotency, jobs and periodic tasks must behave as one service; SIGTERM on one drains it while the
//! other takes over its queued jobs.
//!
//! Needs `TEST_DATABASE_URL` and `TEST_REDIS_URL` (`.ci/run` sets both); without them it fails, it never
//! passes by skipping.

#[path = "api/support/mod.rs"]
mod support;

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{TestDb, binary, free_port};

const SECRET: &str = "scale-test-secret-scale-test-secret-0123456789";

struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One PostgreSQL schema, one Redis key prefix, one outbox, and two instances serving them.
struct Pair {
    db: TestDb,
    outbox: PathBuf,
    a: Instance,
    b: Instance,
    client: Client,
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("make test-scale needs TEST_REDIS_URL (and TEST_DATABASE_URL): scripts/ensure-services.sh starts both")
}

async fn pair(extra: &[(&str, &str)]) -> Pair {
    let db = TestDb::new().await;
    assert!(
        db.is_postgres(),
        "make test-scale needs TEST_DATABASE_URL: several instances share PostgreSQL"
    );
    let outbox = db.dir.path().join("outbox");
    let prefix = format!("scale:{}:", uuid::Uuid::new_v4().simple());
    let mut env: Vec<(String, String)> = [
        ("DATABASE_URL", db.url.as_str()),
        ("REDIS_URL", redis_url().as_str()),
        ("RATE_LIMIT_REDIS_PREFIX", prefix.as_str()),
        ("SECRET_KEY", SECRET),
        ("EMAIL_BACKEND", "file"),
        ("EMAIL_OUTBOX_DIR", &outbox.display().to_string()),
        ("JOB_POLL_INTERVAL", "100ms"),
        ("ADMIN_PASSWORD", "unused admin password"),
        ("RATE_LIMITING", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    // One after the other: the first applies the migrations.
    let a = start(&env, &db.dir.path().join("a")).await;
    let b = start(&env, &db.dir.path().join("b")).await;
    Pair {
        db,
        outbox,
        a,
        b,
        client: Client::new(),
    }
}

async fn start(env: &[(String, String)], data: &Path) -> Instance {
    let port = free_port();
    let child = binary()
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("DATA_DIR", data)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start neoforge serve");
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(instance.url("/ready"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "instance did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    instance
}

async fn body(res: reqwest::Response) -> Value {
    res.json().await.expect("a JSON body")
}

async fn register(pair: &Pair, on: &Instance, email: &str) -> Value {
    register_on(&pair.client, on, email).await
}

async fn register_on(client: &Client, on: &Instance, email: &str) -> Value {
    let res = client
        .post(on.url("/api/v1/auth/register"))
        .json(&json!({"email": email, "password": "correct horse battery", "full_name": "Scale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    body(res).await
}

/// Recipients of the files in the shared outbox, with how many emails each got.
fn outbox_counts(outbox: &Path) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(mail) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if let Some(to) = mail["to"].as_str().or_else(|| mail["to"][0].as_str()) {
            *counts.entry(to.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_session_made_on_one_instance_works_and_dies_on_the_other() {
    let pair = pair(&[]).await;
    let reg = register(&pair, &pair.a, "both@example.com").await;
    let token = reg["access_token"].as_str().unwrap();
    let res = pair
        .client
        .get(pair.b.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a login on A is valid on B");

    // A second session, revoked through A: B refuses the very next request.
    let login = pair
        .client
        .post(pair.b.url("/api/v1/auth/login"))
        .json(&json!({"email": "both@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let second = body(login).await;
    let (second_token, second_id) = (
        second["access_token"].as_str().unwrap(),
        second["session_id"].as_str().unwrap(),
    );
    assert_eq!(
        pair.client
            .get(pair.b.url("/api/v1/users/me"))
            .bearer_auth(second_token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = pair
        .client
        .post(pair.a.url(&format!("/api/v1/auth/sessions/{second_id}/revoke")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = pair
        .client
        .get(pair.b.url("/api/v1/users/me"))
        .bearer_auth(second_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "revoked on A, refused on B at once");

    // A refresh token rotated on B is reuse when presented again on A.
    let refresh = reg["refresh_token"].as_str().unwrap();
    let res = pair
        .client
        .post(pair.b.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = pair
        .client
        .post(pair.a.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(body(res).await["code"], "refresh_token_reused");
}

#[tokio::test]
async fn both_instances_share_one_rate_limit_allowance() {
    let pair = pair(&[("RATE_LIMITING", "true"), ("RATE_LIMIT_ANON", "10")]).await;
    let mut limited = Vec::new();
    for i in 0..14 {
        let on = if i % 2 == 0 { &pair.a } else { &pair.b };
        let res = pair.client.get(on.url("/api/v1/community/posts")).send().await.unwrap();
        if i == 0 {
            assert_eq!(res.headers()["x-ratelimit-limit"], "10");
        }
        limited.push(res.status() == StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        limited.iter().filter(|l| !**l).count(),
        10,
        "10 allowed in all, not 10 each: {limited:?}"
    );
    assert!(limited[10..].iter().all(|l| *l), "{limited:?}");
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_replays_on_the_other() {
    let pair = pair(&[]).await;
    let token = register(&pair, &pair.a, "keys@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let create = |on: &Instance, key: &str| {
        pair.client
            .post(on.url("/api/v1/projects"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&json!({"name": "once"}))
            .send()
    };
    let first = create(&pair.a, "k-1").await.unwrap();
    assert_eq!(first.status(), 201);
    let first = body(first).await;
    let again = create(&pair.b, "k-1").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(body(again).await, first);

    // 50 identical keyed creates at once, spread over both: one row, one body.
    let requests = (0..50).map(|i| create(if i % 2 == 0 { &pair.a } else { &pair.b }, "k-50"));
    let answers = futures_util::future::join_all(requests).await;
    let mut bodies = HashSet::new();
    let mut created = 0;
    for res in answers {
        let res = res.unwrap();
        match res.status().as_u16() {
            201 => {
                created += 1;
                bodies.insert(body(res).await.to_string());
            }
            200 => {
                bodies.insert(body(res).await.to_string());
            }
            409 => assert_eq!(body(res).await["code"], "idempotency_in_progress"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(bodies.len(), 1, "every answer is the same project");
    let list = body(
        pair.client
            .get(pair.b.url("/api/v1/projects"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 2, "one project per key");
}

#[tokio::test]
async fn jobs_run_once_and_periodic_tasks_once_per_interval_across_instances() {
    let pair = pair(&[("CLEANUP_INTERVAL", "2s")]).await;
    let started = Instant::now();
    let emails: Vec<String> = (0..20).map(|i| format!("job{i}@example.com")).collect();
    for (i, email) in emails.iter().enumerate() {
        register(&pair, if i % 2 == 0 { &pair.a } else { &pair.b }, email).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = outbox_counts(&pair.outbox);
        if emails.iter().all(|e| counts.contains_key(e)) {
            break;
        }
        assert!(Instant::now() < deadline, "not every email was delivered: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;
    let counts = outbox_counts(&pair.outbox);
    for e in &emails {
        assert_eq!(counts[e], 1, "{e} got exactly one verification email");
    }
    let runs: Vec<(String, i64)> = {
        let pool = sqlx::PgPool::connect(&pair.db.url).await.unwrap();
        let rows = sqlx::query_as("SELECT name, runs FROM periodic_tasks")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows
    };
    let elapsed = started.elapsed().as_secs_f64() + 1.0;
    assert!(!runs.is_empty());
    for (name, n) in &runs {
        // One runner starts a task about elapsed / 2 s times; two uncoordinated ones twice that.
        let once = (elapsed / 2.0).ceil() as i64 + 1;
        assert!(
            *n >= 2 && *n <= once,
            "{name} ran {n} times in {elapsed:.0} s at a 2 s interval"
        );
    }
}

#[tokio::test]
async fn sigterm_drains_one_instance_while_the_other_takes_its_jobs() {
    // A queues emails but runs no workers, so they wait in the queue; B, started after A stopped, must
    // deliver them: nothing A accepted depends on A coming back.
    let mut pair = pair(&[("SHUTDOWN_TIMEOUT", "20s")]).await;
    let Pair { db, outbox, client, .. } = &pair;
    let (db_url, outbox, client) = (db.url.clone(), outbox.clone(), client.clone());
    let env = |workers: &str| -> Vec<(String, String)> {
        [
            ("DATABASE_URL", db_url.clone()),
            ("REDIS_URL", redis_url()),
            ("SECRET_KEY", SECRET.to_string()),
            ("EMAIL_BACKEND", "file".to_string()),
            ("EMAIL_OUTBOX_DIR", outbox.display().to_string()),
            ("JOB_POLL_INTERVAL", "100ms".to_string()),
            ("JOB_WORKERS", workers.to_string()),
            // The window in which /ready says 503 while the instance still serves (a load balancer's
            // probe interval in production): without one the listener closes before a probe can see it.
            ("SHUTDOWN_DELAY", "1s".to_string()),
            ("SHUTDOWN_TIMEOUT", "20s".to_string()),
            // Eight sign-ins from one address: the limiter would (rightly) turn some away.
            ("RATE_LIMITING", "false".to_string()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
    };
    // Replace the pair's instances: A without workers, and no B yet.
    drop(std::mem::replace(
        &mut pair.a,
        start(&env("false"), &pair.db.dir.path().join("a2")).await,
    ));
    pair.b.child.kill().unwrap();
    let _ = pair.b.child.wait();
    let a = &mut pair.a;
    register_on(&client, a, "drain@example.com").await;

    // Slow-ish requests in flight on A (each login hashes with Argon2), then SIGTERM.
    let logins: Vec<_> = (0..8)
        .map(|_| {
            client
                .post(a.url("/api/v1/auth/login"))
                .json(&json!({"email": "drain@example.com", "password": "correct horse battery"}))
                .send()
        })
        .collect();
    let in_flight = tokio::spawn(futures_util::future::join_all(logins));
    tokio::time::sleep(Duration::from_millis(30)).await;
    let signalled = Instant::now();
    sigterm(&a.child);
    // /ready turns 503 at once (the listener still answers during the drain).
    let mut saw_503 = false;
    while signalled.elapsed() < Duration::from_secs(2) {
        match client.get(a.url("/ready")).send().await {
            Ok(r) if r.status() == 503 => {
                saw_503 = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(_) => break,
        }
    }
    for res in in_flight.await.unwrap() {
        assert_eq!(res.expect("an in-flight request completes").status(), 200);
    }
    let exit = loop {
        if let Some(status) = a.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(25),
            "A did not exit within the drain bound"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "exit 0 after SIGTERM: {exit:?}");
    assert!(saw_503, "/ready answered 503 while draining");
    assert!(outbox_counts(&outbox).is_empty(), "A sent nothing itself");

    pair.b = start(&env("true"), &pair.db.dir.path().join("b2")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while outbox_counts(&outbox).get("drain@example.com").copied().unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "B did not deliver A's queued email");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(outbox_counts(&outbox)["drain@example.com"], 1);
}
