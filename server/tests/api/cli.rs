//! The binary itself: sub-commands, start-up refusal, migrations, graceful shutdown.

use std::{
    process::{Child, Output, Stdio},
    time::{Duration, Instant},
};

use neoforge::db::{Db, PoolConfig, migrate};

use crate::support::{TestDb, binary, free_port, wait_ready};

fn run(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = binary();
    cmd.args(args).envs(envs.iter().copied()).stdin(Stdio::null());
    cmd.output().expect("run neoforge")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn help_is_available_for_every_command() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["worker", "--help"],
        &["healthcheck", "--help"],
        &["migrate", "--help"],
        &["check-config", "--help"],
        &["openapi", "--help"],
    ] {
        let out = run(&[], args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn openapi_command_prints_the_document() {
    let out = run(&[], &["openapi"]);
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, serde_json::to_value(neoforge::openapi::document()).unwrap());
}

#[tokio::test]
async fn production_refuses_unsafe_settings_with_one_clear_line() {
    let db = TestDb::new().await;
    let good = "a-production-secret-that-is-long-enough-1234";
    let data = db.dir.path().display().to_string();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PUBLIC_URL", "https://app.example.com")], "SECRET_KEY"),
        (
            &[("SECRET_KEY", "too-short"), ("PUBLIC_URL", "https://app.example.com")],
            "SECRET_KEY",
        ),
        (
            &[
                ("SECRET_KEY", neoforge::config::EXAMPLE_SECRET_KEYS[0]),
                ("PUBLIC_URL", "https://app.example.com"),
            ],
            "SECRET_KEY",
        ),
        (
            &[("SECRET_KEY", good), ("PUBLIC_URL", "http://app.example.com")],
            "PUBLIC_URL",
        ),
        (
            &[
                ("SECRET_KEY", good),
                ("PUBLIC_URL", "https://app.example.com"),
                ("CORS_ORIGINS", "*"),
            ],
            "CORS_ORIGINS",
        ),
        (
            &[
                ("SECRET_KEY", good),
                ("PUBLIC_URL", "https://app.example.com"),
                ("CORS_ORIGINS", "http://app.example.com"),
            ],
            "CORS_ORIGINS",
        ),
    ];
    for (envs, var) in cases {
        let mut all = vec![
            ("ENVIRONMENT", "production"),
            ("DATABASE_URL", db.url.as_str()),
            ("DATA_DIR", data.as_str()),
        ];
        all.extend_from_slice(envs);
        let out = run(&all, &["serve"]);
        assert!(!out.status.success(), "{envs:?} must not start");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(var), "{var} named in {err}");
    }
}

