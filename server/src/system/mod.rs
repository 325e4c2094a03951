//! Probes (`/health`, `/ready`) and the public client configuration (`/api/v1/config`).

mod handlers;

pub use handlers::{health, is_ready, ready};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// Routes under `/api/v1`.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::client_config))
}

/// Probe routes at the root (not under the API prefix, not rate limited, not counted in metrics).
pub fn probe_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::health))
        .routes(routes!(handlers::ready))
}
