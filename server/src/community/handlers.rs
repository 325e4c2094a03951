//! Handlers of `/community/posts`.

use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use uuid::Uuid;

use super::{
    model::{CONTENT, CreatePost, PostListQuery, PostOut, TITLE, UpdatePost},
    store::{self, PostRow},
};
use crate::auth::AuthUser;
use crate::error::Code;
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
        name: "title",
        column: "title",
        kind: SortKind::Text,
    },
];

/// Posts, newest first. Public.
#[utoipa::path(get, path = "/community/posts", tag = "community", params(PostListQuery),
    responses(
        (status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<PostOut>),
        (status = 304, description = "Not modified"),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list_posts(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<PostListQuery>,
) -> ApiResult<Response> {
    let sort = Sort::parse(q.sort.as_deref(), SORTS, "-created_at")?;
    let mut filter = Filter::new();
    if let Some(author) = q.author_id {
        filter.cond("author_id = {}", vec![Arg::Uuid(author)]);
    }
    if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        filter.search(&["title", "content"], s);
    }
    // Public list: the cursor is bound to the list and its filters, not to a principal.
    resource::list::<PostRow>(&state, (&headers, &uri), None, sort, filter, &q.params()).await
}

/// Write a post (a verified email is required unless `COMMUNITY_REQUIRE_VERIFIED=false`).
#[utoipa::path(post, path = "/community/posts", tag = "community", request_body = CreatePost,
    params(("Idempotency-Key" = Option<String>, Header)), security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = PostOut),
        (status = 200, description = "Idempotent replay", body = PostOut),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "email_not_verified", body = Problem),
        (status = 409, description = "quota_exceeded (MAX_POSTS_PER_USER) or idempotency_in_progress", body = Problem),
        (status = 422, description = "Invalid input or idempotency_key_reused", body = Problem)))]
pub async fn create_post(
    State(state): State<AppState>,
    auth: AuthUser,
    write: Write<CreatePost>,
) -> ApiResult<Response> {
    if state.settings.content.community_require_verified && auth.user.email_verified_at.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Code::EmailNotVerified,
            "Verify your email address before posting.",
        ));
    }
    let mut errors = Vec::new();
    let title = TITLE.check(&write.body.title, &mut errors);
    let content = CONTENT.check(&write.body.content, &mut errors);
    let (Some(title), Some(content), true) = (title, content, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let max = i64::from(state.settings.content.max_posts_per_user);
    let how = Create::new("post.create", Some(auth.user.id)).limit(Quota::Posts, max, "posts");
    resource::create(&state, write.keyed, how, async |tx: &mut Tx| {
        store::insert(tx, auth.user.id, &auth.user.full_name, &title, &content, now()).await
    })
    .await
}

/// One post. Public.
#[utoipa::path(get, path = "/community/posts/{id}", tag = "community", params(("id" = Uuid, Path)),
    responses((status = 200, description = "The post, with `ETag`", body = PostOut),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such post", body = Problem)))]
pub async fn get_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    Item::new(&state, &headers, id).get::<PostRow>(|_| Access::Allow).await
}

/// Edit one's own post. Anyone else, administrators included, gets 403 (the post is public, so 404 would lie).
#[utoipa::path(patch, path = "/community/posts/{id}", tag = "community", request_body = UpdatePost,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = PostOut),
        (status = 403, description = "Not the author", body = Problem),
        (status = 404, description = "No such post", body = Problem),
        (status = 412, description = "precondition_failed", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn update_post(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: Write<UpdatePost>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let title = TITLE.required(&write.body.title, &mut errors);
    let content = CONTENT.required(&write.body.content, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let access =
        |p: &PostRow| Access::forbidden_unless(p.author_id == auth.user.id, "Only the author can edit a post.");
    let item = Item::new(&state, &headers, id);
    let audit = ("post.update", auth.user.id);
    item.update(write.keyed, audit, access, async |tx: &mut Tx, row: &PostRow, ch| {
        let title = ch.set("title", &row.title, title.as_ref());
        let content = ch.set("content", &row.content, content.as_ref());
        Ok(store::update(tx, id, &title, &content, now()).await?)
    })
    .await
}

/// Delete a post (its author or an administrator).
#[utoipa::path(delete, path = "/community/posts/{id}", tag = "community",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "Neither the author nor an administrator", body = Problem),
        (status = 404, description = "No such post", body = Problem),
        (status = 412, description = "precondition_failed", body = Problem)))]
pub async fn delete_post(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: WriteNoBody,
) -> ApiResult<Response> {
    let access = |p: &PostRow| {
        let may = p.author_id == auth.user.id || auth.user.is_admin;
        Access::forbidden_unless(may, "Only the author or an administrator can delete a post.")
    };
    let item = Item::new(&state, &headers, id);
    item.delete(write.keyed, ("post.delete", auth.user.id), access).await
}
