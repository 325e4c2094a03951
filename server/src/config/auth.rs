//! `settings.auth`: token lifetimes, refresh-token reuse grace, open registration and the bootstrap
//! administrator (`ADMIN_EMAIL`, `ADMIN_PASSWORD`).

use std::time::Duration;

use secrecy::SecretString;

use super::source::{ConfigError, Source};

/// Accounts and sessions.
#[derive(Clone)]
pub struct AuthSettings {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A rotated-out refresh token presented again within this is refused without revoking the family.
    pub refresh_reuse_grace: Duration,
    pub registration_open: bool,
    pub admin_email: Option<String>,
    pub admin_password: Option<SecretString>,
}

impl AuthSettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            access_token_ttl: src.duration("ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?,
            refresh_token_ttl: src.duration("REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86_400))?,
            refresh_reuse_grace: src.duration("REFRESH_REUSE_GRACE", Duration::ZERO)?,
            registration_open: src.boolean("REGISTRATION_OPEN", true)?,
            admin_email: src.raw("ADMIN_EMAIL"),
            admin_password: src.raw("ADMIN_PASSWORD").map(SecretString::from),
        })
    }
}
