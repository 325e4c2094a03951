//! NeoForge: a full-stack SaaS starter. One binary serves the JSON API, the web app and the API docs,
//! on an embedded SQLite file or on PostgreSQL + Redis.

pub mod allocator;
pub mod app;
#[cfg(test)]
mod architecture_tests;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod bench_reference;
pub mod cache;
pub mod community;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod otel;
pub mod periodic;
pub mod projects;
pub mod resource;
pub mod security;
pub mod server;
pub mod state;
pub mod status;
pub mod support;
pub mod system;
pub mod telemetry;
// new-resource: rooms (`make new-resource` adds `pub mod <names>;` to the list above, in order)

/// Every periodic maintenance task, in the order they run: each room declares its own, and this is the
/// one place that lists them (`jobs::start` and `neoforge worker` schedule this list).
pub fn periodic_tasks() -> &'static [periodic::PeriodicTask] {
    static TASKS: [periodic::PeriodicTask; 5] = [
        http::idempotency::PRUNE_TASK,
        auth::maintenance::PRUNE_SESSIONS,
        auth::maintenance::PRUNE_TOKENS,
        audit::PRUNE_TASK,
        jobs::periodic::PRUNE_JOBS,
    ];
    &TASKS
}

#[cfg(test)]
mod periodic_task_tests {
    use std::collections::HashMap;

    use crate::config::Settings;

    #[test]
    fn every_room_registers_its_task_once_with_its_own_interval() {
        let names: Vec<&str> = crate::periodic_tasks().iter().map(|t| t.name).collect();
        assert_eq!(names, ["idempotency", "sessions", "tokens", "audit", "jobs"]);
        let overrides: HashMap<String, String> = [
            ("CLEANUP_INTERVAL_IDEMPOTENCY", "1m"),
            ("CLEANUP_INTERVAL_SESSIONS", "2m"),
            ("CLEANUP_INTERVAL_TOKENS", "3m"),
            ("CLEANUP_INTERVAL_AUDIT", "4m"),
            ("CLEANUP_INTERVAL_JOBS", "5m"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let settings = Settings::for_tests(&overrides).expect("settings");
        let minutes: Vec<u64> = crate::periodic_tasks()
            .iter()
            .map(|t| t.interval(&settings).as_secs() / 60)
            .collect();
        assert_eq!(minutes, [1, 2, 3, 4, 5]);
    }
}
