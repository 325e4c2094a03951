-- Failed sign-ins per account (spec §1.3): after 10 failures for one email within 15 minutes, further
-- attempts are refused until the window passes. Keyed by the SHA-256 of the normalised email, so unknown
-- addresses are counted too (no enumeration) and no address is stored in clear. In the database, so every
-- instance sees the same count.
CREATE TABLE login_failures (
    email_hash TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at TEXT NOT NULL
);
CREATE INDEX login_failures_window_idx ON login_failures (window_started_at);
