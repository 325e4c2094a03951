//! Handlers of `/admin/users`: user management for administrators.

use axum::{
    Json,
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{model::*, service, store};
use crate::auth::AdminUser;
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    db::{now, query::Filter},
    error::{ApiError, ApiResult, Problem},
    http::{
        extract::{ApiJson, ApiPath, ApiQuery},
        list::{self, ListPage, ListParams, Sort},
    },
    state::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Case-insensitive substring of email or full name.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

/// Users, newest first.
#[utoipa::path(get, path = "/admin/users", tag = "admin", params(UserListQuery), security(("bearer" = [])),
    responses((status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<UserOut>),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> ApiResult<Response> {
    let sort = Sort::parse(None, &[list::CREATED_AT], "-created_at")?;
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let scope = format!("users|{}|{}", admin.user.id, search.unwrap_or(""));
    let params = ListParams {
        page: q.page,
        page_size: q.page_size,
        cursor: q.cursor.clone(),
        include_total: q.include_total,
    };
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &params)?;
    let mut filter = Filter::new();
    if let Some(s) = search {
        filter.search(&["email", "full_name"], s);
    }
    let fetched = listing
        .fetch::<store::UserRow>(&state.db, &store::user_select(), "users", filter)
        .await?;
    Ok(listing.respond(&headers, &uri, fetched, |u| UserOut::from(u)))
}

/// Activate/deactivate a user or change their admin flag. Deactivating revokes every session of the user.
/// Administrators cannot demote or deactivate themselves, and the last active administrator cannot be
/// demoted or deactivated by anyone.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", request_body = AdminUserUpdateIn,
    params(("id" = Uuid, Path, description = "User id")), security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = UserOut),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 409, description = "cannot_modify_self, or last_admin: the last active administrator", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AdminUserUpdateIn>,
) -> ApiResult<Json<UserOut>> {
    if id == admin.user.id && (body.is_active == Some(false) || body.is_admin == Some(false)) {
        return Err(ApiError::conflict(
            Code::CannotModifySelf,
            "You cannot deactivate or demote yourself.",
        ));
    }
    let now = now();
    let mut tx = state.db.begin().await?;
    let Some(before) = store::user_by_id_tx(&mut tx, id).await? else {
        tx.rollback().await?;
        return Err(ApiError::not_found("user"));
    };
    let stops_being_admin = before.is_admin && (body.is_active == Some(false) || body.is_admin == Some(false));
    if stops_being_admin && let Err(e) = service::ensure_not_last_admin(&mut tx, id).await {
        tx.rollback().await?;
        return Err(e);
    }
    let Some(user) = store::admin_update(&mut tx, id, body.is_active, body.is_admin, now).await? else {
        tx.rollback().await?;
        return Err(ApiError::not_found("user"));
    };
    // A deactivated user is signed out everywhere at once; reactivating brings no session back.
    let revoked = match body.is_active {
        Some(false) => store::revoke_all(&mut tx, id, "deactivated", None, now).await?,
        _ => 0,
    };
    audit::record(
        &mut tx,
        Entry::new("admin.user_update", Some(admin.user.id))
            .resource("user", id)
            .meta(json!({"is_active": body.is_active, "is_admin": body.is_admin, "revoked_count": revoked})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(UserOut::from(&user)))
}
