//! Accounts: registration, sign-in, refresh-token sessions with reuse detection, email flows, TOTP 2FA,
//! the signed-in user's account (`/users/me`) and user management for administrators.

pub mod admin;
pub mod bootstrap;
pub mod device;
pub mod handlers;
pub mod me;
pub mod model;
pub mod password;
pub mod service;
pub mod session_cache;
pub mod store;
pub mod tokens;
pub mod totp;

use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// Routes under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    let auth = OpenApiRouter::new()
        .routes(routes!(handlers::register))
        .routes(routes!(handlers::token))
        .routes(routes!(handlers::login))
        .routes(routes!(handlers::refresh))
        .routes(routes!(handlers::logout))
        .routes(routes!(handlers::logout_all))
        .routes(routes!(handlers::list_sessions))
        .routes(routes!(handlers::rename_session))
        .routes(routes!(handlers::revoke_session))
        .routes(routes!(handlers::revoke_others))
        .routes(routes!(handlers::verify_email))
        .routes(routes!(handlers::resend_verification))
        .routes(routes!(handlers::password_reset))
        .routes(routes!(handlers::password_reset_confirm))
        .routes(routes!(handlers::totp_setup))
        .routes(routes!(handlers::totp_enable))
        .routes(routes!(handlers::totp_disable))
        // Nothing under /auth may be cached: it is all credentials.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    OpenApiRouter::new()
        .merge(auth)
        .routes(routes!(me::get_me, me::update_me, me::delete_me))
        .routes(routes!(me::change_password))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::update_user))
}
