//! Alert ingestion, pure: real alert payloads (Alertmanager webhook v4, CloudWatch alarms via SNS
//! or EventBridge, any EventBridge-style event, a generic JSON webhook with a mapping) become
//! [`Trigger`]s. No IO, no clock, no HTTP, no storage: the server reads the body, the incident
//! layer decides what a trigger does. Every error names the field and the rule it broke.
//!
//! One file per source: [`alertmanager`], [`sns`] (envelope, signature), [`cloudwatch`] (alarm
//! messages, involved resources), [`eventbridge`] (events and event patterns), [`generic`]
//! (JSONPath mappings).

pub mod alertmanager;
pub mod cloudwatch;
mod error;
pub mod eventbridge;
pub mod generic;
mod json;
pub mod sns;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use error::{IngestError, IngestErrorKind, Result};

/// One alert (or alarm, or event) turned into what the incident layer needs: who sent it, what it
/// is about, whether it fires or resolves, and how to deduplicate it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    /// "alertmanager", "aws.cloudwatch" (via SNS or EventBridge), the event's `source` for other
    /// EventBridge events, `webhook:<mapping name>`.
    pub source: String,
    /// Dedupe identity by source: Alertmanager groupKey; CloudWatch AlarmArn; EventBridge:
    /// resources joined or the event id; generic: the mapping's dedupe key.
    pub identity: String,
    pub status: TriggerStatus,
    pub title: String,
    pub summary: Option<String>,
    /// 1..=5 when the payload says (generic mapping, an `impact` label).
    pub impact: Option<u8>,
    /// Involved resources, as ARNs where derivable, else as the payload names them.
    pub resources: Vec<String>,
    /// The alarm/rule ARN (IncidentRecordSource.resourceArn).
    pub resource_arn: Option<String>,
    pub timestamp: Option<jiff::Timestamp>,
    /// The raw trigger data, verbatim (the timeline's "triggered" event carries it).
    pub raw: serde_json::Value,
    pub labels: BTreeMap<String, String>,
    /// Per-alert state of a grouped notification (Alertmanager); empty for other sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertState>,
}

/// Whether a trigger opens (or feeds) an incident or reports that the condition cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TriggerStatus {
    Firing,
    Resolved,
}

/// One alert inside a grouped notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// Alertmanager's fingerprint of the alert's label set, when sent.
    pub fingerprint: Option<String>,
    pub status: TriggerStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<jiff::Timestamp>,
    /// `None` while the alert still fires with no known end (Alertmanager's "0001-01-01T00:00:00Z").
    pub ends_at: Option<jiff::Timestamp>,
    /// This alert's involved resources (see [`alertmanager::RESOURCE_LABELS`]).
    pub resources: Vec<String>,
}

/// Parses a request body as JSON; the error names `body` and says where the syntax broke.
pub fn parse_json(body: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(body)
        .map_err(|e| IngestError::malformed("body", format!("must be valid JSON ({e})")))
}
