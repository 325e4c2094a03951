//! Refresh-token rotation with reuse detection, as a service: [`rotate`] spends a refresh token and says
//! what happened ([`RefreshOutcome`]); the `/auth/refresh` handler maps that to HTTP.
//!
//! A token is rotated at most once. Presenting a token that was already rotated out means it leaked (or
//! a client replays it): every session of the user is revoked, unless `REFRESH_REUSE_GRACE` allows a
//! near-simultaneous retry, which is only refused.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{
    service,
    store::{self, UserRow},
    tokens::new_refresh_token,
};
use crate::{
    audit::{self, Entry},
    crypto::sha256_hex,
    error::ApiError,
    state::AppState,
};

/// What presenting a refresh token did.
pub enum RefreshOutcome {
    /// The token was spent; `refresh_token` replaces it for `session_id` (audited as `auth.refresh`).
    Rotated {
        user: UserRow,
        session_id: Uuid,
        refresh_token: String,
    },
    /// The token had already been rotated out: every session of the user was revoked (audited as
    /// `auth.refresh_reuse_detected`).
    ReuseDetected {
        user_id: Uuid,
        session_id: Uuid,
        revoked: u64,
    },
    /// The token was rotated out moments ago (within `REFRESH_REUSE_GRACE`): refused, nothing revoked.
    WithinGrace,
    /// The token's session is expired or revoked.
    Expired,
    /// The session's user is gone or deactivated.
    InactiveUser,
    /// No session ever had this token.
    Unknown,
}

/// Rotates the refresh token `token`, presented from `ip` at `now`, in one write transaction.
pub async fn rotate(state: &AppState, token: &str, ip: IpAddr, now: DateTime<Utc>) -> Result<RefreshOutcome, ApiError> {
    let hash = sha256_hex(token);
    let mut tx = state.db.begin().await?;
    if let Some(session) = store::session_by_refresh_hash(&mut tx, &hash).await? {
        if !session.is_live(now) {
            tx.rollback().await?;
            return Ok(RefreshOutcome::Expired);
        }
        let user = store::user_by_id_tx(&mut tx, session.user_id)
            .await?
            .filter(|u| u.is_active);
        let Some(user) = user else {
            tx.rollback().await?;
            return Ok(RefreshOutcome::InactiveUser);
        };
        let new_token = new_refresh_token();
        let expires = now + service::refresh_ttl(state);
        let ip = ip.to_string();
        let rotated = store::rotate_session(
            &mut tx,
            session.id,
            &hash,
            &sha256_hex(&new_token),
            Some(&ip),
            now,
            expires,
        )
        .await?;
        if rotated.is_some() {
            audit::record(
                &mut tx,
                Entry::new("auth.refresh", Some(user.id)).resource("session", session.id),
            )
            .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Rotated {
                user,
                session_id: session.id,
                refresh_token: new_token,
            });
        }
        // Another refresh of the same token won the race: fall through to reuse handling.
    }
    match store::rotated_token(&mut tx, &hash).await? {
        Some((user_id, session_id, rotated_at)) => {
            let grace = chrono::Duration::from_std(state.settings.auth.refresh_reuse_grace).unwrap_or_default();
            if grace > chrono::Duration::zero() && now - rotated_at <= grace {
                // A near-simultaneous retry (two tabs): refuse without punishing the family.
                tx.rollback().await?;
                return Ok(RefreshOutcome::WithinGrace);
            }
            let revoked = store::revoke_all(&mut tx, user_id, "refresh_reuse", None, now).await?;
            audit::record(
                &mut tx,
                Entry::new("auth.refresh_reuse_detected", Some(user_id))
                    .resource("session", session_id)
                    .meta(json!({"revoked_count": revoked})),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(user_id = %user_id, revoked, "refresh token reuse detected; sessions revoked");
            Ok(RefreshOutcome::ReuseDetected {
                user_id,
                session_id,
                revoked,
            })
        }
        None => {
            tx.rollback().await?;
            Ok(RefreshOutcome::Unknown)
        }
    }
}
