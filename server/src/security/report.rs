//! CSP violation reports: the two wire formats (legacy `report-uri` and the Reporting API), reduced to
//! what may be logged — directive, blocked origin, document path and disposition. Never a query, a
//! script sample, an IP or a user.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What is kept of one violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// A known directive name, `other` or `unknown`: a bounded metric label.
    pub directive: &'static str,
    /// `scheme://host` of the blocked resource, or a CSP keyword (`inline`, `eval`, `data`, …).
    pub blocked_origin: String,
    /// The path of the document, without query or fragment.
    pub document_path: String,
    /// `enforce`, `report` or `unknown`.
    pub disposition: &'static str,
}

/// The body of a legacy report (`Content-Type: application/csp-report`): `{"csp-report": {...}}`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct LegacyCspReport {
    #[serde(rename = "csp-report")]
    pub csp_report: LegacyCspReportBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub struct LegacyCspReportBody {
    pub document_uri: Option<String>,
    pub violated_directive: Option<String>,
    pub effective_directive: Option<String>,
    pub blocked_uri: Option<String>,
    pub disposition: Option<String>,
    pub original_policy: Option<String>,
}

/// One entry of a Reporting API body (`Content-Type: application/reports+json`, an array of these).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ReportingApiReport {
    /// `csp-violation` (other report types are ignored).
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub body: ReportingApiCspBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ReportingApiCspBody {
    #[serde(rename = "documentURL")]
    pub document_url: Option<String>,
    #[serde(rename = "blockedURL")]
    pub blocked_url: Option<String>,
    pub effective_directive: Option<String>,
    pub disposition: Option<String>,
}

/// Every directive a report can name; anything else is `other` (labels stay bounded).
const DIRECTIVES: &[&str] = &[
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "img-src",
    "font-src",
    "connect-src",
    "media-src",
    "object-src",
    "frame-src",
    "child-src",
    "worker-src",
    "manifest-src",
    "prefetch-src",
    "fenced-frame-src",
    "frame-ancestors",
    "form-action",
    "base-uri",
    "navigate-to",
    "sandbox",
    "trusted-types",
    "require-trusted-types-for",
    "webrtc",
    "upgrade-insecure-requests",
    "block-all-mixed-content",
];

const KEYWORDS: &[&str] = &[
    "inline",
    "eval",
    "wasm-eval",
    "self",
    "data",
    "blob",
    "filesystem",
    "trusted-types-policy",
    "trusted-types-sink",
];

/// The outcome of parsing a body.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub violations: Vec<Violation>,
    /// Entries (or a whole body) that were not a report at all.
    pub invalid: usize,
}

/// Parses either format; never fails (garbage is counted as `invalid`).
pub fn parse(body: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        out.invalid = 1;
        return out;
    };
    match value {
        Value::Array(items) => {
            for item in &items {
                entry(item, &mut out);
            }
        }
        other => entry(&other, &mut out),
    }
    out
}

fn entry(item: &Value, out: &mut Parsed) {
    if let Some(legacy) = item.get("csp-report").filter(|v| v.is_object()) {
        let field = |k: &str| legacy.get(k).and_then(Value::as_str);
        out.violations.push(Violation {
            directive: directive(field("effective-directive").or(field("violated-directive"))),
            blocked_origin: blocked_origin(field("blocked-uri")),
            document_path: document_path(field("document-uri")),
            disposition: disposition(field("disposition")),
        });
        return;
    }
    let body = item.get("body").filter(|v| v.is_object());
    match (item.get("type").and_then(Value::as_str), body) {
        (Some("csp-violation"), Some(body)) => {
            let field = |k: &str| body.get(k).and_then(Value::as_str);
            out.violations.push(Violation {
                directive: directive(field("effectiveDirective").or(field("violatedDirective"))),
                blocked_origin: blocked_origin(field("blockedURL")),
                document_path: document_path(field("documentURL").or(item.get("url").and_then(Value::as_str))),
                disposition: disposition(field("disposition")),
            });
        }
        // Other Reporting API types (deprecation, intervention, …) may share the endpoint: ignored.
        (Some(_), Some(_)) => {}
        _ => out.invalid += 1,
    }
}

