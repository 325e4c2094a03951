//! All SQL of community posts but reads by id and deletes (`crate::resource`, from `PostRow`'s `Resource`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::Tx,
    http::list::{ListRow, SortValue},
    with_tx,
};

pub const COLUMNS: &str =
    "SELECT id, author_id, author_name, title, content, created_at, updated_at FROM community_posts";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostRow {
    pub id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub title: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ListRow for PostRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, name: &str) -> SortValue {
        match name {
            "title" => SortValue::Text(self.title.clone()),
            "updated_at" => SortValue::Time(self.updated_at),
            _ => SortValue::Time(self.created_at),
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    author: Uuid,
    author_name: &str,
    title: &str,
    content: &str,
    now: DateTime<Utc>,
) -> Result<PostRow, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "INSERT INTO community_posts (id, author_id, author_name, title, content, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         RETURNING id, author_id, author_name, title, content, created_at, updated_at"
    )
    .bind(Uuid::now_v7())
    .bind(author)
    .bind(author_name)
    .bind(title)
    .bind(content)
    .bind(now)
    .fetch_one(c)
    .await)
}

pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    title: &str,
    content: &str,
    now: DateTime<Utc>,
) -> Result<PostRow, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "UPDATE community_posts SET title = $2, content = $3, updated_at = $4 WHERE id = $1
         RETURNING id, author_id, author_name, title, content, created_at, updated_at"
    )
    .bind(id)
    .bind(title)
    .bind(content)
    .bind(now)
    .fetch_one(c)
    .await)
}