#[tokio::test]
async fn every_environment_refuses_unparsable_values() {
    let db = TestDb::new().await;
    for (var, value) in [
        ("PORT", "eighty"),
        ("REQUEST_TIMEOUT", "forever"),
        ("RATE_LIMITING", "maybe"),
    ] {
        let out = run(&[("DATABASE_URL", &db.url), (var, value)], &["check-config"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(var), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn check_config_validates_without_printing_secrets() {
    let db = TestDb::new().await;
    let out = run(
        &[
            ("DATABASE_URL", &db.url),
            ("SECRET_KEY", "do-not-print-this-secret-value-ever-123"),
        ],
        &["check-config"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("configuration is valid"));
    assert!(!all.contains("do-not-print-this"), "{all}");
}

#[tokio::test]
async fn development_generates_and_keeps_a_secret_key() {
    let db = TestDb::new().await;
    let data = db.dir.path().join("data");
    let data_s = data.display().to_string();
    let out = run(&[("DATABASE_URL", &db.url), ("DATA_DIR", &data_s)], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = std::fs::read_to_string(data.join("secret.key")).unwrap();
    assert!(key.trim().len() >= 32);
    let out = run(&[("DATABASE_URL", &db.url), ("DATA_DIR", &data_s)], &["check-config"]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(data.join("secret.key")).unwrap(),
        key,
        "the key is kept"
    );
}

#[tokio::test]
async fn migrate_applies_once_and_is_idempotent() {
    let db = TestDb::new().await;
    let out = run(&[("DATABASE_URL", &db.url)], &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = if db.is_postgres() {
        migrate::POSTGRES.len()
    } else {
        migrate::SQLITE.len()
    };
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("migrations applied: {expected}")));
    let out = run(&[("DATABASE_URL", &db.url)], &["migrate"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied: 0"));
}

async fn count_migrations(db: &Db) -> i64 {
    neoforge::with_db!(db, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM schema_migrations"
    )
    .fetch_one(c)
    .await)
    .unwrap()
}

#[tokio::test]
async fn a_failed_migration_leaves_the_database_as_it_was_and_stops_startup() {
    let test_db = TestDb::new().await;
    let db = Db::connect(&test_db.url, &PoolConfig::default()).await.unwrap();
    // A table in the way makes migration 1 fail half-way through its statements.
    let mut tx = db.begin().await.unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query("CREATE TABLE sessions (id TEXT)")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();

    let port = free_port().to_string();
    let out = run(&[("DATABASE_URL", &test_db.url), ("PORT", &port)], &["serve"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("migration 1") && err.contains("failed"), "{err}");

    // Nothing of migration 1 stayed: `users` (created before the failing statement) is absent.
    let users: Result<i64, _> = neoforge::with_db!(&db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(c)
        .await);
    assert!(users.is_err(), "users table must not exist");
    assert_eq!(count_migrations(&db).await, 0);
    db.close().await;
}

#[tokio::test]
async fn an_edited_migration_is_refused() {
    let test_db = TestDb::new().await;
    let db = Db::connect(&test_db.url, &PoolConfig::default()).await.unwrap();
    let original = [migrate::Migration {
        version: 900,
        description: "probe",
        sql: "CREATE TABLE probe_a (id BIGINT)",
    }];
    assert_eq!(migrate::run(&db, &original).await.unwrap(), 1);
    assert_eq!(migrate::run(&db, &original).await.unwrap(), 0);
    let edited = [migrate::Migration {
        sql: "CREATE TABLE probe_b (id BIGINT)",
        ..original[0]
    }];
    let err = migrate::run(&db, &edited).await.unwrap_err();
    assert!(matches!(err, migrate::MigrateError::Modified(900)), "{err}");
    db.close().await;
}

fn spawn_server(envs: &[(&str, &str)]) -> Child {
    let mut cmd = binary();
    cmd.arg("serve")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn neoforge")
}

#[tokio::test]
async fn sigterm_turns_ready_503_then_exits_cleanly() {
    let db = TestDb::new().await;
    let port = free_port();
    let port_s = port.to_string();
    let data = db.dir.path().display().to_string();
    let mut child = spawn_server(&[
        ("DATABASE_URL", &db.url),
        ("PORT", &port_s),
        ("DATA_DIR", &data),
        ("SHUTDOWN_DELAY", "2s"),
    ]);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "shutting_down");

    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "server did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
}

#[tokio::test]
async fn healthcheck_exits_0_for_a_healthy_instance_and_1_otherwise() {
    let app = crate::support::TestApp::spawn().await;
    let port = app.addr.port().to_string();
    // HOST=0.0.0.0 (the container's listen address) is probed on loopback.
    // The probe blocks: run it off this test's (single-threaded) runtime, which serves the app.
    let out =
        tokio::task::spawn_blocking(move || run(&[("PORT", port.as_str()), ("HOST", "0.0.0.0")], &["healthcheck"]))
            .await
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let closed = crate::support::free_port().to_string();
    let out = run(&[("PORT", closed.as_str())], &["healthcheck"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
}

/// The development key once committed as `server/data/secret.key` (issue #10), read from the git history
/// where it still lives: it is burned, so production refuses it and a development start replaces it.
fn burned_key() -> String {
    let out = std::process::Command::new("git")
        .args([
            "show",
            "924a60701b4d31dbffc537debeaf2b749b688d52:server/data/secret.key",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "the burned key is in the git history: {}",
        stderr(&out)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(
        neoforge::crypto::sha256_hex(&key),
        neoforge::config::BURNED_SECRET_KEY_SHA256[0]
    );
    key
}

#[tokio::test]
async fn the_committed_secret_key_is_burned() {
    let db = TestDb::new().await;
    let key = burned_key();
    let data = db.dir.path().join("data");
    let data_s = data.display().to_string();
    let out = run(
        &[
            ("ENVIRONMENT", "production"),
            ("DATABASE_URL", &db.url),
            ("DATA_DIR", &data_s),
            ("PUBLIC_URL", "https://app.example.com"),
            ("SECRET_KEY", &key),
        ],
        &["serve"],
    );
    assert!(!out.status.success(), "production must refuse the burned key");
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("SECRET_KEY"), "{err}");
    assert!(!err.contains(&key), "the refusal does not print the key: {err}");

    // Outside production a key file holding the burned value is replaced, not used.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("secret.key"), &key).unwrap();
    let out = run(&[("DATABASE_URL", &db.url), ("DATA_DIR", &data_s)], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let now = std::fs::read_to_string(data.join("secret.key")).unwrap();
    assert!(now.trim().len() >= 32);
    assert_ne!(now.trim(), key, "the burned key was replaced");
}

#[test]
fn no_runtime_data_or_secret_in_the_source_tree() {
    let server = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("git")
        .args(["ls-files", "--", "data", "assets"])
        .current_dir(server)
        .output()
        .expect("git runs");
    let tracked = String::from_utf8(out.stdout).unwrap();
    assert!(
        !tracked.lines().any(|l| l.starts_with("data/")),
        "server/data/ is tracked: {tracked}"
    );
    assert!(tracked.contains("assets/common-passwords.txt"), "{tracked}");
    for path in [
        "secret.key",
        "server/secret.key",
        "deploy/secret.key",
        "server/data/neoforge.db",
    ] {
        let ignored = std::process::Command::new("git")
            .args(["check-ignore", "-q", "--no-index", path])
            .current_dir(server.parent().unwrap())
            .status()
            .expect("git runs");
        assert!(ignored.success(), "{path} is ignored");
    }
}
