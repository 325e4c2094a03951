//! Logging: readable text in development, JSON lines in production. Request and trace ids come from
//! the request span opened by the request-id middleware, so they appear on every line of a request.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber (once per process; later calls are ignored).
pub fn init(settings: &Settings) {
    init_with(&settings.log_level, settings.log_format);
}

pub fn init_with(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(format!("{level},sqlx=warn,hyper=warn,tower_http=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
    };
    let _ = result;
}
