//! The audit log: who did what, written in the same transaction as the change it records
//! (`record`), and read by administrators (`GET /admin/audit-logs`).

mod handlers;
mod record;

pub use record::{Entry, PRUNE_TASK, prune, record, record_within_quota, redact};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::list_audit_logs))
}
