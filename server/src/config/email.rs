//! `settings.email`: how mail leaves (`EMAIL_BACKEND`: log, file or SMTP), the sender and the SMTP relay.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::source::{ConfigError, Source, err};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailBackend {
    Log,
    File,
    Smtp,
}

/// Outgoing mail.
#[derive(Clone)]
pub struct EmailSettings {
    pub backend: EmailBackend,
    /// Where the `file` backend writes messages (default `<DATA_DIR>/outbox`).
    pub outbox_dir: PathBuf,
    pub from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_tls: bool,
}

impl EmailSettings {
    pub(super) fn from_source(src: &Source<'_>, data_dir: &Path) -> Result<Self, ConfigError> {
        let backend = match src.raw("EMAIL_BACKEND").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("log") => EmailBackend::Log,
            Some("file") => EmailBackend::File,
            Some("smtp") => EmailBackend::Smtp,
            Some(other) => {
                return Err(err(
                    "EMAIL_BACKEND",
                    format!("expected log, file or smtp, got {other:?}"),
                ));
            }
        };
        Ok(Self {
            backend,
            outbox_dir: src
                .raw("EMAIL_OUTBOX_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("outbox")),
            from: src.string("EMAIL_FROM", "NeoForge <no-reply@localhost>"),
            smtp_host: src.raw("SMTP_HOST"),
            smtp_port: src.parsed("SMTP_PORT", 587, "a port number")?,
            smtp_username: src.raw("SMTP_USERNAME"),
            smtp_password: src.raw("SMTP_PASSWORD").map(SecretString::from),
            smtp_tls: src.boolean("SMTP_TLS", true)?,
        })
    }

    /// The SMTP backend needs a relay.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.backend == EmailBackend::Smtp && self.smtp_host.is_none() {
            return Err(err("SMTP_HOST", "required when EMAIL_BACKEND=smtp"));
        }
        Ok(())
    }
}
