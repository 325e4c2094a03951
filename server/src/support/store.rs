//! All SQL of support tickets but reads by id (`crate::resource`, from `TicketRow`'s `Resource`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::Tx,
    http::list::{ListRow, SortValue},
    with_tx,
};

pub const COLUMNS: &str =
    "SELECT id, user_id, email, subject, message, status, created_at, updated_at FROM support_tickets";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub email: String,
    pub subject: String,
    pub message: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ListRow for TicketRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, name: &str) -> SortValue {
        match name {
            "updated_at" => SortValue::Time(self.updated_at),
            _ => SortValue::Time(self.created_at),
        }
    }
}

pub struct NewTicket<'a> {
    pub user_id: Option<Uuid>,
    pub email: &'a str,
    pub subject: &'a str,
    pub message: &'a str,
}

pub async fn insert(tx: &mut Tx, t: &NewTicket<'_>, now: DateTime<Utc>) -> Result<TicketRow, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "INSERT INTO support_tickets (id, user_id, email, subject, message, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $6)
         RETURNING id, user_id, email, subject, message, status, created_at, updated_at"
    )
    .bind(Uuid::now_v7())
    .bind(t.user_id)
    .bind(t.email)
    .bind(t.subject)
    .bind(t.message)
    .bind(now)
    .fetch_one(c)
    .await)
}

pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    subject: &str,
    message: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<TicketRow, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "UPDATE support_tickets SET subject = $2, message = $3, status = $4, updated_at = $5 WHERE id = $1
         RETURNING id, user_id, email, subject, message, status, created_at, updated_at"
    )
    .bind(id)
    .bind(subject)
    .bind(message)
    .bind(status)
    .bind(now)
    .fetch_one(c)
    .await)
}
