//! The always-on security headers of spec §8 (and the production-only ones), on every response, plus
//! the CSP reporting headers when `CSP_REPORTING` is on. Values are built once, at start-up.
//! Two enforced policies: the web app's and the API's (no `'unsafe-inline'` anywhere), and a looser
//! `style-src` for the Swagger UI pages under `/docs` only, which set inline styles.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::{config::Settings, security::CSP_REPORT_PATH};

/// The enforced Content-Security-Policy of the web app and the API (every environment). The app's
/// styles are constructable stylesheets and one CSS file, so `style-src` needs no `'unsafe-inline'`;
/// nothing needs `unsafe-eval` or a remote origin.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// The enforced policy on `/docs` only: Swagger UI sets inline styles (and uses data: images).
pub const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// The default report-only policy outside production: the enforced one tightened by the next steps
/// worth trying (no inline styles, Trusted Types for script sinks). Reports show what would break.
pub const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'; \
require-trusted-types-for 'script'";

pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

/// How long browsers keep the `Report-To` group (126 days, the customary value).
const REPORT_TO_MAX_AGE: u64 = 10_886_400;

/// Every header value this layer sets, computed from the settings once.
pub struct SecurityHeaders {
    fixed: Vec<(HeaderName, HeaderValue)>,
    /// The enforced policy for everything but `/docs`, and the one for `/docs`.
    csp: HeaderValue,
    docs_csp: HeaderValue,
}

/// The Swagger UI pages (and their assets), which get [`DOCS_CSP`].
fn is_docs(path: &str) -> bool {
    path == "/docs" || path.starts_with("/docs/")
}

impl SecurityHeaders {
    pub fn new(settings: &Settings) -> Arc<Self> {
        let stat = |name: HeaderName, value: &'static str| (name, HeaderValue::from_static(value));
        let mut fixed = vec![
            stat(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            stat(header::X_FRAME_OPTIONS, "DENY"),
            stat(header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
            stat(HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY),
        ];
        let prod = settings.environment.is_production();
        let (csp, docs_csp);
        if settings.security.csp_reporting {
            let reporting = format!("report-uri {CSP_REPORT_PATH}; report-to csp");
            let with_reporting = |policy: &str| HeaderValue::from_str(&format!("{policy}; {reporting}")).ok();
            csp = with_reporting(CSP).expect("static value");
            docs_csp = with_reporting(DOCS_CSP).expect("static value");
            if !prod {
                // CSP_REPORT_ONLY_POLICY is validated as a header value at start-up; fall back if not.
                let candidate = settings
                    .security
                    .csp_report_only_policy
                    .as_deref()
                    .unwrap_or(STRICT_CSP);
                let value =
                    with_reporting(candidate.trim().trim_end_matches(';')).or_else(|| with_reporting(STRICT_CSP));
                fixed.extend(value.map(|v| (header::CONTENT_SECURITY_POLICY_REPORT_ONLY, v)));
            }
            fixed.push((
                HeaderName::from_static("reporting-endpoints"),
                HeaderValue::from_str(&format!("csp=\"{CSP_REPORT_PATH}\"")).expect("static value"),
            ));
            // Report-To (the older Reporting API header, still the one Chromium-based browsers before
            // Reporting-Endpoints read) needs an absolute URL.
            let report_to = serde_json::json!({
                "group": "csp",
                "max_age": REPORT_TO_MAX_AGE,
                "endpoints": [{"url": format!("{}{CSP_REPORT_PATH}", settings.server.public_url)}],
            });
            if let Ok(v) = HeaderValue::from_str(&report_to.to_string()) {
                fixed.push((HeaderName::from_static("report-to"), v));
            }
        } else {
            csp = HeaderValue::from_static(CSP);
            docs_csp = HeaderValue::from_static(DOCS_CSP);
        }
        if prod {
            fixed.push(stat(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            ));
            fixed.push(stat(
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ));
            fixed.push(stat(
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-site",
            ));
        }
        Arc::new(Self { fixed, csp, docs_csp })
    }

    fn apply(&self, h: &mut HeaderMap, docs: bool) {
        for (name, value) in &self.fixed {
            h.insert(name.clone(), value.clone());
        }
        let csp = if docs { &self.docs_csp } else { &self.csp };
        h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        h.remove(header::SERVER);
    }
}

pub async fn security_headers(State(headers): State<Arc<SecurityHeaders>>, req: Request, next: Next) -> Response {
    let docs = is_docs(req.uri().path());
    let mut res = next.run(req).await;
    headers.apply(res.headers_mut(), docs);
    res
}
