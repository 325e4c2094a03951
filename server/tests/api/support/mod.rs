//! `TestApp`: the real router on port 0 against a fresh database — a temp SQLite file, or, when
//! `TEST_DATABASE_URL` is set, a fresh PostgreSQL schema that is dropped afterwards.

#![allow(dead_code)]

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use neoforge::{config::Settings, server, state::AppState};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tempfile::TempDir;

/// A database for one test: a SQLite file in a temp dir, or a PostgreSQL schema.
pub struct TestDb {
    pub url: String,
    pub dir: TempDir,
    schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) {
            Some(base) => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&base)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&admin)
                    .await
                    .expect("create schema");
                admin.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                // The application name marks this test's connections, so the drop can end them.
                let url = format!("{base}{sep}application_name={schema}&options=-c%20search_path%3D{schema}");
                TestDb {
                    url,
                    dir,
                    schema: Some((base, schema)),
                }
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb { url, dir, schema: None }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.schema.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.schema.take() {
            // Drop is synchronous and may run inside a runtime: use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(pool) = sqlx::PgPool::connect(&base).await {
                        // The test's runtime is blocked in this drop: its background jobs may hold a
                        // transaction open in the schema, which would make DROP SCHEMA wait forever.
                        let _ = sqlx::query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        )
                        .bind(&schema)
                        .execute(&pool)
                        .await;
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                            .execute(&pool)
                            .await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: Client,
    pub state: AppState,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts the app with settings overridden by `overrides` (variable name → value).
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        let db = TestDb::new().await;
        let mut map: HashMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        map.entry("DATABASE_URL".into()).or_insert_with(|| db.url.clone());
        map.entry("DATA_DIR".into())
            .or_insert_with(|| db.dir.path().display().to_string());
        map.entry("EMAIL_BACKEND".into()).or_insert_with(|| "file".into());
        map.entry("EMAIL_OUTBOX_DIR".into())
            .or_insert_with(|| db.dir.path().join("outbox").display().to_string());
        let settings = Settings::for_tests(&map).expect("test settings");
        let state = server::build_state(settings).await.expect("build state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(state.clone(), listener, async {
            let _ = rx.await;
        }));
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client,
            state,
            db,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("request")
    }

    /// POSTs `body` as JSON. The request is built at once, so the future borrows nothing.
    pub fn post_json(&self, path: &str, body: &Value) -> impl std::future::Future<Output = Response> + use<> {
        let req = self.request(Method::POST, path).json(body);
        async move { req.send().await.expect("request") }
    }

    pub fn outbox(&self) -> PathBuf {
        self.state.settings.email.outbox_dir.clone()
    }

    /// Waits (at most 15 s) until no email job is running or ready to run: what the requests so far
    /// queued has been delivered (or has failed and waits for its retry).
    pub async fn settle_jobs(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let now = neoforge::db::now();
            let pending: i64 = neoforge::with_db!(&self.state.db, |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE status = 'running' OR (status = 'queued' AND available_at <= $1)"
            )
            .bind(now)
            .fetch_one(c)
            .await)
            .expect("count pending jobs");
            if pending == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} jobs still pending after 15 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Every email delivered to `to`, oldest first, as the file backend wrote them (after the queue settled).
    pub async fn emails_to(&self, to: &str) -> Vec<Value> {
        self.settle_jobs().await;
        self.outbox_to(to)
    }

    /// The emails to `to` in the outbox now, without waiting for the queue.
    pub fn outbox_to(&self, to: &str) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.outbox())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
            .filter(|m| m["to"] == to)
            .collect()
    }

    /// The token in the last action link of the last email to `to` whose subject contains `subject`.
    pub async fn token_from_email(&self, to: &str, subject: &str) -> String {
        let mail = self
            .emails_to(to)
            .await
            .into_iter()
            .rev()
            .find(|m| m["subject"].as_str().unwrap_or_default().contains(subject))
            .unwrap_or_else(|| panic!("no email {subject:?} to {to}"));
        let link = mail["links"][0].as_str().expect("a link").to_string();
        link.split("token=").nth(1).expect("token in link").to_string()
    }

    /// Registers a new user with a unique email; returns its credentials and tokens.
    pub async fn register_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        self.register_as(&email, "Test User").await
    }

    pub async fn register_as(&self, email: &str, name: &str) -> TestUser {
        let password = "correct horse battery staple";
        let res = self
            .post_json(
                "/api/v1/auth/register",
                &serde_json::json!({"email": email, "password": password, "full_name": name}),
            )
            .await;
        assert_eq!(res.status(), 201, "register {email}");
        TestUser::from_token_response(email, password, json(res).await)
    }

    /// Signs in with email and password (JSON login).
    pub fn login(&self, email: &str, password: &str) -> impl std::future::Future<Output = Response> + use<> {
        self.post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"email": email, "password": password}),
        )
    }

    /// A registered user whose email is verified.
    pub async fn verified_user(&self) -> TestUser {
        let user = self.register_user().await;
        let token = self.token_from_email(&user.email, "Confirm").await;
        let res = self
            .post_json("/api/v1/auth/verify-email", &serde_json::json!({"token": token}))
            .await;
        assert_eq!(res.status(), 200);
        user
    }

    /// A signed-in administrator.
    pub async fn admin(&self) -> TestUser {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "admin password for tests";
        neoforge::auth::bootstrap::create_admin(&self.state, &email, Some(password))
            .await
            .expect("create admin");
        let res = self.login(&email, password).await;
        assert_eq!(res.status(), 200);
        TestUser::from_token_response(&email, password, json(res).await)
    }

    /// A request with the user's bearer token.
    pub fn authed(&self, method: Method, path: &str, user: &TestUser) -> RequestBuilder {
        self.request(method, path).bearer_auth(&user.access)
    }

    /// Begins shutdown and waits for the server task to end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await?,
            None => Ok(()),
        }
    }
}

