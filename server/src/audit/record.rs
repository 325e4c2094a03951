//! Writing audit entries: IP truncated to its network, request id from the request context, metadata redacted.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    db::{Tx, now, query::QuotaCheck},
    http::{client_ip::truncated_network, context},
};

/// One entry to record. The IP (truncated to its network) and request id come from the request context.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor_id: Option<Uuid>,
    pub action: &'static str,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<Uuid>,
    pub metadata: Value,
}

impl Entry {
    pub fn new(action: &'static str, actor_id: Option<Uuid>) -> Self {
        Self {
            actor_id,
            action,
            resource_type: None,
            resource_id: None,
            metadata: Value::Object(Map::new()),
        }
    }

    pub fn resource(mut self, kind: &'static str, id: Uuid) -> Self {
        self.resource_type = Some(kind);
        self.resource_id = Some(id);
        self
    }

    pub fn meta(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }
}

/// Keys whose values never reach the audit log.
fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "token",
        "code",
        "secret",
        "email",
        "hash",
        "authorization",
        "cookie",
        "otp",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Replaces the values of sensitive keys (at any depth) with `"[redacted]"`.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_sensitive(&k) {
                        Value::String("[redacted]".into())
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// Writes `entry` inside `tx`; account events are also counted in `auth_events_total{event}`.
pub async fn record(tx: &mut Tx, entry: Entry) -> Result<(), sqlx::Error> {
    insert(tx, entry, None).await.map(|_| ())
}

/// Records the create `entry` only if the quota still holds, counting the row this transaction has just
/// inserted; false (nothing recorded) when the owner is over it, and the caller refuses and rolls back.
///
/// Check and entry are one statement: on SQLite each statement is a hand-off to the single writer's
/// thread while every other write waits, and on PostgreSQL the insert's trigger holds the owner's
/// counter row until commit, so each statement less is a shorter wait for the owner's next create. The
/// counter row being held is also what makes one owner's concurrent creates count one at a time (SQLite's
/// single writer already serialises them).
pub async fn record_within_quota(tx: &mut Tx, entry: Entry, check: QuotaCheck) -> Result<bool, sqlx::Error> {
    Ok(insert(tx, entry, Some(check)).await? == 1)
}

async fn insert(tx: &mut Tx, entry: Entry, check: Option<QuotaCheck>) -> Result<u64, sqlx::Error> {
    if let Some(event) = entry.action.strip_prefix("auth.") {
        metrics::counter!("auth_events_total", "event" => event).increment(1);
    }
    let ctx = context::current();
    let ip = ctx.as_ref().map(|c| truncated_network(c.client_ip));
    let request_id = ctx.as_ref().map(|c| c.request_id.to_string());
    let metadata = sqlx::types::Json(redact(entry.metadata));
    let sql = match check {
        None => {
            "INSERT INTO audit_log (id, actor_id, action, resource_type, resource_id, ip, request_id, metadata, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        }
        Some(_) => {
            "INSERT INTO audit_log (id, actor_id, action, resource_type, resource_id, ip, request_id, metadata, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
             WHERE COALESCE((SELECT used FROM quota_usage WHERE user_id = $10 AND resource = $11), 0) <= $12"
        }
    };
    crate::with_tx!(tx, |c| {
        let query = sqlx::query(sql)
            .bind(Uuid::now_v7())
            .bind(entry.actor_id)
            .bind(entry.action)
            .bind(entry.resource_type)
            .bind(entry.resource_id)
            .bind(&ip)
            .bind(&request_id)
            .bind(&metadata)
            .bind(now());
        let query = match check {
            Some(q) => query.bind(q.owner).bind(q.quota.resource()).bind(q.max),
            None => query,
        };
        query.execute(c).await.map(|r| r.rows_affected())
    })
}

/// Trims the audit log past `AUDIT_RETENTION_DAYS` (`CLEANUP_INTERVAL_AUDIT`); registered in
/// [`crate::periodic_tasks`].
pub const PRUNE_TASK: crate::periodic::PeriodicTask = crate::periodic::PeriodicTask {
    name: "audit",
    interval_of: |s| s.maintenance.cleanup_intervals.audit,
    batch: prune_task_batch,
};

fn prune_task_batch<'a>(
    state: &'a crate::state::AppState,
    tx: &'a mut Tx,
    now: crate::periodic::Ts,
    limit: i64,
) -> futures_util::future::BoxFuture<'a, Result<u64, sqlx::Error>> {
    Box::pin(async move {
        let days = chrono::Duration::days(state.settings.maintenance.audit_retention_days.into());
        match now.checked_sub_signed(days) {
            // 0 keeps the audit log forever (and so does a cut-off before the calendar begins).
            Some(before) if !days.is_zero() => prune(tx, before, limit).await,
            _ => Ok(0),
        }
    })
}

/// Deletes up to `limit` entries written before `before` (the `AUDIT_RETENTION_DAYS` clean-up).
pub async fn prune(tx: &mut Tx, before: chrono::DateTime<chrono::Utc>, limit: i64) -> Result<u64, sqlx::Error> {
    crate::with_tx!(tx, |c| sqlx::query(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < $1 LIMIT $2)"
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::redact;

    #[test]
    fn sensitive_keys_are_redacted_at_any_depth() {
        let v = redact(
            json!({"fields": ["email"], "new_password": "x", "nested": {"refresh_token": "t", "ok": 1},
            "list": [{"totp_code": "123456"}], "email": "a@b.co"}),
        );
        assert_eq!(
            v,
            json!({"fields": ["email"], "new_password": "[redacted]", "nested": {"refresh_token": "[redacted]", "ok": 1}, // secret-scan: allow
            "list": [{"totp_code": "[redacted]"}], "email": "[redacted]"})
        );
    }
}
