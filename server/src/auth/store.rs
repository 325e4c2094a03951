//! All SQL of accounts: users, sessions, rotated refresh tokens, email tokens, recovery codes.
//! Every function takes either the `Db` (reads) or a `Tx` (writes and reads that must see them).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::{Db, Tx},
    with_db, with_tx,
};

type Ts = DateTime<Utc>;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub is_active: bool,
    pub is_admin: bool,
    pub email_verified_at: Option<Ts>,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub created_at: Ts,
    pub updated_at: Ts,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub refresh_hash: String,
    pub device_name: String,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: Ts,
    pub last_used_at: Ts,
    pub expires_at: Ts,
    pub revoked_at: Option<Ts>,
    pub revoke_reason: Option<String>,
}

impl crate::http::list::ListRow for SessionRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, _name: &str) -> crate::http::list::SortValue {
        crate::http::list::SortValue::Time(self.created_at)
    }
}

impl crate::http::list::ListRow for UserRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn sort_value(&self, _name: &str) -> crate::http::list::SortValue {
        crate::http::list::SortValue::Time(self.created_at)
    }
}

/// `SELECT` of every user column, for lists.
pub fn user_select() -> String {
    format!("SELECT {USER_COLS} FROM users")
}

/// `SELECT` of every session column, for lists.
pub fn session_select() -> String {
    format!("SELECT {SESSION_COLS} FROM sessions")
}

impl SessionRow {
    pub fn is_live(&self, now: Ts) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub email: String,
    pub expires_at: Ts,
    pub used_at: Option<Ts>,
}

const USER_COLS: &str = "id, email, password_hash, full_name, is_active, is_admin, email_verified_at, totp_secret, \
    totp_pending_secret, totp_last_step, created_at, updated_at";
const SESSION_COLS: &str = "id, user_id, refresh_hash, device_name, user_agent, ip_address, created_at, last_used_at, \
    expires_at, revoked_at, revoke_reason";

fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(s)
}

/// Every write to a user or to a session calls this: once `tx` commits, the user's cached sessions are
/// forgotten, so the change applies to this instance's very next request (other instances hear of it
/// through PostgreSQL's change feed, see `session_cache`). Exceptions, each safe: a new user or session
/// (nothing cached yet), a refresh rotation (it only extends the session), pruning (it deletes only
/// sessions that are already revoked or expired).
fn changed(tx: &mut Tx, user: Uuid) {
    tx.after_commit(move || super::session_cache::global().invalidate_user(user));
}

// ---- users ----

pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let q = sql(format!("SELECT {USER_COLS} FROM users WHERE email = $1"));
    with_db!(db, |c| sqlx::query_as(q).bind(email).fetch_optional(c).await)
}

pub async fn user_by_id(db: &Db, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    let q = sql(format!("SELECT {USER_COLS} FROM users WHERE id = $1"));
    with_db!(db, |c| sqlx::query_as(q).bind(id).fetch_optional(c).await)
}

pub async fn user_by_id_tx(tx: &mut Tx, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    let q = sql(format!("SELECT {USER_COLS} FROM users WHERE id = $1"));
    with_tx!(tx, |c| sqlx::query_as(q).bind(id).fetch_optional(c).await)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub full_name: &'a str,
    pub is_admin: bool,
    pub verified: bool,
}

pub async fn insert_user(tx: &mut Tx, u: &NewUser<'_>, now: Ts) -> Result<UserRow, sqlx::Error> {
    let q = sql(format!(
        "INSERT INTO users (id, email, password_hash, full_name, is_active, is_admin, email_verified_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $7) RETURNING {USER_COLS}"
    ));
    let verified = u.verified.then_some(now);
    with_tx!(tx, |c| sqlx::query_as(q)
        .bind(Uuid::now_v7())
        .bind(u.email)
        .bind(u.password_hash)
        .bind(u.full_name)
        .bind(u.is_admin)
        .bind(verified)
        .bind(now)
        .fetch_one(c)
        .await)
}

