//! `GET /admin/audit-logs`: the audit log for administrators, newest first, with filters.

use axum::{
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::{
    db::query::{Arg, Filter, like_pattern},
    error::{ApiError, ApiResult, FieldError, Problem},
    http::{
        extract::ApiQuery,
        list::{self, CREATED_AT, ListPage, ListParams, ListRow, Sort, SortField, SortValue},
    },
    state::AppState,
};

const SORTS: &[SortField] = &[CREATED_AT];
const COLUMNS: &str =
    "SELECT id, actor_id, action, resource_type, resource_id, ip, request_id, metadata, created_at FROM audit_log";

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    resource_type: Option<String>,
    resource_id: Option<Uuid>,
    ip: Option<String>,
    request_id: Option<String>,
    metadata: sqlx::types::Json<serde_json::Value>,
    created_at: DateTime<Utc>,
}

impl ListRow for AuditRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, _name: &str) -> SortValue {
        SortValue::Time(self.created_at)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogOut {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    /// The client network: `/24` for IPv4, `/48` for IPv6.
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<&AuditRow> for AuditLogOut {
    fn from(r: &AuditRow) -> Self {
        AuditLogOut {
            id: r.id,
            actor_id: r.actor_id,
            action: r.action.clone(),
            resource_type: r.resource_type.clone(),
            resource_id: r.resource_id,
            ip: r.ip.clone(),
            request_id: r.request_id.clone(),
            metadata: r.metadata.0.clone(),
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor_id: Option<Uuid>,
    /// Exact action, e.g. `auth.login`.
    pub action: Option<String>,
    /// Actions starting with this, e.g. `auth.`.
    pub action_prefix: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    /// RFC 3339; entries at or after.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339; entries before.
    #[param(format = DateTime)]
    pub until: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

fn parse_time(raw: Option<&str>, name: &str, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errors.push(FieldError::new(
                &["query", name],
                "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z",
                "datetime",
            ));
            None
        }
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/admin/audit-logs", tag = "admin", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<AuditLogOut>),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 422, description = "Bad parameters (dates included)", body = Problem)))]
pub async fn list_audit_logs(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let since = parse_time(q.since.as_deref(), "since", &mut errors);
    let until = parse_time(q.until.as_deref(), "until", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let sort = Sort::parse(None, SORTS, "-created_at")?;
    let mut filter = Filter::new();
    if let Some(a) = q.actor_id {
        filter.cond("actor_id = {}", vec![Arg::Uuid(a)]);
    }
    if let Some(a) = &q.action {
        filter.cond("action = {}", vec![Arg::Text(a.clone())]);
    }
    if let Some(p) = q.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        // like_pattern wraps in %…%; a prefix wants only the trailing %.
        let pattern = format!("{}%", like_pattern(p).trim_start_matches('%').trim_end_matches('%'));
        filter.cond("action LIKE {} ESCAPE '\\'", vec![Arg::Text(pattern)]);
    }
    if let Some(t) = &q.resource_type {
        filter.cond("resource_type = {}", vec![Arg::Text(t.clone())]);
    }
    if let Some(r) = q.resource_id {
        filter.cond("resource_id = {}", vec![Arg::Uuid(r)]);
    }
    if let Some(t) = since {
        filter.cond("created_at >= {}", vec![Arg::Time(t)]);
    }
    if let Some(t) = until {
        filter.cond("created_at < {}", vec![Arg::Time(t)]);
    }
    let scope = format!(
        "audit|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        admin.user.id, q.actor_id, q.action, q.action_prefix, q.resource_type, q.resource_id, since, until
    );
    let params = ListParams {
        page: q.page,
        page_size: q.page_size,
        cursor: q.cursor.clone(),
        include_total: q.include_total,
    };
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &params)?;
    let fetched = listing
        .fetch::<AuditRow>(&state.db, COLUMNS, "audit_log", filter)
        .await?;
    Ok(listing.respond(&headers, &uri, fetched, |r| AuditLogOut::from(r)))
}
