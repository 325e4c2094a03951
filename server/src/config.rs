//! Typed settings from environment variables (and `.env` in development), validated at start-up.
//!
//! Every value that cannot be parsed stops start-up with one line naming the variable; production adds
//! the safety rules of `spec/api.md` §8 (secret key, CORS origins, `https://` public URL).

use std::{collections::HashMap, fmt, net::IpAddr, path::PathBuf, time::Duration};

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

/// Secret values shipped as examples in the repository (`.env.example`, docs). Production refuses them.
pub const EXAMPLE_SECRET_KEYS: &[&str] = &[
    "change-me-to-a-random-string-of-at-least-32-bytes",
    "dev-secret-key-change-me-dev-secret-key-change-me",
];

/// SHA-256 (hex) of secret keys that were once published and are burned: a development key committed as
/// `server/data/secret.key` until issue #10 (it is still in the git history). Production refuses them like
/// the example values. Only the hash is kept, so the value itself is not repeated in the source.
pub const BURNED_SECRET_KEY_SHA256: &[&str] = &["1c8a9e8221d763f23b42e3ea90f3bf78f87884153a0b6e08e8677143ddf3ea59"];

/// Whether `key` is one of the example values or a burned key: never acceptable in production.
pub fn is_known_secret_key(key: &str) -> bool {
    EXAMPLE_SECRET_KEYS.contains(&key) || BURNED_SECRET_KEY_SHA256.contains(&crate::crypto::sha256_hex(key).as_str())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
    pub fn is_production(self) -> bool {
        self == Environment::Production
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailBackend {
    Log,
    File,
    Smtp,
}

/// Everything the server is configured with. Built once at start-up; shared read-only.
#[derive(Clone)]
pub struct Settings {
    pub environment: Environment,
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    pub redis_url: Option<String>,
    pub secret_key: SecretString,
    pub public_url: String,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_reuse_grace: Duration,
    pub idempotency_ttl: Duration,
    pub cleanup_interval: Duration,
    pub rate_limiting: bool,
    pub rate_limit_window: Duration,
    pub rate_limit_auth: u32,
    /// `POST /auth/refresh` per session and window.
    pub rate_limit_refresh: u32,
    pub rate_limit_user: u32,
    pub rate_limit_anon: u32,
    /// Prefix of the limiter's Redis keys (instances sharing limits must share it).
    pub rate_limit_redis_prefix: String,
    pub threat_detection: bool,
    pub csp_reporting: bool,
    pub csp_report_sample_rate: f64,
    pub csp_report_only_policy: Option<String>,
    pub public_max_age: Duration,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// A connection's request head must arrive within this (spec §8).
    pub header_timeout: Duration,
    /// How long a keep-alive connection may idle between requests.
    pub keep_alive_timeout: Duration,
    pub shutdown_delay: Duration,
    pub shutdown_timeout: Duration,
    pub registration_open: bool,
    pub community_require_verified: bool,
    pub max_projects_per_user: u32,
    /// Support tickets a signed-in user may have (anonymous ones are bounded by the `auth` tier).
    pub max_tickets_per_user: u32,
    pub max_posts_per_user: u32,
    /// Stored `Idempotency-Key` results keep their body only up to this size (see `http/idempotency.rs`).
    pub idempotency_max_stored_bytes: usize,
    pub admin_email: Option<String>,
    pub admin_password: Option<SecretString>,
    pub email_backend: EmailBackend,
    pub email_outbox_dir: PathBuf,
    pub email_from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_tls: bool,
    pub metrics_token: Option<SecretString>,
    pub job_max_attempts: u32,
    /// Run the job workers and periodic tasks inside `neoforge serve` (`neoforge worker` always runs them).
    pub job_workers: bool,
    /// Jobs one worker pool runs at once.
    pub job_concurrency: u32,
    /// How often an idle pool looks for jobs enqueued by other processes (its own wake it at once).
    pub job_poll_interval: Duration,
    /// How long a claim lasts without renewal: a running job's worker renews it, so a job whose worker
    /// vanished is claimed again after at most this.
    pub job_visibility_timeout: Duration,
    /// How long one attempt of a job may run before it is stopped and counted as failed.
    pub job_timeout: Duration,
    /// The first retry delay; each further attempt doubles it (capped at one hour), with jitter.
    pub job_backoff_base: Duration,
    /// Per-task intervals of the periodic maintenance (each defaults to `CLEANUP_INTERVAL`).
    pub cleanup_intervals: CleanupIntervals,
    pub audit_retention_days: u32,
    /// OTLP/HTTP collector base URL (`http://…`; `/v1/traces` is appended unless given).
    pub otel_endpoint: Option<String>,
    pub otel_service_name: String,
    /// `OTEL_TRACES_SAMPLER` (+ `_ARG`), default `parentbased_always_on`.
    pub otel_sampler: OtelSampler,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of debug output; `check-config` prints this.
        f.debug_struct("Settings")
            .field("environment", &self.environment.as_str())
            .field("listen", &format!("{}:{}", self.host, self.port))
            .field("database", &redact_url(&self.database_url))
            .field("redis", &self.redis_url.as_deref().map(redact_url))
            .field("public_url", &self.public_url)
            .field("cors_origins", &self.cors_origins)
            .field("log", &(&self.log_level, self.log_format))
            .field("email_backend", &self.email_backend)
            .finish_non_exhaustive()
    }
}

/// Hides the password part of a connection URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// A setting that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// Which traces are recorded and exported (the standard `OTEL_TRACES_SAMPLER` values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OtelSampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    /// Follow the caller's sampling decision (`traceparent`), else the inner rule.
    ParentBased(OtelRootSampler),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OtelRootSampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
}

