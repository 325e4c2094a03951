//! The first administrator: created on first start (from `ADMIN_EMAIL`/`ADMIN_PASSWORD`, or with a
//! generated password printed once) and on demand by `neoforge create-admin`.

use secrecy::ExposeSecret;

use super::{model::Email, store};
use crate::{config::LogFormat, db::now, state::AppState};

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@localhost";

/// Where a first start with JSON logs puts the generated administrator password (in `DATA_DIR`, mode 0600).
pub const PASSWORD_FILE: &str = "first-admin-password";

/// What `create_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// An existing account was promoted as it was (verified, and the operator supplied its new password).
    Promoted,
    /// An existing account was promoted and taken over: it was not verified, or the operator supplied no
    /// password, so whoever registered it may not be the operator. Its sessions were revoked, its 2FA
    /// turned off and its password replaced.
    PromotedAndReset,
}

/// Creates `email` as a verified administrator, or promotes the existing account. Returns the generated
/// password (to print once) when the operator supplied none.
///
/// An account is never promoted with credentials the operator does not know (spec §1.3): promoting one
/// that is not verified, or without a supplied password, revokes its sessions, disables its 2FA and sets
/// the new password (the supplied one, else a generated one).
pub async fn create_admin(
    state: &AppState,
    email: &str,
    password: Option<&str>,
) -> anyhow::Result<(Outcome, Option<String>)> {
    let email = Email::parse(email).ok_or_else(|| anyhow::anyhow!("{email:?} is not a valid email address"))?;
    let generated = password.is_none().then(|| crate::crypto::random_token(15));
    let password = password
        .map(str::to_string)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    if generated.is_none() {
        super::password::check_policy(&password, email.as_str(), &["password"])
            .map_err(|e| anyhow::anyhow!("the admin password is not acceptable: {}", e.detail))?;
    }
    let hash = state
        .hasher
        .hash(&password)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail))?;
    let now = now();
    let mut tx = state.db.begin().await?;
    let outcome = match store::user_by_email(&state.db, email.as_str()).await? {
        Some(user) => {
            let take_over = user.email_verified_at.is_none() || generated.is_some();
            store::admin_update(&mut tx, user.id, Some(true), Some(true), now).await?;
            store::set_password(&mut tx, user.id, &hash, now).await?;
            store::mark_verified(&mut tx, user.id, now).await?;
            let mut revoked = 0;
            if take_over {
                revoked = store::revoke_all(&mut tx, user.id, "admin_promotion", None, now).await?;
                store::disable_totp(&mut tx, user.id, now).await?;
            }
            crate::audit::record(
                &mut tx,
                crate::audit::Entry::new("admin.user_update", None)
                    .resource("user", user.id)
                    .meta(serde_json::json!({"is_admin": true, "via": "create-admin", "reset": take_over, "revoked_count": revoked})),
            )
            .await?;
            if take_over {
                Outcome::PromotedAndReset
            } else {
                Outcome::Promoted
            }
        }
        None => {
            let new = store::NewUser {
                email: email.as_str(),
                password_hash: &hash,
                full_name: "Administrator",
                is_admin: true,
                verified: true,
            };
            store::insert_user(&mut tx, &new, now).await?;
            Outcome::Created
        }
    };
    tx.commit().await?;
    Ok((outcome, generated))
}

/// On first start (no administrator yet) creates one and prints a generated password once.
pub async fn ensure_admin(state: &AppState) -> anyhow::Result<()> {
    if store::any_admin(&state.db).await? {
        return Ok(());
    }
    let email = state
        .settings
        .auth
        .admin_email
        .clone()
        .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string());
    let password = state
        .settings
        .auth
        .admin_password
        .as_ref()
        .map(|p| p.expose_secret().to_string());
    let (outcome, generated) = create_admin(state, &email, password.as_deref()).await?;
    let what = match outcome {
        Outcome::Created => "created the administrator",
        Outcome::Promoted => "promoted the existing account",
        Outcome::PromotedAndReset => "promoted the existing account (its sessions, 2FA and password were reset)",
    };
    match (state.settings.telemetry.log_format, generated) {
        (LogFormat::Text, Some(pw)) => println!(
            "\n  First start: {what} {email}\n  Password (shown once): {pw}\n  Sign in and change it in Settings.\n"
        ),
        (LogFormat::Text, None) => println!("First start: {what} {email} (password from ADMIN_PASSWORD)"),
        // JSON lines go to a log pipeline, where a password must never appear: it goes to a file only the
        // service's user can read, and the line says where.
        (LogFormat::Json, Some(pw)) => {
            let path = state.settings.data_dir.join(PASSWORD_FILE);
            std::fs::create_dir_all(&state.settings.data_dir)?;
            crate::config::write_private(&path, &format!("{pw}\n"))?;
            tracing::warn!(
                admin_email = %email,
                password_file = %path.display(),
                "first start: {what}; its generated password is in password_file: sign in, change it, delete the file"
            );
        }
        (LogFormat::Json, None) => {
            tracing::warn!(admin_email = %email, "first start: {what} (password from ADMIN_PASSWORD)")
        }
    }
    Ok(())
}
