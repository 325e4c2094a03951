//! Handlers of `/support/tickets`.

use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    model::{CreateTicket, STATUSES, TicketListQuery, TicketOut, UpdateTicket},
    store::{self, NewTicket, TicketRow},
};
use crate::error::Code;
use crate::{
    audit::{self, Entry},
    auth::model::{Email, text_field},
    db::{
        Tx, now,
        query::{Arg, Filter},
    },
    error::{ApiError, ApiResult, FieldError, Problem},
    http::{
        auth::AuthUser,
        conditional::{check_if_match, created, etag_for, json_with_etag, written},
        extract::{ApiPath, ApiQuery},
        idempotency::{self, Write},
        list::{self, CREATED_AT, ListPage, Sort, SortField, UPDATED_AT},
    },
    state::AppState,
};

const SORTS: &[SortField] = &[CREATED_AT, UPDATED_AT];

fn not_found() -> ApiError {
    ApiError::not_found("ticket")
}

fn may_see(auth: &AuthUser, t: &TicketRow) -> bool {
    auth.user.is_admin || t.user_id == Some(auth.user.id)
}

fn status_field(raw: &str, loc: &[&str]) -> Result<String, FieldError> {
    let v = raw.trim();
    STATUSES
        .contains(&v)
        .then(|| v.to_string())
        .ok_or_else(|| FieldError::new(loc, format!("must be one of {}", STATUSES.join(", ")), "enum"))
}

/// Tickets: your own, or all of them for administrators.
#[utoipa::path(get, path = "/support/tickets", tag = "support", params(TicketListQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A `Page` in offset mode, a `CursorPage` when `cursor` is present", body = ListPage<TicketOut>),
        (status = 400, description = "invalid_cursor", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 422, description = "Bad parameters", body = Problem)))]
pub async fn list_tickets(
    State(state): State<AppState>,
    auth: AuthUser,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<TicketListQuery>,
) -> ApiResult<Response> {
    let sort = Sort::parse(q.sort.as_deref(), SORTS, "-created_at")?;
    let status = q
        .status
        .as_deref()
        .map(|s| status_field(s, &["query", "status"]))
        .transpose()
        .map_err(|e| ApiError::validation(vec![e]))?;
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let admin = auth.user.is_admin;
    let scope = format!(
        "tickets|{}|{admin}|{}|{}|{}",
        auth.user.id,
        sort.as_str(),
        status.as_deref().unwrap_or(""),
        search.unwrap_or("")
    );
    let listing = list::Listing::new(&state.cursor_key, scope, sort, &q.params())?;
    let mut filter = Filter::new();
    if !admin {
        filter.cond("user_id = {}", vec![Arg::Uuid(auth.user.id)]);
    }
    if let Some(s) = &status {
        filter.cond("status = {}", vec![Arg::Text(s.clone())]);
    }
    if let Some(s) = search {
        let columns: &[&str] = if admin {
            &["subject", "message", "email"]
        } else {
            &["subject", "message"]
        };
        filter.search(columns, s);
    }
    let fetched = listing
        .fetch::<TicketRow>(&state.db, store::COLUMNS, "support_tickets", filter)
        .await?;
    Ok(listing.respond(&headers, &uri, fetched, |r| TicketOut::from(r)))
}

/// Open a ticket (anonymous allowed: then `email` is required).
#[utoipa::path(post, path = "/support/tickets", tag = "support", request_body = CreateTicket,
    params(("Idempotency-Key" = Option<String>, Header)), security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TicketOut),
        (status = 200, description = "Idempotent replay", body = TicketOut),
        (status = 409, description = "quota_exceeded (MAX_TICKETS_PER_USER) or idempotency_in_progress", body = Problem),
        (status = 422, description = "Invalid input or idempotency_key_reused", body = Problem),
        (status = 429, description = "rate_limited (anonymous tickets are in the `auth` tier)", body = Problem)))]