fn directive(raw: Option<&str>) -> &'static str {
    let Some(raw) = raw else { return "unknown" };
    // Legacy `violated-directive` may carry the sources too: "script-src 'self'".
    let name = raw.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
    DIRECTIVES.iter().find(|d| **d == name).copied().unwrap_or("other")
}

fn disposition(raw: Option<&str>) -> &'static str {
    match raw {
        Some("enforce") => "enforce",
        Some("report") => "report",
        _ => "unknown",
    }
}

/// `scheme://host` (no port, path, query or credentials), or a CSP keyword.
fn blocked_origin(raw: Option<&str>) -> String {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return "unknown".into();
    };
    let lower = raw.to_ascii_lowercase();
    if let Some(k) = KEYWORDS.iter().find(|k| **k == lower) {
        return (*k).to_string();
    }
    match url::Url::parse(raw) {
        Ok(u) => match u.host_str() {
            Some(host) => clip(&format!("{}://{}", u.scheme(), host), 200),
            None if KEYWORDS.contains(&u.scheme()) => u.scheme().to_string(),
            None => "other".into(),
        },
        Err(_) => "other".into(),
    }
}

/// The path of the document URL; never its query or fragment.
fn document_path(raw: Option<&str>) -> String {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return "unknown".into();
    };
    let path = match url::Url::parse(raw) {
        Ok(u) => u.path().to_string(),
        Err(_) if raw.starts_with('/') => raw.split(['?', '#']).next().unwrap_or("/").to_string(),
        Err(_) => return "unknown".into(),
    };
    clip(&path, 256)
}

fn clip(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_reports_keep_only_safe_fields() {
        let body = br#"{"csp-report": {
            "document-uri": "https://app.example.com/reset-password?token=SECRET#x",
            "violated-directive": "script-src-elem 'self'",
            "blocked-uri": "https://user:pw@evil.example.net:8443/x.js?session=SECRET",
            "script-sample": "alert('SECRET')",
            "disposition": "enforce"}}"#;
        let parsed = parse(body);
        assert_eq!(parsed.invalid, 0);
        assert_eq!(
            parsed.violations,
            vec![Violation {
                directive: "script-src-elem",
                blocked_origin: "https://evil.example.net".into(),
                document_path: "/reset-password".into(),
                disposition: "enforce",
            }]
        );
    }

    #[test]
    fn reporting_api_arrays() {
        let body = br#"[
            {"type": "csp-violation", "age": 10, "url": "https://a.example/x?y=1", "user_agent": "UA",
             "body": {"documentURL": "https://a.example/page?q=1", "blockedURL": "inline",
                      "effectiveDirective": "style-src-attr", "disposition": "report", "sample": "color:red"}},
            {"type": "deprecation", "body": {"id": "x"}},
            {"type": "csp-violation", "body": {"effectiveDirective": "made-up-src", "blockedURL": "data:image/png;base64,AAA"}},
            42
        ]"#;
        let parsed = parse(body);
        assert_eq!(parsed.invalid, 1);
        assert_eq!(parsed.violations.len(), 2);
        assert_eq!(parsed.violations[0].directive, "style-src-attr");
        assert_eq!(parsed.violations[0].blocked_origin, "inline");
        assert_eq!(parsed.violations[0].document_path, "/page");
        assert_eq!(parsed.violations[0].disposition, "report");
        assert_eq!(parsed.violations[1].directive, "other");
        assert_eq!(parsed.violations[1].blocked_origin, "data");
        assert_eq!(parsed.violations[1].document_path, "unknown");
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        for body in [
            &b""[..],
            b"not json",
            b"{}",
            b"null",
            b"\xff\xfe",
            b"{\"csp-report\": 5}",
            b"[1,2]",
        ] {
            let parsed = parse(body);
            assert!(parsed.violations.is_empty());
            assert!(parsed.invalid >= 1, "{:?}", String::from_utf8_lossy(body));
        }
        assert_eq!(parse(b"[]"), Parsed::default());
    }
}
