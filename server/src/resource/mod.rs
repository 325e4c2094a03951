//! The toolkit of the resource rooms (projects, community posts, support tickets, status events): what
//! each room would otherwise write again. A room describes its row once ([`Resource`]), its text bounds
//! once ([`TextRule`]), reads PATCH bodies as [`Patch`] fields, and hands its list, get, create, update
//! and delete to the helpers here, supplying only what is its own: the visibility rule, the filter, the
//! fields an update changes and the audit action. See `docs/resource-toolkit.md`.

mod item;
mod list;
mod patch;
mod text;

pub use item::{Access, Changes, Create, Item, create};
pub use list::{list, scope};
pub use patch::Patch;
pub use text::{OneOf, TextRule};

use serde::Serialize;

use crate::{error::ApiError, http::list::ListRow};

/// A table a room serves: one row type, its wire type and its names.
pub trait Resource: ListRow + Clone + 'static {
    /// The singular name: the subject of its 404 and the audit resource type (`project`).
    const KIND: &'static str;
    /// The table (`projects`); also names the list in cursor scopes.
    const TABLE: &'static str;
    /// `SELECT <columns> FROM <table>`.
    const SELECT: &'static str;
    /// Where one row is served (`/api/v1/projects`): the `Location` of a create is `{PATH}/{id}`.
    const PATH: &'static str;
    type Out: Serialize;
    /// The row as the API sends it; its serialisation is also what the ETag is computed from.
    fn out(&self) -> Self::Out;
}

/// The 404 of a row of `R` that does not exist or that the caller may not see.
pub fn not_found<R: Resource>() -> ApiError {
    ApiError::not_found(R::KIND)
}
