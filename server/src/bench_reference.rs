//! The references `make bench` measures NeoForge against (spec/ops.md, "Benchmarks"): the same axum and
//! hyper, on the same machine, with none of NeoForge's middleware, authentication or logging.
//!
//! - `GET /plain`: a small JSON answer, no database (the HTTP ceiling with the load generator beside it);
//! - `GET /select/{id}`: one primary-key `SELECT` of a project through the same pools NeoForge uses (the
//!   SQLite read pool, or the PostgreSQL pool), returned as JSON.
//!
//! Started by the hidden `neoforge bench-reference` command; it never runs in a deployment.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    db::{Db, PoolConfig},
    projects::store::ProjectRow,
};

const SELECT_ONE: &str = "SELECT id, owner_id, name, description, created_at, updated_at FROM projects WHERE id = $1";

/// The reference router over `db`.
pub fn router(db: Db) -> Router {
    Router::new()
        .route("/plain", get(plain))
        .route("/select/{id}", get(select_one))
        .with_state(db)
}

/// Serves the references on `addr` until the process is stopped. The database must be migrated already.
pub async fn serve(database_url: &str, max_connections: u32, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let pool = PoolConfig {
        max_connections,
        ..PoolConfig::default()
    };
    let db = Db::connect(database_url, &pool).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(db)).await?;
    Ok(())
}

async fn plain() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn select_one(State(db): State<Db>, Path(id): Path<Uuid>) -> Response {
    let row: Result<Option<ProjectRow>, sqlx::Error> = match &db {
        Db::Sqlite { read, .. } => sqlx::query_as(SELECT_ONE).bind(id).fetch_optional(read).await,
        Db::Postgres(pg) => sqlx::query_as(SELECT_ONE).bind(id).fetch_optional(pg).await,
    };
    match row {
        Ok(Some(p)) => Json(json!({
            "id": p.id, "owner_id": p.owner_id, "name": p.name, "description": p.description,
            "created_at": p.created_at, "updated_at": p.updated_at,
        }))
        .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
