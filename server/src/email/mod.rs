//! Outgoing email: one `Mailer` over three transports — `log` (development), `file` (one JSON file per
//! message, for tests and local inspection) and `smtp` (lettre, TLS).

pub mod templates;

use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::{EmailBackend, Settings};

/// One message, ready to send.
#[derive(Debug, Clone, Serialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The action links in the message (verification, reset), for clients and tests.
    pub links: Vec<String>,
}

#[derive(Clone)]
enum Transport {
    Log,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: String,
}

impl Mailer {
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let transport = match s.email_backend {
            EmailBackend::Log => Transport::Log,
            EmailBackend::File => {
                std::fs::create_dir_all(&s.email_outbox_dir)?;
                Transport::File(s.email_outbox_dir.clone())
            }
            EmailBackend::Smtp => {
                let host = s.smtp_host.clone().unwrap_or_default();
                let mut builder = if s.smtp_tls {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?
                } else {
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                };
                builder = builder.port(s.smtp_port);
                if let (Some(user), Some(password)) = (&s.smtp_username, &s.smtp_password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_string()));
                }
                Transport::Smtp(builder.build())
            }
        };
        s.email_from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("invalid setting EMAIL_FROM: {e}"))?;
        Ok(Self {
            transport,
            from: s.email_from.clone(),
        })
    }

    /// Delivers `email`. The log transport records who and what, never the body (it holds tokens).
    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Log => {
                tracing::info!(to = %email.to, subject = %email.subject, "email (log backend; set EMAIL_BACKEND=file to keep messages)");
                Ok(())
            }
            Transport::File(dir) => {
                let name = format!(
                    "{}-{}.json",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
                    uuid::Uuid::now_v7().simple()
                );
                let tmp = dir.join(format!(".{name}.tmp"));
                // Write then rename, so a reader never sees half a message.
                tokio::fs::write(&tmp, serde_json::to_vec_pretty(email)?).await?;
                tokio::fs::rename(&tmp, dir.join(name)).await?;
                Ok(())
            }
            Transport::Smtp(transport) => {
                let message = lettre::Message::builder()
                    .from(self.from.parse()?)
                    .to(email.to.parse()?)
                    .subject(&email.subject)
                    .multipart(MultiPart::alternative_plain_html(
                        email.text.clone(),
                        email.html.clone(),
                    ))?;
                transport.send(message).await?;
                Ok(())
            }
        }
    }

    /// Sends and logs a failure instead of returning it (for notices that must not fail a request).
    pub async fn send_logged(&self, email: &Email) {
        if let Err(e) = self.send(email).await {
            tracing::error!(error = %format!("{e:#}"), subject = %email.subject, "email delivery failed");
        }
    }
}
