//! Strong ETags computed from the bytes sent, `If-None-Match` → 304, `If-Match` → 412 (spec §5).

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::error::Code;

/// A strong ETag for `bytes`: a quoted, truncated SHA-256.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..18]))
}

/// The ETag a resource's `GET` would carry: the same serialisation, so `If-Match` compares like for like.
pub fn etag_for<T: Serialize>(value: &T) -> String {
    etag_of(&serde_json::to_vec(value).unwrap_or_default())
}

/// The entity tags listed in an `If-Match`/`If-None-Match` header; `None` when absent. `*` is kept as is.
fn tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 asks for this header).
pub fn none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    tags(headers, header::IF_NONE_MATCH)
        .is_some_and(|list| list.iter().any(|t| t == "*" || t.trim_start_matches("W/") == etag))
}

/// Checks `If-Match` against the current ETag of an existing resource (strong comparison): a mismatch is
/// 412 `precondition_failed` carrying the current ETag.
pub fn check_if_match(headers: &HeaderMap, current: &str) -> Result<(), ApiError> {
    let Some(list) = tags(headers, header::IF_MATCH) else {
        return Ok(());
    };
    if list.iter().any(|t| t == "*" || t == current) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        Code::PreconditionFailed,
        "The resource changed since you read it (If-Match does not match its current ETag).",
    )
    .with_header(
        header::ETAG,
        HeaderValue::from_str(current).unwrap_or(HeaderValue::from_static("\"\"")),
    ))
}

/// A JSON response with its ETag; a matching `If-None-Match` on a GET turns it into a bodiless 304.
pub fn json_with_etag<T: Serialize>(request: &HeaderMap, status: StatusCode, value: &T) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let etag = etag_of(&bytes);
    if status == StatusCode::OK && none_match_hits(request, &etag) {
        return not_modified(&etag);
    }
    let mut res = (status, Body::from(bytes)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// A write's answer: the resource as JSON with its new ETag.
pub fn written<T: Serialize>(value: &T) -> Response {
    json_with_etag(&HeaderMap::new(), StatusCode::OK, value)
}

/// A create's answer: 201 with the resource, its ETag and `Location`.
pub fn created<T: Serialize>(value: &T, location: &str) -> Response {
    let mut res = json_with_etag(&HeaderMap::new(), StatusCode::CREATED, value);
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub fn not_modified(etag: &str) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn if_match_is_strong_and_lists_are_split() {
        let tag = etag_of(b"x");
        assert!(check_if_match(&HeaderMap::new(), &tag).is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, "*"), &tag).is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, &format!("\"other\", {tag}")), &tag).is_ok());
        let e = check_if_match(&headers(header::IF_MATCH, &format!("W/{tag}")), &tag).unwrap_err();
        assert_eq!(e.status, StatusCode::PRECONDITION_FAILED);
        assert!(check_if_match(&headers(header::IF_MATCH, "\"nope\""), &tag).is_err());
    }

    #[test]
    fn if_none_match() {
        let tag = etag_of(b"x");
        assert!(none_match_hits(&headers(header::IF_NONE_MATCH, &tag), &tag));
        assert!(none_match_hits(&headers(header::IF_NONE_MATCH, "*"), &tag));
        assert!(none_match_hits(
            &headers(header::IF_NONE_MATCH, &format!("W/{tag}")),
            &tag
        ));
        assert!(!none_match_hits(&headers(header::IF_NONE_MATCH, "\"a\""), &tag));
        assert_ne!(etag_of(b"x"), etag_of(b"y"));
        assert!(etag_of(b"x").starts_with('"') && etag_of(b"x").ends_with('"'));
    }
}
