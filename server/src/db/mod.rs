//! The `Db` type: one handle over SQLite (a reader pool plus a single writer) or PostgreSQL.
//!
//! Store code is written once and expanded for each backend by the [`with_db!`] and [`with_tx!`]
//! macros: the same SQL text (`$1` placeholders, `RETURNING`, `ON CONFLICT`) type-checks against
//! each driver separately, so there is no `sqlx::Any` and no lost types.

pub mod backup;
pub mod migrate;
pub mod query;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database handle. Cheap to clone (pools are reference counted).
#[derive(Clone, Debug)]
pub enum Db {
    /// Reads go to `read` (several connections); every write goes through `write`, which has exactly
    /// one connection, so SQLite never sees two writers racing for the lock.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// A PostgreSQL connection idle for longer than this is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

/// Pool sizing and timeouts.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating the SQLite file and its folder.
    pub async fn connect(url: &str, pool: &PoolConfig) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, pool).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            Self::connect_postgres(options, pool).await
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        }
    }

    /// Connects to PostgreSQL with explicit options (tests use this to pin a schema).
    pub async fn connect_postgres(options: PgConnectOptions, pool: &PoolConfig) -> anyhow::Result<Db> {
        let pg = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            // sqlx pings every connection it hands out by default: a whole round trip before each
            // statement. A connection in use is known to work; only one idle for a while (PostgreSQL may
            // have restarted meanwhile) is checked first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_WHEN_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        Ok(Db::Postgres(pg))
    }

    async fn connect_sqlite(url: &str, pool: &PoolConfig) -> anyhow::Result<Db> {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or_default();
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file::memory") {
            anyhow::bail!("DATABASE_URL must name a SQLite file (the reader and writer pools share it)");
        }
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        // Pragmas are per connection, so they live in the connect options, not in a one-off query.
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory")
            // 4 MiB of page cache per connection (6 connections on 2 cores); the OS page cache holds the rest.
            .pragma("cache_size", "-4000");
        // A SQLite connection cannot go stale, and sqlx's check on every hand-out is a round trip to the
        // connection's worker thread: off.
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(pool.acquire_timeout.max(Duration::from_secs(10)))
            .connect_with(options.clone())
            .await?;
        let readers = std::thread::available_parallelism()
            .map_or(4, |n| n.get() as u32 * 2)
            .max(4);
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(readers)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Db::Sqlite { read, write })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it runs on the single writer with `BEGIN IMMEDIATE`, so the
    /// write lock is taken up front and a transaction never fails half-way on lock upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let conn = match self {
            Db::Sqlite { write, .. } => TxConn::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pg) => TxConn::Postgres(pg.begin().await?),
        };
        Ok(Tx {
            conn,
            after_commit: Vec::new(),
        })
    }

    /// Answers whether the database responds (used by `/health` and `/ready`).
    pub async fn ping(&self) -> bool {
        let fut = async {
            match self {
                Db::Sqlite { read, .. } => sqlx::query("SELECT 1").execute(read).await.is_ok(),
                Db::Postgres(pg) => sqlx::query("SELECT 1").execute(pg).await.is_ok(),
            }
        };
        tokio::time::timeout(Duration::from_secs(2), fut).await.unwrap_or(false)
    }

    /// Connections in use and idle, for the pool gauge.
    pub fn pool_stats(&self) -> (u32, u32) {
        match self {
            Db::Sqlite { read, write } => (
                read.size() + write.size() - read.num_idle() as u32 - write.num_idle() as u32,
                (read.num_idle() + write.num_idle()) as u32,
            ),
            Db::Postgres(pg) => (pg.size() - pg.num_idle() as u32, pg.num_idle() as u32),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pg) => pg.close().await,
        }
    }
}

/// A write transaction on either backend.
pub struct Tx {
    pub conn: TxConn,
    /// Run once the transaction has committed (never after a rollback), before `commit` returns, in the
    /// order they were registered. A hook registered with a key ([`Tx::after_commit_once`]) is there once.
    after_commit: Vec<(Option<&'static str>, CommitHook)>,
}

/// A hook run after a commit (see [`Tx::after_commit`]).
type CommitHook = Box<dyn FnOnce() + Send>;

/// The connection of a [`Tx`], per backend.
pub enum TxConn {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.conn {
            TxConn::Sqlite(tx) => tx.commit().await?,
            TxConn::Postgres(tx) => tx.commit().await?,
        }
        for (_, hook) in self.after_commit {
            hook();
        }
        Ok(())
    }

