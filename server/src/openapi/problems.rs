//! The error answers of every operation, completed from what the operation declares (spec §0).
//!
//! Handlers document their own outcomes (`409 quota_exceeded`, `412`, …). What the shared extractors
//! and layers answer is derived here, so it cannot be forgotten on one route: a JSON body brings 400
//! `malformed_json`, 413, 415 and 422; query parameters 422; a path id 404; a bearer requirement 401;
//! `/admin` 403; a `cursor` 400 `invalid_cursor`; `Idempotency-Key` 400, 409 and 422; `If-Match` 412; the rate limiter 429; the threat
//! guard 403 `blocked`; and every route may answer 5XX (500 `internal`, 503, 504 `timeout`). Every
//! error response is `application/problem+json` with the `Problem` schema, except `/ready`'s 503,
//! which is its own JSON document.

use utoipa::openapi::{
    Components, ContentBuilder, KnownFormat, OpenApi, Ref, RefOr, Required, ResponseBuilder, Schema, SchemaFormat,
    Server,
    header::HeaderBuilder,
    path::{Operation, ParameterIn},
    response::Response,
    schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, SchemaType, Type},
    security::SecurityRequirement,
};

use crate::{error::PROBLEM_JSON, http::pagination::MAX_PAGE_SIZE};

/// A response header: (name, description).
type HeaderDoc = Option<(&'static str, &'static str)>;

/// The shared problem responses: (component name, status, description, extra header).
const SHARED: &[(&str, &str, &str, HeaderDoc)] = &[
    (
        "BadRequest",
        "400",
        "Malformed JSON (`malformed_json`), an invalid cursor or `Idempotency-Key`, or another `bad_request`",
        None,
    ),
    (
        "Unauthorized",
        "401",
        "`not_authenticated` (no token) or `invalid_token`",
        Some(("WWW-Authenticate", "`Bearer`")),
    ),
    (
        "Forbidden",
        "403",
        "`forbidden` (not allowed), or `blocked` by the threat guard",
        None,
    ),
    (
        "NotFound",
        "404",
        "`not_found`: no such resource (a path id that is not a UUID names none)",
        None,
    ),
    (
        "Conflict",
        "409",
        "`idempotency_in_progress` (same key still running), or another conflict",
        Some(("Retry-After", "Seconds to wait")),
    ),
    (
        "PreconditionFailed",
        "412",
        "`precondition_failed`: `If-Match` does not match the current `ETag`",
        None,
    ),
    (
        "PayloadTooLarge",
        "413",
        "`payload_too_large`: the body is over `MAX_BODY_BYTES`",
        None,
    ),
    (
        "UnsupportedMediaType",
        "415",
        "`unsupported_media_type`: the body is not `application/json`",
        None,
    ),
    (
        "ValidationFailed",
        "422",
        "`validation_failed` with `errors[]` (or `idempotency_key_reused`)",
        None,
    ),
    (
        "RateLimited",
        "429",
        "`rate_limited`",
        Some(("Retry-After", "Whole seconds to wait, at least 1")),
    ),
    (
        "ServerError",
        "5XX",
        "500 `internal`, 503 `service_unavailable` (database unavailable or busy), 504 `timeout`",
        None,
    ),
];

const RETRY_AFTER: (&str, &str) = (
    "Retry-After",
    "Seconds until a request of this tier would be allowed (at least 1)",
);

fn integer_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some(description))
        .build()
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

fn shared_response(description: &str, header: Option<(&str, &str)>) -> Response {
    let mut b = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content());
    if let Some((name, text)) = header {
        b = b.header(name, integer_header(text));
    }
    b.build()
}

/// Completes `doc`: problem+json error bodies, the shared error answers, `security` on every operation
/// (`[]` for anonymous ones) and `servers`.
pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Components::default);
    for (name, _, description, header) in SHARED {
        components
            .responses
            .insert((*name).to_string(), RefOr::T(shared_response(description, *header)));
    }
    let mut used = std::collections::BTreeSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            complete_operation(path, op, &mut used);
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components.responses.retain(|name, _| used.contains(name.as_str()));
    }
    doc.servers = Some(vec![Server::new("/")]);
}

