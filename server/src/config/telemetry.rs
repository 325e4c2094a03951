//! `settings.telemetry`: logs (`LOG_LEVEL`, `LOG_FORMAT`), the OpenTelemetry export (`OTEL_*`) and the
//! `/metrics` token.

use secrecy::SecretString;

use super::source::{ConfigError, Source, err};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs, traces and metrics.
#[derive(Clone)]
pub struct TelemetrySettings {
    pub log_level: String,
    pub log_format: LogFormat,
    /// Bearer token `GET /metrics` requires (`METRICS_TOKEN`).
    pub metrics_token: Option<SecretString>,
    /// OTLP/HTTP collector base URL (`http://…`; `/v1/traces` is appended unless given).
    pub otel_endpoint: Option<String>,
    pub otel_service_name: String,
    /// `OTEL_TRACES_SAMPLER` (+ `_ARG`), default `parentbased_always_on`.
    pub otel_sampler: OtelSampler,
}

impl TelemetrySettings {
    pub(super) fn from_source(src: &Source<'_>, prod: bool) -> Result<Self, ConfigError> {
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
        Ok(Self {
            log_level: src.string("LOG_LEVEL", "info"),
            log_format,
            metrics_token: src.raw("METRICS_TOKEN").map(SecretString::from),
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
            otel_sampler: OtelSampler::from_source(src)?,
        })
    }
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
