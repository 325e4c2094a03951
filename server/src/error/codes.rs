//! The catalogue of problem `code`s: every `code` the API can answer with, its status(es) and what it means.
//! `ApiError` takes a `Code`, so a code that is not here does not compile; `docs/api.md` ("Error codes")
//! lists this table, and a test keeps the two identical.

use axum::http::StatusCode;

macro_rules! catalogue {
    ($($name:ident = ([$($status:ident),+], $code:literal, $meaning:literal);)*) => {
        /// A stable snake_case code clients can switch on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $($name,)*
        }

        impl Code {
            /// Every code, in the order of the catalogue.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $code,)*
                }
            }

            /// The statuses this code is sent with.
            pub const fn statuses(self) -> &'static [StatusCode] {
                match self {
                    $(Code::$name => &[$(StatusCode::$status),+],)*
                }
            }

            /// What the code means, for the docs.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Code::$name => $meaning,)*
                }
            }
        }
    };
}

catalogue! {
    // Requests the server cannot read.
    BadRequest = ([BAD_REQUEST], "bad_request", "The request is malformed: a bad header, path or query that no more specific code describes.");
    MalformedJson = ([BAD_REQUEST], "malformed_json", "The body is not valid JSON, or not of the expected shape.");
    ValidationFailed = ([UNPROCESSABLE_ENTITY], "validation_failed", "One or more fields are invalid; `errors` lists each with its location.");
    InvalidCursor = ([BAD_REQUEST], "invalid_cursor", "The `cursor` is not one this list issued for the same caller, sort and filter.");
    PayloadTooLarge = ([PAYLOAD_TOO_LARGE], "payload_too_large", "The body is larger than the server accepts.");
    UnsupportedMediaType = ([UNSUPPORTED_MEDIA_TYPE], "unsupported_media_type", "The body's `Content-Type` is not the one the route accepts.");
    MethodNotAllowed = ([METHOD_NOT_ALLOWED], "method_not_allowed", "The method is not allowed on this resource; `Allow` lists those that are.");
    NotAcceptable = ([NOT_ACCEPTABLE], "not_acceptable", "No representation matches the `Accept` header.");
    LengthRequired = ([LENGTH_REQUIRED], "length_required", "The request needs a `Content-Length`.");
    UriTooLong = ([URI_TOO_LONG], "uri_too_long", "The request target is longer than the server accepts.");
    RequestTimeout = ([REQUEST_TIMEOUT], "request_timeout", "The client took too long to send the request.");
    // Who the caller is.
    NotAuthenticated = ([UNAUTHORIZED], "not_authenticated", "No valid access token (or session cookie) came with a request that needs one.");
    InvalidCredentials = ([BAD_REQUEST, UNAUTHORIZED], "invalid_credentials", "Sign-in failed (401), or the current password given to confirm a change is wrong (400).");
    TotpRequired = ([UNAUTHORIZED], "totp_required", "The account has two-factor authentication: send `totp_code` (`X-2FA-Required: true`).");
    InvalidTotp = ([BAD_REQUEST, UNAUTHORIZED], "invalid_totp", "The TOTP or recovery code is wrong or already used (401 at sign-in, 400 elsewhere).");
    InvalidRefreshToken = ([BAD_REQUEST, UNAUTHORIZED], "invalid_refresh_token", "The refresh token is unknown, expired or revoked (401), or is not one of the caller's live sessions (400, logout).");
    RefreshTokenReused = ([UNAUTHORIZED], "refresh_token_reused", "An already rotated refresh token came back: its whole session family is revoked.");
    InvalidToken = ([BAD_REQUEST, UNAUTHORIZED], "invalid_token", "A verification or reset token is unknown, expired, used or of another purpose.");
    UnsupportedGrantType = ([BAD_REQUEST], "unsupported_grant_type", "`/auth/token` accepts only `grant_type=password`.");
    CsrfRejected = ([FORBIDDEN], "csrf_rejected", "A cookie-authenticated request came from another origin.");
    // What the caller may do.
    Forbidden = ([FORBIDDEN], "forbidden", "The caller is signed in but may not do this (e.g. not an administrator).");
    EmailNotVerified = ([FORBIDDEN], "email_not_verified", "The action needs a verified email address.");
    RegistrationClosed = ([FORBIDDEN], "registration_closed", "Registration is disabled (`REGISTRATION_OPEN=false`).");
    Blocked = ([FORBIDDEN], "blocked", "The threat filter blocked the request.");
    // The resource.
    NotFound = ([NOT_FOUND], "not_found", "Nothing exists at this path, or the caller may not see it (never 403 for another user's resource).");
    SessionNotFound = ([NOT_FOUND], "session_not_found", "The session does not exist or is not one of the caller's.");
    Conflict = ([CONFLICT], "conflict", "The change conflicts with the stored state (a duplicate, or a reference still in use).");
    EmailTaken = ([CONFLICT], "email_taken", "Another account already uses this email address.");
    QuotaExceeded = ([CONFLICT], "quota_exceeded", "The account already has as many of these resources as it may.");
    LastAdmin = ([CONFLICT], "last_admin", "The last active administrator cannot be deactivated, demoted or deleted.");
    CannotModifySelf = ([CONFLICT], "cannot_modify_self", "An administrator cannot change their own role or active flag here.");
    TotpAlreadyEnabled = ([CONFLICT], "totp_already_enabled", "Two-factor authentication is already on.");
    TotpNotEnabled = ([CONFLICT], "totp_not_enabled", "Two-factor authentication is not on (or its setup was not started).");
    InvalidState = ([BAD_REQUEST], "invalid_state", "The requested state or transition is not one this resource allows.");
    JobStateConflict = ([CONFLICT], "job_state_conflict", "The job is not in a state that allows this action.");
    PreconditionFailed = ([PRECONDITION_FAILED], "precondition_failed", "`If-Match` does not match the current `ETag`: the resource changed since it was read.");
    // Idempotency.
    InvalidIdempotencyKey = ([BAD_REQUEST], "invalid_idempotency_key", "The `Idempotency-Key` is empty, too long or has characters outside the allowed set.");
    IdempotencyKeyReused = ([UNPROCESSABLE_ENTITY], "idempotency_key_reused", "The key was used before with another request (method, path or body).");
    IdempotencyInProgress = ([CONFLICT], "idempotency_in_progress", "A request with this key is still being processed.");
    // Limits and the server.
    RateLimited = ([TOO_MANY_REQUESTS], "rate_limited", "Too many requests (per address, per account or per route); `Retry-After` says when to retry.");
    Internal = ([INTERNAL_SERVER_ERROR], "internal", "An unexpected error; the server logged it with the request id.");
    NotImplemented = ([NOT_IMPLEMENTED], "not_implemented", "The server does not implement this method.");
    ServiceUnavailable = ([SERVICE_UNAVAILABLE], "service_unavailable", "A dependency (the database, Redis) is unavailable or the server is draining; `Retry-After` is set.");
    Timeout = ([GATEWAY_TIMEOUT], "timeout", "The request took longer than the server's time limit and was cancelled.");
    Error = ([BAD_REQUEST], "error", "A 4xx the server sends on its own for a status without a code of its own; the status says more.");
}

