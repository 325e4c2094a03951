//! Status page: administrators post events; anyone reads each service's latest state and the overall one.
//! Reading the page costs O(services): `status_services` holds each service's latest event, kept in the
//! same transaction as the event insert.

mod handlers;
pub mod model;
pub(crate) mod store;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_events, handlers::create_event))
        .routes(routes!(handlers::status_page))
        .routes(routes!(handlers::service_status))
}
