//! The scheduler of periodic maintenance. It runs the tasks it is given ([`crate::periodic_tasks`]: expired
//! idempotency records, old sessions, spent and expired email tokens, the audit log past
//! `AUDIT_RETENTION_DAYS`, finished jobs), each declared by its room as a [`PeriodicTask`], and names none
//! of those rooms. Each task has its own interval (`CLEANUP_INTERVAL_<TASK>`, else `CLEANUP_INTERVAL`).
//!
//! With several instances, two rules keep a task to one instance at a time and once per interval:
//! - on PostgreSQL, a run holds the task's session advisory lock (`pg_try_advisory_lock`); an instance
//!   that cannot take it skips the task (a long run never overlaps the next one); the key is scoped to
//!   the schema ([`LOCK_KEY_SQL`]);
//! - the task's row in `periodic_tasks` is claimed with a conditional update (`last_started_at` older
//!   than the interval), so the instances together start it once per interval. On SQLite the single
//!   writer makes that claim atomic across processes.
//!
//! Every run is logged with its duration and row count, kept in `periodic_tasks`, and counted in
//! `periodic_task_runs_total{task,outcome}`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, future::BoxFuture};
use tokio::sync::watch;

pub use crate::periodic::PeriodicTask;
use crate::{
    db::{Db, Tx, now},
    periodic::Ts,
    state::AppState,
    with_db, with_tx,
};

/// A task as the scheduler's callers name it (`run_task(&state, task, …)`).
pub type Task = &'static PeriodicTask;

/// Rows one statement deletes at most, so a large backlog never holds the (SQLite) writer for long.
pub const BATCH: i64 = 1000;
/// Finished jobs are kept for inspection: done ones for 7 days, dead ones for 30.
pub const DONE_JOB_RETENTION: chrono::Duration = chrono::Duration::days(7);
pub const DEAD_JOB_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// The PostgreSQL advisory-lock key of a task (`$1` = its name). Advisory locks are database-wide, so the
/// key includes the schema: deployments (and test schemas) sharing one database do not block each other.
pub const LOCK_KEY_SQL: &str = "hashtextextended('neoforge:periodic:' || current_schema() || ':' || $1, 0)";

/// Deletes finished jobs past [`DONE_JOB_RETENTION`] / [`DEAD_JOB_RETENTION`] (`CLEANUP_INTERVAL_JOBS`):
/// the queue's own task, registered in [`crate::periodic_tasks`] like every room's.
pub const PRUNE_JOBS: PeriodicTask = PeriodicTask {
    name: "jobs",
    interval_of: |s| s.maintenance.cleanup_intervals.jobs,
    batch: prune_jobs,
};

fn prune_jobs<'a>(_: &'a AppState, tx: &'a mut Tx, now: Ts, limit: i64) -> BoxFuture<'a, Result<u64, sqlx::Error>> {
    Box::pin(super::store::prune_finished(
        tx,
        now - DONE_JOB_RETENTION,
        now - DEAD_JOB_RETENTION,
        limit,
    ))
}

/// The task's work: batches of [`BATCH`] rows until one comes back short.
async fn work(state: &AppState, task: Task, now: Ts) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let mut tx = state.db.begin().await?;
        let n = (task.batch)(state, &mut tx, now, BATCH).await?;
        tx.commit().await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// What became of one attempt to run a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another instance ran it less than an interval ago.
    NotDue,
    /// Another instance is running it now (PostgreSQL advisory lock held).
    Busy,
    Ran {
        affected: u64,
        elapsed_ms: u64,
    },
    Failed(String),
}

/// Runs `tasks` until `stop` turns true, looking for due tasks every quarter of the shortest interval
/// (between 100 ms and 15 s).
pub async fn run(state: AppState, tasks: &'static [PeriodicTask], instance: String, mut stop: watch::Receiver<bool>) {
    let shortest = tasks
        .iter()
        .map(|t| t.interval(&state.settings))
        .min()
        .unwrap_or(Duration::from_secs(3600));
    let tick = (shortest / 4).clamp(Duration::from_millis(100), Duration::from_secs(15));
    // The first look waits a tick, so start-up and the first requests have the database to themselves.
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            changed = stop.changed() => if changed.is_err() { break },
        }
        if *stop.borrow() {
            break;
        }
        run_due(&state, tasks, &instance, now()).await;
    }
}

/// Runs every one of `tasks` that is due at `now`.
pub async fn run_due(
    state: &AppState,
    tasks: &'static [PeriodicTask],
    instance: &str,
    now: Ts,
) -> Vec<(Task, Outcome)> {
    let last = match last_starts(&state.db).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the periodic task schedule; trying at the next tick");
            return Vec::new();
        }
    };
    let mut outcomes = Vec::new();
    for task in tasks {
        let started = last
            .iter()
            .find(|(name, _)| name == task.name())
            .and_then(|(_, at)| *at);
        if started.is_none_or(|at| at <= due_before(state, task, now)) {
            outcomes.push((task, run_task(state, task, instance, now).await));
        }
    }
    outcomes
}

