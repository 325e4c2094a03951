//! Middleware of the stack assembled in `app.rs`.

pub mod http_metrics;
pub mod request_id;
pub mod security_headers;
