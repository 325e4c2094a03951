//! Migrations outside a transaction (`-- neoforge:no-transaction`): PostgreSQL's `CREATE INDEX
//! CONCURRENTLY` builds the clean-up indexes without blocking writes; a failure half-way is repaired by
//! the next start.

use neoforge::db::{
    Db, PoolConfig,
    migrate::{self, Migration},
};

use crate::support::{TestApp, TestDb};

const CLEANUP_INDEXES: [&str; 4] = [
    "sessions_expires_idx",
    "sessions_revoked_idx",
    "user_tokens_expires_idx",
    "jobs_created_idx",
];

/// `(name, valid)` of the indexes named `names` in the database's schema.
async fn indexes(db: &Db, names: &[&str]) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for name in names {
        let row: Option<bool> = match db {
            Db::Postgres(pool) => sqlx::query_scalar(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
            )
            .bind(name)
            .fetch_optional(pool)
            .await
            .unwrap(),
            Db::Sqlite { read, .. } => {
                sqlx::query_scalar("SELECT 1 = 1 FROM sqlite_master WHERE type = 'index' AND name = $1")
                    .bind(name)
                    .fetch_optional(read)
                    .await
                    .unwrap()
            }
        };
        if let Some(valid) = row {
            found.push((name.to_string(), valid));
        }
    }
    found
}

async fn connect(db: &TestDb) -> Db {
    Db::connect(&db.url, &PoolConfig::default()).await.unwrap()
}

#[tokio::test]
async fn the_clean_up_indexes_are_built_and_valid() {
    let app = TestApp::spawn().await;
    let found = indexes(&app.state.db, &CLEANUP_INDEXES).await;
    assert_eq!(
        found,
        CLEANUP_INDEXES.map(|n| (n.to_string(), true)).to_vec(),
        "every clean-up index exists and is valid"
    );
    let postgres = migrate::POSTGRES
        .iter()
        .find(|m| m.description == "cleanup_indexes")
        .unwrap();
    assert!(
        !postgres.transactional(),
        "PostgreSQL builds them CONCURRENTLY, outside a transaction"
    );
    assert!(postgres.sql.contains("CREATE INDEX CONCURRENTLY"));
}

#[tokio::test]
async fn a_migration_outside_a_transaction_runs_once_and_a_concurrent_index_needs_it() {
    let test_db = TestDb::new().await;
    let db = connect(&test_db).await;
    migrate::run(&db, migrate::embedded(&db)).await.unwrap();
    let concurrently = if test_db.is_postgres() { "CONCURRENTLY " } else { "" };
    let sql: &'static str = format!(
        "-- neoforge:no-transaction\nCREATE TABLE no_tx_widgets (id BIGINT PRIMARY KEY, size BIGINT);\nCREATE INDEX {concurrently}no_tx_widgets_size_idx ON no_tx_widgets (size);"
    )
    .leak();
    let outside = Migration {
        version: 900,
        description: "no_tx_widgets",
        sql,
    };
    let list = [outside];
    assert_eq!(migrate::run(&db, &list).await.unwrap(), 1);
    assert_eq!(migrate::run(&db, &list).await.unwrap(), 0, "recorded: never runs twice");
    assert_eq!(
        indexes(&db, &["no_tx_widgets_size_idx"]).await,
        [("no_tx_widgets_size_idx".to_string(), true)]
    );

    if test_db.is_postgres() {
        // The same statement inside a transaction is refused by PostgreSQL: the marker is what makes it work.
        let inside = Migration {
            version: 901,
            description: "inside",
            sql: "CREATE INDEX CONCURRENTLY no_tx_widgets_id_size_idx ON no_tx_widgets (id, size);",
        };
        let err = migrate::run(&db, &[inside]).await.unwrap_err().to_string();
        assert!(err.contains("transaction block"), "{err}");
    }
    db.close().await;
}

#[tokio::test]
async fn a_migration_outside_a_transaction_that_fails_half_way_runs_again_on_the_next_start() {
    let test_db = TestDb::new().await;
    let db = connect(&test_db).await;
    migrate::run(&db, migrate::embedded(&db)).await.unwrap();
    let broken = Migration {
        version: 910,
        description: "no_tx_gadgets",
        sql: "-- neoforge:no-transaction\nCREATE TABLE IF NOT EXISTS no_tx_gadgets (id BIGINT PRIMARY KEY);\nCREATE INDEX no_tx_gadgets_missing_idx ON no_tx_gadgets (no_such_column);",
    };
    let err = migrate::run(&db, &[broken]).await.unwrap_err();
    assert!(
        matches!(err, migrate::MigrateError::Failed { version: 910, .. }),
        "{err}"
    );
    let recorded: Option<i64> = match &db {
        Db::Postgres(p) => sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = 910")
            .fetch_optional(p)
            .await
            .unwrap(),
        Db::Sqlite { read, .. } => sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = 910")
            .fetch_optional(read)
            .await
            .unwrap(),
    };
    assert_eq!(recorded, None, "a failed migration is not recorded");

    // The fixed file (written to be re-run) applies on the next start.
    let fixed = Migration {
        sql: "-- neoforge:no-transaction\nCREATE TABLE IF NOT EXISTS no_tx_gadgets (id BIGINT PRIMARY KEY);\nCREATE INDEX IF NOT EXISTS no_tx_gadgets_id_idx ON no_tx_gadgets (id);",
        ..broken
    };
    assert_eq!(migrate::run(&db, &[fixed]).await.unwrap(), 1);
    assert_eq!(indexes(&db, &["no_tx_gadgets_id_idx"]).await.len(), 1);
    db.close().await;
}

#[tokio::test]
async fn instances_migrating_at_once_take_turns_without_deadlock() {
    // Before the session lock, a second instance waiting inside a transaction deadlocked with the first
    // one's CREATE INDEX CONCURRENTLY (which waits for every older snapshot).
    let test_db = TestDb::new().await;
    let (a, b, c) = (
        connect(&test_db).await,
        connect(&test_db).await,
        connect(&test_db).await,
    );
    let (ra, rb, rc) = tokio::join!(
        migrate::run(&a, migrate::embedded(&a)),
        migrate::run(&b, migrate::embedded(&b)),
        migrate::run(&c, migrate::embedded(&c))
    );
    let mut applied = [ra.unwrap(), rb.unwrap(), rc.unwrap()];
    applied.sort();
    let all = migrate::embedded(&a).len();
    assert_eq!(
        applied.iter().sum::<usize>(),
        all,
        "each migration ran exactly once: {applied:?}"
    );
    if test_db.is_postgres() {
        // The session lock is held for the whole run: one instance migrates, the others find it done.
        // (On SQLite each migration takes the file's write lock in turn, so three handles may share the work.)
        assert_eq!(applied, [0, 0, all]);
    }
    assert_eq!(indexes(&a, &CLEANUP_INDEXES).await.len(), CLEANUP_INDEXES.len());
    for db in [a, b, c] {
        db.close().await;
    }
}