impl OtelSampler {
    fn from_source(src: &Source) -> Result<OtelSampler, ConfigError> {
        let ratio = || -> Result<f64, ConfigError> {
            match src.raw("OTEL_TRACES_SAMPLER_ARG") {
                None => Ok(1.0),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        err(
                            "OTEL_TRACES_SAMPLER_ARG",
                            format!("expected a ratio from 0 to 1, got {v:?}"),
                        )
                    }),
            }
        };
        let name = src.raw("OTEL_TRACES_SAMPLER").map(|v| v.trim().to_ascii_lowercase());
        Ok(match name.as_deref().unwrap_or("parentbased_always_on") {
            "always_on" => OtelSampler::AlwaysOn,
            "always_off" => OtelSampler::AlwaysOff,
            "traceidratio" => OtelSampler::TraceIdRatio(ratio()?),
            "parentbased_always_on" => OtelSampler::ParentBased(OtelRootSampler::AlwaysOn),
            "parentbased_always_off" => OtelSampler::ParentBased(OtelRootSampler::AlwaysOff),
            "parentbased_traceidratio" => OtelSampler::ParentBased(OtelRootSampler::TraceIdRatio(ratio()?)),
            other => {
                return Err(err(
                    "OTEL_TRACES_SAMPLER",
                    format!(
                        "expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio, got {other:?}"
                    ),
                ));
            }
        })
    }
}

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// How often each periodic maintenance task runs (`CLEANUP_INTERVAL_<TASK>`, else `CLEANUP_INTERVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupIntervals {
    pub idempotency: Duration,
    pub sessions: Duration,
    pub tokens: Duration,
    pub audit: Duration,
    pub jobs: Duration,
}

impl CleanupIntervals {
    fn from_source(src: &Source<'_>, default: Duration) -> Result<Self, ConfigError> {
        Ok(Self {
            idempotency: src.duration("CLEANUP_INTERVAL_IDEMPOTENCY", default)?,
            sessions: src.duration("CLEANUP_INTERVAL_SESSIONS", default)?,
            tokens: src.duration("CLEANUP_INTERVAL_TOKENS", default)?,
            audit: src.duration("CLEANUP_INTERVAL_AUDIT", default)?,
            jobs: src.duration("CLEANUP_INTERVAL_JOBS", default)?,
        })
    }
}

