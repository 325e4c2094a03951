//! Wire types of support tickets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::TicketRow;
use crate::http::list::ListParams;

pub const STATUSES: &[&str] = &["open", "pending", "resolved", "closed"];

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    pub id: Uuid,
    pub email: String,
    pub subject: String,
    pub message: String,
    /// `open`, `pending`, `resolved` or `closed`.
    pub status: String,
    /// The author, or `null` for an anonymous ticket (or a deleted account).
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&TicketRow> for TicketOut {
    fn from(r: &TicketRow) -> Self {
        TicketOut {
            id: r.id,
            email: r.email.clone(),
            subject: r.subject.clone(),
            message: r.message.clone(),
            status: r.status.clone(),
            user_id: r.user_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTicket {
    /// Required when anonymous; defaults to the signed-in user's email.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// 1..200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: String,
    /// 1..10000 characters.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateTicket {
    /// 1..200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: Option<String>,
    /// 1..10000 characters.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub message: Option<String>,
    /// Owners may only set `closed`; administrators anything.
    #[schema(pattern = "^(open|pending|resolved|closed)$")]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketListQuery {
    /// `open`, `pending`, `resolved` or `closed`.
    #[param(pattern = "^(open|pending|resolved|closed)$")]
    pub status: Option<String>,
    /// Case-insensitive substring of subject and message (and email, for administrators).
    pub q: Option<String>,
    /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`.
    #[param(pattern = r"^\s*([-+]?(created_at|updated_at))?\s*$")]
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

impl TicketListQuery {
    pub fn params(&self) -> ListParams {
        ListParams {
            page: self.page,
            page_size: self.page_size,
            cursor: self.cursor.clone(),
            include_total: self.include_total,
        }
    }
}
