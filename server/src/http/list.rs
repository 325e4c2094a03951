//! Lists (spec §3): offset pages with exact totals, or keyset pages behind signed opaque cursors.
//!
//! A feature describes its list (allowed sorts, filters as a `Filter`, a `scope` string naming the list,
//! the principal and every filter) and gets back the page and the response. The cursor carries the last
//! row's sort value and id, plus a hash of the scope, all signed: a cursor tampered with, or made for
//! another list, principal, sort or filter, is 400 `invalid_cursor`. The cost of a cursor page does not
//! grow with its depth: it is an index range scan from the last row.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::Response,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgRow, sqlite::SqliteRow};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Code;
use crate::{
    crypto,
    db::{
        Db,
        query::{Arg, Filter},
    },
    error::{ApiError, FieldError},
    http::{
        conditional::json_with_etag,
        pagination::{MAX_PAGE_SIZE, Page, PageQuery, Paging},
    },
    with_db,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    Time,
    Text,
}

/// A field a list may be sorted by: its public name and its column.
#[derive(Debug)]
pub struct SortField {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: SortKind,
}

pub const CREATED_AT: SortField = SortField {
    name: "created_at",
    column: "created_at",
    kind: SortKind::Time,
};
pub const UPDATED_AT: SortField = SortField {
    name: "updated_at",
    column: "updated_at",
    kind: SortKind::Time,
};

#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub field: &'static SortField,
    pub desc: bool,
}

impl Sort {
    /// Parses `name` or `-name` among `allowed`; absent → `default`.
    pub fn parse(raw: Option<&str>, allowed: &'static [SortField], default: &str) -> Result<Sort, ApiError> {
        let raw = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
        let (desc, name) = match raw.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, raw.strip_prefix('+').unwrap_or(raw)),
        };
        let field = allowed.iter().find(|f| f.name == name).ok_or_else(|| {
            let options: Vec<String> = allowed
                .iter()
                .flat_map(|f| [f.name.to_string(), format!("-{}", f.name)])
                .collect();
            ApiError::invalid_field(
                &["query", "sort"],
                format!("must be one of {}", options.join(", ")),
                "enum",
            )
        })?;
        Ok(Sort { field, desc })
    }

    pub fn as_str(&self) -> String {
        format!("{}{}", if self.desc { "-" } else { "" }, self.field.name)
    }

    fn order_sql(&self) -> String {
        let dir = if self.desc { "DESC" } else { "ASC" };
        format!(" ORDER BY {c} {dir}, id {dir}", c = self.field.column)
    }
}

/// The last row's sort value, as the cursor carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Text(String),
}

impl SortValue {
    fn to_arg(&self) -> Arg {
        match self {
            SortValue::Time(t) => Arg::Time(*t),
            SortValue::Text(s) => Arg::Text(s.clone()),
        }
    }
}

/// A row a list can page through.
pub trait ListRow: Send + Unpin + for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> {
    fn id(&self) -> Uuid;
    /// The value of the sort field `name` (one of the list's allowed sorts).
    fn sort_value(&self, name: &str) -> SortValue;
}

/// Paging parameters common to every list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

/// How a list is read.
#[derive(Debug, Clone)]
pub enum Mode {
    Offset(Paging),
    Cursor {
        page_size: i64,
        after: Option<(SortValue, Uuid)>,
        include_total: bool,
    },
}

#[derive(Serialize, Deserialize)]
struct CursorPayload {
    /// Sort value: RFC 3339 time (µs) or text.
    v: String,
    id: Uuid,
    /// Hash of the list's scope (list, principal, sort, filters).
    s: String,
}

fn scope_hash(scope: &str) -> String {
    crypto::sha256_hex(scope)[..16].to_string()
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        Code::InvalidCursor,
        "The cursor is invalid, or was made for another list, sort or filter.",
    )
}

