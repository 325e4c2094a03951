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
use crate::state::AppState;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub static X_TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");

pub async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let trace_id = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id_from_traceparent)
        .unwrap_or_else(new_trace_id);
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let ctx = RequestContext {
        request_id: Arc::from(request_id.as_str()),
        trace_id: Arc::from(trace_id.as_str()),
        client_ip: client_ip::resolve(peer, req.headers(), &state.settings.trusted_proxies),
    };
    req.extensions_mut().insert(ctx.clone());

    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = %trace_id,
        method = %req.method(),
        path = %req.uri().path(),
        route = route.as_deref().unwrap_or(""),
    );
    let started = std::time::Instant::now();
    let mut res = context::scope(ctx, async move {
        let res = next.run(req).await;
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