pub async fn any_admin(db: &Db) -> Result<bool, sqlx::Error> {
    let n: i64 = with_db!(db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE is_admin")
        .fetch_one(c)
        .await)?;
    Ok(n > 0)
}

/// The user of a live session, active — the one query behind every authenticated request.
/// A live session's user and when the session expires.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveSession {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub session_expires_at: Ts,
}

/// The statement of [`authenticate`], built once (it runs on every request that misses the cache).
static AUTHENTICATE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let cols = USER_COLS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols}, s.expires_at AS session_expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 AND u.is_active"
    )
});

pub async fn authenticate(
    db: &Db,
    session_id: Uuid,
    user_id: Uuid,
    now: Ts,
) -> Result<Option<LiveSession>, sqlx::Error> {
    let q: &'static str = AUTHENTICATE_SQL.as_str();
    with_db!(db, |c| sqlx::query_as(q)
        .bind(session_id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// Sets a new password hash and voids every outstanding password-reset token of the user: a link mailed
/// before the change must not undo it (spec §1.3).
pub async fn set_password(tx: &mut Tx, user_id: Uuid, hash: &str, now: Ts) -> Result<(), sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))?;
    void_reset_tokens(tx, user_id, now).await.map(|_| ())
}

/// Spends every unused password-reset token of the user (a password or email change, a completed reset);
/// returns how many.
pub async fn void_reset_tokens(tx: &mut Tx, user_id: Uuid, now: Ts) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE user_tokens SET used_at = $2 WHERE user_id = $1 AND purpose = $3 AND used_at IS NULL"
    )
    .bind(user_id)
    .bind(now)
    .bind(PASSWORD_RESET)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// The active administrators, locked until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite's
/// single writer serialises anyway): two administrators demoting each other at once are counted one at a
/// time, so the last one always remains.
pub async fn lock_active_admins(tx: &mut Tx) -> Result<Vec<Uuid>, sqlx::Error> {
    let q = sql(format!(
        "SELECT id FROM users WHERE is_admin AND is_active ORDER BY id{}",
        crate::db::query::for_update(tx)
    ));
    with_tx!(tx, |c| sqlx::query_scalar(q).fetch_all(c).await)
}

pub async fn mark_verified(tx: &mut Tx, user_id: Uuid, now: Ts) -> Result<(), sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET email_verified_at = $2, updated_at = $2 WHERE id = $1 AND email_verified_at IS NULL"
    )
    .bind(user_id)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn update_profile(
    tx: &mut Tx,
    user_id: Uuid,
    full_name: &str,
    email: &str,
    email_changed: bool,
    now: Ts,
) -> Result<UserRow, sqlx::Error> {
    changed(tx, user_id);
    let q = sql(format!(
        "UPDATE users SET full_name = $2, email = $3, updated_at = $4,
            email_verified_at = CASE WHEN $5 THEN NULL ELSE email_verified_at END
         WHERE id = $1 RETURNING {USER_COLS}"
    ));
    with_tx!(tx, |c| sqlx::query_as(q)
        .bind(user_id)
        .bind(full_name)
        .bind(email)
        .bind(now)
        .bind(email_changed)
        .fetch_one(c)
        .await)
}

pub async fn admin_update(
    tx: &mut Tx,
    user_id: Uuid,
    is_active: Option<bool>,
    is_admin: Option<bool>,
    now: Ts,
) -> Result<Option<UserRow>, sqlx::Error> {
    changed(tx, user_id);
    let q = sql(format!(
        "UPDATE users SET is_active = COALESCE($2, is_active), is_admin = COALESCE($3, is_admin), updated_at = $4
         WHERE id = $1 RETURNING {USER_COLS}"
    ));
    with_tx!(tx, |c| sqlx::query_as(q)
        .bind(user_id)
        .bind(is_active)
        .bind(is_admin)
        .bind(now)
        .fetch_optional(c)
        .await)
}

