//! Middleware of the stack assembled in `app.rs`.

pub mod http_metrics;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
pub mod threat_guard;
