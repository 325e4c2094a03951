//! Query plans: a cursor page at depth 50,000 of 100,000 rows is an index range scan, like the first page
//! (no sort of the whole list, no scan of skipped rows), and claiming jobs reads only unfinished ones, on
//! both databases.

use neoforge::{
    bind_args,
    db::{
        Db,
        query::{Arg, Filter},
    },
    http::list::{CREATED_AT, SortField, SortValue},
    with_db,
};

use crate::support::TestApp;

static SORTS: &[SortField] = &[CREATED_AT];

async fn seed(db: &Db, owner: uuid::Uuid) {
    let mut tx = db.begin().await.unwrap();
    match db {
        Db::Postgres(_) => neoforge::with_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO projects (id, owner_id, name, description, created_at, updated_at)
             SELECT gen_random_uuid(), $1, 'p' || i, NULL, now() - make_interval(secs => i), now() - make_interval(secs => i)
             FROM generate_series(1, 100000) AS i"
        )
        .bind(owner)
        .execute(c)
        .await
        .map(|r| r.rows_affected())),
        Db::Sqlite { .. } => neoforge::with_tx!(&mut tx, |c| sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
             INSERT INTO projects (id, owner_id, name, description, created_at, updated_at)
             SELECT randomblob(16), $1, 'p' || i, NULL,
                    strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || i || ' seconds'),
                    strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || i || ' seconds')
             FROM n"
        )
        .bind(owner)
        .execute(c)
        .await
        .map(|r| r.rows_affected())),
    }
    .unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query("ANALYZE projects")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();
}

async fn plan(db: &Db, sql: &str, args: &[Arg]) -> String {
    let explain = match db {
        Db::Postgres(_) => format!("EXPLAIN {sql}"),
        Db::Sqlite { .. } => format!("EXPLAIN QUERY PLAN {sql}"),
    };
    let q = sqlx::AssertSqlSafe(explain);
    let rows: Vec<String> = match db {
        Db::Postgres(pg) => bind_args!(sqlx::query_scalar::<_, String>(q), args)
            .fetch_all(pg)
            .await
            .unwrap(),
        Db::Sqlite { read, .. } => {
            let rows: Vec<(i64, i64, i64, String)> = bind_args!(sqlx::query_as(q), args).fetch_all(read).await.unwrap();
            rows.into_iter().map(|r| r.3).collect()
        }
    };
    rows.join("\n")
}

#[tokio::test]
async fn deep_cursor_pages_use_the_index_like_the_first_page() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let owner: uuid::Uuid = user.id.parse().unwrap();
    seed(&app.state.db, owner).await;

    // The row at depth 50,000 in the default order.
    let (at, id): (chrono::DateTime<chrono::Utc>, uuid::Uuid) = with_db!(&app.state.db, |c| {
        sqlx::query_as(
        "SELECT created_at, id FROM projects WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 50000"
    )
    .bind(owner)
    .fetch_one(c)
    .await
    })
    .unwrap();

    let sort = neoforge::http::list::Sort::parse(None, SORTS, "-created_at").unwrap();
    for cursor in [None, Some((SortValue::Time(at), id))] {
        let mut filter = Filter::new();
        filter.cond("owner_id = {}", vec![Arg::Uuid(owner)]);
        let (sql, filter) =
            neoforge::http::list::page_sql(neoforge::projects::COLUMNS, filter, &sort, cursor.as_ref(), 21, 0);
        let plan = plan(&app.state.db, &sql, &filter.args).await;
        assert!(plan.contains("projects_owner_created_idx"), "index used: {plan}");
        assert!(
            !plan.contains("TEMP B-TREE"),
            "no sort of the whole list (SQLite): {plan}"
        );
        assert!(
            !plan
                .lines()
                .any(|l| l.trim_start().starts_with("Sort") || l.contains("-> Sort")),
            "no sort node (PostgreSQL): {plan}"
        );
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("SCAN projects\n") && !plan.ends_with("SCAN projects"),
            "no full scan: {plan}"
        );
        if cursor.is_some() {
            // The index range starts at the cursor (the rows before it are never read), not at the top of
            // the list with the cursor as a filter over every row skipped.
            let bounded = plan.contains("created_at<")
                || plan
                    .lines()
                    .any(|l| l.contains("Index Cond") && l.contains("created_at"));
            assert!(bounded, "the scan starts at the cursor: {plan}");
        }
    }

    // Through the API: the deep page starts right after the row at depth 50,000. The cursor is bound to
    // the list's scope: the caller, the sort and the filter the list reads with.
    let mut filter = Filter::new();
    filter.cond("owner_id = {}", vec![Arg::Uuid(owner)]);
    let cursor = neoforge::http::list::encode_cursor(
        &app.state.cursor_key,
        &neoforge::resource::scope("projects", Some(owner), &sort, &filter),
        &SortValue::Time(at),
        id,
    );
    let res = app
        .authed(
            reqwest::Method::GET,
            &format!("/api/v1/projects?cursor={cursor}&page_size=20"),
            &user,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: serde_json::Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn claiming_reads_only_unfinished_jobs() {
    let app = TestApp::spawn_with(&[("JOB_WORKERS", "false")]).await;
    let db = &app.state.db;
    // 20,000 finished jobs and a few queued ones: claiming must not wade through the finished.
    let mut tx = db.begin().await.unwrap();
    let seed = match db {
        Db::Postgres(_) => {
            "INSERT INTO jobs (id, queue, kind, payload, status, attempts, max_attempts, available_at, created_at,
                               updated_at, finished_at)
             SELECT gen_random_uuid(), 'email', 'email.send', '\\x00'::bytea, CASE WHEN i <= 20000 THEN 'done' ELSE 'queued' END,
                    1, 8, now() - make_interval(secs => i), now(), now(), CASE WHEN i <= 20000 THEN now() END
             FROM generate_series(1, 20005) AS i"
        }
        Db::Sqlite { .. } => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20005)
             INSERT INTO jobs (id, queue, kind, payload, status, attempts, max_attempts, available_at, created_at,
                               updated_at, finished_at)
             SELECT randomblob(16), 'email', 'email.send', x'00', CASE WHEN i <= 20000 THEN 'done' ELSE 'queued' END,
                    1, 8, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || i || ' seconds'),
                    strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'),
                    CASE WHEN i <= 20000 THEN strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') END
             FROM n"
        }
    };
    neoforge::with_tx!(&mut tx, |c| sqlx::query(seed)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    neoforge::with_tx!(&mut tx, |c| sqlx::query("ANALYZE jobs")
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    tx.commit().await.unwrap();

    let now = neoforge::db::now();
    let pick = plan(
        db,
        neoforge::jobs::store::PICK_SQL,
        &[Arg::Text("email".into()), Arg::Time(now), Arg::I64(4)],
    )
    .await;
    let depth = plan(
        db,
        "SELECT queue, COUNT(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY queue ORDER BY queue",
        &[],
    )
    .await;
    for plan in [&pick, &depth] {
        assert!(plan.contains("jobs_claim_idx"), "the partial index serves it: {plan}");
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("SCAN jobs\n") && !plan.ends_with("SCAN jobs"),
            "{plan}"
        );
    }
    assert_eq!(
        neoforge::jobs::store::depth(db).await.unwrap(),
        vec![("email".to_string(), 5)]
    );
    let claimed = neoforge::jobs::store::claim(db, "email", "planner", 10, now, now)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5, "exactly the queued ones");
}
