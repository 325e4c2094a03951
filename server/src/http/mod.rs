//! Cross-cutting HTTP pieces: the request context, extractors that reject with problem documents,
//! and the normaliser that turns any bare error response into one.

pub mod cache;
pub mod client_ip;
pub mod conditional;
pub mod context;
pub mod extract;
pub mod idempotency;
pub mod list;
pub mod normalize;
pub mod pagination;
