//! Dynamic queries for lists whose filters and order vary: SQL text assembled from fixed, reviewed
//! fragments (never from user text) plus typed arguments bound in order on either backend.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One bind argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Uuid(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    I64(i64),
}

/// A `WHERE` clause under construction: conditions joined with `AND`, with `$n` placeholders.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    conds: Vec<String>,
    pub args: Vec<Arg>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The placeholder for a new argument (`$n`).
    pub fn arg(&mut self, value: Arg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    /// Adds a condition; `{}` in `template` are replaced by the placeholders of `values`, in order.
    pub fn cond(&mut self, template: &str, values: Vec<Arg>) {
        let mut out = String::new();
        let mut rest = template;
        let mut values = values.into_iter();
        while let Some(i) = rest.find("{}") {
            out.push_str(&rest[..i]);
            let p = self.arg(values.next().expect("as many values as placeholders"));
            out.push_str(&p);
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        self.conds.push(out);
    }

    /// Case-insensitive substring match of `q` on any of `columns`.
    pub fn search(&mut self, columns: &[&str], q: &str) {
        let p = self.arg(Arg::Text(like_pattern(q)));
        let any = columns
            .iter()
            .map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'"))
            .collect::<Vec<_>>()
            .join(" OR ");
        self.conds.push(format!("({any})"));
    }

    pub fn where_sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }
}

/// `%q%`, lowercased, with `%`, `_` and `\` escaped for `LIKE … ESCAPE '\'`.
pub fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Binds `args` in order to a `sqlx` query (expanded per backend inside `with_db!`/`with_tx!`).
#[macro_export]
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                $crate::db::query::Arg::Uuid(v) => q.bind(*v),
                $crate::db::query::Arg::Text(v) => q.bind(v.clone()),
                $crate::db::query::Arg::Time(v) => q.bind(*v),
                $crate::db::query::Arg::I64(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// ` FOR UPDATE` on PostgreSQL, nothing on SQLite (whose single writer with `BEGIN IMMEDIATE` already
/// holds every other writer off): appended to a `SELECT` that a write in the same transaction depends on.
pub fn for_update(tx: &super::Tx) -> &'static str {
    match tx.backend() {
        super::Backend::Postgres => " FOR UPDATE",
        super::Backend::Sqlite => "",
    }
}

/// The resources with a per-user quota: the tables whose rows migration 7's triggers count.
#[derive(Clone, Copy, Debug)]
pub enum Quota {
    Projects,
    Posts,
    Tickets,
}

impl Quota {
    /// The `resource` of its `quota_usage` rows.
    pub fn resource(self) -> &'static str {
        match self {
            Quota::Projects => "projects",
            Quota::Posts => "community_posts",
            Quota::Tickets => "support_tickets",
        }
    }
}

/// A create's per-user quota: after the insert, `owner` may hold at most `max` rows of `quota`
/// (`audit::record_within_quota` checks it in the statement that records the create).
#[derive(Clone, Copy, Debug)]
pub struct QuotaCheck {
    pub quota: Quota,
    pub owner: uuid::Uuid,
    pub max: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut f = Filter::new();
        f.cond("owner_id = {}", vec![Arg::I64(1)]);
        f.search(&["name", "description"], "50%_off");
        f.cond(
            "(a < {} OR (a = {} AND id < {}))",
            vec![Arg::I64(2), Arg::I64(2), Arg::I64(3)],
        );
        assert_eq!(
            f.where_sql(),
            " WHERE owner_id = $1 AND (LOWER(name) LIKE $2 ESCAPE '\\' OR LOWER(description) LIKE $2 ESCAPE '\\') \
             AND (a < $3 OR (a = $4 AND id < $5))"
        );
        assert_eq!(f.args[1], Arg::Text("%50\\%\\_off%".into()));
    }
}