    /// Registers `hook` to run when this transaction commits (e.g. to forget cached state it changed).
    pub fn after_commit(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.after_commit.push((None, Box::new(hook)));
    }

    /// Registers `hook` under `key` unless a hook with that key is registered already: the hook runs once
    /// per transaction however many changes asked for it (e.g. waking job workers after N enqueues).
    pub fn after_commit_once(&mut self, key: &'static str, hook: impl FnOnce() + Send + 'static) {
        if !self.after_commit.iter().any(|(k, _)| *k == Some(key)) {
            self.after_commit.push((Some(key), Box::new(hook)));
        }
    }

    /// How many after-commit hooks are registered (for tests).
    pub fn after_commit_hooks(&self) -> usize {
        self.after_commit.len()
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.conn {
            TxConn::Sqlite(tx) => tx.rollback().await,
            TxConn::Postgres(tx) => tx.rollback().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.conn {
            TxConn::Sqlite(_) => Backend::Sqlite,
            TxConn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Runs `$body` with `$conn` bound to the read pool of either backend (a `&Pool<DB>` executor).
///
/// ```text
/// let n: i64 = with_db!(db, |conn| sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(conn).await)?;
/// ```
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let started = std::time::Instant::now();
        let result = match $db {
            $crate::db::Db::Sqlite { read, .. } => {
                let $conn = read;
                ::tracing::Instrument::instrument(async { $body }, $crate::db::statement_span("sqlite", "read")).await
            }
            $crate::db::Db::Postgres(pg) => {
                let $conn = pg;
                ::tracing::Instrument::instrument(async { $body }, $crate::db::statement_span("postgresql", "read"))
                    .await
            }
        };
        $crate::db::observe("read", started);
        result
    }};
}

/// Runs `$body` with `$conn` bound to the connection of a [`Tx`] (a `&mut Connection` executor).
/// Both arms must produce the same type: map `execute` results with `.map(|r| r.rows_affected())`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {{
        let started = std::time::Instant::now();
        let result = match &mut ($tx).conn {
            $crate::db::TxConn::Sqlite(tx) => {
                let $conn = &mut **tx;
                ::tracing::Instrument::instrument(async { $body }, $crate::db::statement_span("sqlite", "write")).await
            }
            $crate::db::TxConn::Postgres(tx) => {
                let $conn = &mut **tx;
                ::tracing::Instrument::instrument(async { $body }, $crate::db::statement_span("postgresql", "write"))
                    .await
            }
        };
        $crate::db::observe("write", started);
        result
    }};
}

/// The span of one statement, exported as a client span of the request or job it serves. Its target is
/// enabled only by the OpenTelemetry layer, so without a collector it is a disabled callsite.
pub fn statement_span(system: &'static str, operation: &'static str) -> tracing::Span {
    tracing::trace_span!(
        target: "neoforge::db::span",
        "db statement",
        otel.kind = "client",
        db.system.name = system,
        db.operation.name = operation,
    )
}

/// Records one statement's latency in `db_query_duration_seconds{operation}` (`read` or `write`).
pub fn observe(operation: &'static str, started: std::time::Instant) {
    metrics::histogram!("db_query_duration_seconds", "operation" => operation).record(started.elapsed().as_secs_f64());
}

impl Db {
    /// Sets `db_pool_connections{state}` from the pools.
    pub fn record_pool_gauges(&self) {
        let (in_use, idle) = self.pool_stats();
        metrics::gauge!("db_pool_connections", "state" => "in_use").set(in_use as f64);
        metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
    }
}

/// The current time truncated to microseconds: PostgreSQL keeps µs, so a value written and read back
/// must compare equal on both backends.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    truncate_micros(chrono::Utc::now())
}

pub fn truncate_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}
