//! Wire types of accounts: requests, responses and the validated values handlers work with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{SessionRow, UserRow};
use crate::error::{ApiError, FieldError};

/// A user as the API shows it. Never a password, hash, TOTP secret or token.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub is_active: bool,
    pub is_admin: bool,
    pub is_verified: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub totp_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&UserRow> for UserOut {
    fn from(u: &UserRow) -> Self {
        UserOut {
            id: u.id,
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            is_active: u.is_active,
            is_admin: u.is_admin,
            is_verified: u.email_verified_at.is_some(),
            email_verified_at: u.email_verified_at,
            totp_enabled: u.totp_secret.is_some(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Absent in browser mode (`refresh_in: "cookie"`): the token is in the `nf_refresh` cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub session_id: Uuid,
    pub user: UserOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: Uuid,
    pub device_name: String,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    /// True exactly for the session of the access token used.
    pub is_current: bool,
}

impl SessionOut {
    pub fn new(s: &SessionRow, current: Uuid) -> Self {
        SessionOut {
            id: s.id,
            device_name: s.device_name.clone(),
            user_agent: s.user_agent.clone(),
            ip_address: s.ip_address.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            revoke_reason: s.revoke_reason.clone(),
            is_current: s.id == current,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedCount {
    pub revoked_count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusOut {
    pub status: &'static str,
}

/// Where the client wants the refresh token: `body` (default) or `cookie` (browser mode).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum RefreshIn {
    #[default]
    Body,
    Cookie,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterIn {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8..128 characters, not the email, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// 1..100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub full_name: String,
    /// Longer names are cut to 100 characters.
    pub device_name: Option<String>,
    pub refresh_in: Option<RefreshIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
    /// Longer names are cut to 100 characters.
    pub device_name: Option<String>,
    pub totp_code: Option<String>,
    pub refresh_in: Option<RefreshIn>,
}

/// The OAuth2 password grant, as a form (a form has no `null`: omit a field instead).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    pub username: String,
    pub password: String,
    /// Only `password` (the default).
    #[schema(nullable = false, pattern = "^password$")]
    pub grant_type: Option<String>,
    /// Longer names are cut to 100 characters.
    #[schema(nullable = false)]
    pub device_name: Option<String>,
    #[schema(nullable = false)]
    pub totp_code: Option<String>,
    #[schema(nullable = false)]
    pub refresh_in: Option<RefreshIn>,
    /// Accepted and ignored (OAuth2 clients send it).
    #[schema(nullable = false)]
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct RefreshInBody {
    pub refresh_token: Option<String>,
    pub refresh_in: Option<RefreshIn>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct LogoutIn {
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameSessionIn {
    /// 1..100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub device_name: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct RevokeOthersIn {
    #[schema(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub keep_session_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenIn {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailIn {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmIn {
    pub token: String,
    /// 8..128 characters, not the email, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeIn {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupOut {
    /// Base32 secret for manual entry.
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Ten single-use codes; shown once.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMeIn {
    /// 1..100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub full_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Required when `email` changes.
    pub current_password: Option<String>,
}

/// A signed-in user's password, confirming a sensitive step (2FA setup).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordIn {
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordIn {
    pub current_password: String,
    /// 8..128 characters, not the email, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteMeIn {
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminUserUpdateIn {
    pub is_active: Option<bool>,
    pub is_admin: Option<bool>,
}

/// Paging of `/auth/sessions`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionListQuery {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

impl SessionListQuery {
    pub fn params(&self) -> crate::http::list::ListParams {
        crate::http::list::ListParams {
            page: self.page,
            page_size: self.page_size,
            cursor: self.cursor.clone(),
            include_total: self.include_total,
        }
    }
}

// ---- validated values ----

/// An email address: trimmed, lowercased, `local@domain` with a dotted or `localhost` domain, ≤ 254 chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Option<Email> {
        let v = raw.trim().to_lowercase();
        if v.is_empty() || v.chars().count() > 254 {
            return None;
        }
        let (local, domain) = v.rsplit_once('@')?;
        let bad = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\' | '@'
                )
        };
        let domain_ok = !domain.is_empty()
            && domain.len() <= 253
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && (domain.contains('.') || domain == "localhost");
        if local.is_empty() || local.len() > 64 || local.chars().any(bad) || domain.chars().any(bad) || !domain_ok {
            return None;
        }
        Some(Email(v))
    }

    /// Parses or fails with a 422 naming `loc`.
    pub fn parse_field(raw: &str, loc: &[&str]) -> Result<Email, ApiError> {
        Email::parse(raw).ok_or_else(|| ApiError::invalid_field(loc, "is not a valid email address", "value_error"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trimmed text field whose length (in characters) must lie within `min..=max`.
pub fn text_field(raw: &str, loc: &[&str], min: usize, max: usize) -> Result<String, FieldError> {
    let v = raw.trim();
    let n = v.chars().count();
    if n < min {
        return Err(FieldError::new(
            loc,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            },
            "too_short",
        ));
    }
    if n > max {
        return Err(FieldError::new(
            loc,
            format!("must be at most {max} characters"),
            "too_long",
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        assert!(Email::parse("admin@localhost").is_some());
        assert!(Email::parse("a.b+tag@sub.example.co").is_some());
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@c.com",
            "a@b.com.",
            "a:b@c.com",
            "a@@b.com",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_none());
    }

    #[test]
    fn text_fields() {
        assert_eq!(text_field("  hi ", &["body", "x"], 1, 5).unwrap(), "hi");
        assert_eq!(text_field("   ", &["body", "x"], 1, 5).unwrap_err().kind, "too_short");
        assert_eq!(text_field("ééééé", &["body", "x"], 1, 5).unwrap(), "ééééé");
        assert_eq!(text_field("éééééé", &["body", "x"], 1, 5).unwrap_err().kind, "too_long");
    }
}
