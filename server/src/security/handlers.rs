//! `POST /api/v1/security/csp-report`: accepts browsers' CSP violation reports, counts and logs them
//! (sampled), and answers 204 to anything readable — a report endpoint must never be a source of errors.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};

use super::report;
use crate::error::Code;
use crate::{error::ApiError, state::AppState};

/// Larger bodies are refused with 413: real reports are a few KiB.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

const MEDIA_TYPES: &[&str] = &["application/csp-report", "application/reports+json", "application/json"];

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::PayloadTooLarge,
        "CSP reports are limited to 64 KiB.",
    )
}

/// Receives CSP violation reports: legacy `report-uri` bodies (`{"csp-report": {...}}`) and Reporting API
/// arrays. Always 204 for a body it can read, even garbage (which is only counted).
#[utoipa::path(post, path = "/security/csp-report", tag = "security",
    request_body(
        description = "Optional, and any bytes: a legacy report (`LegacyCspReport`), or a Reporting API array \
                       (`ReportingApiReport`; other report types are ignored). Anything else is counted as \
                       invalid and still answered 204 (spec §7).",
        content(
            (serde_json::Value = "application/csp-report"),
            (serde_json::Value = "application/reports+json"),
            (serde_json::Value = "application/json"),
        )),
    responses(
        (status = 204, description = "Received (or ignored)"),
        (status = 413, description = "Body over 64 KiB", content_type = "application/problem+json",
            body = crate::error::Problem),
        (status = 415, description = "Another media type", content_type = "application/problem+json",
            body = crate::error::Problem)))]
pub async fn csp_report(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<StatusCode, ApiError> {
    if !state.settings.security.csp_reporting {
        return Ok(StatusCode::NO_CONTENT);
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let essence = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !MEDIA_TYPES.contains(&essence.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedMediaType,
                "This route accepts application/csp-report, application/reports+json or application/json.",
            ));
        }
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REPORT_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_REPORT_BYTES)
        .await
        .map_err(|_| too_large())?;

    let parsed = report::parse(&bytes);
    if parsed.invalid > 0 {
        metrics::counter!("csp_reports_total", "directive" => "invalid").increment(parsed.invalid as u64);
    }
    let rate = state.settings.security.csp_report_sample_rate;
    for v in &parsed.violations {
        metrics::counter!("csp_reports_total", "directive" => v.directive).increment(1);
        if rate >= 1.0 || (rate > 0.0 && rand::random::<f64>() < rate) {
            tracing::warn!(
                target: "neoforge::csp",
                directive = v.directive,
                blocked_origin = %v.blocked_origin,
                document_path = %v.document_path,
                disposition = v.disposition,
                "csp violation"
            );
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
