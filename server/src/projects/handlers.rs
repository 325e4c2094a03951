//! Handlers of `/projects`.

use axum::{
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};
use uuid::Uuid;

use super::{
    model::{CreateProject, DESCRIPTION, NAME, ProjectListQuery, ProjectOut, UpdateProject},
    store::{self, ProjectRow},
};
use crate::auth::AuthUser;
use crate::{
    db::{
        Tx, now,
        query::{Arg, Filter, Quota},
    },
    error::{ApiError, ApiResult, Problem},
    http::{
        extract::{ApiPath, ApiQuery},
        idempotency::{Write, WriteNoBody},
        list::{CREATED_AT, ListPage, Sort, SortField, SortKind, UPDATED_AT},
    },
    resource::{self, Access, Create, Item},
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

/// Private to the owner (and administrators): anyone else gets 404, never 403.
fn access(auth: &AuthUser, p: &ProjectRow) -> Access {
    Access::hidden_unless(p.owner_id == auth.user.id || auth.user.is_admin)
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
    let mut filter = Filter::new();
    filter.cond("owner_id = {}", vec![Arg::Uuid(owner)]);
    if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        filter.search(&["name"], s);
    }
    let caller = Some(auth.user.id);
    resource::list::<ProjectRow>(&state, (&headers, &uri), caller, sort, filter, &q.params()).await
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
    let name = NAME.check(&body.name, &mut errors);
    let description = body.description.as_deref().map(|d| DESCRIPTION.check(d, &mut errors));
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let description = description.flatten();
    let max = state.settings.content.max_projects_per_user as i64;
    let how = Create::new("project.create", Some(auth.user.id)).limit(Quota::Projects, max, "projects");
    resource::create(&state, write.keyed, how, async |tx: &mut Tx| {
        store::insert(tx, auth.user.id, &name, description.as_deref(), now()).await
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
    let item = Item::new(&state, &headers, id);
    item.get(|p| access(&auth, p)).await
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
    let mut errors = Vec::new();
    let name = NAME.required(&write.body.name, &mut errors);
    let description = DESCRIPTION.nullable(&write.body.description, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let item = Item::new(&state, &headers, id);
    let audit = ("project.update", auth.user.id);
    item.update(
        write.keyed,
        audit,
        |p| access(&auth, p),
        async |tx: &mut Tx, row: &ProjectRow, ch| {
            let name = ch.set("name", &row.name, name.as_ref());
            let description = ch.set("description", &row.description, description.as_ref());
            Ok(store::update(tx, id, &name, description.as_deref(), now()).await?)
        },
    )
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
    let item = Item::new(&state, &headers, id);
    item.delete(write.keyed, ("project.delete", auth.user.id), |p| access(&auth, p))
        .await
}
