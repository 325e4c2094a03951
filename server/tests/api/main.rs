//! Black-box HTTP tests. One binary; a module per room. Every test runs on SQLite, and on PostgreSQL
//! when `TEST_DATABASE_URL` is set (`make test` runs both).

mod support;

mod cli;
mod errors;
mod middleware;
mod system;
