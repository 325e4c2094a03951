//! Demo data for `make run DEMO=1` (`neoforge seed-demo`): a demo user with projects, support tickets and
//! community posts, and a week of status events, so the app looks alive on its first start.
//!
//! Written once: a second run finds the demo user and changes nothing. Refused in staging and production,
//! because the demo account's password is public (it is printed and documented).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::{
    audit::{Entry, record},
    auth::store as users,
    community::store as posts,
    db::{Tx, now},
    projects::store as projects,
    state::AppState,
    status::store as status,
    support::store as tickets,
};

/// The demo account. Its password is deliberately well known: demo data is refused outside development
/// and test environments.
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "forge-a-demo-2026";
const DEMO_NAME: &str = "Dana Demo";

/// What `seed` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    Created,
    AlreadyPresent,
}

const PROJECTS: &[(&str, Option<&str>)] = &[
    (
        "Website relaunch",
        Some("New landing page, pricing table and a faster checkout."),
    ),
    (
        "Mobile app beta",
        Some("Invite 50 customers to the iOS and Android beta."),
    ),
    (
        "Billing migration",
        Some("Move subscriptions to the new payment provider without double charges."),
    ),
    (
        "Customer onboarding",
        Some("A five-step guided setup with progress saved between visits."),
    ),
    ("Quarterly report", None),
    (
        "Support macros",
        Some("Canned answers for the ten most frequent questions."),
    ),
    ("Data export", Some("CSV and JSON exports of every resource, streamed.")),
    (
        "Accessibility audit",
        Some("WCAG 2.1 AA pass over every page, keyboard first."),
    ),
];

/// (subject, message, status)
const TICKETS: &[(&str, &str, &str)] = &[
    (
        "Cannot download my invoice",
        "The download button on the billing page spins forever in Firefox.",
        "open",
    ),
    (
        "Feature request: dark mode for emails",
        "Our team reads notifications at night; a dark template would be lovely.",
        "pending",
    ),
    (
        "Two-factor codes rejected",
        "My phone's clock was off by two minutes. Fixed now, thanks!",
        "resolved",
    ),
    (
        "How do I invite a colleague?",
        "Is there a way to share a project?",
        "closed",
    ),
];

/// (title, content)
const POSTS: &[(&str, &str)] = &[
    (
        "Welcome to the community board",
        "Introduce yourself, share what you are building and ask anything. Be kind; assume good intent.",
    ),
    (
        "Tip: sign in once, stay signed in on every tab",
        "The app shares one refresh across tabs, so reloading ten tabs at once never signs you out.",
    ),
    (
        "Working offline on a train",
        "I edited three projects in a tunnel and they synced the moment I had signal again. Nice.",
    ),
    (
        "Keyboard shortcuts?",
        "Every page works with the keyboard alone: Tab through, Enter to act, Escape closes dialogs.",
    ),
    (
        "Status page explained",
        "Each service shows its latest event; the overall badge is the worst of them.",
    ),
];

const SERVICES: &[&str] = &["api", "web", "database", "email", "jobs"];

/// Seeds the demo data unless the demo user exists. Everything is written in one transaction.
pub async fn seed(state: &AppState) -> anyhow::Result<Seeded> {
    let environment = state.settings.environment;
    if matches!(
        environment,
        crate::config::Environment::Staging | crate::config::Environment::Production
    ) {
        anyhow::bail!(
            "demo data is refused in {} (the demo password is public)",
            environment.as_str()
        );
    }
    if users::user_by_email(&state.db, DEMO_EMAIL).await?.is_some() {
        return Ok(Seeded::AlreadyPresent);
    }
    let hash = state
        .hasher
        .hash(DEMO_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail))?;
    let now = now();
    let mut tx = state.db.begin().await?;
    let user = users::NewUser {
        email: DEMO_EMAIL,
        password_hash: &hash,
        full_name: DEMO_NAME,
        is_admin: false,
        verified: true,
    };
    let user = match users::insert_user(&mut tx, &user, now).await {
        Ok(user) => user,
        // Another seed run won the race for the demo user: its data is (being) written.
        Err(e) if is_unique_violation(&e) => return Ok(Seeded::AlreadyPresent),
        Err(e) => return Err(e.into()),
    };
    let demo = Some(user.id);
    record(
        &mut tx,
        Entry::new("auth.register", demo)
            .resource("user", user.id)
            .meta(json!({"source": "demo"})),
    )
    .await?;

    // Spread over the last week, oldest first, so the lists' default order (newest first) reads naturally.
    for (i, (name, description)) in PROJECTS.iter().enumerate() {
        let at = ago(now, Duration::hours(20 * (PROJECTS.len() - i) as i64));
        let row = projects::insert(&mut tx, user.id, name, *description, at).await?;
        record(&mut tx, Entry::new("project.create", demo).resource("project", row.id)).await?;
    }
    for (i, (subject, message, ticket_status)) in TICKETS.iter().enumerate() {
        let at = ago(now, Duration::hours(30 * (TICKETS.len() - i) as i64));
        let new = tickets::NewTicket {
            user_id: demo,
            email: DEMO_EMAIL,
            subject,
            message,
        };
        let row = tickets::insert(&mut tx, &new, at).await?;
        if *ticket_status != "open" {
            tickets::update(
                &mut tx,
                row.id,
                subject,
                message,
                ticket_status,
                at + Duration::hours(2),
            )
            .await?;
        }
        record(&mut tx, Entry::new("ticket.create", demo).resource("ticket", row.id)).await?;
    }
    for (i, (title, content)) in POSTS.iter().enumerate() {
        let at = ago(now, Duration::hours(26 * (POSTS.len() - i) as i64));
        let row = posts::insert(&mut tx, user.id, DEMO_NAME, title, content, at).await?;
        record(&mut tx, Entry::new("post.create", demo).resource("post", row.id)).await?;
    }
    seed_status(&mut tx, now).await?;
    tx.commit().await?;
    Ok(Seeded::Created)
}

/// A week of status history: a check every 12 hours per service, one resolved email incident and one
/// database maintenance window, everything operational now.
async fn seed_status(tx: &mut Tx, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    for (s, service) in SERVICES.iter().enumerate() {
        for half_day in (0..14).rev() {
            // Services report a few minutes apart, so the events list interleaves them.
            let at = ago(
                now,
                Duration::hours(12 * half_day) + Duration::minutes(7 * s as i64 + 1),
            );
            let (state, description) = match (*service, half_day) {
                ("email", 6) => ("degraded", "Delivery delayed: the relay is throttling us."),
                ("email", 5) => ("operational", "Delivery back to normal; the delayed emails were sent."),
                ("database", 10) => ("maintenance", "Planned upgrade of the database server."),
                ("database", 9) => ("operational", "Maintenance finished."),
                _ => ("operational", "All checks passing."),
            };
            status::insert_event(tx, service, state, Some(description), at).await?;
        }
    }
    Ok(())
}

/// `now - d`, truncated to microseconds like every timestamp the stores write.
fn ago(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    crate::db::truncate_micros(now - d)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
