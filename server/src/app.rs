//! The router and the middleware stack, in order, in one place.
//!
//! Outermost first: request id + trace id → security headers → catch panic → problem normaliser →
//! cache headers → CORS → metrics → timeout → threat guard → rate limit → compression → body limit → router
//! (the rate limiter caps the few bodies it reads itself, so the body limit can sit next to the routes). Security headers sit outside catch-panic (one
//! step earlier than DESIGN.md's list) so that a panic's 500 carries them too: every response, including
//! ones made by an inner layer (413, 504, 500), passes back through the header layers.

use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    assets,
    error::ApiError,
    http::{cache::cache_headers, normalize::problem_normalizer},
    middleware::{
        http_metrics::http_metrics,
        rate_limit::rate_limit,
        request_id::request_context,
        security_headers::{SecurityHeaders, security_headers},
        threat_guard::threat_guard,
    },
    openapi::ApiDoc,
    state::AppState,
    system,
};

pub const API_PREFIX: &str = "/api/v1";

/// Every documented route: the API under `/api/v1` and the probes at the root.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            API_PREFIX,
            system::api_router()
                .merge(crate::auth::router())
                .merge(crate::projects::router())
                .merge(crate::support::router())
                .merge(crate::community::router())
                .merge(crate::status::router())
                .merge(crate::audit::router())
                .merge(crate::jobs::admin::router())
                // new-resource: routers (`make new-resource` adds `.merge(crate::<names>::router())` above)
                .merge(crate::security::router()),
        )
        .merge(system::probe_router())
        .merge(crate::metrics::router())
}

/// The complete application for `state`.
pub fn build(state: AppState) -> Router {
    crate::metrics::install();
    let (router, openapi) = api_routes().split_for_parts();
    let openapi = crate::openapi::finish(openapi);
    let swagger = SwaggerUi::new("/docs/").url("/api/v1/openapi.json", openapi).config(
        utoipa_swagger_ui::Config::default()
            .validator_url("none")
            .persist_authorization(false),
    );
    let router = router
        .merge(swagger)
        .fallback(assets::fallback)
        .with_state(state.clone());
    with_middleware(router, &state)
}

/// Wraps `router` in the whole middleware stack (tests use it to put extra routes behind the same stack).
///
/// The layers are composed into one service first and given to the router in a single `layer` call, so
/// each route holds one boxed stack of concrete layers. Layered one by one, every layer re-boxed the
/// route, and each middleware's per-request clone of its inner service cloned all the boxes below it:
/// ~60 allocations and frees a request before any handler ran.
pub fn with_middleware(router: Router, state: &AppState) -> Router {
    let settings = &state.settings;
    let stack = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), request_context))
        .layer(from_fn_with_state(SecurityHeaders::new(settings), security_headers))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(problem_normalizer))
        .layer(from_fn_with_state(state.clone(), cache_headers))
        .layer(cors(&settings.security.cors_origins))
        .layer(from_fn(http_metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            settings.server.request_timeout,
        ))
        .layer(from_fn_with_state(state.clone(), threat_guard))
        .layer(from_fn_with_state(state.clone(), rate_limit))
        .layer(CompressionLayer::new().gzip(true));
    // Innermost, beside the stack: the body limit (the rate limiter caps the bodies it reads itself), and
    // turning axum's own default limit off so that extractors follow it.
    router
        .layer(RequestBodyLimitLayer::new(settings.server.max_body_bytes))
        .layer(DefaultBodyLimit::disable())
        .layer(stack)
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}

/// Exact-match origin allow-list with credentials; never `*`.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter(|o| o.as_str() != "*")
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let h = |names: &[&'static str]| names.iter().map(|n| HeaderName::from_static(n)).collect::<Vec<_>>();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers({
            let mut v = vec![
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
            ];
            v.extend(h(&["idempotency-key", "x-request-id", "x-device-name"]));
            v
        })
        .expose_headers({
            let mut v = vec![header::ETAG, header::LOCATION, header::LINK, header::RETRY_AFTER];
            v.extend(h(&[
                "x-request-id",
                "x-trace-id",
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
                "ratelimit",
                "ratelimit-policy",
                "idempotent-replayed",
                "idempotent-body-omitted",
            ]));
            v
        })
        .max_age(Duration::from_secs(600))
}
