//! Handlers of `/auth/*`: registration, sign-in, refresh, sign-out, sessions, email flows, 2FA.

use axum::{
    Json,
    extract::{OriginalUri, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::{
    model::*,
    service::{self, Origin},
    store,
};
use crate::{
    audit::{self, Entry},
    crypto::sha256_hex,
    db::{
        now,
        query::{Arg, Filter},
    },
    error::{ApiError, ApiResult, FieldError, Problem},
    http::{
        auth::{AuthUser, ClientIp},
        extract::{ApiForm, ApiJson, ApiPath, ApiQuery, OptionalJson},
        list::{self, ListPage, Sort},
    },
    state::AppState,
};

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "The refresh token is invalid, expired or revoked.",
    )
}

fn invalid_token() -> ApiError {
    ApiError::bad_request("invalid_token", "The link is invalid or has expired.")
}

fn invalid_totp_login() -> ApiError {
    ApiError::unauthorized("invalid_totp", "The two-factor code is incorrect.")
}

fn invalid_totp() -> ApiError {
    ApiError::bad_request("invalid_totp", "The two-factor code is incorrect.")
}

fn session_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "session_not_found", "No such session.")
}

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
            "registration_closed",
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
    if let Err(e) = super::password::check_policy(&body.password, &body.email, &["body", "password"]) {
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
    let mut tx = state.db.begin().await?;
    if user.totp_secret.is_some() {
        let Some(code) = c.totp_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            tx.rollback().await?;
            return Err(
                ApiError::unauthorized("totp_required", "Enter the code from your authenticator app.").with_header(
                    "x-2fa-required".parse().expect("valid name"),
                    HeaderValue::from_static("true"),
                ),
            );
        };
        if !service::check_second_factor(&state, &mut tx, &user, code).await? {
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
            "unsupported_grant_type",
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

/// Rotate a refresh token. Presenting a token that was already rotated out revokes every session of the user.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = Option<RefreshInBody>,
    responses(
        (status = 200, description = "New tokens", body = TokenOut),
        (status = 401, description = "invalid_refresh_token or refresh_token_reused", body = Problem),
        (status = 403, description = "csrf_rejected: the cookie was sent from another origin", body = Problem),
        (status = 429, description = "rate_limited (`refresh` tier per session; unknown tokens: the `auth` tier per IP)", body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshInBody>,
) -> ApiResult<Response> {
    let body = body.unwrap_or_default();
    let from_body = body.refresh_token.clone().filter(|t| !t.is_empty());
    let mode = match (&from_body, body.refresh_in) {
        (_, Some(RefreshIn::Cookie)) | (None, _) => RefreshIn::Cookie,
        (Some(_), _) => RefreshIn::Body,
    };
    // Cookie mode: the token comes from the cookie, or the new one goes into it.
    if mode == RefreshIn::Cookie {
        service::check_same_origin(&state, &headers)?;
    }
    let token = from_body
        .or_else(|| service::cookie_token(&headers))
        .ok_or_else(invalid_refresh)?;
    let hash = sha256_hex(&token);
    let now = now();
    let mut tx = state.db.begin().await?;
    if let Some(session) = store::session_by_refresh_hash(&mut tx, &hash).await? {
        if !session.is_live(now) {
            tx.rollback().await?;
            return Err(invalid_refresh());
        }
        let user = store::user_by_id_tx(&mut tx, session.user_id)
            .await?
            .filter(|u| u.is_active);
        let Some(user) = user else {
            tx.rollback().await?;
            return Err(invalid_refresh());
        };
        let new_token = super::tokens::new_refresh_token();
        let expires = now + service::refresh_ttl(&state);
        let ip = ip.to_string();
        let rotated = store::rotate_session(
            &mut tx,
            session.id,
            &hash,
            &sha256_hex(&new_token),
            Some(&ip),
            now,
            expires,
        )
        .await?;
        if rotated.is_some() {
            audit::record(
                &mut tx,
                Entry::new("auth.refresh", Some(user.id)).resource("session", session.id),
            )
            .await?;
            tx.commit().await?;
            return Ok(service::token_response(
                &state,
                StatusCode::OK,
                &user,
                session.id,
                new_token,
                mode,
            ));
        }
        // Another refresh of the same token won the race: fall through to reuse handling.
    }
    match store::rotated_token(&mut tx, &hash).await? {
        Some((user_id, session_id, rotated_at)) => {
            let grace = chrono::Duration::from_std(state.settings.auth.refresh_reuse_grace).unwrap_or_default();
            if grace > chrono::Duration::zero() && now - rotated_at <= grace {
                // A near-simultaneous retry (two tabs): refuse without punishing the family.
                tx.rollback().await?;
                return Err(invalid_refresh());
            }
            let revoked = store::revoke_all(&mut tx, user_id, "refresh_reuse", None, now).await?;
            audit::record(
                &mut tx,
                Entry::new("auth.refresh_reuse_detected", Some(user_id))
                    .resource("session", session_id)
                    .meta(json!({"revoked_count": revoked})),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(user_id = %user_id, revoked, "refresh token reuse detected; sessions revoked");
            let mut res = ApiError::unauthorized(
                "refresh_token_reused",
                "This refresh token was already used. Every session of the account was signed out.",
            )
            .into_response();
            service::clear_cookie(&state, res.headers_mut());
            Ok(res)
        }
        None => {
            tx.rollback().await?;
            Err(invalid_refresh())
        }
    }
}

/// Sign out one session: the one of the given refresh token (body or cookie), else the current one.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = Option<LogoutIn>, security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "The refresh token is not one of the caller's live sessions", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "csrf_rejected: the cookie was sent from another origin", body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<LogoutIn>,
) -> ApiResult<Response> {
    let from_body = body.and_then(|b| b.refresh_token).filter(|t| !t.is_empty());
    let token = match from_body {
        Some(t) => Some(t),
        None => {
            let cookie = service::cookie_token(&headers);
            if cookie.is_some() {
                service::check_same_origin(&state, &headers)?;
            }
            cookie
        }
    };
    let now = now();
    let mut tx = state.db.begin().await?;
    let session_id = match token {
        Some(token) => {
            let session = store::session_by_refresh_hash(&mut tx, &sha256_hex(&token))
                .await?
                .filter(|s| s.user_id == auth.user.id && s.is_live(now));
            match session {
                Some(s) => s.id,
                None => {
                    tx.rollback().await?;
                    return Err(ApiError::bad_request(
                        "invalid_refresh_token",
                        "The refresh token is not one of your live sessions.",
                    ));
                }
            }
        }
        None => auth.session_id,
    };
    store::revoke_session(&mut tx, session_id, auth.user.id, "logout", now).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.logout", Some(auth.user.id)).resource("session", session_id),
    )
    .await?;
    tx.commit().await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    service::clear_cookie(&state, res.headers_mut());
    Ok(res)
}

/// Sign out every session of the caller, the current one too.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Sessions revoked", body = RevokedCount),
        (status = 401, description = "Not signed in", body = Problem)))]
