//! The web app (`web/dist`, embedded at build time) with an SPA fallback for HTML navigations.
//! The binary still builds and serves the API when `web/dist` is absent.

use axum::{
    body::Body,
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../web/dist"]
#[allow_missing = true]
struct WebDist;

/// Shown at `/` when the web app was not built.
const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>NeoForge</title></head>\
<body><main><h1>NeoForge</h1><p>The API is running. The web app has not been built \
(<code>make web</code>).</p><p><a href=\"/docs\">API documentation</a></p></main></body></html>";

fn accepts_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The router's fallback: a static file, the SPA shell for an HTML navigation, or a 404 problem.
pub async fn fallback(method: Method, uri: Uri, headers: axum::http::HeaderMap) -> Response {
    let path = uri.path();
    let is_api = path == "/api" || path.starts_with("/api/");
    if is_api || !(method == Method::GET || method == Method::HEAD) {
        return ApiError::not_found("resource").into_response();
    }
    let file = path.trim_start_matches('/');
    if !file.is_empty()
        && let Some(content) = WebDist::get(file)
    {
        let mime = mime_guess::from_path(file).first_or_octet_stream();
        // Vite puts content hashes in names under assets/: those can be cached forever.
        let cache = if file.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(mime.as_ref())
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
            Body::from(content.data.into_owned()),
        )
            .into_response();
    }

    if file.is_empty() || accepts_html(&headers) {
        let html = WebDist::get("index.html")
            .map(|f| f.data.into_owned())
            .unwrap_or_else(|| PLACEHOLDER.as_bytes().to_vec());
        return (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            html,
        )
            .into_response();
    }
    ApiError::not_found("resource").into_response()
}
