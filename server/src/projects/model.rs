//! Wire types of projects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::ProjectRow;
use crate::http::list::ListParams;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectOut {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ProjectRow> for ProjectOut {
    fn from(r: &ProjectRow) -> Self {
        ProjectOut {
            id: r.id,
            name: r.name.clone(),
            description: r.description.clone(),
            owner_id: r.owner_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProject {
    /// 1..200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// At most 5000 characters.
    #[schema(max_length = 5000)]
    pub description: Option<String>,
}

/// A field that may be absent (leave as is), `null`, or a value.
#[derive(Debug, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProject {
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
pub struct ProjectListQuery {
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`, `name`, `-name`.
    #[param(pattern = r"^\s*([-+]?(created_at|updated_at|name))?\s*$")]
    pub sort: Option<String>,
    /// Administrators only: list another user's projects.
    pub owner_id: Option<Uuid>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// Cursor mode: empty for the first page, then `next_cursor`.
    pub cursor: Option<String>,
    /// Cursor mode: also count the total.
    pub include_total: Option<bool>,
}

impl ProjectListQuery {
    pub fn params(&self) -> ListParams {
        ListParams {
            page: self.page,
            page_size: self.page_size,
            cursor: self.cursor.clone(),
            include_total: self.include_total,
        }
    }
}
