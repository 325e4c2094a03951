//! `ApiError`: the one error type of the API, rendered as an RFC 9457 problem document.
//!
//! The `request_id` member comes from the request context the request-id middleware puts in a task
//! local, so every constructor stays a plain value and errors can be made anywhere.

use axum::{
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

mod codes;

pub use codes::Code;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One failed field of a validation error.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Where the bad value is: `["body", "name"]`, `["query", "page"]`.
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self {
            loc: loc.iter().map(|s| s.to_string()).collect(),
            msg: msg.into(),
            kind: kind.to_string(),
        }
    }
}

/// A problem document (RFC 9457) as the API sends it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank` unless a more specific type URI exists.
    #[serde(rename = "type")]
    pub kind: String,
    /// The canonical reason phrase of the status.
    pub title: String,
    pub status: u16,
    /// A human-readable explanation of this occurrence.
    pub detail: String,
    /// A stable snake_case code clients can switch on.
    pub code: String,
    /// The `X-Request-ID` of the request, for support.
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// An error a handler returns; rendered as problem+json with its status and code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub detail: String,
    pub errors: Option<Vec<FieldError>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// `status` must be one the catalogue lists for `code` (checked in debug builds, so by the suite).
    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        debug_assert!(
            code.statuses().contains(&status),
            "{} is not catalogued with {status}",
            code.as_str()
        );
        Self {
            status,
            code,
            detail: detail.into(),
            errors: None,
            headers: Vec::new(),
        }
    }

    /// The problem for a bare error status made outside the handlers (axum's 404/405, a layer's 413 or 504).
    pub fn for_status(status: StatusCode) -> Self {
        Self {
            status,
            code: code_for_status(status),
            detail: detail_for_status(status).into(),
            errors: None,
            headers: Vec::new(),
        }
    }

    /// Adds a response header (e.g. `Allow`, `Retry-After`, `WWW-Authenticate`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            format!("The {what} was not found."),
        )
    }

    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, Code::Forbidden, detail)
    }

    pub fn unauthorized(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// 422 with one or more field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.loc.join("."), one.msg),
            _ => format!("{} fields are invalid.", errors.len()),
        };
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, Code::ValidationFailed, detail);
        e.errors = Some(errors);
        e
    }

    /// 422 for one field.
    pub fn invalid_field(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self::validation(vec![FieldError::new(loc, msg, kind)])
    }

    /// An opaque 500; the cause is logged here, with the request id of the surrounding span.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            "An internal error occurred.",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, Code::ServiceUnavailable, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().into(),
            request_id: crate::http::context::current_request_id().unwrap_or_default(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in self.headers {
            h.insert(name, value);
        }
        res
    }
}

/// The default code for a bare status (used for responses made outside the handlers): a status the
/// catalogue has no code of its own for gets `internal` (5xx) or `error` (4xx).
pub fn code_for_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::BadRequest,
        401 => Code::NotAuthenticated,
        403 => Code::Forbidden,
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        406 => Code::NotAcceptable,
        408 => Code::RequestTimeout,
        409 => Code::Conflict,
        411 => Code::LengthRequired,
        412 => Code::PreconditionFailed,
        413 => Code::PayloadTooLarge,
        414 => Code::UriTooLong,
        415 => Code::UnsupportedMediaType,
        422 => Code::ValidationFailed,
        429 => Code::RateLimited,
        501 => Code::NotImplemented,
        503 => Code::ServiceUnavailable,
        504 => Code::Timeout,
        s if s >= 500 => Code::Internal,
        _ => Code::Error,
    }
}

/// The default detail sentence for a bare status.
pub fn detail_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "No resource exists at this path.",
        405 => "This method is not allowed on this resource; see the Allow header.",
        408 | 504 => "The request took too long and was cancelled.",
        413 => "The request body is larger than the server accepts.",
        415 => "This route accepts application/json.",
        503 => "The service is temporarily unavailable; try again shortly.",
        s if s >= 500 => "An internal error occurred.",
        _ => "The request could not be processed.",
    }
}

impl From<sqlx::Error> for ApiError {
    /// Database errors mapped once by kind (works the same on SQLite and PostgreSQL).
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::RowNotFound => ApiError::not_found("resource"),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::unavailable("The database is unavailable; try again shortly.")
            }
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => ApiError::conflict(Code::Conflict, "The resource already exists."),
                ErrorKind::ForeignKeyViolation => ApiError::conflict(
                    Code::Conflict,
                    "A referenced resource does not exist or is still in use.",
                ),
                _ if is_busy(db.as_ref()) => {
                    tracing::warn!(error = %e, "database busy");
                    ApiError::unavailable("The database is busy; try again shortly.")
                }
                _ if is_going_away(db.as_ref()) => {
                    tracing::warn!(error = %e, "database unavailable");
                    ApiError::unavailable("The database is unavailable; try again shortly.")
                }
                _ => ApiError::internal(e),
            },
            _ => ApiError::internal(e),
        }
    }
}

/// PostgreSQL closing or refusing the connection: class 08 (connection exception) and 57P (operator
/// intervention: `admin_shutdown` when the server is stopped, `crash_shutdown`, `cannot_connect_now` while
/// it starts). Requests caught by a stop get a 503 like those that follow it, not a 500.
fn is_going_away(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

/// SQLite `SQLITE_BUSY`/`SQLITE_LOCKED` (and their extended codes) after the busy timeout.
fn is_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(db.code().as_deref(), Some("5" | "6" | "261" | "262" | "517"))
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(format!("{e:#}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
