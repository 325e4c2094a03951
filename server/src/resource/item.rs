//! One row of a resource: read, create, update and delete, each write in one transaction with its
//! visibility check, `If-Match` and audit entry.

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Resource, not_found};
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    db::{
        Db, Tx,
        query::{Quota, QuotaCheck, for_update},
    },
    error::{ApiError, ApiResult},
    http::{
        conditional::{check_if_match, created, etag_for, json_with_etag, written},
        idempotency::{self, Keyed},
    },
    state::AppState,
    with_db, with_tx,
};

/// What the caller may do with a row it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allow,
    /// 404, as if the row did not exist (a private row of someone else).
    Hidden,
    /// 403 with this message (a row the caller may see but not change).
    Forbidden(&'static str),
}

impl Access {
    /// `Allow` when `may_see`, else `Hidden`.
    pub fn hidden_unless(may_see: bool) -> Access {
        if may_see { Access::Allow } else { Access::Hidden }
    }

    /// `Allow` when `may`, else `Forbidden(message)`.
    pub fn forbidden_unless(may: bool, message: &'static str) -> Access {
        if may { Access::Allow } else { Access::Forbidden(message) }
    }

    fn check<R: Resource>(self) -> ApiResult<()> {
        match self {
            Access::Allow => Ok(()),
            Access::Hidden => Err(not_found::<R>()),
            Access::Forbidden(message) => Err(ApiError::forbidden(message)),
        }
    }
}

/// The row inside a write transaction, locked until the transaction ends (`FOR UPDATE` on PostgreSQL;
/// SQLite's single writer already excludes every other writer), so the `If-Match` check and the write
/// that follows are atomic: of concurrent writers holding the same ETag exactly one succeeds.
pub async fn find_for_update<R: Resource>(tx: &mut Tx, id: Uuid) -> Result<Option<R>, sqlx::Error> {
    let q = sqlx::AssertSqlSafe(format!("{} WHERE id = $1{}", R::SELECT, for_update(tx)));
    with_tx!(tx, |c| sqlx::query_as(q).bind(id).fetch_optional(c).await)
}

/// The row, read outside any transaction.
pub async fn find<R: Resource>(db: &Db, id: Uuid) -> Result<Option<R>, sqlx::Error> {
    let q = sqlx::AssertSqlSafe(format!("{} WHERE id = $1", R::SELECT));
    with_db!(db, |c| sqlx::query_as(q).bind(id).fetch_optional(c).await)
}

async fn delete_row<R: Resource>(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    let q = sqlx::AssertSqlSafe(format!("DELETE FROM {} WHERE id = $1", R::TABLE));
    with_tx!(tx, |c| sqlx::query(q).bind(id).execute(c).await.map(|_| ()))
}

/// The fields an update changes, for its audit entry (`{"fields": [...]}` plus any noted values).
#[derive(Debug, Default)]
pub struct Changes {
    fields: Vec<&'static str>,
    noted: Vec<(&'static str, Value)>,
}

impl Changes {
    /// The field's new value: `new` when given, else `current`; the field is listed when it changes.
    pub fn set<T: PartialEq + Clone>(&mut self, field: &'static str, current: &T, new: Option<&T>) -> T {
        match new {
            Some(v) => {
                if v != current {
                    self.fields.push(field);
                }
                v.clone()
            }
            None => current.clone(),
        }
    }

    /// Adds `key: value` to the audit entry's metadata, after `fields`.
    pub fn note(&mut self, key: &'static str, value: impl Serialize) {
        self.noted.push((key, serde_json::to_value(value).unwrap_or_default()));
    }

    fn meta(self) -> Value {
        let mut meta = Map::new();
        meta.insert("fields".into(), self.fields.into());
        meta.extend(self.noted.into_iter().map(|(k, v)| (k.to_string(), v)));
        Value::Object(meta)
    }
}

/// One row addressed by a request: `GET`/`PATCH`/`DELETE` on `{PATH}/{id}`.
pub struct Item<'a> {
    pub state: &'a AppState,
    pub headers: &'a HeaderMap,
    pub id: Uuid,
}

impl<'a> Item<'a> {
    pub fn new(state: &'a AppState, headers: &'a HeaderMap, id: Uuid) -> Self {
        Item { state, headers, id }
    }

    /// `GET`: the row with its ETag (304 on a matching `If-None-Match`), unless `access` hides it (404).
    pub async fn get<R: Resource>(&self, access: impl FnOnce(&R) -> Access) -> ApiResult<Response> {
        let row = find::<R>(&self.state.db, self.id).await?.ok_or_else(not_found::<R>)?;
        access(&row).check::<R>()?;
        Ok(json_with_etag(self.headers, StatusCode::OK, &row.out()))
    }

