//! All SQL of __names__ but reads by id and deletes (`crate::resource`, from `__Name__Row`'s `Resource`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::Tx,
    http::list::{ListRow, SortValue},
    with_tx,
};

pub const COLUMNS: &str = "SELECT id, owner_id, name, description, created_at, updated_at FROM __names__";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct __Name__Row {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ListRow for __Name__Row {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, name: &str) -> SortValue {
        match name {
            "name" => SortValue::Text(self.name.clone()),
            "updated_at" => SortValue::Time(self.updated_at),
            _ => SortValue::Time(self.created_at),
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    owner: Uuid,
    name: &str,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<__Name__Row, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "INSERT INTO __names__ (id, owner_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         RETURNING id, owner_id, name, description, created_at, updated_at"
    )
    .bind(Uuid::now_v7())
    .bind(owner)
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_one(c)
    .await)
}

pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    name: &str,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<__Name__Row, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "UPDATE __names__ SET name = $2, description = $3, updated_at = $4 WHERE id = $1
         RETURNING id, owner_id, name, description, created_at, updated_at"
    )
    .bind(id)
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_one(c)
    .await)
}
