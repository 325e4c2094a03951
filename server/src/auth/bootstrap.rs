//! The first administrator: created on first start (from `ADMIN_EMAIL`/`ADMIN_PASSWORD`, or with a
//! generated password printed once) and on demand by `neoforge create-admin`.

use secrecy::ExposeSecret;

use super::{model::Email, store};
use crate::{db::now, state::AppState};

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@localhost";

/// What `create_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Promoted,
}

/// Creates `email` as a verified administrator, or promotes the existing account (setting the password
/// when one is given).
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
            store::admin_update(&mut tx, user.id, Some(true), Some(true), now).await?;
            if generated.is_none() {
                store::set_password(&mut tx, user.id, &hash, now).await?;
            }
            Outcome::Promoted
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
    let shown = (outcome == Outcome::Created).then_some(generated).flatten();
    Ok((outcome, shown))
}

/// On first start (no administrator yet) creates one and prints a generated password once.
pub async fn ensure_admin(state: &AppState) -> anyhow::Result<()> {
    if store::any_admin(&state.db).await? {
        return Ok(());
    }
    let email = state
        .settings
        .admin_email
        .clone()
        .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string());
    let password = state
        .settings
        .admin_password
        .as_ref()
        .map(|p| p.expose_secret().to_string());
    let (_, generated) = create_admin(state, &email, password.as_deref()).await?;
    match generated {
        Some(pw) => println!(
            "\n  First start: created the administrator {email}\n  Password (shown once): {pw}\n  Sign in and change it in Settings.\n"
        ),
        None => println!("First start: created the administrator {email} (password from ADMIN_PASSWORD)"),
    }
    Ok(())
}