    /// Locks the row, applies `access` (404 or 403) and `If-Match` (412).
    async fn load<R: Resource>(&self, tx: &mut Tx, access: impl FnOnce(&R) -> Access) -> ApiResult<R> {
        let row = find_for_update::<R>(tx, self.id).await?.ok_or_else(not_found::<R>)?;
        access(&row).check::<R>()?;
        check_if_match(self.headers, &etag_for(&row.out()))?;
        Ok(row)
    }

    /// `PATCH`: in one transaction, the row under `access` and `If-Match`, then `apply` (which may still
    /// refuse, and writes the new row, listing what it changes in `Changes`), then the audit entry
    /// `action` by `actor` with `{"fields": [...]}`. Answers the new row with its ETag.
    pub async fn update<R: Resource>(
        &self,
        keyed: Option<Keyed>,
        (action, actor): (&'static str, Uuid),
        access: impl FnOnce(&R) -> Access,
        apply: impl AsyncFnOnce(&mut Tx, &R, &mut Changes) -> ApiResult<R>,
    ) -> ApiResult<Response> {
        idempotency::run(self.state, keyed, async |tx: &mut Tx| {
            let row = self.load(tx, access).await?;
            let mut changes = Changes::default();
            let updated = apply(tx, &row, &mut changes).await?;
            let entry = Entry::new(action, Some(actor)).resource(R::KIND, self.id);
            audit::record(tx, entry.meta(changes.meta())).await?;
            Ok(written(&updated.out()))
        })
        .await
    }

    /// `DELETE`: in one transaction, the row under `access` and `If-Match`, the delete and the audit
    /// entry `action` by `actor`. Answers 204.
    pub async fn delete<R: Resource>(
        &self,
        keyed: Option<Keyed>,
        (action, actor): (&'static str, Uuid),
        access: impl FnOnce(&R) -> Access,
    ) -> ApiResult<Response> {
        idempotency::run(self.state, keyed, async |tx: &mut Tx| {
            self.load::<R>(tx, access).await?;
            delete_row::<R>(tx, self.id).await?;
            audit::record(tx, Entry::new(action, Some(actor)).resource(R::KIND, self.id)).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        })
        .await
    }
}

/// How a create is recorded and answered: the audit entry `action` by `actor` (`None`: anonymous).
#[derive(Debug)]
pub struct Create {
    action: &'static str,
    actor: Option<Uuid>,
    limit: Option<(Quota, i64, &'static str)>,
    meta: Option<Value>,
    location: Option<String>,
}

impl Create {
    pub fn new(action: &'static str, actor: Option<Uuid>) -> Self {
        Create {
            action,
            actor,
            limit: None,
            meta: None,
            location: None,
        }
    }

    /// The actor's quota, checked right after the insert: over `max`, the create is 409 `quota_exceeded`
    /// "You can have at most {max} {noun}." and rolls back. An anonymous create has none.
    pub fn limit(mut self, quota: Quota, max: i64, noun: &'static str) -> Self {
        self.limit = Some((quota, max, noun));
        self
    }

    /// The audit entry's metadata.
    pub fn meta(mut self, meta: Value) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The `Location`, when it is not `{PATH}/{id}`.
    pub fn location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }
}

/// `POST`: in one transaction, `insert`, the quota, and the audit entry. Answers 201 with `Location`.
pub async fn create<R: Resource>(
    state: &AppState,
    keyed: Option<Keyed>,
    how: Create,
    insert: impl AsyncFnOnce(&mut Tx) -> Result<R, sqlx::Error>,
) -> ApiResult<Response> {
    idempotency::run(state, keyed, async |tx: &mut Tx| {
        let row = insert(tx).await?;
        let mut entry = Entry::new(how.action, how.actor).resource(R::KIND, row.id());
        if let Some(meta) = how.meta {
            entry = entry.meta(meta);
        }
        if let (Some((quota, max, noun)), Some(owner)) = (how.limit, how.actor) {
            let check = QuotaCheck { quota, owner, max };
            if !audit::record_within_quota(tx, entry, check).await? {
                let message = format!("You can have at most {max} {noun}.");
                return Err(ApiError::conflict(Code::QuotaExceeded, message));
            }
        } else {
            audit::record(tx, entry).await?;
        }
        let location = how.location.unwrap_or_else(|| format!("{}/{}", R::PATH, row.id()));
        Ok(created(&row.out(), &location))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_what_differs_then_the_noted_values() {
        let mut ch = Changes::default();
        assert_eq!(ch.set("name", &"a".to_string(), Some(&"b".to_string())), "b");
        assert_eq!(ch.set("same", &1, Some(&1)), 1);
        assert_eq!(ch.set("absent", &Some(2), None), Some(2));
        assert_eq!(ch.set("cleared", &Some(2), Some(&None)), None);
        ch.note("status", "open");
        assert_eq!(
            serde_json::to_string(&ch.meta()).unwrap(),
            r#"{"fields":["name","cleared"],"status":"open"}"#
        );
        assert_eq!(Changes::default().meta(), serde_json::json!({"fields": []}));
    }
}
