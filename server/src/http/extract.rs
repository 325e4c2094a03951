//! Extractors whose rejections are problem documents with the codes of `spec/api.md` §0:
//! malformed JSON → 400 `malformed_json`, wrong media type → 415, bad fields → 422 with `loc`,
//! a path id that cannot name a resource → 404.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::error::Code;
use crate::error::{ApiError, FieldError};

/// A JSON body (`application/json` or `application/*+json`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// A JSON body that may be absent (no bytes; whitespace without a `Content-Type`); a JSON `null` is absent too, as the
/// OpenAPI document describes such a body (`oneOf: [null, …]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub Option<T>);

/// An `application/x-www-form-urlencoded` body (the OAuth2 password grant).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiForm<T>(pub T);

/// Query parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

/// Path parameters; anything that does not parse (a non-UUID id) is 404.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

pub fn is_json_content_type(parts_headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = parts_headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, &()).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::PayloadTooLarge,
                "The request body is larger than the server accepts.",
            )
        } else {
            ApiError::bad_request(Code::BadRequest, "The request body could not be read.")
        }
    })
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Code::UnsupportedMediaType,
        "This route accepts application/json.",
    )
}

/// Parses JSON, telling syntax errors (400) from data errors (422 with the field's location).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every JSON body of the API is an object; serde would also read a struct from an array (`[1, 2]`).
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return Err(ApiError::validation(vec![FieldError::new(
            &["body"],
            "must be a JSON object",
            "type_error",
        )]));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::validation(vec![field_error("body", &e.path().to_string(), &inner.to_string())])
            }
            _ => malformed(inner),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(Code::MalformedJson, format!("The body is not valid JSON: {e}."))
}

/// Turns a serde error at `path` into a field error; a missing field is reported at its own name.
fn field_error(root: &str, path: &str, message: &str) -> FieldError {
    let message = message.split(" at line ").next().unwrap_or(message).to_string();
    let mut loc = vec![root.to_string()];
    if let Some(rest) = message.strip_prefix("missing field `") {
        if path != "." && !path.is_empty() {
            loc.extend(path.split('.').map(str::to_string));
        }
        loc.push(rest.trim_end_matches('`').to_string());
        return FieldError {
            loc,
            msg: "Field required".into(),
            kind: "missing".into(),
        };
    }
    if path != "." && !path.is_empty() {
        loc.extend(path.split('.').map(str::to_string));
    }
    FieldError {
        loc,
        msg: message,
        kind: "type_error".into(),
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        if !is_json_content_type(req.headers()) {
            return Err(unsupported_media_type());
        }
        let bytes = read_body(req).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        if has_type && !is_json_content_type(req.headers()) {
            return Err(unsupported_media_type());
        }
        let bytes = read_body(req).await?;
        // No body is no body; whitespace alone is no body only without a media type (with
        // `application/json` it is malformed JSON, as the document says).
        if bytes.is_empty() || (!has_type && bytes.iter().all(u8::is_ascii_whitespace)) {
            return Ok(OptionalJson(None));
        }
        if !has_type {
            return Err(unsupported_media_type());
        }
        if bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(None));
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// Parses a query string, naming the failing parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        ApiError::validation(vec![field_error(
            "query",
            &e.path().to_string(),
            &e.inner().to_string(),
        )])
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedMediaType,
                "This route accepts application/x-www-form-urlencoded.",
            ));
        }
        let bytes = read_body(req).await?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
        serde_path_to_error::deserialize(de)
            .map(ApiForm)
            .map_err(|e| ApiError::validation(vec![field_error("body", &e.path().to_string(), &e.inner().to_string())]))
    }
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| ApiError::not_found("resource"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: Option<u32>,
    }

    #[test]
    fn json_errors_are_classified() {
        let e = parse_json::<Body>(b"{not json").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "malformed_json"));
        let e = parse_json::<Body>(b"{}").unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.errors.as_ref().unwrap()[0].loc, vec!["body", "name"]);
        assert_eq!(e.errors.as_ref().unwrap()[0].kind, "missing");
        let e = parse_json::<Body>(br#"{"name": "x", "count": "three"}"#).unwrap_err();
        assert_eq!(e.errors.as_ref().unwrap()[0].loc, vec!["body", "count"]);
        let e = parse_json::<Body>(br#"{"name": "x"} trailing"#).unwrap_err();
        assert_eq!(e.code.as_str(), "malformed_json");
        assert!(parse_json::<Body>(br#"{"name": "x", "unknown": 1}"#).is_ok());
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Q {
            page: Option<u32>,
        }
        let e = parse_query::<Q>("page=abc").unwrap_err();
        assert_eq!(e.errors.as_ref().unwrap()[0].loc, vec!["query", "page"]);
        assert_eq!(parse_query::<Q>("page=3").unwrap().page, Some(3));
    }
}
