//! Handlers of `/admin/users`: user management for administrators.

use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{model::*, store};
use crate::{
    audit::{self, Entry},
    db::now,
    error::{ApiError, ApiResult, Problem},
    http::{
        auth::AdminUser,
        extract::{ApiJson, ApiPath, ApiQuery},
        pagination::{Page, PageQuery},
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
}

/// Users, newest first.
#[utoipa::path(get, path = "/admin/users", tag = "admin", params(UserListQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of users", body = Page<UserOut>),
        (status = 403, description = "Not an administrator", body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> ApiResult<Json<Page<UserOut>>> {
    let paging = PageQuery {
        page: q.page,
        page_size: q.page_size,
    }
    .validate()?;
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (rows, total) = store::list_users(&state.db, search, paging).await?;
    Ok(Json(Page::new(rows.iter().map(UserOut::from).collect(), total, paging)))
}

/// Activate/deactivate a user or change their admin flag. Administrators cannot demote or deactivate themselves.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", request_body = AdminUserUpdateIn,
    params(("id" = Uuid, Path, description = "User id")), security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = UserOut),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 409, description = "cannot_modify_self", body = Problem)))]
pub async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AdminUserUpdateIn>,
) -> ApiResult<Json<UserOut>> {
    if id == admin.user.id && (body.is_active == Some(false) || body.is_admin == Some(false)) {
        return Err(ApiError::conflict(
            "cannot_modify_self",
            "You cannot deactivate or demote yourself.",
        ));
    }
    let mut tx = state.db.begin().await?;
    let Some(user) = store::admin_update(&mut tx, id, body.is_active, body.is_admin, now()).await? else {
        tx.rollback().await?;
        return Err(ApiError::not_found("user"));
    };
    audit::record(
        &mut tx,
        Entry::new("admin.user_update", Some(admin.user.id))
            .resource("user", id)
            .meta(json!({"is_active": body.is_active, "is_admin": body.is_admin})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(UserOut::from(&user)))
}
