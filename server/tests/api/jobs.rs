//! The durable job queue: enqueue in the caller's transaction, retries with backoff, dead jobs, crash
//! recovery through the visibility timeout, exactly-once email, two pools sharing one queue, shutdown.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use neoforge::{
    db::now,
    jobs::{
        self, NewJob, Registry, store,
        worker::{WorkerConfig, WorkerPool},
    },
    with_db,
};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::{
    rate_limit::metric_in,
    support::{TestApp, json},
};

/// The app with its own workers off, so each test decides who runs the queue.
async fn app_without_workers(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![("JOB_WORKERS", "false")];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

/// A pool configuration for tests: fast polls and backoff, a long lease.
pub fn config(id: &str) -> WorkerConfig {
    WorkerConfig {
        id: id.to_string(),
        concurrency: 4,
        poll_interval: Duration::from_millis(20),
        visibility_timeout: Duration::from_secs(30),
        run_timeout: Duration::from_secs(30),
        backoff_base: Duration::from_millis(50),
        shutdown_timeout: Duration::from_secs(5),
    }
}

/// Starts `pool` in the background; send `true` to stop it.
fn run(pool: WorkerPool) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    (stop, tokio::spawn(pool.run(stopped)))
}

async fn job_ids(app: &TestApp) -> Vec<Uuid> {
    with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
        .fetch_all(c)
        .await)
    .unwrap()
}

async fn wait_for_status(app: &TestApp, id: Uuid, status: &str) -> store::JobState {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let job = store::state(&app.state.db, id).await.unwrap().expect("the job exists");
        if job.status == status {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} is {} ({:?}), not {status}",
            job.status,
            job.last_error
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn test_job(queue: &str, kind: &str, payload: &[u8], max_attempts: u32) -> NewJob {
    NewJob {
        queue: queue.into(),
        kind: kind.into(),
        payload: payload.to_vec(),
        max_attempts,
        run_at: now(),
    }
}

/// Makes the file outbox unwritable (a plain file where the folder was), or writable again.
fn break_outbox(app: &TestApp, broken: bool) {
    let outbox = app.outbox();
    if broken {
        std::fs::remove_dir_all(&outbox).unwrap();
        std::fs::write(&outbox, b"not a folder").unwrap();
    } else {
        std::fs::remove_file(&outbox).unwrap();
        std::fs::create_dir_all(&outbox).unwrap();
    }
}

#[tokio::test]
async fn a_job_exists_exactly_when_its_transaction_commits() {
    let app = app_without_workers(&[]).await;
    let mut tx = app.state.db.begin().await.unwrap();
    jobs::enqueue(&mut tx, &test_job("test", "test.noop", b"x", 3))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(job_ids(&app).await.is_empty(), "a rolled-back enqueue leaves no job");

    // A registration queues its verification email with the account...
    let user = app.register_user().await;
    let ids = job_ids(&app).await;
    assert_eq!(ids.len(), 1);
    let job = store::state(&app.state.db, ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (job.queue.as_str(), job.kind.as_str(), job.status.as_str()),
        ("email", "email.send", "queued")
    );
    // ...and a registration that fails (email taken) rolls its email back with it.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": user.email, "password": "another good password", "full_name": "Dup"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(job_ids(&app).await.len(), 1);
    // The payload holds a verification link: it is sealed at rest.
    let payload: Vec<u8> = with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT payload FROM jobs")
        .fetch_one(c)
        .await)
    .unwrap();
    let text = String::from_utf8_lossy(&payload);
    assert!(!text.contains("verify-email") && !text.contains(&user.email), "{text}");
    assert_eq!(
        store::depth(&app.state.db).await.unwrap(),
        vec![("email".to_string(), 1)]
    );
    let text = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        metric_in(&text, "job_queue_depth", &[("queue", "email")]),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn enqueueing_registers_one_wake_up_per_transaction() {
    let app = app_without_workers(&[]).await;
    let mut tx = app.state.db.begin().await.unwrap();
    assert_eq!(tx.after_commit_hooks(), 0);
    for _ in 0..3 {
        jobs::enqueue(&mut tx, &test_job("test", "test.noop", b"x", 3))
            .await
            .unwrap();
    }
    assert_eq!(tx.after_commit_hooks(), 1, "three enqueues, one wake-up hook");
    tx.commit().await.unwrap();
    assert_eq!(job_ids(&app).await.len(), 3);
}

#[tokio::test]
async fn a_failing_job_is_retried_with_growing_delays_until_it_succeeds() {
    let app = app_without_workers(&[]).await;
    let calls = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let seen = calls.clone();
    let registry = Registry::default().with("test", "test.flaky", move |_state, _job| {
        let seen = seen.clone();
        async move {
            let n = {
                let mut calls = seen.lock().unwrap();
                calls.push(Instant::now());
                calls.len()
            };
            if n <= 2 {
                anyhow::bail!("transient failure {n}")
            } else {
                Ok(())
            }
        }
    });
    let mut tx = app.state.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, &test_job("test", "test.flaky", b"", 5))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (stop, pool) = run(WorkerPool::new(app.state.clone(), registry, config("retry")));
    let job = wait_for_status(&app, id, "done").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error, None, "a success clears the last error");
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    // Backoff 50 ms doubling, with jitter in the upper half: at least 25 ms, then at least 50 ms.
    assert!(
        calls[1] - calls[0] >= Duration::from_millis(25),
        "{:?}",
        calls[1] - calls[0]
    );
    assert!(
        calls[2] - calls[1] >= Duration::from_millis(50),
        "{:?}",
        calls[2] - calls[1]
    );
}

