//! Unit tests of [`Settings`] as a whole: defaults, errors naming their variable, production rules.

use std::time::Duration;

use super::*;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Settings::from_map(&map)
}

#[test]
fn defaults_match_the_configuration_table() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.environment, Environment::Development);
    assert_eq!(s.server.port, 8000);
    assert_eq!(s.database.url, "sqlite://data/neoforge.db");
    assert_eq!(s.auth.access_token_ttl, Duration::from_secs(900));
    assert_eq!(s.auth.refresh_token_ttl, Duration::from_secs(30 * 86_400));
    assert_eq!(s.server.public_max_age, Duration::from_secs(5));
    assert_eq!(s.server.max_body_bytes, 1_048_576);
    assert_eq!(s.telemetry.log_format, LogFormat::Text);
    assert!(s.security.csp_reporting);
    assert_eq!(
        (s.rate_limit.auth, s.rate_limit.user, s.rate_limit.anon),
        (10, 300, 100)
    );
    assert_eq!(s.rate_limit.refresh, 60);
    assert_eq!(
        (s.server.header_timeout, s.server.keep_alive_timeout),
        (Duration::from_secs(10), Duration::from_secs(60))
    );
    assert_eq!(
        (
            s.content.max_projects_per_user,
            s.content.max_tickets_per_user,
            s.content.max_posts_per_user
        ),
        (1000, 1000, 10_000)
    );
    assert_eq!(s.idempotency.max_stored_bytes, 65_536);
}

#[test]
fn burned_and_example_keys_are_known() {
    assert!(is_known_secret_key(EXAMPLE_SECRET_KEYS[1]));
    assert!(!is_known_secret_key("a-fresh-secret-nobody-has-seen-0123456789"));
    for (var, value) in [
        ("HEADER_TIMEOUT", "0s"),
        ("KEEP_ALIVE_TIMEOUT", "never"),
        ("RATE_LIMIT_REFRESH", "0"),
        ("MAX_POSTS_PER_USER", "-1"),
    ] {
        assert_eq!(settings(&[(var, value)]).unwrap_err().var, var, "{var}={value}");
    }
}

#[test]
fn unparsable_values_name_the_variable() {
    for (var, value) in [
        ("PORT", "eighty"),
        ("ACCESS_TOKEN_TTL", "soon"),
        ("RATE_LIMITING", "yes"),
        ("TRUSTED_PROXIES", "10.0.0.0/99"),
        ("ENVIRONMENT", "qa"),
        ("MAX_BODY_BYTES", "1MB"),
        ("CORS_ORIGINS", "not a url"),
        ("LOG_FORMAT", "xml"),
        ("CSP_REPORT_SAMPLE_RATE", "2"),
        ("RATE_LIMIT_AUTH", "0"),
        ("RATE_LIMIT_WINDOW", "0s"),
    ] {
        let e = settings(&[(var, value)]).unwrap_err();
        assert_eq!(e.var, var, "{e}");
        assert!(e.to_string().starts_with(&format!("invalid setting {var}")), "{e}");
    }
}

#[test]
fn production_rules() {
    let good_key = "0123456789abcdef0123456789abcdef-prod";
    let base = [
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", good_key),
        ("PUBLIC_URL", "https://app.example.com"),
    ];
    let s = settings(&base).unwrap();
    assert_eq!(s.telemetry.log_format, LogFormat::Json);
    assert!(!s.security.csp_reporting);
    assert_eq!(s.server.public_max_age, Duration::from_secs(15));

    let with = |k: &'static str, v: &'static str| {
        let mut pairs: Vec<(&str, &str)> = base.iter().filter(|(key, _)| *key != k).copied().collect();
        pairs.push((k, v));
        settings(&pairs).unwrap_err().var
    };
    assert_eq!(with("SECRET_KEY", ""), "SECRET_KEY");
    assert_eq!(with("SECRET_KEY", "short"), "SECRET_KEY");
    assert_eq!(with("SECRET_KEY", EXAMPLE_SECRET_KEYS[0]), "SECRET_KEY");
    assert_eq!(with("CORS_ORIGINS", "*"), "CORS_ORIGINS");
    assert_eq!(with("CORS_ORIGINS", "http://app.example.com"), "CORS_ORIGINS");
    assert_eq!(with("PUBLIC_URL", "http://app.example.com"), "PUBLIC_URL");
}

#[test]
fn job_and_cleanup_settings_have_defaults_overrides_and_limits() {
    let s = settings(&[]).unwrap();
    assert!(s.jobs.workers);
    assert_eq!((s.jobs.max_attempts, s.jobs.concurrency), (8, 4));
    assert_eq!(s.jobs.visibility_timeout, Duration::from_secs(60));
    assert_eq!(s.jobs.timeout, Duration::from_secs(600));
    assert_eq!(s.maintenance.cleanup_intervals.audit, Duration::from_secs(3600));
    let s = settings(&[
        ("CLEANUP_INTERVAL", "10m"),
        ("CLEANUP_INTERVAL_AUDIT", "1d"),
        ("JOB_WORKERS", "0"),
    ])
    .unwrap();
    assert!(!s.jobs.workers);
    assert_eq!(
        s.maintenance.cleanup_intervals.sessions,
        Duration::from_secs(600),
        "the shared default"
    );
    assert_eq!(
        s.maintenance.cleanup_intervals.audit,
        Duration::from_secs(86_400),
        "its own"
    );
    for (var, value) in [
        ("JOB_MAX_ATTEMPTS", "0"),
        ("JOB_CONCURRENCY", "0"),
        ("JOB_VISIBILITY_TIMEOUT", "500ms"),
        ("JOB_POLL_INTERVAL", "0s"),
        ("CLEANUP_INTERVAL_TOKENS", "0"),
        ("JOB_BACKOFF_BASE", "soon"),
        ("JOB_TIMEOUT", "0s"),
    ] {
        assert_eq!(settings(&[(var, value)]).unwrap_err().var, var, "{var}={value}");
    }
}
