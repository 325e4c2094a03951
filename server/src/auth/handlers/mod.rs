//! Handlers of `/auth/*`, one file per area: registration, sign-in (`/auth/token`, `/auth/login`), refresh,
//! sign-out, sessions, the email flows (verification, password reset) and TOTP 2FA.
//!
//! Operation ids are the function names and every operation is tagged `auth`, so the OpenAPI document does
//! not depend on this layout.

pub mod email_flows;
pub mod refresh;
pub mod registration;
pub mod sessions;
pub mod sign_in;
pub mod sign_out;
pub mod two_factor;