pub fn encode_cursor(key: &[u8; 32], scope: &str, value: &SortValue, id: Uuid) -> String {
    let v = match value {
        SortValue::Time(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        SortValue::Text(s) => s.clone(),
    };
    let payload = serde_json::to_vec(&CursorPayload {
        v,
        id,
        s: scope_hash(scope),
    })
    .unwrap_or_default();
    let body = URL_SAFE_NO_PAD.encode(&payload);
    format!("{body}.{}", crypto::sign(key, body.as_bytes()))
}

pub fn decode_cursor(key: &[u8; 32], scope: &str, kind: SortKind, raw: &str) -> Result<(SortValue, Uuid), ApiError> {
    let (body, sig) = raw.split_once('.').ok_or_else(invalid_cursor)?;
    if !crypto::verify(key, body.as_bytes(), sig) {
        return Err(invalid_cursor());
    }
    let payload: CursorPayload = URL_SAFE_NO_PAD
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid_cursor)?;
    if payload.s != scope_hash(scope) {
        return Err(invalid_cursor());
    }
    let value = match kind {
        SortKind::Time => SortValue::Time(
            DateTime::parse_from_rfc3339(&payload.v)
                .map_err(|_| invalid_cursor())?
                .with_timezone(&Utc),
        ),
        SortKind::Text => SortValue::Text(payload.v),
    };
    Ok((value, payload.id))
}

impl ListParams {
    /// Validates the parameters and decodes the cursor for `scope` and `sort`.
    pub fn mode(&self, key: &[u8; 32], scope: &str, sort: &Sort) -> Result<Mode, ApiError> {
        let Some(cursor) = &self.cursor else {
            let paging = PageQuery {
                page: self.page,
                page_size: self.page_size,
            }
            .validate()?;
            return Ok(Mode::Offset(paging));
        };
        let mut errors = Vec::new();
        if self.page.is_some() {
            errors.push(FieldError::new(
                &["query", "page"],
                "cannot be combined with cursor",
                "conflict",
            ));
        }
        let page_size = self.page_size.unwrap_or(crate::http::pagination::DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            errors.push(FieldError::new(
                &["query", "page_size"],
                "must be between 1 and 100",
                "range",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let after = if cursor.is_empty() {
            None
        } else {
            Some(decode_cursor(key, scope, sort.field.kind, cursor)?)
        };
        Ok(Mode::Cursor {
            page_size,
            after,
            include_total: self.include_total.unwrap_or(false),
        })
    }
}

/// Everything that identifies one read of a list: its scope (for cursors), order and mode.
pub struct Listing<'a> {
    pub key: &'a [u8; 32],
    pub scope: String,
    pub sort: Sort,
    pub mode: Mode,
}

impl<'a> Listing<'a> {
    /// Validates `params` for the list named by `scope` (list, principal, sort, filters) in `sort` order.
    pub fn new(key: &'a [u8; 32], scope: String, sort: Sort, params: &ListParams) -> Result<Self, ApiError> {
        let mode = params.mode(key, &scope, &sort)?;
        Ok(Listing { key, scope, sort, mode })
    }

    /// Reads the page (see [`fetch`]).
    pub async fn fetch<T: ListRow>(
        &self,
        db: &Db,
        select: &str,
        table: &str,
        filter: Filter,
    ) -> Result<Fetched<T>, ApiError> {
        fetch(db, select, table, filter, &self.sort, &self.mode).await
    }

    /// The response for a fetched page (see [`respond`]).
    pub fn respond<R: ListRow, O: Serialize>(
        &self,
        request: &HeaderMap,
        uri: &Uri,
        fetched: Fetched<R>,
        to_out: impl Fn(&R) -> O,
    ) -> Response {
        respond(self, request, uri, fetched, to_out)
    }
}

/// One page read from the database.
pub struct Fetched<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    pub has_more: bool,
}

/// The SQL of one page and its arguments: `filter` plus, after a cursor, the keyset condition
/// `(sort, id)` beyond the last row, in the list's total order.
pub fn page_sql(
    select: &str,
    filter: Filter,
    sort: &Sort,
    after: Option<&(SortValue, Uuid)>,
    limit: i64,
    offset: i64,
) -> (String, Filter) {
    let mut page_filter = filter;
    if let Some((value, id)) = after {
        let op = if sort.desc { "<" } else { ">" };
        let c = sort.field.column;
        // `c <= v` (or `>=`) is implied by the exact condition after it, and is what lets both planners start
        // the index range at the cursor; without it the OR is a filter over every row before the cursor.
        page_filter.cond(
            &format!("{c} {op}= {{}} AND ({c} {op} {{}} OR ({c} = {{}} AND id {op} {{}}))"),
            vec![value.to_arg(), value.to_arg(), value.to_arg(), Arg::Uuid(*id)],
        );
    }
    let limit_p = page_filter.arg(Arg::I64(limit));
    let offset_p = page_filter.arg(Arg::I64(offset));
    let sql = format!(
        "{select}{}{} LIMIT {limit_p} OFFSET {offset_p}",
        page_filter.where_sql(),
        sort.order_sql()
    );
    (sql, page_filter)
}

/// A page row with the list's total beside it, so that page and total are one statement (one snapshot,
/// one round trip: on SQLite every statement is a hand-off to the connection's worker thread).
struct Counted<T> {
    row: T,
    total: i64,
}

impl<'r, R, T> sqlx::FromRow<'r, R> for Counted<T>
where
    R: sqlx::Row,
    T: sqlx::FromRow<'r, R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'static str: sqlx::ColumnIndex<R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Counted {
            row: T::from_row(row)?,
            total: row.try_get(TOTAL_COLUMN)?,
        })
    }
}

