//! The published OpenAPI document is the contract (issue #14, `make fuzz`): what it promises about
//! error bodies, status codes, security and request shapes holds for the running server.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_problem, json};

async fn document(app: &TestApp) -> Value {
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    json(res).await
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

/// The response object, following a `$ref` into `components.responses`.
fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(r) => &doc["components"]["responses"][r.trim_start_matches("#/components/responses/")],
        None => response,
    }
}

#[tokio::test]
async fn every_error_response_is_documented_as_problem_json() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            if !(status.starts_with('4') || status.starts_with('5')) || (path == "/ready" && status == "503") {
                continue;
            }
            let content = resolve(&doc, response)["content"].as_object().unwrap();
            let types: Vec<&String> = content.keys().collect();
            assert_eq!(types, ["application/problem+json"], "{method} {path} {status}");
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
    }
}

#[tokio::test]
async fn the_answers_of_the_shared_extractors_are_documented_on_each_operation() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let has = |op: &Value, status: &str| op["responses"].get(status).is_some();
    for (method, path, op) in operations(&doc) {
        let label = format!("{method} {path}");
        // Anonymous operations say so (`security: []`); the others name the bearer scheme.
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: no security"));
        if !security.is_empty() {
            assert!(has(&op, "401"), "{label}: 401");
        }
        if op.get("requestBody").is_some() {
            assert!(has(&op, "413") && has(&op, "415"), "{label}: 413/415");
            if !path.ends_with("/csp-report") {
                assert!(has(&op, "400") && has(&op, "422"), "{label}: 400/422");
            }
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "path") {
            assert!(has(&op, "404"), "{label}: 404");
        }
        if params.iter().any(|p| p["in"] == "query") {
            assert!(has(&op, "422"), "{label}: 422");
        }
        if params.iter().any(|p| p["name"] == "If-Match") {
            assert!(has(&op, "412"), "{label}: 412");
        }
        assert!(has(&op, "5XX"), "{label}: 5XX");
    }
    assert!(!doc["servers"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_list_is_documented_as_either_page_shape_and_answers_both() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let schema = &doc["paths"]["/api/v1/projects"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    let name = schema["$ref"]
        .as_str()
        .unwrap()
        .trim_start_matches("#/components/schemas/");
    let one_of: Vec<&str> = doc["components"]["schemas"][name]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        one_of,
        [
            "#/components/schemas/Page_ProjectOut",
            "#/components/schemas/CursorPage_ProjectOut"
        ]
    );
    let user = app.register_user().await;
    let offset = json(app.authed(Method::GET, "/api/v1/projects", &user).send().await.unwrap()).await;
    assert!(
        offset.get("pages").is_some() && offset.get("has_more").is_none(),
        "{offset}"
    );
    let cursor = json(
        app.authed(Method::GET, "/api/v1/projects?cursor=", &user)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        cursor.get("has_more").is_some() && cursor.get("pages").is_none(),
        "{cursor}"
    );
}

#[tokio::test]
async fn a_json_body_that_is_an_array_is_422_not_read_as_a_struct() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register_user().await;
    // serde reads a struct from a sequence; the API's bodies are objects.
    let res = app
        .authed(Method::PATCH, &format!("/api/v1/admin/users/{}", user.id), &admin)
        .json(&json!([false, false]))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["loc"], json!(["body"]));
    let me = json(app.authed(Method::GET, "/api/v1/users/me", &user).send().await.unwrap()).await;
    assert_eq!(me["is_active"], true);
    let res = app
        .post_json("/api/v1/auth/login", &json!(["a@example.com", "password"]))
        .await;
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn a_json_null_optional_body_is_no_body() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &user)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["revoked_count"], 0);
}

#[tokio::test]
async fn anonymous_operations_say_so_and_optional_sign_in_lists_both() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(doc["paths"]["/api/v1/auth/login"]["post"]["security"], json!([]));
    assert_eq!(
        doc["paths"]["/api/v1/projects"]["get"]["security"],
        json!([{"bearer": []}])
    );
    // A ticket may be filed anonymously or signed in (then a bad token is 401).
    assert_eq!(
        doc["paths"]["/api/v1/support/tickets"]["post"]["security"],
        json!([{}, {"bearer": []}])
    );
    let res = app
        .post_json(
            "/api/v1/support/tickets",
            &json!({"subject": "s", "message": "m", "email": "a@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .request(Method::POST, "/api/v1/support/tickets")
        .bearer_auth("not-a-token")
        .json(&json!({"subject": "s", "message": "m", "email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn an_optional_json_body_of_whitespace_is_malformed_json_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let other = app.login(&user.email, &user.password).await;
    assert_eq!(other.status(), 200);
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &user)
        .header("content-type", "application/json")
        .body("\r\n")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;
    let sessions = json(
        app.authed(Method::GET, "/api/v1/auth/sessions", &user)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        sessions["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["revoked_at"].is_null()),
        "{sessions}"
    );
    // No bytes at all is still no body.
    let res = app
        .authed(Method::POST, "/api/v1/auth/sessions/revoke-others", &user)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["revoked_count"], 1);
}