pub async fn logout_all(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let mut tx = state.db.begin().await?;
    let n = store::revoke_all(&mut tx, auth.user.id, "logout_all", None, now()).await?;
    audit::record(
        &mut tx,
        Entry::new("auth.logout_all", Some(auth.user.id)).meta(json!({"revoked_count": n})),
    )
    .await?;
    tx.commit().await?;
    let mut res = Json(RevokedCount { revoked_count: n }).into_response();
    service::clear_cookie(&state, res.headers_mut());
    Ok(res)
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
    // Check the token before the slow hash; spend it in the write transaction.
    let mut tx = state.db.begin().await?;
    let token = store::token_by_hash(&mut tx, &hash).await?;
    tx.rollback().await?;
    let token = token
        .filter(|t| t.purpose == store::PASSWORD_RESET && t.expires_at > now && t.used_at.is_none())
        .ok_or_else(invalid_token)?;
    let user = store::user_by_id(&state.db, token.user_id)
        .await?
        .ok_or_else(invalid_token)?;
    super::password::check_policy(&body.new_password, &user.email, &["body", "new_password"])?;
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
            "totp_already_enabled",
            "Two-factor authentication is already on.",
        ));
    }
    let secret = super::totp::new_secret();
    let (base32, uri) = super::totp::provisioning(&secret, &auth.user.email)
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
            "totp_already_enabled",
            "Two-factor authentication is already on.",
        ));
    }
    let Some(sealed) = auth.user.totp_pending_secret.clone() else {
        return Err(ApiError::bad_request(
            "invalid_totp",
            "Start with POST /auth/2fa/setup, then send a code.",
        ));
    };
    let secret = state.secret_box.open(&sealed).ok_or_else(invalid_totp)?;
    let step = super::totp::matching_step(&secret, &body.code, Utc::now().timestamp().max(0) as u64)
        .ok_or_else(invalid_totp)?;
    let codes = super::totp::new_recovery_codes();
    let mut tx = state.db.begin().await?;
    if !store::accept_totp_step(&mut tx, auth.user.id, step).await? {
        tx.rollback().await?;
        return Err(invalid_totp());
    }
    store::enable_totp(&mut tx, auth.user.id, &sealed, now()).await?;
    for code in &codes {
        let hash = sha256_hex(&super::totp::normalize_recovery_code(code));
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
            "totp_not_enabled",
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
