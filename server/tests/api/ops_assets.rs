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

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn yaml(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
    // Compose files share settings through `<<` merge keys.
    value.apply_merge().unwrap();
    serde_json::to_value(value).unwrap()
}

#[test]
fn the_compose_file_runs_every_service_of_the_spec_with_limits() {
    let compose = yaml("deploy/compose.yaml");
    let services = compose["services"].as_object().expect("services");
    for name in [
        "api",
        "worker",
        "proxy",
        "postgres",
        "redis",
        "prometheus",
        "grafana",
        "mailpit",
        "otel-collector",
    ] {
        assert!(services.contains_key(name), "service {name}");
    }
    for (name, service) in services {
        let limits = &service["deploy"]["resources"]["limits"];
        assert!(
            limits["cpus"].is_string() && limits["memory"].is_string(),
            "{name} has resource limits"
        );
        // Every file or folder a service mounts from the repository exists.
        for volume in service["volumes"].as_array().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with('.') {
                assert!(
                    repo("deploy").join(source).exists(),
                    "{name} mounts {source}, which is missing"
                );
            }
        }
    }
    assert_eq!(services["api"]["deploy"]["replicas"], 2);
    assert_eq!(services["api"]["command"][0], "serve");
    assert_eq!(services["worker"]["command"][0], "worker");
    assert_eq!(services["postgres"]["ports"][0], "55432:5432");
    assert_eq!(services["redis"]["ports"][0], "56379:6379");
    assert_eq!(services["otel-collector"]["profiles"][0], "otel");
    let prometheus = services["prometheus"]["volumes"].to_string();
    assert!(prometheus.contains("../ops/prometheus:/etc/prometheus"), "{prometheus}");
    let grafana = services["grafana"]["volumes"].to_string();
    assert!(
        grafana.contains("../ops/grafana/provisioning:/etc/grafana/provisioning"),
        "{grafana}"
    );
    assert!(
        grafana.contains("../ops/grafana/dashboards:/var/lib/grafana/dashboards"),
        "{grafana}"
    );

    let nginx = std::fs::read_to_string(repo("deploy/nginx.conf")).unwrap();
    let upstream = &nginx[nginx.find("upstream ").expect("an upstream block")..];
    let upstream = &upstream[..upstream.find('}').unwrap()];
    let proxy_keepalive = std::time::Duration::from_secs(
        regex::Regex::new(r"keepalive_timeout\s+(\d+)s;")
            .unwrap()
            .captures(upstream)
            .expect("the upstream sets keepalive_timeout")[1]
            .parse()
            .unwrap(),
    );
    // The instances' environment is a valid configuration for the real parser.
    for name in ["api", "worker"] {
        let mut env: std::collections::HashMap<String, String> = services[name]["environment"]
            .as_object()
            .expect("environment")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_string()))
            .collect();
        assert!(
            env["SECRET_KEY"].starts_with("${SECRET_KEY:?"),
            "the secret comes from the operator"
        );
        env.insert("SECRET_KEY".into(), "a-secret-of-at-least-32-bytes-0123456789".into());
        // `${VAR:-default}` is what compose passes when the operator sets nothing: the default.
        for value in env.values_mut() {
            if let Some(default) = value
                .strip_prefix("${")
                .and_then(|v| v.strip_suffix('}'))
                .and_then(|v| v.split_once(":-"))
            {
                *value = default.1.to_string();
            }
        }
        assert_eq!(
            env["OTEL_EXPORTER_OTLP_ENDPOINT"], "",
            "trace export is off unless the operator turns it on"
        );
        let settings = neoforge::config::Settings::from_map(&env).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(settings.database.redis_url.is_some() && settings.database.url.starts_with("postgres://"));
        // X-Forwarded-For is believed from the proxy only: never from everyone (0.0.0.0/0), only from
        // addresses inside the project network's fixed subnet, and the proxy's own address among them.
        let subnet: ipnet::IpNet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
            .as_str()
            .expect("the compose network has a fixed subnet")
            .parse()
            .unwrap();
        let proxy: std::net::IpAddr = services["proxy"]["networks"]["default"]["ipv4_address"]
            .as_str()
            .expect("the proxy has a fixed address")
            .parse()
            .unwrap();
        assert!(subnet.contains(&proxy));
        assert!(
            !settings.server.trusted_proxies.is_empty(),
            "{name}: the proxy is trusted"
        );
        for net in &settings.server.trusted_proxies {
            assert!(subnet.contains(net), "{name}: {net} reaches outside {subnet}");
            assert!(net.prefix_len() > 0, "{name}: {net} trusts everyone");
        }
        assert!(settings.server.trusted_proxies.iter().any(|n| n.contains(&proxy)));
        // The proxy drops idle upstream connections before the instance does (no request on a closing one).
        assert!(proxy_keepalive < settings.server.keep_alive_timeout, "{name}");
        let stranger: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        assert!(!settings.server.trusted_proxies.iter().any(|n| n.contains(&stranger)));
        assert_eq!(
            settings.jobs.workers,
            name == "worker",
            "jobs run in the worker service"
        );
    }
}

#[test]
fn the_image_is_multi_stage_non_root_and_checks_its_health() {
    let dockerfile = std::fs::read_to_string(repo("deploy/Dockerfile")).unwrap();
    for stage in ["AS web", "AS deps", "AS build", "AS runtime"] {
        assert!(dockerfile.contains(stage), "stage {stage}");
    }
    assert!(dockerfile.contains("FROM gcr.io/distroless/cc-debian12:nonroot AS runtime"));
    assert!(dockerfile.contains("USER nonroot:nonroot"));
    assert!(dockerfile.contains(r#"HEALTHCHECK "#) && dockerfile.contains(r#"neoforge", "healthcheck"]"#));
    // The dependency layer is built from the manifests alone, before the sources are copied.
    let deps = dockerfile.find("cargo build --release -p neoforge --locked").unwrap();
    assert!(deps < dockerfile.find("COPY server server").unwrap());
    // The toolchain is at least the crate's rust-version.
    let workspace = std::fs::read_to_string(repo("Cargo.toml")).unwrap();
    let wanted = regex::Regex::new(r#"rust-version = "([\d.]+)""#)
        .unwrap()
        .captures(&workspace)
        .unwrap()[1]
        .to_string();
    assert!(
        dockerfile.contains(&format!("ARG RUST_VERSION={wanted}")),
        "rust {wanted}"
    );
    for provisioning in [
        "ops/grafana/provisioning/datasources/prometheus.yml",
        "ops/grafana/provisioning/dashboards/neoforge.yml",
    ] {
        assert_eq!(yaml(provisioning)["apiVersion"], 1, "{provisioning}");
    }
    let datasource = yaml("ops/grafana/provisioning/datasources/prometheus.yml");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo("ops/grafana/dashboards/neoforge.json")).unwrap()).unwrap();
    assert_eq!(
        datasource["datasources"][0]["uid"], dashboard["panels"][1]["datasource"]["uid"],
        "the dashboard's data source is the provisioned one"
    );
}
