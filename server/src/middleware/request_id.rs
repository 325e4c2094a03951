//! Outermost layer: gives every request an `X-Request-ID` and `X-Trace-Id` (spec §10), opens the
//! request's tracing span with both, and stamps both on every response, whatever made it.

use std::sync::Arc;

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use crate::http::client_ip;
use crate::http::context::{self, RequestContext, is_sane_request_id, new_trace_id, trace_id_from_traceparent};
use crate::{otel, state::AppState};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub static X_TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");

pub async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| context::random_uuid().to_string());
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        method = %req.method(),
        path = %req.uri().path(),
        route = route.as_deref().unwrap_or(""),
        http.response.status_code = tracing::field::Empty,
    );
    // With export on, the request's span continues the caller's trace (W3C traceparent), and
    // X-Trace-Id is the id the collector shows; without it, the id comes from traceparent or is new.
    let mut exported_trace_id = None;
    if otel::enabled() {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        span.record(
            "otel.name",
            format!("{} {}", req.method(), route.as_deref().unwrap_or("<unmatched>")),
        );
        if let Some(parent) = otel::remote_parent(req.headers()) {
            let _ = span.set_parent(parent);
        }
        exported_trace_id = otel::trace_id_of(&span);
    }
    let trace_id = exported_trace_id
        .or_else(|| {
            req.headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(trace_id_from_traceparent)
        })
        .unwrap_or_else(new_trace_id);
    span.record("trace_id", trace_id.as_str());
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let ctx = RequestContext {
        request_id: Arc::from(request_id.as_str()),
        trace_id: Arc::from(trace_id.as_str()),
        client_ip: client_ip::resolve(peer, req.headers(), &state.settings.server.trusted_proxies),
    };
    req.extensions_mut().insert(ctx.clone());

    let started = std::time::Instant::now();
    let request_span = span.clone();
    let mut res = context::scope(ctx, async move {
        let res = next.run(req).await;
        request_span.record("http.response.status_code", i64::from(res.status().as_u16()));
        if res.status().is_server_error() {
            request_span.record("otel.status_code", "ERROR");
        }
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
        res
    })
    .instrument(span)
    .await;

    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        h.insert(X_TRACE_ID.clone(), v);
    }
    res
}