pub async fn delete_user(tx: &mut Tx, user_id: Uuid) -> Result<(), sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))
}

// ---- 2FA ----

pub async fn set_totp_pending(tx: &mut Tx, user_id: Uuid, sealed: &str, now: Ts) -> Result<(), sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET totp_pending_secret = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(user_id)
    .bind(sealed)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Records `step` as used, only if it is later than the last accepted one: a code works once.
pub async fn accept_totp_step(tx: &mut Tx, user_id: Uuid, step: i64) -> Result<bool, sqlx::Error> {
    changed(tx, user_id);
    let n = with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)"
    )
    .bind(user_id)
    .bind(step)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn enable_totp(tx: &mut Tx, user_id: Uuid, sealed: &str, now: Ts) -> Result<(), sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_pending_secret = NULL, updated_at = $3 WHERE id = $1"
    )
    .bind(user_id)
    .bind(sealed)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))?;
    with_tx!(tx, |c| sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn disable_totp(tx: &mut Tx, user_id: Uuid, now: Ts) -> Result<(), sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, updated_at = $2 WHERE id = $1"
    )
    .bind(user_id)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))?;
    with_tx!(tx, |c| sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn insert_recovery_code(tx: &mut Tx, user_id: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)"
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(hash)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Uses an unused recovery code; true when it existed and is now spent.
pub async fn use_recovery_code(tx: &mut Tx, user_id: Uuid, hash: &str, now: Ts) -> Result<bool, sqlx::Error> {
    let n = with_tx!(tx, |c| sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL"
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

// ---- sessions ----

pub struct NewSession<'a> {
    pub user_id: Uuid,
    pub refresh_hash: &'a str,
    pub device_name: &'a str,
    pub user_agent: Option<&'a str>,
    pub ip_address: Option<&'a str>,
    pub expires_at: Ts,
}

pub async fn insert_session(tx: &mut Tx, s: &NewSession<'_>, now: Ts) -> Result<SessionRow, sqlx::Error> {
    let q = sql(format!(
        "INSERT INTO sessions (id, user_id, refresh_hash, device_name, user_agent, ip_address, created_at, last_used_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING {SESSION_COLS}"
    ));
    with_tx!(tx, |c| sqlx::query_as(q)
        .bind(Uuid::now_v7())
        .bind(s.user_id)
        .bind(s.refresh_hash)
        .bind(s.device_name)
        .bind(s.user_agent)
        .bind(s.ip_address)
        .bind(now)
        .bind(s.expires_at)
        .fetch_one(c)
        .await)
}

/// Whether the user has signed in before from this device label (for the new-device notice).
pub async fn has_session_from_device(tx: &mut Tx, user_id: Uuid, device_name: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = with_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND device_name = $2"
    )
    .bind(user_id)
    .bind(device_name)
    .fetch_one(c)
    .await)?;
    Ok(n > 0)
}

/// The session whose current refresh token has this hash (the limiter's `refresh` bucket).
pub async fn session_id_by_refresh_hash(db: &Db, hash: &str) -> Result<Option<Uuid>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM sessions WHERE refresh_hash = $1"
    )
    .bind(hash)
    .fetch_optional(c)
    .await)
}

pub async fn session_by_refresh_hash(tx: &mut Tx, hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let q = sql(format!("SELECT {SESSION_COLS} FROM sessions WHERE refresh_hash = $1"));
    with_tx!(tx, |c| sqlx::query_as(q).bind(hash).fetch_optional(c).await)
}