#[tokio::test]
async fn an_email_that_cannot_be_delivered_yet_is_retried_and_then_delivered() {
    let app = TestApp::spawn_with(&[("JOB_BACKOFF_BASE", "100ms"), ("JOB_POLL_INTERVAL", "50ms")]).await;
    break_outbox(&app, true);
    let user = app.register_user().await;
    let id = job_ids(&app).await[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    while store::state(&app.state.db, id).await.unwrap().unwrap().attempts < 2 {
        assert!(Instant::now() < deadline, "the email was not retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = store::state(&app.state.db, id).await.unwrap().unwrap();
    assert_ne!(job.status, "done");
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("email delivery failed"),
        "{job:?}"
    );
    break_outbox(&app, false);
    let job = wait_for_status(&app, id, "done").await;
    assert!(job.effect_at.is_some(), "the send is recorded");
    assert_eq!(app.emails_to(&user.email).await.len(), 1);
}

#[tokio::test]
async fn a_job_is_dead_after_its_last_attempt() {
    let app = TestApp::spawn_with(&[
        ("JOB_MAX_ATTEMPTS", "3"),
        ("JOB_BACKOFF_BASE", "20ms"),
        ("JOB_POLL_INTERVAL", "20ms"),
    ])
    .await;
    break_outbox(&app, true);
    app.register_user().await;
    let id = job_ids(&app).await[0];
    let job = wait_for_status(&app, id, "dead").await;
    assert_eq!((job.attempts, job.max_attempts), (3, 3));
    assert!(job.finished_at.is_some());
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("email delivery failed")
    );
    // A dead job is no longer pending: the queue is empty and stays so.
    assert!(store::depth(&app.state.db).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store::state(&app.state.db, id).await.unwrap().unwrap().attempts, 3);
    let text = app.get("/metrics").await.text().await.unwrap();
    for family in [
        "jobs_failed_total{queue=\"email\"}",
        "jobs_dead_total{queue=\"email\"}",
        "job_queue_depth{queue=\"email\"}",
    ] {
        assert!(text.contains(family), "{family} in /metrics");
    }
}

#[tokio::test]
async fn a_payload_that_cannot_be_opened_is_dead_at_once() {
    let app = app_without_workers(&[]).await;
    let mut tx = app.state.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, &test_job("email", "email.send", b"not sealed", 8))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (stop, pool) = run(WorkerPool::new(
        app.state.clone(),
        Registry::standard(),
        config("permanent"),
    ));
    let job = wait_for_status(&app, id, "dead").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(job.attempts, 1, "retrying cannot fix it");
    assert!(job.last_error.unwrap().contains("payload"));
}

#[tokio::test]
async fn a_job_of_an_unknown_kind_is_dead_at_once() {
    let app = app_without_workers(&[]).await;
    let mut tx = app.state.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, &test_job("test", "test.gone", b"", 8))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let registry = Registry::default().with("test", "test.known", |_, _| async { Ok(()) });
    let (stop, pool) = run(WorkerPool::new(app.state.clone(), registry, config("unknown")));
    let job = wait_for_status(&app, id, "dead").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(job.attempts, 1);
    assert!(
        job.last_error
            .unwrap()
            .contains("no handler for job kind \"test.gone\"")
    );
}

