//! `settings.server`: where the server listens and how it is reached (`HOST`, `PORT`, `PUBLIC_URL`,
//! `TRUSTED_PROXIES`), connection and request limits, shutdown timing and the public cache lifetime.

use std::{net::IpAddr, time::Duration};

use ipnet::IpNet;

use super::source::{ConfigError, Source, err};

/// The HTTP server.
#[derive(Clone)]
pub struct ServerSettings {
    pub host: IpAddr,
    pub port: u16,
    /// The base URL clients use, without a trailing `/`.
    pub public_url: String,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// A connection's request head must arrive within this (spec §8).
    pub header_timeout: Duration,
    /// How long a keep-alive connection may idle between requests.
    pub keep_alive_timeout: Duration,
    pub shutdown_delay: Duration,
    pub shutdown_timeout: Duration,
    pub public_max_age: Duration,
}

impl ServerSettings {
    pub(super) fn from_source(src: &Source<'_>, prod: bool) -> Result<Self, ConfigError> {
        let public_url = src
            .string("PUBLIC_URL", "http://localhost:8000")
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(err("PUBLIC_URL", "expected an http:// or https:// URL"));
        }

        let mut trusted_proxies = Vec::new();
        for item in src.list("TRUSTED_PROXIES") {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    err(
                        "TRUSTED_PROXIES",
                        format!("expected CIDRs such as 10.0.0.0/8, got {item:?}"),
                    )
                })?;
            trusted_proxies.push(net);
        }

        let max_body_bytes: usize = src.parsed("MAX_BODY_BYTES", 1_048_576, "a number of bytes")?;
        if max_body_bytes == 0 {
            return Err(err("MAX_BODY_BYTES", "must be greater than 0"));
        }

        Ok(Self {
            host: src.parsed("HOST", IpAddr::from([127, 0, 0, 1]), "an IP address")?,
            port: src.parsed("PORT", 8000, "a port number")?,
            public_url,
            trusted_proxies,
            max_body_bytes,
            request_timeout: src.duration("REQUEST_TIMEOUT", Duration::from_secs(30))?,
            header_timeout: src.duration("HEADER_TIMEOUT", Duration::from_secs(10))?,
            keep_alive_timeout: src.duration("KEEP_ALIVE_TIMEOUT", Duration::from_secs(60))?,
            shutdown_delay: src.duration("SHUTDOWN_DELAY", Duration::ZERO)?,
            shutdown_timeout: src.duration("SHUTDOWN_TIMEOUT", Duration::from_secs(30))?,
            public_max_age: src.duration("PUBLIC_MAX_AGE", Duration::from_secs(if prod { 15 } else { 5 }))?,
        })
    }
}
