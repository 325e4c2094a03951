//! Periodic maintenance: each task's effect (driven with explicit clocks, so nothing sleeps for days),
//! one runner at a time on PostgreSQL, and `neoforge worker` running the queue and the tasks alone.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use neoforge::{
    db::now,
    jobs::{
        self, NewJob, Permanent, Registry,
        periodic::{self, Outcome, Task},
        worker::WorkerPool,
    },
    periodic_tasks, with_db,
};
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

use crate::support::{TestApp, TestDb, binary, json};

const TEST_SECRET: &str = "test-secret-key-test-secret-key-0123456789";

/// The app with its workers and scheduler off: the test runs each task itself.
async fn app(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![("JOB_WORKERS", "false")];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

/// Runs the email queue while `f` runs (the scheduler stays off).
async fn with_email_worker<T>(app: &TestApp, f: impl std::future::Future<Output = T>) -> T {
    let config = crate::jobs::config("maintenance-test");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pool = tokio::spawn(WorkerPool::new(app.state.clone(), Registry::standard(), config).run(stopped));
    let out = f.await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    out
}

/// The registered task called `name`.
fn task(name: &str) -> Task {
    periodic_tasks()
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no periodic task {name}"))
}

async fn run(app: &TestApp, task: Task, at: DateTime<Utc>) -> u64 {
    match periodic::run_task(&app.state, task, "test", at).await {
        Outcome::Ran { affected, .. } => affected,
        other => panic!("{task:?} did not run: {other:?}"),
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    with_db!(&app.state.db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
        .fetch_one(c)
        .await)
    .unwrap()
}

fn hours(h: i64) -> chrono::Duration {
    chrono::Duration::hours(h)
}

#[tokio::test]
async fn expired_idempotency_records_are_deleted() {
    let app = app(&[]).await;
    let user = app.register_user().await;
    let res = app
        .authed(Method::POST, "/api/v1/projects", &user)
        .header("idempotency-key", "cleanup-1")
        .json(&json!({"name": "kept until expiry"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let t0 = now();
    assert_eq!(run(&app, task("idempotency"), t0).await, 0);
    assert_eq!(
        run(&app, task("idempotency"), t0 + hours(23)).await,
        0,
        "IDEMPOTENCY_TTL is 24 h"
    );
    assert_eq!(count(&app, "idempotency_records").await, 1);
    assert_eq!(run(&app, task("idempotency"), t0 + hours(25)).await, 1);
    assert_eq!(count(&app, "idempotency_records").await, 0);
    assert_eq!(count(&app, "projects").await, 1, "only the record goes");
}

#[tokio::test]
async fn sessions_dead_for_more_than_30_days_are_pruned() {
    let app = app(&[]).await;
    let user = app.register_user().await; // session A: live, expires in 30 days
    let second = json(app.login(&user.email, &user.password).await).await;
    let res = app
        .request(Method::POST, "/api/v1/auth/logout")
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204); // session B: revoked now
    let t0 = now();
    assert_eq!(run(&app, task("sessions"), t0 + chrono::Duration::days(29)).await, 0);
    // B was revoked 31 days ago; A expired only a day ago.
    assert_eq!(run(&app, task("sessions"), t0 + chrono::Duration::days(31)).await, 1);
    let left: Vec<uuid::Uuid> = with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_all(c)
        .await)
    .unwrap();
    assert_eq!(left, vec![user.session_id.parse::<uuid::Uuid>().unwrap()]);
    assert_eq!(run(&app, task("sessions"), t0 + chrono::Duration::days(61)).await, 1);
    assert_eq!(count(&app, "sessions").await, 0);
}

#[tokio::test]
async fn spent_and_expired_email_tokens_are_deleted() {
    let app = app(&[("CLEANUP_INTERVAL_TOKENS", "1s")]).await;
    let user = app.register_user().await;
    let (verify, reset) = with_email_worker(&app, async {
        let res = app
            .post_json("/api/v1/auth/password-reset", &json!({"email": user.email}))
            .await;
        assert_eq!(res.status(), 202);
        (
            app.token_from_email(&user.email, "Confirm").await,
            app.token_from_email(&user.email, "Reset").await,
        )
    })
    .await;
    let res = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": reset, "new_password": "a fresh new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let t0 = now();
    // The spent reset token still counts for the 5-minute resend throttle.
    assert_eq!(run(&app, task("tokens"), t0 + chrono::Duration::minutes(1)).await, 0);
    assert_eq!(run(&app, task("tokens"), t0 + chrono::Duration::minutes(6)).await, 1);
    assert_eq!(count(&app, "user_tokens").await, 1);
    // The verification token is untouched and works, twice (the second answer is already_verified).
    for expected in ["verified", "already_verified"] {
        let res = app
            .post_json("/api/v1/auth/verify-email", &json!({"token": verify}))
            .await;
        assert_eq!(json(res).await["status"], expected);
    }
    assert_eq!(run(&app, task("tokens"), t0 + hours(25)).await, 1, "expired after 24 h");
    assert_eq!(count(&app, "user_tokens").await, 0);
}

#[tokio::test]
async fn audit_entries_past_the_retention_are_trimmed() {
    let app = app(&[("AUDIT_RETENTION_DAYS", "10")]).await;
    app.register_user().await;
    let entries = count(&app, "audit_log").await;
    assert!(entries >= 1);
    let t0 = now();
    assert_eq!(run(&app, task("audit"), t0 + chrono::Duration::days(9)).await, 0);
    assert_eq!(
        run(&app, task("audit"), t0 + chrono::Duration::days(11)).await,
        entries as u64
    );
    assert_eq!(count(&app, "audit_log").await, 0);

    let forever = self::app(&[("AUDIT_RETENTION_DAYS", "0")]).await;
    forever.register_user().await;
    assert_eq!(
        run(&forever, task("audit"), t0 + chrono::Duration::days(100_000)).await,
        0
    );
    assert!(count(&forever, "audit_log").await >= 1, "0 keeps the audit log forever");
}

#[tokio::test]
async fn finished_jobs_are_deleted_done_after_7_days_dead_after_30() {
    let app = app(&[]).await;
    let mut tx = app.state.db.begin().await.unwrap();
    for kind in ["test.ok", "test.broken"] {
        let job = NewJob {
            queue: "test".into(),
            kind: kind.into(),
            payload: Vec::new(),
            max_attempts: 3,
            run_at: now(),
        };
        jobs::enqueue(&mut tx, &job).await.unwrap();
    }
    jobs::enqueue(
        &mut tx,
        &NewJob {
            queue: "test".into(),
            kind: "test.later".into(),
            payload: Vec::new(),
            max_attempts: 3,
            run_at: now() + hours(24 * 365),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let registry = Registry::default()
        .with("test", "test.ok", |_, _| async { Ok(()) })
        .with("test", "test.broken", |_, _| async {
            Err(Permanent("broken".into()).into())
        });
    let config = crate::jobs::config("finisher");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pool = tokio::spawn(WorkerPool::new(app.state.clone(), registry, config).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(20);
    while jobs::store::depth(&app.state.db).await.unwrap() != vec![("test".to_string(), 1)] {
        assert!(Instant::now() < deadline, "the jobs did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    pool.await.unwrap();
    let t0 = now();
    assert_eq!(run(&app, task("jobs"), t0 + chrono::Duration::days(6)).await, 0);
    assert_eq!(
        run(&app, task("jobs"), t0 + chrono::Duration::days(8)).await,
        1,
        "the done job"
    );
    assert_eq!(
        run(&app, task("jobs"), t0 + chrono::Duration::days(31)).await,
        1,
        "the dead job"
    );
    assert_eq!(count(&app, "jobs").await, 1, "an unfinished job is never deleted");
}

#[tokio::test]
async fn a_task_runs_once_per_interval_and_its_runs_are_recorded() {
    let app = app(&[("CLEANUP_INTERVAL", "1h"), ("CLEANUP_INTERVAL_AUDIT", "10m")]).await;
    let t0 = now();
    let first = periodic::run_due(&app.state, periodic_tasks(), "one", t0).await;
    assert_eq!(
        first.len(),
        periodic_tasks().len(),
        "every task is due on its first tick"
    );
    assert!(first.iter().all(|(_, o)| matches!(o, Outcome::Ran { .. })), "{first:?}");
    assert!(
        periodic::run_due(&app.state, periodic_tasks(), "two", t0 + chrono::Duration::minutes(5))
            .await
            .is_empty()
    );
    let later = periodic::run_due(&app.state, periodic_tasks(), "two", t0 + chrono::Duration::minutes(11)).await;
    assert_eq!(
        later.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![task("audit")],
        "its own interval"
    );
    // Another instance that missed the read still cannot start it twice in one interval.
    assert_eq!(
        periodic::run_task(&app.state, task("audit"), "three", t0 + chrono::Duration::minutes(12)).await,
        Outcome::NotDue
    );
    let records = periodic::records(&app.state.db).await.unwrap();
    let audit = records.iter().find(|r| r.name == "audit").unwrap();
    assert_eq!((audit.runs, audit.last_instance.as_deref()), (2, Some("two")));
    assert!(audit.last_finished_at.is_some() && audit.last_duration_ms.is_some() && audit.last_error.is_none());
    let sessions = records.iter().find(|r| r.name == "sessions").unwrap();
    assert_eq!((sessions.runs, sessions.last_instance.as_deref()), (1, Some("one")));
}

#[tokio::test]
async fn a_failing_task_is_reported_and_recorded_and_runs_again_next_interval() {
    let app = app(&[("CLEANUP_INTERVAL_IDEMPOTENCY", "1m")]).await;
    let mut tx = app.state.db.begin().await.unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query("DROP TABLE idempotency_records")
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    let t0 = now();
    let outcome = periodic::run_task(&app.state, task("idempotency"), "test", t0).await;
    assert!(
        matches!(outcome, Outcome::Failed(ref e) if e.contains("idempotency_records")),
        "{outcome:?}"
    );
    let records = periodic::records(&app.state.db).await.unwrap();
    let record = records.iter().find(|r| r.name == "idempotency").unwrap();
    assert_eq!(record.runs, 1);
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("idempotency_records")
    );
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("periodic_task_runs_total{task=\"idempotency\",outcome=\"error\"}"),
        "{text}"
    );
    // The failure does not stop the schedule: the next interval tries again.
    assert_eq!(
        periodic::run_task(&app.state, task("idempotency"), "test", t0).await,
        Outcome::NotDue
    );
    let again = periodic::run_task(
        &app.state,
        task("idempotency"),
        "test",
        t0 + chrono::Duration::minutes(2),
    )
    .await;
    assert!(matches!(again, Outcome::Failed(_)));
}

#[tokio::test]
async fn postgres_only_a_task_held_by_another_instance_is_skipped() {
    let app = app(&[]).await;
    if !app.db.is_postgres() {
        // Advisory locks are PostgreSQL's; SQLite relies on its single writer.
        return crate::support::skipped("needs TEST_DATABASE_URL (PostgreSQL)");
    }
    let mut other = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    let lock = format!("SELECT pg_advisory_lock({})", periodic::LOCK_KEY_SQL);
    sqlx::query(sqlx::AssertSqlSafe(lock))
        .bind("sessions")
        .execute(&mut other)
        .await
        .unwrap();
    assert_eq!(
        periodic::run_task(&app.state, task("sessions"), "me", now()).await,
        Outcome::Busy
    );
    assert!(
        matches!(
            periodic::run_task(&app.state, task("tokens"), "me", now()).await,
            Outcome::Ran { .. }
        ),
        "other tasks are not blocked"
    );
    let unlock = format!("SELECT pg_advisory_unlock({})", periodic::LOCK_KEY_SQL);
    sqlx::query(sqlx::AssertSqlSafe(unlock))
        .bind("sessions")
        .execute(&mut other)
        .await
        .unwrap();
    assert!(matches!(
        periodic::run_task(&app.state, task("sessions"), "me", now()).await,
        Outcome::Ran { .. }
    ));
    // The lock was given back: the other connection can take it at once.
    let try_lock = format!("SELECT pg_try_advisory_lock({})", periodic::LOCK_KEY_SQL);
    let taken: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(try_lock))
        .bind("sessions")
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert!(taken);
}

/// `neoforge worker` on `db`, with the test secret (so it can open the app's sealed payloads). Its log
/// goes to `worker-<pid>.log` in the database's folder.
fn spawn_worker(db: &TestDb, outbox: &std::path::Path, extra: &[(&str, &str)]) -> std::process::Child {
    let log = tempfile::NamedTempFile::new_in(db.dir.path())
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let mut cmd = binary();
    cmd.arg("worker")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir.path())
        .env("SECRET_KEY", TEST_SECRET)
        .env("EMAIL_BACKEND", "file")
        .env("EMAIL_OUTBOX_DIR", outbox)
        .env("JOB_POLL_INTERVAL", "50ms")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start neoforge worker");
    std::fs::rename(&log, db.dir.path().join(format!("worker-{}.log", child.id()))).unwrap();
    child
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the worker did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn neoforge_worker_delivers_what_the_api_queued() {
    let app = app(&[]).await;
    let user = app.register_user().await;
    assert!(
        std::fs::read_dir(app.outbox()).unwrap().next().is_none(),
        "the API sends nothing itself"
    );
    let pending = jobs::store::depth(&app.state.db).await.unwrap();
    assert_eq!(pending, vec![("email".to_string(), 1)]);
    let logs = [("LOG_FORMAT", "json"), ("LOG_LEVEL", "info")];
    let mut worker = spawn_worker(&app.db, &app.outbox(), &logs);
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.emails_to(&user.email).await.is_empty() {
        assert!(Instant::now() < deadline, "the worker delivered nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = worker.id();
    assert!(terminate(&mut worker).success(), "SIGTERM ends the worker cleanly");
    assert_eq!(app.emails_to(&user.email).await.len(), 1);
    // Its JSON log names the job on the line that says it is done.
    let id: uuid::Uuid = with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT id FROM jobs")
        .fetch_one(c)
        .await)
    .unwrap();
    let log = std::fs::read_to_string(app.db.dir.path().join(format!("worker-{pid}.log"))).unwrap();
    let done = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "job done")
        .unwrap_or_else(|| panic!("no \"job done\" line in:\n{log}"));
    assert_eq!(done["job_id"], id.to_string(), "{done}");
    assert_eq!(
        (done["queue"].as_str(), done["kind"].as_str()),
        (Some("email"), Some("email.send"))
    );
    assert!(
        !log.contains(&user.email) || !log.contains("token="),
        "no links in the log"
    );
}

#[tokio::test]
async fn postgres_only_two_worker_processes_share_the_periodic_tasks() {
    let app = app(&[]).await;
    if !app.db.is_postgres() {
        // Several instances share PostgreSQL; SQLite is one instance.
        return crate::support::skipped("needs TEST_DATABASE_URL (PostgreSQL)");
    }
    let interval = [("CLEANUP_INTERVAL", "2s")];
    let mut a = spawn_worker(&app.db, &app.outbox(), &interval);
    let mut b = spawn_worker(&app.db, &app.outbox(), &interval);
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(terminate(&mut a).success());
    assert!(terminate(&mut b).success());
    let records = periodic::records(&app.state.db).await.unwrap();
    assert_eq!(records.len(), periodic_tasks().len());
    for r in &records {
        // One process alone starts a task 4 or 5 times in 9 s at a 2 s interval; two uncoordinated ones
        // about twice that.
        assert!((3..=6).contains(&r.runs), "{} ran {} times", r.name, r.runs);
        assert!(r.last_error.is_none(), "{r:?}");
    }
}
