//! Request metrics: `http_requests_total{method,route,status}`, `http_request_duration_seconds{method,route}`,
//! `http_4xx_responses_total` and `http_5xx_responses_total`. `route` is the matched route template, or
//! `<unmatched>`, and a method outside the standard ones is `_OTHER`, so label cardinality stays bounded;
//! the probes and `/metrics` are not counted.
//!
//! The handles of each (method, route, status) are looked up once and kept: building the labelled keys
//! and finding them in the registry on every request was a measurable part of the stack's cost.

use std::{
    collections::HashMap,
    sync::{LazyLock, RwLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::{Method, StatusCode},
    middleware::Next,
    response::Response,
};
use metrics::{Counter, Histogram};

pub const UNMATCHED: &str = "<unmatched>";

#[derive(Clone)]
struct Handles {
    requests: Counter,
    duration: Histogram,
    /// `http_4xx_responses_total` or `http_5xx_responses_total`, for error statuses.
    errors: Option<Counter>,
}

/// route → (method, status) → handles.
type Table = HashMap<String, HashMap<(&'static str, u16), Handles>>;

static HANDLES: LazyLock<RwLock<Table>> = LazyLock::new(Default::default);

/// The method label: the standard methods by name, anything else as `_OTHER` (any token is a valid
/// method, so raw names would let a client mint series).
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    STANDARD
        .iter()
        .find(|(m, _)| m == method)
        .map_or("_OTHER", |(_, name)| name)
}

fn handles(method: &'static str, route: &str, status: StatusCode) -> Handles {
    let key = (method, status.as_u16());
    if let Some(h) = HANDLES
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(route)
        .and_then(|by| by.get(&key))
    {
        return h.clone();
    }
    let route_label = route.to_string();
    let errors = if status.is_client_error() {
        Some(metrics::counter!("http_4xx_responses_total", "method" => method, "route" => route_label.clone()))
    } else if status.is_server_error() {
        Some(metrics::counter!("http_5xx_responses_total", "method" => method, "route" => route_label.clone()))
    } else {
        None
    };
    let h = Handles {
        requests: metrics::counter!("http_requests_total", "method" => method, "route" => route_label.clone(),
            "status" => status.as_u16().to_string()),
        duration: metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route_label),
        errors,
    };
    HANDLES
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(route.to_string())
        .or_default()
        .insert(key, h.clone());
    h
}

pub async fn http_metrics(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/health" | "/ready" | "/metrics") {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let started = Instant::now();
    let res = next.run(req).await;
    let h = handles(
        method,
        route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        res.status(),
    );
    h.requests.increment(1);
    h.duration.record(started.elapsed().as_secs_f64());
    if let Some(errors) = h.errors {
        errors.increment(1);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "_OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"X-RANDOM-1").unwrap()), "_OTHER");
    }
}
