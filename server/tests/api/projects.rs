//! Projects, and through them the shared machinery: pagination, idempotency, ETags.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, assert_problem, audit_actions, json};

async fn create(app: &TestApp, user: &TestUser, name: &str) -> Value {
    let res = app
        .authed(Method::POST, "/api/v1/projects", user)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "create {name}");
    json(res).await
}

#[tokio::test]
async fn crud_with_location_etag_and_audit() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app
        .authed(Method::POST, "/api/v1/projects", &user)
        .json(&json!({"name": "  Apollo ", "description": "to the moon", "owner_id": "00000000-0000-0000-0000-000000000000", "id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let p = json(res).await;
    assert_eq!(p["name"], "Apollo");
    assert_eq!(p["owner_id"], json!(user.id), "owner from the token, never the body");
    assert_eq!(location, format!("/api/v1/projects/{}", p["id"].as_str().unwrap()));

    let res = app.authed(Method::GET, &location, &user).send().await.unwrap();
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(res.headers()["cache-control"], "private, no-cache");
    assert!(
        res.headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Authorization"))
    );
    assert_eq!(json(res).await, p);

    let res = app
        .authed(Method::PATCH, &location, &user)
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let new_etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let updated = json(res).await;
    assert!(updated["description"].is_null());
    assert_eq!(updated["name"], "Apollo");

    let res = app.authed(Method::DELETE, &location, &user).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(
        app.authed(Method::GET, &location, &user).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let actions: Vec<String> = audit_actions(&app)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| a.starts_with("project."))
        .collect();
    assert_eq!(actions, vec!["project.create", "project.update", "project.delete"]);
}

#[tokio::test]
async fn access_matrix_owner_other_admin_anonymous() {
    let app = TestApp::spawn().await;
    let owner = app.register_user().await;
    let other = app.register_user().await;
    let admin = app.admin().await;
    let p = create(&app, &owner, "Secret").await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap());

    assert_problem(app.get(&path).await, 401, "not_authenticated").await;
    assert_problem(app.get("/api/v1/projects").await, 401, "not_authenticated").await;
    let res = app
        .request(Method::POST, "/api/v1/projects")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "not_authenticated").await;
    // Another user: 404 on everything, never 403.
    assert_problem(
        app.authed(Method::GET, &path, &other).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let res = app
        .authed(Method::PATCH, &path, &other)
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert_problem(
        app.authed(Method::DELETE, &path, &other).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let list = json(
        app.authed(Method::GET, "/api/v1/projects", &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 0);
    let list = json(
        app.authed(Method::GET, &format!("/api/v1/projects?owner_id={}", owner.id), &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 0, "owner_id is for administrators only");
    // Admin: sees and changes anything.
    assert_eq!(
        app.authed(Method::GET, &path, &admin).send().await.unwrap().status(),
        200
    );
    let list = json(
        app.authed(Method::GET, &format!("/api/v1/projects?owner_id={}", owner.id), &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 1);
    let res = app
        .authed(Method::PATCH, &path, &admin)
        .json(&json!({"name": "Renamed by admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["owner_id"], json!(owner.id));
    assert_eq!(
        app.authed(Method::DELETE, &path, &admin).send().await.unwrap().status(),
        204
    );
    assert_problem(
        app.authed(Method::GET, "/api/v1/projects/nope", &owner)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn input_bounds() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let post = |body: Value| app.authed(Method::POST, "/api/v1/projects", &user).json(&body).send();
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "n".repeat(201)}), "name"),
        (json!({"name": "ok", "description": "d".repeat(5001)}), "description"),
        (json!({"description": "no name"}), "name"),
        (json!({"name": 42}), "name"),
    ] {
        let problem = assert_problem(post(body.clone()).await.unwrap(), 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"], json!(["body", field]), "{body}");
    }
    assert_eq!(
        post(json!({"name": "é".repeat(200), "description": "d".repeat(5000)}))
            .await
            .unwrap()
            .status(),
        201
    );
    let p = create(&app, &user, "x").await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap());
    let res = app
        .authed(Method::PATCH, &path, &user)
        .json(&json!({"name": null}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["loc"], json!(["body", "name"]));
    let res = app
        .authed(Method::PATCH, &path, &user)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;
    let res = app
        .authed(Method::POST, "/api/v1/projects", &user)
        .body("name=x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn quota_is_enforced() {
    let app = TestApp::spawn_with(&[("MAX_PROJECTS_PER_USER", "2")]).await;
    let user = app.register_user().await;
    create(&app, &user, "a").await;
    create(&app, &user, "b").await;
    let res = app
        .authed(Method::POST, "/api/v1/projects", &user)
        .json(&json!({"name": "c"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "quota_exceeded").await;
    let list = json(app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap()).await;
    assert_eq!(list["total"], 2, "a refused create leaves no row");

    // Deleting one frees its place (the counter follows deletes too).
    let first = list["items"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .authed(Method::DELETE, &format!("/api/v1/projects/{first}"), &user)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Concurrent creates for the last place: exactly one wins.
    let attempts = (0..6).map(|i| {
        app.authed(Method::POST, "/api/v1/projects", &user)
            .json(&json!({"name": format!("race {i}")}))
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
    let list = json(app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap()).await;
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn conditional_requests() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let p = create(&app, &user, "v1").await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap());
    let res = app.authed(Method::GET, &path, &user).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();

    let res = app
        .authed(Method::GET, &path, &user)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(res.headers()["cache-control"], "private, no-cache");
    assert!(res.headers().contains_key("x-request-id") && res.headers().contains_key("x-content-type-options"));
    assert!(res.bytes().await.unwrap().is_empty());
    assert_eq!(
        app.authed(Method::GET, &path, &user)
            .header("if-none-match", "*")
            .send()
            .await
            .unwrap()
            .status(),
        304
    );
    assert_eq!(
        app.authed(Method::GET, &path, &user)
            .header("if-none-match", "\"stale\"")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A stale If-Match: 412 with the current ETag, and nothing changes.
    let res = app
        .authed(Method::PATCH, &path, &user)
        .header("if-match", "\"stale\"")
        .json(&json!({"name": "v2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert_problem(res, 412, "precondition_failed").await;
    let res = app
        .authed(Method::DELETE, &path, &user)
        .header("if-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_problem(res, 412, "precondition_failed").await;
    assert_eq!(
        json(app.authed(Method::GET, &path, &user).send().await.unwrap()).await["name"],
        "v1"
    );

    let res = app
        .authed(Method::PATCH, &path, &user)
        .header("if-match", &etag)
        .json(&json!({"name": "v2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .authed(Method::PATCH, &path, &user)
        .header("if-match", &etag)
        .json(&json!({"name": "v3"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 412, "precondition_failed").await;
    assert_eq!(
        app.authed(Method::DELETE, &path, &user)
            .header("if-match", "*")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let res = app
        .authed(Method::DELETE, &path, &user)
        .header("if-match", "*")
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;

    // Lists carry ETags too.
    let res = app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap();
    let list_tag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .authed(Method::GET, "/api/v1/projects", &user)
        .header("if-none-match", &list_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    create(&app, &user, "changes the list").await;
    let res = app
        .authed(Method::GET, "/api/v1/projects", &user)
        .header("if-none-match", &list_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn idempotent_create_replays_and_refuses_reuse() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = app.register_user().await;
    let post = |u: &TestUser, key: &str, body: Value| {
        app.authed(Method::POST, "/api/v1/projects", u)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = post(&user, "key-1", json!({"name": "Once"})).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let body = first.text().await.unwrap();

    let again = post(&user, "key-1", json!({"name": "Once"})).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert!(again.headers().contains_key("etag"));
    assert_eq!(again.text().await.unwrap(), body, "the stored body, byte for byte");

    let reused = post(&user, "key-1", json!({"name": "Different"})).await.unwrap();
    assert_problem(reused, 422, "idempotency_key_reused").await;
    let res = app
        .authed(Method::PATCH, location.to_str().unwrap(), &user)
        .header("idempotency-key", "key-1")
        .json(&json!({"name": "Once"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "idempotency_key_reused").await;
    // Keys are per principal: another user's same key is a fresh request.
    assert_eq!(
        post(&other, "key-1", json!({"name": "Once"})).await.unwrap().status(),
        201
    );

    let list = json(app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap()).await;
    assert_eq!(list["total"], 1);

    // A failed first attempt is not stored: the same key works once the request is fixed... with the same body.
    let bad = post(&user, "key-2", json!({"name": ""})).await.unwrap();
    assert_problem(bad, 422, "validation_failed").await;
    let app2 = TestApp::spawn_with(&[("MAX_PROJECTS_PER_USER", "0")]).await;
    let u2 = app2.register_user().await;
    let res = app2
        .authed(Method::POST, "/api/v1/projects", &u2)
        .header("idempotency-key", "k")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "quota_exceeded").await;
    let n: i64 = neoforge::with_db!(&app2.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM idempotency_records"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(n, 0, "non-2xx results are not stored");

    for bad_key in ["", &"k".repeat(256)] {
        let res = post(&user, bad_key, json!({"name": "x"})).await.unwrap();
        assert_problem(res, 400, "invalid_idempotency_key").await;
    }
    let res = app
        .authed(Method::POST, "/api/v1/projects", &user)
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        )
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_idempotency_key").await;
}

#[tokio::test]
async fn idempotent_delete_replays_204() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let p = create(&app, &user, "gone").await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap());
    for _ in 0..2 {
        let res = app
            .authed(Method::DELETE, &path, &user)
            .header("idempotency-key", "del")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
}

#[tokio::test]
async fn fifty_identical_concurrent_creates_make_one_project() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let requests = (0..50).map(|_| {
        app.authed(Method::POST, "/api/v1/projects", &user)
            .header("idempotency-key", "burst")
            .json(&json!({"name": "Exactly once"}))
            .send()
    });
    let results = futures_util::future::join_all(requests).await;
    let mut created = 0;
    let mut bodies = HashSet::new();
    for res in results {
        let res = res.unwrap();
        match res.status().as_u16() {
            201 => {
                created += 1;
                bodies.insert(res.text().await.unwrap());
            }
            200 => {
                assert_eq!(res.headers()["idempotent-replayed"], "true");
                bodies.insert(res.text().await.unwrap());
            }
            409 => {
                assert_eq!(res.headers()["retry-after"], "1");
                assert_eq!(json(res).await["code"], "idempotency_in_progress");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(bodies.len(), 1, "every 2xx answer has the same body");
    let list = json(app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap()).await;
    assert_eq!(list["total"], 1);
}

#[tokio::test]
async fn offset_pagination_search_and_sort() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    for name in ["Banana", "apple", "Cherry", "apricot", "50% off_sale"] {
        create(&app, &user, name).await;
    }
    let get = |q: &str| app.authed(Method::GET, &format!("/api/v1/projects?{q}"), &user).send();
    let page = json(get("page_size=2").await.unwrap()).await;
    assert_eq!(
        (page["total"].clone(), page["pages"].clone(), page["page"].clone()),
        (json!(5), json!(3), json!(1))
    );
    assert_eq!(page["items"][0]["name"], "50% off_sale", "newest first by default");
    let page = json(get("page=3&page_size=2").await.unwrap()).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page = json(get("page=4&page_size=2").await.unwrap()).await;
    assert_eq!(
        (page["items"].as_array().unwrap().len(), page["total"].clone()),
        (0, json!(5))
    );
    let names = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&json(get("q=AP").await.unwrap()).await).len(), 2);
    assert_eq!(
        names(&json(get("q=%25").await.unwrap()).await),
        vec!["50% off_sale"],
        "% is literal"
    );
    assert_eq!(
        names(&json(get("q=_").await.unwrap()).await),
        vec!["50% off_sale"],
        "_ is literal"
    );
    assert_eq!(names(&json(get("sort=created_at").await.unwrap()).await)[0], "Banana");
    let by_name = names(&json(get("sort=name&q=a").await.unwrap()).await);
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted);
    for bad in [
        "sort=owner",
        "page=0",
        "page_size=101",
        "page=1&cursor=",
        "include_total=maybe",
    ] {
        let res = get(bad).await.unwrap();
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"][0], "query", "{bad}");
    }
}

#[tokio::test]
async fn cursor_walk_sees_every_row_once_while_rows_are_inserted() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let mut expected = HashSet::new();
    for i in 0..23 {
        expected.insert(
            create(&app, &user, &format!("p{i:02}")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for sort in ["-created_at", "created_at", "name", "-name", "-updated_at"] {
        let mut seen = Vec::new();
        let mut url = format!("/api/v1/projects?cursor=&page_size=5&sort={sort}");
        let mut pages = 0;
        loop {
            let res = app.authed(Method::GET, &url, &user).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let link = res.headers().get("link").map(|v| v.to_str().unwrap().to_string());
            let page = json(res).await;
            assert!(page.get("total").is_none());
            for p in page["items"].as_array().unwrap() {
                seen.push(p["id"].as_str().unwrap().to_string());
            }
            pages += 1;
            if pages == 2 && sort == "-created_at" {
                // New rows during paging land before the cursor and are not seen twice.
                create(&app, &user, "inserted while paging").await;
            }
            match page["next_cursor"].as_str() {
                Some(next) => {
                    assert_eq!(page["has_more"], true);
                    let link = link.expect("Link header with a next page");
                    assert!(link.ends_with("; rel=\"next\"") && link.contains(next), "{link}");
                    url = link.trim_start_matches('<').split('>').next().unwrap().to_string();
                }
                None => {
                    assert_eq!(page["has_more"], false);
                    assert!(link.is_none());
                    break;
                }
            }
        }
        let unique: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no row twice ({sort})");
        assert!(expected.is_subset(&unique), "every row seen ({sort})");
    }
    let res = app
        .authed(
            Method::GET,
            "/api/v1/projects?cursor=&include_total=true&page_size=100",
            &user,
        )
        .send()
        .await
        .unwrap();
    let page = json(res).await;
    assert_eq!(page["total"], 24);
    assert_eq!(page["items"].as_array().unwrap().len(), 24);
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn cursors_are_bound_to_their_list() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = app.register_user().await;
    for i in 0..3 {
        create(&app, &user, &format!("p{i}")).await;
    }
    let page = json(
        app.authed(Method::GET, "/api/v1/projects?cursor=&page_size=1", &user)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let get = |u: &TestUser, q: String| app.authed(Method::GET, &format!("/api/v1/projects?{q}"), u).send();
    // page_size may change between pages.
    assert_eq!(
        get(&user, format!("cursor={cursor}&page_size=2"))
            .await
            .unwrap()
            .status(),
        200
    );
    let mut tampered = cursor.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for q in [
        format!("cursor={tampered}"),
        format!("cursor={cursor}&sort=name"),
        format!("cursor={cursor}&q=p"),
        "cursor=not-a-cursor".to_string(),
    ] {
        assert_problem(get(&user, q).await.unwrap(), 400, "invalid_cursor").await;
    }
    assert_problem(
        get(&other, format!("cursor={cursor}")).await.unwrap(),
        400,
        "invalid_cursor",
    )
    .await;
}

async fn insert_claim(app: &TestApp, user: &TestUser, key: &str, locked_for: chrono::Duration) {
    let now = neoforge::db::now();
    let mut tx = app.state.db.begin().await.unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO idempotency_records (principal, idem_key, method, path, fingerprint, status, created_at, locked_until, expires_at)
         VALUES ($1, $2, 'POST', '/api/v1/projects', $6, NULL, $3, $4, $5)"
    )
    .bind(format!("user:{}", user.id))
    .bind(key)
    .bind(now)
    .bind(now + locked_for)
    .bind(now + chrono::Duration::hours(24))
    // The fingerprint of the body the test sends: canonical JSON, hashed.
    .bind(neoforge::crypto::sha256_hex(r#"{"name":"x"}"#))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn in_flight_keys_answer_409_and_abandoned_claims_are_taken_over() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let post = |key: &'static str| {
        app.authed(Method::POST, "/api/v1/projects", &user)
            .header("idempotency-key", key)
            .json(&json!({"name": "x"}))
            .send()
    };
    insert_claim(&app, &user, "running", chrono::Duration::seconds(60)).await;
    let res = post("running").await.unwrap();
    assert_eq!(res.headers()["retry-after"], "1");
    assert_problem(res, 409, "idempotency_in_progress").await;
    // A claim whose request died (its lease ran out) is taken over.
    insert_claim(&app, &user, "abandoned", chrono::Duration::seconds(-1)).await;
    assert_eq!(post("abandoned").await.unwrap().status(), 201);
}

#[tokio::test]
async fn records_expire_after_the_ttl() {
    let app = TestApp::spawn_with(&[("IDEMPOTENCY_TTL", "1s")]).await;
    let user = app.register_user().await;
    let post = |name: &str| {
        app.authed(Method::POST, "/api/v1/projects", &user)
            .header("idempotency-key", "short-lived")
            .json(&json!({"name": name}))
            .send()
    };
    assert_eq!(post("first").await.unwrap().status(), 201);
    assert_problem(post("second").await.unwrap(), 422, "idempotency_key_reused").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        post("second").await.unwrap().status(),
        201,
        "an expired key is free again"
    );
}

/// Fires `n` writes at `path` at once, all carrying `etag` in `If-Match`; returns their statuses.
/// `patch(i)` is the body of the i-th PATCH; `deletes` of the writers are DELETEs instead.
async fn concurrent_conditional_writes(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    etag: &str,
    n: usize,
    deletes: usize,
    patch: impl Fn(usize) -> Value,
) -> Vec<(Method, u16)> {
    let requests = (0..n).map(|i| {
        let method = if i < deletes { Method::DELETE } else { Method::PATCH };
        let mut req = app.authed(method.clone(), path, user).header("if-match", etag);
        if method == Method::PATCH {
            req = req.json(&patch(i));
        }
        async move { (method, req.send().await.unwrap().status().as_u16()) }
    });
    futures_util::future::join_all(requests).await
}

/// Of N concurrent writers holding the same ETag exactly one wins (spec §5): 24 PATCHes → one 200 and
/// 23 × 412; then PATCHes and DELETEs mixed → one success, and the others 412 (a PATCH won) or 404 (the
/// DELETE won). For every resource with ETags: projects, tickets, posts.
#[tokio::test]
async fn if_match_is_atomic_under_concurrent_writers_for_every_resource() {
    const WRITERS: usize = 24;
    const ROUNDS: usize = 8;
    let app = TestApp::spawn_with(&[("COMMUNITY_REQUIRE_VERIFIED", "false")]).await;
    let user = app.register_user().await;
    let project = create(&app, &user, "Contended").await;
    let res = app
        .authed(Method::POST, "/api/v1/support/tickets", &user)
        .json(&json!({"subject": "Contended", "message": "many writers"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ticket = json(res).await;
    let res = app
        .authed(Method::POST, "/api/v1/community/posts", &user)
        .json(&json!({"title": "Contended", "content": "many writers"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let post = json(res).await;
    let resources: [(String, &str, bool); 3] = [
        (
            format!("/api/v1/projects/{}", project["id"].as_str().unwrap()),
            "name",
            true,
        ),
        (
            format!("/api/v1/support/tickets/{}", ticket["id"].as_str().unwrap()),
            "subject",
            false,
        ),
        (
            format!("/api/v1/community/posts/{}", post["id"].as_str().unwrap()),
            "title",
            true,
        ),
    ];
    let etag = |res: &reqwest::Response| res.headers()["etag"].to_str().unwrap().to_string();
    for (path, field, deletable) in &resources {
        // Several rounds: a lost update needs two writers inside one read-then-write window.
        for round in 0..ROUNDS {
            let current = etag(&app.authed(Method::GET, path, &user).send().await.unwrap());
            let statuses = concurrent_conditional_writes(
                &app,
                &user,
                path,
                &current,
                WRITERS,
                0,
                |i| json!({ *field: format!("writer {round}.{i}") }),
            )
            .await;
            let ok = statuses.iter().filter(|(_, s)| *s == 200).count();
            let failed = statuses.iter().filter(|(_, s)| *s == 412).count();
            assert_eq!((ok, failed), (1, WRITERS - 1), "{path}, round {round}: {statuses:?}");
        }
        let after = app.authed(Method::GET, path, &user).send().await.unwrap();
        let next = etag(&after);
        assert!(json(after).await[*field].as_str().unwrap().starts_with("writer "));

        if *deletable {
            let statuses = concurrent_conditional_writes(
                &app,
                &user,
                path,
                &next,
                WRITERS,
                WRITERS / 2,
                |i| json!({ *field: format!("late writer {i}") }),
            )
            .await;
            let winners: Vec<_> = statuses.iter().filter(|(_, s)| *s == 200 || *s == 204).collect();
            assert_eq!(winners.len(), 1, "{path}: {statuses:?}");
            let losers_expected: &[u16] = if winners[0].0 == Method::DELETE {
                &[404, 412]
            } else {
                &[412]
            };
            assert!(
                statuses
                    .iter()
                    .filter(|(_, s)| *s != 200 && *s != 204)
                    .all(|(_, s)| losers_expected.contains(s)),
                "{path}: {statuses:?}"
            );
        }
    }
}

/// Tickets and posts have per-user quotas like projects (409 `quota_exceeded`, nothing stored).
#[tokio::test]
async fn tickets_and_posts_have_per_user_quotas() {
    let app = TestApp::spawn_with(&[
        ("MAX_TICKETS_PER_USER", "2"),
        ("MAX_POSTS_PER_USER", "2"),
        ("COMMUNITY_REQUIRE_VERIFIED", "false"),
    ])
    .await;
    let user = app.register_user().await;
    let other = app.register_user().await;
    for (path, body) in [
        (
            "/api/v1/support/tickets",
            json!({"subject": "Help", "message": "please"}),
        ),
        ("/api/v1/community/posts", json!({"title": "Hello", "content": "world"})),
    ] {
        for _ in 0..2 {
            let res = app.authed(Method::POST, path, &user).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 201, "{path}");
        }
        let res = app.authed(Method::POST, path, &user).json(&body).send().await.unwrap();
        assert_problem(res, 409, "quota_exceeded").await;
        let res = app.authed(Method::POST, path, &other).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{path}: another user has their own quota");
    }
    let count: i64 = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM support_tickets WHERE user_id = $1"
    )
    .bind(uuid::Uuid::parse_str(&user.id).unwrap())
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(count, 2);
    // Anonymous tickets are not a user's (the `auth` rate-limit tier bounds them).
    let res = app
        .post_json(
            "/api/v1/support/tickets",
            &json!({"email": user.email, "subject": "Help", "message": "anon"}),
        )
        .await;
    assert_eq!(res.status(), 201);
}

/// A keyed write whose answer is larger than IDEMPOTENCY_MAX_STORED_BYTES still runs exactly once; its
/// replay says so without the body: 200, `Idempotent-Replayed: true`, `Idempotent-Body-Omitted: true`,
/// the original `ETag` and `Location`, an empty body. Small answers replay in full.
#[tokio::test]
async fn oversized_idempotent_answers_replay_without_their_body() {
    let app = TestApp::spawn_with(&[("IDEMPOTENCY_MAX_STORED_BYTES", "512")]).await;
    let user = app.register_user().await;
    let big = json!({"name": "Big", "description": "x".repeat(2000)});
    let send = |key: &str, body: &Value| {
        app.authed(Method::POST, "/api/v1/projects", &user)
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let first = send("big", &big).await.unwrap();
    assert_eq!(first.status(), 201);
    let (etag, location) = (first.headers()["etag"].clone(), first.headers()["location"].clone());
    assert!(first.text().await.unwrap().len() > 2000);
    let replay = send("big", &big).await.unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["idempotent-body-omitted"], "true");
    assert_eq!(replay.headers()["etag"], etag);
    assert_eq!(replay.headers()["location"], location);
    assert_eq!(replay.text().await.unwrap(), "");
    let stored: Option<String> = neoforge::with_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT response_body FROM idempotency_records WHERE idem_key = 'big'"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(stored, None, "the large body is not stored");
    let res = app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap();
    assert_eq!(json(res).await["total"], 1, "created once");

    let small = json!({"name": "Small"});
    let first = send("small", &small).await.unwrap();
    let body = first.text().await.unwrap();
    let replay = send("small", &small).await.unwrap();
    assert!(replay.headers().get("idempotent-body-omitted").is_none());
    assert_eq!(replay.text().await.unwrap(), body);
}

/// The total comes with the page in one statement (a subquery over the same filter and placeholders), and
/// from a count of its own when the page is empty: every shape of page must report the same total.
#[tokio::test]
async fn every_page_reports_the_total_of_its_filter() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = app.register_user().await;
    for name in ["alpha one", "alpha two", "alpha three", "beta"] {
        create(&app, &user, name).await;
    }
    create(&app, &other, "alpha of another").await;
    let get = async |query: &str| {
        let res = app
            .authed(Method::GET, &format!("/api/v1/projects?{query}"), &user)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{query}");
        json(res).await
    };
    for (query, total, items) in [
        ("page_size=2", 4, 2),
        ("page_size=2&page=2", 4, 2),
        ("page_size=3&page=2", 4, 1),
        ("page_size=2&page=3", 4, 0),
        ("q=alpha&page_size=2", 3, 2),
        ("q=alpha&page_size=2&page=2", 3, 1),
        ("q=alpha&page_size=2&page=9", 3, 0),
        ("q=nothing", 0, 0),
        ("cursor=&include_total=true&page_size=3", 4, 3),
        ("cursor=&include_total=true&q=alpha&sort=name", 3, 3),
    ] {
        let page = get(query).await;
        assert_eq!(page["total"], total, "{query}");
        assert_eq!(page["items"].as_array().unwrap().len(), items, "{query}");
    }
    let first = get("cursor=&include_total=true&q=alpha&page_size=2").await;
    let next = first["next_cursor"].as_str().unwrap();
    let rest = get(&format!("cursor={next}&include_total=true&q=alpha&page_size=2")).await;
    assert_eq!(
        rest["total"], 3,
        "the total is the filter's, not what is left after the cursor"
    );
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let last = rest["items"][0]["id"].as_str().unwrap().to_string();
    assert!(rest["next_cursor"].is_null());
    assert!(
        first["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != last.as_str())
    );
    assert!(
        get("cursor=&page_size=2").await.get("total").is_none(),
        "no total unless asked for"
    );
}
