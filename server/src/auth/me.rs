//! Handlers of `/users/me`: the signed-in user's own account.

use axum::{extract::State, http::StatusCode};
use serde_json::json;

use super::{model::*, service, store};
use crate::auth::AuthUser;
use crate::{
    audit::{self, Entry},
    db::now,
    error::{ApiError, ApiResult, FieldError, Problem},
    http::extract::ApiJson,
    state::AppState,
};

use service::wrong_password;

/// The signed-in user.
#[utoipa::path(get, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The user, with `ETag`", body = UserOut),
        (status = 304, description = "Not modified"),
        (status = 401, description = "Not signed in", body = Problem)))]
pub async fn get_me(auth: AuthUser, headers: axum::http::HeaderMap) -> axum::response::Response {
    crate::http::conditional::json_with_etag(&headers, StatusCode::OK, &UserOut::from(&auth.user))
}

/// Change name or email. A new email needs `current_password`, must be verified again, is announced to the
/// old address and voids outstanding password-reset links.
#[utoipa::path(patch, path = "/users/me", tag = "users", request_body = UpdateMeIn, security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = UserOut),
        (status = 400, description = "invalid_credentials: `current_password` is wrong", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 409, description = "email_taken", body = Problem),
        (status = 422, description = "Invalid input, or a new email without `current_password`", body = Problem)))]
pub async fn update_me(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<UpdateMeIn>,
) -> ApiResult<axum::response::Response> {
    let mut errors = Vec::new();
    let full_name = match body.full_name.as_deref() {
        Some(v) => text_field(v, &["body", "full_name"], 1, 100)
            .map_err(|e| errors.push(e))
            .ok(),
        None => Some(auth.user.full_name.clone()),
    };
    let email = match body.email.as_deref() {
        Some(v) => Email::parse(v).map(|e| e.as_str().to_string()).or_else(|| {
            errors.push(FieldError::new(
                &["body", "email"],
                "is not a valid email address",
                "value_error",
            ));
            None
        }),
        None => Some(auth.user.email.clone()),
    };
    let (Some(full_name), Some(email), true) = (full_name, email, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let email_changed = email != auth.user.email;
    // A leaked access token alone must not be able to move the account to another address (spec §1.3).
    if email_changed {
        let Some(current) = body.current_password.as_deref() else {
            return Err(ApiError::validation(vec![FieldError::new(
                &["body", "current_password"],
                "is required to change the email address",
                "missing",
            )]));
        };
        if !state.hasher.verify(current, Some(&auth.user.password_hash)).await {
            return Err(wrong_password());
        }
    }
    let mut fields = Vec::new();
    if full_name != auth.user.full_name {
        fields.push("full_name");
    }
    if email_changed {
        fields.push("email");
    }
    let respond = |u: &super::store::UserRow| {
        crate::http::conditional::json_with_etag(&axum::http::HeaderMap::new(), StatusCode::OK, &UserOut::from(u))
    };
    if fields.is_empty() {
        return Ok(respond(&auth.user));
    }
    let now = now();
    let mut tx = state.db.begin().await?;
    let user = store::update_profile(&mut tx, auth.user.id, &full_name, &email, email_changed, now)
        .await
        .map_err(service::email_taken)?;
    if email_changed {
        service::verification_email(&state, &mut tx, &user, &user.email, false, now).await?;
        store::void_reset_tokens(&mut tx, user.id, now).await?;
        let notice = crate::email::templates::email_changed(&auth.user.email, &user.full_name, &user.email);
        crate::jobs::email::enqueue(&state, &mut tx, &notice).await?;
    }
    audit::record(
        &mut tx,
        Entry::new("user.updated", Some(user.id))
            .resource("user", user.id)
            .meta(json!({"fields": fields})),
    )
    .await?;
    tx.commit().await?;
    Ok(respond(&user))
}

/// Change the password; every other session is signed out.
#[utoipa::path(post, path = "/users/me/password", tag = "users", request_body = ChangePasswordIn,
    security(("bearer" = [])),
    responses((status = 204, description = "Changed"),
        (status = 400, description = "invalid_credentials: the current password is wrong", body = Problem),
        (status = 422, description = "The new password breaks the policy", body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<ChangePasswordIn>,
) -> ApiResult<StatusCode> {
    if !state
        .hasher
        .verify(&body.current_password, Some(&auth.user.password_hash))
        .await
    {
        return Err(wrong_password());
    }
    super::password::check_policy(&body.new_password, &auth.user.email, &["body", "new_password"])?;
    let hash = state.hasher.hash(&body.new_password).await?;
    let now = now();
    let mut tx = state.db.begin().await?;
    store::set_password(&mut tx, auth.user.id, &hash, now).await?;
    let revoked = store::revoke_all(&mut tx, auth.user.id, "password_changed", Some(auth.session_id), now).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.password_changed", Some(auth.user.id))
            .resource("user", auth.user.id)
            .meta(json!({"revoked_count": revoked})),
    )
    .await?;
    let mail = crate::email::templates::password_changed(&auth.user.email, &auth.user.full_name);
    crate::jobs::email::enqueue(&state, &mut tx, &mail).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete the account with its sessions, projects and posts (support tickets stay, without the user).
#[utoipa::path(delete, path = "/users/me", tag = "users", request_body = DeleteMeIn, security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 400, description = "invalid_credentials", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 409, description = "last_admin: the last active administrator cannot be deleted", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn delete_me(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<DeleteMeIn>,
) -> ApiResult<StatusCode> {
    if !state
        .hasher
        .verify(&body.password, Some(&auth.user.password_hash))
        .await
    {
        return Err(wrong_password());
    }
    let mut tx = state.db.begin().await?;
    if auth.user.is_admin
        && let Err(e) = service::ensure_not_last_admin(&mut tx, auth.user.id).await
    {
        tx.rollback().await?;
        return Err(e);
    }
    audit::record(
        &mut tx,
        Entry::new("user.deleted", Some(auth.user.id)).resource("user", auth.user.id),
    )
    .await?;
    store::delete_user(&mut tx, auth.user.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
