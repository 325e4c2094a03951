//! Black-box HTTP tests. One binary; a module per room. Every test runs on SQLite, and on PostgreSQL
//! when `TEST_DATABASE_URL` is set (`make test` runs both).

mod support;

mod access;
mod audit_log;
mod auth;
mod backup;
mod cli;
mod community;
mod contract;
mod csp;
mod demo;
mod email_flows;
mod errors;
mod faults;
mod jobs;
mod jobs_admin;
mod logs;
mod maintenance;
mod metrics;
mod middleware;
mod migrations;
mod ops_assets;
mod plans;
mod projects;
mod rate_limit;
mod reliability;
mod secrets;
mod session_cache;
mod sessions;
mod skips;
mod status_page;
mod support_desk;
mod system;
mod threats;
mod totp;
mod tracing_export;
mod users;
// new-resource: test modules (`make new-resource` adds `mod <names>;` to the list above, in order)
