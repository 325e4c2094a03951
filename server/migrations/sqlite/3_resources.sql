-- Projects: private to their owner.
CREATE TABLE projects (
    id BLOB PRIMARY KEY NOT NULL,
    owner_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX projects_owner_created_idx ON projects (owner_id, created_at, id);
CREATE INDEX projects_owner_updated_idx ON projects (owner_id, updated_at, id);
CREATE INDEX projects_owner_name_idx ON projects (owner_id, name, id);

-- Support tickets outlive their author (user_id becomes NULL when the account is deleted).
CREATE TABLE support_tickets (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    email TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tickets_created_idx ON support_tickets (created_at, id);
CREATE INDEX tickets_updated_idx ON support_tickets (updated_at, id);
CREATE INDEX tickets_user_created_idx ON support_tickets (user_id, created_at, id);
CREATE INDEX tickets_user_updated_idx ON support_tickets (user_id, updated_at, id);
CREATE INDEX tickets_status_created_idx ON support_tickets (status, created_at, id);

-- Community posts: public reading.
CREATE TABLE community_posts (
    id BLOB PRIMARY KEY NOT NULL,
    author_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    author_name TEXT NOT NULL,             -- the author's full_name when the post was written
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX posts_created_idx ON community_posts (created_at, id);
CREATE INDEX posts_updated_idx ON community_posts (updated_at, id);
CREATE INDEX posts_title_idx ON community_posts (title, id);
CREATE INDEX posts_author_created_idx ON community_posts (author_id, created_at, id);

-- Status page: every event, plus each service's latest state so reading the page is O(services).
CREATE TABLE status_events (
    id BLOB PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX status_events_created_idx ON status_events (created_at, id);
CREATE INDEX status_events_service_idx ON status_events (service_id, created_at, id);
CREATE INDEX status_events_status_idx ON status_events (status, created_at, id);

CREATE TABLE status_services (
    service_id TEXT PRIMARY KEY NOT NULL,
    event_id BLOB NOT NULL,
    status TEXT NOT NULL,
    description TEXT,
    updated_at TEXT NOT NULL
);

-- Idempotency-Key records: the first result of a keyed write, per principal.
CREATE TABLE idempotency_records (
    principal TEXT NOT NULL,               -- user:<id> or ip:<address>
    idem_key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,                        -- NULL while the first request runs
    response_body TEXT,
    response_headers TEXT,
    created_at TEXT NOT NULL,
    locked_until TEXT NOT NULL,            -- an in-flight claim older than this was abandoned
    expires_at TEXT NOT NULL,
    PRIMARY KEY (principal, idem_key)
);
CREATE INDEX idempotency_expires_idx ON idempotency_records (expires_at);
