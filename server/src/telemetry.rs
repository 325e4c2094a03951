//! Logging: readable text in development, JSON lines in production with `timestamp, level, message,
//! target, request_id, trace_id` at the top level. The ids come from the request context (a task-local
//! set by the request-id middleware), so every line logged while serving a request carries them; the
//! fields of enclosing spans (a job's `job_id`, `queue`, `kind`, `attempt`) are added too.

use std::fmt;

use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, format::Writer},
    prelude::*,
    registry::LookupSpan,
};

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber (once per process; later calls are ignored): the log layer, and the
/// OpenTelemetry export layer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (call it inside the Tokio runtime).
pub fn init(settings: &Settings) {
    // Each layer has its own filter: LOG_LEVEL decides what is logged, not what is exported.
    let registry =
        tracing_subscriber::registry().with(log_layer(&settings.telemetry.log_level, settings.telemetry.log_format));
    let export = crate::otel::layer(settings);
    let _ = registry.with(export).try_init();
}

/// The log lines, filtered by `LOG_LEVEL` (a filter of this layer only: the export layer has its own).
fn log_layer(level: &str, format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    let filter = EnvFilter::try_new(format!("{level},sqlx=warn,hyper=warn,tower_http=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(FieldPairs)
            .event_format(JsonLines)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_filter(filter)
            .boxed(),
    }
}

/// One JSON object per line, written straight into the line buffer: no `serde_json::Value` tree is built
/// and span fields are not parsed back (they are kept as `name` + encoded value pairs by [`FieldPairs`]).
/// A key appears once; where names clash the event's own field wins, then the innermost span's.
pub struct JsonLines;

impl<S> FormatEvent<S, FieldPairs> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, FieldPairs>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // (key, JSON value), lowest precedence first; emitted last-wins, in first-seen order.
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(16);
        pairs.push((
            "timestamp".into(),
            json_string(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        ));
        pairs.push(("level".into(), json_string(&meta.level().as_str().to_ascii_lowercase())));
        pairs.push(("target".into(), json_string(meta.target())));
        if let Some(ctx) = crate::http::context::current() {
            pairs.push(("request_id".into(), json_string(&ctx.request_id)));
            pairs.push(("trace_id".into(), json_string(&ctx.trace_id)));
        }
        // Fields of the enclosing spans (a job's id, queue and kind), outermost first, so inner ones win.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<FieldPairs>>() else {
                    continue;
                };
                for line in fields.fields.lines() {
                    // `otel.*` fields steer the trace export (span name, kind, status); they are not log data.
                    if let Some((k, v)) = line.split_once('\t')
                        && !k.starts_with("otel.")
                    {
                        pairs.push((k.to_string(), v.to_string()));
                    }
                }
            }
        }
        let mut visitor = PairVisitor(Vec::with_capacity(4));
        event.record(&mut visitor);
        pairs.extend(visitor.0.into_iter().map(|(k, v)| (k.to_string(), v)));
        if !pairs.iter().any(|(k, _)| k == "message") {
            pairs.push(("message".into(), "\"\"".into()));
        }
        let mut line = String::with_capacity(256);
        line.push('{');
        for (i, (key, value)) in pairs.iter().enumerate() {
            let first = pairs[..i].iter().position(|(k, _)| k == key);
            if first.is_some() {
                continue; // written where it first appeared, with its last value
            }
            let last = pairs[i..]
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map_or(value, |(_, v)| v);
            if line.len() > 1 {
                line.push(',');
            }
            line.push_str(&json_string(key));
            line.push(':');
            line.push_str(last);
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Formats span fields as lines of `name<TAB>JSON value`, so an event's line can take them over as they
/// are. A field recorded again later (`span.record`) is appended; the last line of a name wins.
#[derive(Default)]
pub struct FieldPairs;

impl<'writer> FormatFields<'writer> for FieldPairs {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = PairVisitor(Vec::new());
        fields.record(&mut visitor);
        for (k, v) in visitor.0 {
            writeln!(writer, "{k}\t{v}")?;
        }
        Ok(())
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut visitor = PairVisitor(Vec::new());
        fields.record(&mut visitor);
        for (k, v) in visitor.0 {
            current.fields.push_str(k);
            current.fields.push('\t');
            current.fields.push_str(&v);
            current.fields.push('\n');
        }
        Ok(())
    }
}

/// Collects fields as (name, JSON-encoded value).
struct PairVisitor(Vec<(&'static str, String)>);

impl tracing::field::Visit for PairVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), json_string(value)));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), value.to_string()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), value.to_string()));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity.
        let v = if value.is_finite() {
            serde_json::Number::from_f64(value).map(|n| n.to_string())
        } else {
            None
        };
        self.0.push((field.name(), v.unwrap_or_else(|| "null".into())));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), json_string(&format!("{value:?}"))));
    }
}