/// The response's JSON body.
pub async fn json(res: Response) -> Value {
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts a problem document with `status` and `code`, and returns it.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status of {}", res.url());
    assert_eq!(
        res.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "content type"
    );
    let request_id = res
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    let body = json(res).await;
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], "about:blank");
    assert_eq!(
        body["title"],
        reqwest::StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap()
    );
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert_eq!(
        body["request_id"].as_str(),
        request_id.as_deref(),
        "request_id matches the header"
    );
    body
}

/// The `neoforge` binary built for these tests.
pub fn binary() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_neoforge"));
    for (key, _) in std::env::vars() {
        // Start from a clean configuration: nothing from the developer's shell leaks in.
        if is_setting(&key) {
            cmd.env_remove(&key);
        }
    }
    cmd.env("LOG_LEVEL", "warn");
    cmd
}

fn is_setting(key: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "ENVIRONMENT",
        "HOST",
        "PORT",
        "DATA_DIR",
        "DATABASE_",
        "REDIS_URL",
        "SECRET_KEY",
        "PUBLIC_URL",
        "CORS_",
        "TRUSTED_",
        "LOG_",
        "ACCESS_",
        "REFRESH_",
        "IDEMPOTENCY",
        "CLEANUP",
        "RATE_",
        "THREAT",
        "CSP_",
        "PUBLIC_",
        "MAX_",
        "REQUEST_",
        "SHUTDOWN_",
        "REGISTRATION",
        "COMMUNITY",
        "ADMIN_",
        "EMAIL_",
        "SMTP_",
        "METRICS_",
        "JOB_",
        "AUDIT_",
        "OTEL_",
    ];
    PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Waits (at most 30 s) until the server at `base` answers `GET /ready` with 200.
pub async fn wait_ready(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reqwest::get(format!("{base}/ready"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "server at {base} did not become ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn temp_path(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// A signed-in user as the tests hold it.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
    pub session_id: String,
}

impl TestUser {
    pub fn from_token_response(email: &str, password: &str, body: Value) -> TestUser {
        TestUser {
            id: body["user"]["id"].as_str().expect("user id").to_string(),
            email: email.to_string(),
            password: password.to_string(),
            access: body["access_token"].as_str().expect("access token").to_string(),
            refresh: body["refresh_token"].as_str().unwrap_or_default().to_string(),
            session_id: body["session_id"].as_str().expect("session id").to_string(),
        }
    }
}

/// Audit entries as (action, actor_id) pairs, oldest first, read straight from the database.
pub async fn audit_actions(app: &TestApp) -> Vec<(String, Option<uuid::Uuid>)> {
    neoforge::with_db!(&app.state.db, |c| sqlx::query_as::<_, (String, Option<uuid::Uuid>)>(
        "SELECT action, actor_id FROM audit_log ORDER BY created_at, id"
    )
    .fetch_all(c)
    .await)
    .unwrap()
}

/// Reports a test as skipped because what it needs is missing (a service, root, the other backend); the
/// caller returns right after. libtest has no "skipped" outcome and would count the test as passed, so
/// this says so where it can't be missed: a `SKIPPED` line on the terminal (written past libtest's output
/// capture) and a line in `$NEOFORGE_SKIP_LOG` when set. With `NEOFORGE_NO_SKIP=1` (`.ci/run` sets it,
/// where every service is up) a skip is a failure instead.
pub fn skipped(why: &str) {
    use std::io::Write;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if std::env::var("NEOFORGE_NO_SKIP").is_ok_and(|v| v == "1") {
        panic!("{test} would be skipped ({why}), and NEOFORGE_NO_SKIP=1 forbids skipping");
    }
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(log) = std::env::var_os("NEOFORGE_SKIP_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// `TEST_REDIS_URL` when set and not empty.
pub fn test_redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty())
}
