//! Dependency faults (spec/ops.md, "Reliability"):
//! - PostgreSQL stopped for 10 s under load → clean 503 problems, no request hanging past the request
//!   timeout, `/ready` 503, and full recovery without a restart;
//! - Redis stopped → limits fall back to memory, `/ready` says so, nothing else breaks, and the limiter goes
//!   back to Redis when it returns.
//!
//! Each test stops a server of its own (a throw-away PostgreSQL cluster, a `redis-server` on a free port),
//! never the shared ones the rest of the suite uses. The PostgreSQL test runs in the PostgreSQL pass of
//! `make test` (`TEST_DATABASE_URL` set), as root (the cluster runs as the `postgres` user), as `.ci/run` does.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::support::{binary, free_port};

/// A PostgreSQL cluster in a temp folder, run as the `postgres` user.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn create() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        let dir = std::env::temp_dir().join(format!("neoforge-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(
            Command::new("chown")
                .arg("postgres")
                .arg(&dir)
                .status()
                .unwrap()
                .success()
        );
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
        };
        cluster.as_postgres(&["initdb", "-D", ".", "-A", "trust", "-U", "postgres", "--no-sync"]);
        cluster.start();
        Some(cluster)
    }

    fn as_postgres(&self, args: &[&str]) {
        let tool = self.bin.join(args[0]);
        let status = Command::new("su")
            .arg("postgres")
            .arg("-s")
            .arg("/bin/sh")
            .arg("-c")
            .arg(format!(
                "cd {} && {} {}",
                self.dir.display(),
                tool.display(),
                args[1..].join(" ")
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{args:?} as postgres");
    }

    fn start(&self) {
        let options = format!(
            "'-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off'",
            self.port,
            self.dir.display()
        );
        self.as_postgres(&["pg_ctl", "-D", ".", "-o", &options, "-l", "log", "-w", "start"]);
    }

    fn stop(&self) {
        self.as_postgres(&["pg_ctl", "-D", ".", "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c"])
            .arg(format!(
                "{} -D {} -m immediate stop",
                self.bin.join("pg_ctl").display(),
                self.dir.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

async fn wait_ready(base: &str, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if reqwest::get(format!("{base}/ready"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Outcomes of the load, by phase: (status or "timeout"/"error", content type).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_only_down_for_10_s_gives_503s_then_recovers_without_a_restart() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        return crate::support::skipped("needs TEST_DATABASE_URL (PostgreSQL)");
    }
    if !running_as_root() {
        // It starts a PostgreSQL cluster of its own, as the postgres user.
        return crate::support::skipped("needs root (CI runs as root)");
    }
    let Some(cluster) = Cluster::create() else {
        panic!("PostgreSQL binaries are missing under /usr/lib/postgresql");
    };
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("server.log");
    let mut server = binary()
        .arg("serve")
        .env("LOG_LEVEL", "warn")
        .env("DATABASE_URL", cluster.url())
        .env("DATA_DIR", data.path())
        .env("PORT", port.to_string())
        .env("ADMIN_PASSWORD", "unused admin password")
        .env("RATE_LIMITING", "false")
        .env("REQUEST_TIMEOUT", "5s")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_ready(&base, Duration::from_secs(30)).await, "the server started");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(8))
        .build()
        .unwrap();
    let reg: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "outage@example.com", "password": "correct horse battery", "full_name": "O"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = reg["access_token"].as_str().unwrap().to_string();

    // Four clients list projects (auth + two queries) in a loop until told to stop.
    let seen: Seen = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (client, base, token, seen, stop) =
            (client.clone(), base.clone(), token.clone(), seen.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let res = client
                    .get(format!("{base}/api/v1/projects"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let outcome = match res {
                    Ok(r) => (
                        r.status().as_u16().to_string(),
                        r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()),
                    ),
                    Err(e) if e.is_timeout() => ("timeout".into(), None),
                    Err(e) => (format!("error: {e}"), None),
                };
                seen.lock().unwrap().push(outcome);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = seen.lock().unwrap().drain(..).collect::<Vec<_>>();
    assert!(
        !before.is_empty() && before.iter().all(|(s, _)| s == "200"),
        "{before:?}"
    );

    let cluster_ref = &cluster;
    tokio::task::block_in_place(|| cluster_ref.stop());
    let outage = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status(), 503, "/ready reports the outage");
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200, "liveness stays 200");
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(outage.elapsed())).await;
    tokio::task::block_in_place(|| cluster_ref.start());
    let during = seen.lock().unwrap().drain(..).collect::<Vec<_>>();

    // Back without a restart: requests succeed again soon.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let last = seen.lock().unwrap().last().cloned();
        if last.as_ref().is_some_and(|(s, _)| s == "200") {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: last answer {last:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(wait_ready(&base, Duration::from_secs(10)).await, "/ready recovered");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for l in load {
        l.await.unwrap();
    }
    let _ = server.kill();
    let _ = server.wait();

    assert!(during.len() >= 8, "the load ran during the outage: {during:?}");
    for (status, content_type) in &during {
        match status.as_str() {
            "200" => {} // answered before the stop took effect
            "503" => assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{during:?}"),
            other => panic!(
                "during the outage a request got {other} (not 200 or a 503 problem): {during:?}\nserver log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    }
    assert!(
        during.iter().any(|(s, _)| s == "503"),
        "the outage was seen: {during:?}"
    );
}

/// A Redis of this test's own on a free port, stopped and started again at will.
struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis {
            port,
            child: Some(child),
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn redis_stopped_falls_back_to_memory_and_comes_back_when_redis_does() {
    if Command::new("redis-server").arg("--version").output().is_err() {
        panic!("redis-server is missing (scripts/ensure-services.sh installs it)");
    }
    let port = free_port();
    let mut redis = OwnRedis::start(port);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let app = crate::support::TestApp::spawn_with(&[
        ("RATE_LIMITING", "true"),
        ("RATE_LIMIT_ANON", "1000"),
        ("REDIS_URL", url.as_str()),
    ])
    .await;
    let ready = |app: &crate::support::TestApp| {
        let req = app.request(reqwest::Method::GET, "/ready");
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap()["redis"].clone())
        }
    };
    assert_eq!(ready(&app).await, (200, json!("ok")));
    assert_eq!(app.get("/api/v1/config").await.status(), 200);
    assert!(!app.state.limiter.is_degraded());

    redis.stop();
    // Limits move to memory: requests keep working, carry their headers, and /ready says why it is 503.
    for _ in 0..5 {
        let res = app.get("/api/v1/config").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().contains_key("x-ratelimit-remaining"));
    }
    assert!(app.state.limiter.is_degraded());
    assert_eq!(ready(&app).await, (503, json!("error")));
    assert_eq!(app.get("/health").await.status(), 200);

    // Redis is back on the same address: the limiter and /ready follow without a restart.
    let _redis = OwnRedis::start(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(app.get("/api/v1/config").await.status(), 200);
        if !app.state.limiter.is_degraded() && ready(&app).await.0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the limiter did not return to Redis");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ready(&app).await, (200, json!("ok")));
}

#[tokio::test]
async fn postgres_only_a_connection_the_server_terminates_is_a_503_not_a_500() {
    let db = crate::support::TestDb::new().await;
    if !db.is_postgres() {
        // SQLite has no server to go away.
        return crate::support::skipped("needs TEST_DATABASE_URL (PostgreSQL)");
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    // What a request in flight sees when PostgreSQL is stopped: SQLSTATE 57P01 (admin_shutdown).
    let err = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("57P01"),
        "{err}"
    );
    let api: neoforge::error::ApiError = err.into();
    assert_eq!(api.status.as_u16(), 503);
    assert_eq!(api.code.as_str(), "service_unavailable");
    pool.close().await;
}
