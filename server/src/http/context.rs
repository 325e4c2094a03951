//! The per-request context (request id, trace id), reachable from anywhere in the request's task.

use std::{net::IpAddr, sync::Arc};

/// Identifiers of the request being served.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: Arc<str>,
    pub trace_id: Arc<str>,
    /// The client's address (see `client_ip`): the socket peer unless a trusted proxy forwarded it.
    pub client_ip: IpAddr,
}

/// The signed-in user a request acts for, by id: put in the request's extensions by the authentication
/// extractor (`auth::AuthUser`), so `http` pieces can scope by user (idempotency keys) without knowing auth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedIn(pub uuid::Uuid);

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// Runs `fut` with `ctx` as the current request context.
pub async fn scope<F: std::future::Future>(ctx: RequestContext, fut: F) -> F::Output {
    CONTEXT.scope(ctx, fut).await
}

/// The current request's id, if called while serving a request.
pub fn current_request_id() -> Option<String> {
    CONTEXT.try_with(|c| c.request_id.to_string()).ok()
}

/// The current request's context, if any.
pub fn current() -> Option<RequestContext> {
    CONTEXT.try_with(|c| c.clone()).ok()
}

/// Whether an incoming `X-Request-ID` is safe to echo: 1..=64 chars of `[A-Za-z0-9._-]`.
pub fn is_sane_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The trace id of a valid W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), unless all zeros.
pub fn trace_id_from_traceparent(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.trim().split('-').collect();
    let [version, trace, parent, flags] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let valid = hex(version, 2)
        && *version != "ff"
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_string())
}

/// A random (version 4) UUID from the thread-local generator. `Uuid::new_v4` asks the kernel
/// (`getrandom`) every time: two system calls a request for the request and trace ids.
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// A fresh random 32-hex trace id.
pub fn new_trace_id() -> String {
    random_uuid().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(is_sane_request_id("abc-123_X.y"));
        assert!(is_sane_request_id(&"a".repeat(64)));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id("has space"));
        assert!(!is_sane_request_id("inject\r\nx"));
        assert!(!is_sane_request_id("ünïcode"));
    }

    #[test]
    fn traceparents() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id_from_traceparent(tp).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            trace_id_from_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            trace_id_from_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            trace_id_from_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id_from_traceparent("garbage"), None);
        assert_eq!(new_trace_id().len(), 32);
    }
}
