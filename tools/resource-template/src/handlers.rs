//! Handlers of `/__path__`.

use axum::{
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};
use uuid::Uuid;

use super::{
    model::{__Name__ListQuery, __Name__Out, Create__Name__, DESCRIPTION, NAME, Update__Name__},
    store::{self, __Name__Row},
};
use crate::{
    auth::AuthUser,
    db::{
        Tx, now,
        query::{Arg, Filter},
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
fn access(auth: &AuthUser, row: &__Name__Row) -> Access {
    Access::hidden_unless(row.owner_id == auth.user.id || auth.user.is_admin)
}

/// The caller's __names__ (administrators: `owner_id` for another user's).
#[utoipa::path(get, path = "/__path__", tag = "__names__", params(__Name__ListQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<__Name__Out>),
        (status = 304, description = "Not modified"),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list___names__(
    State(state): State<AppState>,
    auth: AuthUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<__Name__ListQuery>,
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
    resource::list::<__Name__Row>(&state, (&headers, &uri), caller, sort, filter, &q.params()).await
}

/// Create a __name__.
#[utoipa::path(post, path = "/__path__", tag = "__names__", request_body = Create__Name__, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the create safe to retry")),
    responses(
        (status = 201, description = "Created; `Location` and `ETag` set", body = __Name__Out),
        (status = 200, description = "Idempotent replay (`Idempotent-Replayed: true`)", body = __Name__Out),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 409, description = "idempotency_in_progress", body = Problem),
        (status = 422, description = "Invalid input or idempotency_key_reused", body = Problem)))]
pub async fn create___name__(
    State(state): State<AppState>,
    auth: AuthUser,
    write: Write<Create__Name__>,
) -> ApiResult<Response> {
    let body = write.body;
    let mut errors = Vec::new();
    let name = NAME.check(&body.name, &mut errors);
    let description = body.description.as_deref().map(|d| DESCRIPTION.check(d, &mut errors));
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let description = description.flatten();
    // No quota: add `.limit(Quota::…, max, "__names__")` (and a `quota_usage` trigger) to have one.
    let how = Create::new("__name__.create", Some(auth.user.id));
    resource::create(&state, write.keyed, how, async |tx: &mut Tx| {
        store::insert(tx, auth.user.id, &name, description.as_deref(), now()).await
    })
    .await
}

/// One __name__.
#[utoipa::path(get, path = "/__path__/{id}", tag = "__names__", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The __name__, with `ETag`", body = __Name__Out),
        (status = 304, description = "Not modified"),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 404, description = "No such __name__ (or not yours)", body = Problem)))]
pub async fn get___name__(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let item = Item::new(&state, &headers, id);
    item.get(|row| access(&auth, row)).await
}

/// Change a __name__. `If-Match` makes it conditional; `name: null` is refused, `description: null` clears.
#[utoipa::path(patch, path = "/__path__/{id}", tag = "__names__", request_body = Update__Name__,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "Updated, with the new `ETag`", body = __Name__Out),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 404, description = "No such __name__", body = Problem),
        (status = 412, description = "precondition_failed: changed since read", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn update___name__(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: Write<Update__Name__>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let name = NAME.required(&write.body.name, &mut errors);
    let description = DESCRIPTION.nullable(&write.body.description, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let item = Item::new(&state, &headers, id);
    let audit = ("__name__.update", auth.user.id);
    item.update(
        write.keyed,
        audit,
        |row| access(&auth, row),
        async |tx: &mut Tx, row: &__Name__Row, ch| {
            let name = ch.set("name", &row.name, name.as_ref());
            let description = ch.set("description", &row.description, description.as_ref());
            Ok(store::update(tx, id, &name, description.as_deref(), now()).await?)
        },
    )
    .await
}

/// Delete a __name__. `If-Match` makes it conditional.
#[utoipa::path(delete, path = "/__path__/{id}", tag = "__names__",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 404, description = "No such __name__", body = Problem),
        (status = 412, description = "precondition_failed", body = Problem)))]
pub async fn delete___name__(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: WriteNoBody,
) -> ApiResult<Response> {
    let item = Item::new(&state, &headers, id);
    item.delete(write.keyed, ("__name__.delete", auth.user.id), |row| access(&auth, row))
        .await
}
