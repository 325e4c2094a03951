//! All SQL of the job queue. Every write is one statement in its own write transaction (on SQLite, the
//! single writer), except `insert`, which joins the caller's transaction.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::NewJob;
use crate::{
    db::{Backend, Db, Tx},
    with_db, with_tx,
};

type Ts = DateTime<Utc>;

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub payload: Vec<u8>,
    /// This claim's number (1 for the first run).
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_id: Option<Uuid>,
    /// Set once the job's outside effect happened (see [`record_effect`]).
    pub effect_at: Option<Ts>,
    pub created_at: Ts,
}

/// A job's state, for inspection (tests, operators, the back office).
pub type JobState = JobRow;

const RETURNING: &str = "id, queue, kind, payload, attempts, max_attempts, lease_id, effect_at, created_at";

pub async fn insert(tx: &mut Tx, job: &NewJob, now: Ts) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    let max_attempts = i32::try_from(job.max_attempts).unwrap_or(i32::MAX);
    with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO jobs (id, queue, kind, payload, status, attempts, max_attempts, available_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)"
    )
    .bind(id)
    .bind(&job.queue)
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(max_attempts)
    .bind(crate::db::truncate_micros(job.run_at))
    .bind(now)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    Ok(id)
}

/// The ready jobs of queue `$1` at time `$2`, oldest first, at most `$3` (the claim's subquery). The partial
/// index `jobs_claim_idx` serves it: finished jobs are never read (`tests/api/plans.rs`).
pub const PICK_SQL: &str =
    "SELECT id FROM jobs WHERE queue = $1 AND status IN ('queued', 'running') AND available_at <= $2
                            ORDER BY available_at, id LIMIT $3";

/// Whether `queue` has a job to claim now (a cheap read, so idle polling never takes the write lock).
pub async fn has_ready(db: &Db, queue: &str, now: Ts) -> Result<bool, sqlx::Error> {
    let found: Option<Uuid> = with_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM jobs WHERE queue = $1 AND status IN ('queued', 'running') AND available_at <= $2 LIMIT 1"
    )
    .bind(queue)
    .bind(now)
    .fetch_optional(c)
    .await)?;
    Ok(found.is_some())
}

/// Claims up to `limit` ready jobs of `queue` for `worker` until `lease_until`, oldest first. Atomic:
/// PostgreSQL skips rows another claimer holds (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
pub async fn claim(
    db: &Db,
    queue: &str,
    worker: &str,
    limit: usize,
    lease_until: Ts,
    now: Ts,
) -> Result<Vec<Job>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_id = $4, locked_by = $5,
                available_at = $6, updated_at = $2
         WHERE id IN ({PICK_SQL}{lock}) RETURNING {RETURNING}"
    );
    let lease = Uuid::now_v7();
    let mut jobs: Vec<Job> = with_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(queue)
        .bind(now)
        .bind(limit as i64)
        .bind(lease)
        .bind(worker)
        .bind(lease_until)
        .fetch_all(c)
        .await)?;
    tx.commit().await?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Runs one lease-checked update; true when this worker still held the lease.
async fn update_leased(
    db: &Db,
    sql: &'static str,
    job: &Job,
    text: Option<&str>,
    at: Ts,
    now: Ts,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let n = with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(job.id)
        .bind(job.lease_id)
        .bind(text)
        .bind(at)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(n == 1)
}

/// Renews the lease of a running job until `until`; false when this worker no longer holds it.
pub async fn extend_lease(db: &Db, job: &Job, until: Ts, now: Ts) -> Result<bool, sqlx::Error> {
    // `$3` (no text here) keeps the shared shape of `update_leased`; COALESCE leaves last_error as it is.
    update_leased(
        db,
        "UPDATE jobs SET available_at = $4, updated_at = $5, last_error = COALESCE($3, last_error)
         WHERE id = $1 AND lease_id = $2 AND status = 'running'",
        job,
        None,
        until,
        now,
    )
    .await
}

/// Acks a job: `done`.
pub async fn complete(db: &Db, job: &Job, now: Ts) -> Result<bool, sqlx::Error> {
    update_leased(
        db,
        "UPDATE jobs SET status = 'done', lease_id = NULL, locked_by = NULL, last_error = $3, available_at = $4,
                updated_at = $5, finished_at = $5
         WHERE id = $1 AND lease_id = $2 AND status = 'running'",
        job,
        None,
        now,
        now,
    )
    .await
}

/// Schedules another attempt at `retry_at` after a failure.
pub async fn retry(db: &Db, job: &Job, error: &str, retry_at: Ts, now: Ts) -> Result<bool, sqlx::Error> {
    update_leased(
        db,
        "UPDATE jobs SET status = 'queued', lease_id = NULL, locked_by = NULL, last_error = $3, available_at = $4,
                updated_at = $5
         WHERE id = $1 AND lease_id = $2 AND status = 'running'",
        job,
        Some(error),
        crate::db::truncate_micros(retry_at),
        now,
    )
    .await
}

