-- neoforge:no-transaction
-- Indexes for the periodic clean-ups of sessions and email tokens (jobs/periodic.rs) and for the jobs back
-- office, built without blocking writes to the live tables. Each build is preceded by a drop, so a run
-- that failed half-way (leaving an invalid index) is repaired by the next start.
DROP INDEX CONCURRENTLY IF EXISTS sessions_expires_idx;
CREATE INDEX CONCURRENTLY sessions_expires_idx ON sessions (expires_at);
DROP INDEX CONCURRENTLY IF EXISTS sessions_revoked_idx;
CREATE INDEX CONCURRENTLY sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS user_tokens_expires_idx;
CREATE INDEX CONCURRENTLY user_tokens_expires_idx ON user_tokens (expires_at);
-- The jobs back office lists jobs newest first (GET /admin/jobs, neoforge jobs list).
DROP INDEX CONCURRENTLY IF EXISTS jobs_created_idx;
CREATE INDEX CONCURRENTLY jobs_created_idx ON jobs (created_at, id);