const TOTAL_COLUMN: &str = "__total";

/// Reads one page: `select` is `SELECT <columns> FROM <table>`; `filter` restricts it. When the total is
/// wanted it comes with the page as a scalar subquery over the same filter (same placeholders); only an
/// empty page, which has no row to carry it, costs a second statement.
async fn fetch<T: ListRow>(
    db: &Db,
    select: &str,
    table: &str,
    filter: Filter,
    sort: &Sort,
    mode: &Mode,
) -> Result<Fetched<T>, ApiError> {
    let count_filter = filter.clone();
    let count_sql = format!("SELECT COUNT(*) FROM {table}{}", count_filter.where_sql());
    let want_total = match mode {
        Mode::Offset(_) => true,
        Mode::Cursor { include_total, .. } => *include_total,
    };
    let from = format!(" FROM {table}");
    let counted_select = select
        .strip_suffix(&from)
        .filter(|_| want_total)
        .map(|columns| format!("{columns}, ({count_sql}) AS {TOTAL_COLUMN}{from}"));
    let page_select = counted_select.as_deref().unwrap_or(select);
    let (sql, page_filter) = match mode {
        Mode::Offset(p) => page_sql(page_select, filter, sort, None, p.page_size, p.offset()),
        // One extra row tells whether there is a next page, without counting.
        Mode::Cursor { page_size, after, .. } => page_sql(page_select, filter, sort, after.as_ref(), *page_size + 1, 0),
    };
    let sql = sqlx::AssertSqlSafe(sql);
    let (mut items, mut total): (Vec<T>, Option<i64>) = if counted_select.is_some() {
        let rows: Vec<Counted<T>> = with_db!(db, |c| crate::bind_args!(sqlx::query_as(sql), &page_filter.args)
            .fetch_all(c)
            .await)?;
        let total = rows.first().map(|r| r.total);
        (rows.into_iter().map(|r| r.row).collect(), total)
    } else {
        let rows = with_db!(db, |c| crate::bind_args!(sqlx::query_as(sql), &page_filter.args)
            .fetch_all(c)
            .await)?;
        (rows, None)
    };
    if want_total && total.is_none() {
        let count_sql = sqlx::AssertSqlSafe(count_sql);
        let n: i64 = with_db!(db, |c| crate::bind_args!(
            sqlx::query_scalar(count_sql),
            &count_filter.args
        )
        .fetch_one(c)
        .await)?;
        total = Some(n);
    }
    let mut has_more = false;
    if let Mode::Cursor { page_size, .. } = mode
        && items.len() as i64 > *page_size
    {
        items.truncate(*page_size as usize);
        has_more = true;
    }
    Ok(Fetched { items, total, has_more })
}

/// A page in cursor mode.
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorPage<T> {
    pub items: Vec<T>,
    pub page_size: i64,
    /// Opaque; pass it back as `cursor` for the next page. `null` on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
    /// Present with `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// What a list answers, as documented: a `Page` in offset mode, a `CursorPage` when `cursor` is present.
/// The two are told apart by their required members (`page`/`pages` against `has_more`/`next_cursor`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ListPage<T> {
    Offset(Page<T>),
    Cursor(CursorPage<T>),
}

