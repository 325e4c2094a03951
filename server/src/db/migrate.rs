//! Forward-only SQL migrations, embedded in the binary, one list per backend.
//!
//! Each migration runs in its own transaction together with the row that records it, so a failing
//! migration leaves the database exactly as it was and start-up stops with the reason. An applied
//! migration whose text changed is refused (checksum), because the database would no longer match the code.
//!
//! A migration whose first line is `-- neoforge:no-transaction` runs outside a transaction, one statement
//! at a time (statements end with `;` at the end of a line), because PostgreSQL's
//! `CREATE INDEX CONCURRENTLY` — which builds an index without blocking writes to a live table — refuses
//! to run inside one. Such a migration must be safe to run again after a failure half-way (its record is
//! written only when every statement succeeded): `DROP INDEX CONCURRENTLY IF EXISTS x;` before
//! `CREATE INDEX CONCURRENTLY x …;` removes the invalid index a failed build leaves behind.

use sha2::{Digest, Sha256};

use super::{Backend, Db, now};

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

/// The first line that marks a migration to run outside a transaction.
pub const NO_TRANSACTION: &str = "-- neoforge:no-transaction";

/// The advisory lock that serialises the migrations of instances starting together (PostgreSQL).
const LOCK_KEY: i32 = 7262521;

impl Migration {
    /// Whether the file asks to run outside a transaction.
    pub fn transactional(&self) -> bool {
        self.sql.lines().next().map(str::trim) != Some(NO_TRANSACTION)
    }

    /// The statements of a migration outside a transaction: each ends with `;` at the end of a line.
    pub fn statements(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = String::new();
        for line in self.sql.lines() {
            let code = line.trim();
            if code.is_empty() || code.starts_with("--") {
                continue;
            }
            current.push_str(line);
            current.push('\n');
            if code.ends_with(';') {
                out.push(std::mem::take(&mut current));
            }
        }
        if !current.trim().is_empty() {
            out.push(current);
        }
        out
    }
}

/// SQLite migrations (`server/migrations/sqlite/<version>_<name>.sql`).
pub const SQLITE: &[Migration] = migrations!("sqlite":
    1 "foundation",
    2 "accounts",
    3 "resources",
    4 "jobs",
    5 "login_failures",
    6 "cleanup_indexes",
    7 "quota_usage",
    // new-resource: sqlite migrations
);

/// PostgreSQL migrations (`server/migrations/postgres/<version>_<name>.sql`).
pub const POSTGRES: &[Migration] = migrations!("postgres":
    1 "foundation",
    2 "accounts",
    3 "resources",
    4 "jobs",
    5 "login_failures",
    6 "cleanup_indexes",
    7 "quota_usage",
    8 "auth_change_feed",
    // new-resource: postgres migrations
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
    let lock = MigrationLock::acquire(db).await?;
    let result = run_locked(db, list).await;
    lock.release().await;
    result
}

/// Instances starting together on PostgreSQL take turns: one session lock, held on a connection of its
/// own for the whole run. It is taken by polling `pg_try_advisory_lock`, never by waiting inside a
/// statement, because `CREATE INDEX CONCURRENTLY` waits for every older snapshot in the database — a
/// waiter blocked in `pg_advisory_lock` holds one, and the two would deadlock.
struct MigrationLock(Option<sqlx::PgConnection>);

impl MigrationLock {
    async fn acquire(db: &Db) -> Result<MigrationLock, sqlx::Error> {
        use sqlx::Connection;
        let Db::Postgres(pool) = db else {
            return Ok(MigrationLock(None)); // SQLite: the single writer serialises everything
        };
        let mut conn = sqlx::PgConnection::connect_with(&pool.connect_options()).await?;
        let mut waiting_logged = false;
        // Scoped to the schema: instances of other schemas in the same database do not wait for these.
        while !sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1, hashtext(current_schema()))")
            .bind(LOCK_KEY)
            .fetch_one(&mut conn)
            .await?
        {
            if !waiting_logged {
                tracing::info!("waiting for another instance to finish its migrations");
                waiting_logged = true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(MigrationLock(Some(conn)))
    }

    /// Closing the connection ends the session, and with it the lock.
    async fn release(self) {
        use sqlx::Connection;
        if let Some(conn) = self.0 {
            let _ = conn.close().await;
        }
    }
}

async fn run_locked(db: &Db, list: &[Migration]) -> Result<usize, MigrateError> {
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
        if !m.transactional() {
            applied += usize::from(run_outside_transaction(db, m).await?);
            continue;
        }
        let mut tx = db.begin().await?;
        let existing: Option<String> = crate::with_tx!(&mut tx, |c| {
            sqlx::query_scalar(RECORDED).bind(m.version).fetch_optional(c).await
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
            sqlx::query(RECORD)
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

const RECORD: &str =
    "INSERT INTO schema_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)";
const RECORDED: &str = "SELECT checksum FROM schema_migrations WHERE version = $1";

/// Checks the record of `$m`, runs its statements one by one on `$conn` and records it: the body of a
/// migration outside a transaction, written once for both drivers' connection types.
macro_rules! apply_outside_transaction {
    ($conn:expr, $m:expr) => {
        async {
            let existing: Option<String> = sqlx::query_scalar(RECORDED)
                .bind($m.version)
                .fetch_optional(&mut *$conn)
                .await?;
            match existing {
                Some(sum) if sum == checksum($m.sql) => return Ok(false),
                Some(_) => return Err(MigrateError::Modified($m.version)),
                None => {}
            }
            for statement in $m.statements() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut *$conn)
                    .await
                    .map_err(|source| MigrateError::Failed {
                        version: $m.version,
                        description: $m.description.to_string(),
                        source,
                    })?;
            }
            sqlx::query(RECORD)
                .bind($m.version)
                .bind($m.description)
                .bind(checksum($m.sql))
                .bind(now())
                .execute(&mut *$conn)
                .await?;
            Ok::<bool, MigrateError>(true)
        }
    };
}

/// Runs `m` statement by statement on one connection with no transaction around it (the migration lock
/// is held by `run`); returns whether it ran.
async fn run_outside_transaction(db: &Db, m: &Migration) -> Result<bool, MigrateError> {
    let ran = match db {
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            apply_outside_transaction!(conn, m).await?
        }
        Db::Sqlite { write, .. } => {
            let mut conn = write.acquire().await?;
            apply_outside_transaction!(conn, m).await?
        }
    };
    if ran {
        tracing::info!(
            version = m.version,
            description = m.description,
            "migration applied outside a transaction"
        );
    }
    Ok(ran)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_a_semicolon_at_the_end_of_a_line_and_comments_are_dropped() {
        let m = Migration {
            version: 1,
            description: "t",
            sql: "-- neoforge:no-transaction\n-- why\nCREATE INDEX CONCURRENTLY a\n  ON t (x);\n\nDROP INDEX b; \nSELECT 1",
        };
        assert!(!m.transactional());
        assert_eq!(
            m.statements(),
            [
                "CREATE INDEX CONCURRENTLY a\n  ON t (x);\n",
                "DROP INDEX b; \n",
                "SELECT 1\n"
            ]
        );
        let plain = Migration {
            sql: "CREATE TABLE t (x INT);\n-- neoforge:no-transaction",
            ..m
        };
        assert!(plain.transactional(), "only the first line marks it");
    }
}
