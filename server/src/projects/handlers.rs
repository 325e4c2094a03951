//! Handlers of `/projects`.

use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    model::{CreateProject, Patch, ProjectListQuery, ProjectOut, UpdateProject},
    store::{self, ProjectRow},
};
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    auth::model::text_field,
    db::{
        Tx, now,
        query::{Arg, Filter, Quota, over_quota},
    },
    error::{ApiError, ApiResult, FieldError, Problem},
    http::{
        auth::AuthUser,
        conditional::{check_if_match, created, etag_for, json_with_etag, written},
        extract::{ApiPath, ApiQuery},
        idempotency::{self, Write, WriteNoBody},
        list::{self, CREATED_AT, ListPage, Sort, SortField, SortKind, UPDATED_AT},
    },
    state::AppState,
};

const SORTS: &[SortField] = &[
    CREATED_AT,
    UPDATED_AT,
    SortField {
        name: "name",
        column: "name",
        kind: SortKind::Text,
    },
];

fn not_found() -> ApiError {
    ApiError::not_found("project")
}

/// The project if the caller may see it (owner or admin); otherwise 404, never 403.
async fn visible(tx: &mut Tx, auth: &AuthUser, id: Uuid) -> ApiResult<ProjectRow> {
    store::get(tx, id)
        .await?
        .filter(|p| p.owner_id == auth.user.id || auth.user.is_admin)
        .ok_or_else(not_found)
}

fn description_field(raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    text_field(raw, &["body", "description"], 0, 5000)
        .map_err(|e| errors.push(e))
        .ok()
}

/// The caller's projects (administrators: `owner_id` for another user's).
#[utoipa::path(get, path = "/projects", tag = "projects", params(ProjectListQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<ProjectOut>),
        (status = 304, description = "Not modified"),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list_projects(
    State(state): State<AppState>,
    auth: AuthUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ProjectListQuery>,
) -> ApiResult<Response> {
    let owner = match q.owner_id {
        Some(other) if auth.user.is_admin => other,
        _ => auth.user.id,
    };
    let sort = Sort::parse(q.sort.as_deref(), SORTS, "-created_at")?;
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let scope = format!(
        "projects|{}|{owner}|{}|{}",
        auth.user.id,
        sort.as_str(),
        search.unwrap_or("")
    );
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &q.params())?;
    let mut filter = Filter::new();
    filter.cond("owner_id = {}", vec![Arg::Uuid(owner)]);
    if let Some(s) = search {
        filter.search(&["name"], s);
    }
    let fetched = listing
        .fetch::<ProjectRow>(&state.db, store::COLUMNS, "projects", filter)
        .await?;
    Ok(listing.respond(&headers, &uri, fetched, |r| ProjectOut::from(r)))
}

/// Create a project.
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = CreateProject, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the create safe to retry")),
    responses(
        (status = 201, description = "Created; `Location` and `ETag` set", body = ProjectOut),
        (status = 200, description = "Idempotent replay (`Idempotent-Replayed: true`)", body = ProjectOut),
        (status = 409, description = "quota_exceeded or idempotency_in_progress", body = Problem),
        (status = 422, description = "Invalid input or idempotency_key_reused", body = Problem)))]
pub async fn create_project(
    State(state): State<AppState>,
    auth: AuthUser,
    write: Write<CreateProject>,
) -> ApiResult<Response> {
    let body = write.body;
    let mut errors = Vec::new();
    let name = text_field(&body.name, &["body", "name"], 1, 200)
        .map_err(|e| errors.push(e))
        .ok();
    let description = body.description.as_deref().map(|d| description_field(d, &mut errors));
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let description = description.flatten();
    let max = state.settings.content.max_projects_per_user as i64;
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = store::insert(tx, auth.user.id, &name, description.as_deref(), now()).await?;
        if over_quota(tx, Quota::Projects, auth.user.id, max).await? {
            return Err(ApiError::conflict(
                Code::QuotaExceeded,
                format!("You can have at most {max} projects."),
            ));
        }
        audit::record(
            tx,
            Entry::new("project.create", Some(auth.user.id)).resource("project", row.id),
        )
        .await?;
        Ok(created(
            &ProjectOut::from(&row),
            &format!("/api/v1/projects/{}", row.id),
        ))
    })
    .await
}

/// One project.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The project, with `ETag`", body = ProjectOut),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such project (or not yours)", body = Problem)))]
pub async fn get_project(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let row = store::get_read(&state.db, id)
        .await?
        .filter(|p| p.owner_id == auth.user.id || auth.user.is_admin)
        .ok_or_else(not_found)?;
    Ok(json_with_etag(&headers, StatusCode::OK, &ProjectOut::from(&row)))
}

/// Change a project. `If-Match` makes it conditional; `name: null` is refused, `description: null` clears.
#[utoipa::path(patch, path = "/projects/{id}", tag = "projects", request_body = UpdateProject,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "Updated, with the new `ETag`", body = ProjectOut),
        (status = 404, description = "No such project", body = Problem),
        (status = 412, description = "precondition_failed: changed since read", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn update_project(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: Write<UpdateProject>,
) -> ApiResult<Response> {
    let body = write.body;
    let mut errors = Vec::new();
    let name = match &body.name {
        Patch::Absent => None,
        Patch::Null => {
            errors.push(FieldError::new(&["body", "name"], "must not be null", "null"));
            None
        }
        Patch::Value(v) => text_field(v, &["body", "name"], 1, 200)
            .map_err(|e| errors.push(e))
            .ok(),
    };
    let description = match &body.description {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(v) => description_field(v, &mut errors).map(Some),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = visible(tx, &auth, id).await?;
        check_if_match(&headers, &etag_for(&ProjectOut::from(&row)))?;
        let new_name = name.clone().unwrap_or_else(|| row.name.clone());
        let new_description = description.clone().unwrap_or_else(|| row.description.clone());
        let mut fields = Vec::new();
        if new_name != row.name {
            fields.push("name");
        }
        if new_description != row.description {
            fields.push("description");
        }
        let updated = store::update(tx, id, &new_name, new_description.as_deref(), now()).await?;
        audit::record(
            tx,
            Entry::new("project.update", Some(auth.user.id))
                .resource("project", id)
                .meta(json!({"fields": fields})),
        )
        .await?;
        Ok(written(&ProjectOut::from(&updated)))
    })
    .await
}

/// Delete a project. `If-Match` makes it conditional.
#[utoipa::path(delete, path = "/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such project", body = Problem),
        (status = 412, description = "precondition_failed", body = Problem)))]
pub async fn delete_project(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: WriteNoBody,
) -> ApiResult<Response> {
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = visible(tx, &auth, id).await?;
        check_if_match(&headers, &etag_for(&ProjectOut::from(&row)))?;
        store::delete(tx, id).await?;
        audit::record(
            tx,
            Entry::new("project.delete", Some(auth.user.id)).resource("project", id),
        )
        .await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}
