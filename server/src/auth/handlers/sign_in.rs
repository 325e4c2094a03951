//! Signing in with a password (and a second factor when 2FA is on): `POST /auth/token` (OAuth2 password
//! grant, form) and `POST /auth/login` (JSON), with the per-account lockout.

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::Response,
};
use serde_json::json;

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
    error::{ApiError, ApiResult, Problem},
    http::extract::{ApiForm, ApiJson},
    state::AppState,
};

fn invalid_totp_login() -> ApiError {
    ApiError::unauthorized(Code::InvalidTotp, "The two-factor code is incorrect.")
}

struct Credentials {
    /// The route signed in through (the `route` label of a lockout's violation metric).
    route: &'static str,
    email: String,
    password: String,
    device_name: Option<String>,
    totp_code: Option<String>,
    refresh_in: RefreshIn,
}

async fn sign_in(state: AppState, origin: Origin, c: Credentials) -> ApiResult<Response> {
    let email = c.email.trim().to_lowercase();
    let lockout = service::lockout_key(&email);
    // A locked account answers 429 before any hashing: a correct password does not sign in either.
    if let Some(retry_after) = service::account_locked(&state, &lockout, now()).await? {
        return Err(service::account_locked_error(c.route, retry_after));
    }
    let user = store::user_by_email(&state.db, &email).await?;
    let verified = state
        .hasher
        .verify(&c.password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await;
    let user = match user {
        Some(u) if verified && u.is_active => u,
        other => {
            let reason = match &other {
                None => "unknown_email",
                Some(u) if !u.is_active && verified => "inactive",
                Some(_) => "wrong_password",
            };
            let mut tx = state.db.begin().await?;
            service::count_login_failure(&mut tx, &lockout, now()).await?;
            audit::record(
                &mut tx,
                Entry::new("auth.login_failed", None).meta(json!({"reason": reason})),
            )
            .await?;
            tx.commit().await?;
            return Err(service::invalid_credentials());
        }
    };
    let now = now();
    // A missing second factor is answered before the writer is taken: nothing is read or written for it.
    let totp_code = match user.totp_secret {
        None => None,
        Some(_) => match c.totp_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => Some(code),
            None => {
                return Err(
                    ApiError::unauthorized(Code::TotpRequired, "Enter the code from your authenticator app.")
                        .with_header(
                            "x-2fa-required".parse().expect("valid name"),
                            HeaderValue::from_static("true"),
                        ),
                );
            }
        },
    };
    let mut tx = state.db.begin().await?;
    if let Some(code) = totp_code
        && !service::check_second_factor(&state, &mut tx, &user, code).await?
    {
        tx.rollback().await?;
        let mut tx = state.db.begin().await?;
        service::count_login_failure(&mut tx, &lockout, now).await?;
        audit::record(
            &mut tx,
            Entry::new("auth.login_failed", None)
                .resource("user", user.id)
                .meta(json!({"reason": "invalid_totp"})),
        )
        .await?;
        tx.commit().await?;
        return Err(invalid_totp_login());
    }
    let device_name = origin.device_name(c.device_name.as_deref());
    let known_device = store::has_session_from_device(&mut tx, user.id, &device_name).await?;
    let (session, refresh) = service::create_session(&state, &mut tx, &user, &origin, &device_name, now).await?;
    store::clear_login_failures(&mut tx, &lockout).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.login", Some(user.id)).resource("session", session.id),
    )
    .await?;
    if !known_device {
        let mail = crate::email::templates::new_device_login(&user.email, &user.full_name, &device_name, &origin.ip);
        crate::jobs::email::enqueue(&state, &mut tx, &mail).await?;
    }
    tx.commit().await?;
    Ok(service::token_response(
        &state,
        StatusCode::OK,
        &user,
        session.id,
        refresh,
        c.refresh_in,
    ))
}

/// OAuth2 password grant (form). `username` is the email.
#[utoipa::path(post, path = "/auth/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed in", body = TokenOut),
        (status = 400, description = "Unsupported grant type", body = Problem),
        (status = 401, description = "Invalid credentials, or a second factor is required or wrong", body = Problem),
        (status = 403, description = "csrf_rejected: cookie mode from another origin", body = Problem),
        (status = 413, description = "payload_too_large", body = Problem),
        (status = 415, description = "unsupported_media_type", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 429, description = "rate_limited: too many sign-ins from this address, or too many failures for this account", body = Problem)))]
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiForm(form): ApiForm<TokenForm>,
) -> ApiResult<Response> {
    if let Some(grant) = form.grant_type.as_deref().filter(|g| !g.is_empty())
        && grant != "password"
    {
        return Err(ApiError::bad_request(
            Code::UnsupportedGrantType,
            "Only grant_type=password is supported.",
        ));
    }
    if form.refresh_in == Some(RefreshIn::Cookie) {
        service::check_same_origin(&state, &headers)?;
    }
    let creds = Credentials {
        route: "/api/v1/auth/token",
        email: form.username,
        password: form.password,
        device_name: form.device_name,
        totp_code: form.totp_code,
        refresh_in: form.refresh_in.unwrap_or_default(),
    };
    sign_in(state, Origin::new(&headers, ip), creds).await
}

/// Sign in with JSON (twin of `/auth/token`).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginIn,
    responses(
        (status = 200, description = "Signed in", body = TokenOut),
        (status = 401, description = "Invalid credentials, or a second factor is required or wrong", body = Problem),
        (status = 403, description = "csrf_rejected: cookie mode from another origin", body = Problem),
        (status = 413, description = "payload_too_large", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 429, description = "rate_limited: too many sign-ins from this address, or too many failures for this account", body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginIn>,
) -> ApiResult<Response> {
    if body.refresh_in == Some(RefreshIn::Cookie) {
        service::check_same_origin(&state, &headers)?;
    }
    let creds = Credentials {
        route: "/api/v1/auth/login",
        email: body.email,
        password: body.password,
        device_name: body.device_name,
        totp_code: body.totp_code,
        refresh_in: body.refresh_in.unwrap_or_default(),
    };
    sign_in(state, Origin::new(&headers, ip), creds).await
}
