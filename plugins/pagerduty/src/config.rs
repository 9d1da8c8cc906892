//! The instance configuration (`config:` of the operator's `kind: Plugin` document).

use serde::Deserialize;
use tocsin_plugin_sdk::{ActionError, JsonSchema};

/// Which PagerDuty to talk to and as whom.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The service region of your PagerDuty account: `us` (default) or `eu`. It picks the API
    /// hosts (`events.pagerduty.com` / `events.eu.pagerduty.com`, `api.…`).
    #[serde(default)]
    pub region: Region,
    /// Events API base URL, overriding the region's (e.g. a local stand-in in tests).
    #[serde(default)]
    pub events_base: Option<String>,
    /// REST API base URL, overriding the region's.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Email of a user in your PagerDuty account: REST writes (notes, resolve) are made on their
    /// behalf (the `From` header PagerDuty requires with an account API key).
    #[serde(default)]
    pub email: Option<String>,
    /// `payload.source` of triggered events that give none (default `tocsin`).
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Deserialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
}

impl Config {
    pub fn events_base(&self) -> String {
        self.base(&self.events_base, "events")
    }

    pub fn api_base(&self) -> String {
        self.base(&self.api_base, "api")
    }

    fn base(&self, explicit: &Option<String>, host: &str) -> String {
        match (explicit, self.region) {
            (Some(base), _) => base.trim_end_matches('/').to_owned(),
            (None, Region::Us) => format!("https://{host}.pagerduty.com"),
            (None, Region::Eu) => format!("https://{host}.eu.pagerduty.com"),
        }
    }

    /// The `From` header of REST writes.
    pub fn requester_email(&self) -> Result<&str, ActionError> {
        self.email.as_deref().filter(|e| !e.is_empty()).ok_or_else(|| {
            ActionError::Failed(
                "PagerDuty REST writes need the email of a PagerDuty user: set `email` in the instance's `config:`".into(),
            )
        })
    }
}
