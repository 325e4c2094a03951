//! Turns every error response that is not JSON already (axum's 404/405, the body-limit
//! 413, the timeout 504, …) into one, keeping its status and headers such as `Allow`.

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::{ApiError, PROBLEM_JSON};

pub async fn problem_normalizer(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if !(res.status().is_client_error() || res.status().is_server_error()) {
        return res;
    }
    // A JSON error body was made on purpose (a problem, or `/ready`'s 503 document): keep it.
    let is_json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(PROBLEM_JSON.as_bytes()) || v.starts_with(b"application/json")
    });
    if is_json {
        return res;
    }
    let (parts, _body) = res.into_parts();
    let status = parts.status;
    let problem = ApiError::for_status(status).into_response();
    let (problem_parts, body) = problem.into_parts();
    let mut out = Response::from_parts(parts, Body::empty());
    *out.body_mut() = body;
    let h = out.headers_mut();
    h.remove(header::CONTENT_LENGTH);
    h.remove(header::CONTENT_ENCODING);
    for (name, value) in problem_parts.headers.iter() {
        h.insert(name.clone(), value.clone());
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    out
}
