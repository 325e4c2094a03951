//! The jobs back office: `GET /admin/jobs`, `GET /admin/jobs/{id}`, `POST /admin/jobs/{id}/retry` and
//! `DELETE /admin/jobs/{id}`, and the same operations for `neoforge jobs list|retry|discard`.
//!
//! A job's payload is never shown: an email's holds its (sealed) verification or reset link.

use axum::{
    Json,
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{self, JobRow};
use crate::auth::AdminUser;
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    db::{
        now,
        query::{Arg, Filter},
    },
    error::{ApiError, ApiResult, FieldError, Problem},
    http::{
        extract::{ApiPath, ApiQuery},
        list::{self, CREATED_AT, ListPage, ListParams, Sort},
    },
    state::AppState,
};

/// The states a job can be in.
pub const STATES: &[&str] = &["queued", "running", "done", "dead"];

/// A background job, without its payload.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: Uuid,
    /// The queue it runs on (`email`, …).
    pub queue: String,
    /// What it does (`email.send`, …).
    pub kind: String,
    /// `queued`, `running`, `done` or `dead`.
    pub status: String,
    /// Claims so far (the current one included while running).
    pub attempts: i32,
    pub max_attempts: i32,
    /// When it may run next (queued) or when its lease ends (running).
    pub available_at: DateTime<Utc>,
    /// The worker holding it while it runs.
    pub locked_by: Option<String>,
    /// When its outside effect (an email sent) happened: a job with an effect never repeats it.
    pub effect_at: Option<DateTime<Utc>>,
    /// The error of its last failed attempt.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&JobRow> for JobOut {
    fn from(r: &JobRow) -> Self {
        JobOut {
            id: r.id,
            queue: r.queue.clone(),
            kind: r.kind.clone(),
            status: r.status.clone(),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            available_at: r.available_at,
            locked_by: r.locked_by.clone(),
            effect_at: r.effect_at,
            last_error: r.last_error.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Only jobs in this state: `queued`, `running`, `done` or `dead`.
    #[param(pattern = "^(queued|running|done|dead)$")]
    pub state: Option<String>,
    /// Only jobs of this queue.
    pub queue: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

/// Why a back-office operation did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    /// The job is in a state the operation does not apply to (its current state).
    WrongState(String),
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::NotFound => ApiError::not_found("job"),
            Refused::WrongState(status) => ApiError::conflict(
                Code::JobStateConflict,
                format!("The job is {status}: only dead or queued jobs can be retried, and only dead ones discarded."),
            ),
        }
    }
}

/// Who asked, for the audit log: an administrator over HTTP, or the operator at the command line.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Admin(Uuid),
    Cli,
}

impl Actor {
    fn entry(self, action: &'static str, job: &JobRow) -> Entry {
        let (actor, via) = match self {
            Actor::Admin(id) => (Some(id), "api"),
            Actor::Cli => (None, "cli"),
        };
        Entry::new(action, actor)
            .resource("job", job.id)
            .meta(json!({"queue": job.queue, "kind": job.kind, "status": job.status, "via": via}))
    }
}

/// Why a conditional retry or discard changed nothing: the job is gone, or in another state now.
async fn refusal(state: &AppState, id: Uuid) -> ApiError {
    match store::job_row(&state.db, id).await {
        Ok(current) => current
            .map_or(Refused::NotFound, |j| Refused::WrongState(j.status))
            .into(),
        Err(e) => e.into(),
    }
}

/// Queues a dead (or waiting) job to run now, with fresh attempts; audited as `admin.job_retry`.
pub async fn retry(state: &AppState, id: Uuid, actor: Actor) -> Result<JobRow, ApiError> {
    let Some(before) = store::job_row(&state.db, id).await? else {
        return Err(Refused::NotFound.into());
    };
    let mut tx = state.db.begin().await?;
    // The state is checked again by the update itself: a job a worker claimed meanwhile is not touched.
    let Some(job) = store::retry_now(&mut tx, id, now()).await? else {
        tx.rollback().await?;
        return Err(refusal(state, id).await);
    };
    audit::record(&mut tx, actor.entry("admin.job_retry", &before)).await?;
    super::wake_workers_after_commit(&mut tx);
    tx.commit().await?;
    Ok(job)
}

/// Deletes a dead job; audited as `admin.job_discard`.
pub async fn discard(state: &AppState, id: Uuid, actor: Actor) -> Result<(), ApiError> {
    let Some(job) = store::job_row(&state.db, id).await? else {
        return Err(Refused::NotFound.into());
    };
    let mut tx = state.db.begin().await?;
    if !store::discard_dead(&mut tx, id).await? {
        tx.rollback().await?;
        return Err(refusal(state, id).await);
    }
    audit::record(&mut tx, actor.entry("admin.job_discard", &job)).await?;
    tx.commit().await?;
    Ok(())
}

