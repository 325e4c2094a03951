-- Durable background jobs (server/src/jobs). A job is claimable when its status is queued or running and
-- `available_at` has passed: for a queued job that is its run time (or its backoff), for a running job the
-- end of its lease (visibility timeout), so a job whose worker died is claimed again.
CREATE TABLE jobs (
    id BLOB PRIMARY KEY NOT NULL,
    queue TEXT NOT NULL,                   -- email, ...
    kind TEXT NOT NULL,                    -- email.send, ...
    payload BLOB NOT NULL,                 -- the kind's own encoding (emails: sealed JSON)
    status TEXT NOT NULL,                  -- queued | running | done | dead
    attempts INTEGER NOT NULL DEFAULT 0,   -- claims so far
    max_attempts INTEGER NOT NULL,
    available_at TEXT NOT NULL,
    lease_id BLOB,                         -- the current claim; acks and failures must present it
    locked_by TEXT,                        -- the worker holding the lease
    effect_at TEXT,                        -- when the job's outside effect (an email sent) happened
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
-- Claiming and queue depth read only unfinished jobs.
CREATE INDEX jobs_claim_idx ON jobs (queue, available_at, id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- Periodic maintenance: one row per task, so that several instances run each task once per interval.
CREATE TABLE periodic_tasks (
    name TEXT PRIMARY KEY NOT NULL,
    last_started_at TEXT,
    last_finished_at TEXT,
    last_duration_ms BIGINT,
    last_affected BIGINT,
    last_instance TEXT,
    last_error TEXT,
    runs BIGINT NOT NULL DEFAULT 0
);
