//! TOTP two-factor authentication under `/auth/2fa`: setup, enable (with recovery codes), disable.

use axum::{Json, extract::State, http::StatusCode};
use chrono::Utc;

use crate::auth::AuthUser;
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

fn invalid_totp() -> ApiError {
    ApiError::bad_request(Code::InvalidTotp, "The two-factor code is incorrect.")
}

/// Start 2FA setup (the account password confirms it): a new secret to scan; pending until enabled with a code.
#[utoipa::path(post, path = "/auth/2fa/setup", tag = "auth", request_body = PasswordIn, security(("bearer" = [])),
    responses((status = 200, description = "Secret and otpauth URI", body = TotpSetupOut),
        (status = 400, description = "invalid_credentials: the password is wrong", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 409, description = "totp_already_enabled", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 429, description = "rate_limited", body = Problem)))]
pub async fn totp_setup(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<PasswordIn>,
) -> ApiResult<Json<TotpSetupOut>> {
    // Whoever holds only a leaked access token must not bind their own authenticator to the account.
    if !state
        .hasher
        .verify(&body.password, Some(&auth.user.password_hash))
        .await
    {
        return Err(service::wrong_password());
    }
    if auth.user.totp_secret.is_some() {
        return Err(ApiError::conflict(
            Code::TotpAlreadyEnabled,
            "Two-factor authentication is already on.",
        ));
    }
    let secret = crate::auth::totp::new_secret();
    let (base32, uri) = crate::auth::totp::provisioning(&secret, &auth.user.email)
        .ok_or_else(|| ApiError::internal("cannot build the otpauth URI"))?;
    let mut tx = state.db.begin().await?;
    store::set_totp_pending(&mut tx, auth.user.id, &state.secret_box.seal(&secret), now()).await?;
    tx.commit().await?;
    Ok(Json(TotpSetupOut {
        secret: base32,
        otpauth_uri: uri,
    }))
}

/// Turn 2FA on with a code from the pending secret; returns ten recovery codes, shown once.
#[utoipa::path(post, path = "/auth/2fa/enable", tag = "auth", request_body = CodeIn, security(("bearer" = [])),
    responses((status = 200, description = "Enabled", body = RecoveryCodesOut),
        (status = 400, description = "invalid_totp", body = Problem),
        (status = 409, description = "totp_already_enabled", body = Problem)))]
pub async fn totp_enable(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<CodeIn>,
) -> ApiResult<Json<RecoveryCodesOut>> {
    if auth.user.totp_secret.is_some() {
        return Err(ApiError::conflict(
            Code::TotpAlreadyEnabled,
            "Two-factor authentication is already on.",
        ));
    }
    let Some(sealed) = auth.user.totp_pending_secret.clone() else {
        return Err(ApiError::bad_request(
            Code::InvalidTotp,
            "Start with POST /auth/2fa/setup, then send a code.",
        ));
    };
    let secret = state.secret_box.open(&sealed).ok_or_else(invalid_totp)?;
    let step = crate::auth::totp::matching_step(&secret, &body.code, Utc::now().timestamp().max(0) as u64)
        .ok_or_else(invalid_totp)?;
    let codes = crate::auth::totp::new_recovery_codes();
    let mut tx = state.db.begin().await?;
    if !store::accept_totp_step(&mut tx, auth.user.id, step).await? {
        tx.rollback().await?;
        return Err(invalid_totp());
    }
    store::enable_totp(&mut tx, auth.user.id, &sealed, now()).await?;
    for code in &codes {
        let hash = sha256_hex(&crate::auth::totp::normalize_recovery_code(code));
        store::insert_recovery_code(&mut tx, auth.user.id, &hash).await?;
    }
    audit::record(
        &mut tx,
        Entry::new("auth.2fa_enabled", Some(auth.user.id)).resource("user", auth.user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodesOut { recovery_codes: codes }))
}

/// Turn 2FA off with a TOTP or recovery code.
#[utoipa::path(post, path = "/auth/2fa/disable", tag = "auth", request_body = CodeIn, security(("bearer" = [])),
    responses((status = 204, description = "Disabled"),
        (status = 400, description = "invalid_totp", body = Problem),
        (status = 409, description = "totp_not_enabled", body = Problem)))]
pub async fn totp_disable(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<CodeIn>,
) -> ApiResult<StatusCode> {
    if auth.user.totp_secret.is_none() {
        return Err(ApiError::conflict(
            Code::TotpNotEnabled,
            "Two-factor authentication is not on.",
        ));
    }
    let mut tx = state.db.begin().await?;
    if !service::check_second_factor(&state, &mut tx, &auth.user, &body.code).await? {
        tx.rollback().await?;
        return Err(invalid_totp());
    }
    store::disable_totp(&mut tx, auth.user.id, now()).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.2fa_disabled", Some(auth.user.id)).resource("user", auth.user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
