//! The `email.send` job: one message, sealed at rest (it holds verification and reset links), delivered
//! through the `Mailer` once. The send is recorded before the job is acked, so a retry after a crash
//! between the two does not send again; the message id (the job id) lets the transports drop the rare
//! duplicate left by a crash between handing the message over and recording it.

use anyhow::Context;

use super::{EMAIL_QUEUE, Job, NewJob, Permanent};
use crate::{db::Tx, email::Email, state::AppState};

pub const KIND: &str = "email.send";

/// Queues `email` inside `tx`: it is sent exactly when the change that causes it commits.
pub async fn enqueue(state: &AppState, tx: &mut Tx, email: &Email) -> Result<uuid::Uuid, sqlx::Error> {
    let plain = serde_json::to_vec(email).expect("an email serialises");
    let job = NewJob {
        queue: EMAIL_QUEUE.to_string(),
        kind: KIND.to_string(),
        payload: state.job_box.seal(&plain).into_bytes(),
        max_attempts: state.settings.jobs.max_attempts,
        run_at: crate::db::now(),
    };
    super::enqueue(tx, &job).await
}

/// Opens a sealed payload; a payload that does not open (another `SECRET_KEY`) can never be sent.
pub fn open(state: &AppState, payload: &[u8]) -> Result<Email, Permanent> {
    let sealed = std::str::from_utf8(payload).map_err(|_| Permanent("the email payload is not text".into()))?;
    let plain = state
        .job_box
        .open(sealed)
        .ok_or_else(|| Permanent("the email payload does not decrypt (was SECRET_KEY changed?)".into()))?;
    serde_json::from_slice(&plain).map_err(|e| Permanent(format!("the email payload does not decode: {e}")))
}

/// The handler: send, then record the send (the worker acks a job whose send was recorded without running
/// it again).
pub async fn deliver(state: AppState, job: Job) -> anyhow::Result<()> {
    let email = open(&state, &job.payload)?;
    state
        .mailer
        .deliver(&email, job.id)
        .await
        .context("email delivery failed")?;
    super::store::record_effect(&state.db, job.id, crate::db::now())
        .await
        .context("the email was sent but its record failed")?;
    Ok(())
}
