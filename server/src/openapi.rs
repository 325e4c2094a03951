//! The OpenAPI document, assembled from the routes registered through `OpenApiRouter`.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "NeoForge API",
        description = "The HTTP contract of NeoForge. Errors are RFC 9457 problem documents \
                       (`application/problem+json`) with a stable `code` and the `request_id`.",
        license(name = "MIT")
    ),
    components(schemas(Problem, FieldError)),
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

/// What the assembled document needs that no single handler states: every operation under `/api/v1` is
/// rate limited (spec §6), so each one documents its 429 `rate_limited` with `Retry-After` (handlers that
/// say more about theirs keep their own text).
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{
        ContentBuilder, Ref, ResponseBuilder,
        header::HeaderBuilder,
        schema::{ObjectBuilder, Type},
    };
    let retry_after = || {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds until a request of this tier would be allowed"))
            .build()
    };
    let limited = ResponseBuilder::new()
        .description("rate_limited: over the limit of the request's rate-limit tier; retry after `Retry-After` seconds")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header("Retry-After", retry_after())
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with(crate::app::API_PREFIX) {
            continue;
        }
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let entry = op
                .responses
                .responses
                .entry("429".to_string())
                .or_insert_with(|| limited.clone().into());
            if let utoipa::openapi::RefOr::T(res) = entry {
                res.headers.entry("Retry-After".to_string()).or_insert_with(retry_after);
            }
        }
    }
    doc
}
