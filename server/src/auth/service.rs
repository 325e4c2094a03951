//! Account logic shared by several handlers: issuing sessions and token responses, the refresh
//! cookie, second-factor checks and email tokens.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{
    device,
    model::{RefreshIn, TokenOut, UserOut},
    store::{self, NewSession, SessionRow, UserRow},
    tokens::new_refresh_token,
    totp,
};
use crate::{crypto::sha256_hex, db::Tx, email::templates, error::ApiError, state::AppState};

pub const REFRESH_COOKIE: &str = "nf_refresh";
pub const COOKIE_PATH: &str = "/api/v1/auth";
pub const VERIFY_TTL_HOURS: i64 = 24;
pub const RESET_TTL_HOURS: i64 = 1;
pub const EMAIL_THROTTLE_MINUTES: i64 = 5;

/// Where a request came from, for the session record.
#[derive(Debug, Clone)]
pub struct Origin {
    pub user_agent: Option<String>,
    pub ip: String,
    pub device_header: Option<String>,
}

impl Origin {
    pub fn new(headers: &HeaderMap, ip: std::net::IpAddr) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().chars().take(500).collect::<String>())
                .filter(|v| !v.is_empty())
        };
        Origin {
            user_agent: text("user-agent"),
            ip: ip.to_string(),
            device_header: text("x-device-name"),
        }
    }

    /// The session label: the client's own name for itself, else one derived from the User-Agent.
    pub fn device_name(&self, requested: Option<&str>) -> String {
        requested
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .or(self.device_header.as_deref())
            .map(|s| s.chars().take(100).collect())
            .unwrap_or_else(|| device::label(self.user_agent.as_deref()))
    }
}

/// Creates a session for `user` inside `tx`; returns it with its refresh token (shown once).
pub async fn create_session(
    state: &AppState,
    tx: &mut Tx,
    user: &UserRow,
    origin: &Origin,
    device_name: &str,
    now: DateTime<Utc>,
) -> Result<(SessionRow, String), ApiError> {
    let refresh = new_refresh_token();
    let hash = sha256_hex(&refresh);
    let session = store::insert_session(
        tx,
        &NewSession {
            user_id: user.id,
            refresh_hash: &hash,
            device_name,
            user_agent: origin.user_agent.as_deref(),
            ip_address: Some(&origin.ip),
            expires_at: now + refresh_ttl(state),
        },
        now,
    )
    .await?;
    Ok((session, refresh))
}

pub fn refresh_ttl(state: &AppState) -> Duration {
    Duration::from_std(state.settings.refresh_token_ttl).unwrap_or(Duration::days(30))
}

/// The token response; in cookie mode the refresh token goes only into the `nf_refresh` cookie.
pub fn token_response(
    state: &AppState,
    status: StatusCode,
    user: &UserRow,
    session_id: Uuid,
    refresh: String,
    mode: RefreshIn,
) -> Response {
    let now = Utc::now().timestamp();
    let body = TokenOut {
        access_token: state.tokens.issue(user.id, session_id, now),
        token_type: "bearer",
        expires_in: state.settings.access_token_ttl.as_secs(),
        refresh_token: (mode == RefreshIn::Body).then(|| refresh.clone()),
        session_id,
        user: UserOut::from(user),
    };
    let mut res = (status, Json(body)).into_response();
    if mode == RefreshIn::Cookie {
        set_cookie(state, res.headers_mut(), &refresh, refresh_ttl(state).num_seconds());
    }
    res
}

fn set_cookie(state: &AppState, headers: &mut HeaderMap, value: &str, max_age: i64) {
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{REFRESH_COOKIE}={value}; HttpOnly; SameSite=Strict; Path={COOKIE_PATH}; Max-Age={max_age}{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Expires the refresh cookie.
pub fn clear_cookie(state: &AppState, headers: &mut HeaderMap) {
    set_cookie(state, headers, "", 0);
}

/// The refresh token from the `nf_refresh` cookie, if sent.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Checks a second factor (a TOTP code, or else a recovery code) for a user with 2FA on, recording its
/// use inside `tx` so the same code never works twice.
pub async fn check_second_factor(state: &AppState, tx: &mut Tx, user: &UserRow, code: &str) -> Result<bool, ApiError> {
    let Some(sealed) = user.totp_secret.as_deref() else {
        return Ok(false);
    };
    let secret = state
        .secret_box
        .open(sealed)
        .ok_or_else(|| ApiError::internal("TOTP secret cannot be decrypted (was SECRET_KEY changed?)"))?;
    let now = Utc::now().timestamp().max(0) as u64;
    if let Some(step) = totp::matching_step(&secret, code, now) {
        return Ok(store::accept_totp_step(tx, user.id, step).await?);
    }
    let normalized = totp::normalize_recovery_code(code);
    if normalized.len() != 8 {
        return Ok(false);
    }
    Ok(store::use_recovery_code(tx, user.id, &sha256_hex(&normalized), crate::db::now()).await?)
}

/// Creates a verification token for `email` and queues the message, both inside `tx` (so it is sent
/// exactly when the change commits); false when throttled: with `throttle`, nothing is created when one
/// was sent in the last five minutes.
pub async fn verification_email(
    state: &AppState,
    tx: &mut Tx,
    user: &UserRow,
    email: &str,
    throttle: bool,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    if throttle && recently_sent(tx, user.id, store::VERIFY_EMAIL, now).await? {
        return Ok(false);
    }
    let token = crate::crypto::random_token(32);
    store::insert_token(
        tx,
        user.id,
        store::VERIFY_EMAIL,
        &sha256_hex(&token),
        email,
        now,
        now + Duration::hours(VERIFY_TTL_HOURS),
    )
    .await?;
    let link = format!("{}/verify-email?token={token}", state.settings.public_url);
    let mail = templates::verify_email(email, &user.full_name, &link);
    crate::jobs::email::enqueue(state, tx, &mail).await?;
    Ok(true)
}

/// Creates a password-reset token and queues the message inside `tx`, unless one was sent in the last
/// five minutes (then false).
pub async fn reset_email(state: &AppState, tx: &mut Tx, user: &UserRow, now: DateTime<Utc>) -> Result<bool, ApiError> {
    if recently_sent(tx, user.id, store::PASSWORD_RESET, now).await? {
        return Ok(false);
    }
    let token = crate::crypto::random_token(32);
    store::insert_token(
        tx,
        user.id,
        store::PASSWORD_RESET,
        &sha256_hex(&token),
        &user.email,
        now,
        now + Duration::hours(RESET_TTL_HOURS),
    )
    .await?;
    let link = format!("{}/reset-password?token={token}", state.settings.public_url);
    let mail = templates::password_reset(&user.email, &user.full_name, &link);
    crate::jobs::email::enqueue(state, tx, &mail).await?;
    Ok(true)
}

async fn recently_sent(tx: &mut Tx, user_id: Uuid, purpose: &str, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let last = store::last_token_sent(tx, user_id, purpose).await?;
    Ok(last.is_some_and(|t| now - t < Duration::minutes(EMAIL_THROTTLE_MINUTES)))
}

/// Maps a unique violation on `users.email` to 409 `email_taken`.
pub fn email_taken(e: sqlx::Error) -> ApiError {
    let unique = e
        .as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation);
    if unique {
        ApiError::conflict("email_taken", "An account with this email address already exists.")
    } else {
        e.into()
    }
}

pub fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "The email or password is incorrect.")
}
