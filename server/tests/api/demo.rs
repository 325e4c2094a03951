//! Demo data (`neoforge seed-demo`, `make run DEMO=1`): written once, signs in, refused in production.

use std::process::Stdio;

use neoforge::demo::{self, DEMO_EMAIL, DEMO_PASSWORD, Seeded};
use reqwest::Method;

use crate::support::{TestApp, TestDb, TestUser, binary, json};

/// What the demo user and an anonymous visitor see: (projects, tickets, posts, status events, services).
async fn visible(app: &TestApp, user: &TestUser) -> (i64, i64, i64, i64, usize) {
    let count = |path: &'static str, auth: bool| {
        let req = match auth {
            true => app.authed(Method::GET, path, user),
            false => app.request(Method::GET, path),
        };
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            json(res).await["total"].as_i64().unwrap()
        }
    };
    let status = json(app.get("/api/v1/status").await).await;
    assert_eq!(status["status"], "operational", "{status}");
    (
        count("/api/v1/projects", true).await,
        count("/api/v1/support/tickets", true).await,
        count("/api/v1/community/posts", false).await,
        count("/api/v1/status/events", false).await,
        status["services"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn demo_data_is_written_once_and_the_demo_user_signs_in() {
    let app = TestApp::spawn().await;
    assert_eq!(demo::seed(&app.state).await.unwrap(), Seeded::Created);

    let res = app.login(DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200, "the printed credentials sign in");
    let body = json(res).await;
    assert_eq!(body["user"]["is_verified"], true);
    assert_eq!(
        body["user"]["is_admin"], false,
        "the public demo account is no administrator"
    );
    let user = TestUser::from_token_response(DEMO_EMAIL, DEMO_PASSWORD, body);
    let first = visible(&app, &user).await;
    assert_eq!(first, (8, 4, 5, 70, 5));

    // Every ticket state is represented, so the back office has something to filter.
    let res = app
        .authed(Method::GET, "/api/v1/support/tickets?page_size=100", &user)
        .send()
        .await
        .unwrap();
    let mut states: Vec<String> = json(res).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect();
    states.sort();
    assert_eq!(states, ["closed", "open", "pending", "resolved"]);

    // A second run (every `make run DEMO=1`) changes nothing.
    assert_eq!(demo::seed(&app.state).await.unwrap(), Seeded::AlreadyPresent);
    assert_eq!(visible(&app, &user).await, first);
}

#[tokio::test]
async fn seed_demo_prints_the_credentials_and_is_refused_in_production() {
    let db = TestDb::new().await;
    let data = db.dir.path().display().to_string();
    let run = |envs: &[(&str, &str)]| {
        binary()
            .arg("seed-demo")
            .env("DATABASE_URL", &db.url)
            .env("DATA_DIR", &data)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run neoforge seed-demo")
    };
    for expected in ["demo data written", "demo data already present"] {
        let out = run(&[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(expected), "{stdout}");
        assert!(
            stdout.contains(DEMO_EMAIL) && stdout.contains(DEMO_PASSWORD),
            "{stdout}"
        );
    }

    let out = run(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", "a-production-secret-that-is-long-enough-1234"),
        ("PUBLIC_URL", "https://app.example.com"),
    ]);
    assert!(!out.status.success(), "production must refuse demo data");
    // Production logs JSON lines (on stdout), fatal errors included.
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("demo data is refused") || stderr.contains("demo data is refused"),
        "{stdout}{stderr}"
    );
    assert!(!stdout.contains(DEMO_PASSWORD) && !stderr.contains(DEMO_PASSWORD));
}
