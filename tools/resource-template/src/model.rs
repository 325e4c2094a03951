//! Wire types of __names__.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{__Name__Row, COLUMNS};
use crate::resource::{Patch, Resource, TextRule};

pub const NAME: TextRule = TextRule::new("name", 1, 200);
pub const DESCRIPTION: TextRule = TextRule::new("description", 0, 5000);

#[derive(Debug, Serialize, ToSchema)]
pub struct __Name__Out {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&__Name__Row> for __Name__Out {
    fn from(r: &__Name__Row) -> Self {
        __Name__Out {
            id: r.id,
            name: r.name.clone(),
            description: r.description.clone(),
            owner_id: r.owner_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Resource for __Name__Row {
    const KIND: &'static str = "__name__";
    const TABLE: &'static str = "__names__";
    const SELECT: &'static str = COLUMNS;
    const PATH: &'static str = "/api/v1/__path__";
    type Out = __Name__Out;
    fn out(&self) -> __Name__Out {
        __Name__Out::from(self)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Create__Name__ {
    /// 1..200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// At most 5000 characters.
    #[schema(max_length = 5000)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Update__Name__ {
    /// 1..200 characters; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Patch<String>,
    /// At most 5000 characters; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Patch<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct __Name__ListQuery {
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`, `name`, `-name`.
    #[param(pattern = r"^\s*([-+]?(created_at|updated_at|name))?\s*$")]
    pub sort: Option<String>,
    /// Administrators only: list another user's __names__.
    pub owner_id: Option<Uuid>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// Cursor mode: empty for the first page, then `next_cursor`.
    pub cursor: Option<String>,
    /// Cursor mode: also count the total.
    pub include_total: Option<bool>,
}

crate::list_params!(__Name__ListQuery);
