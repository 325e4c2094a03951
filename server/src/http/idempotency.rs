//! `Idempotency-Key` (spec §4), one reusable piece for every covered write.
//!
//! The first request with a key claims a record, runs the handler's work and stores the 2xx result, all
//! in one write transaction, so the change and its record commit together or not at all. A concurrent
//! duplicate waits for that transaction (SQLite's single writer; PostgreSQL's unique-index lock) and is
//! then answered from the stored result. A failed (non-2xx) result rolls the claim back with the work, so
//! the client may retry. A replay answers the stored body with 200 (204 stays 204) and
//! `Idempotent-Replayed: true`. A committed claim without a result (written by an earlier version that
//! committed claims first) answers 409 `idempotency_in_progress` until its `locked_until`, then is taken
//! over; expired records are treated as absent and pruned periodically.
//! A result body larger than `IDEMPOTENCY_MAX_STORED_BYTES` is not stored: its replay answers the same
//! status rule with an empty body, the original `ETag`/`Location` and `Idempotent-Body-Omitted: true`.

use std::collections::BTreeMap;

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Duration;
use serde::de::DeserializeOwned;

use crate::error::Code;
use crate::{
    db::{Tx, now},
    error::{ApiError, ApiResult},
    http::{
        context::{RequestContext, SignedIn},
        extract::{is_json_content_type, parse_json},
    },
    state::AppState,
    with_tx,
};

pub const HEADER: &str = "idempotency-key";
/// Response headers kept with the stored result and replayed.
const KEPT_HEADERS: [header::HeaderName; 3] = [header::ETAG, header::LOCATION, header::CONTENT_TYPE];
/// On a replay whose original body was larger than `IDEMPOTENCY_MAX_STORED_BYTES`: the body is empty and
/// this header says so (the write happened exactly once; `GET` the resource for its state).
pub const BODY_OMITTED: &str = "idempotent-body-omitted";

/// A keyed request: who, which key, and what exactly (method, path, body fingerprint).
#[derive(Debug, Clone)]
pub struct Keyed {
    pub principal: String,
    pub key: String,
    pub method: String,
    pub path: String,
    pub fingerprint: String,
}

/// Validates the header: 1..=255 printable ASCII.
pub fn parse_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(HEADER) else {
        return Ok(None);
    };
    let valid = |s: &str| !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (0x20..=0x7e).contains(&b));
    match raw.to_str() {
        Ok(s) if valid(s) => Ok(Some(s.to_string())),
        _ => Err(ApiError::bad_request(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
        )),
    }
}

/// The body's fingerprint: JSON is canonicalised (key order, whitespace), anything else hashed as sent.
fn fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok())
        .unwrap_or_else(|| body.to_vec());
    crate::crypto::sha256_hex(&String::from_utf8_lossy(&canonical))
}

/// A write request's body (JSON, or none) together with its idempotency key, if any.
pub struct Write<T> {
    pub body: T,
    pub keyed: Option<Keyed>,
}

async fn read(req: Request, json: bool) -> Result<(Option<Keyed>, Bytes), ApiError> {
    let key = parse_key(req.headers())?;
    if json && !is_json_content_type(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            "This route accepts application/json.",
        ));
    }
    let principal = match req.extensions().get::<SignedIn>() {
        Some(SignedIn(id)) => format!("user:{id}"),
        None => format!(
            "ip:{}",
            req.extensions()
                .get::<RequestContext>()
                .map(|c| c.client_ip.to_string())
                .unwrap_or_default()
        ),
    };
    let method = req.method().to_string();
    // The full path: inside a nested router `req.uri()` has lost the `/api/v1` prefix.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let bytes = Bytes::from_request(req, &()).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::PayloadTooLarge,
                "The request body is larger than the server accepts.",
            )
        } else {
            ApiError::bad_request(Code::BadRequest, "The request body could not be read.")
        }
    })?;
    let keyed = key.map(|key| Keyed {
        principal,
        key,
        method,
        path,
        fingerprint: fingerprint(&bytes),
    });
    Ok((keyed, bytes))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Write<T> {
    type Rejection = ApiError;

    /// Must be the last extractor, after `AuthUser`/`Option<AuthUser>` (which set the principal).
    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let (keyed, bytes) = read(req, true).await?;
        Ok(Write {
            body: parse_json(&bytes)?,
            keyed,
        })
    }
}

/// A write without a body (DELETE) with its idempotency key, if any.
pub struct WriteNoBody {
    pub keyed: Option<Keyed>,
}

impl<S: Send + Sync> FromRequest<S> for WriteNoBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let (keyed, _) = read(req, false).await?;
        Ok(WriteNoBody { keyed })
    }
}

enum Claim {
    Acquired,
    Replay(Response),
}

#[derive(sqlx::FromRow)]
struct Record {
    method: String,
    path: String,
    fingerprint: String,
    status: Option<i32>,
    response_body: Option<String>,
    response_headers: Option<String>,
}

