//! The caller's sessions under `/auth/sessions`: list, rename, revoke one, revoke all others.

use axum::{
    Json,
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    auth::{model::*, store},
    db::{
        now,
        query::{Arg, Filter},
    },
    error::{ApiError, ApiResult, Problem},
    http::{
        extract::{ApiJson, ApiPath, ApiQuery, OptionalJson},
        list::{self, ListPage, Sort},
    },
    state::AppState,
};

fn session_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Code::SessionNotFound, "No such session.")
}

/// The caller's sessions, newest first (revoked ones included until they are pruned).
#[utoipa::path(get, path = "/auth/sessions", tag = "auth", params(SessionListQuery), security(("bearer" = [])),
    responses((status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<SessionOut>),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 422, description = "Bad paging parameters", body = Problem)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: AuthUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<SessionListQuery>,
) -> ApiResult<Response> {
    let sort = Sort::parse(None, &[list::CREATED_AT], "-created_at")?;
    let scope = format!("sessions|{}", auth.user.id);
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &q.params())?;
    let mut filter = Filter::new();
    filter.cond("user_id = {}", vec![Arg::Uuid(auth.user.id)]);
    let fetched = listing
        .fetch::<store::SessionRow>(&state.db, &store::session_select(), "sessions", filter)
        .await?;
    let current = auth.session_id;
    Ok(listing.respond(&headers, &uri, fetched, |s| SessionOut::new(s, current)))
}

/// Rename a session.
#[utoipa::path(patch, path = "/auth/sessions/{id}", tag = "auth", request_body = RenameSessionIn,
    params(("id" = Uuid, Path, description = "Session id")), security(("bearer" = [])),
    responses((status = 200, description = "Renamed", body = SessionOut),
        (status = 404, description = "session_not_found", body = Problem),
        (status = 422, description = "Invalid name", body = Problem)))]
pub async fn rename_session(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RenameSessionIn>,
) -> ApiResult<Json<SessionOut>> {
    let name =
        text_field(&body.device_name, &["body", "device_name"], 1, 100).map_err(|e| ApiError::validation(vec![e]))?;
    let mut tx = state.db.begin().await?;
    let Some(session) = store::rename_session(&mut tx, id, auth.user.id, &name).await? else {
        tx.rollback().await?;
        return Err(session_not_found());
    };
    tx.commit().await?;
    Ok(Json(SessionOut::new(&session, auth.session_id)))
}

/// Revoke one of the caller's sessions (idempotent).
#[utoipa::path(post, path = "/auth/sessions/{id}/revoke", tag = "auth",
    params(("id" = Uuid, Path, description = "Session id")), security(("bearer" = [])),
    responses((status = 200, description = "The session, revoked", body = SessionOut),
        (status = 404, description = "session_not_found", body = Problem)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SessionOut>> {
    let mut tx = state.db.begin().await?;
    let Some(before) = store::session_of_user(&mut tx, id, auth.user.id).await? else {
        tx.rollback().await?;
        return Err(session_not_found());
    };
    if before.revoked_at.is_some() {
        tx.rollback().await?;
        return Ok(Json(SessionOut::new(&before, auth.session_id)));
    }
    let session = store::revoke_session(&mut tx, id, auth.user.id, "user_revoked", now())
        .await?
        .ok_or_else(session_not_found)?;
    audit::record(
        &mut tx,
        Entry::new("auth.session_revoke", Some(auth.user.id)).resource("session", id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(SessionOut::new(&session, auth.session_id)))
}

/// Revoke every live session of the caller except one (the named one, else the current one).
#[utoipa::path(post, path = "/auth/sessions/revoke-others", tag = "auth", request_body = Option<RevokeOthersIn>,
    security(("bearer" = [])),
    responses((status = 200, description = "Sessions revoked", body = RevokedCount),
        (status = 404, description = "The kept session is not a live session of the caller", body = Problem)))]
pub async fn revoke_others(
    State(state): State<AppState>,
    auth: AuthUser,
    OptionalJson(body): OptionalJson<RevokeOthersIn>,
) -> ApiResult<Json<RevokedCount>> {
    let keep = body.and_then(|b| b.keep_session_id).unwrap_or(auth.session_id);
    let now = now();
    let mut tx = state.db.begin().await?;
    let kept = store::session_of_user(&mut tx, keep, auth.user.id)
        .await?
        .filter(|s| s.is_live(now));
    if kept.is_none() {
        tx.rollback().await?;
        return Err(session_not_found());
    }
    let n = store::revoke_all(&mut tx, auth.user.id, "revoked_by_user", Some(keep), now).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.sessions_revoke_others", Some(auth.user.id))
            .resource("session", keep)
            .meta(json!({"revoked_count": n})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(RevokedCount { revoked_count: n }))
}
