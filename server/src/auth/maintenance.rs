//! The account room's periodic clean-up, registered in [`crate::periodic_tasks`].

use futures_util::future::BoxFuture;

use crate::{
    db::Tx,
    periodic::{PeriodicTask, Ts},
    state::AppState,
};

/// Sessions revoked or expired longer ago than this are deleted.
pub const SESSION_RETENTION: chrono::Duration = chrono::Duration::days(30);
/// Spent password-reset tokens are kept this long: the one-email-per-5-minutes throttle reads them.
pub const USED_TOKEN_RETENTION: chrono::Duration = chrono::Duration::minutes(5);

/// Prunes sessions revoked or expired for more than [`SESSION_RETENTION`] (`CLEANUP_INTERVAL_SESSIONS`).
pub const PRUNE_SESSIONS: PeriodicTask = PeriodicTask {
    name: "sessions",
    interval_of: |s| s.maintenance.cleanup_intervals.sessions,
    batch: prune_sessions,
};

/// Prunes spent and expired email tokens and stale login-failure windows (`CLEANUP_INTERVAL_TOKENS`).
pub const PRUNE_TOKENS: PeriodicTask = PeriodicTask {
    name: "tokens",
    interval_of: |s| s.maintenance.cleanup_intervals.tokens,
    batch: prune_tokens,
};

fn prune_sessions<'a>(_: &'a AppState, tx: &'a mut Tx, now: Ts, limit: i64) -> BoxFuture<'a, Result<u64, sqlx::Error>> {
    Box::pin(super::store::prune_sessions(tx, now - SESSION_RETENTION, limit))
}

fn prune_tokens<'a>(_: &'a AppState, tx: &'a mut Tx, now: Ts, limit: i64) -> BoxFuture<'a, Result<u64, sqlx::Error>> {
    Box::pin(super::store::prune_tokens(tx, now, now - USED_TOKEN_RETENTION, limit))
}
