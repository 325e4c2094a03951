//! Black-box HTTP tests. One binary; a module per room. Every test runs on SQLite, and on PostgreSQL
//! when `TEST_DATABASE_URL` is set (`make test` runs both).

mod support;

mod auth;
mod cli;
mod email_flows;
mod errors;
mod middleware;
mod projects;
mod secrets;
mod sessions;
mod system;
mod totp;
mod users;
