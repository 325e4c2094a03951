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
use crate::error::Code;
use crate::{crypto::sha256_hex, db::Tx, email::templates, error::ApiError, state::AppState};

pub const REFRESH_COOKIE: &str = "nf_refresh";
pub const COOKIE_PATH: &str = "/api/v1/auth";
pub const VERIFY_TTL_HOURS: i64 = 24;
pub const RESET_TTL_HOURS: i64 = 1;
pub const EMAIL_THROTTLE_MINUTES: i64 = 5;
/// Failed sign-ins for one email (from any number of addresses) that lock it for the rest of the window.
pub const LOCKOUT_FAILURES: i64 = 10;
/// The per-account failure window, from its first failure.
pub const LOCKOUT_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

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
    Duration::from_std(state.settings.auth.refresh_token_ttl).unwrap_or(Duration::days(30))
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
        expires_in: state.settings.auth.access_token_ttl.as_secs(),
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
    let secure = if state.settings.server.public_url.starts_with("https://") {
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
    let link = format!("{}/verify-email?token={token}", state.settings.server.public_url);
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
    let link = format!("{}/reset-password?token={token}", state.settings.server.public_url);
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
        ApiError::conflict(Code::EmailTaken, "An account with this email address already exists.")
    } else {
        e.into()
    }
}

pub fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(Code::InvalidCredentials, "The email or password is incorrect.")
}

/// Refuses (409 `last_admin`) a change that would leave no active administrator: `user_id` stops being one
/// (deactivated, demoted or deleted). Locks the administrators first, so concurrent demotions cannot both
/// pass (spec §1.3).
pub async fn ensure_not_last_admin(tx: &mut Tx, user_id: Uuid) -> Result<(), ApiError> {
    let admins = store::lock_active_admins(tx).await?;
    if admins.contains(&user_id) && admins.iter().all(|id| *id == user_id) {
        return Err(ApiError::conflict(
            Code::LastAdmin,
            "This is the last active administrator: promote another account first.",
        ));
    }
    Ok(())
}

/// 400 `invalid_credentials` for a wrong current password on a signed-in user's sensitive change.
pub fn wrong_password() -> ApiError {
    ApiError::bad_request(Code::InvalidCredentials, "The password is incorrect.")
}

/// The key of an email's failure count: a hash, so no address is stored in clear.
pub fn lockout_key(email: &str) -> String {
    sha256_hex(&format!("login-failures:{}", email.trim().to_lowercase()))
}

/// 429 `rate_limited` while the account is locked: `Some(retry_after)` after `LOCKOUT_FAILURES` failures
/// within the current window (spec §1.3); even a correct password does not sign in until it passes.
pub async fn account_locked(state: &AppState, key: &str, now: DateTime<Utc>) -> Result<Option<u64>, ApiError> {
    let Some((failures, started)) = store::login_failures(&state.db, key).await? else {
        return Ok(None);
    };
    let ends = started + Duration::from_std(LOCKOUT_WINDOW).unwrap_or_default();
    if failures < LOCKOUT_FAILURES || ends <= now {
        return Ok(None);
    }
    Ok(Some(
        ((ends - now).num_milliseconds().max(0) as u64).div_ceil(1000).max(1),
    ))
}

/// The refusal of a sign-in to a locked account.
pub fn account_locked_error(route: &'static str, retry_after: u64) -> ApiError {
    metrics::counter!("rate_limit_violations_total", "tier" => "account", "route" => route).increment(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        format!("Too many failed sign-ins for this account; retry in {retry_after} s."),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
}

/// Counts a failed sign-in for the account inside `tx`.
pub async fn count_login_failure(tx: &mut Tx, key: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    let window_start = now - Duration::from_std(LOCKOUT_WINDOW).unwrap_or_default();
    Ok(store::record_login_failure(tx, key, now, window_start).await?)
}

/// Cookie mode accepts only same-origin requests (spec §1.3): a cross-site form could otherwise sign a
/// victim in (login CSRF) or use their `nf_refresh` cookie. An `Origin` must be `PUBLIC_URL`'s origin or
/// one of `CORS_ORIGINS`; without an `Origin`, `Sec-Fetch-Site: cross-site` is refused. A request with
/// neither header (a non-browser client) cannot have been forged by a page, and passes.
pub fn check_same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            Code::CsrfRejected,
            "Cookie sign-in is accepted only from this application's own origin.",
        )
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| refused())?.trim();
        let public = url::Url::parse(&state.settings.server.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let allowed = origin == public || state.settings.security.cors_origins.iter().any(|o| o == origin);
        return if allowed { Ok(()) } else { Err(refused()) };
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("cross-site"));
    if cross_site { Err(refused()) } else { Ok(()) }
}
