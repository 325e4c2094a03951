//! `AppState`: everything a handler needs, cheap to clone (one `Arc`).

use std::{
    ops::Deref,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use crate::{cache::Redis, config::Settings, db::Db};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: Db,
    pub redis: Option<Redis>,
    pub started: Instant,
    shutting_down: AtomicBool,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, db: Db, redis: Option<Redis>) -> Self {
        AppState(Arc::new(Inner {
            settings,
            db,
            redis,
            started: Instant::now(),
            shutting_down: AtomicBool::new(false),
        }))
    }

    /// Marks the start of shutdown: `/ready` answers 503 from now on.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
