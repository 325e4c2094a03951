//! Handlers of `/community/posts`.

use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    model::{CreatePost, PostListQuery, PostOut, UpdatePost},
    store::{self, PostRow},
};
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    auth::model::text_field,
    db::{
        Tx, now,
        query::{Arg, Filter},
    },
    error::{ApiError, ApiResult, Problem},
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
        name: "title",
        column: "title",
        kind: SortKind::Text,
    },
];

fn not_found() -> ApiError {
    ApiError::not_found("post")
}

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
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    // Public list: the cursor is bound to the list and its filters, not to a principal.
    let scope = format!(
        "posts|{}|{}|{}",
        sort.as_str(),
        q.author_id.map(|a| a.to_string()).unwrap_or_default(),
        search.unwrap_or("")
    );
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &q.params())?;
    let mut filter = Filter::new();
    if let Some(author) = q.author_id {
        filter.cond("author_id = {}", vec![Arg::Uuid(author)]);
    }
    if let Some(s) = search {
        filter.search(&["title", "content"], s);
    }
    let fetched = listing
        .fetch::<PostRow>(&state.db, store::COLUMNS, "community_posts", filter)
        .await?;
    Ok(listing.respond(&headers, &uri, fetched, |r| PostOut::from(r)))
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
    let title = text_field(&write.body.title, &["body", "title"], 1, 200)
        .map_err(|e| errors.push(e))
        .ok();
    let content = text_field(&write.body.content, &["body", "content"], 1, 20_000)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(title), Some(content), true) = (title, content, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let max = i64::from(state.settings.content.max_posts_per_user);
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = store::insert(tx, auth.user.id, &auth.user.full_name, &title, &content, now()).await?;
        if crate::db::query::over_quota(tx, crate::db::query::Quota::Posts, auth.user.id, max).await? {
            return Err(ApiError::conflict(
                Code::QuotaExceeded,
                format!("You can have at most {max} posts."),
            ));
        }
        audit::record(
            tx,
            Entry::new("post.create", Some(auth.user.id)).resource("post", row.id),
        )
        .await?;
        Ok(created(
            &PostOut::from(&row),
            &format!("/api/v1/community/posts/{}", row.id),
        ))
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
    let row = store::get_read(&state.db, id).await?.ok_or_else(not_found)?;
    Ok(json_with_etag(&headers, StatusCode::OK, &PostOut::from(&row)))
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
    let title = write.body.title.as_deref().and_then(|v| {
        text_field(v, &["body", "title"], 1, 200)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let content = write.body.content.as_deref().and_then(|v| {
        text_field(v, &["body", "content"], 1, 20_000)
            .map_err(|e| errors.push(e))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = store::get(tx, id).await?.ok_or_else(not_found)?;
        if row.author_id != auth.user.id {
            return Err(ApiError::forbidden("Only the author can edit a post."));
        }
        check_if_match(&headers, &etag_for(&PostOut::from(&row)))?;
        let new_title = title.clone().unwrap_or_else(|| row.title.clone());
        let new_content = content.clone().unwrap_or_else(|| row.content.clone());
        let fields: Vec<&str> = [
            ("title", new_title != row.title),
            ("content", new_content != row.content),
        ]
        .into_iter()
        .filter_map(|(n, changed)| changed.then_some(n))
        .collect();
        let updated = store::update(tx, id, &new_title, &new_content, now()).await?;
        audit::record(
            tx,
            Entry::new("post.update", Some(auth.user.id))
                .resource("post", id)
                .meta(json!({"fields": fields})),
        )
        .await?;
        Ok(written(&PostOut::from(&updated)))
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
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = store::get(tx, id).await?.ok_or_else(not_found)?;
        if row.author_id != auth.user.id && !auth.user.is_admin {
            return Err(ApiError::forbidden(
                "Only the author or an administrator can delete a post.",
            ));
        }
        check_if_match(&headers, &etag_for(&PostOut::from(&row)))?;
        store::delete(tx, id).await?;
        audit::record(tx, Entry::new("post.delete", Some(auth.user.id)).resource("post", id)).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}
