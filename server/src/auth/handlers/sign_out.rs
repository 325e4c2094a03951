//! Signing out: `POST /auth/logout` (one session) and `POST /auth/logout-all` (every session).

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::auth::AuthUser;
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    auth::{model::*, service, store},
    crypto::sha256_hex,
    db::now,
    error::{ApiError, ApiResult, Problem},
    http::extract::OptionalJson,
    state::AppState,
};

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
                        Code::InvalidRefreshToken,
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
