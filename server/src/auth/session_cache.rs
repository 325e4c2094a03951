//! An in-process cache of live sessions, so an authenticated request costs no database round trip when
//! its session was checked a moment ago.
//!
//! Revocation must still apply to the very next request, on every instance. So:
//! - every write to `users` or `sessions` made through `auth::store` drops the user's entries once its
//!   transaction commits (`Tx::after_commit`), before the writing request answers;
//! - on PostgreSQL, triggers (migration 8) `NOTIFY neoforge_auth` with the user id on every update or
//!   delete of either table, whoever makes it (another instance, a CLI, an operator in psql); each
//!   instance LISTENs and drops that user's entries. While no listener is connected a PostgreSQL app
//!   does not use the cache (every request reads the database), and it starts empty after each reconnect;
//! - an entry lives at most [`MAX_AGE`]; on SQLite, where other processes cannot notify, the CLI commands
//!   that change accounts wait that long before they report success (see `main.rs`);
//! - a lookup that raced with an invalidation (the generation moved while it read the database) does not
//!   store what it read, so a revocation committed during the read cannot be undone by the cache.

use std::{
    collections::HashMap,
    sync::{
        LazyLock, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::UserRow;

/// How long an entry is trusted without a database read, whatever happens.
pub const MAX_AGE: Duration = Duration::from_secs(2);
/// At most this many sessions are cached; a full cache is emptied (entries are cheap to read again).
pub const CAPACITY: usize = 50_000;
/// The PostgreSQL channel of account changes.
pub const CHANNEL: &str = "neoforge_auth";

struct Entry {
    user: UserRow,
    session_expires_at: DateTime<Utc>,
    stored: Instant,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<Uuid, Entry>,
    by_user: HashMap<Uuid, Vec<Uuid>>,
}

/// The cache. One per process ([`global`]): session ids are random, so apps sharing a process (tests)
/// never see each other's entries; an invalidation meant for another app only costs a re-read.
#[derive(Default)]
pub struct SessionCache {
    inner: Mutex<Inner>,
    generation: AtomicU64,
    /// PostgreSQL change feeds listening now (one per app; tests run several in one process).
    feeds: AtomicUsize,
}

static GLOBAL: LazyLock<SessionCache> = LazyLock::new(SessionCache::default);

pub fn global() -> &'static SessionCache {
    &GLOBAL
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached user of `session` if its entry is fresh, belongs to `user_id` and the session has not
    /// expired at `now`.
    pub fn get(&self, session: Uuid, user_id: Uuid, now: DateTime<Utc>) -> Option<UserRow> {
        let inner = self.lock();
        let e = inner.sessions.get(&session)?;
        (e.user.id == user_id && e.session_expires_at > now && e.stored.elapsed() < MAX_AGE).then(|| e.user.clone())
    }

    /// The generation to pass to [`put`](Self::put): read it before reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores what a database read found, unless an invalidation happened since `generation`.
    pub fn put(&self, generation: u64, session: Uuid, user: UserRow, session_expires_at: DateTime<Utc>) {
        let mut inner = self.lock();
        // Checked under the lock that invalidations also take: none can slip between check and insert.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if inner.sessions.len() >= CAPACITY {
            inner.sessions.clear();
            inner.by_user.clear();
        }
        let user_id = user.id;
        let entry = Entry {
            user,
            session_expires_at,
            stored: Instant::now(),
        };
        if inner.sessions.insert(session, entry).is_none() {
            inner.by_user.entry(user_id).or_default().push(session);
        }
    }

    /// Forgets every session of `user`.
    pub fn invalidate_user(&self, user: Uuid) {
        let mut inner = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(sessions) = inner.by_user.remove(&user) {
            for s in sessions {
                inner.sessions.remove(&s);
            }
        }
    }

    /// Forgets everything.
    pub fn invalidate_all(&self) {
        let mut inner = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        inner.sessions.clear();
        inner.by_user.clear();
    }

    /// A PostgreSQL change feed started (`true`) or lost (`false`) listening; either way the cache
    /// starts empty, since changes made while nobody listened were never announced.
    pub fn feed_listening(&self, on: bool) {
        if on {
            self.feeds.fetch_add(1, Ordering::AcqRel);
        } else {
            self.feeds.fetch_sub(1, Ordering::AcqRel);
        }
        self.invalidate_all();
    }

    /// Whether a PostgreSQL-backed app may use the cache: only while a change feed is listening.
    pub fn feed_is_listening(&self) -> bool {
        self.feeds.load(Ordering::Acquire) > 0
    }

    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Listens to PostgreSQL's account-change feed until the returned guard is dropped: each notification
/// forgets that user's sessions; a lost connection empties the cache and turns it off for this app until
/// the listener is back (retried every second). The listener has a connection of its own (a one-connection
/// pool with `app_pool`'s options), so it takes nothing from the requests' pool.
pub fn spawn_feed(app_pool: &sqlx::PgPool) -> FeedGuard {
    let options = (*app_pool.connect_options()).clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    FeedGuard(tokio::spawn(async move {
        let cache = global();
        loop {
            let listener = async {
                let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
                l.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            }
            .await;
            match listener {
                Ok(mut l) => {
                    let _listening = Listening::start(cache);
                    // `try_recv` answers `None` when the connection dropped (instead of silently
                    // reconnecting and losing what was said meanwhile).
                    loop {
                        match l.try_recv().await {
                            Ok(Some(n)) => match n.payload().parse::<Uuid>() {
                                Ok(user) => cache.invalidate_user(user),
                                Err(_) => cache.invalidate_all(),
                            },
                            Ok(None) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "session cache: the change feed failed");
                                break;
                            }
                        }
                    }
                    tracing::warn!("session cache: lost the change feed; reading every session until it is back");
                }
                Err(e) => tracing::warn!(error = %e, "session cache: cannot listen to the change feed"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

/// Stops the feed when dropped.
pub struct FeedGuard(tokio::task::JoinHandle<()>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Counts one listening feed while alive (also when the task is aborted mid-wait).
struct Listening(&'static SessionCache);

impl Listening {
    fn start(cache: &'static SessionCache) -> Self {
        cache.feed_listening(true);
        Listening(cache)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.feed_listening(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: Uuid) -> UserRow {
        let t = Utc::now();
        UserRow {
            id,
            email: "a@example.com".into(),
            password_hash: String::new(),
            full_name: "A".into(),
            is_active: true,
            is_admin: false,
            email_verified_at: None,
            totp_secret: None,
            totp_pending_secret: None,
            totp_last_step: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn hits_only_for_the_right_user_and_a_live_session() {
        let c = SessionCache::default();
        let (s, u) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        c.put(c.generation(), s, user(u), now + chrono::Duration::minutes(5));
        assert!(c.get(s, u, now).is_some());
        assert!(c.get(s, Uuid::new_v4(), now).is_none(), "another user's claims");
        assert!(
            c.get(s, u, now + chrono::Duration::minutes(6)).is_none(),
            "session expired"
        );
        assert!(c.get(Uuid::new_v4(), u, now).is_none());
    }

    #[test]
    fn invalidation_drops_entries_and_voids_reads_in_flight() {
        let c = SessionCache::default();
        let (s1, s2, u) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(5);
        c.put(c.generation(), s1, user(u), later);
        c.put(c.generation(), s2, user(u), later);
        c.invalidate_user(u);
        assert!(c.get(s1, u, now).is_none() && c.get(s2, u, now).is_none());
        // A read that started before an invalidation must not store its (possibly stale) result.
        let g = c.generation();
        c.invalidate_user(Uuid::new_v4());
        c.put(g, s1, user(u), later);
        assert!(c.get(s1, u, now).is_none());
        assert!(c.is_empty());
    }

    #[test]
    fn a_feed_starting_or_stopping_empties_the_cache() {
        let c = SessionCache::default();
        let (s, u) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        assert!(!c.feed_is_listening());
        c.put(c.generation(), s, user(u), now + chrono::Duration::minutes(5));
        c.feed_listening(true);
        assert!(c.feed_is_listening() && c.get(s, u, now).is_none());
        c.put(c.generation(), s, user(u), now + chrono::Duration::minutes(5));
        c.feed_listening(false);
        assert!(!c.feed_is_listening() && c.get(s, u, now).is_none());
    }
}
