//! Reading raw values: the [`Source`] over a lookup function, the value parsers (`parse_bool`,
//! `parse_duration`) and [`ConfigError`], the one-line error naming the variable.

use std::time::Duration;

/// A setting that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

pub(super) fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// Reads raw values by name; absent and empty are the same.
pub(super) struct Source<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

impl Source<'_> {
    pub(super) fn raw(&self, var: &str) -> Option<String> {
        (self.0)(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    pub(super) fn string(&self, var: &'static str, default: &str) -> String {
        self.raw(var).unwrap_or_else(|| default.to_string())
    }

    pub(super) fn parsed<T: std::str::FromStr>(
        &self,
        var: &'static str,
        default: T,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| err(var, format!("expected {what}, got {v:?}"))),
        }
    }

    pub(super) fn boolean(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => parse_bool(&v).ok_or_else(|| err(var, format!("expected true/false/1/0, got {v:?}"))),
        }
    }

    pub(super) fn duration(&self, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => parse_duration(&v).ok_or_else(|| {
                err(
                    var,
                    format!("expected a duration such as 15m, 2s, 24h or whole seconds, got {v:?}"),
                )
            }),
        }
    }

    pub(super) fn list(&self, var: &'static str) -> Vec<String> {
        self.raw(var)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `true/false/1/0` (case-insensitive).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Humantime strings (`15m`, `2s`, `24h`, `1h 30m`) or plain integer seconds.
pub fn parse_duration(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_humantime_and_seconds() {
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-5"), None);
    }

    #[test]
    fn booleans_accept_four_spellings_only() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
