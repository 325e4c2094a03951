//! OpenTelemetry trace export: OTLP over HTTP/protobuf to `OTEL_EXPORTER_OTLP_ENDPOINT`, off when it is
//! unset. Server spans (one per request, named by route template), database spans (one per statement) and
//! job spans are batched by a background task on the Tokio runtime, so a slow or dead collector never
//! delays a request: a full queue drops spans instead of waiting.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{
    Context,
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    runtime,
    trace::{Sampler, SdkTracerProvider, span_processor_with_async_runtime::BatchSpanProcessor},
};
use tracing::Subscriber;
use tracing_subscriber::{Layer, filter::filter_fn, registry::LookupSpan};

use crate::config::{OtelRootSampler, OtelSampler, Settings};

/// The target of the per-statement database spans: enabled only for the export layer, so without a
/// collector they cost one disabled-callsite check.
pub const DB_SPAN_TARGET: &str = "neoforge::db::span";

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The export layer, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Must be called inside the Tokio runtime
/// (the batch task is spawned on it).
pub fn layer<S>(settings: &Settings) -> Option<Box<dyn Layer<S> + Send + Sync>>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let endpoint = settings.telemetry.otel_endpoint.as_deref()?;
    let url = match endpoint.ends_with("/v1/traces") {
        true => endpoint.to_string(),
        false => format!("{endpoint}/v1/traces"),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .with_timeout(Duration::from_secs(5))
        .build();
    let exporter = match exporter {
        Ok(e) => e,
        Err(e) => {
            eprintln!("neoforge: OpenTelemetry export is off: {e}");
            return None;
        }
    };
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler(settings.telemetry.otel_sampler))
        .with_resource(
            Resource::builder()
                .with_service_name(settings.telemetry.otel_service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("neoforge");
    let _ = PROVIDER.set(provider);
    // Our own spans (requests, jobs, statements); not the libraries' internals.
    let targets = filter_fn(|meta| {
        meta.target().starts_with("neoforge")
            && (*meta.level() <= tracing::Level::INFO || meta.target() == DB_SPAN_TARGET)
    });
    Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_filter(targets)
            .boxed(),
    )
}

fn sampler(s: OtelSampler) -> Sampler {
    let root = |r: OtelRootSampler| match r {
        OtelRootSampler::AlwaysOn => Sampler::AlwaysOn,
        OtelRootSampler::AlwaysOff => Sampler::AlwaysOff,
        OtelRootSampler::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
    };
    match s {
        OtelSampler::AlwaysOn => Sampler::AlwaysOn,
        OtelSampler::AlwaysOff => Sampler::AlwaysOff,
        OtelSampler::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
        OtelSampler::ParentBased(r) => Sampler::ParentBased(Box::new(root(r))),
    }
}

/// Whether spans are exported by this process.
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// Flushes the spans still queued (at most a few seconds) before the process exits.
pub async fn shutdown() {
    if let Some(provider) = PROVIDER.get().cloned() {
        // The SDK waits synchronously for its batch task: keep that off the async workers.
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The caller's trace context from a W3C `traceparent` (and `tracestate`), if valid.
pub fn remote_parent(headers: &axum::http::HeaderMap) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(&Headers(headers));
    cx.span().span_context().is_valid().then_some(cx)
}

/// The trace id of `span` as exported (32 hex digits), when export is on.
pub fn trace_id_of(span: &tracing::Span) -> Option<String> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !enabled() {
        return None;
    }
    let cx = span.context();
    let id = cx.span().span_context().trace_id();
    (id != opentelemetry::trace::TraceId::INVALID).then(|| format!("{id:032x}"))
}
