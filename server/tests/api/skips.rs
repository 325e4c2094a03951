//! A test whose service is missing reports itself skipped, and `NEOFORGE_NO_SKIP=1` (set by `.ci/run`)
//! turns that into a failure. Checked by running one PostgreSQL-only test of this very binary on SQLite.

use std::process::Command;

const PG_ONLY: &str = "faults::postgres_only_a_connection_the_server_terminates_is_a_503_not_a_500";

fn run_pg_only_test_on_sqlite(no_skip: bool, log: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().expect("this test binary"));
    cmd.args([PG_ONLY, "--exact", "--test-threads=1"])
        .env_remove("TEST_DATABASE_URL")
        .env("NEOFORGE_SKIP_LOG", log);
    if no_skip {
        cmd.env("NEOFORGE_NO_SKIP", "1");
    } else {
        cmd.env_remove("NEOFORGE_NO_SKIP");
    }
    cmd.output().expect("run the test binary")
}

#[test]
fn a_skipped_test_says_so_and_fails_when_skipping_is_forbidden() {
    let dir = tempfile::tempdir().unwrap();

    let log = dir.path().join("skips.log");
    let out = run_pg_only_test_on_sqlite(false, &log);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("SKIPPED {PG_ONLY}: needs TEST_DATABASE_URL")),
        "{stderr}"
    );
    let logged = std::fs::read_to_string(&log).expect("the skip log");
    assert_eq!(logged.lines().count(), 1, "{logged}");
    assert!(logged.contains(PG_ONLY), "{logged}");

    let log = dir.path().join("no-skips.log");
    let out = run_pg_only_test_on_sqlite(true, &log);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{printed}");
    assert!(printed.contains("NEOFORGE_NO_SKIP=1 forbids skipping"), "{printed}");
    assert!(!log.exists(), "a forbidden skip is a failure, not a logged skip");
}
