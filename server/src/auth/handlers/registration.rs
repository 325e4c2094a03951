//! `POST /auth/register`: create an account, sign it in and send the verification email.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};

use crate::error::Code;
use crate::http::client_ip::ClientIp;
use crate::{
    audit::{self, Entry},
    auth::{
        model::*,
        service::{self, Origin},
        store,
    },
    db::now,
    error::{ApiError, ApiResult, FieldError, Problem},
    http::extract::ApiJson,
    state::AppState,
};

/// Create an account and sign in.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterIn,
    responses(
        (status = 201, description = "Account created and signed in", body = TokenOut),
        (status = 403, description = "registration_closed, or csrf_rejected: cookie mode from another origin", body = Problem),
        (status = 409, description = "Email taken", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterIn>,
) -> ApiResult<Response> {
    if !state.settings.auth.registration_open {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Code::RegistrationClosed,
            "Registration is closed.",
        ));
    }
    let mut errors = Vec::new();
    let email = Email::parse(&body.email);
    if email.is_none() {
        errors.push(FieldError::new(
            &["body", "email"],
            "is not a valid email address",
            "value_error",
        ));
    }
    let full_name = text_field(&body.full_name, &["body", "full_name"], 1, 100)
        .map_err(|e| errors.push(e))
        .ok();
    if let Err(e) = crate::auth::password::check_policy(&body.password, &body.email, &["body", "password"]) {
        errors.extend(e.errors.unwrap_or_default());
    }
    let (Some(email), Some(full_name), true) = (email, full_name, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    if body.refresh_in == Some(RefreshIn::Cookie) {
        service::check_same_origin(&state, &headers)?;
    }
    let hash = state.hasher.hash(&body.password).await?;
    let origin = Origin::new(&headers, ip);
    let device_name = origin.device_name(body.device_name.as_deref());
    let now = now();

    let mut tx = state.db.begin().await?;
    let new = store::NewUser {
        email: email.as_str(),
        password_hash: &hash,
        full_name: &full_name,
        is_admin: false,
        verified: false,
    };
    let user = store::insert_user(&mut tx, &new, now)
        .await
        .map_err(service::email_taken)?;
    let (session, refresh) = service::create_session(&state, &mut tx, &user, &origin, &device_name, now).await?;
    service::verification_email(&state, &mut tx, &user, &user.email, false, now).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.register", Some(user.id)).resource("user", user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(service::token_response(
        &state,
        StatusCode::CREATED,
        &user,
        session.id,
        refresh,
        body.refresh_in.unwrap_or_default(),
    ))
}
