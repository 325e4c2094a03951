//! Wire types of community posts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{COLUMNS, PostRow};
use crate::resource::{Patch, Resource, TextRule};

pub const TITLE: TextRule = TextRule::new("title", 1, 200);
pub const CONTENT: TextRule = TextRule::new("content", 1, 20_000);

/// A post. `content` is plain text: clients render it as text, never as HTML.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    pub id: Uuid,
    pub title: String,
    pub content: String,
    pub author_id: Uuid,
    /// The author's full name when the post was written.
    pub author_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&PostRow> for PostOut {
    fn from(r: &PostRow) -> Self {
        PostOut {
            id: r.id,
            title: r.title.clone(),
            content: r.content.clone(),
            author_id: r.author_id,
            author_name: r.author_name.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Resource for PostRow {
    const KIND: &'static str = "post";
    const TABLE: &'static str = "community_posts";
    const SELECT: &'static str = COLUMNS;
    const PATH: &'static str = "/api/v1/community/posts";
    type Out = PostOut;
    fn out(&self) -> PostOut {
        PostOut::from(self)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePost {
    /// 1..200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// 1..20000 characters.
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePost {
    /// 1..200 characters; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Patch<String>,
    /// 1..20000 characters; `null` is refused.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 20000, pattern = r"\S")]
    pub content: Patch<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostListQuery {
    pub author_id: Option<Uuid>,
    /// Case-insensitive substring of title and content.
    pub q: Option<String>,
    /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`, `title`, `-title`.
    #[param(pattern = r"^\s*([-+]?(created_at|updated_at|title))?\s*$")]
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

crate::list_params!(PostListQuery);
