//! Logging: readable text in development, JSON lines in production with `timestamp, level, message,
//! target, request_id, trace_id` at the top level. The ids come from the request context (a task-local
//! set by the request-id middleware), so every line logged while serving a request carries them; the
//! fields of enclosing spans (a job's `job_id`, `queue`, `kind`, `attempt`) are added too.

use std::fmt;

use serde_json::{Map, Value};
use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::{JsonFields, Writer},
    },
    prelude::*,
    registry::LookupSpan,
};

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber (once per process; later calls are ignored): the log layer, and the
/// OpenTelemetry export layer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (call it inside the Tokio runtime).
pub fn init(settings: &Settings) {
    // Each layer has its own filter: LOG_LEVEL decides what is logged, not what is exported.
    let registry = tracing_subscriber::registry().with(log_layer(&settings.log_level, settings.log_format));
    let export = crate::otel::layer(settings);
    let _ = registry.with(export).try_init();
}

/// The log lines, filtered by `LOG_LEVEL` (a filter of this layer only: the export layer has its own).
fn log_layer(level: &str, format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    let filter = EnvFilter::try_new(format!("{level},sqlx=warn,hyper=warn,tower_http=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_filter(filter)
            .boxed(),
    }
}

/// One JSON object per line.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut map = Map::new();
        map.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        map.insert(
            "level".into(),
            Value::String(meta.level().as_str().to_ascii_lowercase()),
        );
        map.insert("target".into(), Value::String(meta.target().to_string()));
        if let Some(ctx) = crate::http::context::current() {
            map.insert("request_id".into(), Value::String(ctx.request_id.to_string()));
            map.insert("trace_id".into(), Value::String(ctx.trace_id.to_string()));
        }
        // Fields of the enclosing spans (a job's id, queue and kind), outermost first, so inner ones win.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    // `otel.*` fields steer the trace export (span name, kind, status); they are not log data.
                    map.extend(fields.into_iter().filter(|(k, _)| !k.starts_with("otel.")));
                }
            }
        }
        event.record(&mut Visitor(&mut map));
        map.entry("message").or_insert(Value::String(String::new()));
        writeln!(writer, "{}", Value::Object(map))
    }
}

struct Visitor<'a>(&'a mut Map<String, Value>);

impl tracing::field::Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::String(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}
