//! Middleware of the stack assembled in `app.rs`.

pub mod request_id;
pub mod security_headers;