#[tokio::test]
async fn a_claimed_job_whose_worker_vanished_runs_after_the_visibility_timeout() {
    let app = app_without_workers(&[]).await;
    let user = app.register_user().await;
    // A worker claims the email for one second and dies without a word.
    let lease = now() + chrono::Duration::seconds(1);
    let claimed = store::claim(&app.state.db, "email", "ghost", 10, lease, now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    let (stop, pool) = run(WorkerPool::new(
        app.state.clone(),
        Registry::standard(),
        config("rescuer"),
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let job = store::state(&app.state.db, id).await.unwrap().unwrap();
    assert_eq!(
        (job.status.as_str(), job.locked_by.as_deref()),
        ("running", Some("ghost")),
        "still leased"
    );
    let job = wait_for_status(&app, id, "done").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(job.attempts, 2);
    let mails = app.emails_to(&user.email).await;
    assert_eq!(mails.len(), 1, "delivered once");
}

#[tokio::test]
async fn an_email_sent_before_a_crash_is_not_sent_again() {
    // One attempt only: the crashed attempt was the last, yet the job ends done, not dead.
    let app = app_without_workers(&[("JOB_MAX_ATTEMPTS", "1")]).await;
    let user = app.register_user().await;
    let lease = now() + chrono::Duration::seconds(1);
    let job = store::claim(&app.state.db, "email", "doomed", 1, lease, now())
        .await
        .unwrap()
        .remove(0);
    // The worker sends (and records the send), then dies before it acks.
    jobs::email::deliver(app.state.clone(), job.clone()).await.unwrap();
    assert_eq!(app.outbox_to(&user.email).len(), 1);
    // The message has left (an SMTP relay keeps no local copy): only the record can prevent a second send.
    for entry in std::fs::read_dir(app.outbox()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let (stop, pool) = run(WorkerPool::new(
        app.state.clone(),
        Registry::standard(),
        config("after-crash"),
    ));
    let state = wait_for_status(&app, job.id, "done").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(state.attempts, 2, "the job was taken over after its lease");
    assert!(
        app.emails_to(&user.email).await.is_empty(),
        "the email was not sent a second time"
    );
}

#[tokio::test]
async fn a_job_whose_last_attempt_vanished_is_dead() {
    let app = app_without_workers(&[("JOB_MAX_ATTEMPTS", "1")]).await;
    let user = app.register_user().await;
    let lease = now() + chrono::Duration::milliseconds(300);
    let id = store::claim(&app.state.db, "email", "ghost", 1, lease, now())
        .await
        .unwrap()[0]
        .id;
    let (stop, pool) = run(WorkerPool::new(
        app.state.clone(),
        Registry::standard(),
        config("undertaker"),
    ));
    let job = wait_for_status(&app, id, "dead").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(job.attempts, 2, "claimed once more, and not run");
    assert!(job.last_error.unwrap().contains("did not finish"));
    assert!(app.outbox_to(&user.email).is_empty());
}

#[tokio::test]
async fn a_long_job_keeps_its_lease_while_it_runs() {
    let app = app_without_workers(&[]).await;
    let runs = Arc::new(AtomicU32::new(0));
    let registry = || {
        let runs = runs.clone();
        Registry::default().with("test", "test.long", move |_state, _job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2500)).await;
                Ok(())
            }
        })
    };
    let mut tx = app.state.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, &test_job("test", "test.long", b"", 3))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A one-second lease, renewed every third of a second; a second pool waits to pounce on a lapse.
    let short = |id: &str| WorkerConfig {
        visibility_timeout: Duration::from_secs(1),
        ..config(id)
    };
    let (stop_a, a) = run(WorkerPool::new(app.state.clone(), registry(), short("long-a")));
    let (stop_b, b) = run(WorkerPool::new(app.state.clone(), registry(), short("long-b")));
    let job = wait_for_status(&app, id, "done").await;
    stop_a.send(true).unwrap();
    stop_b.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(
        (job.attempts, runs.load(Ordering::SeqCst)),
        (1, 1),
        "one run, never taken over"
    );
}

