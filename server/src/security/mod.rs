//! Security reporting: the CSP violation report endpoint (spec §7). The headers that point browsers
//! at it are set in `middleware/security_headers.rs`.

pub mod handlers;
pub mod report;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// The endpoint's path, as the reporting headers name it.
pub const CSP_REPORT_PATH: &str = "/api/v1/security/csp-report";

/// Routes under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::csp_report))
}
