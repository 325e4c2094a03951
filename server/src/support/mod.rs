//! Support desk: a contact form (anonymous allowed) and a back office for administrators.

mod handlers;
pub mod model;
pub(crate) mod store;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_tickets, handlers::create_ticket))
        .routes(routes!(handlers::get_ticket, handlers::update_ticket))
}
