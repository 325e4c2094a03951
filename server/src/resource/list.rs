//! Lists of a resource: the cursor scope derived from what the list reads, then the page.

use axum::{
    http::{HeaderMap, Uri},
    response::Response,
};
use uuid::Uuid;

use super::Resource;
use crate::{
    db::query::Filter,
    error::ApiResult,
    http::list::{ListParams, Listing, Sort},
    state::AppState,
};

/// The scope a cursor is bound to: the list, the caller (`None` for a public list, whose cursors anyone
/// may follow), the sort and the filter, conditions and arguments. A cursor made under any other scope
/// is 400 `invalid_cursor`. Derived from the very `Filter` the page is read with, so a filter added to a
/// list cannot be forgotten here.
pub fn scope(list: &str, caller: Option<Uuid>, sort: &Sort, filter: &Filter) -> String {
    let caller = caller.map(|c| c.to_string()).unwrap_or_default();
    format!(
        "{list}|{caller}|{}|{}|{:?}",
        sort.as_str(),
        filter.where_sql(),
        filter.args
    )
}

/// The list of `R` restricted by `filter` in `sort` order, in the mode `params` ask for (offset or cursor).
pub async fn list<R: Resource>(
    state: &AppState,
    request: (&HeaderMap, &Uri),
    caller: Option<Uuid>,
    sort: Sort,
    filter: Filter,
    params: &ListParams,
) -> ApiResult<Response> {
    let scope = scope(R::TABLE, caller, &sort, &filter);
    let listing = Listing::new(&state.cursor_key, scope, sort, params)?;
    let fetched = listing.fetch::<R>(&state.db, R::SELECT, R::TABLE, filter).await?;
    Ok(listing.respond(request.0, request.1, fetched, R::out))
}

/// `params()` of a list's query struct: its `page`, `page_size`, `cursor` and `include_total` fields (kept
/// in the struct itself, where their documentation goes into the OpenAPI parameters) as `ListParams`.
#[macro_export]
macro_rules! list_params {
    ($query:ty) => {
        impl $query {
            pub fn params(&self) -> $crate::http::list::ListParams {
                $crate::http::list::ListParams {
                    page: self.page,
                    page_size: self.page_size,
                    cursor: self.cursor.clone(),
                    include_total: self.include_total,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        db::query::Arg,
        http::list::{CREATED_AT, SortField, UPDATED_AT},
    };

    const SORTS: &[SortField] = &[CREATED_AT, UPDATED_AT];

    #[test]
    fn the_scope_follows_caller_sort_and_every_filter() {
        let sort = Sort::parse(None, SORTS, "-created_at").unwrap();
        let other_sort = Sort::parse(Some("updated_at"), SORTS, "-created_at").unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let filter = |owner: Uuid, q: Option<&str>| {
            let mut f = Filter::new();
            f.cond("owner_id = {}", vec![Arg::Uuid(owner)]);
            if let Some(q) = q {
                f.search(&["name"], q);
            }
            f
        };
        let base = scope("projects", Some(a), &sort, &filter(a, None));
        assert_eq!(base, scope("projects", Some(a), &sort, &filter(a, None)));
        for other in [
            scope("posts", Some(a), &sort, &filter(a, None)),
            scope("projects", Some(b), &sort, &filter(a, None)),
            scope("projects", None, &sort, &filter(a, None)),
            scope("projects", Some(a), &other_sort, &filter(a, None)),
            scope("projects", Some(a), &sort, &filter(b, None)),
            scope("projects", Some(a), &sort, &filter(a, Some("x"))),
        ] {
            assert_ne!(base, other);
        }
        assert_ne!(
            scope("projects", Some(a), &sort, &filter(a, Some("x"))),
            scope("projects", Some(a), &sort, &filter(a, Some("y")))
        );
    }
}
