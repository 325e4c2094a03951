//! `settings.security`: the secret key (and the published values production refuses), CORS origins, the
//! threat guard and CSP reporting; [`Settings::ensure_secret_key`] and the production rules.

use secrecy::{ExposeSecret, SecretString};

use super::{
    Settings,
    source::{ConfigError, Source, err},
};

/// Secret values shipped as examples in the repository (`.env.example`, docs). Production refuses them.
pub const EXAMPLE_SECRET_KEYS: &[&str] = &[
    "change-me-to-a-random-string-of-at-least-32-bytes",
    "dev-secret-key-change-me-dev-secret-key-change-me",
];

/// SHA-256 (hex) of secret keys that were once published and are burned: a development key committed as
/// `server/data/secret.key` until issue #10 (it is still in the git history). Production refuses them like
/// the example values. Only the hash is kept, so the value itself is not repeated in the source.
pub const BURNED_SECRET_KEY_SHA256: &[&str] = &["1c8a9e8221d763f23b42e3ea90f3bf78f87884153a0b6e08e8677143ddf3ea59"];

/// Whether `key` is one of the example values or a burned key: never acceptable in production.
pub fn is_known_secret_key(key: &str) -> bool {
    EXAMPLE_SECRET_KEYS.contains(&key) || BURNED_SECRET_KEY_SHA256.contains(&crate::crypto::sha256_hex(key).as_str())
}

/// Keys, origins and the browser-facing protections.
#[derive(Clone)]
pub struct SecuritySettings {
    pub secret_key: SecretString,
    pub cors_origins: Vec<String>,
    pub threat_detection: bool,
    pub csp_reporting: bool,
    pub csp_report_sample_rate: f64,
    pub csp_report_only_policy: Option<String>,
}

impl SecuritySettings {
    pub(super) fn from_source(src: &Source<'_>, prod: bool) -> Result<Self, ConfigError> {
        let cors_origins = src.list("CORS_ORIGINS");
        for origin in &cors_origins {
            let valid = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/')
                    && origin.parse::<axum::http::HeaderValue>().is_ok());
            if !valid {
                return Err(err(
                    "CORS_ORIGINS",
                    format!("expected origins such as https://app.example.com, got {origin:?}"),
                ));
            }
        }

        let sample_rate: f64 = src.parsed("CSP_REPORT_SAMPLE_RATE", 1.0, "a number between 0 and 1")?;
        if !(0.0..=1.0).contains(&sample_rate) {
            return Err(err("CSP_REPORT_SAMPLE_RATE", "expected a number between 0 and 1"));
        }

        Ok(Self {
            secret_key: SecretString::from(src.raw("SECRET_KEY").unwrap_or_default()),
            cors_origins,
            threat_detection: src.boolean("THREAT_DETECTION", true)?,
            csp_reporting: src.boolean("CSP_REPORTING", !prod)?,
            csp_report_sample_rate: sample_rate,
            csp_report_only_policy: src.raw("CSP_REPORT_ONLY_POLICY"),
        })
    }
}

impl Settings {
    /// The rules production adds (`spec/api.md` §8).
    pub(super) fn check_production(&self) -> Result<(), ConfigError> {
        let key = self.security.secret_key.expose_secret();
        if key.is_empty() {
            return Err(err("SECRET_KEY", "required in production"));
        }
        if key.len() < 32 {
            return Err(err("SECRET_KEY", "must be at least 32 bytes in production"));
        }
        if is_known_secret_key(key) {
            return Err(err(
                "SECRET_KEY",
                "is an example or published (burned) value from the repository; generate a new one",
            ));
        }
        if let Some(bad) = self.security.cors_origins.iter().find(|o| !o.starts_with("https://")) {
            return Err(err(
                "CORS_ORIGINS",
                format!("{bad:?} is not allowed in production (origins must be exact https:// origins, never *)"),
            ));
        }
        if !self.server.public_url.starts_with("https://") {
            return Err(err("PUBLIC_URL", "must be an https:// URL in production"));
        }
        Ok(())
    }

    /// Outside production, a missing `SECRET_KEY` is generated once into `<DATA_DIR>/secret.key` and kept.
    pub fn ensure_secret_key(&mut self) -> anyhow::Result<()> {
        if !self.security.secret_key.expose_secret().is_empty() {
            return Ok(());
        }
        let path = self.data_dir.join("secret.key");
        let key = match std::fs::read_to_string(&path) {
            // A key file holding a published value (the one once committed to the repository) is replaced.
            Ok(existing) if existing.trim().len() >= 32 && !is_known_secret_key(existing.trim()) => {
                existing.trim().to_string()
            }
            _ => {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                std::fs::create_dir_all(&self.data_dir)?;
                write_private(&path, &key)?;
                tracing::info!(path = %path.display(), "generated a development SECRET_KEY");
                key
            }
        };
        self.security.secret_key = SecretString::from(key);
        Ok(())
    }
}

/// Writes `contents` to `path` readable by this user only (0600 on Unix).
pub(crate) fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}
