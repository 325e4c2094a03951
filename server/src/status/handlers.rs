//! Handlers of `/status`.

use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::json;

use super::{
    model::*,
    store::{self, EventRow},
};
use crate::auth::AdminUser;
use crate::{
    db::{
        Tx, now,
        query::{Arg, Filter},
    },
    error::{ApiError, ApiResult, FieldError, Problem},
    http::{
        conditional::json_with_etag,
        extract::{ApiPath, ApiQuery},
        idempotency::Write,
        list::{CREATED_AT, ListPage, Sort, SortField},
    },
    resource::{self, Create},
    state::AppState,
};

const SORTS: &[SortField] = &[CREATED_AT];

fn service_error(loc: &[&str]) -> FieldError {
    FieldError::new(loc, "must match ^[a-z0-9][a-z0-9_-]{0,63}$", "pattern")
}

/// Post a status event (administrators).
#[utoipa::path(post, path = "/status/events", tag = "status", request_body = CreateEvent,
    params(("Idempotency-Key" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 201, description = "Created", body = StatusEventOut),
        (status = 200, description = "Idempotent replay", body = StatusEventOut),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn create_event(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    write: Write<CreateEvent>,
) -> ApiResult<Response> {
    let body = write.body;
    let mut errors = Vec::new();
    let service_id = body.service_id.trim().to_string();
    if !valid_service_id(&service_id) {
        errors.push(service_error(&["body", "service_id"]));
    }
    let status = STATUS
        .validate(&body.status, &["body", "status"])
        .map_err(|e| errors.push(e));
    let description = body
        .description
        .as_deref()
        .and_then(|d| DESCRIPTION.check(d, &mut errors));
    let (Ok(status), true) = (status, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let description = description.filter(|d| !d.is_empty());
    let how = Create::new("status_event.create", Some(admin.user.id))
        .meta(json!({"service_id": service_id, "status": status}))
        .location(format!("/api/v1/status/services/{service_id}"));
    resource::create(&state, write.keyed, how, async |tx: &mut Tx| {
        store::insert_event(tx, &service_id, &status, description.as_deref(), now()).await
    })
    .await
}

/// Status events, newest first. Public.
#[utoipa::path(get, path = "/status/events", tag = "status", params(EventListQuery),
    responses((status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<StatusEventOut>),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list_events(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<EventListQuery>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    if q.service_id.as_deref().is_some_and(|s| !valid_service_id(s)) {
        errors.push(service_error(&["query", "service_id"]));
    }
    if q.status.as_deref().is_some_and(|s| !STATUS.allows(s)) {
        errors.push(STATUS.error(&["query", "status"]));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let sort = Sort::parse(None, SORTS, "-created_at")?;
    let mut filter = Filter::new();
    if let Some(s) = &q.service_id {
        filter.cond("service_id = {}", vec![Arg::Text(s.clone())]);
    }
    if let Some(s) = &q.status {
        filter.cond("status = {}", vec![Arg::Text(s.clone())]);
    }
    resource::list::<EventRow>(&state, (&headers, &uri), None, sort, filter, &q.params()).await
}

/// The status page: the overall status and each service's latest state. Public.
#[utoipa::path(get, path = "/status", tag = "status",
    responses((status = 200, description = "The status page, with `ETag`", body = StatusPageOut),
        (status = 304, description = "Not modified")))]
pub async fn status_page(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let services: Vec<ServiceStatusOut> = store::services(&state.db)
        .await?
        .iter()
        .map(ServiceStatusOut::from)
        .collect();
    let page = StatusPageOut {
        status: overall(&services),
        updated_at: services.iter().filter_map(|s| s.updated_at).max(),
        services,
    };
    Ok(json_with_etag(&headers, StatusCode::OK, &page))
}

/// One service's latest state. A valid id with no events is `unknown`; an invalid id is 404.
#[utoipa::path(get, path = "/status/services/{service_id}", tag = "status", params(("service_id" = String, Path)),
    responses((status = 200, description = "The service's state, with `ETag`", body = ServiceStatusOut),
        (status = 304, description = "Not modified"),
        (status = 404, description = "Not a valid service id", body = Problem)))]
pub async fn service_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(service_id): ApiPath<String>,
) -> ApiResult<Response> {
    if !valid_service_id(&service_id) {
        return Err(ApiError::not_found("service"));
    }
    let out = match store::service(&state.db, &service_id).await? {
        Some(row) => ServiceStatusOut::from(&row),
        None => ServiceStatusOut {
            service_id,
            status: "unknown".into(),
            description: None,
            updated_at: None,
        },
    };
    Ok(json_with_etag(&headers, StatusCode::OK, &out))
}