pub async fn create_ticket(
    State(state): State<AppState>,
    auth: Option<AuthUser>,
    write: Write<CreateTicket>,
) -> ApiResult<Response> {
    let body = write.body;
    let mut errors = Vec::new();
    let email = match (&body.email, &auth) {
        (Some(raw), _) => Email::parse(raw).map(|e| e.as_str().to_string()).or_else(|| {
            errors.push(FieldError::new(
                &["body", "email"],
                "is not a valid email address",
                "value_error",
            ));
            None
        }),
        (None, Some(a)) => Some(a.user.email.clone()),
        (None, None) => {
            errors.push(FieldError::new(
                &["body", "email"],
                "Field required when not signed in",
                "missing",
            ));
            None
        }
    };
    let subject = text_field(&body.subject, &["body", "subject"], 1, 200)
        .map_err(|e| errors.push(e))
        .ok();
    let message = text_field(&body.message, &["body", "message"], 1, 10_000)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(email), Some(subject), Some(message), true) = (email, subject, message, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let user_id = auth.as_ref().map(|a| a.user.id);
    let max = i64::from(state.settings.content.max_tickets_per_user);
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let new = NewTicket {
            user_id,
            email: &email,
            subject: &subject,
            message: &message,
        };
        let row = store::insert(tx, &new, now()).await?;
        // Signed-in users have a quota; anonymous tickets are bounded by the `auth` rate-limit tier.
        if let Some(owner) = user_id
            && crate::db::query::over_quota(tx, crate::db::query::Quota::Tickets, owner, max).await?
        {
            return Err(ApiError::conflict(
                Code::QuotaExceeded,
                format!("You can have at most {max} support tickets."),
            ));
        }
        audit::record(tx, Entry::new("ticket.create", user_id).resource("ticket", row.id)).await?;
        Ok(created(
            &TicketOut::from(&row),
            &format!("/api/v1/support/tickets/{}", row.id),
        ))
    })
    .await
}

/// One ticket (its author or an administrator).
#[utoipa::path(get, path = "/support/tickets/{id}", tag = "support", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The ticket, with `ETag`", body = TicketOut),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such ticket (or not yours)", body = Problem)))]
pub async fn get_ticket(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let row = store::get_read(&state.db, id)
        .await?
        .filter(|t| may_see(&auth, t))
        .ok_or_else(not_found)?;
    Ok(json_with_etag(&headers, StatusCode::OK, &TicketOut::from(&row)))
}

/// Change a ticket. Authors may edit subject and message while it is not closed, and close it;
/// administrators may change anything.
#[utoipa::path(patch, path = "/support/tickets/{id}", tag = "support", request_body = UpdateTicket,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = TicketOut),
        (status = 403, description = "An author tried something only administrators may do", body = Problem),
        (status = 404, description = "No such ticket", body = Problem),
        (status = 412, description = "precondition_failed", body = Problem),
        (status = 422, description = "Invalid input", body = Problem)))]
pub async fn update_ticket(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    write: Write<UpdateTicket>,
) -> ApiResult<Response> {
    let body = write.body;
    let mut errors = Vec::new();
    let subject = body.subject.as_deref().and_then(|v| {
        text_field(v, &["body", "subject"], 1, 200)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let message = body.message.as_deref().and_then(|v| {
        text_field(v, &["body", "message"], 1, 10_000)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let status = body
        .status
        .as_deref()
        .and_then(|v| status_field(v, &["body", "status"]).map_err(|e| errors.push(e)).ok());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    idempotency::run(&state, write.keyed, async |tx: &mut Tx| {
        let row = store::get(tx, id)
            .await?
            .filter(|t| may_see(&auth, t))
            .ok_or_else(not_found)?;
        check_if_match(&headers, &etag_for(&TicketOut::from(&row)))?;
        if !auth.user.is_admin {
            let edits_text = subject.is_some() || message.is_some();
            if edits_text && row.status == "closed" {
                return Err(ApiError::forbidden("A closed ticket cannot be edited."));
            }
            if status.as_deref().is_some_and(|s| s != "closed") {
                return Err(ApiError::forbidden(
                    "You can only close your ticket; support sets the other statuses.",
                ));
            }
        }
        let new_subject = subject.clone().unwrap_or_else(|| row.subject.clone());
        let new_message = message.clone().unwrap_or_else(|| row.message.clone());
        let new_status = status.clone().unwrap_or_else(|| row.status.clone());
        let mut fields = Vec::new();
        for (name, changed) in [
            ("subject", new_subject != row.subject),
            ("message", new_message != row.message),
            ("status", new_status != row.status),
        ] {
            if changed {
                fields.push(name);
            }
        }
        let updated = store::update(tx, id, &new_subject, &new_message, &new_status, now()).await?;
        audit::record(
            tx,
            Entry::new("ticket.update", Some(auth.user.id))
                .resource("ticket", id)
                .meta(json!({"fields": fields, "status": new_status})),
        )
        .await?;
        Ok(written(&TicketOut::from(&updated)))
    })
    .await
}
