//! Handlers of the system room.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Serialize, ToSchema)]
pub struct HealthChecks {
    /// `ok` or `error`.
    pub database: &'static str,
    /// `ok`, `error` or `disabled` (no `REDIS_URL`).
    pub redis: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok`, or `degraded` when any check is `error`.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub checks: HealthChecks,
}

#[derive(Serialize, ToSchema)]
pub struct ReadyOut {
    /// `ready`, `not_ready` or `shutting_down`.
    pub status: &'static str,
    pub database: &'static str,
    pub redis: &'static str,
}

impl HealthChecks {
    /// What `/ready` requires: the database answers, and Redis too when it is configured.
    fn ready(&self) -> bool {
        self.database == "ok" && self.redis != "error"
    }
}

/// Whether `/ready` would answer 200 now (also exported as the `neoforge_ready` gauge).
pub async fn is_ready(state: &AppState) -> bool {
    !state.is_shutting_down() && checks(state).await.ready()
}

async fn checks(state: &AppState) -> HealthChecks {
    let redis = async {
        match &state.redis {
            None => "disabled",
            Some(r) if r.ping().await => "ok",
            Some(_) => "error",
        }
    };
    let database = async { if state.db.ping().await { "ok" } else { "error" } };
    let (database, redis) = tokio::join!(database, redis);
    HealthChecks { database, redis }
}

/// Liveness: 200 while the process serves, with the state of its dependencies.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, description = "The process is alive", body = HealthOut)))]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let checks = checks(&state).await;
    let degraded = checks.database == "error" || checks.redis == "error";
    let body = HealthOut {
        status: if degraded { "degraded" } else { "ok" },
        version: VERSION,
        uptime_seconds: state.started.elapsed().as_secs(),
        checks,
    };
    ([(axum::http::header::CACHE_CONTROL, "no-store")], Json(body))
}

/// Readiness: 200 when the database (and Redis, when configured) answers; 503 otherwise and as soon as
/// shutdown begins.
#[utoipa::path(get, path = "/ready", tag = "system",
    responses(
        (status = 200, description = "Ready to serve", body = ReadyOut),
        (status = 503, description = "Not ready, or shutting down", body = ReadyOut)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let checks = checks(&state).await;
    let ok = checks.ready();
    let status = if state.is_shutting_down() {
        "shutting_down"
    } else if ok {
        "ready"
    } else {
        "not_ready"
    };
    let code = if status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = ReadyOut {
        status,
        database: checks.database,
        redis: checks.redis,
    };
    (code, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(body))
}

#[derive(Serialize, ToSchema)]
pub struct FeaturesOut {
    pub registration: bool,
    pub totp: bool,
    pub community_requires_verified_email: bool,
}

/// What a client needs to know about this deployment. Never a secret.
#[derive(Serialize, ToSchema)]
pub struct ConfigOut {
    pub app_name: &'static str,
    pub version: &'static str,
    pub environment: &'static str,
    pub api_base_url: String,
    pub features: FeaturesOut,
    pub csp_reporting: bool,
}

/// Public client configuration.
#[utoipa::path(get, path = "/config", tag = "system",
    responses((status = 200, description = "Client configuration", body = ConfigOut)))]
pub async fn client_config(State(state): State<AppState>) -> Json<ConfigOut> {
    let s = &state.settings;
    Json(ConfigOut {
        app_name: "NeoForge",
        version: VERSION,
        environment: s.environment.as_str(),
        api_base_url: s.api_base_url(),
        features: FeaturesOut {
            registration: s.auth.registration_open,
            totp: true,
            community_requires_verified_email: s.content.community_require_verified,
        },
        csp_reporting: s.security.csp_reporting,
    })
}