fn complete_operation(path: &str, op: &mut Operation, used: &mut std::collections::BTreeSet<&'static str>) {
    // An error body is a problem document, whatever the annotation said.
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        let is_error = status.starts_with('4') || status.starts_with('5');
        if !is_error || (path == "/ready" && status == "503") {
            continue;
        }
        response.content.shift_remove("application/json");
        response.content.insert(PROBLEM_JSON.to_string(), problem_content());
        if status == "429" {
            let (name, text) = RETRY_AFTER;
            response
                .headers
                .entry(name.to_string())
                .or_insert_with(|| integer_header(text));
        }
    }

    let is_csp = path.ends_with("/security/csp-report");
    for param in op.parameters.iter_mut().flatten() {
        if let Some(schema) = parameter_schema(param.parameter_in.clone(), &param.name) {
            param.schema = Some(schema);
        }
    }
    // A report endpoint takes whatever a browser sends, an empty body too (spec §7): the shapes it reads,
    // or anything else (counted as invalid, still 204).
    if is_csp && let Some(body) = op.request_body.as_mut() {
        body.required = Some(Required::False);
        for content in body.content.values_mut() {
            let reports = ArrayBuilder::new().items(Ref::from_schema_name("ReportingApiReport"));
            let any = AnyOfBuilder::new()
                .item(Ref::from_schema_name("LegacyCspReport"))
                .item(reports)
                .item(ObjectBuilder::new().schema_type(SchemaType::AnyValue));
            content.schema = Some(RefOr::T(Schema::AnyOf(any.build())));
        }
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |loc: ParameterIn| params.iter().any(|p| p.parameter_in == loc);
    let header = |name: &str| {
        params
            .iter()
            .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name))
    };
    let is_probe = matches!(path, "/health" | "/ready" | "/metrics");
    let security = op.security.get_or_insert_with(Vec::new);
    let needs_token = !security.is_empty();
    let anonymous_allowed = security.is_empty() || security.iter().any(is_anonymous);

    let mut add = Vec::new();
    if op.request_body.is_some() {
        add.extend(["PayloadTooLarge", "UnsupportedMediaType"]);
        if !is_csp {
            add.extend(["BadRequest", "ValidationFailed"]);
        }
    }
    if has(ParameterIn::Query) {
        add.push("ValidationFailed");
    }
    if params
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Query && p.name == "cursor")
    {
        add.push("BadRequest");
    }
    if has(ParameterIn::Path) {
        add.push("NotFound");
    }
    if needs_token && !(is_probe && anonymous_allowed) {
        add.push("Unauthorized");
    }
    if path.starts_with("/api/v1/admin") {
        add.push("Forbidden");
    }
    if header("Idempotency-Key") {
        add.extend(["BadRequest", "Conflict", "ValidationFailed"]);
    }
    if header("If-Match") {
        add.push("PreconditionFailed");
    }
    if !is_probe {
        add.push("RateLimited");
    }
    add.extend(["Forbidden", "ServerError"]);
    for name in add {
        let status = SHARED
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, s, ..)| *s)
            .unwrap_or("5XX");
        op.responses.responses.entry(status.to_string()).or_insert_with(|| {
            used.insert(name);
            RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
        });
    }
}

/// The bounds the shared extractors enforce on parameters every list or write has (spec §3, §4).
fn parameter_schema(location: ParameterIn, name: &str) -> Option<RefOr<Schema>> {
    let integer = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
    };
    let schema = match (location, name) {
        (ParameterIn::Query, "page") => integer(1, i64::MAX / MAX_PAGE_SIZE),
        (ParameterIn::Query, "page_size") => integer(1, MAX_PAGE_SIZE),
        // 1..255 printable ASCII; no space at either end (HTTP would strip it).
        (ParameterIn::Header, "Idempotency-Key") => ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some("^[!-~]([ -~]*[!-~])?$")),
        _ => return None,
    };
    Some(RefOr::T(Schema::Object(schema.build())))
}

fn is_anonymous(req: &SecurityRequirement) -> bool {
    req == &SecurityRequirement::default()
}
