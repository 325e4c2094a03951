//! Black-box HTTP tests. One binary; a module per room. Every test runs on SQLite, and on PostgreSQL
//! when `TEST_DATABASE_URL` is set (`make test` runs both).

mod support;

mod auth;
mod cli;
mod csp;
mod email_flows;
mod errors;
mod metrics;
mod middleware;
mod rate_limit;
mod secrets;
mod sessions;
mod system;
mod threats;
mod totp;
mod users;
