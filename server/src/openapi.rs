//! The OpenAPI document, assembled from the routes registered through `OpenApiRouter`.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{
    error::{FieldError, Problem},
    security::report::{LegacyCspReport, ReportingApiReport},
};

pub mod problems;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "NeoForge API",
        description = "The HTTP contract of NeoForge. Errors are RFC 9457 problem documents \
                       (`application/problem+json`) with a stable `code` and the `request_id`.",
        license(name = "MIT", identifier = "MIT")
    ),
    components(schemas(Problem, FieldError, LegacyCspReport, ReportingApiReport)),
    modifiers(&BearerAuth),
    tags(
        (name = "system", description = "Probes and client configuration"),
        (name = "auth", description = "Registration, sign-in, sessions, email flows, two-factor authentication"),
        (name = "users", description = "The signed-in user's account"),
        (name = "admin", description = "Administration: users and the audit log"),
        (name = "projects", description = "Projects, private to their owner"),
        (name = "support", description = "Support tickets"),
        (name = "community", description = "Community posts: public reading, signed-in writing"),
        (name = "status", description = "The status page"),
        (name = "security", description = "Content-Security-Policy violation reports"),
        // new-resource: tags (`make new-resource` adds a tag above)
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The complete document, as served at `/api/v1/openapi.json` and printed by `neoforge openapi`.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(crate::app::api_routes().split_for_parts().1)
}

/// What the assembled document needs that no single handler states (`problems`): the shared error answers
/// of every operation (429 `rate_limited` with `Retry-After` on every `/api/v1` one, spec §6, among them),
/// problem+json error bodies, `security` everywhere and `servers`.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    problems::complete(&mut doc);
    doc
}
