//! All SQL of the status page.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::{Db, Tx},
    http::list::{ListRow, SortValue},
    with_db, with_tx,
};

pub const EVENT_COLUMNS: &str = "SELECT id, service_id, status, description, created_at FROM status_events";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub service_id: String,
    pub status: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ListRow for EventRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, _name: &str) -> SortValue {
        SortValue::Time(self.created_at)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceRow {
    pub service_id: String,
    pub status: String,
    pub description: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Inserts the event and, when it is the service's latest (by time, then id), makes it the service's state.
pub async fn insert_event(
    tx: &mut Tx,
    service_id: &str,
    status: &str,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<EventRow, sqlx::Error> {
    let row: EventRow = with_tx!(tx, |c| sqlx::query_as(
        "INSERT INTO status_events (id, service_id, status, description, created_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, service_id, status, description, created_at"
    )
    .bind(Uuid::now_v7())
    .bind(service_id)
    .bind(status)
    .bind(description)
    .bind(now)
    .fetch_one(c)
    .await)?;
    with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO status_services (service_id, event_id, status, description, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (service_id) DO UPDATE SET event_id = excluded.event_id, status = excluded.status,
             description = excluded.description, updated_at = excluded.updated_at
         WHERE status_services.updated_at < excluded.updated_at
            OR (status_services.updated_at = excluded.updated_at AND status_services.event_id < excluded.event_id)"
    )
    .bind(&row.service_id)
    .bind(row.id)
    .bind(&row.status)
    .bind(&row.description)
    .bind(row.created_at)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    Ok(row)
}

pub async fn services(db: &Db) -> Result<Vec<ServiceRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT service_id, status, description, updated_at FROM status_services ORDER BY service_id"
    )
    .fetch_all(c)
    .await)
}

pub async fn service(db: &Db, service_id: &str) -> Result<Option<ServiceRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT service_id, status, description, updated_at FROM status_services WHERE service_id = $1"
    )
    .bind(service_id)
    .fetch_optional(c)
    .await)
}
