//! `POST /auth/refresh`: rotate a refresh token (from the body or the `nf_refresh` cookie).

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{
    audit::{self, Entry},
    auth::{model::*, service, store},
    crypto::sha256_hex,
    db::now,
    error::{ApiError, ApiResult, Problem},
    http::{auth::ClientIp, extract::OptionalJson},
    state::AppState,
};

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "The refresh token is invalid, expired or revoked.",
    )
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
        let new_token = crate::auth::tokens::new_refresh_token();
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