/// The catalogue as the Markdown table of `docs/api.md`.
#[cfg(test)]
fn markdown_table() -> String {
    let mut out = String::from("| Status | Code | Meaning |\n|---|---|---|\n");
    for code in Code::ALL {
        // The two fallbacks of `code_for_status` also go with statuses that have no code of their own.
        let statuses = match code {
            Code::Error => "other 4xx".to_string(),
            Code::Internal => "500, other 5xx".to_string(),
            _ => code
                .statuses()
                .iter()
                .map(|s| s.as_u16().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!("| {statuses} | `{}` | {} |\n", code.as_str(), code.meaning()));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const START: &str = "<!-- error-codes:start (generated from server/src/error/codes.rs) -->\n";
    const END: &str = "<!-- error-codes:end -->";

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(!code.meaning().is_empty() && !code.statuses().is_empty(), "{s}");
        }
    }

    /// `docs/api.md` lists exactly this catalogue. `UPDATE_DOCS=1 cargo test -p neoforge --lib error::codes`
    /// rewrites the section.
    #[test]
    fn docs_list_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
        let doc = std::fs::read_to_string(path).expect("docs/api.md");
        let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
            panic!("docs/api.md has no error-codes section ({START:?} … {END:?})");
        };
        let listed = &doc[start + START.len()..end];
        let table = markdown_table();
        if listed != table && std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
            let updated = format!("{}{table}{}", &doc[..start + START.len()], &doc[end..]);
            std::fs::write(path, updated).expect("write docs/api.md");
            return;
        }
        assert_eq!(
            listed, table,
            "docs/api.md's error codes differ from the catalogue: UPDATE_DOCS=1 cargo test -p neoforge --lib error::codes"
        );
    }

    /// Every catalogued code is sent by some code path: the catalogue holds no dead entries.
    #[test]
    fn every_code_is_used() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut text = String::new();
        let mut dirs = vec![std::path::PathBuf::from(src)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("error/codes.rs") {
                    text.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        for code in Code::ALL {
            let name = format!("Code::{code:?}");
            assert!(
                text.contains(&format!("{name},"))
                    || text.contains(&format!("{name})"))
                    || text.contains(&format!("{name} ")),
                "{name} ({}) is catalogued but never sent",
                code.as_str()
            );
        }
    }
}
