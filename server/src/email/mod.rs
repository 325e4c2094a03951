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
use serde::{Deserialize, Serialize};

use crate::config::{EmailBackend, Settings};

/// One message, ready to send.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
        let transport = match s.email.backend {
            EmailBackend::Log => Transport::Log,
            EmailBackend::File => {
                std::fs::create_dir_all(&s.email.outbox_dir)?;
                Transport::File(s.email.outbox_dir.clone())
            }
            EmailBackend::Smtp => {
                let host = s.email.smtp_host.clone().unwrap_or_default();
                let mut builder = if s.email.smtp_tls {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?
                } else {
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                };
                // Bounded, so a hung relay fails the attempt well inside the job's lease.
                builder = builder
                    .port(s.email.smtp_port)
                    .timeout(Some(std::time::Duration::from_secs(30)));
                if let (Some(user), Some(password)) = (&s.email.smtp_username, &s.email.smtp_password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_string()));
                }
                Transport::Smtp(builder.build())
            }
        };
        s.email
            .from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("invalid setting EMAIL_FROM: {e}"))?;
        Ok(Self {
            transport,
            from: s.email.from.clone(),
        })
    }

    /// Delivers `email` as message `id` (a job id), so a second delivery of the same message can be
    /// recognised: the file transport names the file after it and skips one that exists; SMTP sends it
    /// as the `Message-ID`, which receiving servers use to drop duplicates. The log transport records
    /// who and what, never the body (it holds tokens).
    pub async fn deliver(&self, email: &Email, id: uuid::Uuid) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Log => {
                tracing::info!(to = %email.to, subject = %email.subject, message_id = %id,
                    "email (log backend; set EMAIL_BACKEND=file to keep messages)");
                Ok(())
            }
            Transport::File(dir) => {
                // UUIDv7 ids sort by creation, so the outbox lists messages in the order they were queued.
                let name = format!("{}.json", id.simple());
                let path = dir.join(&name);
                if tokio::fs::try_exists(&path).await? {
                    return Ok(());
                }
                let tmp = dir.join(format!(".{name}.tmp"));
                // Write then rename, so a reader never sees half a message.
                tokio::fs::write(&tmp, serde_json::to_vec_pretty(email)?).await?;
                tokio::fs::rename(&tmp, path).await?;
                Ok(())
            }
            Transport::Smtp(transport) => {
                let domain = self
                    .from
                    .rsplit_once('@')
                    .map_or("localhost", |(_, d)| d.trim_end_matches('>'));
                let message = lettre::Message::builder()
                    .from(self.from.parse()?)
                    .to(email.to.parse()?)
                    .subject(&email.subject)
                    .message_id(Some(format!("<{}@{domain}>", id.simple())))
                    .multipart(MultiPart::alternative_plain_html(
                        email.text.clone(),
                        email.html.clone(),
                    ))?;
                transport.send(message).await?;
                Ok(())
            }
        }
    }
}
