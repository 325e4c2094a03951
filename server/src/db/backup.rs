//! `neoforge backup <path>`: a consistent copy of the SQLite database, taken while the server serves.
//!
//! `VACUUM INTO` reads one snapshot of the database inside a read transaction (WAL mode lets writers go on)
//! and writes a compact, self-contained file, so the copy holds exactly the transactions committed before
//! it started. PostgreSQL has its own tools (`pg_dump`, base backups): see `docs/operations.md`.

use std::path::Path;

use super::Db;

/// Writes a consistent copy of the database to `target`, which must not exist yet. Returns its size.
pub async fn sqlite_copy(db: &Db, target: &Path) -> anyhow::Result<u64> {
    let Db::Sqlite { read, .. } = db else {
        anyhow::bail!(
            "neoforge backup copies SQLite databases; for PostgreSQL use pg_dump or a base backup (docs/operations.md)"
        );
    };
    if target.exists() {
        anyhow::bail!("{} exists already; choose a new file", target.display());
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let path = target
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    // A bound parameter, not string formatting: the path may contain quotes.
    sqlx::query("VACUUM INTO $1").bind(path).execute(read).await?;
    Ok(std::fs::metadata(target)?.len())
}
