//! The deployment [`Environment`] (`ENVIRONMENT`), which decides defaults and the production rules.

use super::source::{ConfigError, Source, err};

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

    pub(super) fn from_source(src: &Source<'_>) -> Result<Environment, ConfigError> {
        Ok(
            match src.string("ENVIRONMENT", "development").to_ascii_lowercase().as_str() {
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
            },
        )
    }
}