/// The list response: the page as JSON with its ETag (304 on `If-None-Match`), and in cursor mode a
/// `Link: <…>; rel="next"` header when there is a next page.
fn respond<R: ListRow, O: Serialize>(
    listing: &Listing<'_>,
    request: &HeaderMap,
    uri: &Uri,
    fetched: Fetched<R>,
    to_out: impl Fn(&R) -> O,
) -> Response {
    let (key, scope, sort) = (listing.key, listing.scope.as_str(), &listing.sort);
    match &listing.mode {
        Mode::Offset(paging) => {
            let items = fetched.items.iter().map(&to_out).collect();
            let page = Page::new(items, fetched.total.unwrap_or_default(), *paging);
            json_with_etag(request, StatusCode::OK, &page)
        }
        Mode::Cursor { page_size, .. } => {
            let next_cursor = match (fetched.has_more, fetched.items.last()) {
                (true, Some(last)) => Some(encode_cursor(key, scope, &last.sort_value(sort.field.name), last.id())),
                _ => None,
            };
            let items = fetched.items.iter().map(&to_out).collect();
            let page = CursorPage {
                items,
                page_size: *page_size,
                next_cursor: next_cursor.clone(),
                has_more: fetched.has_more,
                total: fetched.total,
            };
            let mut res = json_with_etag(request, StatusCode::OK, &page);
            if let Some(next) = next_cursor {
                let link = format!("<{}>; rel=\"next\"", next_url(uri, &next));
                if let Ok(v) = HeaderValue::from_str(&link) {
                    res.headers_mut().insert(header::LINK, v);
                }
            }
            res
        }
    }
}

/// The same request URI with `cursor` replaced (and `page` dropped).
fn next_url(uri: &Uri, cursor: &str) -> String {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "cursor" && k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        out.append_pair(k, v);
    }
    out.append_pair("cursor", cursor);
    format!("{}?{}", uri.path(), out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SORTS: &[SortField] = &[CREATED_AT, UPDATED_AT];

    #[test]
    fn sorts() {
        let s = Sort::parse(None, SORTS, "-created_at").unwrap();
        assert!(s.desc && s.field.name == "created_at");
        let s = Sort::parse(Some("updated_at"), SORTS, "-created_at").unwrap();
        assert!(!s.desc && s.field.name == "updated_at");
        let e = Sort::parse(Some("name"), SORTS, "-created_at").unwrap_err();
        assert_eq!(e.errors.unwrap()[0].loc, vec!["query", "sort"]);
    }

    #[test]
    fn cursors_round_trip_and_reject_tampering_and_other_scopes() {
        let key = crypto::derive_key(b"k", "cursor");
        let t = crate::db::now();
        let id = Uuid::now_v7();
        let c = encode_cursor(&key, "projects|u1|-created_at|", &SortValue::Time(t), id);
        assert!(
            c.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)),
            "URL-safe: {c}"
        );
        assert_eq!(
            decode_cursor(&key, "projects|u1|-created_at|", SortKind::Time, &c).unwrap(),
            (SortValue::Time(t), id)
        );
        assert!(
            decode_cursor(&key, "projects|u2|-created_at|", SortKind::Time, &c).is_err(),
            "other principal"
        );
        assert!(
            decode_cursor(&key, "projects|u1|created_at|", SortKind::Time, &c).is_err(),
            "other sort"
        );
        let mut tampered = c.clone();
        tampered.replace_range(0..1, if c.starts_with('A') { "B" } else { "A" });
        assert!(decode_cursor(&key, "projects|u1|-created_at|", SortKind::Time, &tampered).is_err());
        assert!(decode_cursor(&key, "projects|u1|-created_at|", SortKind::Time, "garbage").is_err());
        let other_key = crypto::derive_key(b"other", "cursor");
        assert!(decode_cursor(&other_key, "projects|u1|-created_at|", SortKind::Time, &c).is_err());
        let text = encode_cursor(&key, "s", &SortValue::Text("Ünïcode name".into()), id);
        assert_eq!(
            decode_cursor(&key, "s", SortKind::Text, &text).unwrap().0,
            SortValue::Text("Ünïcode name".into())
        );
    }

    #[test]
    fn next_links_keep_filters() {
        let uri: Uri = "/api/v1/projects?q=a%20b&cursor=old&page_size=5".parse().unwrap();
        assert_eq!(next_url(&uri, "NEW"), "/api/v1/projects?q=a+b&page_size=5&cursor=NEW");
    }

    #[test]
    fn cursor_and_page_conflict() {
        let key = crypto::derive_key(b"k", "cursor");
        let sort = Sort::parse(None, SORTS, "-created_at").unwrap();
        let p = ListParams {
            page: Some(1),
            cursor: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(
            p.mode(&key, "s", &sort).unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let p = ListParams {
            cursor: Some(String::new()),
            ..Default::default()
        };
        assert!(matches!(
            p.mode(&key, "s", &sort).unwrap(),
            Mode::Cursor {
                after: None,
                page_size: 20,
                ..
            }
        ));
    }
}
