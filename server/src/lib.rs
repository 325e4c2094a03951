//! NeoForge: a full-stack SaaS starter. One binary serves the JSON API, the web app and the API docs,
//! on an embedded SQLite file or on PostgreSQL + Redis.

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
