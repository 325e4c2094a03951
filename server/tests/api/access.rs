//! The access-control matrix, generated from the router's own route list (the OpenAPI document is built
//! from it): every route must have a row here, so a new route without a decision fails this test.
//! Per-resource tests check owner / other user / admin in depth; this one checks the gate of every route.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::support::{TestApp, json};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Gate {
    /// Anyone may call it: an anonymous request is never 401/403.
    Public,
    /// A signed-in user: anonymous → 401 `not_authenticated`.
    User,
    /// An administrator: anonymous → 401, a signed-in non-admin → 403 `forbidden`.
    Admin,
}

const MATRIX: &[(&str, &str, Gate)] = &[
    ("GET", "/health", Gate::Public),
    ("GET", "/ready", Gate::Public),
    ("GET", "/metrics", Gate::Public),
    ("POST", "/api/v1/security/csp-report", Gate::Public),
    ("GET", "/api/v1/config", Gate::Public),
    ("POST", "/api/v1/auth/register", Gate::Public),
    ("POST", "/api/v1/auth/token", Gate::Public),
    ("POST", "/api/v1/auth/login", Gate::Public),
    ("POST", "/api/v1/auth/refresh", Gate::Public),
    ("POST", "/api/v1/auth/logout", Gate::User),
    ("POST", "/api/v1/auth/logout-all", Gate::User),
    ("GET", "/api/v1/auth/sessions", Gate::User),
    ("PATCH", "/api/v1/auth/sessions/{id}", Gate::User),
    ("POST", "/api/v1/auth/sessions/{id}/revoke", Gate::User),
    ("POST", "/api/v1/auth/sessions/revoke-others", Gate::User),
    ("POST", "/api/v1/auth/verify-email", Gate::Public),
    ("POST", "/api/v1/auth/verify-email/resend", Gate::Public),
    ("POST", "/api/v1/auth/password-reset", Gate::Public),
    ("POST", "/api/v1/auth/password-reset/confirm", Gate::Public),
    ("POST", "/api/v1/auth/2fa/setup", Gate::User),
    ("POST", "/api/v1/auth/2fa/enable", Gate::User),
    ("POST", "/api/v1/auth/2fa/disable", Gate::User),
    ("GET", "/api/v1/users/me", Gate::User),
    ("PATCH", "/api/v1/users/me", Gate::User),
    ("DELETE", "/api/v1/users/me", Gate::User),
    ("POST", "/api/v1/users/me/password", Gate::User),
    ("GET", "/api/v1/admin/users", Gate::Admin),
    ("PATCH", "/api/v1/admin/users/{id}", Gate::Admin),
    ("GET", "/api/v1/admin/audit-logs", Gate::Admin),
    ("GET", "/api/v1/admin/jobs", Gate::Admin),
    ("GET", "/api/v1/admin/jobs/{id}", Gate::Admin),
    ("POST", "/api/v1/admin/jobs/{id}/retry", Gate::Admin),
    ("DELETE", "/api/v1/admin/jobs/{id}", Gate::Admin),
    ("GET", "/api/v1/projects", Gate::User),
    ("POST", "/api/v1/projects", Gate::User),
    ("GET", "/api/v1/projects/{id}", Gate::User),
    ("PATCH", "/api/v1/projects/{id}", Gate::User),
    ("DELETE", "/api/v1/projects/{id}", Gate::User),
    ("GET", "/api/v1/support/tickets", Gate::User),
    ("POST", "/api/v1/support/tickets", Gate::Public),
    ("GET", "/api/v1/support/tickets/{id}", Gate::User),
    ("PATCH", "/api/v1/support/tickets/{id}", Gate::User),
    ("GET", "/api/v1/community/posts", Gate::Public),
    ("POST", "/api/v1/community/posts", Gate::User),
    ("GET", "/api/v1/community/posts/{id}", Gate::Public),
    ("PATCH", "/api/v1/community/posts/{id}", Gate::User),
    ("DELETE", "/api/v1/community/posts/{id}", Gate::User),
    ("POST", "/api/v1/status/events", Gate::Admin),
    ("GET", "/api/v1/status/events", Gate::Public),
    ("GET", "/api/v1/status", Gate::Public),
    ("GET", "/api/v1/status/services/{service_id}", Gate::Public),
    // new-resource: access rows (`make new-resource` adds the rows of a generated resource above)
];

