//! Support tickets: anonymous and signed-in creation, the owner's limits, the back office.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, assert_problem, audit_actions, json};

async fn open_ticket(app: &TestApp, user: Option<&TestUser>, body: Value) -> reqwest::Response {
    let mut req = app.request(Method::POST, "/api/v1/support/tickets").json(&body);
    if let Some(u) = user {
        req = req.bearer_auth(&u.access);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn anonymous_and_signed_in_tickets() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = open_ticket(
        &app,
        None,
        json!({"email": " Guest@Example.com ", "subject": "Help", "message": "It broke"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/api/v1/support/tickets/")
    );
    let anon = json(res).await;
    assert_eq!(
        (anon["email"].clone(), anon["status"].clone(), anon["user_id"].clone()),
        (json!("guest@example.com"), json!("open"), Value::Null)
    );

    let res = open_ticket(
        &app,
        Some(&user),
        json!({"subject": "Mine", "message": "Hello", "status": "closed", "user_id": "x"}),
    )
    .await;
    let mine = json(res).await;
    assert_eq!(mine["email"], json!(user.email), "defaults to the user's email");
    assert_eq!(mine["user_id"], json!(user.id));
    assert_eq!(mine["status"], "open", "status is not taken from the body");

    for (body, field) in [
        (json!({"subject": "s", "message": "m"}), "email"),
        (json!({"email": "bad", "subject": "s", "message": "m"}), "email"),
        (json!({"email": "a@b.co", "subject": "", "message": "m"}), "subject"),
        (
            json!({"email": "a@b.co", "subject": "s".repeat(201), "message": "m"}),
            "subject",
        ),
        (
            json!({"email": "a@b.co", "subject": "s", "message": "m".repeat(10_001)}),
            "message",
        ),
    ] {
        let problem = assert_problem(open_ticket(&app, None, body).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["loc"], json!(["body", field]));
    }
    let actions = audit_actions(&app).await;
    let creates: Vec<_> = actions.iter().filter(|(a, _)| a == "ticket.create").collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0].1, None);
}

#[tokio::test]
async fn visibility_owner_other_admin_anonymous() {
    let app = TestApp::spawn().await;
    let owner = app.register_user().await;
    let other = app.register_user().await;
    let admin = app.admin().await;
    let t = json(open_ticket(&app, Some(&owner), json!({"subject": "S", "message": "M"})).await).await;
    let anon = json(
        open_ticket(
            &app,
            None,
            json!({"email": "g@example.com", "subject": "Guest", "message": "M"}),
        )
        .await,
    )
    .await;
    let path = format!("/api/v1/support/tickets/{}", t["id"].as_str().unwrap());

    assert_problem(app.get(&path).await, 401, "not_authenticated").await;
    assert_problem(app.get("/api/v1/support/tickets").await, 401, "not_authenticated").await;
    assert_eq!(
        app.authed(Method::GET, &path, &owner).send().await.unwrap().status(),
        200
    );
    assert_problem(
        app.authed(Method::GET, &path, &other).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let res = app
        .authed(Method::PATCH, &path, &other)
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert_eq!(
        app.authed(Method::GET, &path, &admin).send().await.unwrap().status(),
        200
    );
    let anon_path = format!("/api/v1/support/tickets/{}", anon["id"].as_str().unwrap());
    assert_problem(
        app.authed(Method::GET, &anon_path, &owner).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    let mine = json(
        app.authed(Method::GET, "/api/v1/support/tickets", &owner)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mine["total"], 1);
    let theirs = json(
        app.authed(Method::GET, "/api/v1/support/tickets", &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(theirs["total"], 0);
    let all = json(
        app.authed(Method::GET, "/api/v1/support/tickets", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(all["total"], 2);
}

#[tokio::test]
async fn owners_may_edit_while_open_and_only_close() {
    let app = TestApp::spawn().await;
    let owner = app.register_user().await;
    let admin = app.admin().await;
    let t = json(open_ticket(&app, Some(&owner), json!({"subject": "S", "message": "M"})).await).await;
    let path = format!("/api/v1/support/tickets/{}", t["id"].as_str().unwrap());
    let patch = |u: &TestUser, body: Value| app.authed(Method::PATCH, &path, u).json(&body).send();

    let res = patch(&owner, json!({"subject": "Better subject"})).await.unwrap();
    assert_eq!(json(res).await["subject"], "Better subject");
    for status in ["pending", "resolved", "open"] {
        assert_problem(
            patch(&owner, json!({"status": status})).await.unwrap(),
            403,
            "forbidden",
        )
        .await;
    }
    assert_problem(
        patch(&owner, json!({"status": "bogus"})).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        json(patch(&owner, json!({"status": "closed"})).await.unwrap()).await["status"],
        "closed"
    );
    assert_problem(
        patch(&owner, json!({"message": "more"})).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    // The back office may do anything.
    assert_eq!(
        json(
            patch(&admin, json!({"status": "pending", "message": "edited by support"}))
                .await
                .unwrap()
        )
        .await["status"],
        "pending"
    );
    assert!(audit_actions(&app).await.iter().any(|(a, _)| a == "ticket.update"));
}

/// Every PATCH reads `null` the same way: on a field that cannot be empty it is a 422, never ignored.
#[tokio::test]
async fn null_on_a_required_field_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.register_user().await;
    let admin = app.admin().await;
    let t = json(open_ticket(&app, Some(&owner), json!({"subject": "S", "message": "M"})).await).await;
    let path = format!("/api/v1/support/tickets/{}", t["id"].as_str().unwrap());
    for (user, field) in [
        (&owner, "subject"),
        (&owner, "message"),
        (&admin, "status"),
        (&admin, "subject"),
    ] {
        let res = app
            .authed(Method::PATCH, &path, user)
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
    let unchanged = json(app.authed(Method::GET, &path, &owner).send().await.unwrap()).await;
    assert_eq!(
        (&unchanged["subject"], &unchanged["message"], &unchanged["status"]),
        (&json!("S"), &json!("M"), &json!("open"))
    );
    assert!(!audit_actions(&app).await.iter().any(|(a, _)| a == "ticket.update"));
}

#[tokio::test]
async fn back_office_filters_search_and_sort() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register_user().await;
    for (subject, email) in [
        ("Billing issue", "a@example.com"),
        ("Login broken", "b@example.com"),
        ("Other", "billing@example.com"),
    ] {
        let res = open_ticket(
            &app,
            None,
            json!({"email": email, "subject": subject, "message": "details"}),
        )
        .await;
        assert_eq!(res.status(), 201);
    }
    let first = json(
        app.authed(Method::GET, "/api/v1/support/tickets?sort=created_at", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = first["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(first["items"][0]["subject"], "Billing issue");
    app.authed(Method::PATCH, &format!("/api/v1/support/tickets/{id}"), &admin)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();

    let get = |q: &str| {
        app.authed(Method::GET, &format!("/api/v1/support/tickets?{q}"), &admin)
            .send()
    };
    assert_eq!(json(get("status=resolved").await.unwrap()).await["total"], 1);
    assert_eq!(json(get("status=open").await.unwrap()).await["total"], 2);
    assert_eq!(
        json(get("q=BILLING").await.unwrap()).await["total"],
        2,
        "admins search email too"
    );
    assert_eq!(
        json(get("sort=-updated_at").await.unwrap()).await["items"][0]["id"],
        json!(id)
    );
    assert_problem(get("status=nope").await.unwrap(), 422, "validation_failed").await;
    assert_problem(get("sort=title").await.unwrap(), 422, "validation_failed").await;
    let page = json(get("cursor=&page_size=2&include_total=true").await.unwrap()).await;
    assert_eq!(
        (page["total"].clone(), page["has_more"].clone()),
        (json!(3), json!(true))
    );
    // A user's search covers subject and message only.
    open_ticket(&app, Some(&user), json!({"subject": "x", "message": "y"})).await;
    let res = app
        .authed(Method::GET, "/api/v1/support/tickets?q=example.com", &user)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["total"], 0);
}

#[tokio::test]
async fn tickets_outlive_a_deleted_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register_user().await;
    let t = json(open_ticket(&app, Some(&user), json!({"subject": "S", "message": "M"})).await).await;
    let res = app
        .authed(Method::DELETE, "/api/v1/users/me", &user)
        .json(&json!({"password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .authed(
            Method::GET,
            &format!("/api/v1/support/tickets/{}", t["id"].as_str().unwrap()),
            &admin,
        )
        .send()
        .await
        .unwrap();
    let ticket = json(res).await;
    assert!(ticket["user_id"].is_null());
    assert_eq!(ticket["email"], json!(user.email));
}

#[tokio::test]
async fn anonymous_idempotency_is_scoped_to_the_client_ip() {
    let app = TestApp::spawn().await;
    let send = || {
        app.request(Method::POST, "/api/v1/support/tickets")
            .header("idempotency-key", "contact-1")
            .json(&json!({"email": "g@example.com", "subject": "S", "message": "M"}))
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 201);
    let res = send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
}
