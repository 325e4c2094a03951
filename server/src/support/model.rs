//! Wire types of support tickets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{COLUMNS, TicketRow};
use crate::{
    auth::model::Email,
    error::FieldError,
    resource::{OneOf, Patch, Resource, TextRule},
};

pub const STATUSES: &[&str] = &["open", "pending", "resolved", "closed"];
pub const STATUS: OneOf = OneOf::new("status", STATUSES);
pub const SUBJECT: TextRule = TextRule::new("subject", 1, 200);
pub const MESSAGE: TextRule = TextRule::new("message", 1, 10_000);

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

impl Resource for TicketRow {
    const KIND: &'static str = "ticket";
    const TABLE: &'static str = "support_tickets";
    const SELECT: &'static str = COLUMNS;
    const PATH: &'static str = "/api/v1/support/tickets";
    type Out = TicketOut;
    fn out(&self) -> TicketOut {
        TicketOut::from(self)
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

impl CreateTicket {
    /// The ticket's email: the one given, else the signed-in user's (`signed_in`); required when anonymous.
    pub fn email_or(&self, signed_in: Option<&str>) -> Result<String, FieldError> {
        match (&self.email, signed_in) {
            (Some(raw), _) => Email::parse(raw)
                .map(|e| e.as_str().to_string())
                .ok_or_else(|| FieldError::new(&["body", "email"], "is not a valid email address", "value_error")),
            (None, Some(email)) => Ok(email.to_string()),
            (None, None) => Err(FieldError::new(
                &["body", "email"],
                "Field required when not signed in",
                "missing",
            )),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateTicket {
    /// 1..200 characters; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: Patch<String>,
    /// 1..10000 characters; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 10000, pattern = r"\S")]
    pub message: Patch<String>,
    /// Owners may only set `closed`; administrators anything. `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^(open|pending|resolved|closed)$")]
    pub status: Patch<String>,
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

crate::list_params!(TicketListQuery);
