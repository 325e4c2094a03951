//! Community posts: public reading, verified writing, author-only editing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, assert_problem, audit_actions, json};

async fn post(app: &TestApp, user: &TestUser, title: &str, content: &str) -> reqwest::Response {
    app.authed(Method::POST, "/api/v1/community/posts", user)
        .json(&json!({"title": title, "content": content}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn verified_users_write_and_anyone_reads() {
    let app = TestApp::spawn().await;
    let unverified = app.register_user().await;
    assert_problem(post(&app, &unverified, "Hi", "there").await, 403, "email_not_verified").await;
    let res = app
        .request(Method::POST, "/api/v1/community/posts")
        .json(&json!({"title": "t", "content": "c"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "not_authenticated").await;

    let author = app.verified_user().await;
    let content = "<script>alert('x')</script> stays plain text; SELECT * FROM posts;";
    let res = post(&app, &author, "  Hello world ", content).await;
    assert_eq!(res.status(), 201);
    let p = json(res).await;
    assert_eq!(p["title"], "Hello world");
    assert_eq!(p["content"], content, "stored and returned as sent");
    assert_eq!(p["author_name"], "Test User");
    assert_eq!(p["author_id"], json!(author.id));

    let path = format!("/api/v1/community/posts/{}", p["id"].as_str().unwrap());
    let res = app.get(&path).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=5");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .request(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["cache-control"], "public, max-age=5");
    let res = app.get("/api/v1/community/posts").await;
    assert_eq!(res.headers()["cache-control"], "public, max-age=5");
    assert_eq!(json(res).await["total"], 1);
    // The same read while signed in is private.
    let res = app.authed(Method::GET, &path, &author).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "private, no-cache");

    for (body, field) in [
        (json!({"title": "", "content": "c"}), "title"),
        (json!({"title": "t".repeat(201), "content": "c"}), "title"),
        (json!({"title": "t", "content": ""}), "content"),
        (json!({"title": "t", "content": "c".repeat(20_001)}), "content"),
    ] {
        let res = app
            .authed(Method::POST, "/api/v1/community/posts", &author)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"], json!(["body", field]));
    }
}

/// Every PATCH reads `null` the same way: on a field that cannot be empty it is a 422, never ignored.
#[tokio::test]
async fn null_on_a_required_field_is_refused() {
    let app = TestApp::spawn().await;
    let author = app.verified_user().await;
    let p = json(post(&app, &author, "Mine", "text").await).await;
    let path = format!("/api/v1/community/posts/{}", p["id"].as_str().unwrap());
    for field in ["title", "content"] {
        let res = app
            .authed(Method::PATCH, &path, &author)
            .json(&json!({ (field): null }))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"],
            json!([{"loc": ["body", field], "msg": "must not be null", "type": "null"}])
        );
    }
    let res = app
        .authed(Method::PATCH, &path, &author)
        .json(&json!({"title": null, "content": null}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    let unchanged = json(app.get(&path).await).await;
    assert_eq!(
        (&unchanged["title"], &unchanged["content"]),
        (&json!("Mine"), &json!("text"))
    );
    assert!(!audit_actions(&app).await.iter().any(|(a, _)| a == "post.update"));
}

#[tokio::test]
async fn verification_can_be_waived() {
    let app = TestApp::spawn_with(&[("COMMUNITY_REQUIRE_VERIFIED", "false")]).await;
    let user = app.register_user().await;
    assert_eq!(post(&app, &user, "t", "c").await.status(), 201);
}

#[tokio::test]
async fn only_the_author_edits_and_admins_may_delete() {
    let app = TestApp::spawn().await;
    let author = app.verified_user().await;
    let other = app.verified_user().await;
    let admin = app.admin().await;
    let p = json(post(&app, &author, "Mine", "text").await).await;
    let path = format!("/api/v1/community/posts/{}", p["id"].as_str().unwrap());
    let patch = |u: &TestUser, body: Value| app.authed(Method::PATCH, &path, u).json(&body).send();

    assert_problem(
        patch(&other, json!({"title": "Hijack"})).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        patch(&admin, json!({"title": "Moderated"})).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    let res = app
        .request(Method::PATCH, &path)
        .json(&json!({"title": "anon"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "not_authenticated").await;
    let res = patch(&author, json!({"content": "edited"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let edited = json(res).await;
    assert_eq!(
        (edited["title"].clone(), edited["content"].clone()),
        (json!("Mine"), json!("edited"))
    );
    assert_problem(
        app.authed(Method::DELETE, &path, &other).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.authed(Method::DELETE, &path, &admin).send().await.unwrap().status(),
        204
    );
    assert_problem(app.get(&path).await, 404, "not_found").await;
    let second = json(post(&app, &author, "Again", "text").await).await;
    let path = format!("/api/v1/community/posts/{}", second["id"].as_str().unwrap());
    assert_eq!(
        app.authed(Method::DELETE, &path, &author)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let actions: Vec<String> = audit_actions(&app)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| a.starts_with("post."))
        .collect();
    assert_eq!(
        actions,
        vec![
            "post.create",
            "post.update",
            "post.delete",
            "post.create",
            "post.delete"
        ]
    );
}

#[tokio::test]
async fn feed_filters_sorts_and_pages_anonymously() {
    let app = TestApp::spawn().await;
    let a = app.verified_user().await;
    let b = app.verified_user().await;
    for (u, t) in [(&a, "Zeta"), (&b, "alpha"), (&a, "Mid select; 'quoted'")] {
        assert_eq!(post(&app, u, t, &format!("content of {t}")).await.status(), 201);
    }
    let get = |q: &str| app.request(Method::GET, &format!("/api/v1/community/posts?{q}")).send();
    assert_eq!(
        json(get(&format!("author_id={}", a.id)).await.unwrap()).await["total"],
        2
    );
    assert_eq!(json(get("q=%27QUOTED%27").await.unwrap()).await["total"], 1);
    assert_eq!(json(get("q=content%20of").await.unwrap()).await["total"], 3);
    let titles = |v: Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(json(get("sort=-created_at").await.unwrap()).await)[0],
        "Mid select; 'quoted'"
    );
    let first = json(get("cursor=&page_size=2&sort=title").await.unwrap()).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next_cursor"].as_str().unwrap();
    let second = json(get(&format!("cursor={next}&page_size=2&sort=title")).await.unwrap()).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["has_more"], false);
    assert_problem(
        get(&format!("cursor={next}&sort=-title")).await.unwrap(),
        400,
        "invalid_cursor",
    )
    .await;
    // The author's name is the one at writing time.
    let res = app
        .authed(Method::PATCH, "/api/v1/users/me", &a)
        .json(&json!({"full_name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list = json(get(&format!("author_id={}", a.id)).await.unwrap()).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["author_name"] == "Test User")
    );
}
