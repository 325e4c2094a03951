//! Typed settings from environment variables (and `.env` in development), validated at start-up.
//!
//! Every value that cannot be parsed stops start-up with one line naming the variable; production adds
//! the safety rules of `spec/api.md` §8 (secret key, CORS origins, `https://` public URL).
//!
//! [`Settings`] is grouped per concern, one file each: `server`, `security`, `database`, `auth`,
//! `rate_limit`, `idempotency`, `content`, `email`, `jobs`, `maintenance` and `telemetry`. `source.rs`
//! reads and parses raw values; `validate.rs` holds the checks that span groups.

mod auth;
mod content;
mod database;
mod email;
mod environment;
mod idempotency;
mod jobs;
mod maintenance;
mod rate_limit;
mod security;
mod server;
mod source;
mod telemetry;
#[cfg(test)]
mod tests;
mod validate;

use std::{collections::HashMap, fmt, path::PathBuf};

pub use auth::AuthSettings;
pub use content::ContentSettings;
pub use database::{DatabaseSettings, redact_url};
pub use email::{EmailBackend, EmailSettings};
pub use environment::Environment;
pub use idempotency::IdempotencySettings;
pub use jobs::JobSettings;
pub use maintenance::{CleanupIntervals, MaintenanceSettings};
pub use rate_limit::RateLimitSettings;
pub(crate) use security::write_private;
pub use security::{BURNED_SECRET_KEY_SHA256, EXAMPLE_SECRET_KEYS, SecuritySettings, is_known_secret_key};
pub use server::ServerSettings;
use source::Source;
pub use source::{ConfigError, parse_bool, parse_duration};
pub use telemetry::{LogFormat, OtelRootSampler, OtelSampler, TelemetrySettings};

/// Everything the server is configured with. Built once at start-up; shared read-only.
#[derive(Clone)]
pub struct Settings {
    pub environment: Environment,
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub security: SecuritySettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub idempotency: IdempotencySettings,
    pub content: ContentSettings,
    pub email: EmailSettings,
    pub jobs: JobSettings,
    pub maintenance: MaintenanceSettings,
    pub telemetry: TelemetrySettings,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of debug output; `check-config` prints this.
        f.debug_struct("Settings")
            .field("environment", &self.environment.as_str())
            .field("listen", &format!("{}:{}", self.server.host, self.server.port))
            .field("database", &redact_url(&self.database.url))
            .field("redis", &self.database.redis_url.as_deref().map(redact_url))
            .field("public_url", &self.server.public_url)
            .field("cors_origins", &self.security.cors_origins)
            .field("log", &(&self.telemetry.log_level, self.telemetry.log_format))
            .field("email_backend", &self.email.backend)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads the process environment; in development and test a `.env` file in the working directory
    /// fills in what the environment does not set.
    pub fn from_env() -> Result<Settings, ConfigError> {
        let declared = std::env::var("ENVIRONMENT").unwrap_or_default();
        if !declared.trim().eq_ignore_ascii_case("production") && !declared.trim().eq_ignore_ascii_case("staging") {
            dotenvy::dotenv().ok();
        }
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Builds settings from a map (tests).
    pub fn from_map(map: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        Self::from_lookup(&|k| map.get(k).cloned())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let src = Source(lookup);
        let environment = Environment::from_source(&src)?;
        let prod = environment.is_production();
        let data_dir = PathBuf::from(src.string("DATA_DIR", "data"));
        let settings = Settings {
            environment,
            telemetry: TelemetrySettings::from_source(&src, prod)?,
            email: EmailSettings::from_source(&src, &data_dir)?,
            server: ServerSettings::from_source(&src, prod)?,
            security: SecuritySettings::from_source(&src, prod)?,
            maintenance: MaintenanceSettings::from_source(&src)?,
            database: DatabaseSettings::from_source(&src)?,
            auth: AuthSettings::from_source(&src)?,
            idempotency: IdempotencySettings::from_source(&src)?,
            rate_limit: RateLimitSettings::from_source(&src)?,
            content: ContentSettings::from_source(&src)?,
            jobs: JobSettings::from_source(&src)?,
            data_dir,
        };
        settings.check_limits()?;
        settings.email.check()?;
        if prod {
            settings.check_production()?;
        }
        Ok(settings)
    }

    /// The API's base URL as clients should call it.
    pub fn api_base_url(&self) -> String {
        format!("{}/api/v1", self.server.public_url)
    }

    /// Test settings: everything default except what `overrides` names.
    pub fn for_tests(overrides: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let mut map: HashMap<String, String> = [
            ("ENVIRONMENT", "test"),
            ("SECRET_KEY", "test-secret-key-test-secret-key-0123456789"),
            ("EMAIL_BACKEND", "log"),
            // Tests make many requests from one address; the rate-limit tests turn limiting on.
            ("RATE_LIMITING", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        map.extend(overrides.clone());
        Self::from_map(&map)
    }
}
