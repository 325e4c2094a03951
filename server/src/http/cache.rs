//! `Cache-Control` and `Vary` by the rules of spec §5, first match wins: responses that set their own
//! (errors and `/auth/*` → `no-store`, static assets) keep it; authenticated → `private, no-cache`;
//! anonymous GETs of community posts and the status page → `public, max-age=PUBLIC_MAX_AGE`.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::Response,
};

use crate::state::AppState;

pub async fn cache_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let path = req.uri().path().to_string();
    let public_read = matches!(*req.method(), Method::GET | Method::HEAD)
        && (path.starts_with("/api/v1/community/") || path == "/api/v1/status" || path.starts_with("/api/v1/status/"));
    let mut res = next.run(req).await;
    if !path.starts_with("/api/") {
        return res;
    }
    let h = res.headers_mut();
    // Every API answer may depend on who asks.
    h.append(header::VARY, HeaderValue::from_static("Authorization"));
    if h.contains_key(header::CACHE_CONTROL) {
        return res;
    }
    let value = if authenticated {
        "private, no-cache".to_string()
    } else if public_read {
        format!("public, max-age={}", state.settings.server.public_max_age.as_secs())
    } else {
        "no-cache".to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(header::CACHE_CONTROL, v);
    }
    res
}
