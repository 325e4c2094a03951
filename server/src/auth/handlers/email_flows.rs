//! The emailed-token flows: verifying an address (and resending the link), and resetting a password.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::json;

use crate::error::Code;
use crate::{
    audit::{self, Entry},
    auth::{model::*, service, store},
    crypto::sha256_hex,
    db::now,
    error::{ApiError, ApiResult, Problem},
    http::extract::ApiJson,
    state::AppState,
};

fn invalid_token() -> ApiError {
    ApiError::bad_request(Code::InvalidToken, "The link is invalid or has expired.")
}

/// Confirm an email address with the token from the verification email.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = TokenIn,
    responses((status = 200, description = "`verified` or `already_verified`", body = StatusOut),
        (status = 400, description = "invalid_token", body = Problem)))]
pub async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenIn>,
) -> ApiResult<Json<StatusOut>> {
    let now = now();
    let mut tx = state.db.begin().await?;
    let token = store::token_by_hash(&mut tx, &sha256_hex(body.token.trim()))
        .await?
        .filter(|t| t.purpose == store::VERIFY_EMAIL && t.expires_at > now);
    let Some(token) = token else {
        tx.rollback().await?;
        return Err(invalid_token());
    };
    let user = store::user_by_id_tx(&mut tx, token.user_id)
        .await?
        .filter(|u| u.email == token.email);
    let Some(user) = user else {
        tx.rollback().await?;
        return Err(invalid_token());
    };
    if user.email_verified_at.is_some() {
        tx.rollback().await?;
        return Ok(Json(StatusOut {
            status: "already_verified",
        }));
    }
    store::mark_verified(&mut tx, user.id, now).await?;
    store::use_token(&mut tx, token.id, now).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.email_verified", Some(user.id)).resource("user", user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(StatusOut { status: "verified" }))
}

fn accepted() -> (StatusCode, Json<StatusOut>) {
    (StatusCode::ACCEPTED, Json(StatusOut { status: "accepted" }))
}

/// Send the verification email again (at most one per 5 minutes). Same answer whether or not the account exists.
#[utoipa::path(post, path = "/auth/verify-email/resend", tag = "auth", request_body = EmailIn,
    responses((status = 202, description = "Accepted", body = StatusOut),
        (status = 422, description = "Not an email address", body = Problem)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailIn>,
) -> ApiResult<(StatusCode, Json<StatusOut>)> {
    let email = Email::parse_field(&body.email, &["body", "email"])?;
    if let Some(user) = store::user_by_email(&state.db, email.as_str()).await?
        && user.email_verified_at.is_none()
        && user.is_active
    {
        let mut tx = state.db.begin().await?;
        service::verification_email(&state, &mut tx, &user, &user.email, true, now()).await?;
        tx.commit().await?;
    }
    Ok(accepted())
}

/// Email a password-reset link (at most one per 5 minutes). Same answer whether or not the account exists.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = EmailIn,
    responses((status = 202, description = "Accepted", body = StatusOut),
        (status = 422, description = "Not an email address", body = Problem)))]
pub async fn password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailIn>,
) -> ApiResult<(StatusCode, Json<StatusOut>)> {
    let email = Email::parse_field(&body.email, &["body", "email"])?;
    if let Some(user) = store::user_by_email(&state.db, email.as_str()).await?
        && user.is_active
    {
        let mut tx = state.db.begin().await?;
        if service::reset_email(&state, &mut tx, &user, now()).await? {
            audit::record(
                &mut tx,
                Entry::new("auth.password_reset", None)
                    .resource("user", user.id)
                    .meta(json!({"step": "requested"})),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(accepted())
}

/// Set a new password with the token from the reset email; signs out every session.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmIn,
    responses((status = 204, description = "Password changed"),
        (status = 400, description = "invalid_token", body = Problem),
        (status = 422, description = "The password breaks the policy", body = Problem)))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmIn>,
) -> ApiResult<StatusCode> {
    let hash = sha256_hex(body.token.trim());
    let now = now();
    // Check the token (on the read pool) before the slow hash; spend it in the write transaction.
    let token = store::token_by_hash_read(&state.db, &hash)
        .await?
        .filter(|t| t.purpose == store::PASSWORD_RESET && t.expires_at > now && t.used_at.is_none())
        .ok_or_else(invalid_token)?;
    let user = store::user_by_id(&state.db, token.user_id)
        .await?
        .ok_or_else(invalid_token)?;
    crate::auth::password::check_policy(&body.new_password, &user.email, &["body", "new_password"])?;
    let password_hash = state.hasher.hash(&body.new_password).await?;

    let mut tx = state.db.begin().await?;
    if !store::use_token(&mut tx, token.id, now).await? {
        tx.rollback().await?;
        return Err(invalid_token());
    }
    store::set_password(&mut tx, user.id, &password_hash, now).await?;
    let revoked = store::revoke_all(&mut tx, user.id, "password_reset", None, now).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.password_reset", Some(user.id))
            .resource("user", user.id)
            .meta(json!({"step": "completed", "revoked_count": revoked})),
    )
    .await?;
    let mail = crate::email::templates::password_changed(&user.email, &user.full_name);
    crate::jobs::email::enqueue(&state, &mut tx, &mail).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
