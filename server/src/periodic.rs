//! The shape of a periodic maintenance task. Each room declares its own (`auth::maintenance`,
//! `audit::PRUNE_TASK`, `jobs::periodic::PRUNE_JOBS`, …), [`crate::periodic_tasks`] lists them in one
//! place, and `jobs::periodic` schedules whatever list it is given: the scheduler names no room.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use crate::{config::Settings, db::Tx, state::AppState};

/// When a task runs (the clock is passed in, so tests drive it).
pub type Ts = DateTime<Utc>;

/// One batch of a task: deletes at most `limit` rows in `tx` as of `now`, and returns how many went.
pub type Batch = for<'a> fn(&'a AppState, &'a mut Tx, Ts, i64) -> BoxFuture<'a, Result<u64, sqlx::Error>>;

/// A maintenance task: a name (its `periodic_tasks` row, log field and metric label), its interval, and
/// its batch, which the scheduler repeats until one comes back short.
#[derive(Clone, Copy)]
pub struct PeriodicTask {
    pub name: &'static str,
    pub interval_of: fn(&Settings) -> Duration,
    pub batch: Batch,
}

impl PeriodicTask {
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn interval(&self, settings: &Settings) -> Duration {
        (self.interval_of)(settings)
    }
}

/// Tasks are told apart by name.
impl PartialEq for PeriodicTask {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PeriodicTask {}

impl std::fmt::Debug for PeriodicTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}
