//! Request metrics: `http_requests_total{method,route,status}`, `http_request_duration_seconds{method,route}`,
//! `http_4xx_responses_total` and `http_5xx_responses_total`. `route` is the matched route template, or
//! `<unmatched>`, so label cardinality stays bounded; the probes and `/metrics` are not counted.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

pub const UNMATCHED: &str = "<unmatched>";

pub async fn http_metrics(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/health" | "/ready" | "/metrics") {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.as_u16().to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(elapsed);
    if status.is_client_error() {
        metrics::counter!("http_4xx_responses_total", "method" => method, "route" => route).increment(1);
    } else if status.is_server_error() {
        metrics::counter!("http_5xx_responses_total", "method" => method, "route" => route).increment(1);
    }
    res
}