fn due_before(state: &AppState, task: Task, now: Ts) -> Ts {
    chrono::Duration::from_std(task.interval(&state.settings))
        .ok()
        .and_then(|interval| now.checked_sub_signed(interval))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Runs `task` now if it is due and no other instance runs it.
pub async fn run_task(state: &AppState, task: Task, instance: &str, now: Ts) -> Outcome {
    let outcome = match &state.db {
        Db::Postgres(pg) => match pg.acquire().await {
            Ok(mut conn) => {
                let try_lock = format!("SELECT pg_try_advisory_lock({LOCK_KEY_SQL})");
                let locked: Result<bool, _> = sqlx::query_scalar(sqlx::AssertSqlSafe(try_lock))
                    .bind(task.name())
                    .fetch_one(&mut *conn)
                    .await;
                match locked {
                    Ok(true) => {
                        let outcome = claim_and_run(state, task, instance, now).await;
                        let unlock = format!("SELECT pg_advisory_unlock({LOCK_KEY_SQL})");
                        let unlocked: Result<bool, _> = sqlx::query_scalar(sqlx::AssertSqlSafe(unlock))
                            .bind(task.name())
                            .fetch_one(&mut *conn)
                            .await;
                        if !matches!(unlocked, Ok(true)) {
                            // The lock belongs to the connection: closing it is the sure way to let go.
                            let _ = conn.close().await;
                        }
                        outcome
                    }
                    Ok(false) => Outcome::Busy,
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
            Err(e) => Outcome::Failed(e.to_string()),
        },
        Db::Sqlite { .. } => claim_and_run(state, task, instance, now).await,
    };
    let label = match &outcome {
        Outcome::NotDue => "not_due",
        Outcome::Busy => "busy",
        Outcome::Ran { .. } => "ok",
        Outcome::Failed(_) => "error",
    };
    if !matches!(outcome, Outcome::NotDue) {
        metrics::counter!("periodic_task_runs_total", "task" => task.name(), "outcome" => label).increment(1);
    }
    match &outcome {
        Outcome::Ran { affected, elapsed_ms } => {
            tracing::info!(task = task.name(), affected, elapsed_ms, "periodic task ran")
        }
        Outcome::Failed(error) => tracing::warn!(task = task.name(), error = %error, "periodic task failed"),
        Outcome::Busy => tracing::debug!(task = task.name(), "periodic task is running on another instance"),
        Outcome::NotDue => {}
    }
    outcome
}

async fn claim_and_run(state: &AppState, task: Task, instance: &str, now: Ts) -> Outcome {
    match claim(&state.db, task, instance, now, due_before(state, task, now)).await {
        Ok(true) => {}
        Ok(false) => return Outcome::NotDue,
        Err(e) => return Outcome::Failed(e.to_string()),
    }
    let started = Instant::now();
    // A panic in a task must not leave the advisory lock's connection in the pool.
    let result = std::panic::AssertUnwindSafe(work(state, task, now))
        .catch_unwind()
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (affected, error) = match result {
        Ok(Ok(n)) => (n, None),
        Ok(Err(e)) => (0, Some(e.to_string())),
        Err(_) => (0, Some("the task panicked".to_string())),
    };
    if let Err(e) = finish(
        &state.db,
        task,
        crate::db::now(),
        elapsed_ms,
        affected,
        error.as_deref(),
    )
    .await
    {
        tracing::warn!(task = task.name(), error = %e, "cannot record the periodic task's run");
    }
    match error {
        None => Outcome::Ran { affected, elapsed_ms },
        Some(e) => Outcome::Failed(e),
    }
}

/// When each task last started (tasks that never ran have no row).
async fn last_starts(db: &Db) -> Result<Vec<(String, Option<Ts>)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT name, last_started_at FROM periodic_tasks"
    )
    .fetch_all(c)
    .await)
}

/// Takes this interval's run of `task`: false when another instance started it after `due_before`.
async fn claim(db: &Db, task: Task, instance: &str, now: Ts, due_before: Ts) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO periodic_tasks (name, runs) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING"
    )
    .bind(task.name())
    .execute(c)
    .await
    .map(|_| ()))?;
    let n = with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE periodic_tasks SET last_started_at = $2, last_instance = $3
         WHERE name = $1 AND (last_started_at IS NULL OR last_started_at <= $4)"
    )
    .bind(task.name())
    .bind(now)
    .bind(instance)
    .bind(due_before)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(n == 1)
}

async fn finish(
    db: &Db,
    task: Task,
    now: Ts,
    elapsed_ms: u64,
    affected: u64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    with_tx!(&mut tx, |c| sqlx::query(
        "UPDATE periodic_tasks SET last_finished_at = $2, last_duration_ms = $3, last_affected = $4, last_error = $5,
                runs = runs + 1
         WHERE name = $1"
    )
    .bind(task.name())
    .bind(now)
    .bind(elapsed_ms as i64)
    .bind(affected as i64)
    .bind(error)
    .execute(c)
    .await
    .map(|_| ()))?;
    tx.commit().await
}

/// A task's record, for inspection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRecord {
    pub name: String,
    pub last_started_at: Option<Ts>,
    pub last_finished_at: Option<Ts>,
    pub last_duration_ms: Option<i64>,
    pub last_affected: Option<i64>,
    pub last_instance: Option<String>,
    pub last_error: Option<String>,
    pub runs: i64,
}

pub async fn records(db: &Db) -> Result<Vec<TaskRecord>, sqlx::Error> {
    with_db!(db, |c| {
        sqlx::query_as(
        "SELECT name, last_started_at, last_finished_at, last_duration_ms, last_affected, last_instance, last_error, runs
         FROM periodic_tasks ORDER BY name"
    )
    .fetch_all(c)
    .await
    })
}