/// Jobs, newest first, optionally of one state and queue.
#[utoipa::path(get, path = "/admin/jobs", tag = "admin", params(JobListQuery), security(("bearer" = [])),
    responses((status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<JobOut>),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<JobListQuery>,
) -> ApiResult<Response> {
    if let Some(s) = q.state.as_deref().filter(|s| !STATES.contains(s)) {
        let msg = format!("{s:?} is not one of {}", STATES.join(", "));
        return Err(ApiError::validation(vec![FieldError::new(
            &["query", "state"],
            msg,
            "enum",
        )]));
    }
    let sort = Sort::parse(None, &[CREATED_AT], "-created_at")?;
    let scope = format!(
        "jobs|{}|{}|{}",
        admin.user.id,
        q.state.as_deref().unwrap_or(""),
        q.queue.as_deref().unwrap_or("")
    );
    let params = ListParams {
        page: q.page,
        page_size: q.page_size,
        cursor: q.cursor.clone(),
        include_total: q.include_total,
    };
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &params)?;
    let mut filter = Filter::new();
    if let Some(s) = &q.state {
        filter.cond("status = {}", vec![Arg::Text(s.clone())]);
    }
    if let Some(queue) = &q.queue {
        filter.cond("queue = {}", vec![Arg::Text(queue.clone())]);
    }
    let fetched = listing
        .fetch::<JobRow>(&state.db, &store::job_row_select(), "jobs", filter)
        .await?;
    Ok(listing.respond(&headers, &uri, fetched, |j| JobOut::from(j)))
}

/// One job, without its payload.
#[utoipa::path(get, path = "/admin/jobs/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Job id")), security(("bearer" = [])),
    responses((status = 200, description = "The job", body = JobOut),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 404, description = "No such job", body = Problem)))]
pub async fn get_job(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<JobOut>> {
    let job = store::job_row(&state.db, id).await?.ok_or(Refused::NotFound)?;
    Ok(Json(JobOut::from(&job)))
}

/// Run a dead (or waiting) job again now, with its attempts counted afresh. An email whose sending was
/// already recorded is not sent twice.
#[utoipa::path(post, path = "/admin/jobs/{id}/retry", tag = "admin",
    params(("id" = Uuid, Path, description = "Job id")), security(("bearer" = [])),
    responses((status = 200, description = "Queued to run now", body = JobOut),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 404, description = "No such job", body = Problem),
        (status = 409, description = "job_state_conflict: the job is running or done", body = Problem)))]
pub async fn retry_job(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<JobOut>> {
    let job = retry(&state, id, Actor::Admin(admin.user.id)).await?;
    Ok(Json(JobOut::from(&job)))
}

/// Delete a dead job.
#[utoipa::path(delete, path = "/admin/jobs/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Job id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "Not an administrator", body = Problem),
        (status = 404, description = "No such job", body = Problem),
        (status = 409, description = "job_state_conflict: only dead jobs are discarded", body = Problem)))]
pub async fn discard_job(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    discard(&state, id, Actor::Admin(admin.user.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job, discard_job))
        .routes(routes!(retry_job))
}

/// The newest `limit` jobs (for `neoforge jobs list`), optionally of one state and queue.
pub async fn recent(
    state: &AppState,
    status: Option<&str>,
    queue: Option<&str>,
    limit: u32,
) -> Result<Vec<JobRow>, ApiError> {
    if let Some(s) = status.filter(|s| !STATES.contains(s)) {
        return Err(ApiError::bad_request(
            Code::InvalidState,
            format!("{s:?} is not one of {}", STATES.join(", ")),
        ));
    }
    let mut filter = Filter::new();
    if let Some(s) = status {
        filter.cond("status = {}", vec![Arg::Text(s.to_string())]);
    }
    if let Some(q) = queue {
        filter.cond("queue = {}", vec![Arg::Text(q.to_string())]);
    }
    let sort = Sort::parse(None, &[CREATED_AT], "-created_at")?;
    let page_size = i64::from(limit.clamp(1, 1000));
    let (sql, filter) = list::page_sql(&store::job_row_select(), filter, &sort, None, page_size, 0);
    let sql = sqlx::AssertSqlSafe(sql);
    Ok(crate::with_db!(&state.db, |c| crate::bind_args!(
        sqlx::query_as(sql),
        &filter.args
    )
    .fetch_all(c)
    .await)?)
}