#[tokio::test]
async fn an_attempt_that_runs_too_long_is_stopped_and_counted() {
    let app = app_without_workers(&[]).await;
    let registry = Registry::default().with("test", "test.stuck", |_state, _job| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(())
    });
    let mut tx = app.state.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, &test_job("test", "test.stuck", b"", 1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let cfg = WorkerConfig {
        run_timeout: Duration::from_millis(200),
        ..config("impatient")
    };
    let (stop, pool) = run(WorkerPool::new(app.state.clone(), registry, cfg));
    let job = wait_for_status(&app, id, "dead").await;
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert!(job.last_error.unwrap().contains("timed out after 200ms"));
}

#[tokio::test]
async fn two_worker_pools_run_every_job_exactly_once() {
    let app = app_without_workers(&[]).await;
    // The second pool has its own connections, as another process would.
    let other = neoforge::server::build_state(app.state.settings.clone()).await.unwrap();
    let runs = Arc::new(Mutex::new(HashMap::<Uuid, Vec<String>>::new()));
    let registry = |name: &'static str| {
        let runs = runs.clone();
        Registry::default().with("test", "test.record", move |_state, job: jobs::Job| {
            let runs = runs.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                runs.lock().unwrap().entry(job.id).or_default().push(name.to_string());
                Ok(())
            }
        })
    };
    let mut tx = app.state.db.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..100u32 {
        ids.push(
            jobs::enqueue(&mut tx, &test_job("test", "test.record", &i.to_be_bytes(), 3))
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    let (stop_a, a) = run(WorkerPool::new(app.state.clone(), registry("a"), config("pool-a")));
    let (stop_b, b) = run(WorkerPool::new(other.clone(), registry("b"), config("pool-b")));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !store::depth(&app.state.db).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the pools did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_a.send(true).unwrap();
    stop_b.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 100, "every job ran");
    for id in &ids {
        assert_eq!(runs[id].len(), 1, "job {id} ran {:?}", runs[id]);
        assert_eq!(store::state(&app.state.db, *id).await.unwrap().unwrap().attempts, 1);
    }
    let by = |pool: &str| runs.values().filter(|r| r[0] == pool).count();
    assert!(
        by("a") > 0 && by("b") > 0,
        "both pools worked: a={} b={}",
        by("a"),
        by("b")
    );
    other.db.close().await;
}

#[tokio::test]
async fn shutdown_hands_unfinished_jobs_back_to_the_queue() {
    let app = app_without_workers(&[]).await;
    let started = Arc::new(AtomicU32::new(0));
    let seen = started.clone();
    let registry = Registry::default().with("test", "test.slow", move |_state, _job| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }
    });
    let mut tx = app.state.db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, &test_job("test", "test.slow", b"", 3))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut cfg = config("stopping");
    cfg.shutdown_timeout = Duration::from_millis(100);
    let (stop, pool) = run(WorkerPool::new(app.state.clone(), registry, cfg));
    let deadline = Instant::now() + Duration::from_secs(10);
    while started.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the job did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopping = Instant::now();
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(5), "the drain is bounded");
    let job = store::state(&app.state.db, id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts, job.locked_by), ("queued", 0, None));
    assert!(job.available_at <= now(), "claimable again at once");
}

#[tokio::test]
async fn emails_of_every_flow_go_through_the_queue() {
    let app = app_without_workers(&[]).await;
    let user = app.register_user().await;
    let res = app
        .post_json("/api/v1/auth/password-reset", &json!({"email": user.email}))
        .await;
    assert_eq!(res.status(), 202);
    let res = app
        .authed(Method::POST, "/api/v1/users/me/password", &user)
        .json(&json!({"current_password": user.password, "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Verification, reset, password changed: queued, none sent while no worker runs.
    assert_eq!(job_ids(&app).await.len(), 3);
    assert!(std::fs::read_dir(app.outbox()).unwrap().next().is_none());
    let (stop, pool) = run(WorkerPool::new(
        app.state.clone(),
        Registry::standard(),
        config("flows"),
    ));
    let subjects: Vec<String> = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails = app.emails_to(&user.email).await;
            if mails.len() == 3 || Instant::now() > deadline {
                break mails
                    .iter()
                    .map(|m| m["subject"].as_str().unwrap().to_string())
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    stop.send(true).unwrap();
    pool.await.unwrap();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects[0].contains("Confirm") && subjects[1].contains("Reset"),
        "{subjects:?}"
    );
    let me = json(app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap()).await;
    assert_eq!(me["email"], user.email);
}
