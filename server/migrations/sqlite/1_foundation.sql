-- Accounts and their refresh-token sessions. Ids are UUIDv7 (BLOB), timestamps RFC 3339 text in UTC.
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,            -- stored trimmed and lowercased
    password_hash TEXT NOT NULL,
    full_name TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    email_verified_at TEXT,
    totp_secret TEXT,                      -- encrypted; set once 2FA is enabled
    totp_pending_secret TEXT,              -- encrypted; set by setup, moved to totp_secret by enable
    totp_last_step BIGINT,                 -- last accepted TOTP time step (a code works once)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash TEXT NOT NULL UNIQUE,     -- SHA-256 of the live refresh token
    device_name TEXT NOT NULL,
    user_agent TEXT,
    ip_address TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoke_reason TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at DESC, id DESC);

-- Refresh tokens rotated out of a session; presenting one again is reuse.
CREATE TABLE refresh_token_history (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    rotated_at TEXT NOT NULL
);
CREATE INDEX refresh_history_session_idx ON refresh_token_history (session_id);