/// Claims `k` inside `tx` (the transaction the work then runs in). On `Replay` or an error the caller
/// rolls `tx` back.
async fn claim(state: &AppState, tx: &mut Tx, k: &Keyed) -> ApiResult<Claim> {
    let now = now();
    let ttl = Duration::from_std(state.settings.idempotency.ttl).unwrap_or(Duration::hours(24));
    let lease = Duration::from_std(state.settings.server.request_timeout).unwrap_or(Duration::seconds(30))
        + Duration::seconds(5);
    let inserted = with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO idempotency_records
            (principal, idem_key, method, path, fingerprint, status, response_body, response_headers, created_at, locked_until, expires_at)
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, $6, $7, $8)
         ON CONFLICT (principal, idem_key) DO UPDATE SET
            method = excluded.method, path = excluded.path, fingerprint = excluded.fingerprint, status = NULL,
            response_body = NULL, response_headers = NULL, created_at = excluded.created_at,
            locked_until = excluded.locked_until, expires_at = excluded.expires_at
         WHERE idempotency_records.expires_at <= $6
            OR (idempotency_records.status IS NULL AND idempotency_records.locked_until <= $6)"
    )
    .bind(&k.principal)
    .bind(&k.key)
    .bind(&k.method)
    .bind(&k.path)
    .bind(&k.fingerprint)
    .bind(now)
    .bind(now + lease)
    .bind(now + ttl)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if inserted == 1 {
        return Ok(Claim::Acquired);
    }
    let record: Record = with_tx!(tx, |c| sqlx::query_as(
        "SELECT method, path, fingerprint, status, response_body, response_headers FROM idempotency_records
         WHERE principal = $1 AND idem_key = $2"
    )
    .bind(&k.principal)
    .bind(&k.key)
    .fetch_one(c)
    .await)?;
    if record.method != k.method || record.path != k.path || record.fingerprint != k.fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::IdempotencyKeyReused,
            "This Idempotency-Key was used for a different request.",
        ));
    }
    let Some(status) = record.status else {
        return Err(ApiError::conflict(
            Code::IdempotencyInProgress,
            "A request with this Idempotency-Key is still running.",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1")));
    };
    Ok(Claim::Replay(replay(
        status,
        record.response_body,
        record.response_headers,
    )))
}

fn replay(status: i32, body: Option<String>, headers: Option<String>) -> Response {
    metrics::counter!("idempotency_replays_total").increment(1);
    let status = if status == 204 {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let mut res = (status, Body::from(body.unwrap_or_default())).into_response();
    let kept: BTreeMap<String, String> = headers.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default();
    let h = res.headers_mut();
    for (name, value) in kept {
        if let (Ok(n), Ok(v)) = (name.parse::<header::HeaderName>(), HeaderValue::from_str(&value)) {
            h.insert(n, v);
        }
    }
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

/// Runs `work` in a write transaction, committing only a 2xx result; with a key, as described above.
pub async fn run<F>(state: &AppState, keyed: Option<Keyed>, work: F) -> ApiResult<Response>
where
    F: AsyncFnOnce(&mut Tx) -> ApiResult<Response>,
{
    let mut tx = state.db.begin().await?;
    if let Some(k) = &keyed {
        match claim(state, &mut tx, k).await {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Replay(res)) => {
                tx.rollback().await?;
                return Ok(res);
            }
            Err(e) => {
                tx.rollback().await.ok();
                return Err(e);
            }
        }
    }
    let res = match work(&mut tx).await {
        Ok(res) if res.status().is_success() => res,
        Ok(res) => {
            tx.rollback().await?;
            return Ok(res);
        }
        Err(e) => {
            tx.rollback().await.ok();
            return Err(e);
        }
    };
    let Some(k) = &keyed else {
        tx.commit().await?;
        return Ok(res);
    };
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(ApiError::internal)?;
    let mut kept: BTreeMap<String, String> = KEPT_HEADERS
        .iter()
        .filter_map(|n| Some((n.to_string(), parts.headers.get(n)?.to_str().ok()?.to_string())))
        .collect();
    // A body over the cap is not kept (storage per key stays bounded): the record says the write
    // happened, and a replay answers without the body (see `replay`).
    let stored_body = if bytes.len() <= state.settings.idempotency.max_stored_bytes {
        Some(String::from_utf8_lossy(&bytes).to_string())
    } else {
        kept.retain(|name, _| name != header::CONTENT_TYPE.as_str());
        kept.insert(BODY_OMITTED.to_string(), "true".to_string());
        None
    };
    with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE idempotency_records SET status = $3, response_body = $4, response_headers = $5
         WHERE principal = $1 AND idem_key = $2"
    )
    .bind(&k.principal)
    .bind(&k.key)
    .bind(parts.status.as_u16() as i32)
    .bind(stored_body)
    .bind(serde_json::to_string(&kept).unwrap_or_default())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// Deletes expired records (`CLEANUP_INTERVAL_IDEMPOTENCY`); registered in [`crate::periodic_tasks`].
pub const PRUNE_TASK: crate::periodic::PeriodicTask = crate::periodic::PeriodicTask {
    name: "idempotency",
    interval_of: |s| s.maintenance.cleanup_intervals.idempotency,
    batch: |_, tx, now, limit| Box::pin(prune_expired(tx, now, limit)),
};

/// Deletes up to `limit` expired records (the periodic clean-up; an expired record is already treated
/// as absent).
pub async fn prune_expired(tx: &mut Tx, now: chrono::DateTime<chrono::Utc>, limit: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM idempotency_records WHERE (principal, idem_key) IN (
             SELECT principal, idem_key FROM idempotency_records WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_fingerprints() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_key(&h).unwrap(), None);
        h.insert(HEADER, HeaderValue::from_static("abc-123 ok"));
        assert_eq!(parse_key(&h).unwrap().as_deref(), Some("abc-123 ok"));
        h.insert(HEADER, HeaderValue::from_static(""));
        assert!(parse_key(&h).is_err());
        h.insert(HEADER, HeaderValue::from_str(&"k".repeat(256)).unwrap());
        assert!(parse_key(&h).is_err());
        h.insert(HEADER, HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert!(parse_key(&h).is_err());
        assert_eq!(fingerprint(br#"{"a":1,"b":2}"#), fingerprint(b"{ \"b\": 2, \"a\": 1 }"));
        assert_ne!(fingerprint(br#"{"a":1}"#), fingerprint(br#"{"a":2}"#));
    }
}
