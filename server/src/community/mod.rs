//! Community board: public reading, signed-in writing.

mod handlers;
pub mod model;
pub(crate) mod store;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_posts, handlers::create_post))
        .routes(routes!(
            handlers::get_post,
            handlers::update_post,
            handlers::delete_post
        ))
}
