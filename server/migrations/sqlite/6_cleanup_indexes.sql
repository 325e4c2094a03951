-- Indexes for the periodic clean-ups of sessions and email tokens (jobs/periodic.rs). SQLite has one
-- writer, so a plain transactional build is the safe way here.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX user_tokens_expires_idx ON user_tokens (expires_at);
-- The jobs back office lists jobs newest first (GET /admin/jobs, neoforge jobs list).
CREATE INDEX jobs_created_idx ON jobs (created_at, id);
