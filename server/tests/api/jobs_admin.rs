//! The jobs back office: `/admin/jobs` (list, get, retry, discard) and `neoforge jobs`, audited, never
//! showing a payload.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use neoforge::jobs::store;
use reqwest::Method;
use uuid::Uuid;

use crate::{
    rate_limit::metric_in,
    support::{TestApp, assert_problem, audit_actions, binary, json},
};

/// An app whose email deliveries fail (the outbox is a file, not a folder) and die at the first failure.
async fn app_with_failing_email() -> TestApp {
    let app = TestApp::spawn_with(&[("JOB_MAX_ATTEMPTS", "1")]).await;
    set_outbox_broken(&app, true);
    app
}

fn set_outbox_broken(app: &TestApp, broken: bool) {
    let outbox = app.outbox();
    if broken {
        let _ = std::fs::remove_dir_all(&outbox);
        std::fs::write(&outbox, b"not a folder").unwrap();
    } else {
        std::fs::remove_file(&outbox).unwrap();
        std::fs::create_dir_all(&outbox).unwrap();
    }
}

async fn wait_for(app: &TestApp, id: Uuid, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let job = store::state(&app.state.db, id).await.unwrap();
        if job.as_ref().map(|j| j.status.as_str()) == Some(status) {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} is {job:?}, not {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Registers a user (whose verification email then dies) and returns the email job's id.
async fn dead_email_job(app: &TestApp) -> (String, Uuid) {
    let user = app.register_user().await;
    let id = newest_job(app).await;
    wait_for(app, id, "dead").await;
    (user.email, id)
}

async fn newest_job(app: &TestApp) -> Uuid {
    neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT id FROM jobs ORDER BY created_at DESC, id DESC"
    )
    .fetch_one(c)
    .await)
    .unwrap()
}

/// `jobs_dead_waiting` for dead verification emails, as the dashboard reads it.
async fn dead_waiting(app: &TestApp) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    metric_in(
        &text,
        "jobs_dead_waiting",
        &[("queue", "email"), ("kind", "email.send")],
    )
}

#[tokio::test]
async fn an_admin_finds_a_dead_email_retries_it_and_it_is_delivered() {
    let app = app_with_failing_email().await;
    let admin = app.admin().await;
    let (email, id) = dead_email_job(&app).await;

    let res = app
        .authed(Method::GET, "/api/v1/admin/jobs?state=dead", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains("payload"), "never the payload: {text}");
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(items.iter().all(|j| j["status"] == "dead"), "{page}");
    // (The admin's own new-device notice died too.)
    let job = items
        .iter()
        .find(|j| j["id"] == id.to_string())
        .expect("the dead email is listed");
    assert_eq!(
        (job["queue"].as_str(), job["kind"].as_str()),
        (Some("email"), Some("email.send"))
    );
    assert_eq!(
        (job["attempts"].as_i64(), job["max_attempts"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(job["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{job}");
    let queued = json(
        app.authed(Method::GET, "/api/v1/admin/jobs?state=queued", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(queued["total"], 0);

    let one = json(
        app.authed(Method::GET, &format!("/api/v1/admin/jobs/{id}"), &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one["status"], "dead");
    assert!(one.get("payload").is_none());

    // Fixed; retried: it runs again at once and the user gets the email.
    set_outbox_broken(&app, false);
    let res = app
        .authed(Method::POST, &format!("/api/v1/admin/jobs/{id}/retry"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let retried = json(res).await;
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_i64()),
        (Some("queued"), Some(0))
    );
    wait_for(&app, id, "done").await;
    assert_eq!(app.emails_to(&email).await.len(), 1, "delivered once");

    // A done job is neither retried nor discarded.
    let res = app
        .authed(Method::POST, &format!("/api/v1/admin/jobs/{id}/retry"), &admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "job_state_conflict").await;
    let res = app
        .authed(Method::DELETE, &format!("/api/v1/admin/jobs/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "job_state_conflict").await;
    let actions = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|(a, actor)| a == "admin.job_retry" && actor.map(|u| u.to_string()) == Some(admin.id.clone())),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_dead_job_is_discarded_and_bad_requests_are_clear() {
    let app = app_with_failing_email().await;
    let admin = app.admin().await;
    let (_, id) = dead_email_job(&app).await;
    let before = dead_waiting(&app).await;
    assert!(before >= 1.0, "the dashboard sees the dead email ({before})");
    let res = app
        .authed(Method::DELETE, &format!("/api/v1/admin/jobs/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(dead_waiting(&app).await, before - 1.0, "and sees it go");
    assert!(store::state(&app.state.db, id).await.unwrap().is_none());
    let res = app
        .authed(Method::GET, &format!("/api/v1/admin/jobs/{id}"), &admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = app
        .authed(Method::POST, &format!("/api/v1/admin/jobs/{id}/retry"), &admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = app
        .authed(Method::GET, "/api/v1/admin/jobs?state=sleeping", &admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    assert!(audit_actions(&app).await.iter().any(|(a, _)| a == "admin.job_discard"));

    // A user who is not an administrator sees nothing of the queue.
    let user = app.register_user().await;
    let res = app
        .authed(Method::GET, "/api/v1/admin/jobs", &user)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn cursor_pages_walk_every_job_once() {
    let app = TestApp::spawn_with(&[("JOB_WORKERS", "false")]).await;
    let admin = app.admin().await;
    for _ in 0..5 {
        app.register_user().await;
    }
    let all: i64 = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(c)
        .await)
    .unwrap();
    assert!(all >= 5);
    let mut seen = Vec::new();
    let mut next = "/api/v1/admin/jobs?cursor=&page_size=2&queue=email".to_string();
    loop {
        let page = json(app.authed(Method::GET, &next, &admin).send().await.unwrap()).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("/api/v1/admin/jobs?cursor={c}&page_size=2&queue=email"),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, all, "every job once");
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no job twice");
    let other = json(
        app.authed(Method::GET, "/api/v1/admin/jobs?queue=reports", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(other["total"], 0);
}

#[tokio::test]
async fn neoforge_jobs_lists_retries_and_discards_from_the_command_line() {
    let app = app_with_failing_email().await;
    let (_, first) = dead_email_job(&app).await;
    let (_, second) = dead_email_job(&app).await;
    let run = |args: &[&str]| {
        binary()
            .arg("jobs")
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .env("DATA_DIR", app.db.dir.path())
            .env("ADMIN_PASSWORD", "unused admin password")
            .stdin(Stdio::null())
            .output()
            .expect("run neoforge jobs")
    };
    let out = run(&["list", "--state", "dead"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        listed.contains(&first.to_string()) && listed.contains(&second.to_string()),
        "{listed}"
    );

    let out = run(&["retry", &first.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued to run now"));
    let out = run(&["discard", &second.to_string()]);
    assert!(out.status.success());
    assert!(store::state(&app.state.db, second).await.unwrap().is_none());
    let out = run(&["discard", &Uuid::now_v7().to_string()]);
    assert!(!out.status.success(), "an unknown job is an error");
    let out = run(&["list", "--state", "sleeping"]);
    assert!(!out.status.success());
    let actions = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|(a, actor)| a == "admin.job_retry" && actor.is_none()),
        "{actions:?}"
    );
}
