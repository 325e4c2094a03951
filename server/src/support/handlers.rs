//! Handlers of `/support/tickets`.

use axum::{
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};
use uuid::Uuid;

use super::{
    model::{CreateTicket, MESSAGE, STATUS, SUBJECT, TicketListQuery, TicketOut, UpdateTicket},
    store::{self, NewTicket, TicketRow},
};
use crate::auth::AuthUser;
use crate::{
    db::{
        Tx, now,
        query::{Arg, Filter, Quota},
    },
    error::{ApiError, ApiResult, Problem},
    http::{
        extract::{ApiPath, ApiQuery},
        idempotency::Write,
        list::{CREATED_AT, ListPage, Sort, SortField, UPDATED_AT},
    },
    resource::{self, Access, Changes, Create, Item},
    state::AppState,
};

const SORTS: &[SortField] = &[CREATED_AT, UPDATED_AT];
/// What `q` searches, for authors and for administrators (who also search the email).
const SEARCH: [&[&str]; 2] = [&["subject", "message"], &["subject", "message", "email"]];

/// The author's and the back office's: anyone else gets 404.
fn access(auth: &AuthUser, t: &TicketRow) -> Access {
    Access::hidden_unless(auth.user.is_admin || t.user_id == Some(auth.user.id))
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
    let status = q.status.as_deref().map(|s| STATUS.validate(s, &["query", "status"]));
    let status = status.transpose().map_err(|e| ApiError::validation(vec![e]))?;
    let mut filter = Filter::new();
    if !auth.user.is_admin {
        filter.cond("user_id = {}", vec![Arg::Uuid(auth.user.id)]);
    }
    if let Some(s) = &status {
        filter.cond("status = {}", vec![Arg::Text(s.clone())]);
    }
    if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        filter.search(SEARCH[usize::from(auth.user.is_admin)], s);
    }
    let caller = Some(auth.user.id);
    resource::list::<TicketRow>(&state, (&headers, &uri), caller, sort, filter, &q.params()).await
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
    let signed_in = auth.as_ref().map(|a| a.user.email.as_str());
    let email = body.email_or(signed_in).map_err(|e| errors.push(e)).ok();
    let subject = SUBJECT.check(&body.subject, &mut errors);
    let message = MESSAGE.check(&body.message, &mut errors);
    let (Some(email), Some(subject), Some(message), true) = (email, subject, message, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let user_id = auth.as_ref().map(|a| a.user.id);
    let max = i64::from(state.settings.content.max_tickets_per_user);
    // Signed-in users have a quota; anonymous tickets are bounded by the `auth` rate-limit tier.
    let how = Create::new("ticket.create", user_id).limit(Quota::Tickets, max, "support tickets");
    resource::create(&state, write.keyed, how, async |tx: &mut Tx| {
        let new = NewTicket {
            user_id,
            email: &email,
            subject: &subject,
            message: &message,
        };
        store::insert(tx, &new, now()).await
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
    Item::new(&state, &headers, id).get(|t| access(&auth, t)).await
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
    let subject = SUBJECT.required(&body.subject, &mut errors);
    let message = MESSAGE.required(&body.message, &mut errors);
    let status = STATUS.required(&body.status, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let apply = async |tx: &mut Tx, row: &TicketRow, ch: &mut Changes| {
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
        let subject = ch.set("subject", &row.subject, subject.as_ref());
        let message = ch.set("message", &row.message, message.as_ref());
        let status = ch.set("status", &row.status, status.as_ref());
        ch.note("status", &status);
        Ok(store::update(tx, id, &subject, &message, &status, now()).await?)
    };
    let (item, audit) = (Item::new(&state, &headers, id), ("ticket.update", auth.user.id));
    item.update(write.keyed, audit, |t| access(&auth, t), apply).await
}
