//! `AppState`: everything a handler needs, cheap to clone (one `Arc`).

use std::{
    ops::Deref,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use secrecy::ExposeSecret;

use crate::{
    auth::{password::Hasher, tokens::TokenKeys, totp::SecretBox},
    cache::Redis,
    config::Settings,
    db::Db,
    email::Mailer,
    middleware::{rate_limit::RateLimiter, threat_guard::ThreatGuard},
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: Db,
    pub redis: Option<Redis>,
    pub tokens: TokenKeys,
    /// Signs list cursors.
    pub cursor_key: [u8; 32],
    pub secret_box: SecretBox,
    /// Seals job payloads (emails carry verification and reset links).
    pub job_box: SecretBox,
    pub hasher: Hasher,
    pub mailer: Mailer,
    pub limiter: RateLimiter,
    pub threats: ThreatGuard,
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
    pub fn new(settings: Settings, db: Db, redis: Option<Redis>, mailer: Mailer) -> Self {
        let secret = settings.security.secret_key.expose_secret().as_bytes().to_vec();
        AppState(Arc::new(Inner {
            tokens: TokenKeys::new(&secret, settings.auth.access_token_ttl),
            cursor_key: crate::crypto::derive_key(&secret, "list-cursor"),
            secret_box: SecretBox::new(&secret),
            job_box: SecretBox::for_purpose(&secret, "job-payload-encryption"),
            hasher: Hasher::new(),
            mailer,
            limiter: RateLimiter::new(&settings, redis.clone()),
            threats: ThreatGuard::default(),
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
