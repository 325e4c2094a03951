//! The shipped Grafana dashboard and Prometheus rules (`ops/`) speak only of metrics this server exports,
//! and cover what `spec/ops.md` asks of them. (`make check` runs `promtool` on the rules themselves.)

use std::{collections::HashSet, path::PathBuf};

use neoforge::metrics::FAMILIES;

fn ops(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ops").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Every series name an expression selects (`name{...}`), the only way these files write selectors.
fn selected(text: &str) -> HashSet<String> {
    regex::Regex::new(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")
        .unwrap()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

fn exported() -> HashSet<String> {
    let mut names: HashSet<String> = ["up".to_string()].into();
    for (name, kind, _) in FAMILIES {
        names.insert(name.to_string());
        if *kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

fn recorded(rules: &str) -> HashSet<String> {
    regex::Regex::new(r"(?m)^\s*- record: (\S+)")
        .unwrap()
        .captures_iter(rules)
        .map(|c| c[1].to_string())
        .collect()
}

#[test]
fn the_alert_rules_use_exported_metrics_and_cover_the_spec() {
    let rules = ops("prometheus/alerts.yml");
    let known: HashSet<String> = exported().union(&recorded(&rules)).cloned().collect();
    for name in selected(&rules) {
        assert!(
            known.contains(&name),
            "alerts.yml selects {name}, which the server does not export"
        );
    }
    // ops.md: 5xx ratio, p95 latency SLO burn, readiness failing, queue depth growing, rate-limit spikes.
    for alert in [
        "NeoForgeHigh5xxRatio",
        "NeoForgeLatencySLOFastBurn",
        "NeoForgeNotReady",
        "NeoForgeJobQueueGrowing",
        "NeoForgeRateLimitSpike",
    ] {
        assert!(rules.contains(&format!("- alert: {alert}\n")), "alert {alert}");
        assert!(
            ops("prometheus/alerts_test.yml").contains(&format!("alertname: {alert}\n")),
            "a unit test of {alert}"
        );
    }
}

#[test]
fn the_dashboard_uses_exported_metrics_and_covers_the_spec() {
    let text = ops("grafana/dashboards/neoforge.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let known: HashSet<String> = exported()
        .union(&recorded(&ops("prometheus/alerts.yml")))
        .cloned()
        .collect();
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = HashSet::new();
    let mut exprs = Vec::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_i64().unwrap()), "panel ids are unique");
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    let all = exprs.join("\n");
    for name in selected(&all) {
        assert!(
            known.contains(&name),
            "the dashboard selects {name}, which the server does not export"
        );
    }
    // ops.md: request rate, error rate (4xx/5xx), p50/p95/p99 per route, rate-limit violations, threat
    // blocks, job queue depth, DB latency and pool use.
    for needed in [
        "rate(http_requests_total{",
        "http_4xx_responses_total{",
        "http_5xx_responses_total{",
        "histogram_quantile(0.5, sum by (le, route) (rate(http_request_duration_seconds_bucket{",
        "histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{",
        "histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{",
        "rate_limit_violations_total{",
        "security_threat_blocks_total{",
        "job_queue_depth{",
        "db_query_duration_seconds_bucket{",
        "db_pool_connections{",
    ] {
        assert!(all.contains(needed), "the dashboard shows {needed}");
    }
}
