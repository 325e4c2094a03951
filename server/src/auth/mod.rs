//! Accounts: registration, sign-in, refresh-token sessions with reuse detection, email flows, TOTP 2FA,
//! the signed-in user's account (`/users/me`) and user management for administrators.

pub mod admin;
pub mod bootstrap;
pub mod device;
pub mod extract;
pub mod handlers;
pub mod maintenance;
pub mod me;
pub mod model;
pub mod password;
pub mod refresh;
pub mod service;
pub mod session_cache;
pub mod store;
pub mod tokens;
pub mod totp;

pub use extract::{AdminUser, AuthUser, bearer};

use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// Routes under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    let auth = OpenApiRouter::new()
        .routes(routes!(handlers::registration::register))
        .routes(routes!(handlers::sign_in::token))
        .routes(routes!(handlers::sign_in::login))
        .routes(routes!(handlers::refresh::refresh))
        .routes(routes!(handlers::sign_out::logout))
        .routes(routes!(handlers::sign_out::logout_all))
        .routes(routes!(handlers::sessions::list_sessions))
        .routes(routes!(handlers::sessions::rename_session))
        .routes(routes!(handlers::sessions::revoke_session))
        .routes(routes!(handlers::sessions::revoke_others))
        .routes(routes!(handlers::email_flows::verify_email))
        .routes(routes!(handlers::email_flows::resend_verification))
        .routes(routes!(handlers::email_flows::password_reset))
        .routes(routes!(handlers::email_flows::password_reset_confirm))
        .routes(routes!(handlers::two_factor::totp_setup))
        .routes(routes!(handlers::two_factor::totp_enable))
        .routes(routes!(handlers::two_factor::totp_disable))
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
