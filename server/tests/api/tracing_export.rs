//! OpenTelemetry export: a request's spans (server → database) reach an OTLP/HTTP receiver with the
//! trace id the client sent in `traceparent`, and a dead collector slows no request.

use std::{
    process::{Child, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::any_value::Value as AnyValue,
    trace::v1::{Span, span::SpanKind},
};
use prost::Message;
use serde_json::json;

use crate::support::{TestDb, binary, free_port, wait_ready};

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// A minimal OTLP/HTTP trace receiver on loopback; returns its base URL and what it received.
async fn receiver() -> (String, Received) {
    async fn traces(State(received): State<Received>, body: Bytes) -> ([(&'static str, &'static str); 1], Vec<u8>) {
        let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
        received.lock().unwrap().push(request);
        ([("content-type", "application/x-protobuf")], Vec::new())
    }
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

async fn serve(db: &TestDb, endpoint: &str) -> (Child, String) {
    let port = free_port();
    let child = binary()
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", db.dir.path())
        .env("PORT", port.to_string())
        .env("ADMIN_PASSWORD", "unused admin password")
        .env("RATE_LIMITING", "false")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_SERVICE_NAME", "neoforge-under-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn neoforge");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    (child, base)
}

/// SIGTERM, then waits for the exit without blocking this test's runtime (the receiver runs on it and must
/// take the final flush).
async fn stop(mut child: Child) -> Duration {
    let started = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

#[tokio::test]
async fn a_request_exports_server_and_database_spans_in_the_callers_trace() {
    let (collector, received) = receiver().await;
    let db = TestDb::new().await;
    let (server, base) = serve(&db, &collector).await;
    let client = reqwest::Client::new();
    let reg: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "traced@example.com", "password": "correct horse battery", "full_name": "T"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = reg["access_token"].as_str().unwrap();

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let res = client
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-trace-id"],
        trace_id,
        "X-Trace-Id is the caller's trace"
    );
    // Without a traceparent the answer names the trace the collector receives.
    let res = client.get(format!("{base}/api/v1/config")).send().await.unwrap();
    let own_trace = res.headers()["x-trace-id"].to_str().unwrap().to_string();
    assert_ne!(own_trace, trace_id);

    // Shutdown flushes what is still queued.
    stop(server).await;
    let requests = received.lock().unwrap().clone();
    assert!(!requests.is_empty(), "spans were exported");
    let service = requests[0].resource_spans[0].resource.as_ref().unwrap();
    let name = service.attributes.iter().find(|a| a.key == "service.name").unwrap();
    assert_eq!(
        name.value.as_ref().unwrap().value,
        Some(AnyValue::StringValue("neoforge-under-test".into()))
    );
    let spans: Vec<Span> = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect();
    let in_trace: Vec<&Span> = spans.iter().filter(|s| hex(&s.trace_id) == trace_id).collect();
    let server_span = in_trace
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .unwrap_or_else(|| {
            let seen: Vec<_> = spans
                .iter()
                .map(|s| (s.name.as_str(), hex(&s.trace_id), s.kind))
                .collect();
            panic!("no server span in the caller's trace; exported: {seen:?}")
        });
    assert_eq!(server_span.name, "GET /api/v1/projects");
    assert_eq!(
        hex(&server_span.parent_span_id),
        caller_span,
        "the caller's span is the parent"
    );
    assert_eq!(
        attribute(server_span, "route"),
        Some(&AnyValue::StringValue("/api/v1/projects".into()))
    );
    assert_eq!(
        attribute(server_span, "http.response.status_code"),
        Some(&AnyValue::IntValue(200))
    );
    // The statements of that request (authentication, the page, its count) are its children.
    let statements: Vec<&&Span> = in_trace
        .iter()
        .filter(|s| s.name == "db statement" && s.parent_span_id == server_span.span_id)
        .collect();
    assert!(statements.len() >= 2, "database spans under the request: {in_trace:#?}");
    assert!(statements.iter().all(|s| s.kind == SpanKind::Client as i32));
    assert!(
        spans
            .iter()
            .any(|s| hex(&s.trace_id) == own_trace && s.name == "GET /api/v1/config")
    );
    // The verification email's job has its span, with its statements under it.
    let job = spans.iter().find(|s| s.name == "job").expect("a job span");
    assert_eq!(
        attribute(job, "kind"),
        Some(&AnyValue::StringValue("email.send".into()))
    );
    assert!(
        spans
            .iter()
            .any(|s| s.name == "db statement" && s.parent_span_id == job.span_id)
    );
}

#[tokio::test]
async fn a_dead_collector_slows_no_request() {
    // A collector that accepts connections and never answers: the worst kind of dead.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", black_hole.local_addr().unwrap());
    let db = TestDb::new().await;
    let (server, base) = serve(&db, &endpoint).await;
    let client = reqwest::Client::new();
    let mut slowest = Duration::ZERO;
    for _ in 0..60 {
        let started = Instant::now();
        let res = client.get(format!("{base}/api/v1/status")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        slowest = slowest.max(started.elapsed());
        // Spaced out, so the exporter's batches (every 100 ms) hang while requests go on.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        slowest < Duration::from_millis(500),
        "slowest request {slowest:?} with a dead collector"
    );
    let stopping = stop(server).await;
    assert!(
        stopping < Duration::from_secs(20),
        "shutdown waited {stopping:?} for the dead collector"
    );
    drop(black_hole);
}

#[test]
fn the_opentelemetry_settings_are_checked() {
    use neoforge::config::{OtelRootSampler, OtelSampler, Settings};
    let settings = |pairs: &[(&str, &str)]| {
        let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::for_tests(&map)
    };
    let s = settings(&[]).unwrap();
    assert_eq!(s.telemetry.otel_endpoint, None, "off by default");
    assert_eq!(
        s.telemetry.otel_sampler,
        OtelSampler::ParentBased(OtelRootSampler::AlwaysOn)
    );
    let s = settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ])
    .unwrap();
    assert_eq!(s.telemetry.otel_endpoint.as_deref(), Some("http://collector:4318"));
    assert_eq!(
        s.telemetry.otel_sampler,
        OtelSampler::ParentBased(OtelRootSampler::TraceIdRatio(0.25))
    );
    for (var, pairs) in [
        ("OTEL_TRACES_SAMPLER", &[("OTEL_TRACES_SAMPLER", "sometimes")][..]),
        (
            "OTEL_TRACES_SAMPLER_ARG",
            &[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ][..],
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")][..],
        ),
    ] {
        let e = settings(pairs).unwrap_err().to_string();
        assert!(e.contains(var), "{e}");
    }
}
