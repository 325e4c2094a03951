//! Prometheus metrics: the process-wide recorder (installed once, however many apps a process starts)
//! and `GET /metrics`, guarded by `METRICS_TOKEN` when it is set.

use std::sync::OnceLock;

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::Code;
use crate::{error::ApiError, state::AppState};

/// Every family this server exports: (name, type, help). Each one is present (HELP/TYPE) from start-up,
/// even before its first sample. Add a row when adding a metric.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "rate_limit_violations_total",
        "counter",
        "Requests refused with 429 by the rate limiter, by tier and matched route.",
    ),
    (
        "password_hashes_running",
        "gauge",
        "Argon2 hashes running now on the blocking pool (never more than the hashing permits).",
    ),
    (
        "security_threat_blocks_total",
        "counter",
        "Requests refused with 403 by the threat guard, by reason.",
    ),
    (
        "csp_reports_total",
        "counter",
        "Content-Security-Policy violation reports received, by directive (`invalid` for unreadable bodies).",
    ),
    (
        "http_requests_total",
        "counter",
        "HTTP requests by method, matched route template and status.",
    ),
    (
        "http_request_duration_seconds",
        "histogram",
        "HTTP request latency in seconds by method and route template.",
    ),
    (
        "http_4xx_responses_total",
        "counter",
        "HTTP responses with a 4xx status by method and route template.",
    ),
    (
        "http_5xx_responses_total",
        "counter",
        "HTTP responses with a 5xx status by method and route template.",
    ),
    (
        "db_query_duration_seconds",
        "histogram",
        "Database statement latency in seconds by operation (read, write).",
    ),
    (
        "db_pool_connections",
        "gauge",
        "Database pool connections by state (in_use, idle).",
    ),
    (
        "idempotency_replays_total",
        "counter",
        "Writes answered from a stored Idempotency-Key result.",
    ),
    (
        "neoforge_ready",
        "gauge",
        "1 when this instance is ready (GET /ready would answer 200), else 0; checked at each scrape.",
    ),
    (
        "job_queue_depth",
        "gauge",
        "Background jobs queued or running, by queue (read from the database at each scrape).",
    ),
    (
        "jobs_failed_total",
        "counter",
        "Failed job attempts by queue (each retry and each final failure counts).",
    ),
    (
        "jobs_dead_total",
        "counter",
        "Jobs that failed for good (JOB_MAX_ATTEMPTS used up, or a permanent error), by queue.",
    ),
    (
        "jobs_completed_total",
        "counter",
        "Jobs that finished successfully, by queue.",
    ),
    (
        "jobs_dead_waiting",
        "gauge",
        "Dead jobs waiting for the back office (retry or discard them), by queue and kind; read from the database at each scrape.",
    ),
    (
        "process_cpu_seconds_total",
        "counter",
        "CPU time this process has used (user + system), in seconds.",
    ),
    (
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of this process, in bytes.",
    ),
    (
        "process_open_fds",
        "gauge",
        "Open file descriptors of this process (sockets included: client and database connections).",
    ),
    (
        "process_start_time_seconds",
        "gauge",
        "When this process started, in seconds since the Unix epoch.",
    ),
    (
        "periodic_task_runs_total",
        "counter",
        "Periodic maintenance runs by task and outcome (ok, error, busy: running on another instance).",
    ),
    (
        "auth_events_total",
        "counter",
        "Account events (login, login_failed, refresh, refresh_reuse_detected, ...) by event.",
    ),
];

/// Histogram buckets in seconds: fine below 10 ms (the read targets), coarse up to the request timeout.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histogram samples are folded into their buckets when nobody scrapes. The recorder keeps
/// every sample until a render or an upkeep drains it: without this, an instance nobody scrapes grew by
/// ~80 bytes a request (the soak test's 35 → 74 MiB in 10 minutes).
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the global recorder on first call and returns its handle. If another recorder was installed
/// first (a host embedding the library), a private one is used so `/metrics` still answers.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = || {
            PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .expect("buckets are not empty")
        };
        let handle = builder().install_recorder().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics shows only its own");
            builder().build_recorder().handle()
        });
        for (name, kind, help) in FAMILIES {
            match *kind {
                "counter" => metrics::describe_counter!(*name, *help),
                "gauge" => metrics::describe_gauge!(*name, *help),
                _ => metrics::describe_histogram!(*name, *help),
            }
        }
        // A plain thread, not a task: the recorder outlives any one Tokio runtime (tests start many).
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

/// The exposition text: what the recorder holds, plus HELP/TYPE for families with no sample yet.
pub fn render() -> String {
    let mut text = install().render();
    text.push_str(&process_metrics());
    for (name, kind, help) in FAMILIES {
        if !text.contains(&format!("# TYPE {name} ")) {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n\n"));
        }
    }
    text
}

/// The `process_*` families, read from `/proc/self` at each scrape (Linux; empty elsewhere). They are
/// written as text because a CPU-seconds counter is fractional, which the recorder's counters are not.
fn process_metrics() -> String {
    let Some(p) = read_process() else {
        return String::new();
    };
    let mut out = String::new();
    for (name, value) in [
        ("process_cpu_seconds_total", p.cpu_seconds),
        ("process_resident_memory_bytes", p.rss_bytes),
        ("process_open_fds", p.open_fds),
        ("process_start_time_seconds", p.start_time),
    ] {
        let (_, kind, help) = FAMILIES
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("listed in FAMILIES");
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n"
        ));
    }
    out
}

struct ProcessSample {
    cpu_seconds: f64,
    rss_bytes: f64,
    open_fds: f64,
    start_time: f64,
}

fn read_process() -> Option<ProcessSample> {
    // Kernel clock ticks per second: 100 on every Linux architecture we build for (USER_HZ).
    const TICKS: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) closed by the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of stat, starttime 22 (1-based, counting pid and comm).
    let cpu_seconds = (ticks(11)? + ticks(12)?) / TICKS;
    let started_after_boot = ticks(19)? / TICKS;
    let boot_time = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok())?;
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
    Some(ProcessSample {
        cpu_seconds,
        rss_bytes: rss_kib * 1024.0,
        open_fds,
        start_time: boot_time + started_after_boot,
    })
}

/// Prometheus metrics (text exposition format). With `METRICS_TOKEN` set, it is required as a bearer token.
#[utoipa::path(get, path = "/metrics", tag = "system",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the bearer token is missing or wrong",
            content_type = "application/problem+json", body = crate::error::Problem)))]
pub async fn metrics_endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.telemetry.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match given {
            None => {
                return ApiError::unauthorized(Code::NotAuthenticated, "This endpoint needs the metrics bearer token.")
                    .into_response();
            }
            // Digests compared, so the comparison time says nothing about the token.
            Some(token) if Sha256::digest(token) != Sha256::digest(expected.expose_secret()) => {
                return ApiError::unauthorized(Code::InvalidToken, "The metrics token is wrong.").into_response();
            }
            Some(_) => {}
        }
    }
    state.db.record_pool_gauges();
    let (ready, ()) = tokio::join!(
        crate::system::is_ready(&state),
        crate::jobs::record_queue_gauges(&state)
    );
    metrics::gauge!("neoforge_ready").set(if ready { 1.0 } else { 0.0 });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        render(),
    )
        .into_response()
}

/// `/metrics`, at the root beside the other probes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics_endpoint))
}