/// Replaces the session's refresh token, only if it still holds `old_hash` and is live: of two concurrent
/// rotations exactly one succeeds.
pub async fn rotate_session(
    tx: &mut Tx,
    id: Uuid,
    old_hash: &str,
    new_hash: &str,
    ip: Option<&str>,
    now: Ts,
    expires_at: Ts,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let q = sql(format!(
        "UPDATE sessions SET refresh_hash = $3, last_used_at = $4, expires_at = $5, ip_address = COALESCE($6, ip_address)
         WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL AND expires_at > $4
         RETURNING {SESSION_COLS}"
    ));
    let row: Option<SessionRow> = with_tx!(tx, |c| sqlx::query_as(q)
        .bind(id)
        .bind(old_hash)
        .bind(new_hash)
        .bind(now)
        .bind(expires_at)
        .bind(ip)
        .fetch_optional(c)
        .await)?;
    if row.is_some() {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO refresh_token_history (token_hash, session_id, rotated_at) VALUES ($1, $2, $3)
             ON CONFLICT (token_hash) DO NOTHING"
        )
        .bind(old_hash)
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))?;
    }
    Ok(row)
}

/// A rotated-out token: its session's user and when it was rotated.
pub async fn rotated_token(tx: &mut Tx, hash: &str) -> Result<Option<(Uuid, Uuid, Ts)>, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "SELECT s.user_id, s.id, h.rotated_at FROM refresh_token_history h JOIN sessions s ON s.id = h.session_id
         WHERE h.token_hash = $1"
    )
    .bind(hash)
    .fetch_optional(c)
    .await)
}

/// Revokes every live session of the user (except `keep`); returns how many.
pub async fn revoke_all(
    tx: &mut Tx,
    user_id: Uuid,
    reason: &str,
    keep: Option<Uuid>,
    now: Ts,
) -> Result<u64, sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoke_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND ($4 IS NULL OR id <> $4)"
    )
    .bind(user_id)
    .bind(now)
    .bind(reason)
    .bind(keep)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn session_of_user(tx: &mut Tx, id: Uuid, user_id: Uuid) -> Result<Option<SessionRow>, sqlx::Error> {
    let q = sql(format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE id = $1 AND user_id = $2"
    ));
    with_tx!(tx, |c| sqlx::query_as(q).bind(id).bind(user_id).fetch_optional(c).await)
}

/// Revokes one session if it is still live; returns the session as it now is.
pub async fn revoke_session(
    tx: &mut Tx,
    id: Uuid,
    user_id: Uuid,
    reason: &str,
    now: Ts,
) -> Result<Option<SessionRow>, sqlx::Error> {
    changed(tx, user_id);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE sessions SET revoked_at = $3, revoke_reason = $4 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL"
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .bind(reason)
    .execute(c)
    .await
    .map(|_| ()))?;
    session_of_user(tx, id, user_id).await
}

pub async fn rename_session(
    tx: &mut Tx,
    id: Uuid,
    user_id: Uuid,
    name: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    changed(tx, user_id);
    let q = sql(format!(
        "UPDATE sessions SET device_name = $3 WHERE id = $1 AND user_id = $2 RETURNING {SESSION_COLS}"
    ));
    with_tx!(tx, |c| sqlx::query_as(q)
        .bind(id)
        .bind(user_id)
        .bind(name)
        .fetch_optional(c)
        .await)
}

// ---- email tokens ----

pub const VERIFY_EMAIL: &str = "verify_email";
pub const PASSWORD_RESET: &str = "password_reset";

pub async fn insert_token(
    tx: &mut Tx,
    user_id: Uuid,
    purpose: &str,
    hash: &str,
    email: &str,
    now: Ts,
    expires_at: Ts,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO user_tokens (id, user_id, purpose, token_hash, email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(purpose)
    .bind(hash)
    .bind(email)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await
    .map(|_| ()))
}

/// When the user was last sent a token of this purpose (for the one-email-per-5-minutes throttle).
pub async fn last_token_sent(tx: &mut Tx, user_id: Uuid, purpose: &str) -> Result<Option<Ts>, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar(
        "SELECT created_at FROM user_tokens WHERE user_id = $1 AND purpose = $2 ORDER BY created_at DESC LIMIT 1"
    )
    .bind(user_id)
    .bind(purpose)
    .fetch_optional(c)
    .await)
}