fn routes_of_the_router() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(neoforge::openapi::document()).unwrap();
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_has_a_row_and_its_gate_holds() {
    let in_matrix: BTreeSet<(String, String)> = MATRIX.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let routes = routes_of_the_router();
    let missing: Vec<_> = routes.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&routes).collect();
    assert!(missing.is_empty(), "routes without an access decision: {missing:?}");
    assert!(stale.is_empty(), "rows for routes that no longer exist: {stale:?}");

    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    for (method, template, gate) in MATRIX {
        let path = template
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{service_id}", "api");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        // A fresh session for every route: earlier rows (logout, logout-all) end sessions.
        let user = crate::support::TestUser::from_token_response(
            &user.email,
            &user.password,
            json(app.login(&user.email, &user.password).await).await,
        );
        let with_body = |req: reqwest::RequestBuilder| {
            if method == Method::GET {
                req
            } else {
                req.json(&json!({}))
            }
        };
        let anon = with_body(app.request(method.clone(), &path)).send().await.unwrap();
        let status = anon.status().as_u16();
        match gate {
            Gate::Public => {
                // A public route may refuse bad input (even 401 `invalid_refresh_token`), never the caller.
                let code = anon
                    .json::<serde_json::Value>()
                    .await
                    .map(|b| b["code"].clone())
                    .unwrap_or_default();
                assert!(
                    code != "not_authenticated" && code != "forbidden" && status < 500,
                    "{method} {path}: anonymous got {status} {code}"
                );
            }
            Gate::User | Gate::Admin => {
                assert_eq!(status, 401, "{method} {path}: anonymous");
                assert_eq!(json(anon).await["code"], "not_authenticated");
            }
        }
        if *gate == Gate::Admin {
            let res = with_body(app.authed(method.clone(), &path, &user))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{method} {path}: a non-admin");
            assert_eq!(json(res).await["code"], "forbidden");
        }
        if *gate == Gate::User {
            let res = with_body(app.authed(method.clone(), &path, &user))
                .send()
                .await
                .unwrap();
            let s = res.status().as_u16();
            let code = res
                .json::<serde_json::Value>()
                .await
                .map(|b| b["code"].clone())
                .unwrap_or_default();
            assert!(
                code != "not_authenticated" && code != "invalid_token" && s < 500,
                "{method} {path}: a signed-in user got {s} {code}"
            );
        }
    }
}

/// The schemas a request body may take (following `$ref`s and `oneOf`/`anyOf`).
fn body_schemas<'a>(doc: &'a serde_json::Value, schema: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        body_schemas(doc, &doc["components"]["schemas"][name], out);
        return;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            body_schemas(doc, s, out);
        }
    }
    out.push(schema);
}

/// Cookie mode is same-origin only (spec §1.3). The routes are found in the router's own document: every
/// operation whose body takes `refresh_in`, plus logout (which reads the `nf_refresh` cookie). Each one
/// documents 403 and refuses a cross-site request with `csrf_rejected`.
#[tokio::test]
async fn every_cookie_mode_route_refuses_cross_site_requests() {
    let doc = serde_json::to_value(neoforge::openapi::document()).unwrap();
    let mut cookie_routes: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for media in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flat_map(|c| c.values())
            {
                let mut schemas = Vec::new();
                body_schemas(&doc, &media["schema"], &mut schemas);
                if schemas.iter().any(|s| s["properties"].get("refresh_in").is_some()) {
                    cookie_routes.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    cookie_routes.insert(("POST".into(), "/api/v1/auth/logout".into()));
    let expected: BTreeSet<(String, String)> = ["register", "token", "login", "refresh", "logout"]
        .iter()
        .map(|r| ("POST".to_string(), format!("/api/v1/auth/{r}")))
        .collect();
    assert_eq!(cookie_routes, expected, "routes in cookie mode");
    for (method, path) in &cookie_routes {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op["responses"]["403"].is_object(), "{method} {path} documents its 403");
    }

    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": user.email, "password": user.password, "refresh_in": "cookie"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("nf_refresh="))
        .unwrap();
    let access = json(res).await["access_token"].as_str().unwrap().to_string();
    for (_, path) in &cookie_routes {
        let req = app.request(Method::POST, path).header("origin", "https://evil.example");
        let req = match path.rsplit('/').next().unwrap() {
            "register" => req.json(&json!({"email": "new@example.com", "password": user.password,
                "full_name": "N", "refresh_in": "cookie"})),
            "token" => req.form(&[
                ("username", user.email.as_str()),
                ("password", user.password.as_str()),
                ("refresh_in", "cookie"),
            ]),
            "login" => req.json(&json!({"email": user.email, "password": user.password, "refresh_in": "cookie"})),
            "refresh" => req.header("cookie", &cookie),
            "logout" => req.header("cookie", &cookie).bearer_auth(&access),
            other => panic!("no request for {other}"),
        };
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(json(res).await["code"], "csrf_rejected", "{path}");
    }
}

/// Every API operation is rate limited (spec §6), so every one documents its 429 with `Retry-After`.
#[test]
fn every_api_operation_documents_its_429() {
    let doc = serde_json::to_value(neoforge::openapi::document()).unwrap();
    for (method, path) in routes_of_the_router() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let mut res = &doc["paths"][&path][method.to_lowercase()]["responses"]["429"];
        assert!(res.is_object(), "{method} {path} documents 429");
        // Shared answers are `$ref`s into `components.responses`.
        if let Some(r) = res["$ref"].as_str() {
            res = &doc["components"]["responses"][r.trim_start_matches("#/components/responses/")];
        }
        assert!(
            res["headers"]["Retry-After"].is_object(),
            "{method} {path}: Retry-After"
        );
    }
}
