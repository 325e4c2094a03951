//! Authentication visible in handler signatures: `AuthUser` (and `Option<AuthUser>`) and `AdminUser`.
//! An authenticated request costs one indexed query (live session joined to an active user), unless the
//! session was read a moment ago and nothing changed it since (`auth::session_cache`).

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{header, request::Parts},
};
use uuid::Uuid;

use crate::error::Code;
use crate::{auth::store::UserRow, db::Backend, error::ApiError, http::context::SignedIn, state::AppState};

/// A signed-in, active user with a live session.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: UserRow,
    pub session_id: Uuid,
}

/// An `AuthUser` with `is_admin`; anyone else gets 403 `forbidden`.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

/// The bearer token of the request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized(Code::InvalidToken, "The access token is invalid, expired or revoked.")
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<AuthUser>, ApiError> {
    if parts.headers.get(header::AUTHORIZATION).is_none() {
        return Ok(None);
    }
    let token = bearer(parts).ok_or_else(invalid_token)?;
    // The rate limiter has verified this request's token already when it is on.
    let claims = match parts.extensions.get::<crate::auth::tokens::AccessClaims>() {
        Some(verified) => *verified,
        None => state.tokens.verify(token).ok_or_else(invalid_token)?,
    };
    let now = crate::db::now();
    let cache = crate::auth::session_cache::global();
    // On PostgreSQL other instances change sessions too: the cache is trusted only while this process
    // hears their changes.
    let cacheable = state.db.backend() == Backend::Sqlite || cache.feed_is_listening();
    if cacheable && let Some(user) = cache.get(claims.session_id, claims.user_id, now) {
        return Ok(Some(AuthUser {
            user,
            session_id: claims.session_id,
        }));
    }
    let generation = cache.generation();
    let live = crate::auth::store::authenticate(&state.db, claims.session_id, claims.user_id, now)
        .await?
        .ok_or_else(invalid_token)?;
    if cacheable {
        cache.put(
            generation,
            claims.session_id,
            live.user.clone(),
            live.session_expires_at,
        );
    }
    Ok(Some(AuthUser {
        user: live.user,
        session_id: claims.session_id,
    }))
}

/// Keeps the user for later extractors of the same request, and its id for the `http` pieces that scope by
/// user ([`SignedIn`], e.g. idempotency keys).
fn remember(parts: &mut Parts, user: &AuthUser) {
    parts.extensions.insert(user.clone());
    parts.extensions.insert(SignedIn(user.user.id));
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let user = authenticate(parts, state).await?.ok_or_else(|| {
            ApiError::unauthorized(
                Code::NotAuthenticated,
                "Sign in: this route needs a bearer access token.",
            )
        })?;
        remember(parts, &user);
        Ok(user)
    }
}

/// `Option<AuthUser>`: anonymous when no `Authorization` header; a bad token is still 401.
impl OptionalFromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, ApiError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(Some(user.clone()));
        }
        let user = authenticate(parts, state).await?;
        if let Some(u) = &user {
            remember(parts, u);
        }
        Ok(user)
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if !user.user.is_admin {
            return Err(ApiError::forbidden("This route is for administrators."));
        }
        Ok(AdminUser(user))
    }
}
