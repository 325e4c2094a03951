//! Wire types of the status page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{EVENT_COLUMNS, EventRow, ServiceRow};
use crate::resource::{OneOf, Resource, TextRule};

pub const EVENT_STATUSES: &[&str] = &["operational", "degraded", "down", "maintenance"];
pub const STATUS: OneOf = OneOf::new("status", EVENT_STATUSES);
pub const DESCRIPTION: TextRule = TextRule::new("description", 0, 2000);

/// `^[a-z0-9][a-z0-9_-]{0,63}$`
pub fn valid_service_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusEventOut {
    pub id: Uuid,
    pub service_id: String,
    pub status: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&EventRow> for StatusEventOut {
    fn from(r: &EventRow) -> Self {
        StatusEventOut {
            id: r.id,
            service_id: r.service_id.clone(),
            status: r.status.clone(),
            description: r.description.clone(),
            created_at: r.created_at,
        }
    }
}

impl Resource for EventRow {
    const KIND: &'static str = "status_event";
    const TABLE: &'static str = "status_events";
    const SELECT: &'static str = EVENT_COLUMNS;
    const PATH: &'static str = "/api/v1/status/events";
    type Out = StatusEventOut;
    fn out(&self) -> StatusEventOut {
        StatusEventOut::from(self)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceStatusOut {
    pub service_id: String,
    /// The latest event's status, or `unknown` for a service with no events.
    pub status: String,
    pub description: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<&ServiceRow> for ServiceStatusOut {
    fn from(r: &ServiceRow) -> Self {
        ServiceStatusOut {
            service_id: r.service_id.clone(),
            status: r.status.clone(),
            description: r.description.clone(),
            updated_at: Some(r.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusPageOut {
    /// `unknown` (no services), `down`, `degraded` or `operational`.
    pub status: &'static str,
    pub services: Vec<ServiceStatusOut>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Overall status: none → unknown; any down → down; any degraded or maintenance → degraded; else operational.
pub fn overall(services: &[ServiceStatusOut]) -> &'static str {
    if services.is_empty() {
        "unknown"
    } else if services.iter().any(|s| s.status == "down") {
        "down"
    } else if services
        .iter()
        .any(|s| s.status == "degraded" || s.status == "maintenance")
    {
        "degraded"
    } else {
        "operational"
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateEvent {
    /// `^[a-z0-9][a-z0-9_-]{0,63}$`
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub service_id: String,
    /// `operational`, `degraded`, `down` or `maintenance`.
    #[schema(pattern = "^(operational|degraded|down|maintenance)$")]
    pub status: String,
    /// At most 2000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub service_id: Option<String>,
    #[param(pattern = "^(operational|degraded|down|maintenance)$")]
    pub status: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub cursor: Option<String>,
    pub include_total: Option<bool>,
}

crate::list_params!(EventListQuery);

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(status: &str) -> ServiceStatusOut {
        ServiceStatusOut {
            service_id: "s".into(),
            status: status.into(),
            description: None,
            updated_at: None,
        }
    }

    #[test]
    fn overall_status() {
        assert_eq!(overall(&[]), "unknown");
        assert_eq!(overall(&[svc("operational")]), "operational");
        assert_eq!(overall(&[svc("operational"), svc("maintenance")]), "degraded");
        assert_eq!(overall(&[svc("degraded"), svc("down")]), "down");
    }

    #[test]
    fn service_ids() {
        for ok in ["api", "a", "db-1", "0_x", &"a".repeat(64)] {
            assert!(valid_service_id(ok), "{ok}");
        }
        for bad in ["", "-api", "_x", "API", "a b", "a.b", &"a".repeat(65), "é"] {
            assert!(!valid_service_id(bad), "{bad}");
        }
    }
}