pub async fn token_by_hash(tx: &mut Tx, hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as(
        "SELECT id, user_id, purpose, email, expires_at, used_at FROM user_tokens WHERE token_hash = $1"
    )
    .bind(hash)
    .fetch_optional(c)
    .await)
}

/// [`token_by_hash`] on the read pool, for a look that writes nothing (the token is spent later, in a
/// write transaction, by [`use_token`], which refuses a token spent meanwhile).
pub async fn token_by_hash_read(db: &Db, hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT id, user_id, purpose, email, expires_at, used_at FROM user_tokens WHERE token_hash = $1"
    )
    .bind(hash)
    .fetch_optional(c)
    .await)
}

/// Spends a token once; false when another request spent it first.
pub async fn use_token(tx: &mut Tx, id: Uuid, now: Ts) -> Result<bool, sqlx::Error> {
    let n = with_tx!(tx, |c| sqlx::query(
        "UPDATE user_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL"
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

// ---- failed sign-ins per account ----

/// When the account's failure window started and how many failures it holds, if any.
pub async fn login_failures(db: &Db, email_hash: &str) -> Result<Option<(i64, Ts)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as(
        "SELECT failures, window_started_at FROM login_failures WHERE email_hash = $1"
    )
    .bind(email_hash)
    .fetch_optional(c)
    .await)
}

/// Counts one failed sign-in; a window that started before `window_start` begins again at `now`.
pub async fn record_login_failure(tx: &mut Tx, email_hash: &str, now: Ts, window_start: Ts) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO login_failures (email_hash, failures, window_started_at) VALUES ($1, 1, $2)
         ON CONFLICT (email_hash) DO UPDATE SET
            failures = CASE WHEN login_failures.window_started_at <= $3 THEN 1 ELSE login_failures.failures + 1 END,
            window_started_at = CASE WHEN login_failures.window_started_at <= $3 THEN $2
                                     ELSE login_failures.window_started_at END"
    )
    .bind(email_hash)
    .bind(now)
    .bind(window_start)
    .execute(c)
    .await
    .map(|_| ()))
}

/// A successful sign-in resets the account's count.
pub async fn clear_login_failures(tx: &mut Tx, email_hash: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query("DELETE FROM login_failures WHERE email_hash = $1")
        .bind(email_hash)
        .execute(c)
        .await
        .map(|_| ()))
}

// ---- periodic clean-up ----

/// Deletes up to `limit` sessions revoked, or expired, before `before` (their rotated tokens go with
/// them). A token of such a session then answers `invalid_refresh_token`, as an unknown one does.
pub async fn prune_sessions(tx: &mut Tx, before: Ts, limit: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM sessions WHERE id IN (
             SELECT id FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR expires_at < $1 LIMIT $2)"
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Deletes up to `limit` email tokens that can no longer be used: expired ones, and spent password-reset
/// tokens created before `used_before` (newer ones still count for the resend throttle). A spent
/// verification token is kept until it expires: using it again answers `already_verified`.
pub async fn prune_tokens(tx: &mut Tx, now: Ts, used_before: Ts, limit: i64) -> Result<u64, sqlx::Error> {
    // Failure windows that have passed mean nothing any more (a new failure starts a new window).
    let window_start = now - chrono::Duration::from_std(crate::auth::service::LOCKOUT_WINDOW).unwrap_or_default();
    let failures = with_tx!(tx, |c| sqlx::query(
        "DELETE FROM login_failures WHERE email_hash IN (
             SELECT email_hash FROM login_failures WHERE window_started_at <= $1 LIMIT $2)"
    )
    .bind(window_start)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let tokens = with_tx!(tx, |c| sqlx::query(
        "DELETE FROM user_tokens WHERE id IN (
             SELECT id FROM user_tokens
             WHERE expires_at < $1 OR (purpose = $2 AND used_at IS NOT NULL AND created_at < $3) LIMIT $4)"
    )
    .bind(now)
    .bind(PASSWORD_RESET)
    .bind(used_before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(tokens + failures)
}