/// Gives up on a job: `dead`, kept for inspection until the jobs clean-up removes it.
pub async fn bury(db: &Db, job: &Job, error: &str, now: Ts) -> Result<bool, sqlx::Error> {
    update_leased(
        db,
        "UPDATE jobs SET status = 'dead', lease_id = NULL, locked_by = NULL, last_error = $3, available_at = $4,
                updated_at = $5, finished_at = $5
         WHERE id = $1 AND lease_id = $2 AND status = 'running'",
        job,
        Some(error),
        now,
        now,
    )
    .await
}

/// Hands a job back unrun (graceful shutdown): queued again at once, the claim not counted.
pub async fn release(db: &Db, job: &Job, now: Ts) -> Result<bool, sqlx::Error> {
    update_leased(
        db,
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_id = NULL, locked_by = NULL,
                last_error = $3, available_at = $4, updated_at = $5
         WHERE id = $1 AND lease_id = $2 AND status = 'running'",
        job,
        None,
        now,
        now,
    )
    .await
}

/// Records that the job's outside effect happened (an email was handed to the transport). Not
/// lease-checked: the effect happened whoever holds the lease now, and a later claim must see it.
pub async fn record_effect(db: &Db, job_id: Uuid, now: Ts) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE jobs SET effect_at = COALESCE(effect_at, $2), updated_at = $2 WHERE id = $1"
    )
    .bind(job_id)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))?;
    tx.commit().await
}

/// Queued and running jobs per queue.
pub async fn depth(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT queue, COUNT(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY queue ORDER BY queue"
    )
    .fetch_all(c)
    .await)
}

/// Dead jobs by queue and kind (the back office's to-do list).
pub async fn dead_by_kind(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT queue, kind, COUNT(*) FROM jobs WHERE status = 'dead' GROUP BY queue, kind ORDER BY queue, kind"
    )
    .fetch_all(c)
    .await)
}

pub async fn state(db: &Db, id: Uuid) -> Result<Option<JobState>, sqlx::Error> {
    job_row(db, id).await
}

/// Deletes up to `limit` jobs finished before their cut-off: `done` ones before `done_before`, `dead`
/// ones before `dead_before` (kept longer, for inspection).
pub async fn prune_finished(tx: &mut Tx, done_before: Ts, dead_before: Ts, limit: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE finished_at IS NOT NULL
               AND ((status = 'done' AND finished_at < $1) OR (status = 'dead' AND finished_at < $2))
             LIMIT $3)"
    )
    .bind(done_before)
    .bind(dead_before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// A job as the back office (and [`state`]) shows it: everything but the payload, which may hold sealed
/// secrets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub available_at: Ts,
    pub locked_by: Option<String>,
    pub effect_at: Option<Ts>,
    pub last_error: Option<String>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub finished_at: Option<Ts>,
}

impl crate::http::list::ListRow for JobRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, _name: &str) -> crate::http::list::SortValue {
        crate::http::list::SortValue::Time(self.created_at)
    }
}

/// `SELECT` of [`JobRow`] (the list engine appends filter, order and limit).
pub fn job_row_select() -> String {
    format!("SELECT {JOB_ROW_COLUMNS} FROM jobs")
}

pub async fn job_row(db: &Db, id: Uuid) -> Result<Option<JobRow>, sqlx::Error> {
    let q = sqlx::AssertSqlSafe(format!("{} WHERE id = $1", job_row_select()));
    with_db!(db, |c| sqlx::query_as(q).bind(id).fetch_optional(c).await)
}

/// Makes a dead or waiting job run now, with its attempts counted afresh. Running and done jobs are left
/// alone (`None`): a running one has a worker, a done one did its work.
pub async fn retry_now(tx: &mut Tx, id: Uuid, now: Ts) -> Result<Option<JobRow>, sqlx::Error> {
    let q = sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET status = 'queued', attempts = 0, available_at = $2, lease_id = NULL, locked_by = NULL,
             finished_at = NULL, updated_at = $2
         WHERE id = $1 AND status IN ('dead', 'queued')
         RETURNING {}",
        JOB_ROW_COLUMNS
    ));
    with_tx!(tx, |c| sqlx::query_as(q).bind(id).bind(now).fetch_optional(c).await)
}

/// Deletes a dead job; `false` when it is not (or no longer) dead.
pub async fn discard_dead(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM jobs WHERE id = $1 AND status = 'dead'"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

const JOB_ROW_COLUMNS: &str = "id, queue, kind, status, attempts, max_attempts, available_at, locked_by, effect_at, \
    last_error, created_at, updated_at, finished_at";
