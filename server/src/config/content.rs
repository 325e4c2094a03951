//! `settings.content`: what one user may create (per-user quotas) and who may post in the community.

use super::source::{ConfigError, Source};

/// Per-user quotas and the community posting rule.
#[derive(Clone, Copy, Debug)]
pub struct ContentSettings {
    /// Only verified accounts may post in the community (`COMMUNITY_REQUIRE_VERIFIED`).
    pub community_require_verified: bool,
    pub max_projects_per_user: u32,
    /// Support tickets a signed-in user may have (anonymous ones are bounded by the `auth` tier).
    pub max_tickets_per_user: u32,
    pub max_posts_per_user: u32,
}

impl ContentSettings {
    pub(super) fn from_source(src: &Source<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            community_require_verified: src.boolean("COMMUNITY_REQUIRE_VERIFIED", true)?,
            max_projects_per_user: src.parsed("MAX_PROJECTS_PER_USER", 1000, "a number")?,
            max_tickets_per_user: src.parsed("MAX_TICKETS_PER_USER", 1000, "a number")?,
            max_posts_per_user: src.parsed("MAX_POSTS_PER_USER", 10_000, "a number")?,
        })
    }
}