/// Reads raw values by name; absent and empty are the same.
struct Source<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Source<'_> {
    fn raw(&self, var: &str) -> Option<String> {
        (self.0)(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn string(&self, var: &'static str, default: &str) -> String {
        self.raw(var).unwrap_or_else(|| default.to_string())
    }

    fn parsed<T: std::str::FromStr>(&self, var: &'static str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| err(var, format!("expected {what}, got {v:?}"))),
        }
    }

    fn boolean(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => parse_bool(&v).ok_or_else(|| err(var, format!("expected true/false/1/0, got {v:?}"))),
        }
    }

    fn duration(&self, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => parse_duration(&v).ok_or_else(|| {
                err(
                    var,
                    format!("expected a duration such as 15m, 2s, 24h or whole seconds, got {v:?}"),
                )
            }),
        }
    }

    fn list(&self, var: &'static str) -> Vec<String> {
        self.raw(var)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `true/false/1/0` (case-insensitive).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Humantime strings (`15m`, `2s`, `24h`, `1h 30m`) or plain integer seconds.
pub fn parse_duration(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(v).ok()
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
        let environment = match src.string("ENVIRONMENT", "development").to_ascii_lowercase().as_str() {
            "development" | "dev" => Environment::Development,
            "test" => Environment::Test,
            "staging" => Environment::Staging,
            "production" | "prod" => Environment::Production,
            other => {
                return Err(err(
                    "ENVIRONMENT",
                    format!("expected development, test, staging or production, got {other:?}"),
                ));
            }
        };
        let prod = environment.is_production();
        let data_dir = PathBuf::from(src.string("DATA_DIR", "data"));

        let log_format = match src.raw("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
            None => {
                if prod {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }
            Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(err("LOG_FORMAT", format!("expected text or json, got {other:?}"))),
        };
        let email_backend = match src.raw("EMAIL_BACKEND").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("log") => EmailBackend::Log,
            Some("file") => EmailBackend::File,
            Some("smtp") => EmailBackend::Smtp,
            Some(other) => {
                return Err(err(
                    "EMAIL_BACKEND",
                    format!("expected log, file or smtp, got {other:?}"),
                ));
            }
        };

        let public_url = src
            .string("PUBLIC_URL", "http://localhost:8000")
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(err("PUBLIC_URL", "expected an http:// or https:// URL"));
        }

        let mut trusted_proxies = Vec::new();
        for item in src.list("TRUSTED_PROXIES") {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    err(
                        "TRUSTED_PROXIES",
                        format!("expected CIDRs such as 10.0.0.0/8, got {item:?}"),
                    )
                })?;
            trusted_proxies.push(net);
        }

        let cors_origins = src.list("CORS_ORIGINS");
        for origin in &cors_origins {
            let valid = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/')
                    && origin.parse::<axum::http::HeaderValue>().is_ok());
            if !valid {
                return Err(err(
                    "CORS_ORIGINS",
                    format!("expected origins such as https://app.example.com, got {origin:?}"),
                ));
            }
        }

        let sample_rate: f64 = src.parsed("CSP_REPORT_SAMPLE_RATE", 1.0, "a number between 0 and 1")?;
        if !(0.0..=1.0).contains(&sample_rate) {
            return Err(err("CSP_REPORT_SAMPLE_RATE", "expected a number between 0 and 1"));
        }

        let max_body_bytes: usize = src.parsed("MAX_BODY_BYTES", 1_048_576, "a number of bytes")?;
        if max_body_bytes == 0 {
            return Err(err("MAX_BODY_BYTES", "must be greater than 0"));
        }

        let cleanup_interval = src.duration("CLEANUP_INTERVAL", Duration::from_secs(3600))?;
        let settings = Settings {
            environment,
            host: src.parsed("HOST", IpAddr::from([127, 0, 0, 1]), "an IP address")?,
            port: src.parsed("PORT", 8000, "a port number")?,
            database_url: src.string("DATABASE_URL", "sqlite://data/neoforge.db"),
            database_max_connections: src.parsed("DATABASE_MAX_CONNECTIONS", 10, "a number")?,
            redis_url: src.raw("REDIS_URL"),
            secret_key: SecretString::from(src.raw("SECRET_KEY").unwrap_or_default()),
            public_url,
            cors_origins,
            trusted_proxies,
            log_level: src.string("LOG_LEVEL", "info"),
            log_format,
            access_token_ttl: src.duration("ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?,
            refresh_token_ttl: src.duration("REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86_400))?,
            refresh_reuse_grace: src.duration("REFRESH_REUSE_GRACE", Duration::ZERO)?,
            idempotency_ttl: src.duration("IDEMPOTENCY_TTL", Duration::from_secs(86_400))?,
            cleanup_interval,
            rate_limiting: src.boolean("RATE_LIMITING", true)?,
            rate_limit_window: src.duration("RATE_LIMIT_WINDOW", Duration::from_secs(60))?,
            rate_limit_auth: src.parsed("RATE_LIMIT_AUTH", 10, "a number")?,
            rate_limit_refresh: src.parsed("RATE_LIMIT_REFRESH", 60, "a number")?,
            rate_limit_user: src.parsed("RATE_LIMIT_USER", 300, "a number")?,
            rate_limit_anon: src.parsed("RATE_LIMIT_ANON", 100, "a number")?,
            rate_limit_redis_prefix: src.string("RATE_LIMIT_REDIS_PREFIX", "neoforge:rl:"),
            threat_detection: src.boolean("THREAT_DETECTION", true)?,
            csp_reporting: src.boolean("CSP_REPORTING", !prod)?,
            csp_report_sample_rate: sample_rate,
            csp_report_only_policy: src.raw("CSP_REPORT_ONLY_POLICY"),
            public_max_age: src.duration("PUBLIC_MAX_AGE", Duration::from_secs(if prod { 15 } else { 5 }))?,
            max_body_bytes,
            request_timeout: src.duration("REQUEST_TIMEOUT", Duration::from_secs(30))?,
            header_timeout: src.duration("HEADER_TIMEOUT", Duration::from_secs(10))?,
            keep_alive_timeout: src.duration("KEEP_ALIVE_TIMEOUT", Duration::from_secs(60))?,
            shutdown_delay: src.duration("SHUTDOWN_DELAY", Duration::ZERO)?,
            shutdown_timeout: src.duration("SHUTDOWN_TIMEOUT", Duration::from_secs(30))?,
            registration_open: src.boolean("REGISTRATION_OPEN", true)?,
            community_require_verified: src.boolean("COMMUNITY_REQUIRE_VERIFIED", true)?,
            max_projects_per_user: src.parsed("MAX_PROJECTS_PER_USER", 1000, "a number")?,
            max_tickets_per_user: src.parsed("MAX_TICKETS_PER_USER", 1000, "a number")?,
            max_posts_per_user: src.parsed("MAX_POSTS_PER_USER", 10_000, "a number")?,
            idempotency_max_stored_bytes: src.parsed("IDEMPOTENCY_MAX_STORED_BYTES", 65_536, "a number of bytes")?,
            admin_email: src.raw("ADMIN_EMAIL"),
            admin_password: src.raw("ADMIN_PASSWORD").map(SecretString::from),
            email_backend,
            email_outbox_dir: src
                .raw("EMAIL_OUTBOX_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("outbox")),
            email_from: src.string("EMAIL_FROM", "NeoForge <no-reply@localhost>"),
            smtp_host: src.raw("SMTP_HOST"),
            smtp_port: src.parsed("SMTP_PORT", 587, "a port number")?,
            smtp_username: src.raw("SMTP_USERNAME"),
            smtp_password: src.raw("SMTP_PASSWORD").map(SecretString::from),
            smtp_tls: src.boolean("SMTP_TLS", true)?,
            metrics_token: src.raw("METRICS_TOKEN").map(SecretString::from),
            job_max_attempts: src.parsed("JOB_MAX_ATTEMPTS", 8, "a number")?,
            job_workers: src.boolean("JOB_WORKERS", true)?,
            job_concurrency: src.parsed("JOB_CONCURRENCY", 4, "a number")?,
            job_poll_interval: src.duration("JOB_POLL_INTERVAL", Duration::from_secs(1))?,
            job_visibility_timeout: src.duration("JOB_VISIBILITY_TIMEOUT", Duration::from_secs(60))?,
            job_timeout: src.duration("JOB_TIMEOUT", Duration::from_secs(600))?,
            job_backoff_base: src.duration("JOB_BACKOFF_BASE", Duration::from_secs(30))?,
            cleanup_intervals: CleanupIntervals::from_source(&src, cleanup_interval)?,
            audit_retention_days: src.parsed("AUDIT_RETENTION_DAYS", 365, "a number of days")?,
            otel_endpoint: match src.raw("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.trim().is_empty()) {
                Some(url) if url.starts_with("http://") => Some(url.trim_end_matches('/').to_string()),
                Some(_) => {
                    return Err(err(
                        "OTEL_EXPORTER_OTLP_ENDPOINT",
                        "must be an http:// URL of a collector (OTLP/HTTP, usually port 4318); send to a local collector, which forwards over TLS",
                    ));
                }
                None => None,
            },
            otel_service_name: src.string("OTEL_SERVICE_NAME", "neoforge"),
            otel_sampler: OtelSampler::from_source(&src)?,
            data_dir,
        };
        settings.check_limits()?;
        if settings.email_backend == EmailBackend::Smtp && settings.smtp_host.is_none() {
            return Err(err("SMTP_HOST", "required when EMAIL_BACKEND=smtp"));
        }
        if prod {
            settings.check_production()?;
        }
        Ok(settings)
    }

    /// Rate limits and the report-only policy must be usable as they are.
    fn check_limits(&self) -> Result<(), ConfigError> {
        for (var, limit) in [
            ("RATE_LIMIT_AUTH", self.rate_limit_auth),
            ("RATE_LIMIT_REFRESH", self.rate_limit_refresh),
            ("RATE_LIMIT_USER", self.rate_limit_user),
            ("RATE_LIMIT_ANON", self.rate_limit_anon),
        ] {
            if limit == 0 {
                return Err(err(
                    var,
                    "must be at least 1 (turn limiting off with RATE_LIMITING=false)",
                ));
            }
        }
        if self.rate_limit_window < Duration::from_secs(1) {
            return Err(err("RATE_LIMIT_WINDOW", "must be at least 1s"));
        }
        if self.job_max_attempts == 0 {
            return Err(err("JOB_MAX_ATTEMPTS", "must be at least 1"));
        }
        if self.job_concurrency == 0 {
            return Err(err("JOB_CONCURRENCY", "must be at least 1"));
        }
        let c = &self.cleanup_intervals;
        for (var, value) in [
            ("CLEANUP_INTERVAL", self.cleanup_interval),
            ("CLEANUP_INTERVAL_IDEMPOTENCY", c.idempotency),
            ("CLEANUP_INTERVAL_SESSIONS", c.sessions),
            ("CLEANUP_INTERVAL_TOKENS", c.tokens),
            ("CLEANUP_INTERVAL_AUDIT", c.audit),
            ("CLEANUP_INTERVAL_JOBS", c.jobs),
            ("JOB_POLL_INTERVAL", self.job_poll_interval),
            ("JOB_BACKOFF_BASE", self.job_backoff_base),
            ("JOB_TIMEOUT", self.job_timeout),
            ("HEADER_TIMEOUT", self.header_timeout),
            ("KEEP_ALIVE_TIMEOUT", self.keep_alive_timeout),
        ] {
            if value.is_zero() {
                return Err(err(var, "must be longer than 0s"));
            }
        }
        if self.job_visibility_timeout < Duration::from_secs(1) {
            return Err(err("JOB_VISIBILITY_TIMEOUT", "must be at least 1s"));
        }
        if let Some(policy) = &self.csp_report_only_policy
            && policy.parse::<axum::http::HeaderValue>().is_err()
        {
            return Err(err("CSP_REPORT_ONLY_POLICY", "is not a valid header value"));
        }
        Ok(())
    }

    /// The rules production adds (`spec/api.md` §8).
    fn check_production(&self) -> Result<(), ConfigError> {
        let key = self.secret_key.expose_secret();
        if key.is_empty() {
            return Err(err("SECRET_KEY", "required in production"));
        }
        if key.len() < 32 {
            return Err(err("SECRET_KEY", "must be at least 32 bytes in production"));
        }
        if is_known_secret_key(key) {
            return Err(err(
                "SECRET_KEY",
                "is an example or published (burned) value from the repository; generate a new one",
            ));
        }
        if let Some(bad) = self.cors_origins.iter().find(|o| !o.starts_with("https://")) {
            return Err(err(
                "CORS_ORIGINS",
                format!("{bad:?} is not allowed in production (origins must be exact https:// origins, never *)"),
            ));
        }
        if !self.public_url.starts_with("https://") {
            return Err(err("PUBLIC_URL", "must be an https:// URL in production"));
        }
        Ok(())
    }

    /// Outside production, a missing `SECRET_KEY` is generated once into `<DATA_DIR>/secret.key` and kept.
    pub fn ensure_secret_key(&mut self) -> anyhow::Result<()> {
        if !self.secret_key.expose_secret().is_empty() {
            return Ok(());
        }
        let path = self.data_dir.join("secret.key");
        let key = match std::fs::read_to_string(&path) {
            // A key file holding a published value (the one once committed to the repository) is replaced.
            Ok(existing) if existing.trim().len() >= 32 && !is_known_secret_key(existing.trim()) => {
                existing.trim().to_string()
            }
            _ => {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                std::fs::create_dir_all(&self.data_dir)?;
                write_private(&path, &key)?;
                tracing::info!(path = %path.display(), "generated a development SECRET_KEY");
                key
            }
        };
        self.secret_key = SecretString::from(key);
        Ok(())
    }

    /// The API's base URL as clients should call it.
    pub fn api_base_url(&self) -> String {
        format!("{}/api/v1", self.public_url)
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

/// Writes `contents` to `path` readable by this user only (0600 on Unix).
pub(crate) fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_map(&map)
    }

    #[test]
    fn durations_accept_humantime_and_seconds() {
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-5"), None);
    }

    #[test]
    fn booleans_accept_four_spellings_only() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn defaults_match_the_configuration_table() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.port, 8000);
        assert_eq!(s.database_url, "sqlite://data/neoforge.db");
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(s.public_max_age, Duration::from_secs(5));
        assert_eq!(s.max_body_bytes, 1_048_576);
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.csp_reporting);
        assert_eq!(
            (s.rate_limit_auth, s.rate_limit_user, s.rate_limit_anon),
            (10, 300, 100)
        );
        assert_eq!(s.rate_limit_refresh, 60);
        assert_eq!(
            (s.header_timeout, s.keep_alive_timeout),
            (Duration::from_secs(10), Duration::from_secs(60))
        );
        assert_eq!(
            (s.max_projects_per_user, s.max_tickets_per_user, s.max_posts_per_user),
            (1000, 1000, 10_000)
        );
        assert_eq!(s.idempotency_max_stored_bytes, 65_536);
    }

    #[test]
    fn burned_and_example_keys_are_known() {
        assert!(is_known_secret_key(EXAMPLE_SECRET_KEYS[1]));
        assert!(!is_known_secret_key("a-fresh-secret-nobody-has-seen-0123456789"));
        for (var, value) in [
            ("HEADER_TIMEOUT", "0s"),
            ("KEEP_ALIVE_TIMEOUT", "never"),
            ("RATE_LIMIT_REFRESH", "0"),
            ("MAX_POSTS_PER_USER", "-1"),
        ] {
            assert_eq!(settings(&[(var, value)]).unwrap_err().var, var, "{var}={value}");
        }
    }

    #[test]
    fn unparsable_values_name_the_variable() {
        for (var, value) in [
            ("PORT", "eighty"),
            ("ACCESS_TOKEN_TTL", "soon"),
            ("RATE_LIMITING", "yes"),
            ("TRUSTED_PROXIES", "10.0.0.0/99"),
            ("ENVIRONMENT", "qa"),
            ("MAX_BODY_BYTES", "1MB"),
            ("CORS_ORIGINS", "not a url"),
            ("LOG_FORMAT", "xml"),
            ("CSP_REPORT_SAMPLE_RATE", "2"),
            ("RATE_LIMIT_AUTH", "0"),
            ("RATE_LIMIT_WINDOW", "0s"),
        ] {
            let e = settings(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{e}");
            assert!(e.to_string().starts_with(&format!("invalid setting {var}")), "{e}");
        }
    }

    #[test]
    fn production_rules() {
        let good_key = "0123456789abcdef0123456789abcdef-prod";
        let base = [
            ("ENVIRONMENT", "production"),
            ("SECRET_KEY", good_key),
            ("PUBLIC_URL", "https://app.example.com"),
        ];
        let s = settings(&base).unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(!s.csp_reporting);
        assert_eq!(s.public_max_age, Duration::from_secs(15));

        let with = |k: &'static str, v: &'static str| {
            let mut pairs: Vec<(&str, &str)> = base.iter().filter(|(key, _)| *key != k).copied().collect();
            pairs.push((k, v));
            settings(&pairs).unwrap_err().var
        };
        assert_eq!(with("SECRET_KEY", ""), "SECRET_KEY");
        assert_eq!(with("SECRET_KEY", "short"), "SECRET_KEY");
        assert_eq!(with("SECRET_KEY", EXAMPLE_SECRET_KEYS[0]), "SECRET_KEY");
        assert_eq!(with("CORS_ORIGINS", "*"), "CORS_ORIGINS");
        assert_eq!(with("CORS_ORIGINS", "http://app.example.com"), "CORS_ORIGINS");
        assert_eq!(with("PUBLIC_URL", "http://app.example.com"), "PUBLIC_URL");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn job_and_cleanup_settings_have_defaults_overrides_and_limits() {
        let s = settings(&[]).unwrap();
        assert!(s.job_workers);
        assert_eq!((s.job_max_attempts, s.job_concurrency), (8, 4));
        assert_eq!(s.job_visibility_timeout, Duration::from_secs(60));
        assert_eq!(s.job_timeout, Duration::from_secs(600));
        assert_eq!(s.cleanup_intervals.audit, Duration::from_secs(3600));
        let s = settings(&[
            ("CLEANUP_INTERVAL", "10m"),
            ("CLEANUP_INTERVAL_AUDIT", "1d"),
            ("JOB_WORKERS", "0"),
        ])
        .unwrap();
        assert!(!s.job_workers);
        assert_eq!(
            s.cleanup_intervals.sessions,
            Duration::from_secs(600),
            "the shared default"
        );
        assert_eq!(s.cleanup_intervals.audit, Duration::from_secs(86_400), "its own");
        for (var, value) in [
            ("JOB_MAX_ATTEMPTS", "0"),
            ("JOB_CONCURRENCY", "0"),
            ("JOB_VISIBILITY_TIMEOUT", "500ms"),
            ("JOB_POLL_INTERVAL", "0s"),
            ("CLEANUP_INTERVAL_TOKENS", "0"),
            ("JOB_BACKOFF_BASE", "soon"),
            ("JOB_TIMEOUT", "0s"),
        ] {
            assert_eq!(settings(&[(var, value)]).unwrap_err().var, var, "{var}={value}");
        }
    }
}
