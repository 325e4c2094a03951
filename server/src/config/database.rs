//! `settings.database`: the database (`DATABASE_URL`, `DATABASE_MAX_CONNECTIONS`) and the optional Redis
//! (`REDIS_URL`), plus [`redact_url`] to print their URLs without passwords.

use super::source::{ConfigError, Source};

/// Where state lives.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    /// Shared cache and rate-limit counters, when several instances run.
    pub redis_url: Option<String>,
}

impl DatabaseSettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            url: src.string("DATABASE_URL", "sqlite://data/neoforge.db"),
            max_connections: src.parsed("DATABASE_MAX_CONNECTIONS", 10, "a number")?,
            redis_url: src.raw("REDIS_URL"),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
