//! `POST /auth/refresh`: rotate a refresh token (from the body or the `nf_refresh` cookie). The rotation
//! itself is `auth::refresh::rotate`; this maps its outcome to HTTP.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use crate::error::Code;
use crate::http::client_ip::ClientIp;
use crate::{
    auth::{
        model::*,
        refresh::{RefreshOutcome, rotate},
        service,
    },
    db::now,
    error::{ApiError, ApiResult, Problem},
    http::extract::OptionalJson,
    state::AppState,
};

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        Code::InvalidRefreshToken,
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
    match rotate(&state, &token, ip, now()).await? {
        RefreshOutcome::Rotated {
            user,
            session_id,
            refresh_token,
        } => Ok(service::token_response(
            &state,
            StatusCode::OK,
            &user,
            session_id,
            refresh_token,
            mode,
        )),
        RefreshOutcome::ReuseDetected { .. } => {
            let mut res = ApiError::unauthorized(
                Code::RefreshTokenReused,
                "This refresh token was already used. Every session of the account was signed out.",
            )
            .into_response();
            service::clear_cookie(&state, res.headers_mut());
            Ok(res)
        }
        RefreshOutcome::WithinGrace
        | RefreshOutcome::Expired
        | RefreshOutcome::InactiveUser
        | RefreshOutcome::Unknown => Err(invalid_refresh()),
    }
}
