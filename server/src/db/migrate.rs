//! Forward-only SQL migrations, embedded in the binary, one list per backend.
//!
//! Each migration runs in its own transaction together with the row that records it, so a failing
//! migration leaves the database exactly as it was and start-up stops with the reason. An applied
//! migration whose text changed is refused (checksum), because the database would no longer match the code.

use sha2::{Digest, Sha256};

use super::{Backend, Db, TxConn, now};

/// One migration: its version (the file's numeric prefix), a description and the SQL text.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            description: $name,
            sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", stringify!($version), "_", $name, ".sql")),
        }),*]
    };
}

/// SQLite migrations (`server/migrations/sqlite/<version>_<name>.sql`).
pub const SQLITE: &[Migration] = migrations!("sqlite":
    1 "foundation",
    2 "accounts",
    3 "resources",
    4 "jobs",
    5 "login_failures",
);

/// PostgreSQL migrations (`server/migrations/postgres/<version>_<name>.sql`).
pub const POSTGRES: &[Migration] = migrations!("postgres":
    1 "foundation",
    2 "accounts",
    3 "resources",
    4 "jobs",
    5 "login_failures",
);

/// The migrations of `db`'s backend.
pub fn embedded(db: &Db) -> &'static [Migration] {
    match db.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration {version} ({description}) failed: {source}")]
    Failed {
        version: i64,
        description: String,
        source: sqlx::Error,
    },
    #[error("migration {0} was changed after it was applied (checksum differs); write a new migration instead")]
    Modified(i64),
    #[error("database error while migrating: {0}")]
    Db(#[from] sqlx::Error),
}

fn checksum(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)";

/// Applies the pending migrations of `list`; returns how many ran.
pub async fn run(db: &Db, list: &[Migration]) -> Result<usize, MigrateError> {
    let mut applied = 0;
    {
        let mut tx = db.begin().await?;
        crate::with_tx!(&mut tx, |c| sqlx::query(CREATE_TABLE)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
    }
    for m in list {
        let mut tx = db.begin().await?;
        if let TxConn::Postgres(t) = &mut tx.conn {
            // Instances starting together take turns; the lock ends with the transaction.
            sqlx::query("SELECT pg_advisory_xact_lock(7262521)")
                .execute(&mut **t)
                .await?;
        }
        let existing: Option<String> = crate::with_tx!(&mut tx, |c| {
            sqlx::query_scalar("SELECT checksum FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(c)
                .await
        })?;
        match existing {
            Some(sum) if sum == checksum(m.sql) => {
                tx.rollback().await?;
                continue;
            }
            Some(_) => return Err(MigrateError::Modified(m.version)),
            None => {}
        }
        let result = crate::with_tx!(&mut tx, |c| sqlx::raw_sql(m.sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()));
        if let Err(source) = result {
            tx.rollback().await.ok();
            return Err(MigrateError::Failed {
                version: m.version,
                description: m.description.to_string(),
                source,
            });
        }
        crate::with_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO schema_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.description)
            .bind(checksum(m.sql))
            .bind(now())
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        tracing::info!(version = m.version, description = m.description, "migration applied");
        applied += 1;
    }
    Ok(applied)
}
