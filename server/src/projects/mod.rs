//! Projects: private to their owner (administrators may see and change any).

mod handlers;
pub mod model;
pub(crate) mod store;

pub use store::COLUMNS;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_projects, handlers::create_project))
        .routes(routes!(
            handlers::get_project,
            handlers::update_project,
            handlers::delete_project
        ))
}
