-- Accounts and their refresh-token sessions. Ids are UUIDv7, timestamps timestamptz (µs).
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,            -- stored trimmed and lowercased
    password_hash TEXT NOT NULL,
    full_name TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    email_verified_at TIMESTAMPTZ,
    totp_secret TEXT,                      -- encrypted; set once 2FA is enabled
    totp_pending_secret TEXT,              -- encrypted; set by setup, moved to totp_secret by enable
    totp_last_step BIGINT,                 -- last accepted TOTP time step (a code works once)
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash TEXT NOT NULL UNIQUE,     -- SHA-256 of the live refresh token
    device_name TEXT NOT NULL,
    user_agent TEXT,
    ip_address TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    revoke_reason TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at DESC, id DESC);

-- Refresh tokens rotated out of a session; presenting one again is reuse.
CREATE TABLE refresh_token_history (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    rotated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refresh_history_session_idx ON refresh_token_history (session_id);
