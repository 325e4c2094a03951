//! The always-on security headers of spec §8 (and the production-only ones), on every response.

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::state::AppState;

/// The enforced Content-Security-Policy. Swagger UI (at `/docs`) sets inline styles and uses data:
/// images; nothing needs `unsafe-eval` or a remote origin.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY);
    if state.settings.environment.is_production() {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
        set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
        set(h, HeaderName::from_static("cross-origin-resource-policy"), "same-site");
    }
    h.remove(header::SERVER);
    res
}
